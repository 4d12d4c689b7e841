package vrrp

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"lbd/config"
)

const vip = "192.0.2.100/24"

// Master_Down_Interval for advert_int 1s: 3s + (256-prio)/256 s.
func mdi(prio int) time.Duration { return 3*time.Second + time.Duration(256-prio)*time.Second/256 }

func TestColdStartElection(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, nil)
	b := s.add("b", "192.0.2.2", 100, nil)
	a.start()
	b.start()
	s.wantStates(map[*node]State{a: StateBackup, b: StateBackup})

	// Nobody is master before the shorter Master_Down_Interval (a's).
	s.advance(mdi(150) - time.Millisecond)
	s.wantStates(map[*node]State{a: StateBackup, b: StateBackup})
	s.onlyHolder(vip, nil)

	s.advance(time.Millisecond)
	s.wantStates(map[*node]State{a: StateMaster, b: StateBackup})
	s.onlyHolder(vip, a)
	if a.io.garps != 5 {
		t.Errorf("a sent %d gratuitous ARPs on becoming master, want garp_master_repeat=5", a.io.garps)
	}

	// Steady state: a advertises every second, b stays backup.
	s.advance(30 * time.Second)
	s.wantStates(map[*node]State{a: StateMaster, b: StateBackup})
	s.onlyHolder(vip, a)
	if n := len(a.io.sent); n < 30 || n > 32 {
		t.Errorf("a sent %d adverts in ~30s at advert_int 1s", n)
	}
	if len(b.io.sent) != 0 {
		t.Errorf("backup b sent %d adverts", len(b.io.sent))
	}
	// The second GARP burst came garp_master_delay (5s) later.
	if a.io.garps != 10 {
		t.Errorf("a sent %d gratuitous ARPs after 30s, want 2 bursts of 5", a.io.garps)
	}
	st := b.in.status()
	if st.Master != "192.0.2.1" || st.MasterPriority != 150 {
		t.Errorf("b sees master %q priority %d", st.Master, st.MasterPriority)
	}
}

func TestMasterCrashBackupTakesOverAfterMasterDownInterval(t *testing.T) {
	s := newSim(t)
	a, b := s.pair()

	// a's last advert went out at some instant; b must take over exactly
	// Master_Down_Interval (with b's skew) after it.
	last := a.io.sent[len(a.io.sent)-1].at
	a.crash()
	s.advance(10 * time.Second)
	if b.state() != StateMaster {
		t.Fatalf("b is %s after the master crashed", b.state())
	}
	took := b.io.vipSince.Sub(last)
	if took != mdi(100) {
		t.Errorf("b took over %s after a's last advert, want Master_Down_Interval %s", took, mdi(100))
	}
	// A failure, not a handover: the gratuitous ARPs go out at once.
	if len(b.io.garpAt) == 0 || !b.io.garpAt[0].Equal(b.io.vipSince) {
		t.Errorf("b's first gratuitous ARPs at %v, want at once (%v)", b.io.garpAt, b.io.vipSince)
	}
	if !strings.Contains(b.in.reason, "no advert from master 192.0.2.1") {
		t.Errorf("b's transition reason is %q", b.in.reason)
	}
}

func TestShutdownHandsOverWithoutGap(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, nil)
	b := s.add("b", "192.0.2.2", 100, nil)
	a.start()
	b.start()
	s.advance(10 * time.Second)

	t0 := s.clk.Now()
	h := a.in.shutdown()
	s.pump()
	if h == nil {
		t.Fatal("a master's shutdown returned no handover")
	}
	if a.lastSent() != PriorityStop {
		t.Errorf("a's last advert has priority %d, want 0", a.lastSent())
	}
	// a keeps the VIP while b waits Skew_Time.
	if !a.io.holds(vip) {
		t.Error("a dropped the VIP before the peer took over")
	}
	herr := s.finish(h, 5*time.Second, "handover did not finish")
	if herr != nil {
		t.Errorf("handover error: %v", herr)
	}
	// RFC 3768 6.4.2: a backup hearing priority 0 waits Skew_Time only.
	if got, want := b.io.vipSince.Sub(t0), time.Duration(256-100)*time.Second/256; got != want {
		t.Errorf("b took over %s after the priority-0 advert, want Skew_Time %s", got, want)
	}
	// a removed its VIP only after b had it: no gap. Without a proxy to
	// ask, a moves the clients switchSettle after b's advert, pointing
	// them at b's MAC itself.
	if !a.io.vipGone.After(b.io.vipSince) {
		t.Errorf("a removed the VIP at %s, b added it at %s", a.io.vipGone.Sub(t0), b.io.vipSince.Sub(t0))
	}
	if a.io.vipGone.Sub(b.io.vipSince) != switchSettle {
		t.Errorf("overlap %s, want switchSettle %s", a.io.vipGone.Sub(b.io.vipSince), switchSettle)
	}
	if len(a.io.garpsAs) != 5 || a.io.garpsAs[0].mac != b.mac.String() || !a.io.garpsAs[0].at.Equal(a.io.vipGone) {
		t.Errorf("a's gratuitous ARPs for b: %v, want 5 for %s when a removed the VIP", a.io.garpsAs, b.mac)
	}
	checkHeldGARPs(t, b, a)
	s.onlyHolder(vip, b)
	if a.state() != StateInit || !a.in.stopped {
		t.Errorf("a is %s stopped=%v after shutdown", a.state(), a.in.stopped)
	}
}

