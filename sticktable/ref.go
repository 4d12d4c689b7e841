package sticktable

import "sync/atomic"

// Ref is an entry tracked by a connection or a request: its counters are
// updated through it without the shard's lock, and it is neither expired
// nor evicted until Release. The zero Ref tracks nothing.
type Ref struct {
	c *core
	i int32
	w []uint64
	// now is the time its counters are updated and read at: when it was
	// tracked, or the last Tick (reading the clock once per request, not
	// per counter).
	now uint32
	// ticked: Tick was called since it was tracked; stale: and the clock
	// is yet to be read for it. The clock is read when a counter is
	// counted or read, or when the Ref is released, not by Tick: a
	// request's end often counts nothing the table stores, and its
	// release then reads the clock once for both (the clock is a good
	// part of what tracking costs on a virtual machine).
	ticked, stale bool
}

// Tick moves the Ref's time to now (before counting what happened since
// it was tracked: the bytes of a long transfer, a response); Release then
// marks the entry used at that time.
func (r *Ref) Tick() {
	if r.c != nil {
		r.ticked, r.stale = true, true
	}
}

// at is the Ref's time, reading the clock if it was ticked since.
func (r *Ref) at() uint32 {
	if r.stale {
		r.now, r.stale = r.c.t.now(), false
	}
	return r.now
}

// Valid reports whether r tracks an entry.
func (r *Ref) Valid() bool { return r.c != nil }

// Table is the table of the entry.
func (r *Ref) Table() *Table {
	if r.c == nil {
		return nil
	}
	return r.c.t
}

// Add counts n on counter c (a count or a rate; nothing when the table
// does not store it).
func (r *Ref) Add(c Counter, n uint64) {
	t := r.c.t
	o := t.off[c]
	if o < 0 {
		return
	}
	if p := t.period[c]; p != 0 {
		if n > 1<<32-1 {
			n = 1<<32 - 1
		}
		rateAdd(&r.w[o], &r.w[o+1], r.at(), p, uint32(n))
		return
	}
	atomic.AddUint64(&r.w[o], n)
}

// Count counts one event on a count and its rate (conn_cnt and
// conn_rate, http_req_cnt and http_req_rate, ...), with n the amount (1,
// or bytes).
func (r *Ref) Count(cnt, rate Counter, n uint64) {
	if r.c == nil {
		return
	}
	r.Add(cnt, n)
	r.Add(rate, n)
}

// Get reads counter c (false when not stored).
func (r *Ref) Get(c Counter) (int64, bool) {
	t := r.c.t
	if c < 0 || c >= nCounters || t.off[c] < 0 {
		return 0, false
	}
	return t.read(r.w, c, r.at()), true
}

// ConnStart counts a tracked connection (or request tracked by an HTTP
// rule, as HAProxy counts it): conn_cnt, conn_rate, conn_cur.
func (r *Ref) ConnStart() {
	r.Add(ConnCnt, 1)
	r.Add(ConnRate, 1)
	if o := r.c.t.off[ConnCur]; o >= 0 {
		atomic.AddUint64(&r.w[o], 1)
	}
}

// Release ends the tracking: conn_cur goes down, the entry is marked
// used now (its expiry starts again) and for the peers. After a Tick,
// "now" is the Ref's time: the clock read for the first counter counted
// since, or read here when none was.
func (r *Ref) Release() {
	c := r.c
	if c == nil {
		return
	}
	if o := c.t.off[ConnCur]; o >= 0 {
		for {
			v := atomic.LoadUint64(&r.w[o])
			if v == 0 || atomic.CompareAndSwapUint64(&r.w[o], v, v-1) {
				break
			}
		}
	}
	now := r.at()
	if !r.ticked {
		now = c.t.now()
	}
	c.mu.Lock()
	m := c.m(r.i)
	if m.ref > 0 {
		m.ref--
	}
	c.touch(r.i, now)
	c.mark(r.i)
	c.mu.Unlock()
	*r = Ref{}
}
