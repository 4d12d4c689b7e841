//go:build linux

package vrrp

import (
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"lbd/config"
	"lbd/test/frr"
)

// useVMAC sets use_vmac on a lab instance.
func useVMAC(c *config.VRRPInstance) { c.VMACInterface = "vrrp.51" }

// arpIgnore sets arp_ignore=1 and arp_announce=2 on the node's eth0, as
// a node with virtual MACs needs (the interface would answer ARP for the
// macvlan's VIPs, and ask with them, with its own MAC).
func (n *labNode) arpIgnore() {
	n.lab.t.Helper()
	if out, err := exec.Command("ip", "netns", "exec", n.ns, "sysctl", "-qw", "net.ipv4.conf.eth0.arp_ignore=1", "net.ipv4.conf.eth0.arp_announce=2").CombinedOutput(); err != nil {
		n.lab.t.Fatalf("%v: %s", err, out)
	}
}

// reach makes the node c reach addr (one ping) and returns the MAC its
// neighbour table has for it then ("" if the ping failed).
func (n *labNode) reach(addr netip.Addr) string {
	n.lab.t.Helper()
	out, err := exec.Command("ip", "netns", "exec", n.ns, "ping", "-c1", "-W1", addr.String()).CombinedOutput()
	if err != nil {
		n.lab.t.Logf("ping %s from %s: %v %s", addr, n.name, err, out)
		return ""
	}
	return n.neighMACFamily(addr)
}

// neighMACFamily is neighMAC for either family.
func (n *labNode) neighMACFamily(addr netip.Addr) string {
	out, _ := exec.Command("ip", "-n", n.ns, "neigh", "show", addr.String()).Output()
	for _, f := range strings.Fields(string(out)) {
		if _, err := net.ParseMAC(f); err == nil && strings.Count(f, ":") == 5 {
			return f
		}
	}
	return ""
}

// TestLabVMAC: an lbd pair with use_vmac: the VIPs live on a macvlan with
// the virtual router MAC, a client reaches them at that MAC whichever
// node is master, a crash and a handover leave its neighbour entry
// alone, and a stopped speaker deletes its macvlan.
func TestLabVMAC(t *testing.T) {
	families(t, func(t *testing.T, ipv6 bool, vip netip.Addr) {
		l := newLab(t)
		na, nb, nc := l.node("a", 1), l.node("b", 2), l.node("c", 3)
		na.arpIgnore()
		nb.arpIgnore()
		sa, sb := na.speaker(nil), nb.speaker(nil)
		if err := sb.Apply(labConfig(100, v3(ipv6, useVMAC))); err != nil {
			t.Fatal(err)
		}
		if err := sa.Apply(labConfig(150, v3(ipv6, useVMAC))); err != nil {
			t.Fatal(err)
		}
		vmac := VirtualMAC(51, ipv6).String()
		waitFor(t, 10*time.Second, "a MASTER with the VIP on its macvlan", func() bool {
			return stateOf(sa, "VI_1") == "MASTER" && na.hasAddrOn("vrrp.51", vip) && !nb.hasAddrOn("vrrp.51", vip) && stateOf(sb, "VI_1") == "BACKUP"
		})
		if na.hasAddr(vip) {
			t.Error("the VIP is on eth0 too")
		}
		waitFor(t, 5*time.Second, "b hearing a", func() bool {
			st := sb.Status()[0]
			return st.VMAC == "vrrp.51" && st.Master == sa.Status()[0].SourceAddress
		})
		if got := nc.reach(vip); got != vmac {
			t.Fatalf("the client reaches the VIP at %q, want the virtual MAC %s", got, vmac)
		}
		crash(sa)
		waitFor(t, 5*time.Second, "b MASTER", func() bool { return stateOf(sb, "VI_1") == "MASTER" && nb.hasAddrOn("vrrp.51", vip) })
		// a crashed: its macvlan and VIP are left (as after a kill -9); the
		// switch learnt b's port from b's adverts.
		l.ip("-n", na.ns, "link", "set", "vrrp.51", "down")
		if got := nc.reach(vip); got != vmac {
			t.Errorf("after the crash the client reaches the VIP at %q, want %s", got, vmac)
		}
		l.ip("-n", na.ns, "link", "del", "vrrp.51")

		sa2 := na.speaker(nil)
		if err := sa2.Apply(labConfig(150, v3(ipv6, useVMAC))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "a MASTER again", func() bool {
			return stateOf(sa2, "VI_1") == "MASTER" && na.hasAddrOn("vrrp.51", vip) && !nb.hasAddrOn("vrrp.51", vip)
		})
		if got := nc.reach(vip); got != vmac {
			t.Errorf("after the preemption the client reaches the VIP at %q", got)
		}
		if err := sa2.Release("VI_1"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "b MASTER after the release", func() bool { return stateOf(sb, "VI_1") == "MASTER" && !na.hasAddrOn("vrrp.51", vip) })
		if got := nc.reach(vip); got != vmac {
			t.Errorf("after the release the client reaches the VIP at %q", got)
		}
		noInvalidPackets(t, sa2, sb)
		if err := sa2.Shutdown(expired()); err != nil {
			t.Log(err)
		}
		if _, err := na.nl.LinkByName("vrrp.51"); err == nil {
			t.Error("the stopped speaker left its macvlan")
		}
	})
}

