package vrrp

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/config"
)

// second is the config of a host's second instance: VI_2, VRID 52, its
// own VIP.
func second(c *config.VRRPInstance) {
	c.Name = "VI_2"
	c.VirtualRouterID = 52
	c.VirtualIPAddresses = []netip.Prefix{netip.MustParsePrefix("192.0.2.101/24")}
}

// groupNotifies records what a sync group's notify scripts were run with.
type groupNotifies struct{ runs [][]string }

func (g *groupNotifies) lines() []string {
	var out []string
	for _, r := range g.runs {
		out = append(out, strings.Join(r, " "))
	}
	return out
}

// syncGroupOf puts the nodes' instances in one vrrp_sync_group G, with a
// notify_master and a generic notify.
func (s *sim) syncGroupOf(host string, members ...*node) *groupNotifies {
	rec := &groupNotifies{}
	cfg := &config.VRRPSyncGroup{Name: "G", NotifyMaster: "/bin/group-master", Notify: "/bin/group-notify"}
	for _, m := range members {
		cfg.Group = append(cfg.Group, m.in.cfg.Name)
	}
	log := zerolog.New(zerolog.NewTestWriter(s.t)).With().Str("node", host).Logger()
	g := newSyncGroup(cfg, log, func(args []string) { rec.runs = append(rec.runs, args) })
	for _, m := range members {
		g.join(m.in, StateInit)
	}
	return rec
}

// syncPair is two hosts, each with VI_1 and VI_2 in a sync group: a
// (priority 150) is MASTER of both, b (100) BACKUP of both.
func syncPair(t *testing.T, groupB bool) (s *sim, a1, a2, b1, b2 *node, ga, gb *groupNotifies) {
	s = newSim(t)
	s.demux = true
	a1 = s.add("a1", "192.0.2.1", 150, nil)
	a2 = s.add("a2", "192.0.2.1", 150, second)
	b1 = s.add("b1", "192.0.2.2", 100, nil)
	b2 = s.add("b2", "192.0.2.2", 100, second)
	ga = s.syncGroupOf("a", a1, a2)
	if groupB {
		gb = s.syncGroupOf("b", b1, b2)
	}
	for _, n := range []*node{a1, a2, b1, b2} {
		n.start()
	}
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a1: StateMaster, a2: StateMaster, b1: StateBackup, b2: StateBackup})
	return s, a1, a2, b1, b2, ga, gb
}

// A member's fault takes the group into FAULT (priority 0 on every
// member, the peer's group takes over); the group leaves it when the
// member's fault clears, and preempts back as one.
func TestSyncGroupFault(t *testing.T) {
	s, a1, a2, b1, b2, ga, gb := syncPair(t, true)
	if got, want := ga.lines(), []string{"/bin/group-notify GROUP G BACKUP 0", "/bin/group-master", "/bin/group-notify GROUP G MASTER 0"}; !slices.Equal(got, want) {
		t.Fatalf("a's group notifies at start = %q, want %q", got, want)
	}
	if got, want := gb.lines(), []string{"/bin/group-notify GROUP G BACKUP 0"}; !slices.Equal(got, want) {
		t.Fatalf("b's group notifies at start = %q, want %q", got, want)
	}
	ga.runs, gb.runs = nil, nil

	a2.setLink("eth0", false)
	s.wantStates(map[*node]State{a1: StateFault, a2: StateFault})
	if a1.lastSent() != PriorityStop {
		t.Errorf("a1 did not send priority 0 when its group entered FAULT (last %d)", a1.lastSent())
	}
	if !strings.Contains(a1.in.reason, "sync group G: VI_2 is in FAULT") {
		t.Errorf("a1's reason = %q, want the member in FAULT named", a1.in.reason)
	}
	s.advance(2 * time.Second)
	s.wantStates(map[*node]State{b1: StateMaster, b2: StateMaster})
	s.onlyHolder("192.0.2.100/24", b1)
	s.onlyHolder("192.0.2.101/24", b2)
	if got, want := ga.lines(), []string{"/bin/group-notify GROUP G FAULT 0"}; !slices.Equal(got, want) {
		t.Errorf("a's group notifies = %q, want %q", got, want)
	}
	if got, want := gb.lines(), []string{"/bin/group-master", "/bin/group-notify GROUP G MASTER 0"}; !slices.Equal(got, want) {
		t.Errorf("b's group notifies = %q, want %q", got, want)
	}

	// A fault of a1's own as well: clearing a2's leaves the group in
	// FAULT until a1's clears too.
	a1.setLink("eth0", false)
	a2.setLink("eth0", true)
	s.advance(5 * time.Second)
	s.wantStates(map[*node]State{a1: StateFault, a2: StateFault})
	a1.setLink("eth0", true)
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a1: StateMaster, a2: StateMaster, b1: StateBackup, b2: StateBackup})
	s.onlyHolder("192.0.2.100/24", a1)
	s.onlyHolder("192.0.2.101/24", a2)
}

