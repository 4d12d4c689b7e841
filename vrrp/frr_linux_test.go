//go:build linux

package vrrp

import (
	"net/netip"
	"testing"
	"time"

	"lbd/test/frr"
)

// These tests pair lbd with FRR's vrrpd (Debian's frr 8.4), VRRPv3 with
// 100ms adverts, over IPv4 and IPv6, in both roles, and check that vrrpd
// has nothing to complain about.

func (n *labNode) frr(ipv6 bool, prio int) *frr.Peer {
	vip := netip.PrefixFrom(labVIP, 24)
	if ipv6 {
		vip = labPrefix6
	}
	return frr.New(n.lab.t, frr.Options{Netns: n.ns, Name: n.name, Config: frr.Config{
		Interface: "eth0", VRID: 51, Priority: prio, Version: 3, AdvertInt: 100 * time.Millisecond, VIPs: []netip.Prefix{vip}}})
}

func TestFRRV3(t *testing.T) {
	requireRoot(t)
	frr.Require(t)
	families(t, func(t *testing.T, ipv6 bool, vip netip.Addr) {
		bound := mdi3(100*time.Millisecond, 100) + 500*time.Millisecond
		t.Run("lbd master", func(t *testing.T) {
			l := newLab(t)
			na, nb := l.node("a", 1), l.node("b", 2)
			f := nb.frr(ipv6, 100)
			f.Start()
			f.WaitState("Master", 10*time.Second)
			sa := na.speaker(nil)
			if err := sa.Apply(labConfig(150, v3(ipv6))); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "lbd MASTER", func() bool { return stateOf(sa, "VI_1") == "MASTER" && na.hasAddr(vip) })
			f.WaitState("Backup", 5*time.Second)
			time.Sleep(time.Second)
			noInvalid(t, sa)
			if st, err := f.Status(); err != nil || st.MasterAdverInterval != 100 || st.Stats.AdverRx == 0 {
				t.Errorf("vrrpd's view of lbd: %+v %v", st, err)
			}

			t0 := time.Now()
			crash(sa)
			f.WaitState("Master", 5*time.Second)
			d := time.Since(t0)
			t.Logf("FIGURE VRRPv3 crash of lbd, FRR vrrpd is master after %s (bound %s)", d.Round(time.Millisecond), bound)
			if d > bound+100*time.Millisecond { // vtysh polling
				t.Errorf("vrrpd took over %s after the crash", d)
			}
			f.CheckNoComplaints()
		})
		t.Run("FRR master", func(t *testing.T) {
			l := newLab(t)
			na, nb := l.node("a", 1), l.node("b", 2)
			f := na.frr(ipv6, 150)
			sb := nb.speaker(nil)
			if err := sb.Apply(labConfig(100, v3(ipv6))); err != nil {
				t.Fatal(err)
			}
			f.Start()
			waitFor(t, 10*time.Second, "vrrpd MASTER, lbd BACKUP", func() bool {
				st := sb.Status()[0]
				return st.State == "BACKUP" && st.MasterPriority == 150 && st.MasterAdvertInt == "100ms" && !nb.hasAddr(vip)
			})
			f.WaitState("Master", time.Second)
			time.Sleep(time.Second)

			// vrrpd stops (priority 0): lbd takes over after Skew_Time.
			wb := nb.watchAddr(vip)
			t0 := time.Now()
			f.StopVRRP()
			waitFor(t, 5*time.Second, "lbd MASTER after vrrpd stopped", func() bool { return stateOf(sb, "VI_1") == "MASTER" && nb.hasAddr(vip) })
			added, _ := wb.first(true, t0)
			t.Logf("FIGURE VRRPv3 FRR vrrpd stopped: lbd has the VIP %s after SIGTERM", added.Sub(t0).Round(time.Millisecond))
			f.Kill()

			// vrrpd returns, preempts, and crashes.
			f.Start()
			f.WaitState("Master", 10*time.Second)
			waitFor(t, 5*time.Second, "lbd BACKUP again", func() bool { return stateOf(sb, "VI_1") == "BACKUP" && !nb.hasAddr(vip) })
			time.Sleep(time.Second)
			wb = nb.watchAddr(vip)
			t0 = time.Now()
			f.Kill()
			waitFor(t, 5*time.Second, "lbd MASTER after vrrpd crashed", func() bool { return stateOf(sb, "VI_1") == "MASTER" })
			added, _ = wb.first(true, t0)
			t.Logf("FIGURE VRRPv3 crash of FRR vrrpd, lbd takes the VIP after %s (bound %s)", added.Sub(t0).Round(time.Millisecond), bound)
			if d := added.Sub(t0); added.IsZero() || d > bound {
				t.Errorf("lbd took the VIP %s after the crash", d)
			}
			noInvalid(t, sb)
			f.CheckNoComplaints()
		})
	})
}
