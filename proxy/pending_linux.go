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
