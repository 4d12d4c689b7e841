package health

import (
	"container/heap"
	"sync"
	"time"
)

// scheduler keeps every checker's next check in one heap and one timer,
// set for the earliest. When it fires, all due checks start together: a
// check that completes without waiting (a tcp connect answered at once,
// the common case on a LAN or loopback) runs right there, the others get
// a goroutine for their waiting part. With thousands of servers this
// costs one wake-up per batch instead of a timer, a goroutine and
// several thread switches per check; due times are aligned on a grid so
// that batches form (see alignDue).
type scheduler struct {
	clk clock

	mu     sync.Mutex
	h      dueHeap
	seq    uint64
	timer  stopper
	at     time.Time // when timer fires; zero when none
	gen    uint64    // identifies the current timer
	closed bool
}

// dueHeap orders checkers by due time, then by scheduling order.
type dueHeap []*checker

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	return h[i].dueKey < h[j].dueKey || h[i].dueKey == h[j].dueKey && h[i].seq < h[j].seq
}

// dueBase makes heap keys of due times: plain integers compare several
// times faster than time.Time, with the same order (monotonic when the
// times have a monotonic reading, as the real clock's do).
var dueBase = time.Now()

func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx, h[j].hidx = i, j
}
func (h *dueHeap) Push(x any) {
	c := x.(*checker)
	c.hidx = len(*h)
	*h = append(*h, c)
}
func (h *dueHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	c.hidx = -1
	return c
}

// add schedules c's next check at due, replacing a pending one.
func (s *scheduler) add(c *checker, due time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.seq++
	c.due, c.dueKey, c.seq = due, int64(due.Sub(dueBase)), s.seq
	if c.hidx >= 0 {
		heap.Fix(&s.h, c.hidx)
	} else {
		heap.Push(&s.h, c)
	}
	s.arm()
}

// remove unschedules c.
func (s *scheduler) remove(c *checker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.hidx >= 0 {
		heap.Remove(&s.h, c.hidx)
	}
}

// dueIn returns how far c's next check is, and whether one is scheduled.
func (s *scheduler) dueIn(c *checker) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.hidx < 0 {
		return 0, false
	}
	return c.due.Sub(s.clk.Now()), true
}

// arm sets the timer for the earliest check; s.mu is held.
func (s *scheduler) arm() {
	if len(s.h) == 0 {
		return
	}
	top := s.h[0].due
	if s.timer != nil && !top.Before(s.at) {
		return
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.gen++
	gen := s.gen
	s.at = top
	s.timer = s.clk.AfterFunc(max(top.Sub(s.clk.Now()), 0), func() { s.fire(gen) })
}

func (s *scheduler) fire(gen uint64) {
	s.mu.Lock()
	if gen == s.gen {
		s.timer, s.at = nil, time.Time{}
	}
	now := s.clk.Now()
	var due []*checker
	for len(s.h) > 0 && !s.h[0].due.After(now) {
		due = append(due, heap.Pop(&s.h).(*checker))
	}
	if !s.closed {
		s.arm()
	}
	s.mu.Unlock()
	for _, c := range due {
		c.run()
	}
}

// close stops the timer; checks in progress are the checkers' business.
func (s *scheduler) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	for len(s.h) > 0 {
		heap.Pop(&s.h)
	}
}
