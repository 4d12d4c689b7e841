//go:build linux

package vrrp

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"lbd/test/keepalived"
)

// These tests pair lbd with Debian's keepalived (2.2) on one VRID, in both
// roles, and check that keepalived has nothing to complain about.

func requireKeepalived(t *testing.T) string {
	t.Helper()
	requireRoot(t)
	return keepalived.Require(t)
}

// keepalived is keepalived on n, in VI_1 with the lab speakers' VRID,
// password and VIP; Start runs it.
func (n *labNode) keepalived(bin string, prio int) *keepalived.Peer {
	return n.keepalivedWith(bin, keepalived.Instance{Interface: "eth0", VRID: 51, Priority: prio, AdvertInt: time.Second,
		AuthPass: "s3cret", VIPs: []string{labVIP.String() + "/24"}})
}

// keepalivedWith is keepalived on n with the given instances.
func (n *labNode) keepalivedWith(bin string, in ...keepalived.Instance) *keepalived.Peer {
	return keepalived.New(n.lab.t, keepalived.Options{Bin: bin, Netns: n.ns, Name: n.name, Dir: n.lab.t.TempDir(),
		Config: keepalived.Config{RouterID: n.ns, Instances: in}})
}

func noInvalid(t *testing.T, s *Speaker) {
	t.Helper()
	for _, st := range s.Status() {
		for r, n := range st.Counters.Invalid {
			if n != 0 {
				t.Errorf("lbd dropped %d packets from keepalived as invalid (%s)", n, r)
			}
		}
		if st.Counters.AdvertsReceived == 0 {
			t.Error("lbd received no adverts from keepalived")
		}
	}
}

