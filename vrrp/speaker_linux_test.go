//go:build linux

package vrrp

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"lbd/config"
	"lbd/test/syncbuf"
)

var labVIP = netip.MustParseAddr("192.0.2.100")

// expired is a context for cleanups: whatever is left stops at once.
func expired() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_ = cancel // released by the timeout
	return ctx
}

// pair builds a lab with two lbd nodes: a (192.0.2.1, priority 150) and
// b (192.0.2.2, priority 100), and waits for a to be master.
func pair(t *testing.T, modA, modB func(*config.VRRPInstance)) (*lab, *labNode, *labNode, *Speaker, *Speaker) {
	l := newLab(t)
	na, nb := l.node("a", 1), l.node("b", 2)
	sa, sb := na.speaker(nil), nb.speaker(nil)
	if err := sb.Apply(labConfig(100, modB)); err != nil {
		t.Fatal(err)
	}
	if err := sa.Apply(labConfig(150, modA)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a MASTER with the VIP", func() bool {
		return stateOf(sa, "VI_1") == "MASTER" && na.hasAddr(labVIP) && stateOf(sb, "VI_1") == "BACKUP"
	})
	return l, na, nb, sa, sb
}

func TestLabElectionAndCrashFailover(t *testing.T) {
	_, na, nb, sa, sb := pair(t, nil, nil)
	if nb.hasAddr(labVIP) {
		t.Fatal("backup holds the VIP")
	}
	// a's first advert as master may still be on its way to b.
	waitFor(t, 5*time.Second, "b hearing a", func() bool { return sb.Status()[0].Counters.AdvertsReceived > 0 })
	st := sb.Status()[0]
	if st.Master != "192.0.2.1" || st.MasterPriority != 150 || st.Counters.AdvertsReceived == 0 {
		t.Errorf("b's view: master %q priority %d received %d", st.Master, st.MasterPriority, st.Counters.AdvertsReceived)
	}
	for r, n := range st.Counters.Invalid {
		if n != 0 {
			t.Errorf("b counted %d invalid packets (%s)", n, r)
		}
	}

	wb := nb.watchAddr(labVIP)
	t0 := time.Now()
	crash(sa)
	waitFor(t, 10*time.Second, "b MASTER after a crashed", func() bool { return stateOf(sb, "VI_1") == "MASTER" })
	at, ok := wb.first(true, t0)
	if !ok {
		t.Fatal("VIP never added on b")
	}
	took := at.Sub(t0)
	t.Logf("FIGURE crash failover (lbd->lbd, advert_int 1s, backup priority 100): VIP on backup %s after the master died (bound 3s+skew=%s)", took.Round(time.Millisecond), mdi(100))
	if took > mdi(100)+time.Second {
		t.Errorf("failover took %s, more than Master_Down_Interval %s + 1s", took, mdi(100))
	}
	_ = na
}

func TestLabGracefulHandover(t *testing.T) {
	_, na, nb, sa, sb := pair(t, nil, nil)
	wa, wb := na.watchAddr(labVIP), nb.watchAddr(labVIP)
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sa.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	done := time.Now()
	added, ok1 := wb.first(true, t0)
	removed, ok2 := wa.first(false, t0)
	if !ok1 || !ok2 {
		t.Fatalf("VIP added on b: %v, removed from a: %v", ok1, ok2)
	}
	overlap := removed.Sub(added)
	t.Logf("FIGURE graceful handover (lbd->lbd): b has the VIP %s after SIGTERM-equivalent; a removed it %s later (overlap, no gap); Shutdown returned after %s",
		added.Sub(t0).Round(time.Millisecond), overlap.Round(time.Millisecond), done.Sub(t0).Round(time.Millisecond))
	if overlap < 0 {
		t.Errorf("gap of %s without the VIP anywhere", -overlap)
	}
	if stateOf(sb, "VI_1") != "MASTER" {
		t.Errorf("b is %s", stateOf(sb, "VI_1"))
	}
	if na.hasAddr(labVIP) {
		t.Error("a kept the VIP after shutdown")
	}
}

