//go:build !linux

package proxy

// sysio uses the net package's I/O where raw system calls are not wired.
type sysio struct {
	tls *tlsConn // TLS over this socket (tls_conn.go); nil in clear
}

func (sysio) init(c sockConn) error { return nil }

const canSkipRead = false

const canSendRead = false

func (sysio) sendRead(ep *endpoint, req []byte) ([]byte, int, error) { return req, 0, nil }

func (x sysio) read(c sockConn, b []byte, mode readMode) (int, error) {
	if x.tls != nil {
		return x.tls.read(b, mode)
	}
	if mode == readNoWait {
		return 0, errWouldBlock
	}
	return c.Read(b)
}

func (sysio) stale(c sockConn) bool { return false }

func (x sysio) write(c sockConn, b []byte) error {
	if x.tls != nil {
		return x.tls.write(b)
	}
	_, err := c.Write(b)
	return err
}

func (ep *endpoint) readIdleWait(wait bool) (int, error) { return ep.readIdle() }

func (ep *endpoint) readIdleNoWait() (int, error) { return 0, errWouldBlock }

func (ep *endpoint) readIdle() (int, error) {
	if ep.sys.tls != nil {
		return ep.sys.tls.readIdle(ep, readTry)
	}
	ep.hold()
	n, err := ep.c.Read((*ep.buf)[ep.w:])
	ep.w += n
	return n, err
}
