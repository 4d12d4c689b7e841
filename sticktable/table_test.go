package sticktable

import (
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct{ ms atomic.Uint32 }

func (f *fakeClock) now() uint32         { return f.ms.Load() }
func (f *fakeClock) add(d time.Duration) { f.ms.Add(uint32(d / time.Millisecond)) }

func newTest(t testing.TB, spec Spec) (*Table, *fakeClock) {
	t.Helper()
	clk := &fakeClock{}
	clk.ms.Store(1000)
	tb, err := newTable(spec, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tb.Close)
	return tb, clk
}

func addr(s string) []byte {
	a := netip.MustParseAddr(s).As16()
	if netip.MustParseAddr(s).Is4() {
		a = netip.AddrFrom16(a).As16()
	}
	return a[:]
}

func ipSpec(size int, expire time.Duration) Spec {
	return Spec{Name: "t", Kind: IP, Size: size, Expire: expire, Store: []Store{
		{Counter: HTTPReqRate, Period: 10 * time.Second}, {Counter: ConnCur}, {Counter: HTTPReqCnt}, {Counter: ConnCnt}}}
}

// The sliding window: HAProxy's freq_ctr_period over 10 s.
func TestRate(t *testing.T) {
	tb, clk := newTest(t, ipSpec(100, time.Minute))
	r, ok := tb.Track(addr("192.0.2.1"), true)
	if !ok {
		t.Fatal("not tracked")
	}
	defer r.Release()
	steps := []struct {
		adv  time.Duration
		add  uint64
		want int64
	}{
		{0, 10, 10},                         // 10 in the current period
		{5 * time.Second, 0, 10},            // still in it
		{5 * time.Second, 0, 10},            // next period begins: prev 10 × 10/10
		{5 * time.Second, 0, 5},             // half of the previous one
		{2500 * time.Millisecond, 4, 4 + 2}, // 4 now, prev 10 × 2.5/10
	}
	for i, s := range steps {
		clk.add(s.adv)
		r.Tick()
		if s.add > 0 {
			r.Add(HTTPReqRate, s.add)
		}
		if got, _ := r.Get(HTTPReqRate); got != s.want {
			t.Fatalf("step %d: rate %d, want %d", i, got, s.want)
		}
	}
	clk.add(25 * time.Second) // two periods without events
	r.Tick()
	if got, _ := r.Get(HTTPReqRate); got != 0 {
		t.Fatalf("after two idle periods: rate %d, want 0", got)
	}
	r.Add(HTTPReqRate, 3)
	if got, _ := r.Get(HTTPReqRate); got != 3 {
		t.Fatalf("restart: rate %d, want 3", got)
	}
}

func TestCountsAndConnCur(t *testing.T) {
	tb, _ := newTest(t, ipSpec(100, time.Minute))
	a, _ := tb.Track(addr("192.0.2.1"), true)
	a.ConnStart()
	b, _ := tb.Track(addr("192.0.2.1"), true)
	b.ConnStart()
	b.Count(HTTPReqCnt, HTTPReqRate, 1)
	for _, c := range []struct {
		ctr  Counter
		want int64
	}{{ConnCur, 2}, {ConnCnt, 2}, {HTTPReqCnt, 1}, {HTTPReqRate, 1}} {
		if got, _ := tb.Get(addr("192.0.2.1"), true, c.ctr); got != c.want {
			t.Errorf("counter %d = %d, want %d", c.ctr, got, c.want)
		}
	}
	if _, ok := a.Get(BytesInRate); ok {
		t.Error("a counter the table does not store reads")
	}
	a.Release()
	b.Release()
	if got, _ := tb.Get(addr("192.0.2.1"), true, ConnCur); got != 0 {
		t.Errorf("conn_cur after release = %d", got)
	}
	if _, ok := tb.Get(addr("192.0.2.2"), true, ConnCur); ok {
		t.Error("Get found a key never tracked")
	}
}

func TestKeys(t *testing.T) {
	tb, _ := newTest(t, ipSpec(10, 0))
	if _, ok := tb.Track(addr("2001:db8::1"), true); ok {
		t.Error("an IPv6 client tracked in an ip table")
	}
	t6, _ := newTest(t, Spec{Name: "6", Kind: IPv6, Size: 10, Store: []Store{{Counter: ConnCnt}}})
	for _, a := range []string{"2001:db8::1", "192.0.2.1"} {
		r, ok := t6.Track(addr(a), true)
		if !ok {
			t.Fatalf("%s not tracked in an ipv6 table", a)
		}
		r.ConnStart()
		r.Release()
	}
	es, _ := t6.Show("")
	if len(es) != 2 || es[0].Key != "192.0.2.1" || es[1].Key != "2001:db8::1" {
		t.Errorf("ipv6 table shows %+v", es)
	}
	ts, _ := newTest(t, Spec{Name: "s", Kind: String, KeyLen: 4, Size: 10, Store: []Store{{Counter: HTTPReqCnt}}})
	for _, k := range []string{"abcdef", "abcdzz", "ab"} {
		r, _ := ts.Track([]byte(k), false)
		r.Count(HTTPReqCnt, HTTPReqRate, 1)
		r.Release()
	}
	es, _ = ts.Show("")
	if len(es) != 2 || es[0].Key != "ab" || es[1].Key != "abcd" || es[1].Values[0].Value != 2 {
		t.Errorf("string table (len 4) shows %+v", es)
	}
}

func TestLRUEviction(t *testing.T) {
	tb, clk := newTest(t, ipSpec(3, time.Hour))
	track := func(a string) {
		t.Helper()
		r, ok := tb.Track(addr(a), true)
		if !ok {
			t.Fatalf("%s not tracked", a)
		}
		r.Release()
		clk.add(time.Millisecond)
	}
	for _, a := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.1", "192.0.2.4"} {
		track(a)
	}
	es, _ := tb.Show("")
	var keys []string
	for _, e := range es {
		keys = append(keys, e.Key)
	}
	if fmt.Sprint(keys) != "[192.0.2.1 192.0.2.3 192.0.2.4]" {
		t.Errorf("after eviction: %v (the least recently used, .2, should be gone)", keys)
	}
	if s := tb.Stats(); s.Evictions != 1 || s.Entries != 3 {
		t.Errorf("stats %+v", s)
	}
	// Entries in use are not evicted: with all three held, a fourth key
	// is not tracked.
	var held []Ref
	for _, a := range []string{"192.0.2.1", "192.0.2.3", "192.0.2.4"} {
		r, _ := tb.Track(addr(a), true)
		held = append(held, r)
	}
	if _, ok := tb.Track(addr("192.0.2.9"), true); ok {
		t.Error("a key tracked while every entry is in use")
	}
	for i := range held {
		held[i].Release()
	}
}

