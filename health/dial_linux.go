//go:build linux

package health

import (
	"io"
	"net"
	"net/netip"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sockTarget is a resolved check address as the kernel wants it.
type sockTarget struct {
	family int
	sa4    unix.RawSockaddrInet4
	sa6    unix.RawSockaddrInet6
}

func newSockTarget(ap netip.AddrPort) *sockTarget {
	t := &sockTarget{}
	port := ap.Port()
	if a := ap.Addr(); a.Is4() || a.Is4In6() {
		t.family = unix.AF_INET
		t.sa4.Family = unix.AF_INET
		t.sa4.Addr = a.Unmap().As4()
		p := (*[2]byte)(unsafe.Pointer(&t.sa4.Port))
		p[0], p[1] = byte(port>>8), byte(port)
	} else {
		t.family = unix.AF_INET6
		t.sa6.Family = unix.AF_INET6
		t.sa6.Addr = a.As16()
		if z := a.Zone(); z != "" {
			if ifi, err := netInterfaceIndex(z); err == nil {
				t.sa6.Scope_id = uint32(ifi)
			}
		}
		p := (*[2]byte)(unsafe.Pointer(&t.sa6.Port))
		p[0], p[1] = byte(port>>8), byte(port)
	}
	return t
}

// dialFast starts a connection to t.
//
// It is built for cost, since thousands of checks a second are expected:
// the socket is created, set to close with a RST (SO_LINGER 0, as HAProxy
// closes checks: no TIME_WAIT left behind) and connected with raw system
// calls, without the runtime's syscall bookkeeping, which is safe because
// none of them blocks (the socket is non-blocking). On loopback the
// connect completes at once; only otherwise (pending) is the socket
// handed to the runtime poller, for dialWait to wait on.
//
// With needIO false (plain tcp check) a completed connect is closed here
// and conn is nil. A pending or needed connection is returned as a
// pollable *os.File. On a completed connect, as much of send as the
// socket takes at once is written (raw, non-blocking): sent bytes.
func dialFast(t *sockTarget, needIO bool, send []byte) (conn checkConn, pending bool, sent int, err error) {
	fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(t.family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if e != 0 {
		return nil, false, 0, os.NewSyscallError("socket", e)
	}
	lg := unix.Linger{Onoff: 1, Linger: 0}
	if _, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_LINGER,
		uintptr(unsafe.Pointer(&lg)), unsafe.Sizeof(lg), 0); e != 0 {
		rawClose(fd)
		return nil, false, 0, os.NewSyscallError("setsockopt", e)
	}
	e = t.connect(fd)
	if e == unix.EINPROGRESS {
		// On loopback the handshake is over by the time connect returns
		// EINPROGRESS (the SYN-ACK waited in the socket backlog until the
		// call released the socket): asking again tells, without the
		// poller. 0 or EISCONN: connected; EALREADY: still going.
		switch e = t.connect(fd); e {
		case unix.EISCONN:
			e = 0
		case unix.EALREADY:
			e = unix.EINPROGRESS
		}
	}
	switch e {
	case 0:
		if !needIO {
			rawClose(fd)
			return nil, false, 0, nil
		}
		if len(send) > 0 {
			n, _, e := unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&send[0])), uintptr(len(send)))
			if e == 0 {
				sent = int(n)
			} // on any error the regular write in the continuation reports it
		}
		return os.NewFile(fd, "health-check"), false, sent, nil
	case unix.EINPROGRESS:
		return os.NewFile(fd, "health-check"), true, 0, nil
	}
	rawClose(fd)
	return nil, false, 0, os.NewSyscallError("connect", e)
}

// dialWait waits until the pending connection conn is established or the
// deadline passes. conn is already tracked: stop closes it and ends the
// wait. With needIO false the returned conn is nil (the checker closes
// the tracked one).
func dialWait(_ *sockTarget, conn checkConn, deadline time.Time, needIO bool, _ func(io.Closer) bool) (checkConn, error) {
	f := conn.(*os.File)
	if err := f.SetDeadline(deadline); err != nil {
		return nil, err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	// The first call comes before any wait, after the poller was armed:
	// the connect may have completed meanwhile, so it looks too.
	var cerr error
	werr := rc.Write(func(s uintptr) bool {
		v, err := unix.GetsockoptInt(int(s), unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case err != nil:
			cerr = os.NewSyscallError("getsockopt", err)
			return true
		case v == int(unix.EINPROGRESS) || v == int(unix.EALREADY) || v == int(unix.EINTR):
			return false
		case v != 0:
			cerr = os.NewSyscallError("connect", unix.Errno(v))
			return true
		}
		// No error: connected, unless still in progress, which
		// getpeername tells.
		if _, err := unix.Getpeername(int(s)); err == unix.ENOTCONN {
			return false
		}
		return true
	})
	if werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, werr
	}
	if !needIO {
		return nil, nil
	}
	return f, nil
}

func (t *sockTarget) connect(fd uintptr) unix.Errno {
	var e unix.Errno
	if t.family == unix.AF_INET {
		_, _, e = unix.RawSyscall(unix.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&t.sa4)), unix.SizeofSockaddrInet4)
	} else {
		_, _, e = unix.RawSyscall(unix.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&t.sa6)), unix.SizeofSockaddrInet6)
	}
	return e
}

func rawClose(fd uintptr) { _, _, _ = unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0) }

func netInterfaceIndex(zone string) (int, error) {
	if n, ok := atoiRange(zone, 0, 1<<30); ok {
		return n, nil
	}
	ifi, err := net.InterfaceByName(zone)
	if err != nil {
		return 0, err
	}
	return ifi.Index, nil
}
