package sticktable

import (
	"errors"
	"fmt"
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"lbd/sample"
)

// Kind is what a table's keys are.
type Kind uint8

// Kinds, as HAProxy's stick-table types.
const (
	IP     Kind = iota // IPv4 addresses (IPv6 clients are not tracked, as in HAProxy)
	IPv6               // IPv6 addresses, IPv4 ones as ::ffff:a.b.c.d
	String             // text, cut at the table's key length
)

func (k Kind) String() string {
	switch k {
	case IP:
		return "ip"
	case IPv6:
		return "ipv6"
	}
	return "string"
}

// Counter identifies a stored counter: its index in sample.Counters.
type Counter = int

// Counter indexes.
var (
	ConnCnt      = sample.CounterIndex("conn_cnt")
	ConnRate     = sample.CounterIndex("conn_rate")
	ConnCur      = sample.CounterIndex("conn_cur")
	HTTPReqCnt   = sample.CounterIndex("http_req_cnt")
	HTTPReqRate  = sample.CounterIndex("http_req_rate")
	HTTPErrCnt   = sample.CounterIndex("http_err_cnt")
	HTTPErrRate  = sample.CounterIndex("http_err_rate")
	BytesInCnt   = sample.CounterIndex("bytes_in_cnt")
	BytesInRate  = sample.CounterIndex("bytes_in_rate")
	BytesOutCnt  = sample.CounterIndex("bytes_out_cnt")
	BytesOutRate = sample.CounterIndex("bytes_out_rate")
)

const nCounters = 13 // len(sample.Counters)

// Store is a counter a table keeps, with its period for a rate.
type Store struct {
	Counter Counter
	Period  time.Duration
}

// Spec describes a table.
type Spec struct {
	Name   string
	Kind   Kind
	KeyLen int           // String: the longest key kept (HAProxy's len; default 32)
	Size   int           // the most entries
	Expire time.Duration // an entry unused this long goes; 0: never (only evicted)
	Store  []Store
	// Peers names the peers block sharing the table ("": none); entries
	// changed here are then marked for the other node.
	Peers string
}

// MaxExpire is the longest expire (HAProxy's: 2^31 ms).
const MaxExpire = 24 * 24 * time.Hour

// Table is a stick table.
type Table struct {
	spec   Spec
	off    [nCounters]int8 // word offset of each stored counter, -1: not stored
	period [nCounters]uint32
	stride int
	expire uint32 // ms; 0 never
	layout string

	v4  []shard[uint32]
	v6  []shard[[16]byte]
	str []shard[string]

	mask uint32
	seed maphash.Seed

	epoch time.Time
	// now is the clock in ms since epoch (replaced by tests).
	now func() uint32

	lookups, inserts, evictions, expired atomic.Uint64
	entries                              atomic.Int64
	// Dirty is signalled (without blocking) when an entry is marked for
	// the other node.
	Dirty chan struct{}

	stop  chan struct{}
	once  sync.Once
	sweep sync.Once // the sweeper starts with the first entry
}

// New makes a table from a validated spec. Its sweeper starts with the
// first entry; Close stops it.
func New(spec Spec) (*Table, error) { return newTable(spec, nil) }

