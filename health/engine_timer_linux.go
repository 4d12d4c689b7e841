//go:build linux

package health

import (
	"container/heap"
	"time"

	"lbd/clock"
)

// The check loop is also the clock of the pool's scheduler: the timer of
// the next batch of checks fires in the loop, which starts the batch
// right there. A runtime timer would run the batch on a goroutine of its
// own that then hands the checks over to the loop: two more thread
// wake-ups per batch, and a wake-up costs tens of microseconds of CPU on a
// virtual machine, more than a check. The engine is a clock.Clock.

// Now is the wall clock, as clock.Real's.
func (e *engine) Now() time.Time { return time.Now() }

// AfterFunc calls f from the loop once d has passed. f must not block:
// it holds up every check.
func (e *engine) AfterFunc(d time.Duration, f func()) clock.Timer {
	t := &engineTimer{e: e, at: e.now() + int64(d), f: f, hidx: -1}
	e.mu.Lock()
	e.newTimers = append(e.newTimers, t)
	e.unlockAndWake()
	return t
}

// engineTimer is a pending AfterFunc.
type engineTimer struct {
	e    *engine
	at   int64 // nanoseconds since engine.base
	f    func()
	seq  uint64 // filing order, for timers due at the same time
	hidx int    // index in engine.tq; -1 when not there (owned by the loop)
	done bool   // fired or stopped (under engine.mu)
}

// Stop cancels the call if it has not started; it reports whether it did.
func (t *engineTimer) Stop() bool {
	t.e.mu.Lock()
	defer t.e.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	return true
}

// runTimers files the timers set since the last turn and calls those due.
func (e *engine) runTimers() {
	e.mu.Lock()
	nt := e.newTimers
	e.newTimers = e.spareT[:0]
	e.mu.Unlock()
	for i, t := range nt {
		e.tseq++
		t.seq = e.tseq
		heap.Push(&e.tq, t)
		nt[i] = nil
	}
	e.spareT = nt[:0]
	if len(e.tq) == 0 {
		return
	}
	now := e.now()
	for len(e.tq) > 0 && e.tq[0].at <= now {
		t := heap.Pop(&e.tq).(*engineTimer)
		e.mu.Lock()
		run := !t.done
		t.done = true
		e.mu.Unlock()
		if run {
			t.f()
		}
	}
}

// nextTimer is when the earliest timer is due (0: none). Stopped timers
// at the top are dropped on the way.
func (e *engine) nextTimer() int64 {
	for len(e.tq) > 0 {
		t := e.tq[0]
		e.mu.Lock()
		done := t.done
		e.mu.Unlock()
		if !done {
			return t.at
		}
		heap.Pop(&e.tq)
	}
	return 0
}

// timerHeap orders pending timers by due time.
type timerHeap []*engineTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	return h[i].at < h[j].at || h[i].at == h[j].at && h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { heapSwap(h, i, j) }
func (h *timerHeap) Push(x any)   { heapPush((*[]*engineTimer)(h), x.(*engineTimer)) }
func (h *timerHeap) Pop() any     { return heapPop((*[]*engineTimer)(h)) }

func (t *engineTimer) setHeapIndex(i int) { t.hidx = i }

// schedClock is the clock of a pool's scheduler: the check loop when it
// runs, else the runtime's timers.
func schedClock() clock.Clock {
	if e := theEngine(); e != nil {
		return e
	}
	return clock.Real{}
}
