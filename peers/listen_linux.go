//go:build linux

package peers

import (
	"context"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// listen binds even before the address is up (IP_FREEBIND) and beside a
// process handing over to its successor (SO_REUSEPORT: during a seamless
// upgrade both listen for a moment).
func listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1); serr == nil {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(context.Background(), "tcp", addr)
}