// A member whose master went silent waits while another member still
// hears its master ("prefer backup state to avoid thrashing"); once all
// would, they become master together.
func TestSyncGroupWaitsForEveryMember(t *testing.T) {
	s, a1, a2, b1, b2, _, gb := syncPair(t, true)
	gb.runs = nil
	a1.crash()
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{b1: StateBackup, b2: StateBackup})
	if !slices.Equal(gb.lines(), nil) {
		t.Errorf("b's group notifies while waiting = %q, want none", gb.lines())
	}
	a2.crash()
	at := s.elapsed()
	s.advance(5 * time.Second)
	s.wantStates(map[*node]State{b1: StateMaster, b2: StateMaster})
	// b1 went with b2, at b2's master down interval.
	for _, n := range []*node{b1, b2} {
		since := n.in.since.Sub(s.start)
		if since < at || since > at+4*time.Second {
			t.Errorf("%s became master at %s, want within b2's master down interval after %s", n.name, since, at)
		}
	}
	if !strings.Contains(b1.in.reason, "sync group G: VI_2") {
		t.Errorf("b1's reason = %q, want its group's", b1.in.reason)
	}
	if got, want := gb.lines(), []string{"/bin/group-master", "/bin/group-notify GROUP G MASTER 0"}; !slices.Equal(got, want) {
		t.Errorf("b's group notifies = %q, want %q", got, want)
	}
}

// A member that steps down for a higher priority makes the other hand
// over (priority 0, VIPs moved to its successor), which then stays
// BACKUP: it does not preempt back while the first one hears its master.
func TestSyncGroupFollowsBackup(t *testing.T) {
	s, a1, a2, b1, b2, ga, _ := syncPair(t, false)
	ga.runs = nil
	c1 := s.add("c1", "192.0.2.3", 200, nil)
	c1.start()
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a1: StateBackup, a2: StateBackup, b1: StateBackup, b2: StateMaster, c1: StateMaster})
	if !slices.ContainsFunc(a2.io.sent, func(a sentAdvert) bool { return a.prio == PriorityStop }) {
		t.Error("a2 did not send priority 0 when its group left MASTER")
	}
	if !strings.Contains(a2.in.reason, "with its sync group") {
		t.Errorf("a2's reason = %q", a2.in.reason)
	}
	s.onlyHolder("192.0.2.100/24", c1)
	s.onlyHolder("192.0.2.101/24", b2)
	if got, want := ga.lines(), []string{"/bin/group-notify GROUP G BACKUP 0"}; !slices.Equal(got, want) {
		t.Errorf("a's group notifies = %q, want %q", got, want)
	}
	// a2 (150) would preempt b2 (100) alone; its group holds it back.
	s.advance(30 * time.Second)
	s.wantStates(map[*node]State{a2: StateBackup, b2: StateMaster})

	// c1 gone, a1 takes over again and a2 with it.
	c1.crash()
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a1: StateMaster, a2: StateMaster, b2: StateBackup})
	s.onlyHolder("192.0.2.101/24", a2)
}

