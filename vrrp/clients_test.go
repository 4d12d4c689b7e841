package vrrp

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"lbd/clock"
)

// Tests of "clients always follow the master": where a leaving master
// points its clients, a split brain healed, and a master that drops its
// VIPs at once preempted without a gap.

// fakeKeepalived is a scripted peer that behaves as keepalived does where
// lbd differs: as master it advertises and holds the VIPs; on a
// higher-priority advert it drops them at once, telling nobody; as backup,
// on priority 0 it becomes master after Skew_Time and announces the VIPs
// at once.
type fakeKeepalived struct {
	n      *node
	prio   int
	master bool
	timer  clock.Timer
}

// addKeepalived adds a scripted keepalived master.
func (s *sim) addKeepalived(name, addr string, prio int) *fakeKeepalived {
	n := &node{sim: s, name: name, addr: netip.MustParseAddr(addr)}
	a16 := n.addr.As16()
	n.mac = net.HardwareAddr{0x02, 0, a16[12], a16[13], a16[14], a16[15]}
	n.io = &fakeIO{n: n, vips: map[netip.Prefix]bool{}}
	k := &fakeKeepalived{n: n, prio: prio}
	n.peer = k
	s.nodes = append(s.nodes, n)
	return k
}

func (k *fakeKeepalived) becomeMaster() {
	k.master = true
	vips := []netip.Prefix{netip.MustParsePrefix(vip)}
	_ = k.n.io.addVIPs(vips)
	k.advertise()
	_ = k.n.io.announce(vips)
}

func (k *fakeKeepalived) advertise() {
	if !k.master {
		return
	}
	a := Advert{Version: 2, VRID: 51, Priority: uint8(k.prio), AdvertInt: 1, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	b, err := a.Marshal(Pseudo{Src: k.n.addr, Dst: MulticastGroup})
	if err != nil {
		panic(err)
	}
	_ = k.n.io.sendAdvert(k.n.addr, MulticastGroup, b)
	k.timer = k.n.sim.clk.AfterFunc(time.Second, k.advertise)
}

func (k *fakeKeepalived) onPacket(pkt rxPacket) {
	a, err := ParseAdvert(pkt.Payload, Pseudo{Src: pkt.Src, Dst: pkt.Dst})
	if err != nil {
		return
	}
	if !k.master && a.Priority == PriorityStop {
		k.n.sim.clk.AfterFunc(time.Duration(256-k.prio)*time.Second/256, k.becomeMaster)
		return
	}
	if !k.master || int(a.Priority) <= k.prio {
		return
	}
	k.master = false
	k.timer.Stop()
	_ = k.n.io.delVIPs([]netip.Prefix{netip.MustParsePrefix(vip)})
}

// TestHandoverPointsAtAdvertMAC: a leaving master points its clients at
// the MAC its successor's adverts come from (FRR's and keepalived's
// virtual MAC), not at the one the neighbour table has for its address.
func TestHandoverPointsAtAdvertMAC(t *testing.T) {
	s, a, b := handoverPair(t, nil)
	b.advMAC = net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, 51}
	s.advance(2 * time.Second)
	h := takeover(t, s, a, b)
	s.advance(time.Second)
	<-h.done
	if len(a.io.garpsAs) == 0 {
		t.Fatal("a did not point the clients at b")
	}
	for _, g := range a.io.garpsAs {
		if g.mac != b.advMAC.String() {
			t.Errorf("a pointed the clients at %s, want the source of b's adverts %s", g.mac, b.advMAC)
		}
	}
}