// TestKeepalivedBackupOfLbd: lbd (priority 150) is master, keepalived
// (100) the backup. lbd preempts a keepalived master, hands over to it on
// shutdown and release, and keepalived takes over when lbd crashes.
func TestKeepalivedBackupOfLbd(t *testing.T) {
	bin := requireKeepalived(t)
	l := newLab(t)
	na, nb := l.node("a", 1), l.node("b", 2)
	k := nb.keepalived(bin, 100)
	k.Start()
	k.WaitLog("(VI_1) Entering MASTER STATE", 1, 10*time.Second)

	// lbd with the higher priority preempts keepalived.
	sa := na.speaker(nil)
	if err := sa.Apply(labConfig(150, nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "lbd MASTER", func() bool { return stateOf(sa, "VI_1") == "MASTER" && na.hasAddr(labVIP) })
	k.WaitLog("(VI_1) Entering BACKUP STATE", 1, 5*time.Second)
	waitFor(t, 5*time.Second, "keepalived without the VIP", func() bool { return !nb.hasAddr(labVIP) })
	time.Sleep(3 * time.Second) // some adverts each way

	// Release: keepalived takes over, lbd keeps the VIP until then.
	t0, added, removed := watchHandover(t, na, nb, func() error { return sa.Release("VI_1") })
	t.Logf("FIGURE release lbd->keepalived: keepalived has the VIP after %s, lbd removed it %s later",
		added.Sub(t0).Round(time.Millisecond), removed.Sub(added).Round(time.Millisecond))
	if added.IsZero() || removed.Before(added) {
		t.Errorf("release left a gap: keepalived added at %v, lbd removed at %v", added, removed)
	}
	k.WaitLog("Backup received priority 0 advertisement", 1, time.Second)
	time.Sleep(3 * time.Second)
	if stateOf(sa, "VI_1") != "BACKUP" {
		t.Fatalf("released lbd is %s", stateOf(sa, "VI_1"))
	}
	if err := sa.Reclaim("VI_1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "lbd MASTER after reclaim", func() bool { return stateOf(sa, "VI_1") == "MASTER" })
	k.WaitLog("Entering BACKUP STATE", 2, 5*time.Second)

	// Graceful stop of lbd: no gap.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t0, added, removed = watchHandover(t, na, nb, func() error { return sa.Shutdown(ctx) })
	t.Logf("FIGURE graceful handover lbd->keepalived: keepalived has the VIP after %s, lbd removed it %s later (no gap)",
		added.Sub(t0).Round(time.Millisecond), removed.Sub(added).Round(time.Millisecond))
	if added.IsZero() || removed.Before(added) {
		t.Errorf("shutdown left a gap: keepalived added at %v, lbd removed at %v", added, removed)
	}
	noInvalid(t, sa)

	// A new lbd preempts again; then it crashes.
	sa2 := na.speaker(nil)
	if err := sa2.Apply(labConfig(150, nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "new lbd MASTER", func() bool { return stateOf(sa2, "VI_1") == "MASTER" && !nb.hasAddr(labVIP) })
	time.Sleep(1500 * time.Millisecond)
	wb := nb.watchAddr(labVIP)
	t0 = time.Now()
	crash(sa2)
	waitFor(t, 10*time.Second, "keepalived MASTER after lbd crashed", func() bool { return nb.hasAddr(labVIP) })
	added, _ = wb.first(true, t0)
	t.Logf("FIGURE crash failover lbd->keepalived: keepalived has the VIP %s after lbd died (bound %s)", added.Sub(t0).Round(time.Millisecond), mdi(100))
	if d := added.Sub(t0); d > mdi(100)+time.Second {
		t.Errorf("keepalived took %s", d)
	}
	k.CheckNoComplaints()
}

// TestKeepalivedMasterOfLbd: keepalived (priority 150) is master, lbd
// (100) the backup; lbd takes over on keepalived's stop and crash, and
// steps back when keepalived returns.
func TestKeepalivedMasterOfLbd(t *testing.T) {
	bin := requireKeepalived(t)
	l := newLab(t)
	na, nb := l.node("a", 1), l.node("b", 2)
	k := na.keepalived(bin, 150)
	sb := nb.speaker(nil)
	if err := sb.Apply(labConfig(100, nil)); err != nil {
		t.Fatal(err)
	}
	k.Start()
	waitFor(t, 10*time.Second, "keepalived MASTER, lbd BACKUP", func() bool {
		return na.hasAddr(labVIP) && stateOf(sb, "VI_1") == "BACKUP" && sb.Status()[0].Master == "192.0.2.1"
	})
	time.Sleep(3 * time.Second)
	if nb.hasAddr(labVIP) {
		t.Fatal("lbd backup holds the VIP")
	}

	// keepalived stops gracefully: lbd takes over after Skew_Time.
	wa, wb := na.watchAddr(labVIP), nb.watchAddr(labVIP)
	t0 := time.Now()
	k.Stop()
	waitFor(t, 5*time.Second, "lbd MASTER after keepalived stopped", func() bool { return stateOf(sb, "VI_1") == "MASTER" && nb.hasAddr(labVIP) })
	added, _ := wb.first(true, t0)
	removed, _ := wa.first(false, t0)
	t.Logf("FIGURE graceful stop keepalived->lbd: keepalived removed the VIP %s after SIGTERM, lbd added it %s later (keepalived's gap)",
		removed.Sub(t0).Round(time.Millisecond), added.Sub(removed).Round(time.Millisecond))

	// keepalived returns with the higher priority and preempts lbd.
	k.Start()
	waitFor(t, 10*time.Second, "keepalived MASTER again", func() bool {
		return stateOf(sb, "VI_1") == "BACKUP" && na.hasAddr(labVIP) && !nb.hasAddr(labVIP)
	})
	k.WaitLog("Entering MASTER STATE", 1, time.Second)
	time.Sleep(2 * time.Second)

	// keepalived crashes: lbd takes over within Master_Down_Interval.
	wb = nb.watchAddr(labVIP)
	t0 = time.Now()
	k.Kill()
	waitFor(t, 10*time.Second, "lbd MASTER after keepalived crashed", func() bool { return stateOf(sb, "VI_1") == "MASTER" })
	added, _ = wb.first(true, t0)
	t.Logf("FIGURE crash failover keepalived->lbd: lbd has the VIP %s after keepalived died (bound %s)", added.Sub(t0).Round(time.Millisecond), mdi(100))
	if d := added.Sub(t0); d > mdi(100)+time.Second {
		t.Errorf("lbd took %s", d)
	}
	noInvalid(t, sb)
	k.CheckNoComplaints()
}

// keepalivedV3 is keepalived's VRRPv3 instance matching v3(ipv6): VRID
// 51, advert_int 0.1, the lab VIP of the family.
func keepalivedV3(ipv6 bool, prio int) keepalived.Instance {
	vip := labVIP.String() + "/24"
	if ipv6 {
		vip = labPrefix6.String()
	}
	return keepalived.Instance{Interface: "eth0", VRID: 51, Priority: prio, Version: 3, AdvertInt: 100 * time.Millisecond, VIPs: []string{vip}}
}

// TestKeepalivedV3 pairs lbd with keepalived 2.2 speaking VRRPv3 with
// 100ms adverts (vrrp_version 3, advert_int 0.1), over IPv4 and IPv6, in
// both roles: each takes over from the other on a stop and a crash, and
// neither has anything to complain about.
func TestKeepalivedV3(t *testing.T) {
	bin := requireKeepalived(t)
	families(t, func(t *testing.T, ipv6 bool, vip netip.Addr) {
		bound := mdi3(100*time.Millisecond, 100) + 500*time.Millisecond
		t.Run("lbd master", func(t *testing.T) {
			l := newLab(t)
			na, nb := l.node("a", 1), l.node("b", 2)
			k := nb.keepalivedWith(bin, keepalivedV3(ipv6, 100))
			k.Start()
			k.WaitLog("(VI_1) Entering MASTER STATE", 1, 10*time.Second)
			sa := na.speaker(nil)
			if err := sa.Apply(labConfig(150, v3(ipv6))); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "lbd MASTER, keepalived without the VIP", func() bool {
				return stateOf(sa, "VI_1") == "MASTER" && na.hasAddr(vip) && !nb.hasAddr(vip)
			})
			k.WaitLog("(VI_1) Entering BACKUP STATE", 2, 5*time.Second) // init, then preempted
			time.Sleep(time.Second)
			noInvalid(t, sa)

			wb := nb.watchAddr(vip)
			t0 := time.Now()
			crash(sa)
			k.WaitLog("(VI_1) Entering MASTER STATE", 2, 5*time.Second)
			added, _ := wb.first(true, t0)
			t.Logf("FIGURE VRRPv3 crash of lbd, keepalived takes the VIP after %s (bound %s)", added.Sub(t0).Round(time.Millisecond), bound)
			if d := added.Sub(t0); added.IsZero() || d > bound {
				t.Errorf("keepalived took the VIP %s after the crash", d)
			}
			k.CheckNoComplaints()
		})
		t.Run("keepalived master", func(t *testing.T) {
			l := newLab(t)
			na, nb := l.node("a", 1), l.node("b", 2)
			k := na.keepalivedWith(bin, keepalivedV3(ipv6, 150))
			sb := nb.speaker(nil)
			if err := sb.Apply(labConfig(100, v3(ipv6))); err != nil {
				t.Fatal(err)
			}
			k.Start()
			waitFor(t, 10*time.Second, "keepalived MASTER, lbd BACKUP", func() bool {
				st := sb.Status()[0]
				return na.hasAddr(vip) && !nb.hasAddr(vip) && st.State == "BACKUP" && st.MasterPriority == 150 && st.MasterAdvertInt == "100ms"
			})
			if m := netip.MustParseAddr(sb.Status()[0].Master); ipv6 != m.IsLinkLocalUnicast() {
				t.Errorf("lbd sees keepalived at %s", m)
			}
			time.Sleep(time.Second)

			// keepalived stops: lbd takes over after Skew_Time.
			wb := nb.watchAddr(vip)
			t0 := time.Now()
			k.Stop()
			waitFor(t, 5*time.Second, "lbd MASTER after keepalived stopped", func() bool { return stateOf(sb, "VI_1") == "MASTER" && nb.hasAddr(vip) })
			added, _ := wb.first(true, t0)
			t.Logf("FIGURE VRRPv3 keepalived stopped: lbd has the VIP %s after SIGTERM", added.Sub(t0).Round(time.Millisecond))

			// keepalived returns, preempts, and crashes.
			k.Start()
			waitFor(t, 10*time.Second, "keepalived MASTER again", func() bool {
				return stateOf(sb, "VI_1") == "BACKUP" && na.hasAddr(vip) && !nb.hasAddr(vip)
			})
			time.Sleep(time.Second)
			wb = nb.watchAddr(vip)
			t0 = time.Now()
			k.Kill()
			waitFor(t, 5*time.Second, "lbd MASTER after keepalived crashed", func() bool { return stateOf(sb, "VI_1") == "MASTER" })
			added, _ = wb.first(true, t0)
			t.Logf("FIGURE VRRPv3 crash of keepalived, lbd takes the VIP after %s (bound %s)", added.Sub(t0).Round(time.Millisecond), bound)
			if d := added.Sub(t0); added.IsZero() || d > bound {
				t.Errorf("lbd took the VIP %s after the crash", d)
			}
			noInvalid(t, sb)
			k.CheckNoComplaints()
		})
	})
}
