//go:build linux

package proxy

import (
	"io"
	"net"
	"syscall"
	"unsafe"
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

func (x *rawTLS) init(c *net.TCPConn) {
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
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&x.rb[0])), uintptr(len(x.rb)))
		switch e {
		case 0:
			x.n = int(n)
			if n == 0 {
				x.rerr = io.EOF
			}
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if x.mode == readNoWait {
				x.rerr = errTLSWouldBlock
				return true
			}
			return false
		}
		x.rerr = e
		return true
	}
}

func (x *rawTLS) rawWrite(fd uintptr) bool {
	for len(x.wb) > 0 {
		n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&x.wb[0])), uintptr(len(x.wb)),
			syscall.MSG_NOSIGNAL, 0, 0)
		switch e {
		case 0:
			x.wb = x.wb[n:]
			continue
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		x.werr = e
		return true
	}
	return true
}

func (x *rawTLS) read(c *net.TCPConn, b []byte, mode readMode) (int, error) {
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

func (x *rawTLS) write(c *net.TCPConn, b []byte) error {
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