func TestExpiry(t *testing.T) {
	tb, clk := newTest(t, ipSpec(100, 10*time.Second))
	r, _ := tb.Track(addr("192.0.2.1"), true)
	r2, _ := tb.Track(addr("192.0.2.2"), true)
	r2.Release()
	clk.add(11 * time.Second)
	tb.Sweep()
	es, _ := tb.Show("")
	if len(es) != 1 || es[0].Key != "192.0.2.1" {
		t.Fatalf("after expiry: %+v (the entry in use stays, the other goes)", es)
	}
	r.Release()
	clk.add(5 * time.Second)
	tb.Sweep()
	if es, _ := tb.Show(""); len(es) != 1 || es[0].Expire != "5s" {
		t.Fatalf("released 5s ago: %+v", es)
	}
	clk.add(5 * time.Second)
	tb.Sweep()
	if s := tb.Stats(); s.Entries != 0 || s.Expired != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// An entry's expiry starts again when it is let go: at the Ref's time
// after a Tick (a request's end, the clock read for what it counted), now
// when it was never ticked (a connection held for a long time).
func TestReleaseTime(t *testing.T) {
	tb, clk := newTest(t, ipSpec(100, time.Minute))
	expireOf := func(a string) string {
		t.Helper()
		es, _ := tb.Show(a)
		if len(es) != 1 {
			t.Fatalf("%s: %+v", a, es)
		}
		return es[0].Expire
	}
	r, _ := tb.Track(addr("192.0.2.1"), true)
	clk.add(30 * time.Second)
	r.Release() // never ticked: used now
	if e := expireOf("192.0.2.1"); e != "1m0s" {
		t.Errorf("released without a Tick: expire %s, want 1m0s", e)
	}
	r, _ = tb.Track(addr("192.0.2.1"), true)
	clk.add(10 * time.Second)
	r.Tick()
	clk.add(5 * time.Second)
	r.Count(HTTPReqCnt, HTTPReqRate, 1) // counted at the clock read now
	clk.add(20 * time.Second)
	r.Release() // used when counted, 20 s ago
	if e := expireOf("192.0.2.1"); e != "40s" {
		t.Errorf("released after a Tick and a count: expire %s, want 40s", e)
	}
	r, _ = tb.Track(addr("192.0.2.1"), true)
	r.Tick()
	clk.add(7 * time.Second)
	r.Release() // ticked, nothing counted since: the clock is read here
	if e := expireOf("192.0.2.1"); e != "1m0s" {
		t.Errorf("released after a Tick alone: expire %s, want 1m0s", e)
	}
	if v, _ := tb.Get(addr("192.0.2.1"), true, HTTPReqCnt); v != 1 {
		t.Errorf("http_req_cnt %d", v)
	}
}

// An entry in use moves up the LRU list only when let go: one held at the
// tail must not stop the sweep from removing the expired ones after it.
func TestExpiryPastEntryInUse(t *testing.T) {
	tb, clk := newTest(t, ipSpec(100, 10*time.Second))
	for _, a := range []string{"192.0.2.1", "192.0.2.2"} {
		r, _ := tb.Track(addr(a), true)
		r.Release()
		clk.add(time.Second)
	}
	clk.add(5 * time.Second)
	held, _ := tb.Track(addr("192.0.2.1"), true) // the least recently let go
	clk.add(6 * time.Second)                     // .2 let go 11 s ago, .1 tracked 6 s ago
	tb.Sweep()
	es, _ := tb.Show("")
	if len(es) != 1 || es[0].Key != "192.0.2.1" || es[0].Use != 1 {
		t.Fatalf("after the sweep: %+v (.2 expired, .1 in use)", es)
	}
	held.Release()
	clk.add(9 * time.Second)
	tb.Sweep()
	if s := tb.Stats(); s.Entries != 1 {
		t.Fatalf("let go 9 s ago, expired: %+v", s)
	}
	clk.add(time.Second)
	tb.Sweep()
	if s := tb.Stats(); s.Entries != 0 || s.Expired != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestClear(t *testing.T) {
	tb, _ := newTest(t, ipSpec(100, time.Minute))
	held, _ := tb.Track(addr("192.0.2.1"), true)
	held.ConnStart()
	held.Count(HTTPReqCnt, HTTPReqRate, 5)
	for _, a := range []string{"192.0.2.2", "192.0.2.3"} {
		r, _ := tb.Track(addr(a), true)
		r.Release()
	}
	if rm, rs, err := tb.Clear("192.0.2.2"); err != nil || rm != 1 || rs != 0 {
		t.Fatalf("clear key: %d %d %v", rm, rs, err)
	}
	if _, _, err := tb.Clear("2001:db8::1"); err == nil {
		t.Fatal("an IPv6 key accepted for an ip table")
	}
	rm, rs, _ := tb.Clear("")
	if rm != 1 || rs != 1 {
		t.Fatalf("clear all: removed %d reset %d", rm, rs)
	}
	if v, _ := held.Get(HTTPReqRate); v != 0 {
		t.Errorf("rate of the entry in use after clear: %d", v)
	}
	if v, _ := held.Get(ConnCur); v != 1 {
		t.Errorf("conn_cur of the entry in use after clear: %d (kept)", v)
	}
	held.Release()
}

// Two tables synchronised by Drain/All and Apply, as two nodes are.
func TestSyncRoundTrip(t *testing.T) {
	spec := ipSpec(100, time.Minute)
	spec.Peers = "pair"
	a, clk := newTest(t, spec)
	b, bclk := newTest(t, spec)
	if a.Layout() != "ip,http_req_rate(10000),conn_cur,http_req_cnt,conn_cnt" {
		t.Fatalf("layout %q", a.Layout())
	}
	r, _ := a.Track(addr("192.0.2.7"), true)
	r.ConnStart()
	r.Count(HTTPReqCnt, HTTPReqRate, 42)
	var sent [][]byte
	emit := func(p []byte) error { sent = append(sent, append([]byte(nil), p...)); return nil }
	if err := a.Drain(emit); err != nil || len(sent) != 1 {
		t.Fatalf("drain: %v, %d batches", err, len(sent))
	}
	if n, err := b.Apply(sent[0]); err != nil || n != 1 {
		t.Fatalf("apply: %d %v", n, err)
	}
	check := func(tb *Table, c Counter, want int64) {
		t.Helper()
		if v, _ := tb.Get(addr("192.0.2.7"), true, c); v != want {
			t.Errorf("counter %d = %d, want %d", c, v, want)
		}
	}
	check(b, HTTPReqRate, 42)
	check(b, HTTPReqCnt, 42)
	check(b, ConnCur, 0) // this node's connections only
	// Nothing changed since: nothing to drain; applied entries are not
	// sent back.
	sent = nil
	_ = a.Drain(emit)
	_ = b.Drain(emit)
	if len(sent) != 0 {
		t.Fatalf("drained %d batches with no change", len(sent))
	}
	// A full resync carries every entry, in batches.
	for i := 0; i < 3000; i++ {
		k := netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}).As16()
		rr, _ := a.Track(k[:], true)
		rr.Release()
	}
	clk.add(time.Second)
	c, _ := newTest(t, Spec{Name: "t", Kind: IP, Size: 10000, Expire: time.Minute, Store: spec.Store})
	sent = nil
	if err := a.All(emit); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range sent {
		n, err := c.Apply(p)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if total != 100 || c.Stats().Entries != 100 {
		t.Errorf("full resync applied %d, holds %d (a's size bounds it to 100)", total, c.Stats().Entries)
	}
	if _, err := b.Apply([]byte{4, 1, 2}); err == nil {
		t.Error("a truncated record applied")
	}
	// An entry used here after the other node's copy was taken is newer:
	// the older copy (after a broken link, both sides send everything)
	// does not replace it.
	bclk.add(time.Second)
	var stale [][]byte
	_ = b.All(func(p []byte) error { stale = append(stale, append([]byte(nil), p...)); return nil }) // b: 42, used 1s ago
	r2, _ := a.Track(addr("192.0.2.7"), true)
	r2.Count(HTTPReqCnt, HTTPReqRate, 8) // a: 50, used now
	r2.Release()
	for _, p := range stale {
		if _, err := a.Apply(p); err != nil {
			t.Fatal(err)
		}
	}
	check(a, HTTPReqCnt, 50)
}

func TestNoAllocation(t *testing.T) {
	tb, _ := newTest(t, ipSpec(1000, time.Minute))
	k := addr("192.0.2.1")
	r, _ := tb.Track(k, true)
	r.Release()
	n := testing.AllocsPerRun(1000, func() {
		r, ok := tb.Track(k, true)
		if !ok {
			panic("not tracked")
		}
		r.ConnStart()
		r.Count(HTTPReqCnt, HTTPReqRate, 1)
		_, _ = r.Get(HTTPReqRate)
		r.Release()
		_, _ = tb.Get(k, true, HTTPReqRate)
	})
	if n != 0 {
		t.Errorf("%v allocations per tracked request", n)
	}
	ts, _ := newTest(t, Spec{Name: "s", Kind: String, Size: 100, Store: []Store{{Counter: HTTPReqCnt}}})
	key := []byte("session-abc")
	r, _ = ts.Track(key, false)
	r.Release()
	if n := testing.AllocsPerRun(1000, func() { r, _ := ts.Track(key, false); r.Release() }); n != 0 {
		t.Errorf("string table: %v allocations per track", n)
	}
}

func TestConcurrent(t *testing.T) {
	tb, err := New(ipSpec(500, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				k := netip.AddrFrom4([4]byte{192, 0, byte(g), byte(i % 300)}).As16()
				r, ok := tb.Track(k[:], true)
				if !ok {
					continue
				}
				r.ConnStart()
				r.Count(HTTPReqCnt, HTTPReqRate, 1)
				r.Release()
				if i%1000 == 0 {
					tb.Sweep()
					_, _ = tb.Show("")
				}
			}
		}(g)
	}
	wg.Wait()
	if s := tb.Stats(); s.Entries > 500 {
		t.Errorf("%d entries in a table of 500", s.Entries)
	}
	es, _ := tb.Show("")
	for _, e := range es {
		if e.Use != 0 || e.Values[1].Value != 0 {
			t.Fatalf("entry %+v still in use", e)
		}
	}
}