// A member's tracking weight counts as weight 0 in a group (keepalived's
// rule): the backend a2 tracks with weight -60 failing is a FAULT of a's
// group, and b takes both VIPs. With sync_group_tracking_weight the weight
// applies: a2 runs at 90, b2 preempts it and a1 hands over with it.
func TestSyncGroupTrackingWeight(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(map[bool]string{false: "weights count as 0", true: "sync_group_tracking_weight"}[keep], func(t *testing.T) {
			s := newSim(t)
			s.demux = true
			a1 := s.add("a1", "192.0.2.1", 150, nil)
			a2 := s.add("a2", "192.0.2.1", 150, func(c *config.VRRPInstance) {
				second(c)
				c.TrackBackends = []*config.TrackBackend{{Backend: "web", MinUp: 1, Weight: -60}}
			})
			a2.src.backends["web"] = 2
			b1 := s.add("b1", "192.0.2.2", 100, nil)
			b2 := s.add("b2", "192.0.2.2", 100, second)
			g := newSyncGroup(&config.VRRPSyncGroup{Name: "G", Group: []string{"VI_1", "VI_2"}, TrackingWeight: keep},
				zerolog.New(zerolog.NewTestWriter(t)), func([]string) {})
			g.join(a1.in, StateInit)
			g.join(a2.in, StateInit)
			for _, n := range []*node{a1, a2, b1, b2} {
				n.start()
			}
			s.advance(10 * time.Second)
			s.wantStates(map[*node]State{a1: StateMaster, a2: StateMaster, b1: StateBackup, b2: StateBackup})
			a2.setBackend("web", 0)
			s.advance(5 * time.Second)
			if keep {
				if a2.prio() != 90 {
					t.Errorf("a2's effective priority = %d, want 90", a2.prio())
				}
				// b2 preempts a2, and a1 hands over with it.
				s.wantStates(map[*node]State{a1: StateBackup, a2: StateBackup, b1: StateMaster, b2: StateMaster})
				return
			}
			if a2.prio() != 150 {
				t.Errorf("a2's effective priority = %d, want 150 (the weight does not count)", a2.prio())
			}
			s.wantStates(map[*node]State{a1: StateFault, a2: StateFault, b1: StateMaster, b2: StateMaster})
			st := a2.in.status()
			for _, tr := range st.Trackers {
				if tr.Kind == "backend" && (tr.Weight != 0 || !tr.Fault) {
					t.Errorf("a2's backend tracker in the status: weight %d, fault %v; want 0, true", tr.Weight, tr.Fault)
				}
			}
			a2.setBackend("web", 2)
			s.advance(10 * time.Second)
			s.wantStates(map[*node]State{a1: StateMaster, a2: StateMaster, b1: StateBackup, b2: StateBackup})
		})
	}
}

// A group a reload creates over running masters takes their state at once
// (MASTER, its scripts run once), and a reload that keeps it runs nothing
// again.
func TestSyncGroupCreatedByReload(t *testing.T) {
	s := newSim(t)
	s.demux = true
	a1 := s.add("a1", "192.0.2.1", 150, nil)
	a2 := s.add("a2", "192.0.2.1", 150, second)
	for _, n := range []*node{a1, a2} {
		n.start()
	}
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a1: StateMaster, a2: StateMaster})
	rec := &groupNotifies{}
	cfg := &config.VRRPSyncGroup{Name: "G", Group: []string{"VI_1", "VI_2"}, NotifyMaster: "/bin/group-master", Notify: "/bin/group-notify"}
	mk := func(prev State) *syncGroup {
		g := newSyncGroup(cfg, zerolog.New(zerolog.NewTestWriter(t)), func(args []string) { rec.runs = append(rec.runs, args) })
		for _, n := range []*node{a1, a2} {
			n.in.leaveGroup()
			g.join(n.in, prev)
		}
		g.joined()
		return g
	}
	g := mk(StateInit)
	if g.groupState() != StateMaster {
		t.Errorf("the new group's state = %s, want MASTER", g.groupState())
	}
	if got, want := rec.lines(), []string{"/bin/group-master", "/bin/group-notify GROUP G MASTER 0"}; !slices.Equal(got, want) {
		t.Errorf("notifies = %q, want %q", got, want)
	}
	rec.runs = nil
	mk(g.groupState())
	s.advance(5 * time.Second)
	if len(rec.runs) != 0 {
		t.Errorf("a reload keeping the group ran %q", rec.lines())
	}
	s.wantStates(map[*node]State{a1: StateMaster, a2: StateMaster})
}