// TestSplitBrainHealed: VRRP is cut between a (150) and b (100): both
// become master and announce the VIP. a sees b's announcements and, once
// the adverts pass again and b lets go (here as keepalived does, silently),
// announces the VIP again within contestProbeEvery.
func TestSplitBrainHealed(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, nil)
	a.start()
	s.advance(10 * time.Second)
	k := s.addKeepalived("k", "192.0.2.2", 100)
	k.n.cutOff, s.cut = true, true
	k.becomeMaster()
	s.advance(3 * time.Second)
	a.locked(func() {
		if _, ok := a.in.vips.(*vipsContested); !ok {
			t.Fatalf("a's VIPs are %s, want contested", a.in.vips)
		}
	})
	before := len(a.io.garpAt)
	s.advance(3 * time.Second)
	if n := len(a.io.garpAt) - before; n != 0 {
		t.Errorf("a announced %d times while b still held the VIP", n)
	}
	// Healed: b hears a and drops the VIP without a word.
	s.cut = false
	var dropped time.Time
	for i := 0; dropped.IsZero(); i++ {
		if i > 2000 {
			t.Fatal("b never let go")
		}
		s.advance(time.Millisecond)
		if !k.n.io.holds(vip) {
			dropped = s.clk.Now()
		}
	}
	s.advance(time.Second)
	if len(a.io.garpAt) == before {
		t.Fatal("a did not announce the VIP again after b let go")
	}
	if d := a.io.garpAt[before].Sub(dropped); d < 0 || d > contestProbeEvery {
		t.Errorf("a announced again %s after b let go, want within %s", d, contestProbeEvery)
	}
	a.locked(func() {
		if _, ok := a.in.vips.(*vipsAnnounced); !ok || a.in.state != StateMaster {
			t.Errorf("a is %s with VIPs %s", a.in.state, a.in.vips)
		}
	})
}

// TestSplitBrainLbdLoserPointsAtWinner: two lbd masters after a split
// brain; when the adverts pass again the loser moves its clients to the
// winner itself, at the winner's MAC.
func TestSplitBrainLbdLoserPointsAtWinner(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, nil)
	b := s.add("b", "192.0.2.2", 100, nil)
	a.start()
	b.start()
	s.advance(10 * time.Second)
	b.cutOff, s.cut = true, true
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a: StateMaster, b: StateMaster})
	s.cut = false
	s.advance(3 * time.Second)
	s.wantStates(map[*node]State{a: StateMaster, b: StateBackup})
	s.onlyHolder(vip, a)
	if len(b.io.garpsAs) == 0 || b.io.garpsAs[len(b.io.garpsAs)-1].mac != a.mac.String() {
		t.Errorf("b's announcements for a: %v", b.io.garpsAs)
	}
}

// keepalivedPair is lbd (a, 150) that preempted a keepalived-like master
// k (100) once, then was released: k is master again, a backup, having
// learnt on the way that k drops its VIPs at once.
func keepalivedPair(t *testing.T) (*sim, *node, *fakeKeepalived) {
	t.Helper()
	s := newSim(t)
	k := s.addKeepalived("k", "192.0.2.2", 100)
	k.becomeMaster()
	s.advance(2 * time.Second)
	a := s.add("a", "192.0.2.1", 150, nil)
	a.start()
	for i := 0; a.state() != StateMaster; i++ {
		if i > 10000 {
			t.Fatal("a never preempted k")
		}
		s.advance(time.Millisecond)
	}
	s.advance(time.Second)
	gap := a.io.garpAt[0].Sub(k.n.io.vipGone)
	t.Logf("first preemption: k let go, a announced %s later", gap)
	if gap < 0 || gap > 2*firstProbesEvery {
		t.Errorf("a announced %s after k let go, want within two probe rounds", gap)
	}
	if !a.in.dropsAtOnce[k.n.addr] {
		t.Fatalf("a did not learn that k drops its VIPs at once: %v", a.in.dropsAtOnce)
	}
	// a is released: k takes over and announces the VIP at once.
	h, err := a.in.release()
	if err != nil || h == nil {
		t.Fatal(h, err)
	}
	if err := s.finish(h, 2*time.Second, "the release never ended"); err != nil {
		t.Fatal(err)
	}
	if !k.master || a.state() != StateBackup {
		t.Fatalf("after the release k is master %v, a %s", k.master, a.state())
	}
	return s, a, k
}

