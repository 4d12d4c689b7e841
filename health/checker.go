package health

import (
	"context"
	"io"
	"sync"
	"time"

	"lbd/config"
)

// checker runs the active checks of one server: one check at a time, the
// next one scheduled when the previous one has been recorded, after the
// interval the health counter asks for (HAProxy counts the interval from
// the end of a check too). The pool's scheduler starts due checks.
type checker struct {
	p  *Pool
	s  *Server
	hc *config.HealthCheck // settings this checker was built with
	sc *config.Server      // server settings it was built with
	pr prober

	ctx    context.Context // cancelled by stop: aborts a name resolution
	cancel context.CancelFunc

	// due and hidx belong to the scheduler (under its lock).
	due  time.Time
	hidx int

	startAt time.Time            // start of the running check
	done    func(result)         // finish, bound once: the probers' done callback
	trackFn func(io.Closer) bool // track, bound once

	mu       sync.Mutex
	conn     io.Closer // connection of the check in progress
	running  bool
	fastNext bool // observe asked for fast_interval after the running check
	stopped  bool
}

func newChecker(p *Pool, s *Server, hc *config.HealthCheck, sc *config.Server, pr prober) *checker {
	ctx, cancel := context.WithCancel(context.Background())
	c := &checker{p: p, s: s, hc: hc, sc: sc, pr: pr, ctx: ctx, cancel: cancel, hidx: -1}
	c.done, c.trackFn = c.finish, c.track
	return c
}

// start schedules the first check after delay.
func (c *checker) start(delay time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stopped && !c.running {
		c.p.sched.add(c, alignDue(c.p.clk.Now(), delay))
	}
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
	c.p.sched.remove(c)
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
	if d, ok := c.p.sched.dueIn(c); ok && d > c.hc.FastInterval {
		c.p.sched.add(c, alignDue(c.p.clk.Now(), c.hc.FastInterval))
	}
}

// run starts a due check; called by the scheduler.
func (c *checker) run() {
	c.mu.Lock()
	if c.stopped || c.running {
		c.mu.Unlock()
		return
	}
	c.running = true
	c.p.inflight.Add(1) // under c.mu: Close sees it before waiting
	c.mu.Unlock()

	c.startAt = c.p.clk.Now()
	if r, ok := c.pr.start(c.ctx, c.trackFn, c.done); ok {
		c.finish(r)
	}
}

// finish records a check's result and schedules the next check.
func (c *checker) finish(r result) {
	defer c.p.inflight.Done()
	r.dur = c.p.clk.Now().Sub(c.startAt)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.running = false
	if c.conn != nil {
		_ = c.conn.Close() // no-op for a finished check of the event loop
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
	c.p.sched.add(c, alignDue(c.p.clk.Now(), next))
}

// track registers the connection of the running check so that stop can
// abort it; false means the checker was stopped meanwhile.
func (c *checker) track(conn io.Closer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return false
	}
	c.conn = conn
	return true
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