// TestBytesPerEntry measures a table of 1,000,000 IPv4 sources storing
// http_req_rate, conn_cur, http_req_cnt and conn_cnt (the figure the
// README gives).
func TestBytesPerEntry(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocates a table of a million entries (and the race detector's shadow memory would be counted)")
	}
	const n = 1_000_000
	for _, spec := range []Spec{
		{Name: "rate", Kind: IP, Size: n, Expire: time.Minute, Store: []Store{{Counter: HTTPReqRate, Period: 10 * time.Second}}},
		ipSpec(n, time.Minute),
	} {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		tb, err := New(spec)
		if err != nil {
			t.Fatal(err)
		}
		var k [16]byte
		k[10], k[11] = 0xff, 0xff
		for i := 0; i < n; i++ {
			k[12], k[13], k[14], k[15] = byte(i>>24)|10, byte(i>>16), byte(i>>8), byte(i)
			r, ok := tb.Track(k[:], true)
			if !ok {
				t.Fatalf("entry %d not tracked", i)
			}
			r.Release()
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if s := tb.Stats(); s.Entries != n {
			t.Fatalf("%d entries", s.Entries)
		}
		per := float64(after.HeapAlloc-before.HeapAlloc) / n
		t.Logf("stick table %s (%s): %.0f bytes per entry for %d IPv4 sources", spec.Name, tb.Layout(), per, n)
		fmt.Printf("sticktable: %.0f bytes/entry, 1,000,000 IPv4 sources, store %s\n", per, tb.Layout())
		runtime.KeepAlive(tb)
		tb.Close()
	}
}

func BenchmarkTrack(b *testing.B) {
	tb, _ := New(ipSpec(100_000, time.Minute))
	defer tb.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var k [16]byte
		k[10], k[11], k[12] = 0xff, 0xff, 10
		i := 0
		for pb.Next() {
			i++
			k[14], k[15] = byte(i>>8), byte(i)
			r, _ := tb.Track(k[:], true)
			r.ConnStart()
			r.Count(HTTPReqCnt, HTTPReqRate, 1)
			_, _ = r.Get(HTTPReqRate)
			r.Release()
		}
	})
}