// TestPreemptingKeepalived: lbd (a) preempts a keepalived-like master k
// that drops the VIP at once on a's first advert. The first time, a
// notices within a millisecond or two and learns k's kind; the next time
// it points the clients at itself first, passes their frames on to k
// while anything is in flight, and only then takes the VIP and
// advertises: there is no moment where nobody answers, and k drops the
// VIP with nothing in flight. Without a way to pass frames on, a announces
// the VIP first and advertises dropperGrace later.
func TestPreemptingKeepalived(t *testing.T) {
	for _, tc := range []struct {
		name    string
		busy    time.Duration // connections in flight through the pull
		pullErr error
		advert  time.Duration // a's first advert, after its takeover
	}{
		{name: "nothing in flight", advert: pullEvery},
		{name: "a connection in flight for 30ms", busy: 30 * time.Millisecond, advert: 30 * time.Millisecond},
		{name: "busy past the bound", busy: time.Second, advert: switchBound},
		{name: "no pull: announced first", pullErr: errors.New("forwarding"), advert: dropperGrace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, a, k := keepalivedPair(t)
			a.io.pullErr = tc.pullErr
			a.io.busyUntil = s.clk.Now().Add(time.Hour) // set at the takeover
			if err := a.in.reclaim(); err != nil {
				t.Fatal(err)
			}
			garps, sent := len(a.io.garpAt), len(a.io.sent)
			for i := 0; len(a.io.garpAt) == garps; i++ {
				if i > 10000 {
					t.Fatal("a never preempted k again")
				}
				a.io.busyUntil = s.clk.Now().Add(tc.busy)
				s.advance(time.Millisecond)
			}
			took := a.io.garpAt[garps] // the preemption began with announcing the VIP
			a.io.busyUntil = took.Add(tc.busy)
			if tc.pullErr == nil && !a.io.pullStart.Equal(took) {
				t.Errorf("the pull began at %s, the announcements at %s", a.io.pullStart, took)
			}
			if st := a.state(); (tc.pullErr == nil) != (st == StateBackup) {
				t.Errorf("while pulling a is %s (BACKUP until the VIP is its)", st)
			}
			if len(a.io.sent) != sent {
				t.Errorf("a advertised before announcing")
			}
			if tc.pullErr == nil && (a.io.pulledTo != k.n.mac.String() || a.io.holds(vip)) {
				t.Errorf("a pulls towards %q, holds the VIP %v: want towards k, not yet", a.io.pulledTo, a.io.holds(vip))
			}
			s.advance(tc.advert - time.Millisecond)
			if len(a.io.sent) != sent || !k.n.io.holds(vip) {
				t.Fatalf("a advertised, or k let go, before %s", tc.advert)
			}
			s.advance(time.Millisecond)
			if len(a.io.sent) == sent || !a.io.sent[sent].at.Equal(took.Add(tc.advert)) {
				t.Errorf("a's first advert: %v, want at %s", a.io.sent[sent:], took.Add(tc.advert))
			}
			if tc.pullErr == nil && !a.io.pullEnd.Equal(took.Add(tc.advert)) {
				t.Errorf("the pull ended at %s, want with the first advert", a.io.pullEnd.Sub(took))
			}
			if k.n.io.holds(vip) || !a.io.holds(vip) || a.state() != StateMaster {
				t.Errorf("the VIP did not move to a with its advert (a is %s)", a.state())
			}
			s.advance(time.Second)
			s.onlyHolder(vip, a)
		})
	}
}

// TestPreemptingLbdLearnsSwitcher: preempting an lbd master, a sees it
// keep the VIP past switchSettle (it moves its clients itself) and keeps
// claiming rather than announcing first.
func TestPreemptingLbdLearnsSwitcher(t *testing.T) {
	s := newSim(t)
	b := s.add("b", "192.0.2.2", 100, nil)
	b.in.quiet = newFakeQuiet() // never quiet: b switches at switchBound
	b.start()
	s.advance(10 * time.Second)
	a := s.add("a", "192.0.2.1", 150, nil)
	a.start()
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a: StateMaster, b: StateBackup})
	if drops, known := a.in.dropsAtOnce[b.addr]; !known || drops {
		t.Errorf("a's view of b: known %v, drops at once %v", known, drops)
	}
	checkHeldGARPs(t, a, b)
}
