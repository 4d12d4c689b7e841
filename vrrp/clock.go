package vrrp

import "time"

// clock is the time source of the state machine: the real one in the
// daemon, a manual one in the unit tests, so that RFC 3768's timers are
// tested without sleeping.
type clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func()) timer
}

type timer interface {
	// Stop prevents the call if it has not started; it reports whether it
	// did. A callback that already started must check that it is still
	// wanted (see timerSlot).
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) timer { return time.AfterFunc(d, f) }

// timerSlot is one named timer of an instance (Adver_Timer,
// Master_Down_Timer, ...). Re-arming it invalidates a callback that has
// already fired but not yet acquired the instance lock, through gen.
type timerSlot struct {
	t   timer
	gen uint64
	at  time.Time // when it fires; zero when stopped
}

// arm (re)starts the slot; fn runs with the instance lock held.
func (in *instance) arm(s *timerSlot, d time.Duration, fn func()) {
	in.disarm(s)
	s.gen++
	gen := s.gen
	s.at = in.clk.Now().Add(d)
	s.t = in.clk.AfterFunc(d, func() {
		in.mu.Lock()
		defer in.mu.Unlock()
		if s.gen != gen || in.stopped {
			return
		}
		s.t, s.at = nil, time.Time{}
		fn()
	})
}

func (in *instance) disarm(s *timerSlot) {
	if s.t != nil {
		s.t.Stop()
		s.t = nil
	}
	s.at = time.Time{}
	s.gen++
}