// TestFRRHandoverPointsAtVMAC: handing over to FRR's vrrpd, whose VIPs
// live on its macvlan with the virtual MAC, lbd points the clients at that
// MAC (the source of vrrpd's adverts), not at the node's own.
func TestFRRHandoverPointsAtVMAC(t *testing.T) {
	requireRoot(t)
	frr.Require(t)
	families(t, func(t *testing.T, ipv6 bool, vip netip.Addr) {
		l := newLab(t)
		na, nb, nc := l.node("a", 1), l.node("b", 2), l.node("c", 3)
		f := nb.frr(ipv6, 100)
		f.Start()
		f.WaitState("Master", 10*time.Second)
		sa := na.speaker(nil)
		if err := sa.Apply(labConfig(150, v3(ipv6))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "lbd MASTER", func() bool { return stateOf(sa, "VI_1") == "MASTER" && na.hasAddr(vip) })
		f.WaitState("Backup", 5*time.Second)
		aMAC := na.mac(t).String()
		waitFor(t, 5*time.Second, "the client reaching lbd", func() bool { return nc.reach(vip) == aMAC })

		if err := sa.Release("VI_1"); err != nil {
			t.Fatal(err)
		}
		f.WaitState("Master", 5*time.Second)
		vmac := VirtualMAC(51, ipv6).String()
		// No ping here: the entry must have moved by the handover alone.
		waitFor(t, 2*time.Second, "the client's entry for the VIP to move to FRR's virtual MAC", func() bool { return nc.neighMACFamily(vip) == vmac })
		if got := nc.reach(vip); got != vmac {
			t.Errorf("the client reaches the VIP at %q, want FRR's virtual MAC %s", got, vmac)
		}
		f.CheckNoComplaints()
	})
}

// TestKeepalivedVMAC pairs lbd and keepalived, both with use_vmac (the
// same macvlan name and virtual MAC on both nodes): a client reaches the
// VIP at the virtual MAC whichever is master, through a handover each way
// and a crash, and keepalived has nothing to complain about.
func TestKeepalivedVMAC(t *testing.T) {
	bin := requireKeepalived(t)
	families(t, func(t *testing.T, ipv6 bool, vip netip.Addr) {
		l := newLab(t)
		na, nb, nc := l.node("a", 1), l.node("b", 2), l.node("c", 3)
		na.arpIgnore()
		nb.arpIgnore()
		in := keepalivedV3(ipv6, 100)
		in.UseVMAC = "vrrp.51"
		k := nb.keepalivedWith(bin, in)
		k.Start()
		k.WaitLog("(VI_1) Entering MASTER STATE", 1, 10*time.Second)
		vmac := VirtualMAC(51, ipv6).String()
		waitFor(t, 5*time.Second, "the client reaching keepalived at the virtual MAC", func() bool { return nc.reach(vip) == vmac })

		sa := na.speaker(nil)
		if err := sa.Apply(labConfig(150, v3(ipv6, useVMAC))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "lbd MASTER", func() bool { return stateOf(sa, "VI_1") == "MASTER" && na.hasAddrOn("vrrp.51", vip) })
		k.WaitLog("(VI_1) Entering BACKUP STATE", 2, 5*time.Second)
		time.Sleep(500 * time.Millisecond)
		if got := nc.reach(vip); got != vmac {
			t.Errorf("lbd master: the client reaches the VIP at %q", got)
		}

		if err := sa.Release("VI_1"); err != nil {
			t.Fatal(err)
		}
		k.WaitLog("(VI_1) Entering MASTER STATE", 2, 5*time.Second)
		time.Sleep(200 * time.Millisecond)
		if got := nc.reach(vip); got != vmac {
			t.Errorf("after the release the client reaches the VIP at %q", got)
		}
		if err := sa.Reclaim("VI_1"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "lbd MASTER again", func() bool { return stateOf(sa, "VI_1") == "MASTER" })
		k.WaitLog("(VI_1) Entering BACKUP STATE", 3, 5*time.Second)
		time.Sleep(500 * time.Millisecond)
		if got := nc.reach(vip); got != vmac {
			t.Errorf("after the reclaim the client reaches the VIP at %q", got)
		}
		crash(sa)
		l.ip("-n", na.ns, "link", "set", "vrrp.51", "down") // what a crashed node leaves may not answer
		k.WaitLog("(VI_1) Entering MASTER STATE", 3, 5*time.Second)
		time.Sleep(200 * time.Millisecond)
		if got := nc.reach(vip); got != vmac {
			t.Errorf("after lbd crashed the client reaches the VIP at %q", got)
		}
		noInvalid(t, sa)
		k.CheckNoComplaints()
	})
}