func TestShutdownWithoutPeerIsBounded(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, nil)
	a.start()
	s.advance(10 * time.Second)
	t0 := s.clk.Now()
	h := a.in.shutdown()
	s.finish(h, 30*time.Second, "handover without a peer never ended")
	if got := a.io.vipGone.Sub(t0); got != mdi(150) {
		t.Errorf("VIP removed %s after shutdown, want Master_Down_Interval %s", got, mdi(150))
	}
	// priority 0 repeated every advert interval while waiting
	zeros := 0
	for _, ad := range a.io.sent {
		if ad.prio == 0 {
			zeros++
		}
	}
	if zeros != 4 {
		t.Errorf("sent %d priority-0 adverts while waiting %s, want 4", zeros, mdi(150))
	}
}

func TestPreemption(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mod       func(*config.VRRPInstance)
		wantA     State
		takeAfter time.Duration // since a's start; 0 when a must not take over
	}{
		{"preempt", nil, StateMaster, mdi(150)},
		{"nopreempt", func(c *config.VRRPInstance) { c.Preempt = false }, StateBackup, 0},
		{"preempt_delay", func(c *config.VRRPInstance) { c.PreemptDelay = 10 * time.Second }, StateMaster, 10*time.Second + mdi(150)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t)
			b := s.add("b", "192.0.2.2", 100, nil)
			b.start()
			s.advance(10 * time.Second)
			a := s.add("a", "192.0.2.1", 150, tc.mod)
			a.start()
			t0 := s.clk.Now()
			s.advance(30 * time.Second)
			if tc.takeAfter == 0 {
				s.wantStates(map[*node]State{a: StateBackup, b: StateMaster})
				s.onlyHolder(vip, b)
				return
			}
			s.wantStates(map[*node]State{a: StateMaster, b: StateBackup})
			s.onlyHolder(vip, a)
			// b kept the VIP a little after a's first advert as master,
			// then pointed the clients at a itself; a held its own
			// gratuitous ARPs until b had let go.
			if got := b.io.vipGone.Sub(a.io.vipSince); got != switchSettle {
				t.Errorf("b removed the VIP %s after a added it, want switchSettle %s", got, switchSettle)
			}
			if len(b.io.garpsAs) == 0 || b.io.garpsAs[0].mac != a.mac.String() {
				t.Errorf("b's gratuitous ARPs for a: %v", b.io.garpsAs)
			}
			checkHeldGARPs(t, a, b)
			// Adverts are on whole seconds from b's start; a's down timer
			// counts from the last one it heard (or discarded, with delay).
			got := a.io.vipSince.Sub(t0)
			if got < tc.takeAfter-time.Second || got > tc.takeAfter+time.Second {
				t.Errorf("a preempted %s after start, want about %s", got, tc.takeAfter)
			}
		})
	}
}

// TestReloadShortensPreemptDelay: a reload that shortens preempt_delay
// while the delay runs applies to it: the count is from the first sighting
// of the lower-priority master, not a deadline fixed with the old value.
func TestReloadShortensPreemptDelay(t *testing.T) {
	s := newSim(t)
	b := s.add("b", "192.0.2.2", 100, nil)
	b.start()
	s.advance(10 * time.Second)
	a := s.add("a", "192.0.2.1", 150, func(c *config.VRRPInstance) { c.PreemptDelay = 300 * time.Second })
	a.start()
	s.advance(20 * time.Second)
	s.wantStates(map[*node]State{a: StateBackup, b: StateMaster})
	a.in.reconfigure(modified(150, func(c *config.VRRPInstance) { c.PreemptDelay = 5 * time.Second }), nil)
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a: StateMaster, b: StateBackup})
}

// TestReloadAdvertIntKeepsShortTakeover: a backup counting Skew_Time
// after the master's priority-0 advert keeps that moment when a reload
// changes advert_int, instead of waiting a whole new master down interval.
func TestReloadAdvertIntKeepsShortTakeover(t *testing.T) {
	s := newSim(t)
	a, b := s.pair()
	a.in.shutdown()
	s.pump()
	cfg := testInstanceConfig(100)
	cfg.AdvertInt = 2 * time.Second
	b.in.reconfigure(cfg, nil)
	s.advance(time.Second) // Skew_Time of priority 100: 0.61s
	if b.state() != StateMaster {
		t.Fatalf("b is %s 1s after the priority-0 advert and a reload, want MASTER", b.state())
	}
}

// TestReloadPriorityReskews: a reload that changes a backup's priority
// moves its running Master_Down_Timer by the change of Skew_Time, both
// the Skew_Time after a priority-0 advert and a whole master down
// interval after the master went silent, sooner and later.
func TestReloadPriorityReskews(t *testing.T) {
	for _, tc := range []struct {
		name     string
		crash    bool // the master goes silent instead of sending priority 0
		prio     int  // b's new priority
		at       time.Duration
		wantDone bool // b is master at `at` after the master left
	}{
		// Skew_Time: 100 -> 0.609s, 250 -> 0.023s, 10 -> 0.961s.
		{"priority 0, higher", false, 250, 100 * time.Millisecond, true},
		{"priority 0, old skew not yet", false, 250, 20 * time.Millisecond, false},
		{"priority 0, lower", false, 10, 800 * time.Millisecond, false},
		{"priority 0, lower, its own skew", false, 10, 1000 * time.Millisecond, true},
		// Master_Down_Interval: 100 -> 3.609s, 250 -> 3.023s.
		{"silence, higher", true, 250, 3100 * time.Millisecond, true},
		{"silence, unchanged", true, 100, 3100 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t)
			a, b := s.pair()
			// Right after an advert of a: b's timer is a whole interval.
			for n := len(a.io.sent); len(a.io.sent) == n; {
				s.advance(time.Millisecond)
			}
			t0 := s.clk.Now()
			if tc.crash {
				a.crash()
			} else {
				a.in.shutdown()
				s.pump()
			}
			b.in.reconfigure(testInstanceConfig(tc.prio), nil)
			s.advance(tc.at - s.clk.Now().Sub(t0))
			if got := b.state() == StateMaster; got != tc.wantDone {
				t.Errorf("b (priority %d) is %s %s after the master left", tc.prio, b.state(), tc.at)
			}
		})
	}
}

