package health

import (
	"context"
	"net"
	"sync"
	"time"

	"lbd/config"
)

// checker runs the active checks of one server: one check at a time, the
// next one scheduled when the previous one has been recorded, after the
// interval the health counter asks for (HAProxy counts the interval from
// the end of a check too). No goroutine exists between checks: the clock
// calls run when the check is due.
type checker struct {
	p  *Pool
	s  *Server
	hc *config.HealthCheck // settings this checker was built with
	sc *config.Server      // server settings it was built with
	pr prober

	ctx    context.Context // cancelled by stop: aborts a dial in progress
	cancel context.CancelFunc

	mu       sync.Mutex
	timer    stopper   // pending run, nil while a check runs
	due      time.Time // when timer fires
	conn     net.Conn  // connection of the check in progress
	running  bool
	fastNext bool // observe asked for fast_interval after the running check
	stopped  bool
}

func newChecker(p *Pool, s *Server, hc *config.HealthCheck, sc *config.Server, pr prober) *checker {
	ctx, cancel := context.WithCancel(context.Background())
	return &checker{p: p, s: s, hc: hc, sc: sc, pr: pr, ctx: ctx, cancel: cancel}
}

// start schedules the first check after delay, unless already scheduled.
func (c *checker) start(delay time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stopped && !c.running && c.timer == nil {
		c.schedule(delay)
	}
}

// schedule arms the timer; c.mu is held.
func (c *checker) schedule(d time.Duration) {
	c.due = c.p.clk.Now().Add(d)
	c.timer = c.p.clk.AfterFunc(d, c.run)
}

// stop cancels the pending check and aborts the one in progress; its
// result, if any, is dropped. After stop returns nothing more is recorded.
func (c *checker) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	c.stopped = true
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.conn != nil {
		c.conn.Close()
	}
	c.cancel()
}

// hurry moves the next check to fast_interval from now if it is due later
// (HAProxy's "force fastinter" after live-traffic errors).
func (c *checker) hurry() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	if c.running {
		c.fastNext = true
		return
	}
	if c.timer != nil && c.due.Sub(c.p.clk.Now()) > c.hc.FastInterval {
		if c.timer.Stop() {
			c.schedule(c.hc.FastInterval)
		}
	}
}

func (c *checker) run() {
	c.mu.Lock()
	if c.stopped || c.running {
		c.mu.Unlock()
		return
	}
	c.running, c.timer = true, nil
	c.p.inflight.Add(1) // under c.mu: Close sees it before waiting
	c.mu.Unlock()
	defer c.p.inflight.Done()

	start := c.p.clk.Now()
	r := c.pr.probe(c.ctx, c.track)
	r.dur = c.p.clk.Now().Sub(start)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.running = false
	if c.conn != nil {
		abortClose(c.conn)
		c.conn = nil
	}
	if c.stopped {
		return
	}
	next := c.p.record(c, r)
	if c.fastNext {
		next = min(next, c.hc.FastInterval)
		c.fastNext = false
	}
	c.schedule(next)
}

// track registers the connection of the running check so that stop can
// abort it; false means the checker was stopped meanwhile.
func (c *checker) track(conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return false
	}
	c.conn = conn
	return true
}

// abortClose closes a check connection with a RST (SO_LINGER 0), as
// HAProxy does, so that thousands of checks a second leave no TIME_WAIT
// sockets behind on the checking side.
func abortClose(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// sameCheck reports whether two check configurations would run the same
// checks (the source position is ignored).
func sameCheck(a, b *config.HealthCheck) bool {
	if len(a.ExpectStatus) != len(b.ExpectStatus) {
		return false
	}
	for i := range a.ExpectStatus {
		if a.ExpectStatus[i] != b.ExpectStatus[i] {
			return false
		}
	}
	return a.Type == b.Type && a.Port == b.Port && a.Method == b.Method &&
		a.Path == b.Path && a.Host == b.Host && a.ExpectBody == b.ExpectBody &&
		a.Send == b.Send && a.Expect == b.Expect && a.Interval == b.Interval &&
		a.FastInterval == b.FastInterval && a.DownInterval == b.DownInterval &&
		a.Timeout == b.Timeout && a.Rise == b.Rise && a.Fall == b.Fall
}
