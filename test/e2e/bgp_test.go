//go:build linux

package e2e

import (
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The BGP/ECMP lab tests (issue 17): three lbd nodes announce the VIPs to
// FRR, which spreads flows over them. Each test builds its own lab (own
// namespaces, own FRR) and runs in parallel with the other parallel tests.

// startBGPLab builds the lab, starts the webs and the three nodes, and
// waits until the router sends each VIP to all three.
func startBGPLab(t *testing.T, bfd bool) (*BGPLab, map[string]*BGPNode) {
	t.Helper()
	l := NewBGPLab(t, bfd)
	l.StartWebs()
	nodes := map[string]*BGPNode{}
	for _, n := range []string{"lb1", "lb2", "lb3"} {
		nodes[n] = l.StartNode(n)
	}
	for _, vip := range []string{bgpVIP4, bgpVIP6} {
		d := l.WaitNexthops(vip, 30*time.Second, "lb1", "lb2", "lb3")
		t.Logf("router has 3 paths to %s %v after the nodes' admin sockets answered", vip, d.Round(time.Millisecond))
		if d > 5*time.Second {
			t.Logf("slow start; the router's log:\n%s\nlb1's:\n%s", tail(l.RouterLog(), 8<<10), tail(nodes["lb1"].Output(), 8<<10))
		}
	}
	return l, nodes
}

// TestBGPSpreadDrainStop: flows spread over the three nodes; a drained
// node, and then a stopped one, leave without a failed request; a node
// cut off the network stops getting flows after the hold time.
func TestBGPSpreadDrainStop(t *testing.T) {
	t.Parallel()
	l, nodes := startBGPLab(t, false)

	t.Run("status", func(t *testing.T) {
		Eventually(t, 10*time.Second, nodes["lb1"].Established, "lb1's two sessions established")
		st, err := nodes["lb1"].Status()
		if err != nil {
			t.Fatal(err)
		}
		if !st.Configured || st.Drained || st.RoutesAnnounced != 2 || len(st.Announces) != 1 || !st.Announces[0].Announced {
			t.Errorf("status %+v", st)
		}
		for _, n := range st.Neighbors {
			if n.State != "ESTABLISHED" || n.RoutesAnnounced != 1 || n.HoldTime != 3 {
				t.Errorf("neighbor %+v: want ESTABLISHED, 1 route (its family's VIP), hold time 3s (the router's)", n)
			}
		}
		out, err := nodes["lb1"].Ctl("bgp", "status")
		if err != nil || !strings.Contains(out, "ESTABLISHED") || !strings.Contains(out, "ANNOUNCED") {
			t.Errorf("lbctl bgp status:\n%s %v", out, err)
		}
		// The router's view: each VIP learnt from the three nodes, all
		// three used (multipath).
		rib, err := l.Vtysh("show ip bgp " + bgpVIP4 + "/32")
		if err != nil || !strings.Contains(rib, "multipath") || strings.Count(rib, "64512") < 3 {
			t.Errorf("router's BGP table for %s:\n%s %v", bgpVIP4, rib, err)
		}
	})

	t.Run("flows spread over the three nodes", func(t *testing.T) {
		for _, vip := range []string{bgpVIP4, bgpVIP6} {
			const n = 300
			counts, errs := l.Client(false, 2*time.Second).Spread(vip, n)
			t.Logf("%d requests to %s on new connections: %v", n, vip, counts)
			if len(errs) > 0 {
				t.Errorf("%d failed: %v", len(errs), errs[0])
			}
			for _, node := range []string{"lb1", "lb2", "lb3"} {
				// An even spread is 100 each; 30 is far out in the tail.
				if counts[node] < 30 {
					t.Errorf("%s served %d of %d requests to %s: not spread", node, counts[node], n, vip)
				}
			}
		}
	})

	t.Run("drain and undrain", func(t *testing.T) {
		m := l.Client(false, time.Second).StartMeter(bgpVIP4, 20*time.Millisecond)
		ka := l.Client(true, time.Second).StartMeter(bgpVIP4, 20*time.Millisecond)
		time.Sleep(time.Second)
		// Drain the node the keep-alive client's connection went to: it
		// must move to another node without a failed request.
		var node string
		for n, at := range ka.Snapshot().LastOn {
			if node == "" || at.After(ka.Snapshot().LastOn[node]) {
				node = n
			}
		}
		if node == "" {
			t.Fatalf("the keep-alive client got no answer: %v", ka.Snapshot())
		}
		others := slices.DeleteFunc([]string{"lb1", "lb2", "lb3"}, func(n string) bool { return n == node })
		start := time.Now()
		if out, err := nodes[node].Ctl("bgp", "drain"); err != nil || !strings.Contains(out, "drained") {
			t.Fatalf("drain: %s %v", out, err)
		}
		l.WaitNexthops(bgpVIP4, 10*time.Second, others...)
		t.Logf("lbctl bgp drain on %s -> router's route without it: %v", node, time.Since(start).Round(time.Millisecond))
		l.WaitNexthops(bgpVIP6, 10*time.Second, others...)
		time.Sleep(3 * time.Second) // keep-alive connections to it close during grace (2s)
		drainedAt := time.Now()
		time.Sleep(2 * time.Second)
		res, kres := m.Stop(), ka.Stop()
		t.Logf("new connections: %v", res)
		t.Logf("keep-alive client: %v", kres)
		for name, r := range map[string]BGPMeterResult{"new connections": res, "keep-alive": kres} {
			if r.Failed > 0 {
				t.Errorf("%s: %d failed requests during the drain: %v", name, r.Failed, r.Errors)
			}
			if last := r.LastOn[node]; last.After(drainedAt) {
				t.Errorf("%s: %s served a request %v after the drain settled", name, node, last.Sub(drainedAt))
			}
		}
		if kres.LastOn[others[0]].Before(drainedAt) && kres.LastOn[others[1]].Before(drainedAt) {
			t.Errorf("the keep-alive client was not served by another node after the drain: %v", kres)
		}
		st, err := nodes[node].Status()
		if err != nil || !st.Drained || st.RoutesAnnounced != 0 || st.Announces[0].Announced || !strings.Contains(st.Announces[0].Reason, "drained") {
			t.Errorf("status after drain %+v %v", st, err)
		}
		// Still serving what reaches it (a router slow to converge): the
		// VIP is on the node and its frontend accepts.
		if c, err := l.dial(node, bgpVIP4+":80"); err != nil {
			t.Errorf("the drained node stopped serving: %v", err)
		} else {
			c.Close()
		}
		start = time.Now()
		if _, err := nodes[node].Ctl("bgp", "undrain"); err != nil {
			t.Fatal(err)
		}
		l.WaitNexthops(bgpVIP4, 10*time.Second, "lb1", "lb2", "lb3")
		t.Logf("lbctl bgp undrain -> router's route with %s again: %v", node, time.Since(start).Round(time.Millisecond))
	})

	t.Run("stop withdraws first", func(t *testing.T) {
		m := l.Client(false, time.Second).StartMeter(bgpVIP4, 20*time.Millisecond)
		time.Sleep(time.Second)
		start := time.Now()
		exited := make(chan error, 1)
		go func() { exited <- nodes["lb3"].Stop(syscall.SIGTERM) }()
		l.WaitNexthops(bgpVIP4, 10*time.Second, "lb1", "lb2")
		t.Logf("SIGTERM -> router's route without lb3: %v", time.Since(start).Round(time.Millisecond))
		if err := <-exited; err != nil {
			t.Errorf("lbd exited with %v:\n%s", err, tail(nodes["lb3"].Output(), 4096))
		}
		t.Logf("SIGTERM -> lbd exited: %v", time.Since(start).Round(time.Millisecond))
		time.Sleep(time.Second)
		res := m.Stop()
		t.Logf("%v", res)
		if res.Failed > 0 {
			t.Errorf("%d failed requests while lb3 stopped: %v", res.Failed, res.Errors)
		}
		out, _ := l.Exec("lb3", "ip", "-o", "addr", "show")
		if strings.Contains(out, bgpVIP4) || strings.Contains(out, bgpVIP6) {
			t.Errorf("lb3 kept its VIP address after stopping:\n%s", out)
		}
		nodes["lb3"].Restart()
		l.WaitNexthops(bgpVIP4, 30*time.Second, "lb1", "lb2", "lb3")
	})

	t.Run("reload keeps the sessions", func(t *testing.T) {
		before, err := nodes["lb1"].Status()
		if err != nil {
			t.Fatal(err)
		}
		cfg := strings.Replace(BGPNodeConfig("lb1", false), `    addresses = [`, `    communities = ["64512:100"]
    addresses = [`, 1)
		if err := os.WriteFile(nodes["lb1"].Config, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := nodes["lb1"].Ctl("reload"); err != nil {
			t.Fatalf("reload: %s %v", out, err)
		}
		Eventually(t, 10*time.Second, func() bool {
			out, _ := l.Vtysh("show ip bgp " + bgpVIP4 + "/32")
			return strings.Contains(out, "Community: 64512:100")
		}, "the router to see lb1's route with its new community")
		after, err := nodes["lb1"].Status()
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range after.Neighbors {
			if n.State != "ESTABLISHED" || n.Transitions != before.Neighbors[i].Transitions {
				t.Errorf("neighbor %s: %s, %d transitions (was %d): the reload reset the session", n.Address, n.State, n.Transitions, before.Neighbors[i].Transitions)
			}
		}
		l.WaitNexthops(bgpVIP4, 5*time.Second, "lb1", "lb2", "lb3")
	})

	t.Run("node cut off: hold time", func(t *testing.T) {
		m := l.Client(false, 500*time.Millisecond).StartMeter(bgpVIP4, 20*time.Millisecond)
		time.Sleep(time.Second)
		start := time.Now()
		// The switch port of lb3 goes down: no FIN, no NOTIFICATION, the
		// router only notices when the hold time (3s) runs out.
		l.MustExec("sw", "ip", "link", "set", "lb3", "down")
		l.WaitNexthops(bgpVIP4, 15*time.Second, "lb1", "lb2")
		moved := time.Since(start)
		t.Logf("lb3 cut off -> router's route without lb3: %v (hold time 3s)", moved.Round(time.Millisecond))
		if moved < 2*time.Second {
			t.Errorf("the route moved after %v, before the hold time: was lb3 really cut off?", moved)
		}
		time.Sleep(2 * time.Second)
		res := m.Stop()
		t.Logf("%v", res)
		if res.Failed == 0 {
			t.Errorf("no request failed while lb3 was unreachable and still routed: the test does not test")
		}
		if !res.LastFail.IsZero() && res.LastFail.After(start.Add(moved+time.Second)) {
			t.Errorf("a request failed %v after the cut, the route had moved after %v", res.LastFail.Sub(start), moved)
		}
		counts, errs := l.Client(false, 2*time.Second).Spread(bgpVIP4, 60)
		if len(errs) > 0 || counts["lb3"] > 0 {
			t.Errorf("after the route moved: counts %v, %d failed", counts, len(errs))
		}
		l.MustExec("sw", "ip", "link", "set", "lb3", "up")
		start = time.Now()
		l.WaitNexthops(bgpVIP4, 30*time.Second, "lb1", "lb2", "lb3")
		t.Logf("lb3 back on the network -> route with lb3 again: %v (connect retry 5s)", time.Since(start).Round(time.Millisecond))
	})
}

// TestBGPFailuresBFD, in a lab with BFD between the router and the
// nodes: a node whose backends are all down withdraws its route; a node
// whose lbd is killed, and a node cut off the network, stop getting flows
// (at once, and after BFD's detection time); new flows never go to them.
func TestBGPFailuresBFD(t *testing.T) {
	t.Parallel()
	l, nodes := startBGPLab(t, true)
	Eventually(t, 15*time.Second, func() bool {
		st, err := nodes["lb1"].Status()
		return err == nil && len(st.Neighbors) == 2 && st.Neighbors[0].BFD == "UP" && st.Neighbors[1].BFD == "UP"
	}, "lb1's BFD sessions up %s", Lazy(func() string {
		var b strings.Builder
		for _, c := range []string{"show bfd peers", "show zebra client summary", "show running-config", "show bgp neighbors 192.0.2.11"} {
			o, _ := l.Vtysh(c)
			b.WriteString("### " + c + "\n" + o)
		}
		return b.String()
	}))
	if out, err := l.Vtysh("show bfd peers brief"); err != nil || strings.Count(out, "up") < 6 {
		t.Errorf("router's BFD peers (want 6 up):\n%s %v", out, err)
	}

	t.Run("backends down withdraws the route", func(t *testing.T) {
		// lb2 loses its way to both web servers (the others keep it).
		start := time.Now()
		l.MustExec("lb2", "ip", "route", "add", "unreachable", "192.0.2.20/30")
		l.WaitNexthops(bgpVIP4, 15*time.Second, "lb1", "lb3")
		t.Logf("lb2's backends unreachable -> router's route without lb2: %v (health checks: 2 failures at 250ms)", time.Since(start).Round(time.Millisecond))
		l.WaitNexthops(bgpVIP6, 5*time.Second, "lb1", "lb3")
		st, err := nodes["lb2"].Status()
		if err != nil || st.Announces[0].Announced || !strings.Contains(st.Announces[0].Reason, "backend web: 0 usable servers, min_up 1") {
			t.Errorf("lb2 status %+v %v", st, err)
		}
		counts, errs := l.Client(false, 2*time.Second).Spread(bgpVIP4, 100)
		if len(errs) > 0 || counts["lb2"] > 0 {
			t.Errorf("after the withdraw: counts %v, %d failed %v", counts, len(errs), errs)
		}
		l.MustExec("lb2", "ip", "route", "del", "unreachable", "192.0.2.20/30")
		start = time.Now()
		l.WaitNexthops(bgpVIP4, 15*time.Second, "lb1", "lb2", "lb3")
		t.Logf("backends back -> route with lb2 again: %v (rise 2)", time.Since(start).Round(time.Millisecond))
	})

	t.Run("lbd killed", func(t *testing.T) {
		m := l.Client(false, 500*time.Millisecond).StartMeter(bgpVIP4, 20*time.Millisecond)
		time.Sleep(time.Second)
		start := time.Now()
		nodes["lb1"].Kill()
		l.WaitNexthops(bgpVIP4, 10*time.Second, "lb2", "lb3")
		moved := time.Since(start)
		t.Logf("kill -9 of lbd -> router's route without lb1: %v (the kernel closes the session: no hold time)", moved.Round(time.Millisecond))
		time.Sleep(2 * time.Second)
		after := time.Now()
		time.Sleep(2 * time.Second)
		res := m.Stop()
		t.Logf("%v", res)
		if !res.LastFail.IsZero() && res.LastFail.After(start.Add(moved+500*time.Millisecond)) {
			t.Errorf("a request failed %v after the kill, the route had moved after %v: %v", res.LastFail.Sub(start), moved, res.Errors)
		}
		if res.LastOn["lb1"].After(start) {
			t.Errorf("lb1 served after it was killed")
		}
		counts, errs := l.Client(false, 2*time.Second).Spread(bgpVIP4, 60)
		if len(errs) > 0 || counts["lb1"] > 0 || counts["lb2"] == 0 || counts["lb3"] == 0 {
			t.Errorf("%v after the route moved: counts %v, %d failed", after.Sub(start), counts, len(errs))
		}
		nodes["lb1"].Restart()
		l.WaitNexthops(bgpVIP4, 30*time.Second, "lb1", "lb2", "lb3")
	})

	t.Run("node cut off: BFD", func(t *testing.T) {
		m := l.Client(false, 500*time.Millisecond).StartMeter(bgpVIP4, 20*time.Millisecond)
		time.Sleep(time.Second)
		start := time.Now()
		// The switch port of lb3 goes down: no FIN, no NOTIFICATION; BFD
		// (300ms x 3) notices before the hold time (3s) would.
		l.MustExec("sw", "ip", "link", "set", "lb3", "down")
		l.WaitNexthops(bgpVIP4, 15*time.Second, "lb1", "lb2")
		moved := time.Since(start)
		t.Logf("lb3 cut off -> router's route without lb3: %v (BFD 300ms x 3; hold time 3s)", moved.Round(time.Millisecond))
		if moved >= 2500*time.Millisecond {
			t.Errorf("the route moved after %v: the hold time, not BFD, took it", moved)
		}
		time.Sleep(2 * time.Second)
		res := m.Stop()
		t.Logf("%v", res)
		if res.Failed == 0 {
			t.Errorf("no request failed while lb3 was unreachable and still routed: the test does not test")
		}
		if !res.LastFail.IsZero() && res.LastFail.After(start.Add(moved+time.Second)) {
			t.Errorf("a request failed %v after the cut, the route had moved after %v", res.LastFail.Sub(start), moved)
		}
		counts, errs := l.Client(false, 2*time.Second).Spread(bgpVIP4, 60)
		if len(errs) > 0 || counts["lb3"] > 0 {
			t.Errorf("after the route moved: counts %v, %d failed", counts, len(errs))
		}
		l.MustExec("sw", "ip", "link", "set", "lb3", "up")
		start = time.Now()
		l.WaitNexthops(bgpVIP4, 30*time.Second, "lb1", "lb2", "lb3")
		t.Logf("lb3 back on the network -> route with lb3 again: %v (connect retry 5s)", time.Since(start).Round(time.Millisecond))
	})
}
