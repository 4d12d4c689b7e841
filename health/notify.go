package health

import (
	"sort"
	"sync"
)

// notifier tells subscribers which backends' usable sets changed. Changes
// are coalesced per backend and delivered by one goroutine, in order, so
// that checkers never wait on a subscriber and subscribers are never
// called concurrently. The same goroutine logs a backend losing its last
// usable server ("backend has no server available!", as HAProxy).
type notifier struct {
	p *Pool

	mu     sync.Mutex
	subs   map[int]func(string)
	nextID int
	dirty  map[string]bool
	closed bool
	once   sync.Once
	wake   chan struct{}
	done   chan struct{}
	exited chan struct{}

	last map[string]int // usable count last seen, by the goroutine only
}

func (n *notifier) init(p *Pool) {
	n.p = p
	n.subs = map[int]func(string){}
	n.dirty = map[string]bool{}
	n.wake = make(chan struct{}, 1)
	n.done = make(chan struct{})
	n.exited = make(chan struct{})
	n.last = map[string]int{}
}

// changed marks a backend whose usable set may have changed.
func (p *Pool) changed(backend string) {
	n := &p.notify
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.dirty[backend] = true
	n.mu.Unlock()
	n.once.Do(func() { go n.loop() })
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Subscribe registers fn, called with a backend's name after any change of
// the set of servers that may take its traffic (a server going UP or
// DOWN, entering or leaving DRAIN/MAINT, its weight going to or from 0, a
// reload adding or removing servers). Calls come from one goroutine, one
// at a time, after the change is visible through UsableServers; several
// changes may be reported by one call, and a call may report no net
// change. fn must not block for long. The returned cancel stops the calls.
func (p *Pool) Subscribe(fn func(backend string)) (cancel func()) {
	n := &p.notify
	n.mu.Lock()
	id := n.nextID
	n.nextID++
	n.subs[id] = fn
	n.mu.Unlock()
	n.once.Do(func() { go n.loop() })
	return func() {
		n.mu.Lock()
		delete(n.subs, id)
		n.mu.Unlock()
	}
}

func (n *notifier) loop() {
	defer close(n.exited)
	for {
		select {
		case <-n.wake:
		case <-n.done:
			return
		}
		n.mu.Lock()
		dirty := n.dirty
		n.dirty = map[string]bool{}
		ids := make([]int, 0, len(n.subs))
		for id := range n.subs {
			ids = append(ids, id)
		}
		sort.Ints(ids)
		fns := make([]func(string), 0, len(ids))
		for _, id := range ids {
			fns = append(fns, n.subs[id])
		}
		n.mu.Unlock()

		names := make([]string, 0, len(dirty))
		for b := range dirty {
			names = append(names, b)
		}
		sort.Strings(names)
		for _, b := range names {
			n.logAvailability(b)
			for _, fn := range fns {
				fn(b)
			}
		}
	}
}

func (n *notifier) logAvailability(backend string) {
	v := n.p.view.Load()
	if _, ok := v.backends[backend]; !ok {
		delete(n.last, backend)
		return
	}
	cnt := v.usableCount(backend)
	prev, seen := n.last[backend]
	n.last[backend] = cnt
	switch {
	case cnt == 0 && (!seen || prev > 0):
		n.p.log.Error().Str("event", "backend_down").Str("backend", backend).
			Msgf("backend %s has no server available!", backend)
	case cnt > 0 && seen && prev == 0:
		n.p.log.Info().Str("event", "backend_up").Str("backend", backend).Int("usable", cnt).
			Msgf("backend %s has %d server(s) available again", backend, cnt)
	}
}

// close stops the delivery goroutine, if it was started.
func (n *notifier) close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	n.mu.Unlock()
	started := true
	n.once.Do(func() { started = false })
	close(n.done)
	if started {
		<-n.exited
	}
}
