package sticktable

import (
	"sync"
	"sync/atomic"
)

// chunkBits: slots come in chunks of 1024 that never move, so that a Ref
// keeps pointing at its words while the shard grows.
const (
	chunkBits = 10
	chunkSize = 1 << chunkBits
	none      = -1
)

// meta is a slot's header: its place in the LRU list (head: most
// recent), its last use (ms), the connections and requests holding it,
// and whether the other node has yet to hear of its change.
type meta struct {
	prev, next int32
	touch      uint32
	ref        uint16
	flags      uint16
}

const (
	fUsed  = 1 << iota // the slot holds an entry
	fDirty             // queued for the peers
)

// core is the part of a shard that does not depend on the key type:
// slots, LRU, free list. Its lock guards everything but the counter
// words, which are atomic.
type core struct {
	mu    sync.Mutex
	t     *Table
	meta  []*[chunkSize]meta
	words [][]uint64
	head  int32
	tail  int32
	free  int32
	n     int // entries
	slots int // slots allocated
	dirty []int32
}

type shard[K comparable] struct {
	core
	idx  map[K]int32
	keys []*[chunkSize]K
}

func (s *shard[K]) init(t *Table) {
	s.t, s.head, s.tail, s.free = t, none, none, none
	s.idx = map[K]int32{}
}

func (c *core) m(i int32) *meta { return &c.meta[i>>chunkBits][i&(chunkSize-1)] }

func (c *core) w(i int32) []uint64 {
	st := c.t.stride
	o := int(i&(chunkSize-1)) * st
	return c.words[i>>chunkBits][o : o+st : o+st]
}

func (s *shard[K]) key(i int32) *K { return &s.keys[i>>chunkBits][i&(chunkSize-1)] }

// unlink takes slot i out of the LRU list.
func (c *core) unlink(i int32) {
	m := c.m(i)
	if m.prev != none {
		c.m(m.prev).next = m.next
	} else {
		c.head = m.next
	}
	if m.next != none {
		c.m(m.next).prev = m.prev
	} else {
		c.tail = m.prev
	}
	m.prev, m.next = none, none
}

// front puts slot i at the head (most recently used).
func (c *core) front(i int32) {
	m := c.m(i)
	m.prev, m.next = none, c.head
	if c.head != none {
		c.m(c.head).prev = i
	}
	c.head = i
	if c.tail == none {
		c.tail = i
	}
}

// touch marks slot i used at now.
func (c *core) touch(i int32, now uint32) {
	c.m(i).touch = now
	if c.head != i {
		c.unlink(i)
		c.front(i)
	}
}

// mark queues slot i for the peers.
func (c *core) mark(i int32) {
	if c.t.spec.Peers == "" {
		return
	}
	m := c.m(i)
	if m.flags&fDirty == 0 {
		m.flags |= fDirty
		c.dirty = append(c.dirty, i)
		c.t.markDirty()
	}
}

// alloc returns a free slot, growing by a chunk when none is free.
func (s *shard[K]) alloc() int32 {
	if s.free != none {
		i := s.free
		s.free = s.m(i).next
		return i
	}
	if s.slots%chunkSize == 0 {
		s.meta = append(s.meta, new([chunkSize]meta))
		s.keys = append(s.keys, new([chunkSize]K))
		s.words = append(s.words, make([]uint64, chunkSize*s.t.stride))
	}
	i := int32(s.slots)
	s.slots++
	return i
}

// remove frees slot i (not in use).
func (s *shard[K]) remove(i int32) {
	s.unlink(i)
	var zero K
	delete(s.idx, *s.key(i))
	*s.key(i) = zero
	m := s.m(i)
	m.flags, m.ref = 0, 0
	m.next = s.free
	s.free = i
	s.n--
	s.t.entries.Add(-1)
}

// sweep removes expired entries from the tail; with want >= 0 it stops
// as soon as a slot is free, and evicts the least recently used entry
// not in use when none expired (a full shard).
func (s *shard[K]) sweep(now uint32, want int) {
	s.mu.Lock()
	s.sweepLocked(now, want)
	s.mu.Unlock()
}