// One key, all goroutines: the flood case (one abuser).
func BenchmarkTrackOneKey(b *testing.B) {
	tb, _ := New(ipSpec(100_000, time.Minute))
	defer tb.Close()
	b.ReportAllocs()
	k := addr("192.0.2.1")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, _ := tb.Track(k, true)
			r.Count(HTTPReqCnt, HTTPReqRate, 1)
			r.Release()
		}
	})
}

var rateSink int64

// BenchmarkTrackHeaderKeys is what the bench's rate-limited frontend does
// for each request (bench/cmd/benchrun/policy.go: a string table of
// http_req_rate(10s) keyed by a header, 10,000 clients in turn): track the
// key, count the request, read its rate, tick at the request's end and let
// it go. One goroutine, as lbd on one CPU; allocs/op must stay 0.
func BenchmarkTrackHeaderKeys(b *testing.B) {
	tb, err := New(Spec{Name: "t", Kind: String, KeyLen: 32, Size: 100_000, Expire: time.Minute,
		Store: []Store{{Counter: HTTPReqRate, Period: 10 * time.Second}}})
	if err != nil {
		b.Fatal(err)
	}
	defer tb.Close()
	keys := make([][]byte, 10_000)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "c%d", i)
		r, _ := tb.Track(keys[i], false)
		r.Release()
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r, ok := tb.Track(keys[i], false)
		if !ok {
			b.Fatal("not tracked")
		}
		r.ConnStart()
		r.Count(HTTPReqCnt, HTTPReqRate, 1)
		rateSink, _ = r.Get(HTTPReqRate)
		r.Tick()
		r.Release()
		if i++; i == len(keys) {
			i = 0
		}
	}
}