// newTable is New with a clock in ms (tests); nil: the real one.
func newTable(spec Spec, now func() uint32) (*Table, error) {
	if spec.Size <= 0 {
		return nil, errors.New("size must be positive")
	}
	if spec.Expire < 0 || spec.Expire > MaxExpire {
		return nil, fmt.Errorf("expire %s out of range", spec.Expire)
	}
	if spec.Kind == String && spec.KeyLen <= 0 {
		spec.KeyLen = 32
	}
	t := &Table{spec: spec, seed: maphash.MakeSeed(), epoch: time.Now(), expire: uint32(spec.Expire / time.Millisecond),
		Dirty: make(chan struct{}, 1), stop: make(chan struct{})}
	t.now = now
	if now == nil {
		t.now = func() uint32 { return uint32(time.Since(t.epoch) / time.Millisecond) }
	}
	for i := range t.off {
		t.off[i] = -1
	}
	for _, s := range spec.Store {
		if s.Counter < 0 || s.Counter >= nCounters || sample.Counters[s.Counter] == "gpc0" || sample.Counters[s.Counter] == "gpc0_rate" {
			return nil, fmt.Errorf("counter %d cannot be stored", s.Counter)
		}
		if t.off[s.Counter] >= 0 {
			return nil, fmt.Errorf("%s stored twice", sample.Counters[s.Counter])
		}
		t.off[s.Counter] = int8(t.stride)
		if sample.IsRate(sample.Counters[s.Counter]) {
			if s.Period < time.Millisecond || s.Period > MaxExpire {
				return nil, fmt.Errorf("%s: period %s out of range", sample.Counters[s.Counter], s.Period)
			}
			t.period[s.Counter] = uint32(s.Period / time.Millisecond)
			t.stride += 2
		} else {
			t.stride++
		}
	}
	t.layout = t.makeLayout()
	// A shard per 1024 entries, up to 64: small tables keep an exact LRU
	// over all their entries.
	n := 1
	for n < 64 && n*1024 < spec.Size {
		n *= 2
	}
	t.mask = uint32(n - 1)
	switch spec.Kind {
	case IP:
		t.v4 = make([]shard[uint32], n)
		for i := range t.v4 {
			t.v4[i].init(t)
		}
	case IPv6:
		t.v6 = make([]shard[[16]byte], n)
		for i := range t.v6 {
			t.v6[i].init(t)
		}
	default:
		t.str = make([]shard[string], n)
		for i := range t.str {
			t.str[i].init(t)
		}
	}
	return t, nil
}

// Close stops the sweeper.
func (t *Table) Close() { t.once.Do(func() { close(t.stop) }) }

// Spec is the table's description.
func (t *Table) Spec() Spec { return t.spec }

// Name is the table's name.
func (t *Table) Name() string { return t.spec.Name }

// Stores reports whether the table keeps counter c.
func (t *Table) Stores(c Counter) bool { return c >= 0 && c < nCounters && t.off[c] >= 0 }

// SameLayout reports whether a table of spec s keeps the same keys and
// counters as t (a reload then keeps t and its entries).
func (t *Table) SameLayout(s Spec) bool {
	a := t.spec
	if a.Kind != s.Kind || a.KeyLen != s.KeyLen && s.Kind == String || a.Size != s.Size || a.Expire != s.Expire || a.Peers != s.Peers || len(a.Store) != len(s.Store) {
		return false
	}
	for i := range a.Store {
		if a.Store[i] != s.Store[i] {
			return false
		}
	}
	return true
}

func (t *Table) sweeper() {
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tk.C:
			t.Sweep()
		}
	}
}

// Sweep removes the expired entries.
func (t *Table) Sweep() {
	if t.expire == 0 {
		return
	}
	now := t.now()
	for i := range t.v4 {
		t.v4[i].sweep(now, -1)
	}
	for i := range t.v6 {
		t.v6[i].sweep(now, -1)
	}
	for i := range t.str {
		t.str[i].sweep(now, -1)
	}
}

// Key kinds a caller hands in: an address as 16 bytes (IPv4 mapped), or
// text.

// hash of a key.
func (t *Table) shardOf4(k uint32) uint32 { return (k * 0x9e3779b1) >> 16 & t.mask }

func (t *Table) shardOf16(k *[16]byte) uint32 {
	var h uint32 = 2166136261
	for _, b := range k {
		h = (h ^ uint32(b)) * 16777619
	}
	return h & t.mask
}