func (s *shard[K]) sweepLocked(now uint32, want int) {
	exp := s.t.expire
	for i := s.tail; i != none && exp != 0; {
		m := s.m(i)
		prev := m.prev
		if m.ref == 0 {
			if now-m.touch < exp {
				break // the entries before it were let go more recently
			}
			s.remove(i)
			s.t.expired.Add(1)
			if want >= 0 {
				return
			}
		}
		i = prev
	}
	if want < 0 || s.t.entries.Load() < int64(s.t.spec.Size) {
		return
	}
	for i := s.tail; i != none; i = s.m(i).prev {
		if s.m(i).ref == 0 {
			s.remove(i)
			s.t.evictions.Add(1)
			return
		}
	}
}

// find returns the slot of k, creating it (counters zero, rates
// starting now) when create; none when it cannot.
func (s *shard[K]) find(k K, now uint32, create bool) int32 {
	if i, ok := s.idx[k]; ok {
		return i
	}
	if !create {
		return none
	}
	if s.t.entries.Load() >= int64(s.t.spec.Size) || s.tail != none && s.t.expire != 0 && now-s.m(s.tail).touch >= s.t.expire {
		s.sweepLocked(now, 1)
		if s.t.entries.Load() >= int64(s.t.spec.Size) {
			return none
		}
	}
	i := s.alloc()
	*s.key(i) = k
	s.idx[k] = i
	m := s.m(i)
	m.flags, m.ref, m.touch = fUsed, 0, now
	s.t.initWords(s.w(i), now)
	s.front(i)
	s.n++
	s.t.entries.Add(1)
	s.t.inserts.Add(1)
	s.t.sweep.Do(func() { go s.t.sweeper() })
	return i
}

func (s *shard[K]) track(k K, now uint32) (Ref, bool) {
	s.mu.Lock()
	return s.hold(s.find(k, now, true), now)
}

// hold takes a reference on slot i and unlocks the shard.
func (s *shard[K]) hold(i int32, now uint32) (Ref, bool) {
	if i == none || s.m(i).ref == ^uint16(0) {
		s.mu.Unlock()
		return Ref{}, false
	}
	// The entry is used now, but moves up the LRU list only when let go
	// (Release): while held it is neither expired nor evicted, and moving
	// it twice per request touched the slots of four other entries.
	s.m(i).ref++
	s.m(i).touch = now
	s.mark(i)
	r := Ref{c: &s.core, i: i, w: s.w(i), now: now}
	s.mu.Unlock()
	return r, true
}

func (s *shard[K]) get(k K, now uint32, c Counter) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.idx[k]
	if !ok {
		return 0, false
	}
	return s.t.read(s.w(i), c, now), true
}

func (s *shard[K]) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// For string tables, lookups by []byte do not allocate (the compiler's
// m[string(b)] form); only a new key copies its text.
func trackStr(s *shard[string], k []byte, now uint32) (Ref, bool) {
	s.mu.Lock()
	i, ok := s.idx[string(k)]
	if !ok {
		i = s.find(string(k), now, true)
	}
	return s.hold(i, now)
}

func getStr(s *shard[string], k []byte, now uint32, c Counter) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.idx[string(k)]
	if !ok {
		return 0, false
	}
	return s.t.read(s.w(i), c, now), true
}

// initWords zeroes a new entry's counters and starts its rates now.
func (t *Table) initWords(w []uint64, now uint32) {
	for i := range w {
		atomic.StoreUint64(&w[i], 0)
	}
	for c, o := range t.off {
		if o >= 0 && t.period[c] != 0 {
			atomic.StoreUint64(&w[o], uint64(now)<<32)
		}
	}
}

// read is a counter's value at now.
func (t *Table) read(w []uint64, c Counter, now uint32) int64 {
	o := t.off[c]
	if p := t.period[c]; p != 0 {
		return int64(rateRead(&w[o], &w[o+1], now, p))
	}
	return int64(atomic.LoadUint64(&w[o]))
}
