package proxy

import (
	"net"
	"sync/atomic"
	"time"
)

// tunnelState is shared by the two directions of a tunnel.
type tunnelState struct {
	a, b *net.TCPConn
	last atomic.Int64 // unix ns of the last byte moved either way
	who  atomic.Uint32
	once atomic.Bool
}

func (ts *tunnelState) touch() { ts.last.Store(nanotime()) }

// blame records the first cause of an abnormal end: 'C'/'S' an error on
// the client/server side, 'c' the tunnel timeout.
func (ts *tunnelState) blame(who byte) { ts.who.CompareAndSwap(0, uint32(who)) }

// closeBoth ends the tunnel in both directions.
func (ts *tunnelState) closeBoth() {
	if ts.once.CompareAndSwap(false, true) {
		ts.a.Close()
		ts.b.Close()
	}
}

// expired reports whether nothing moved either way for idle; if something
// did, it returns the new deadline.
func (ts *tunnelState) expired(idle time.Duration) (bool, time.Time) {
	last := ts.last.Load()
	if idle <= 0 {
		return false, time.Time{}
	}
	dl := last + int64(idle)
	if dl <= nanotime() {
		return true, time.Time{}
	}
	return false, time.Unix(0, dl)
}

// tunnel copies client<->server until both directions end (each end's
// EOF is passed on as a half-close), either side fails, or nothing moves
// for idle (timeouts.tunnel, HAProxy's meaning: inactivity in both
// directions). It returns the bytes moved each way and who ended it
// abnormally (0 for a clean end).
func tunnel(cli, srv *net.TCPConn, idle time.Duration) (up, down int64, who byte) {
	ts := &tunnelState{a: cli, b: srv}
	ts.touch()
	ch := make(chan int64, 1)
	go func() { ch <- pump(srv, cli, ts, idle, 'C', 'S') }()
	down = pump(cli, srv, ts, idle, 'S', 'C')
	up = <-ch
	cli.SetDeadline(time.Time{})
	return up, down, byte(ts.who.Load())
}