// Track finds or creates the entry of key and holds it (Release lets it
// go): an address (16 bytes, IPv4 mapped) when addr, else text. ok is
// false when the key does not fit the table (an IPv6 address in an ip
// table) or every entry of its shard is in use.
func (t *Table) Track(key []byte, addr bool) (Ref, bool) {
	t.lookups.Add(1)
	now := t.now()
	switch t.spec.Kind {
	case IP:
		k, ok := v4Key(key, addr)
		if !ok {
			return Ref{}, false
		}
		return t.v4[t.shardOf4(k)].track(k, now)
	case IPv6:
		k, ok := v6Key(key, addr)
		if !ok {
			return Ref{}, false
		}
		return t.v6[t.shardOf16(&k)].track(k, now)
	}
	k := t.strKey(key, addr)
	return trackStr(&t.str[uint32(hashBytes(t, k))&t.mask], k, now)
}

// Get reads a counter of key's entry without tracking it (src_* fetches).
func (t *Table) Get(key []byte, addr bool, c Counter) (int64, bool) {
	if !t.Stores(c) {
		return 0, false
	}
	t.lookups.Add(1)
	now := t.now()
	switch t.spec.Kind {
	case IP:
		k, ok := v4Key(key, addr)
		if !ok {
			return 0, false
		}
		return t.v4[t.shardOf4(k)].get(k, now, c)
	case IPv6:
		k, ok := v6Key(key, addr)
		if !ok {
			return 0, false
		}
		return t.v6[t.shardOf16(&k)].get(k, now, c)
	}
	k := t.strKey(key, addr)
	return getStr(&t.str[uint32(hashBytes(t, k))&t.mask], k, now, c)
}

// strKey is the text of a key for a string table, cut at its length.
func (t *Table) strKey(key []byte, addr bool) []byte {
	if addr { // an address tracked in a string table: its text
		var a [16]byte
		copy(a[:], key)
		ip := netip.AddrFrom16(a).Unmap()
		return ip.AppendTo(key[len(key):len(key)])
	}
	if len(key) > t.spec.KeyLen {
		key = key[:t.spec.KeyLen]
	}
	return key
}

func v4Key(key []byte, addr bool) (uint32, bool) {
	if addr && len(key) == 16 {
		for _, b := range key[:10] {
			if b != 0 {
				return 0, false
			}
		}
		if key[10] != 0xff || key[11] != 0xff {
			return 0, false
		}
		key = key[12:]
	} else if !addr {
		a, err := netip.ParseAddr(string(key))
		if err != nil || !a.Unmap().Is4() {
			return 0, false
		}
		b := a.Unmap().As4()
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
	}
	if len(key) != 4 {
		return 0, false
	}
	return uint32(key[0])<<24 | uint32(key[1])<<16 | uint32(key[2])<<8 | uint32(key[3]), true
}

func v6Key(key []byte, addr bool) ([16]byte, bool) {
	var k [16]byte
	if addr && len(key) == 16 {
		copy(k[:], key)
		return k, true
	}
	if addr {
		return k, false
	}
	a, err := netip.ParseAddr(string(key))
	if err != nil {
		return k, false
	}
	return a.As16(), true
}

// Stats are a table's counters for metrics.
type Stats struct {
	Name                                 string
	Type                                 string
	Size, Entries                        int
	Lookups, Inserts, Evictions, Expired uint64
}

// Stats counts the entries and reports the counters.
func (t *Table) Stats() Stats {
	s := Stats{Name: t.spec.Name, Type: t.spec.Kind.String(), Size: t.spec.Size,
		Lookups: t.lookups.Load(), Inserts: t.inserts.Load(), Evictions: t.evictions.Load(), Expired: t.expired.Load()}
	for i := range t.v4 {
		s.Entries += t.v4[i].count()
	}
	for i := range t.v6 {
		s.Entries += t.v6[i].count()
	}
	for i := range t.str {
		s.Entries += t.str[i].count()
	}
	return s
}

// markDirty tells the peers sender that entries changed.
func (t *Table) markDirty() {
	select {
	case t.Dirty <- struct{}{}:
	default:
	}
}

func hashBytes(t *Table, k []byte) uint64 { return maphash.Bytes(t.seed, k) }
