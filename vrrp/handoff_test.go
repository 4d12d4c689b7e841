package vrrp

import (
	"encoding/json"
	"testing"
	"time"
)

// TestHandoffKeepsMastership: the master's process hands its instance to
// a successor (a binary upgrade). The successor resumes as master with
// the VIPs where they are: the backup never sees a gap between two
// adverts longer than the advert interval, never changes state, and the
// VIPs are never removed or announced again.
func TestHandoffKeepsMastership(t *testing.T) {
	s := newSim(t)
	a, b := s.pair()
	s.advance(2500 * time.Millisecond) // mid-interval, as an upgrade comes
	bTransitions := b.in.ctr.transitions
	vipSince := a.io.vipSince

	h := a.in.detach()
	raw, err := json.Marshal(h) // as package handoff carries it
	if err != nil {
		t.Fatal(err)
	}
	var got InstanceHandoff
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.State != "MASTER" || !got.VIPsHeld {
		t.Fatalf("handed over %+v", got)
	}
	if len(a.io.vips) == 0 {
		t.Fatal("detach removed the VIPs")
	}
	a.down = true // the old process is gone for the segment

	// The successor: the same node, a new instance, the interface as the
	// old process left it.
	a2 := s.add("a2", "192.0.2.1", 150, nil)
	a2.io.vips = a.io.vips
	a2.io.vipSince = vipSince
	a2.in.adopt(got)
	s.pump()
	s.advance(10 * time.Second)

	if st := a2.in.state; st != StateMaster {
		t.Fatalf("the successor is %s", st)
	}
	if b.in.state != StateBackup || b.in.ctr.transitions != bTransitions {
		t.Fatalf("the backup moved: %s, %d transitions (was %d)", b.in.state, b.in.ctr.transitions, bTransitions)
	}
	adverts := append(append([]sentAdvert(nil), a.io.sent...), a2.io.sent...)
	for i := 1; i < len(adverts); i++ {
		if gap := adverts[i].at.Sub(adverts[i-1].at); gap > time.Second {
			t.Fatalf("a gap of %v between adverts %d and %d (at %v)", gap, i-1, i, adverts[i].at.Sub(s.start))
		}
	}
	if !a2.io.vipGone.IsZero() || a2.io.garps != 0 || len(a2.io.vips) == 0 {
		t.Fatalf("the successor touched the VIPs: removed at %v, %d GARPs, %d VIPs", a2.io.vipGone, a2.io.garps, len(a2.io.vips))
	}
	if len(a2.notifies) != 0 {
		t.Fatalf("the successor ran notify scripts: %v", a2.notifies)
	}
}

// TestHandoffBackupResumes: a backup handed over keeps waiting for the
// master it knew, and takes over in the usual time if that master dies.
func TestHandoffBackupResumes(t *testing.T) {
	s := newSim(t)
	a, b := s.pair()
	s.advance(3 * time.Second)
	h := b.in.detach()
	b.down = true
	b2 := s.add("b2", "192.0.2.2", 100, nil)
	b2.in.adopt(h)
	s.pump()
	s.advance(5 * time.Second)
	if b2.in.state != StateBackup || b2.in.master != a.addr {
		t.Fatalf("the successor is %s with master %v", b2.in.state, b2.in.master)
	}
	a.down = true
	s.advance(4 * time.Second) // 3 x 1s + skew
	if b2.in.state != StateMaster {
		t.Fatalf("the successor did not take over from a dead master: %s", b2.in.state)
	}
}
