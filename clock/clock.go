// Package clock is the time source of lbd's state machines (health checks,
// VRRP): the real clock in the daemon, a fake one in tests, so that
// timers of seconds are tested without sleeping and without flakiness.
//
// Code that needs time takes a Clock and asks it for Now and AfterFunc
// only; Real is the runtime's clock. Tests hand it a Fake and move time
// with Advance, which runs the callbacks due on the way, one at a time,
// in time order, in the calling goroutine.
package clock

import (
	"slices"
	"sync"
	"time"
)

// Clock tells the time and calls functions later.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once d has elapsed: in its own goroutine (Real)
	// or from Advance (Fake).
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop prevents the call if it has not started; it reports whether
	// it did. A callback that already started must check for itself
	// that it is still wanted.
	Stop() bool
}

// Real is the runtime's clock.
type Real struct{}

// Now is time.Now.
func (Real) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Fake is a manual clock: its time moves only when Advance moves it. It
// is safe for concurrent use; callbacks run without its lock held, so
// they may use the clock (set timers, stop them, read the time).
type Fake struct {
	// OnFire, if set, is called after each callback that Advance runs
	// (a simulation delivers what the callback sent, say). Set it
	// before the clock is used.
	OnFire func()

	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*fakeTimer
}

type fakeTimer struct {
	c    *Fake
	at   time.Time
	seq  uint64 // creation order: timers due at the same time fire in it
	f    func()
	done bool // fired or stopped
}

// NewFake returns a fake clock showing start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now is the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc arranges for Advance to call f once the fake time has moved
// d past now.
func (c *Fake) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop prevents the call unless it happened already.
func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	return true
}

// Advance moves the time forward by d. Every timer due on the way fires
// in turn, in the order of due time then creation, with the clock
// showing its due time; timers set by the callbacks fire too if due
// before the end. Then the clock shows the end.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool { return t.done })
		var next *fakeTimer
		for _, t := range c.timers {
			if !t.at.After(end) && (next == nil || t.at.Before(next.at) || t.at.Equal(next.at) && t.seq < next.seq) {
				next = t
			}
		}
		if next == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		if next.at.After(c.now) {
			c.now = next.at
		}
		next.done = true
		c.mu.Unlock()
		next.f()
		if c.OnFire != nil {
			c.OnFire()
		}
	}
}

// Pending returns how far from now the armed timers are due, soonest
// first.
func (c *Fake) Pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for _, t := range c.timers {
		if !t.done {
			out = append(out, t.at.Sub(c.now))
		}
	}
	slices.Sort(out)
	return out
}