// TestReloadUnicastInPlace: new unicast peers or a new unicast_src are a
// change in place (the instance keeps its state and VIPs); only a new
// interface, VRID or a switch between multicast and unicast restarts it.
func TestReloadUnicastInPlace(t *testing.T) {
	base := testInstanceConfig(150)
	base.UnicastPeers = []netip.Addr{netip.MustParseAddr("192.0.2.2")}
	mod := func(f func(c *config.VRRPInstance)) *config.VRRPInstance {
		c := *base
		f(&c)
		return &c
	}
	for _, tc := range []struct {
		name    string
		cfg     *config.VRRPInstance
		inPlace bool
	}{
		{"new peers", mod(func(c *config.VRRPInstance) { c.UnicastPeers = []netip.Addr{netip.MustParseAddr("192.0.2.3")} }), true},
		{"new unicast_src", mod(func(c *config.VRRPInstance) { c.UnicastSrc = netip.MustParseAddr("192.0.2.1") }), true},
		{"to multicast", mod(func(c *config.VRRPInstance) { c.UnicastPeers = nil }), false},
		{"new VRID", mod(func(c *config.VRRPInstance) { c.VirtualRouterID = 52 }), false},
		{"new interface", mod(func(c *config.VRRPInstance) { c.Interface = "eth1" }), false},
	} {
		if got := sameIdentity(base, tc.cfg); got != tc.inPlace {
			t.Errorf("%s: in place %v, want %v", tc.name, got, tc.inPlace)
		}
	}

	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, func(c *config.VRRPInstance) { *c = *base })
	a.start()
	s.advance(10 * time.Second)
	transitions := a.in.ctr.transitions
	a.in.reconfigure(mod(func(c *config.VRRPInstance) { c.UnicastPeers = []netip.Addr{netip.MustParseAddr("192.0.2.3")} }), nil)
	s.advance(5 * time.Second)
	if got := a.io.dsts[len(a.io.dsts)-1]; got != netip.MustParseAddr("192.0.2.3") {
		t.Errorf("adverts go to %v after the reload", got)
	}
	if a.state() != StateMaster || a.in.ctr.transitions != transitions || !a.io.holds(vip) {
		t.Errorf("new peers changed the state: %s, %d transitions (was %d)", a.state(), a.in.ctr.transitions, transitions)
	}
}

func TestEqualPriorityHigherAddressWins(t *testing.T) {
	s := newSim(t)
	s.latency = time.Millisecond
	lo := s.add("lo", "192.0.2.1", 100, nil)
	hi := s.add("hi", "192.0.2.2", 100, nil)
	lo.start()
	hi.start()
	// Same skew: both timers fire together, both become master, both hear
	// the other; RFC 3768 6.4.3 keeps the higher primary address.
	s.advance(20 * time.Second)
	s.wantStates(map[*node]State{hi: StateMaster, lo: StateBackup})
	s.onlyHolder(vip, hi)
	if !strings.Contains(lo.in.reason, "higher address 192.0.2.2") {
		t.Errorf("lo's reason: %q", lo.in.reason)
	}
}

func TestMasterAnswersLowerPriorityAtOnce(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, nil)
	a.start()
	s.advance(10 * time.Second)
	sent, garps := len(a.io.sent), a.io.garps
	// A rogue lower-priority master appears (e.g. after a split brain).
	msg := (&Advert{Version: 2, VRID: 51, Priority: 90, AdvertInt: 1, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}})
	b, _ := msg.Marshal(ph4)
	a.in.onPacket(rxPacket{Src: netip.MustParseAddr("192.0.2.9"), Dst: MulticastGroup, TTL: 255, Payload: b})
	if len(a.io.sent) != sent+1 || a.lastSent() != 150 {
		t.Errorf("a did not answer the lower-priority master with an advert at once")
	}
	if a.io.garps != garps+5 {
		t.Errorf("a sent %d gratuitous ARPs in answer, want 5", a.io.garps-garps)
	}
	if a.state() != StateMaster {
		t.Errorf("a is %s", a.state())
	}
}

func TestMasterHearingPriorityZeroAnswers(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, nil)
	a.start()
	s.advance(10 * time.Second)
	sent := len(a.io.sent)
	msg, _ := (&Advert{Version: 2, VRID: 51, Priority: 0, AdvertInt: 1, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}).Marshal(ph4)
	a.in.onPacket(rxPacket{Src: netip.MustParseAddr("192.0.2.9"), Dst: MulticastGroup, TTL: 255, Payload: msg})
	if len(a.io.sent) != sent+1 {
		t.Error("a master hearing priority 0 did not send an advert at once (RFC 3768 6.4.3)")
	}
}

func TestOwnerBecomesMasterAtOnce(t *testing.T) {
	s := newSim(t)
	o := s.add("o", "192.0.2.1", 255, nil)
	o.start()
	s.wantStates(map[*node]State{o: StateMaster})
	s.onlyHolder(vip, o)
	// Weights do not apply to the owner, as keepalived.
	cfg := testInstanceConfig(255)
	cfg.TrackBackends = []*config.TrackBackend{{Backend: "web", MinUp: 1, Weight: -100}}
	o.in.reconfigure(cfg, nil)
	if o.prio() != 255 || o.state() != StateMaster {
		t.Errorf("owner with a failing weighted tracker: priority %d state %s", o.prio(), o.state())
	}
}

