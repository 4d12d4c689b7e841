//go:build !linux

package health

import (
	"io"
	"net"
	"net/netip"
	"time"
)

// sockTarget is a resolved check address.
type sockTarget struct{ addr string }

func newSockTarget(ap netip.AddrPort) *sockTarget { return &sockTarget{addr: ap.String()} }

// dialFast leaves all the work to dialWait where the raw Linux path is
// not available. See dial_linux.go.
func dialFast(t *sockTarget, needIO bool, send []byte) (checkConn, bool, int, error) {
	return nil, true, 0, nil
}

// dialWait connects with the standard dialer.
func dialWait(t *sockTarget, _ checkConn, deadline time.Time, needIO bool, track func(io.Closer) bool) (checkConn, error) {
	d := net.Dialer{Deadline: deadline, KeepAlive: -1}
	c, err := d.Dial("tcp", t.addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	if !track(c) {
		c.Close()
		return nil, errCheckStopped
	}
	if !needIO {
		return nil, nil // closed by the checker (tracked)
	}
	return c, nil
}
