//go:build linux

package proxy

import (
	"syscall"
)

// rawTLS is the transport's socket I/O: raw non-blocking calls inside
// RawConn.Read/Write, as sysio does for plain connections (see
// endpoint_linux.go for why).
type rawTLS struct {
	rc   syscall.RawConn
	rfn  func(uintptr) bool
	wfn  func(uintptr) bool
	rb   []byte
	n    int
	rerr error
	mode readMode
	wb   []byte
	werr error
	woke bool // waitReadable: the first call of the callback is over
}

func (x *rawTLS) init(c sockConn) {
	if rc, err := c.SyscallConn(); err == nil {
		x.rc = rc
		x.rfn, x.wfn = x.rawRead, x.rawWrite
	}
}

func (x *rawTLS) rawRead(fd uintptr) bool {
	if x.rb == nil { // waitReadable: wait once, then report readable
		if !x.woke {
			x.woke = true
			return false
		}
		return true
	}
	n, done, err := readFD(fd, x.rb, x.mode == readNoWait, errTLSWouldBlock)
	x.n, x.rerr = n, err
	return done
}

func (x *rawTLS) rawWrite(fd uintptr) bool {
	var done bool
	x.wb, done, x.werr = writeFD(fd, x.wb)
	return done
}

func (x *rawTLS) read(c sockConn, b []byte, mode readMode) (int, error) {
	if x.rc == nil {
		return c.Read(b)
	}
	if len(b) == 0 {
		return 0, nil
	}
	x.rb, x.n, x.rerr, x.mode = b, 0, nil, mode
	err := x.rc.Read(x.rfn)
	x.rb = nil
	if err != nil {
		return 0, err
	}
	return x.n, x.rerr
}

func (x *rawTLS) write(c sockConn, b []byte) error {
	if x.rc == nil {
		_, err := c.Write(b)
		return err
	}
	if len(b) == 0 {
		return nil
	}
	x.wb, x.werr = b, nil
	err := x.rc.Write(x.wfn)
	x.wb = nil
	if err != nil {
		return err
	}
	return x.werr
}

// waitReadable waits until the socket is readable (or the read deadline
// passes) without reading.
func (x *rawTLS) waitReadable() error {
	if x.rc == nil {
		return nil
	}
	x.rb, x.woke = nil, false
	return x.rc.Read(x.rfn)
}
