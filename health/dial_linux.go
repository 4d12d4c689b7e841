//go:build linux

package health

import (
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sockTarget is a resolved check address as the kernel wants it.
type sockTarget struct {
	ap     netip.AddrPort
	family int
	sa4    unix.RawSockaddrInet4
	sa6    unix.RawSockaddrInet6
}

func newSockTarget(ap netip.AddrPort) *sockTarget {
	t := &sockTarget{ap: ap}
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

// The socket and epoll calls of the checks are made raw, without the
// runtime's syscall bookkeeping: none of them blocks (non-blocking
// sockets, epoll_wait with a zero timeout), thousands of checks a second
// are expected, and a regular system call made while the runtime's
// monitor thread sleeps wakes it up and sets it polling every 20µs for a
// while, which at one batch of checks every 50ms cost more than the
// calls themselves.

// openSocket creates a non-blocking socket for t and starts its connect.
// With linger, the socket is set to close with a RST (SO_LINGER 0, as
// HAProxy closes checks: no TIME_WAIT left behind on either side);
// without, the caller sees to it (see engine.finish). On loopback the
// connect completes within the call even when it says EINPROGRESS (the
// SYN-ACK waited in the socket backlog until the call released the
// socket). fd is -1 when the socket could not be created; otherwise the
// caller closes it.
func openSocket(t *sockTarget, linger bool) (fd int, connErr unix.Errno) {
	s, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(t.family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if e != 0 {
		return -1, e
	}
	if linger {
		if e := setLinger0(int(s)); e != 0 {
			rawClose(int(s))
			return -1, e
		}
	}
	return int(s), t.connect(int(s))
}

// setLinger0 makes close reset the connection.
func setLinger0(fd int) unix.Errno {
	lg := unix.Linger{Onoff: 1, Linger: 0}
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_LINGER,
		uintptr(unsafe.Pointer(&lg)), unsafe.Sizeof(lg), 0)
	return e
}

func (t *sockTarget) connect(fd int) unix.Errno {
	var e unix.Errno
	if t.family == unix.AF_INET {
		_, _, e = unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&t.sa4)), unix.SizeofSockaddrInet4)
	} else {
		_, _, e = unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&t.sa6)), unix.SizeofSockaddrInet6)
	}
	return e
}

func rawClose(fd int) { _, _, _ = unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0) }

func rawRead(fd int, b []byte) (int, unix.Errno) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), e
}

// rawPeek reads without taking the bytes out of the socket (MSG_PEEK).
func rawPeek(fd int, b []byte) (int, unix.Errno) {
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		unix.MSG_PEEK, 0, 0)
	return int(n), e
}

// rawSend writes without SIGPIPE (MSG_NOSIGNAL).
func rawSend(fd int, b []byte) (int, unix.Errno) {
	n, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		unix.MSG_NOSIGNAL, 0, 0)
	return int(n), e
}

func rawEpollCtl(epfd, op, fd int, ev *unix.EpollEvent) unix.Errno {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return e
}

// rawEpollWait collects ready events without waiting (epoll_pwait exists
// on every architecture, epoll_wait not).
func rawEpollWait(epfd int, evs []unix.EpollEvent) (int, unix.Errno) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&evs[0])), uintptr(len(evs)), 0, 0, 0)
	return int(n), e
}

// rawPoll asks, without waiting, which of fds are ready.
func rawPoll(fds []unix.PollFd) unix.Errno {
	var ts unix.Timespec
	_, _, e := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)),
		uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	return e
}

// rawTimerfdSettime arms (or, with a zero value, disarms) a timerfd
// relative to now.
func rawTimerfdSettime(fd int, its *unix.ItimerSpec) unix.Errno {
	_, _, e := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(fd), 0, uintptr(unsafe.Pointer(its)), 0, 0, 0)
	return e
}

// rawSockError reads SO_ERROR: how a pending connect ended.
func rawSockError(fd int) (int, unix.Errno) {
	var v int32
	l := uint32(4)
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_ERROR,
		uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&l)), 0)
	return int(v), e
}

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

// rawLocalAddr is a socket's local address (getsockname), without
// allocating: the source of a v1 PROXY header a check sends.
func rawLocalAddr(fd int) netip.AddrPort {
	var sa unix.RawSockaddrAny
	l := uint32(unix.SizeofSockaddrAny)
	_, _, e := unix.RawSyscall(unix.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&l)))
	if e != 0 {
		return netip.AddrPort{}
	}
	switch sa.Addr.Family {
	case unix.AF_INET:
		s := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa))
		p := (*[2]byte)(unsafe.Pointer(&s.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(s.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		s := (*unix.RawSockaddrInet6)(unsafe.Pointer(&sa))
		p := (*[2]byte)(unsafe.Pointer(&s.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(s.Addr).Unmap(), uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}
