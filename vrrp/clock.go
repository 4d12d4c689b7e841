package vrrp

import (
	"time"

	"lbd/clock"
)

// timerSlot is one named timer of an instance (Adver_Timer,
// Master_Down_Timer, ...). Re-arming it invalidates a callback that has
// already fired but not yet acquired the instance lock, through gen.
type timerSlot struct {
	t   clock.Timer
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
		defer in.unlock()
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
