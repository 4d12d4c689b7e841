//go:build linux

package admin

import (
	"context"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenFreebind listens on addr even when the address is not (yet) on the
// node, such as a VIP held by the peer (IP_FREEBIND, ip(7)).
func listenFreebind(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(context.Background(), "tcp", addr)
}