func TestScriptWeights(t *testing.T) {
	chk := &config.VRRPScript{Name: "chk", Weight: -60, Rise: 2, Fall: 2}
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, func(c *config.VRRPInstance) { c.TrackScripts = []string{"chk"} }, chk)
	b := s.add("b", "192.0.2.2", 100, nil)
	a.start()
	b.start()
	// a waits in INIT for its script's first result, as keepalived.
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a: StateInit, b: StateMaster})
	if !strings.Contains(a.in.reason, "waiting for the first result of script chk") {
		t.Errorf("a's reason: %q", a.in.reason)
	}
	a.setScript("chk", true)
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a: StateMaster, b: StateBackup})

	// Failing: 150-60 = 90 < 100, b preempts.
	a.setScript("chk", false)
	if a.prio() != 90 {
		t.Errorf("effective priority %d, want 90", a.prio())
	}
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a: StateBackup, b: StateMaster})
	s.onlyHolder(vip, b)
	st := a.in.status()
	if len(st.Trackers) != 2 || st.Trackers[1].Contribution != -60 || st.Trackers[1].Status != "KO" {
		t.Errorf("tracker status %+v", st.Trackers)
	}

	// Recovered: a preempts back.
	a.setScript("chk", true)
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a: StateMaster, b: StateBackup})
}

func TestPositiveWeightRaisesPriority(t *testing.T) {
	chk := &config.VRRPScript{Name: "chk", Weight: 60}
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 100, func(c *config.VRRPInstance) { c.TrackScripts = []string{"chk"} }, chk)
	b := s.add("b", "192.0.2.2", 150, nil)
	a.setScript("chk", true)
	a.start()
	b.start()
	s.advance(10 * time.Second)
	if a.prio() != 160 {
		t.Errorf("priority %d, want 100+60", a.prio())
	}
	s.wantStates(map[*node]State{a: StateMaster, b: StateBackup})
	a.setScript("chk", false)
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a: StateBackup, b: StateMaster})
}

func TestClampedPriority(t *testing.T) {
	for _, tc := range []struct {
		base, weight int
		ok           bool
		want         int
	}{
		{100, -200, false, 1},
		{200, 100, true, 254},
		{100, -20, true, 100},
		{100, 20, false, 100},
	} {
		ev := evaluate(tc.base, []*tracker{{kind: trackScript, name: "s", weight: tc.weight, known: true, ok: tc.ok}}, false)
		if ev.priority != tc.want || ev.fault != "" {
			t.Errorf("base %d weight %d ok %v: %+v, want priority %d", tc.base, tc.weight, tc.ok, ev, tc.want)
		}
	}
}

func TestWeightZeroFault(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mod   func(*config.VRRPInstance)
		fail  func(*node)
		heal  func(*node)
		scr   []*config.VRRPScript
		fault string
	}{
		{
			name:  "script",
			mod:   func(c *config.VRRPInstance) { c.TrackScripts = []string{"chk"} },
			scr:   []*config.VRRPScript{{Name: "chk", Weight: 0}},
			fail:  func(n *node) { n.setScript("chk", false) },
			heal:  func(n *node) { n.setScript("chk", true) },
			fault: "script chk",
		},
		{
			name:  "track_interface",
			mod:   func(c *config.VRRPInstance) { c.TrackInterfaces = []string{"eth1"} },
			fail:  func(n *node) { n.setLink("eth1", false) },
			heal:  func(n *node) { n.setLink("eth1", true) },
			fault: "interface eth1 down",
		},
		{
			name:  "own interface",
			fail:  func(n *node) { n.setLink("eth0", false) },
			heal:  func(n *node) { n.setLink("eth0", true) },
			fault: "interface eth0 down",
		},
		{
			name: "track_backend",
			mod: func(c *config.VRRPInstance) {
				c.TrackBackends = []*config.TrackBackend{{Backend: "web", MinUp: 2, Weight: 0}}
			},
			fail:  func(n *node) { n.setBackend("web", 1) },
			heal:  func(n *node) { n.setBackend("web", 2) },
			fault: "backend web 1 usable servers, min_up 2",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t)
			a := s.add("a", "192.0.2.1", 150, func(c *config.VRRPInstance) {
				c.Notify = "/bin/notify"
				if tc.mod != nil {
					tc.mod(c)
				}
			}, tc.scr...)
			b := s.add("b", "192.0.2.2", 100, nil)
			a.src.links["eth1"] = true
			a.src.backends["web"] = 2
			a.setScript("chk", true)
			a.start()
			b.start()
			s.advance(10 * time.Second)
			s.wantStates(map[*node]State{a: StateMaster, b: StateBackup})

			t0 := s.clk.Now()
			tc.fail(a)
			s.wantStates(map[*node]State{a: StateFault})
			if !strings.Contains(a.in.reason, tc.fault) {
				t.Errorf("fault reason %q, want it to mention %q", a.in.reason, tc.fault)
			}
			// A master entering FAULT sends priority 0: b takes over
			// after Skew_Time, not Master_Down_Interval.
			if a.lastSent() != 0 {
				t.Errorf("a's last advert priority %d, want 0", a.lastSent())
			}
			s.advance(5 * time.Second)
			s.wantStates(map[*node]State{a: StateFault, b: StateMaster})
			s.onlyHolder(vip, b)
			if got, want := b.io.vipSince.Sub(t0), time.Duration(156)*time.Second/256; got != want {
				t.Errorf("b took over after %s, want %s", got, want)
			}

			tc.heal(a)
			s.wantStates(map[*node]State{a: StateBackup})
			s.advance(10 * time.Second)
			s.wantStates(map[*node]State{a: StateMaster, b: StateBackup})
			if got := notifyStates(a); !slices.Equal(got, []string{"BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER"}) {
				t.Errorf("notify sequence %v", got)
			}
		})
	}
}

func notifyStates(n *node) []string {
	var out []string
	for _, args := range n.notifies {
		if len(args) >= 4 && args[len(args)-4] == "INSTANCE" {
			out = append(out, args[len(args)-2])
		}
	}
	return out
}

