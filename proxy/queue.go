package proxy

import (
	"time"
)

// Queueing follows HAProxy: a request bound to one server (by a persistence
// cookie or a hash) waits in that server's queue; a request any server may
// take waits in the backend's queue. When a server frees a slot it takes the
// oldest waiter of the two queues. A waiter that is not served within
// timeouts.queue gets 503 with termination state sQ.

// waiter is one queued request.
type waiter struct {
	prev, next *waiter
	list       *waitList
	ch         chan *server // receives the server whose slot it got; nil = pick again
	since      time.Time
}

// waitList is an intrusive FIFO; the backend state's mutex guards it.
type waitList struct {
	head, tail *waiter
	n          int
}

func (l *waitList) push(w *waiter) {
	w.list = l
	w.prev, w.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
	l.n++
}

func (l *waitList) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.prev, w.next, w.list = nil, nil, nil
	l.n--
}

// queueResult is how a wait for a slot ended.
type queueResult uint8

const (
	queueGot        queueResult = iota // a slot was acquired
	queueTimeout                       // timeouts.queue expired: 503 sQ
	queueNoServer                      // nothing usable: 503 SC
	queueRedispatch                    // the server left while waiting: pick again
)

// dispatch hands free slots of s to the oldest waiters.
func (st *backendState) dispatch(s *server) {
	st.mu.Lock()
	st.dispatchLocked(s)
	st.mu.Unlock()
}

func (st *backendState) dispatchLocked(s *server) {
	for {
		var w *waiter
		own := s.q.head
		if own != nil && !s.hs.AcceptsPersistent() {
			own = nil
		}
		shared := st.q.head
		if shared != nil && !s.usable() {
			shared = nil
		}
		switch {
		case own != nil && shared != nil:
			w = own
			if shared.since.Before(own.since) {
				w = shared
			}
		case own != nil:
			w = own
		case shared != nil:
			w = shared
		default:
			return
		}
		if !s.tryAcquire(nanotime()) {
			return
		}
		st.unlink(w, s)
		w.ch <- s
	}
}

// unlink removes w from whichever list holds it; s owns the list when it is
// a server queue.
func (st *backendState) unlink(w *waiter, s *server) {
	if w.list == &st.q {
		st.q.remove(w)
	} else {
		w.list.remove(w)
		s.hs.Counters.Queued.Add(-1)
	}
	st.qlen.Add(-1)
}

// waitSlot queues the request until a server slot frees up: on srv's own
// queue when srv is set, else on the backend queue. The caller found no
// free slot; waitSlot checks again under the lock so that a release racing
// with the enqueue is not missed.
func (b *backend) waitSlot(srv *server, r *pickReq, timeout time.Duration) (*server, queueResult) {
	st := b.st
	st.mu.Lock()
	if srv != nil {
		if !srv.hs.AcceptsPersistent() {
			st.mu.Unlock()
			return nil, queueRedispatch
		}
		if srv.tryAcquire(nanotime()) {
			st.mu.Unlock()
			return srv, queueGot
		}
	} else {
		s, any := b.bal.pick(r)
		if s != nil && s.tryAcquire(nanotime()) {
			st.mu.Unlock()
			return s, queueGot
		}
		if !any {
			st.mu.Unlock()
			return nil, queueNoServer
		}
	}
	w := &waiter{ch: make(chan *server, 1), since: time.Now()}
	if srv != nil {
		srv.q.push(w)
		c := &srv.hs.Counters
		n := c.Queued.Add(1)
		for m := c.MaxQueued.Load(); n > m && !c.MaxQueued.CompareAndSwap(m, n); m = c.MaxQueued.Load() {
		}
	} else {
		st.q.push(w)
		maxInt64(&st.maxQueue, int64(st.q.n))
	}
	st.qlen.Add(1)
	st.mu.Unlock()

	if timeout <= 0 {
		timeout = time.Nanosecond
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case s := <-w.ch:
		if s == nil {
			return nil, queueRedispatch
		}
		return s, queueGot
	case <-t.C:
	}
	st.mu.Lock()
	if w.list != nil {
		st.unlink(w, srv)
		st.mu.Unlock()
		return nil, queueTimeout
	}
	st.mu.Unlock()
	// Served while the timer fired: take what was sent.
	s := <-w.ch
	if s == nil {
		return nil, queueRedispatch
	}
	return s, queueGot
}

// queueLen is the number of requests waiting in the backend queue.
func (st *backendState) queueLen() int {
	st.mu.Lock()
	n := st.q.n
	st.mu.Unlock()
	return n
}

// sweep runs periodically: it serves waiters that a server coming back (or
// a raised weight or limit) can now take, and sends the waiters of a server
// that went DOWN or into MAINT back to the balancer, as HAProxy
// redistributes a dead server's queue.
func (st *backendState) sweep() {
	if st.qlen.Load() == 0 {
		return
	}
	p := st.servers.Load()
	if p == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, s := range *p {
		if !s.hs.AcceptsPersistent() {
			for w := s.q.head; w != nil; w = s.q.head {
				st.unlink(w, s)
				w.ch <- nil
			}
		}
		st.dispatchLocked(s)
	}
}
