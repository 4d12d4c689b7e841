//go:build linux

package e2e

import (
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"lbd/test/frr"
	"lbd/test/keepalived"
)

// End-to-end tests of issue 14's "clients always follow the master": a
// split brain healed whichever side lbd is on, preempting a keepalived
// master without a failed request, handing over to FRR's vrrpd, and the
// VIPs a killed lbd leaves behind. Each test runs in labs of its own, in
// parallel with the others.

// splitBrainFor is how long protocol 112 is blocked between the nodes.
const splitBrainFor = 10 * time.Second

// blockVRRP drops VRRP (IPv4 protocol and IPv6 next header 112) in the lab's
// bridge, and nothing else, until the returned function restores it.
func blockVRRP(t *testing.T, l *Lab) (restore func()) {
	t.Helper()
	br := l.NS("br")
	for _, args := range [][]string{
		{"add", "table", "bridge", "lbdvrrp"},
		{"add", "chain", "bridge", "lbdvrrp", "block", "{ type filter hook forward priority filter; }"},
		{"add", "rule", "bridge", "lbdvrrp", "block", "ip", "protocol", "112", "drop"},
		{"add", "rule", "bridge", "lbdvrrp", "block", "ip6", "nexthdr", "112", "drop"},
	} {
		if out, err := exec.Command("ip", append([]string{"netns", "exec", br, "nft"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("nft %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return func() {
		if out, err := exec.Command("ip", "netns", "exec", br, "nft", "delete", "table", "bridge", "lbdvrrp").CombinedOutput(); err != nil {
			t.Errorf("nft delete table: %v\n%s", err, out)
		}
	}
}

// labKeepalived is keepalived with the lab's VRRPv3 instance on node.
func labKeepalived(t *testing.T, l *vrrpLab, node string, prio int) *keepalived.Peer {
	t.Helper()
	return keepalived.New(t, keepalived.Options{Bin: keepalived.Require(t), Netns: l.NS(node), Name: node,
		Dir: filepath.Join(l.Dir(), "keepalived-"+node),
		Config: keepalived.Config{RouterID: node, Instances: []keepalived.Instance{{Interface: "eth0", VRID: 51, Priority: prio,
			Version: 3, AdvertInt: labAdvertInt, VIPs: []string{VIP + "/24"}}}}})
}

// TestVRRPSplitBrainHealed blocks VRRP between lbd and keepalived for 10s
// (both become master and announce the VIP), then lets it pass again,
// while a client polls the VIP every 20ms through the stand-in frontends
// (keepalived has no proxy). Whichever side lbd is on, the client must not
// stay cut off after the healing: keepalived alone leaves its clients with
// a node that dropped the VIP until their ARP entry expires (26s measured
// by the issue).
func TestVRRPSplitBrainHealed(t *testing.T) {
	RequireLBD(t)
	for _, tc := range []struct {
		name     string
		lbdNode  string // lbd runs here, keepalived on the other node
		lbdWins  bool
		winner   string
		kPrio    int
		lbdState string // after the healing
	}{
		{"lbd wins, keepalived loses", "lb1", true, "lb1", 100, "MASTER"},
		{"keepalived wins, lbd loses", "lb2", false, "lb1", 150, "BACKUP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newVRRPLab(t)
			kNode := map[string]string{"lb1": "lb2", "lb2": "lb1"}[tc.lbdNode]
			k := labKeepalived(t, l, kNode, tc.kPrio)
			k.Start()
			d := l.StartLBD(tc.lbdNode, LabConfig(tc.lbdNode))
			d.WaitInstanceState(t, "VI_1", tc.lbdState, 15*time.Second)
			waitHolders(t, l, 5*time.Second, tc.winner)
			ms := startMetersOn(t, l, false)
			time.Sleep(time.Second)

			restore := blockVRRP(t, l.Lab)
			d.WaitInstanceState(t, "VI_1", "MASTER", 5*time.Second)
			waitHolders(t, l, 5*time.Second, "lb1", "lb2")
			time.Sleep(splitBrainFor)
			standIn, _ := ms.stop(t, "during the split brain")
			ms.restart(t, l)
			restore()
			d.WaitInstanceState(t, "VI_1", tc.lbdState, 5*time.Second)
			waitHolders(t, l, 5*time.Second, tc.winner)
			time.Sleep(3 * time.Second)
			after, _ := ms.stop(t, "after the healing")
			t.Logf("FIGURE split brain (VRRP blocked %s), %s: during it the client was served by %v; after the healing the longest gap was %s (%d failed), answers from %v",
				splitBrainFor, tc.name, standIn.Servers, after.LongestGap.Round(time.Millisecond), after.Failed, after.Servers)
			if after.LongestGap > time.Second {
				t.Errorf("after the healing the client went %s without an answer, more than 1s", after.LongestGap)
			}
			if after.Servers[tc.winner] == 0 {
				t.Errorf("after the healing the client never reached the winner %s: %v", tc.winner, after.Servers)
			}
			logSwitch(t, tc.name, d, d)
			k.CheckNoComplaints()
		})
	}
}

// preemptRuns is how many times TestVRRPPreemptKeepalived has lbd preempt
// keepalived.
const preemptRuns = 10

// TestVRRPPreemptKeepalived: lbd (lb1, 150) preempts a keepalived master
// (lb2, 100) preemptRuns times (lbctl vip release, then reclaim) while a
// client polls the VIP every 20ms on new connections. keepalived drops the
// VIP the moment it hears lbd's advert; lbd, having seen that (on its
// first preemption, or when it hands over to keepalived on the release),
// points the clients at itself first, passes their frames on to keepalived
// until nothing is in flight, then takes the VIP and advertises.
func TestVRRPPreemptKeepalived(t *testing.T) {
	RequireLBD(t)
	t.Parallel()
	l := newVRRPLab(t)
	k := labKeepalived(t, l, "lb2", 100)
	k.Start()
	k.WaitLog("Entering MASTER STATE", 1, 10*time.Second)
	ms := startMetersOn(t, l, false)
	time.Sleep(500 * time.Millisecond)
	lb1 := l.StartLBD("lb1", LabConfig("lb1"))
	lb1.WaitInstanceState(t, "VI_1", "MASTER", 15*time.Second)
	waitHolders(t, l, 5*time.Second, "lb1")
	time.Sleep(500 * time.Millisecond)
	first, _ := ms.stop(t, "lbd's first preemption of keepalived (it learns how keepalived lets go)")
	failedRuns, failed := 0, 0
	for run := range preemptRuns {
		if out, err := lb1.Ctl("vip", "release", "VI_1"); err != nil {
			t.Fatalf("release: %v\n%s", err, out)
		}
		waitHolders(t, l, 5*time.Second, "lb2")
		time.Sleep(300 * time.Millisecond)
		ms.restart(t, l)
		if out, err := lb1.Ctl("vip", "reclaim", "VI_1"); err != nil {
			t.Fatalf("reclaim: %v\n%s", err, out)
		}
		lb1.WaitInstanceState(t, "VI_1", "MASTER", 10*time.Second)
		waitHolders(t, l, 5*time.Second, "lb1")
		time.Sleep(500 * time.Millisecond)
		r, _ := ms.stop(t, fmt.Sprintf("run %d: lbd preempts keepalived", run+1))
		if r.Failed > 0 {
			failedRuns++
			failed += r.Failed
			t.Logf("run %d: %d requests failed while lbd preempted keepalived: %v", run+1, r.Failed, r.Errors)
		}
	}
	t.Logf("FIGURE lbd preempting keepalived, client every 20ms: first preemption %d failed; then %d of %d runs with a failed request", first.Failed, failedRuns, preemptRuns)
	// What is left: a connection attempt that reaches lbd in the
	// microseconds its kernel takes to add the VIP (about 1 run in 40
	// here), and a request that reached keepalived just before lbd's
	// announcements and is answered later than the pull's least duration
	// (vrrp pullMin: 2 runs of 10 on a loaded machine when it was 20 ms).
	if failed > 1 {
		t.Errorf("%d requests failed in %d preemptions of keepalived, want at most 1", failed, preemptRuns)
	}
	t.Logf("FIGURE lbd preempting keepalived: %v", logLines(lb1.Output(), "drops", "message"))
	t.Logf("FIGURE lbd preempting keepalived, pulls: %v", logLines(lb1.Output(), "pulled", "how", "time"))
	k.CheckNoComplaints()
}

// TestVRRPFRRPeer pairs lbd (lb1, 150) with FRR's vrrpd (lb2, 100), VRRPv3
// with 100ms adverts: lbd hands the VIP over on SIGTERM and points the
// clients at FRR's virtual MAC, and takes it back when vrrpd crashes.
func TestVRRPFRRPeer(t *testing.T) {
	RequireLBD(t)
	frr.Require(t)
	t.Parallel()
	l := newVRRPLab(t)
	f := frr.New(t, frr.Options{Netns: l.NS("lb2"), Name: "lb2", Config: frr.Config{
		Interface: "eth0", VRID: 51, Priority: 100, Version: 3, AdvertInt: labAdvertInt,
		VIPs: []netip.Prefix{netip.MustParsePrefix(VIP + "/24")}}})
	f.Start()
	f.WaitState("Master", 10*time.Second)
	lb1 := l.StartLBD("lb1", LabConfig("lb1"))
	lb1.WaitInstanceState(t, "VI_1", "MASTER", 15*time.Second)
	f.WaitState("Backup", 5*time.Second)
	waitHolders(t, l, 5*time.Second, "lb1")

	ms := startMetersOn(t, l, false)
	time.Sleep(time.Second)
	if err := lb1.Stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	f.WaitState("Master", 5*time.Second)
	time.Sleep(time.Second)
	ms.fronts["lb1"].Kill()
	time.Sleep(500 * time.Millisecond)
	r, _ := ms.stop(t, "SIGTERM of lbd, FRR vrrpd takes over")
	logSwitch(t, "SIGTERM of lbd, FRR vrrpd takes over", lb1, nil)
	if r.LongestGap > time.Second || r.Servers["lb2"] == 0 {
		t.Errorf("handing over to FRR, the client went %s without an answer and reached lb2 %d times", r.LongestGap, r.Servers["lb2"])
	}
	if out, _ := l.Exec("client", "ip", "neigh", "show", VIP); !strings.Contains(out, "00:00:5e:00:01:33") {
		t.Errorf("the client's neighbour entry for the VIP is %q, want FRR's virtual MAC", out)
	}

	ms.fronts["lb1"] = l.Start("lb1", Bin(t, "lab-webserver"), "-name", "lb1", "-http", "0.0.0.0:"+standInPort)
	lb1.Restart()
	lb1.WaitInstanceState(t, "VI_1", "MASTER", 15*time.Second)
	f.WaitState("Backup", 5*time.Second)
	ms.restart(t, l)
	time.Sleep(500 * time.Millisecond)
	f.Kill()
	ms.fronts["lb2"].Kill()
	time.Sleep(time.Second)
	r, _ = ms.stop(t, "lbd master, FRR vrrpd killed (nothing moves)")
	if r.Failed != 0 {
		t.Errorf("a crash of the backup cost %d requests", r.Failed)
	}
	f.CheckNoComplaints()
}

// TestVRRPCleanupAfterKill: kill -9 leaves the VIP on the dead node's
// interface (and its macvlan with use_vmac); lbd --cleanup, what the
// systemd unit runs after every stop, removes them, and refuses while an
// lbd answers on the admin socket.
func TestVRRPCleanupAfterKill(t *testing.T) {
	RequireLBD(t)
	t.Parallel()
	l := newVRRPLab(t)
	enableIPv6(t, l.Lab, "lb1")
	cfg := withVRRP(withIPv6VIP(LabConfig("lb1")), "use_vmac", "true")
	lb1 := l.StartLBD("lb1", cfg)
	lb1.WaitInstanceState(t, "VI_1", "MASTER", 15*time.Second)
	lb1.WaitInstanceState(t, "VI_6", "MASTER", 5*time.Second)
	run := func() (string, error) {
		return l.Exec("lb1", Bin(t, "lbd"), "--cleanup", "-f", lb1.Config, "--socket", lb1.Socket)
	}
	if out, err := run(); err == nil || !strings.Contains(out, "holds the VIPs") {
		t.Errorf("--cleanup while lbd runs: %v\n%s", err, out)
	}
	if st := lb1.InstanceState("VI_1"); st != "MASTER" {
		t.Errorf("after a refused --cleanup lb1 is %s", st)
	}
	lb1.Kill()
	time.Sleep(200 * time.Millisecond)
	links, _ := l.Exec("lb1", "ip", "-o", "link", "show")
	if !strings.Contains(links, "vrrp.51") {
		t.Fatalf("kill -9 removed the macvlans itself?\n%s", links)
	}
	out, err := run()
	if err != nil {
		t.Fatalf("--cleanup: %v\n%s", err, out)
	}
	t.Logf("lbd --cleanup after kill -9:\n%s", out)
	addrs, _ := l.Exec("lb1", "ip", "-o", "addr", "show")
	links, _ = l.Exec("lb1", "ip", "-o", "link", "show")
	if strings.Contains(addrs, VIP+"/") || strings.Contains(addrs, VIP6+"/") || strings.Contains(links, "vrrp.5") {
		t.Errorf("left after --cleanup:\n%s\n%s", addrs, links)
	}
	if out, err := run(); err != nil || out != "" {
		t.Errorf("a second --cleanup: %v %q", err, out)
	}
}