func TestBackendWeight(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, func(c *config.VRRPInstance) {
		c.TrackBackends = []*config.TrackBackend{{Backend: "web", MinUp: 1, Weight: -60}}
	})
	b := s.add("b", "192.0.2.2", 100, nil)
	a.src.backends["web"] = 2
	a.start()
	b.start()
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a: StateMaster, b: StateBackup})
	a.setBackend("web", 0)
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a: StateBackup, b: StateMaster})
	s.onlyHolder(vip, b)
}

func TestNotifyArguments(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, func(c *config.VRRPInstance) {
		c.NotifyMaster = "/usr/local/bin/up 'with space'"
		c.Notify = "/usr/local/bin/notify"
	})
	a.start()
	s.advance(10 * time.Second)
	want := [][]string{
		{"/usr/local/bin/notify", "INSTANCE", "VI_1", "BACKUP", "150"},
		{"/usr/local/bin/up", "with space"},
		{"/usr/local/bin/notify", "INSTANCE", "VI_1", "MASTER", "150"},
	}
	if !slices.EqualFunc(a.notifies, want, slices.Equal) {
		t.Errorf("notifies %q, want %q", a.notifies, want)
	}
	a.in.forceStop("test")
	if last := a.notifies[len(a.notifies)-1]; !slices.Equal(last, []string{"/usr/local/bin/notify", "INSTANCE", "VI_1", "STOP", "150"}) {
		t.Errorf("stop notify %q", last)
	}

	// One script as both notify and notify_master (keepalived allows it):
	// the state's own run gets no arguments, the generic one gets them.
	b := s.add("b", "192.0.2.3", 150, func(c *config.VRRPInstance) {
		c.NotifyMaster = "/usr/local/bin/notify"
		c.Notify = "/usr/local/bin/notify"
	})
	b.start()
	s.advance(10 * time.Second)
	want = [][]string{
		{"/usr/local/bin/notify", "INSTANCE", "VI_1", "BACKUP", "150"},
		{"/usr/local/bin/notify"},
		{"/usr/local/bin/notify", "INSTANCE", "VI_1", "MASTER", "150"},
	}
	if !slices.EqualFunc(b.notifies, want, slices.Equal) {
		t.Errorf("same script twice: notifies %q, want %q", b.notifies, want)
	}
}

func TestVIPDeletedByHandIsRestored(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, nil)
	a.start()
	s.advance(10 * time.Second)
	garps := a.io.garps
	p := netip.MustParsePrefix(vip)
	delete(a.io.vips, p)
	a.in.onAddrEvent(addrEvent{ifindex: 2, addr: p, added: false})
	if !a.io.holds(vip) {
		t.Error("VIP deleted by hand was not restored")
	}
	if a.io.garps <= garps {
		t.Error("no gratuitous ARP after restoring the VIP")
	}
	// Not restored when we are not master.
	b := s.add("b", "192.0.2.2", 200, nil)
	b.start()
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a: StateBackup, b: StateMaster})
	a.in.onAddrEvent(addrEvent{ifindex: 2, addr: p, added: false})
	if a.io.holds(vip) {
		t.Error("a backup restored a VIP")
	}
}

func TestVIPAddFailureIsRetried(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, nil)
	a.io.addErr = errAdd
	a.start()
	s.advance(5 * time.Second)
	if a.state() != StateMaster || a.io.holds(vip) {
		t.Fatalf("state %s, holds %v", a.state(), a.io.holds(vip))
	}
	a.io.addErr = nil
	s.advance(2 * time.Second)
	if !a.io.holds(vip) {
		t.Error("VIP add was not retried")
	}
}

func TestReleaseAndReclaim(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, nil)
	b := s.add("b", "192.0.2.2", 100, nil)
	a.start()
	b.start()
	s.advance(10 * time.Second)

	h, err := a.in.release()
	if err != nil || h == nil {
		t.Fatalf("release: %v, %v", h, err)
	}
	herr := s.finish(h, 2*time.Second, "release did not finish")
	if herr != nil {
		t.Fatalf("release: %v", herr)
	}
	s.wantStates(map[*node]State{a: StateBackup, b: StateMaster})
	s.onlyHolder(vip, b)
	if !a.io.vipGone.After(b.io.vipSince) {
		t.Error("released master dropped the VIP before the peer had it")
	}

	// Released: a does not preempt b although its priority is higher...
	s.advance(30 * time.Second)
	s.wantStates(map[*node]State{a: StateBackup, b: StateMaster})
	st := a.in.status()
	if !st.Released || !strings.HasPrefix(st.LastTransitionReason, "released: handed over to 192.0.2.2") {
		t.Errorf("status: released %v reason %q", st.Released, st.LastTransitionReason)
	}
	// ...nor take over when b dies.
	b.crash()
	s.advance(30 * time.Second)
	s.wantStates(map[*node]State{a: StateBackup})

	// Reclaim: a takes part again.
	b.down = false
	s.advance(0)
	if err := a.in.reclaim(); err != nil {
		t.Fatal(err)
	}
	s.advance(30 * time.Second)
	s.wantStates(map[*node]State{a: StateMaster, b: StateBackup})
}

func TestReleaseWithoutPeerKeepsMaster(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, nil)
	a.start()
	s.advance(10 * time.Second)
	h, _ := a.in.release()
	herr := s.finish(h, 10*time.Second, "release never ended")
	if herr == nil {
		t.Error("release with nobody to take over reported success")
	}
	s.wantStates(map[*node]State{a: StateMaster})
	s.onlyHolder(vip, a)
	if a.in.standing == released {
		t.Error("abandoned release left the instance released")
	}
	// Adverts resumed.
	n := len(a.io.sent)
	s.advance(5 * time.Second)
	if len(a.io.sent) < n+4 || a.lastSent() != 150 {
		t.Errorf("adverts did not resume after an abandoned release")
	}
}

