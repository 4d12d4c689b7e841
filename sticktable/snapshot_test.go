package sticktable

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestSnapshotRestore: a successor's table restored from a snapshot (sent
// as JSON, as the upgrade's state is) holds every entry with its counters
// and its age, but not the predecessor's conn_cur; a snapshot of another
// layout is refused.
func TestSnapshotRestore(t *testing.T) {
	old, clk := newTest(t, ipSpec(10000, time.Minute))
	for i := 0; i < 2500; i++ { // more than one batch
		k := netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}).As16()
		r, _ := old.Track(k[:], true)
		r.Count(HTTPReqCnt, HTTPReqRate, uint64(i%7+1))
		r.Release()
	}
	r, _ := old.Track(addr("192.0.2.7"), true)
	r.ConnStart()
	r.Count(HTTPReqCnt, HTTPReqRate, 150)
	clk.add(2 * time.Second)

	snap, err := old.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Entries) < 2 || snap.Name != "t" || snap.Layout != old.Layout() {
		t.Fatalf("snapshot: %d batches, name %q, layout %q", len(snap.Entries), snap.Name, snap.Layout)
	}
	js, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var got Snapshot
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}

	succ, _ := newTest(t, ipSpec(10000, time.Minute))
	n, err := succ.Restore(got)
	if err != nil || n != 2501 || succ.Stats().Entries != 2501 {
		t.Fatalf("restored %d entries (%v), the table holds %d; want 2501", n, err, succ.Stats().Entries)
	}
	for c, want := range map[Counter]int64{HTTPReqRate: 150, HTTPReqCnt: 150, ConnCur: 0} {
		if v, _ := succ.Get(addr("192.0.2.7"), true, c); v != want {
			t.Errorf("counter %d = %d after restore, want %d", c, v, want)
		}
	}
	e, err := succ.Show("192.0.2.7")
	if err != nil || len(e) != 1 || !strings.HasPrefix(e[0].Expire, "58") {
		t.Errorf("the entry's expiry was not carried (used 2s before the snapshot, expire 1m): %+v %v", e, err)
	}

	other, _ := newTest(t, Spec{Name: "t", Kind: IP, Size: 100, Expire: time.Minute, Store: []Store{{Counter: HTTPReqRate, Period: time.Second}}})
	if n, err := other.Restore(got); err == nil || n != 0 || other.Stats().Entries != 0 {
		t.Errorf("a snapshot of another layout restored %d entries (%v)", n, err)
	}
}
