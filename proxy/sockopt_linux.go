//go:build linux

package proxy

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// freebind lets a listener bind an address not (yet) configured on the
// host, such as a VIP held by the VRRP peer (IP_FREEBIND, ip(7)).
func freebind(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
		if serr == nil && network != "tcp4" {
			// IPV6_FREEBIND exists since Linux 4.15; the IPv4 option
			// already covers v4-mapped binds, so a failure is not fatal.
			_ = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_FREEBIND, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}
