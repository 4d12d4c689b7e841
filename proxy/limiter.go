package proxy

import "sync"

// limiter counts connections against a maximum that a reload may change.
// An accept loop takes a slot for each connection it accepts and accepts
// no other until it has one, so that past the limit new clients wait in
// the kernel's backlog instead of being accepted and starved, as
// HAProxy's maxconn.
type limiter struct {
	mu   sync.Mutex
	cur  int
	max  int           // 0 = unlimited
	wake chan struct{} // closed when a slot frees up; nil when nobody waits
}

func newLimiter(max int) *limiter { return &limiter{max: max} }

// acquire takes a slot, waiting for one until done is closed.
func (l *limiter) acquire(done <-chan struct{}) bool {
	for {
		l.mu.Lock()
		if l.max <= 0 || l.cur < l.max {
			l.cur++
			l.mu.Unlock()
			return true
		}
		if l.wake == nil {
			l.wake = make(chan struct{})
		}
		w := l.wake
		l.mu.Unlock()
		select {
		case <-w:
		case <-done:
			return false
		}
	}
}

func (l *limiter) release() {
	l.mu.Lock()
	l.cur--
	if l.wake != nil {
		close(l.wake)
		l.wake = nil
	}
	l.mu.Unlock()
}

// setMax changes the limit; waiters re-check it.
func (l *limiter) setMax(max int) {
	l.mu.Lock()
	l.max = max
	if l.wake != nil {
		close(l.wake)
		l.wake = nil
	}
	l.mu.Unlock()
}

func (l *limiter) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}
