package sticktable

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync/atomic"
	"time"

	"lbd/sample"
)

// Entry is an entry as lbctl table show prints it.
type Entry struct {
	Key    string  `json:"key"`
	Use    int     `json:"use"`    // connections and requests tracking it now
	Expire string  `json:"expire"` // time left before it expires ("" never)
	Values []Value `json:"values"`
}

// Value is one counter of an entry.
type Value struct {
	Name  string `json:"name"`
	Value int64  `json:"value"`
}

// ParseKey turns the text of a key (an address, or a string) into what
// Track and Get take.
func (t *Table) ParseKey(s string) ([]byte, bool, error) {
	if t.spec.Kind == String {
		return []byte(s), false, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return nil, false, fmt.Errorf("key %q: not an address", s)
	}
	if t.spec.Kind == IP && !a.Unmap().Is4() {
		return nil, false, fmt.Errorf("key %q: table %s holds IPv4 addresses", s, t.spec.Name)
	}
	b := a.As16()
	if a.Is4() {
		b = netip.AddrFrom16(b).As16()
	}
	return b[:], true, nil
}

// Show lists the entries (all, or the one of key), by key.
func (t *Table) Show(key string) ([]Entry, error) {
	var match func(string) bool
	if key != "" {
		kb, addr, err := t.ParseKey(key)
		if err != nil {
			return nil, err
		}
		want := t.keyText(kb, addr)
		match = func(s string) bool { return s == want }
	}
	now := t.now()
	var out []Entry
	t.each(func(c *core, i int32, k string) {
		if match != nil && !match(k) {
			return
		}
		e := Entry{Key: k, Use: int(c.m(i).ref)}
		if t.expire != 0 {
			left := int64(t.expire) - int64(now-c.m(i).touch)
			e.Expire = (time.Duration(max(left, 0)) * time.Millisecond).String()
		}
		w := c.w(i)
		for _, s := range t.spec.Store {
			e.Values = append(e.Values, Value{Name: storeName(s), Value: t.read(w, s.Counter, now)})
		}
		out = append(out, e)
	})
	sort.Slice(out, func(a, b int) bool { return out[a].Key < out[b].Key })
	return out, nil
}

// storeName is a counter as HAProxy's show table names it:
// http_req_rate(10000) for a rate over 10 s.
func storeName(s Store) string {
	n := sample.Counters[s.Counter]
	if sample.IsRate(n) {
		return fmt.Sprintf("%s(%d)", n, s.Period/time.Millisecond)
	}
	return n
}

// keyText is the text a key shows as.
func (t *Table) keyText(k []byte, addr bool) string {
	if t.spec.Kind == String {
		return string(t.strKey(k, addr))
	}
	var a [16]byte
	copy(a[:], k)
	return netip.AddrFrom16(a).Unmap().String()
}

// each calls f for every entry, under its shard's lock.
func (t *Table) each(f func(c *core, i int32, key string)) {
	for s := range t.v4 {
		sh := &t.v4[s]
		sh.mu.Lock()
		for k, i := range sh.idx {
			f(&sh.core, i, netip.AddrFrom4([4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)}).String())
		}
		sh.mu.Unlock()
	}
	for s := range t.v6 {
		sh := &t.v6[s]
		sh.mu.Lock()
		for k, i := range sh.idx {
			f(&sh.core, i, netip.AddrFrom16(k).Unmap().String())
		}
		sh.mu.Unlock()
	}
	for s := range t.str {
		sh := &t.str[s]
		sh.mu.Lock()
		for k, i := range sh.idx {
			f(&sh.core, i, k)
		}
		sh.mu.Unlock()
	}
}

// Clear removes the entries (all, or key's) that nothing tracks now, and
// zeroes the counters of those in use (a client limited now is let
// through at once, as the operator asked). It returns how many it
// removed and reset.
func (t *Table) Clear(key string) (removed, reset int, err error) {
	var want string
	if key != "" {
		kb, addr, err := t.ParseKey(key)
		if err != nil {
			return 0, 0, err
		}
		want = t.keyText(kb, addr)
	}
	now := t.now()
	clear := func(c *core, i int32, k string, del func()) {
		if key != "" && k != want {
			return
		}
		if c.m(i).ref > 0 {
			cur := t.readCur(c.w(i))
			t.initWords(c.w(i), now)
			if o := t.off[ConnCur]; o >= 0 {
				atomic.StoreUint64(&c.w(i)[o], cur)
			}
			c.mark(i)
			reset++
			return
		}
		del()
		removed++
	}
	for s := range t.v4 {
		sh := &t.v4[s]
		sh.mu.Lock()
		for k, i := range sh.idx {
			clear(&sh.core, i, netip.AddrFrom4([4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)}).String(), func() { sh.remove(i) })
		}
		sh.mu.Unlock()
	}
	for s := range t.v6 {
		sh := &t.v6[s]
		sh.mu.Lock()
		for k, i := range sh.idx {
			clear(&sh.core, i, netip.AddrFrom16(k).Unmap().String(), func() { sh.remove(i) })
		}
		sh.mu.Unlock()
	}
	for s := range t.str {
		sh := &t.str[s]
		sh.mu.Lock()
		for k, i := range sh.idx {
			clear(&sh.core, i, k, func() { sh.remove(i) })
		}
		sh.mu.Unlock()
	}
	return removed, reset, nil
}

func (t *Table) readCur(w []uint64) uint64 {
	if o := t.off[ConnCur]; o >= 0 {
		return atomic.LoadUint64(&w[o])
	}
	return 0
}

// Layout describes the entries' encoding, so that a receiver applies
// only what it stores alike (the same kind and counters, periods
// included).
func (t *Table) Layout() string { return t.layout }

func (t *Table) makeLayout() string {
	s := t.spec.Kind.String()
	for _, st := range t.spec.Store {
		s += "," + storeName(st)
	}
	return s
}

// The encoding of an entry for the other node: the key (a length byte,
// then 4 bytes of IPv4, 16 of IPv6, or the text), the ms since its last
// use (u32), then each stored counter in the spec's order: a count as
// u64, a rate as the ms since its period began, curr and prev (3 × u32).
// conn_cur is sent (for show) but not applied.

// errShort is a record cut short.
var errShort = errors.New("sticktable: truncated entry")

func (t *Table) appendEntry(b []byte, c *core, i int32, key []byte, now uint32) []byte {
	b = append(b, byte(len(key)))
	b = append(b, key...)
	b = binary.BigEndian.AppendUint32(b, now-c.m(i).touch)
	w := c.w(i)
	for _, s := range t.spec.Store {
		o := t.off[s.Counter]
		if t.period[s.Counter] != 0 {
			age, cur, prev := rateState(&w[o], &w[o+1], now)
			b = binary.BigEndian.AppendUint32(b, age)
			b = binary.BigEndian.AppendUint32(b, cur)
			b = binary.BigEndian.AppendUint32(b, prev)
			continue
		}
		b = binary.BigEndian.AppendUint64(b, atomic.LoadUint64(&w[o]))
	}
	return b
}

// entrySize bounds an encoded entry.
func (t *Table) entrySize() int { return 1 + 255 + 4 + 12*len(t.spec.Store) }

func key4(k uint32) []byte { return []byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)} }
