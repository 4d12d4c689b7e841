package health

import (
	"sync"
	"time"

	"lbd/clock"
)

// scheduler keeps every checker's next check in one heap and one timer,
// set for the earliest. When it fires, all due checks start together
// (on Linux the timer fires in the check loop, which then runs the whole
// batch: see engine). With thousands of servers this costs one wake-up
// per batch instead of a timer, a goroutine and several thread switches
// per check; due times are aligned on a grid so that batches form (see
// alignDue).
type scheduler struct {
	clk clock.Clock

	mu     sync.Mutex
	h      dueHeap
	seq    uint64
	timer  clock.Timer
	at     time.Time // when timer fires; zero when none
	gen    uint64    // identifies the current timer
	closed bool
}

// dueHeap orders checkers by due time, then by scheduling order. The
// keys are kept in the heap, not behind the checker pointers: comparing
// them then touches no other memory.
type dueHeap []dueEntry

type dueEntry struct {
	key int64 // due as an integer, see dueBase
	seq uint64
	c   *checker
}

// dueBase makes heap keys of due times: plain integers compare several
// times faster than time.Time, with the same order (monotonic when the
// times have a monotonic reading, as the real clock's do).
var dueBase = time.Now()

func (h dueHeap) less(i, j int) bool {
	return h[i].key < h[j].key || h[i].key == h[j].key && h[i].seq < h[j].seq
}

func (h dueHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].c.hidx, h[j].c.hidx = i, j
}

// The heap operations are written out rather than taken from
// container/heap, whose interface boxes every entry pushed or popped (an
// allocation per check).

func (h *dueHeap) push(e dueEntry) {
	e.c.hidx = len(*h)
	*h = append(*h, e)
	h.up(len(*h) - 1)
}

func (h *dueHeap) removeAt(i int) dueEntry {
	old := *h
	n := len(old) - 1
	if i != n {
		old.swap(i, n)
	}
	e := old[n]
	old[n] = dueEntry{}
	*h = old[:n]
	if i != n {
		h.fix(i)
	}
	e.c.hidx = -1
	return e
}

// fix restores the order after the entry at i changed.
func (h dueHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h dueHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h dueHeap) down(i0 int) bool {
	i, n := i0, len(h)
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if r := j + 1; r < n && h.less(r, j) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}

// add schedules c's next check at due, replacing a pending one.
func (s *scheduler) add(c *checker, due time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.seq++
	c.due = due
	e := dueEntry{key: int64(due.Sub(dueBase)), seq: s.seq, c: c}
	if c.hidx >= 0 {
		s.h[c.hidx] = e
		s.h.fix(c.hidx)
	} else {
		s.h.push(e)
	}
	s.arm()
}

// remove unschedules c.
func (s *scheduler) remove(c *checker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.hidx >= 0 {
		s.h.removeAt(c.hidx)
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
	top := s.h[0].c.due
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
	for len(s.h) > 0 && !s.h[0].c.due.After(now) {
		due = append(due, s.h.removeAt(0).c)
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
		s.h.removeAt(len(s.h) - 1)
	}
}
