package proxy

// The proxy's side of a VRRP handover: the moment a leaving master moves
// its VIPs to the new master is when no client has a request in progress
// on them (vrrp.Quiescer). A client whose connection is open at that
// moment sends the rest of it to the new master, which answers with a
// reset.

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"time"
)

const (
	// quietFresh: a connection that has sent nothing since it was accepted
	// counts as a request in progress for this long (its request is on its
	// way); afterwards it is a client that connected ahead of need (a
	// browser's preconnect), which holds nothing back.
	quietFresh = 100 * time.Millisecond
	// quietTunnelIdle: a tunnel (tcp mode, an upgraded http connection)
	// counts as busy while bytes moved either way within this long. A
	// long-lived connection is cut by any move of its address; only the
	// ones about to finish are worth waiting for.
	quietTunnelIdle = 100 * time.Millisecond
	// quietPreferEnd: a wait that starts quiet waits up to this long for a
	// connection to come and go, and returns right after it ended: the
	// moment a client that polls is least likely to be sending again.
	quietPreferEnd = 50 * time.Millisecond
	// quietPoll is how often a wait looks again without an event (fresh
	// connections age, tunnels go idle).
	quietPoll = 5 * time.Millisecond
	// quietConfirm: a quiet look counts once another one this much later
	// is quiet too.
	quietConfirm = time.Millisecond
)

// quietWaiter is one WaitQuiet in progress; sessions opening and closing
// wake it.
type quietWaiter struct {
	wake chan struct{}
}

// wakeQuietWaiters is called with sessMu held when a session starts or
// ends; without a wait in progress it costs a length check.
func (e *Engine) wakeQuietWaiters() {
	for _, w := range e.quietWaiters {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// WaitQuiet implements vrrp.Quiescer: it returns nil at a moment when no
// client connection to one of addrs is busy and none waits in the accept
// queue of a listener that may hold one, or ctx's error.
//
// Busy is a request in progress (http: from its first byte to the end of
// its response), a connection accepted less than quietFresh ago that has
// not sent its first request yet, or a tunnel that moved bytes within
// quietTunnelIdle. While it waits, connections to addrs close once idle:
// idle keep-alive ones at once, busy ones after their current response,
// so that their clients reconnect for the next request - to the new
// master once the addresses have moved.
//
// When the addresses are quiet from the start it waits up to
// quietPreferEnd for a connection to come and go, and returns right after
// it ended; after that, at the first quiet look.
func (e *Engine) WaitQuiet(ctx context.Context, addrs []netip.Addr) error {
	if len(addrs) == 0 {
		return nil
	}
	w := &quietWaiter{wake: make(chan struct{}, 1)}
	e.sessMu.Lock()
	e.quietWaiters = append(e.quietWaiters, w)
	e.sessMu.Unlock()
	defer func() {
		e.sessMu.Lock()
		e.quietWaiters = slices.DeleteFunc(e.quietWaiters, func(x *quietWaiter) bool { return x == w })
		e.sessMu.Unlock()
	}()
	lns := e.listenersFor(addrs)
	start := nanotime()
	seen := false
	var quietAt int64 // the first of the quiet looks in a row
	tick := time.NewTicker(quietPoll)
	defer tick.Stop()
	for {
		// The accept queues first, then the sessions: a connection moves
		// from the one to the other, and is seen in either, but for the
		// moment accept(2) has taken it from the queue and the accept
		// loop has not yet marked it (listener.accepting). A second quiet
		// look quietConfirm later sees it registered.
		pending := anyPending(lns)
		busy := e.leaveAddrs(addrs) || pending
		now := nanotime()
		switch {
		case busy:
			seen, quietAt = true, 0
		case seen || now-start >= int64(quietPreferEnd):
			if quietAt != 0 && now-quietAt >= int64(quietConfirm) {
				return nil
			}
			if quietAt == 0 {
				quietAt = now
			}
		}
		select {
		case <-w.wake:
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// leaveAddrs marks the sessions whose client reached one of addrs as
// leaving, kicks the idle ones, and reports whether one is busy.
func (e *Engine) leaveAddrs(addrs []netip.Addr) (busy bool) {
	now := nanotime()
	e.sessMu.Lock()
	defer e.sessMu.Unlock()
	for s := range e.sessions {
		if !slices.Contains(addrs, s.local) {
			continue
		}
		if !s.leaving.Swap(true) {
			s.kick() // idle: closes now; busy: closes after its response
		}
		if s.busy(now) {
			busy = true
		}
	}
	return busy
}

func localAddr(c *net.TCPConn) netip.Addr {
	if ta, ok := c.LocalAddr().(*net.TCPAddr); ok {
		if a, ok := netip.AddrFromSlice(ta.IP); ok {
			return a.Unmap()
		}
	}
	return netip.IPv4Unspecified() // not a VIP: never looked up again
}

// busy tells whether the session has something in flight (see WaitQuiet).
func (s *session) busy(now int64) bool {
	switch s.state.Load() {
	case sIdle, sParked, sKicked:
		return false
	case sFirst:
		return now-s.accepted < int64(quietFresh)
	}
	if ts := s.tun.Load(); ts != nil {
		return now-ts.last.Load() < int64(quietTunnelIdle)
	}
	return true
}

// listenersFor lists the listeners that may accept a connection to one of
// addrs: bound to one of them, or to any address.
func (e *Engine) listenersFor(addrs []netip.Addr) []*listener {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*listener
	for _, l := range e.listeners {
		ap, err := netip.ParseAddrPort(l.addr)
		if err != nil {
			continue
		}
		if a := ap.Addr().Unmap(); a.IsUnspecified() || slices.Contains(addrs, a) {
			out = append(out, l)
		}
	}
	return out
}

// anyPending reports whether a connection waits in the accept queue of
// one of lns (the kernel completed its handshake) or is being accepted.
func anyPending(lns []*listener) bool {
	for _, l := range lns {
		if l.accepting.Load() != 0 {
			return true
		}
		if l.closed.Load() {
			continue
		}
		pending := false
		if l.rc.Control(func(fd uintptr) { pending = pendingConn(fd) }) == nil && pending {
			return true
		}
	}
	return false
}