func TestLabReleaseReclaim(t *testing.T) {
	_, na, nb, sa, sb := pair(t, nil, nil)
	t0, added, removed := watchHandover(t, na, nb, func() error { return sa.Release("VI_1") })
	t.Logf("FIGURE release (lbd->lbd): peer has the VIP after %s, overlap %s, Release returned after %s",
		added.Sub(t0).Round(time.Millisecond), removed.Sub(added).Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	if removed.Before(added) {
		t.Errorf("VIP removed from a before b had it")
	}
	if stateOf(sa, "VI_1") != "BACKUP" || !sa.Status()[0].Released || stateOf(sb, "VI_1") != "MASTER" {
		t.Fatalf("after release: a %s released=%v, b %s", stateOf(sa, "VI_1"), sa.Status()[0].Released, stateOf(sb, "VI_1"))
	}
	// a has the higher priority but stays out...
	time.Sleep(5 * time.Second)
	if stateOf(sa, "VI_1") != "BACKUP" {
		t.Fatalf("released a preempted: %s", stateOf(sa, "VI_1"))
	}
	// ...until reclaimed; then it preempts.
	if err := sa.Reclaim("VI_1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a MASTER again after reclaim", func() bool {
		return stateOf(sa, "VI_1") == "MASTER" && na.hasAddr(labVIP) && !nb.hasAddr(labVIP)
	})
	if err := sa.Release("nope"); err == nil {
		t.Error("release of an unknown instance succeeded")
	}
}

func TestLabVIPDeletedByHandIsRestored(t *testing.T) {
	_, na, _, _, _ := pair(t, nil, nil)
	link, err := na.nl.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	addr := nlAddr(netip.MustParsePrefix("192.0.2.100/24"))
	if err := na.nl.AddrDel(link, addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "VIP restored", func() bool { return na.hasAddr(labVIP) })
}

func TestLabInterfaceDownFault(t *testing.T) {
	l, na, nb, sa, sb := pair(t, nil, nil)
	l.ip("-n", na.ns, "link", "set", "eth0", "down")
	waitFor(t, 5*time.Second, "a FAULT", func() bool { return stateOf(sa, "VI_1") == "FAULT" })
	waitFor(t, 10*time.Second, "b MASTER", func() bool { return stateOf(sb, "VI_1") == "MASTER" && nb.hasAddr(labVIP) })
	if na.hasAddr(labVIP) {
		t.Error("a in FAULT kept the VIP")
	}
	l.ip("-n", na.ns, "link", "set", "eth0", "up")
	waitFor(t, 15*time.Second, "a back to MASTER", func() bool { return stateOf(sa, "VI_1") == "MASTER" && stateOf(sb, "VI_1") == "BACKUP" })
}

// fakeTracker is a BackendTracker with settable counts.
type fakeTracker struct {
	mu     sync.Mutex
	usable map[string]int
	subs   []func(string)
}

func (f *fakeTracker) UsableServers(b string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.usable[b]
}

func (f *fakeTracker) Subscribe(fn func(string)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = append(f.subs, fn)
	return func() {}
}

func (f *fakeTracker) set(b string, n int) {
	f.mu.Lock()
	f.usable[b] = n
	subs := append([]func(string){}, f.subs...)
	f.mu.Unlock()
	for _, fn := range subs {
		fn(b)
	}
}

// TestLabReloadRenamingTrackedBackend: a reload that renames a tracked
// backend (and the track_backend with it) changes nothing for the pair.
// The servers are applied first; while the speaker is held (as the
// appliance does around a reload) the old tracker's backend counting
// zero servers must not put the master in FAULT.
func TestLabReloadRenamingTrackedBackend(t *testing.T) {
	l := newLab(t)
	na := l.node("a", 1)
	tr := &fakeTracker{usable: map[string]int{"web": 2}}
	sa := na.speaker(tr)
	tracking := func(backend string) *config.Config {
		return labConfig(150, func(vi *config.VRRPInstance) {
			vi.TrackBackends = []*config.TrackBackend{{Backend: backend, MinUp: 1, Weight: 0}}
		})
	}
	if err := sa.Apply(tracking("web")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a MASTER", func() bool { return stateOf(sa, "VI_1") == "MASTER" })
	before := sa.Status()[0].Counters.Transitions

	sa.Hold()
	tr.set("www", 2) // the pool applies the new file: "web" is gone
	tr.set("web", 0)
	time.Sleep(300 * time.Millisecond) // room for a refresh that must not run
	err := sa.Apply(tracking("www"))
	sa.Resume()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	st := sa.Status()[0]
	if st.State != "MASTER" || st.Counters.Transitions != before {
		t.Fatalf("after the reload: %s, %d transitions (was %d): %s", st.State, st.Counters.Transitions, before, st.LastTransitionReason)
	}
	// The new tracker is live: its backend going down is a FAULT.
	tr.set("www", 0)
	waitFor(t, 5*time.Second, "a FAULT with www down", func() bool { return stateOf(sa, "VI_1") == "FAULT" })
}

func TestLabTrackBackendAndScript(t *testing.T) {
	l := newLab(t)
	na, nb := l.node("a", 1), l.node("b", 2)
	tr := &fakeTracker{usable: map[string]int{"web": 2}}
	sa, sb := na.speaker(tr), nb.speaker(nil)
	if err := sb.Apply(labConfig(100, nil)); err != nil {
		t.Fatal(err)
	}
	flag := filepath.Join(t.TempDir(), "ok")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := labConfig(150, func(vi *config.VRRPInstance) {
		vi.TrackBackends = []*config.TrackBackend{{Backend: "web", MinUp: 1, Weight: -60}}
		vi.TrackScripts = []string{"chk"}
	})
	cfg.VRRPScripts = []*config.VRRPScript{{Name: "chk", Args: []string{"/bin/test", "-e", flag},
		Interval: 200 * time.Millisecond, Timeout: 10 * time.Second, Rise: 1, Fall: 1, Weight: 0}}
	if err := sa.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a MASTER", func() bool { return stateOf(sa, "VI_1") == "MASTER" })

	// Backends down: 150-60 = 90 < 100, b preempts.
	tr.set("web", 0)
	waitFor(t, 10*time.Second, "b MASTER with backends down on a", func() bool {
		return stateOf(sb, "VI_1") == "MASTER" && stateOf(sa, "VI_1") == "BACKUP" && sa.Status()[0].EffectivePriority == 90
	})
	tr.set("web", 2)
	waitFor(t, 10*time.Second, "a MASTER again", func() bool { return stateOf(sa, "VI_1") == "MASTER" })

	// Script with weight 0 failing: FAULT.
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a FAULT on script failure", func() bool { return stateOf(sa, "VI_1") == "FAULT" })
	waitFor(t, 5*time.Second, "b MASTER", func() bool { return stateOf(sb, "VI_1") == "MASTER" })

	// Reload with the script removed: a leaves FAULT without a restart.
	cfg2 := labConfig(150, func(vi *config.VRRPInstance) {
		vi.TrackBackends = []*config.TrackBackend{{Backend: "web", MinUp: 1, Weight: -60}}
	})
	if err := sa.Apply(cfg2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a MASTER after reload", func() bool { return stateOf(sa, "VI_1") == "MASTER" })
}

func TestLabUnicast(t *testing.T) {
	l := newLab(t)
	na, nb := l.node("a", 1), l.node("b", 2)
	sa, sb := na.speaker(nil), nb.speaker(nil)
	uni := func(src, peer string) func(*config.VRRPInstance) {
		return func(vi *config.VRRPInstance) {
			vi.UnicastSrc = netip.MustParseAddr(src)
			vi.UnicastPeers = []netip.Addr{netip.MustParseAddr(peer)}
		}
	}
	if err := sb.Apply(labConfig(100, uni("192.0.2.2", "192.0.2.1"))); err != nil {
		t.Fatal(err)
	}
	if err := sa.Apply(labConfig(150, uni("192.0.2.1", "192.0.2.2"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a MASTER over unicast", func() bool {
		return stateOf(sa, "VI_1") == "MASTER" && stateOf(sb, "VI_1") == "BACKUP" && sb.Status()[0].Master == "192.0.2.1"
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sa.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "b MASTER after a's shutdown", func() bool { return stateOf(sb, "VI_1") == "MASTER" })
}

func TestLabApplyErrors(t *testing.T) {
	l := newLab(t)
	na := l.node("a", 1)
	s := na.speaker(nil)
	if err := s.Apply(labConfig(100, func(vi *config.VRRPInstance) { vi.Interface = "nope0" })); err == nil {
		t.Error("Apply with a missing interface succeeded")
	}
	if err := s.Apply(labConfig(100, func(vi *config.VRRPInstance) {
		vi.TrackBackends = []*config.TrackBackend{{Backend: "web", MinUp: 1}}
	})); err == nil {
		t.Error("Apply with track_backend and no tracker succeeded")
	}
	if len(s.Status()) != 0 {
		t.Error("a failed Apply left instances")
	}
}

// TestLabWireFormat checks our packets as tcpdump decodes them on the
// bridge: IP header as RFC 3768 section 5.2 and keepalived have it, and
// gratuitous ARP as keepalived sends it.
func TestLabWireFormat(t *testing.T) {
	l := newLab(t)
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump is not installed")
	}
	na := l.node("a", 1)
	var out syncbuf.Buffer
	cmd := exec.Command("ip", "netns", "exec", l.br, "tcpdump", "-l", "-n", "-vv", "-e", "-i", "br0", "ip proto 112 or arp")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	waitFor(t, 5*time.Second, "tcpdump listening", func() bool { return strings.Contains(out.String(), "listening on") })
	sa := na.speaker(nil)
	if err := sa.Apply(labConfig(150, nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "adverts and ARPs on the wire", func() bool {
		s := out.String()
		return strings.Count(s, "VRRPv2, Advertisement") >= 2 && strings.Count(s, "who-has 192.0.2.100") >= 5
	})
	s := out.String()
	for _, want := range []string{
		"> 01:00:5e:00:00:12, ethertype IPv4",
		"(tos 0xc0, ttl 255, ",
		"proto VRRP (112), length 40)",
		"192.0.2.1 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 150, authtype simple, intvl 1s, length 20, addrs: 192.0.2.100 auth \"s3cret\"",
		"> ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806)",
		"Request who-has 192.0.2.100 (ff:ff:ff:ff:ff:ff) tell 192.0.2.100",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("capture lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("capture:\n%s", s)
	}
}

// TestLabWireFormatV3 checks our VRRPv3 packets and announcements as
// tcpdump decodes them on the bridge, for IPv4 and IPv6.
func TestLabWireFormatV3(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump is not installed")
	}
	families(t, func(t *testing.T, ipv6 bool, vip netip.Addr) {
		l := newLab(t)
		na := l.node("a", 1)
		var out syncbuf.Buffer
		cmd := exec.Command("ip", "netns", "exec", l.br, "tcpdump", "-l", "-n", "-vv", "-e", "-i", "br0", "ip proto 112 or ip6 proto 112 or arp or icmp6")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		waitFor(t, 5*time.Second, "tcpdump listening", func() bool { return strings.Contains(out.String(), "listening on") })
		sa := na.speaker(nil)
		if err := sa.Apply(labConfig(150, v3(ipv6))); err != nil {
			t.Fatal(err)
		}
		announce := "who-has 192.0.2.100"
		if ipv6 {
			announce = "neighbor advertisement, length 32, tgt is 2001:db8::100"
		}
		waitFor(t, 10*time.Second, "adverts and announcements on the wire", func() bool {
			s := out.String()
			return strings.Count(s, "VRRPv3, Advertisement") >= 2 && strings.Count(s, announce) >= 5
		})
		src := sa.Status()[0].SourceAddress
		s := out.String()
		want := []string{
			"> 01:00:5e:00:00:12, ethertype IPv4",
			"(tos 0xc0, ttl 255, ",
			"proto VRRP (112), length 32)",
			"192.0.2.1 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 150, intvl 10cs, length 12, addrs: 192.0.2.100",
			"> ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806)",
			"Request who-has 192.0.2.100 (ff:ff:ff:ff:ff:ff) tell 192.0.2.100",
		}
		if ipv6 {
			want = []string{
				"> 33:33:00:00:00:12, ethertype IPv6",
				"(class 0xc0, ", // then a flow label: the kernel's, as keepalived's have one
				"hlim 255, next-header VRRP (112) payload length: 24) " + src + " > ff02::12: VRRPv3, Advertisement, vrid 51, prio 150, intvl 10cs, length 24, addrs: 2001:db8::100",
				"> 33:33:00:00:00:01, ethertype IPv6",
				"hlim 255, next-header ICMPv6 (58) payload length: 32) 2001:db8::100 > ff02::1: [icmp6 sum ok] ICMP6, neighbor advertisement, length 32, tgt is 2001:db8::100, Flags [override]",
				"destination link-address option (2), length 8 (1): " + na.mac(t).String(),
			}
		}
		for _, w := range want {
			if !strings.Contains(s, w) {
				t.Errorf("capture lacks %q", w)
			}
		}
		if t.Failed() {
			t.Logf("capture:\n%s", s)
		}
	})
}

// TestLabInterfaceRecreated deletes a's interface and creates it again
// (new index): a goes to FAULT, reopens its sockets on the new interface
// and becomes master again.
func TestLabInterfaceRecreated(t *testing.T) {
	l, na, _, sa, sb := pair(t, nil, nil)
	l.ip("-n", l.br, "link", "del", na.port)
	waitFor(t, 5*time.Second, "a FAULT", func() bool { return stateOf(sa, "VI_1") == "FAULT" })
	waitFor(t, 10*time.Second, "b MASTER", func() bool { return stateOf(sb, "VI_1") == "MASTER" })
	l.ip("-n", l.br, "link", "add", na.port, "type", "veth", "peer", "name", "eth0", "netns", na.ns)
	l.ip("-n", l.br, "link", "set", na.port, "master", "br0", "up")
	l.ip("-n", na.ns, "addr", "add", na.addr.String()+"/24", "dev", "eth0")
	l.ip("-n", na.ns, "link", "set", "eth0", "up")
	waitFor(t, 15*time.Second, "a MASTER on the new interface", func() bool {
		return stateOf(sa, "VI_1") == "MASTER" && stateOf(sb, "VI_1") == "BACKUP" && na.hasAddr(labVIP)
	})
}

// TestLabReloadRestartHandsOver: a reload that restarts the master's
// instance (here: use_vmac turned on) hands the VIP over as a planned stop
// does (the peer has it before the master lets go, no moment without it),
// and the restarted instance then starts and preempts back, the VIP on its
// macvlan.
func TestLabReloadRestartHandsOver(t *testing.T) {
	_, na, nb, sa, sb := pair(t, nil, nil)
	na.arpIgnore()
	t0, added, removed := watchHandover(t, na, nb, func() error {
		if err := sa.Apply(labConfig(150, useVMAC)); err != nil {
			return err
		}
		waitFor(t, 10*time.Second, "b MASTER and the VIP gone from a's eth0", func() bool {
			return stateOf(sb, "VI_1") == "MASTER" && !na.hasAddr(labVIP)
		})
		return nil
	})
	if added.IsZero() || removed.IsZero() {
		t.Fatalf("VIP added on b at %v, removed from a at %v", added, removed)
	}
	t.Logf("reload restarting the master: b has the VIP %s after the reload, a removed it %s later",
		added.Sub(t0).Round(time.Millisecond), removed.Sub(added).Round(time.Millisecond))
	if removed.Before(added) {
		t.Errorf("the VIP was nowhere for %s: the restarted master did not hand over", added.Sub(removed))
	}
	waitFor(t, 15*time.Second, "the restarted instance MASTER again, the VIP on its macvlan", func() bool {
		return stateOf(sa, "VI_1") == "MASTER" && na.hasAddrOn("vrrp.51", labVIP) && stateOf(sb, "VI_1") == "BACKUP" && !nb.hasAddr(labVIP)
	})
}