func TestReleaseBackupStaysOut(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, nil)
	a.start()
	if h, err := a.in.release(); h != nil || err != nil {
		t.Fatalf("release of a backup: %v %v", h, err)
	}
	s.advance(30 * time.Second)
	s.wantStates(map[*node]State{a: StateBackup})
	_ = a.in.reclaim()
	s.advance(30 * time.Second)
	s.wantStates(map[*node]State{a: StateMaster})
}

func TestInvalidPacketsAreCountedAndIgnored(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 100, func(c *config.VRRPInstance) { c.AuthPass = "secret" })
	a.start()
	s.advance(10 * time.Second)
	if a.state() != StateMaster {
		t.Fatal("not master")
	}
	good := Advert{Version: 2, VRID: 51, Priority: 200, AdvertInt: 1, AuthType: AuthPass, AuthData: authData("secret"),
		Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	from := netip.MustParseAddr("192.0.2.9")
	send := func(a2 Advert, ttl int, dst netip.Addr) {
		b, _ := a2.Marshal(ph4)
		a.in.onPacket(rxPacket{Src: from, Dst: dst, TTL: ttl, Payload: b})
	}
	bad := good
	bad.AuthData = authData("wrong")
	send(bad, 255, MulticastGroup)
	bad = good
	bad.AdvertInt = 3
	send(bad, 255, MulticastGroup)
	bad = good
	bad.Addrs = []netip.Addr{netip.MustParseAddr("192.0.2.101")}
	send(bad, 255, MulticastGroup)
	send(good, 64, MulticastGroup)
	send(good, 255, netip.MustParseAddr("192.0.2.1"))
	bad = good
	bad.AuthType = AuthNone
	bad.AuthData = [8]byte{}
	send(bad, 255, MulticastGroup)
	send(bad, 255, MulticastGroup)

	if a.state() != StateMaster {
		t.Fatalf("invalid packets changed the state to %s", a.state())
	}
	want := map[Reason]uint64{ReasonAuthPass: 1, ReasonAdvertInt: 1, ReasonAddrList: 1, ReasonTTL: 1, ReasonDestination: 1, ReasonAuthType: 2}
	st := a.in.status()
	for r, n := range want {
		if st.Counters.Invalid[string(r)] != n {
			t.Errorf("invalid[%s] = %d, want %d", r, st.Counters.Invalid[string(r)], n)
		}
	}
	if st.Counters.AdvertsReceived != 0 {
		t.Errorf("adverts_received %d counts invalid packets", st.Counters.AdvertsReceived)
	}
	// The valid one makes a step down.
	send(good, 255, MulticastGroup)
	if a.state() != StateBackup {
		t.Errorf("valid higher-priority advert: state %s", a.state())
	}
}

func TestReloadInPlaceKeepsState(t *testing.T) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, nil)
	b := s.add("b", "192.0.2.2", 100, nil)
	a.start()
	b.start()
	s.advance(10 * time.Second)
	notifies := len(a.notifies)

	cfg := testInstanceConfig(140)
	cfg.VirtualIPAddresses = append(cfg.VirtualIPAddresses, netip.MustParsePrefix("192.0.2.101/24"))
	a.in.reconfigure(cfg, nil)
	cfgB := testInstanceConfig(100)
	cfgB.VirtualIPAddresses = cfg.VirtualIPAddresses
	b.in.reconfigure(cfgB, nil)
	s.pump()
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a: StateMaster, b: StateBackup})
	if !a.io.holds("192.0.2.101/24") || !a.io.holds(vip) {
		t.Errorf("VIPs after reload: %v", a.io.vips)
	}
	if len(a.notifies) != notifies || a.in.ctr.becameMaster != 1 {
		t.Errorf("reload caused a transition: notifies %d->%d, became_master %d", notifies, len(a.notifies), a.in.ctr.becameMaster)
	}
	if a.lastSent() != 140 {
		t.Errorf("adverts carry %d after reload, want 140", a.lastSent())
	}
	// Dropping a VIP removes it.
	a.in.reconfigure(testInstanceConfig(140), nil)
	if a.io.holds("192.0.2.101/24") {
		t.Error("VIP dropped from the config is still held")
	}
}

