//go:build linux

package proxy

import "golang.org/x/sys/unix"

// pendingConn reports whether a listening socket has a connection to
// accept, without accepting it (poll(2), no wait).
func pendingConn(fd uintptr) bool {
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds[:], 0)
		if err == unix.EINTR {
			continue
		}
		return err != nil || n > 0
	}
}

func dupCloexec(fd int) (int, error) { return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0) }

// setDeferAccept sets TCP_DEFER_ACCEPT on a listening socket: accept(2)
// returns a connection once data arrived on it, or secs later (0: off).
func setDeferAccept(fd uintptr, secs int) error {
	return unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, secs)
}
