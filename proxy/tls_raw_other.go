//go:build !linux

package proxy

// rawTLS uses the net package's I/O where raw system calls are not wired.
type rawTLS struct{}

func (rawTLS) init(sockConn) {}

func (rawTLS) read(c sockConn, b []byte, mode readMode) (int, error) {
	if mode == readNoWait {
		return 0, errTLSWouldBlock
	}
	return c.Read(b)
}

func (rawTLS) write(c sockConn, b []byte) error {
	_, err := c.Write(b)
	return err
}

func (rawTLS) waitReadable() error { return nil }