func TestScriptCounterRiseFall(t *testing.T) {
	type step struct {
		success     bool
		wantOK      bool
		wantChanged bool
	}
	for _, tc := range []struct {
		name       string
		rise, fall int
		steps      []step
	}{
		{"first success decides", 2, 2, []step{{true, true, true}, {true, true, false}}},
		{"first failure decides", 2, 2, []step{{false, false, true}, {false, false, false}}},
		{"fall 3 from OK", 2, 3, []step{{true, true, true}, {false, true, false}, {false, true, false}, {false, false, true}}},
		{"rise 3 from KO", 3, 2, []step{{false, false, true}, {true, false, false}, {true, false, false}, {true, true, true}}},
		{"failure resets rising", 3, 2, []step{{false, false, true}, {true, false, false}, {false, false, false}, {true, false, false}, {true, false, false}, {true, true, true}}},
		{"success resets falling", 2, 3, []step{{true, true, true}, {false, true, false}, {false, true, false}, {true, true, false}, {false, true, false}, {false, true, false}, {false, false, true}}},
		{"rise=fall=1", 1, 1, []step{{true, true, true}, {false, false, true}, {true, true, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newScriptCounter(tc.rise, tc.fall)
			for i, st := range tc.steps {
				ch := c.record(st.success)
				if c.ok != st.wantOK || ch != st.wantChanged {
					t.Fatalf("step %d (%v): ok=%v changed=%v, want ok=%v changed=%v", i, st.success, c.ok, ch, st.wantOK, st.wantChanged)
				}
			}
		})
	}
}

// checkHeldGARPs checks the new master's first gratuitous ARPs after a
// takeover from the live master old: held back while old answered for the
// VIP, sent in the first probe round after it let go (old's own ARPs moved
// the clients), within takeoverGARPDelay.
func checkHeldGARPs(t *testing.T, nw, old *node) {
	t.Helper()
	if len(nw.io.garpAt) == 0 {
		t.Fatalf("%s never sent gratuitous ARPs", nw.name)
	}
	first := nw.io.garpAt[0]
	if !first.After(old.io.vipGone) {
		t.Errorf("%s's first gratuitous ARPs at %s, before %s let go of the VIP (%s)", nw.name, first.Sub(nw.io.vipSince), old.name, old.io.vipGone.Sub(nw.io.vipSince))
	}
	if d := first.Sub(old.io.vipGone); d > 2*holderProbeEvery {
		t.Errorf("%s's first gratuitous ARPs came %s after %s let go, want within two probe rounds", nw.name, d, old.name)
	}
	if d := first.Sub(nw.io.vipSince); d > takeoverGARPDelay {
		t.Errorf("%s's first gratuitous ARPs %s after taking over, more than %s", nw.name, d, takeoverGARPDelay)
	}
	if nw.io.probes == 0 {
		t.Errorf("%s never probed who holds the VIP", nw.name)
	}
}

// handoverPair is a (150, with q) and b (100), a master, the network
// settled.
func handoverPair(t *testing.T, q Quiescer) (*sim, *node, *node) {
	s := newSim(t)
	a := s.add("a", "192.0.2.1", 150, nil)
	b := s.add("b", "192.0.2.2", 100, nil)
	a.in.quiet = q
	a.start()
	b.start()
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a: StateMaster, b: StateBackup})
	return s, a, b
}

// takeover releases a and advances until b is master.
func takeover(t *testing.T, s *sim, a, b *node) *handover {
	t.Helper()
	h, err := a.in.release()
	if err != nil || h == nil {
		t.Fatalf("release: %v %v", h, err)
	}
	s.pump()
	s.advance(time.Duration(256-100) * time.Second / 256)
	if b.state() != StateMaster {
		t.Fatalf("b is %s after Skew_Time", b.state())
	}
	return h
}

func TestHandoverSwitchesAtQuietMoment(t *testing.T) {
	q := newFakeQuiet()
	s, a, b := handoverPair(t, q)
	h := takeover(t, s, a, b)
	took := s.clk.Now()
	// b has the VIP and announced itself; a still serves and is asked for
	// a quiet moment once switchSettle has passed.
	if !b.io.vipSince.Equal(took) || b.io.sent[len(b.io.sent)-1].at.Before(b.io.vipSince) {
		t.Errorf("b added the VIP at %s and advertised at %s: the VIP must come first", b.io.vipSince, b.io.sent[len(b.io.sent)-1].at)
	}
	s.advance(switchSettle)
	waitFor(t, 5*time.Second, "a to ask for a quiet moment", func() bool { n, _ := q.waits(); return n == 1 })
	s.advance(switchBound - switchSettle - 20*time.Millisecond)
	a.locked(func() {
		if !a.io.holds(vip) || len(a.io.garpsAs) != 0 {
			t.Errorf("a let go before a quiet moment: holds %v, ARPs for b %v", a.io.holds(vip), a.io.garpsAs)
		}
	})
	if len(b.io.garpAt) != 0 {
		t.Errorf("b sent gratuitous ARPs at %v while a still held the VIP", b.io.garpAt)
	}
	if got := q.calls[0]; len(got) != 1 || got[0] != netip.MustParseAddr("192.0.2.100") {
		t.Errorf("WaitQuiet(%v), want the VIP", got)
	}
	// The quiet moment: a points the clients at b and lets go at once.
	q.quiet()
	waitFor(t, 5*time.Second, "a to let go of the VIP", func() bool {
		var gone bool
		a.locked(func() { gone = !a.io.holds(vip) })
		return gone
	})
	<-h.done
	if h.err != nil {
		t.Fatal(h.err)
	}
	var at time.Time
	a.locked(func() {
		if len(a.io.garpsAs) == 0 || a.io.garpsAs[0].mac != b.mac.String() {
			t.Fatalf("a's gratuitous ARPs for b: %v", a.io.garpsAs)
		}
		at = a.io.garpsAs[0].at
		if !a.io.vipGone.Equal(at) {
			t.Errorf("a removed the VIP at %s, pointed the clients at b at %s: want at once", a.io.vipGone, at)
		}
		if !strings.Contains(a.in.reason, "quiet moment") {
			t.Errorf("a's transition reason %q", a.in.reason)
		}
	})
	s.advance(time.Second)
	checkHeldGARPs(t, b, a)
	s.wantStates(map[*node]State{a: StateBackup, b: StateMaster})
	s.onlyHolder(vip, b)
}

func TestHandoverWithoutQuietMomentSwitchesAtBound(t *testing.T) {
	q := newFakeQuiet() // never quiet
	s, a, b := handoverPair(t, q)
	h := takeover(t, s, a, b)
	took := s.clk.Now()
	s.advance(switchSettle)
	waitFor(t, 5*time.Second, "a to ask for a quiet moment", func() bool { n, _ := q.waits(); return n == 1 })
	s.advance(switchBound - switchSettle - time.Millisecond)
	if !a.io.holds(vip) {
		t.Fatal("a let go before switchBound")
	}
	s.advance(time.Millisecond)
	<-h.done
	if got := a.io.vipGone.Sub(took); got != switchBound {
		t.Errorf("a let go %s after b's advert, want switchBound %s", got, switchBound)
	}
	if len(a.io.garpsAs) == 0 || a.io.garpsAs[0].mac != b.mac.String() || !a.io.garpsAs[0].at.Equal(a.io.vipGone) {
		t.Errorf("a's gratuitous ARPs for b: %v", a.io.garpsAs)
	}
	waitFor(t, 5*time.Second, "the quiet wait to be cancelled", func() bool { _, ab := q.waits(); return ab == 1 })
	s.advance(time.Second)
	checkHeldGARPs(t, b, a)
	s.onlyHolder(vip, b)
}

func TestHandoverWithUnknownMACWaitsForPeerARPs(t *testing.T) {
	s, a, b := handoverPair(t, nil)
	a.io.noMAC, b.noSrcMAC = true, true
	h := takeover(t, s, a, b)
	took := s.clk.Now()
	s.advance(time.Second)
	<-h.done
	if len(a.io.garpsAs) != 0 {
		t.Errorf("a sent gratuitous ARPs for an unknown MAC: %v", a.io.garpsAs)
	}
	// a kept answering, so b held its ARPs the whole takeoverGARPDelay;
	// a let go only once they were out.
	if len(b.io.garpAt) == 0 || b.io.garpAt[0].Sub(took) != takeoverGARPDelay {
		t.Errorf("b's first gratuitous ARPs at %v, want %s after taking over", b.io.garpAt, takeoverGARPDelay)
	}
	if got := a.io.vipGone.Sub(took); got != switchNoMACHold {
		t.Errorf("a let go %s after b's advert, want %s", got, switchNoMACHold)
	}
	s.onlyHolder(vip, b)
}

// TestTakeoverFromMasterThatDroppedItsVIPs: a master that leaves without
// keeping its VIPs (keepalived does; lbd entering FAULT) is answered by
// no probe: the new master's gratuitous ARPs go out after one round.
func TestTakeoverFromMasterThatDroppedItsVIPs(t *testing.T) {
	s, a, b := handoverPair(t, nil)
	a.setScript("chk", false) // no such tracker: use the link instead
	a.setLink("eth0", false)  // FAULT: priority 0, VIPs removed at once
	s.wantStates(map[*node]State{a: StateFault})
	s.advance(time.Second)
	if b.state() != StateMaster {
		t.Fatalf("b is %s", b.state())
	}
	if len(b.io.garpAt) == 0 || b.io.garpAt[0].Sub(b.io.vipSince) != firstProbesEvery {
		t.Errorf("b's first gratuitous ARPs %v, want one probe round (%s) after taking over at %v", b.io.garpAt, firstProbesEvery, b.io.vipSince)
	}
	if len(b.in.dropsAtOnce) != 0 {
		t.Errorf("a master leaving for a fault taken for one that drops its VIPs when preempted: %v", b.in.dropsAtOnce)
	}
}

func TestPreemptionSwitchesAtQuietMoment(t *testing.T) {
	s := newSim(t)
	b := s.add("b", "192.0.2.2", 100, nil)
	q := newFakeQuiet()
	b.in.quiet = q
	b.start()
	s.advance(10 * time.Second)
	a := s.add("a", "192.0.2.1", 150, nil)
	a.start()
	for i := 0; a.state() != StateMaster; i++ {
		if i > 10000 {
			t.Fatalf("a is %s", a.state())
		}
		s.advance(time.Millisecond)
	}
	took := a.io.vipSince
	s.advance(switchSettle)
	// b stepped down at a's advert but still serves the VIP, waiting for
	// a quiet moment; a holds its ARPs meanwhile.
	waitFor(t, 5*time.Second, "b to ask for a quiet moment", func() bool { n, _ := q.waits(); return n == 1 })
	b.locked(func() {
		if b.in.state != StateBackup || !b.io.holds(vip) {
			t.Errorf("b is %s, holds the VIP: %v", b.in.state, b.io.holds(vip))
		}
	})
	q.quiet()
	waitFor(t, 5*time.Second, "b to let go of the VIP", func() bool {
		var gone bool
		b.locked(func() { gone = !b.io.holds(vip) })
		return gone
	})
	s.advance(time.Second)
	if len(b.io.garpsAs) == 0 || b.io.garpsAs[0].mac != a.mac.String() {
		t.Errorf("b's gratuitous ARPs for a: %v", b.io.garpsAs)
	}
	if d := b.io.vipGone.Sub(took); d < switchSettle || d > switchBound {
		t.Errorf("b let go %s after a took over", d)
	}
	checkHeldGARPs(t, a, b)
	s.onlyHolder(vip, a)
}

// A reload that changes garp_master_refresh on a master takes effect at
// once: turned off, the refresh stops (it must not fire in a loop with a
// zero interval); turned on, it starts.
func TestReloadGARPRefresh(t *testing.T) {
	s := newSim(t)
	withRefresh := func(d time.Duration) *config.VRRPInstance {
		return modified(150, func(c *config.VRRPInstance) { c.GARPMasterRefresh = d })
	}
	a := s.add("a", "192.0.2.1", 150, func(c *config.VRRPInstance) { c.GARPMasterRefresh = 10 * time.Second })
	a.start()
	s.advance(30 * time.Second)
	s.wantStates(map[*node]State{a: StateMaster})
	garpsIn := func(d time.Duration) int {
		before := len(a.io.garpAt)
		s.advance(d)
		return len(a.io.garpAt) - before
	}
	if n := garpsIn(60 * time.Second); n != 6 {
		t.Fatalf("refresh every 10s: %d GARPs in 60s, want 6", n)
	}
	a.in.reconfigure(withRefresh(0), nil)
	if n := garpsIn(60 * time.Second); n != 0 {
		t.Fatalf("refresh turned off by reload: %d GARPs in 60s, want 0", n)
	}
	a.in.reconfigure(withRefresh(20*time.Second), nil)
	if n := garpsIn(60 * time.Second); n != 3 {
		t.Fatalf("refresh turned on (20s) by reload: %d GARPs in 60s, want 3", n)
	}
}
