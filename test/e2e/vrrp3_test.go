//go:build linux

package e2e

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"lbd/test/keepalived"
)

// End-to-end tests of VRRPv3 (issue 14): the kill -9 failover gap of lbd
// and of keepalived measured side by side, and IPv6 VIPs. They run in
// parallel with each other (each in labs of its own).

// VIP6 is the IPv6 VIP the IPv6 tests add to the lab pair.
const VIP6 = "2001:db8::100"

// gapRuns is how many kill -9 failovers TestVRRPv3FailoverGap measures on
// each side.
const gapRuns = 5

// TestVRRPv3FailoverGap kills the master with SIGKILL (and the stand-in
// frontend on its node: its proxy dies with it) while the client polls
// the VIP every 20ms on new connections, gapRuns times, for an lbd pair
// and for a keepalived pair with the same VRRPv3 settings (vrrp_version 3,
// advert_int 0.1, priorities 150 and 100), side by side. The client's
// longest gap is logged per run; each must stay under the failover bound.
func TestVRRPv3FailoverGap(t *testing.T) {
	RequireLBD(t)
	results := map[string][]time.Duration{} // written by the subtests, read once they are all done
	t.Run("pairs", func(t *testing.T) {
		t.Run("lbd", func(t *testing.T) {
			t.Parallel()
			results["lbd, through its proxy"], results["lbd, through the stand-in frontends"] = lbdGaps(t)
		})
		t.Run("keepalived", func(t *testing.T) {
			t.Parallel()
			results["keepalived, through the stand-in frontends"] = keepalivedGaps(t)
		})
	})
	for _, who := range []string{"lbd, through its proxy", "lbd, through the stand-in frontends", "keepalived, through the stand-in frontends"} {
		g := results[who]
		if len(g) == 0 {
			continue
		}
		s := slices.Clone(g)
		slices.Sort(s)
		t.Logf("FIGURE kill -9 of the master, VRRPv3 advert_int 100ms, client every 20ms: %s longest gap per run %v: min %s, median %s, max %s",
			who, roundAll(g), s[0].Round(time.Millisecond), s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
	}
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// lbdGaps measures the lbd pair, through lbd's proxy (what its clients
// see) and through the stand-in frontends (what the keepalived pair is
// measured through).
func lbdGaps(t *testing.T) (proxy, standIn []time.Duration) {
	l := newVRRPLab(t)
	lb1, lb2 := startPairWaiting(t, l)
	ms := startMeters(t, l)
	for run := range gapRuns {
		if run > 0 {
			ms.restart(t, l)
		}
		lb1.Kill()
		ms.fronts["lb1"].Kill()
		lb2.WaitInstanceState(t, "VI_1", "MASTER", 10*time.Second)
		time.Sleep(time.Second)
		si, p := ms.stop(t, fmt.Sprintf("run %d: kill -9 of lbd on lb1", run+1))
		proxy, standIn = append(proxy, p.LongestGap), append(standIn, si.LongestGap)
		if p.LongestGap > failoverBound {
			t.Errorf("run %d: the client went %s without an answer, more than %s", run+1, p.LongestGap, failoverBound)
		}
		ms.fronts["lb1"] = l.Start("lb1", Bin(t, "lab-webserver"), "-name", "lb1", "-http", "0.0.0.0:"+standInPort)
		lb1.Restart()
		lb1.WaitInstanceState(t, "VI_1", "MASTER", 15*time.Second)
		lb2.WaitInstanceState(t, "VI_1", "BACKUP", 5*time.Second)
		waitHolders(t, l, 5*time.Second, "lb1")
	}
	return proxy, standIn
}

// keepalivedGaps measures a keepalived pair, through the stand-in
// frontends (keepalived has no proxy).
func keepalivedGaps(t *testing.T) []time.Duration {
	bin := keepalived.Require(t)
	l := newVRRPLab(t)
	peer := func(node string, prio int) *keepalived.Peer {
		return keepalived.New(t, keepalived.Options{Bin: bin, Netns: l.NS(node), Name: node, Dir: filepath.Join(l.Dir(), "keepalived-"+node),
			Config: keepalived.Config{RouterID: node, Instances: []keepalived.Instance{{Interface: "eth0", VRID: 51, Priority: prio,
				Version: 3, AdvertInt: labAdvertInt, VIPs: []string{VIP + "/24"}}}}})
	}
	k1, k2 := peer("lb1", 150), peer("lb2", 100)
	k2.Start()
	k1.Start()
	waitHolders(t, l, 10*time.Second, "lb1")
	ms := startMetersOn(t, l, false)
	ms.standIn.Stop()
	var gaps []time.Duration
	for run := range gapRuns {
		m := l.StartMeter("client", "http://"+VIP+":"+standInPort+"/", 20*time.Millisecond)
		Eventually(t, 10*time.Second, func() bool { return m.Snapshot().OK > 10 }, "the client to be served through the VIP")
		k1.Kill()
		ms.fronts["lb1"].Kill()
		k2.WaitLog("Entering MASTER STATE", run+1, 10*time.Second)
		time.Sleep(time.Second)
		r := m.Stop()
		t.Logf("run %d: kill -9 of keepalived on lb1, client through the stand-in frontends: %s", run+1, r)
		gaps = append(gaps, r.LongestGap)
		ms.fronts["lb1"] = l.Start("lb1", Bin(t, "lab-webserver"), "-name", "lb1", "-http", "0.0.0.0:"+standInPort)
		k1.Start()
		k2.WaitLog("Entering BACKUP STATE", run+2, 10*time.Second)
		waitHolders(t, l, 5*time.Second, "lb1")
	}
	k1.CheckNoComplaints()
	k2.CheckNoComplaints()
	return gaps
}

// enableIPv6 turns IPv6 on in lab hosts (lab.sh leaves it off), without
// duplicate address detection, and gives each 2001:db8::<host part of
// its IPv4 address>/64.
func enableIPv6(t *testing.T, l *Lab, hosts ...string) {
	t.Helper()
	for _, h := range hosts {
		v4 := l.Addr(h)
		v6 := "2001:db8::" + v4[strings.LastIndex(v4, ".")+1:] + "/64"
		for _, cmd := range [][]string{
			{"sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.eth0.accept_dad=0"},
			{"sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.default.disable_ipv6=0", "net.ipv6.conf.eth0.disable_ipv6=0"},
			{"ip", "addr", "add", v6, "dev", "eth0", "nodad"},
		} {
			if out, err := l.Exec(h, cmd...); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
		}
		Eventually(t, 5*time.Second, func() bool {
			out, _ := l.Exec(h, "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link")
			return strings.Contains(out, "fe80::") && !strings.Contains(out, "tentative")
		}, "%s: a link-local address", h)
	}
}

// withIPv6VIP adds to a rendered lab config a second instance, VI_6, for
// VIP6 with the same VRID (IPv4 and IPv6 virtual routers are separate),
// and binds the web frontend to VIP6 too.
func withIPv6VIP(hcl string) string {
	hcl = strings.Replace(hcl, `bind            = ["192.0.2.100:80", "0.0.0.0:8080"]`,
		`bind            = ["192.0.2.100:80", "[`+VIP6+`]:80", "0.0.0.0:8080"]`, 1)
	i := strings.Index(hcl, `vrrp_instance "VI_1" {`)
	vi := hcl[i:]
	vi = strings.Replace(vi, `vrrp_instance "VI_1" {`, `vrrp_instance "VI_6" {`, 1)
	vi = strings.Replace(vi, `virtual_ipaddress = ["192.0.2.100/24"]`, `virtual_ipaddress = ["`+VIP6+`/64"]`, 1)
	return hcl + "\n" + vi
}

// holders6 lists the lb nodes whose eth0 carries VIP6.
func holders6(l *Lab) []string {
	var hs []string
	for _, h := range []string{"lb1", "lb2"} {
		out, err := l.Exec(h, "ip", "-6", "-o", "addr", "show", "dev", "eth0")
		if err == nil && strings.Contains(out, " "+VIP6+"/") {
			hs = append(hs, h)
		}
	}
	return hs
}

// TestVRRPv3IPv6: an lbd pair serving an IPv6 VIP (VRRPv3, ff02::12,
// unsolicited neighbour advertisements) beside the IPv4 one: election, a
// kill -9 failover measured by a client polling [VIP6]:80 every 20ms, the
// crashed node's return, and a SIGTERM handover without a failed request.
func TestVRRPv3IPv6(t *testing.T) {
	RequireLBD(t)
	t.Parallel()
	l := newVRRPLab(t)
	enableIPv6(t, l.Lab, "lb1", "lb2", "client")
	lb1 := l.StartLBD("lb1", withIPv6VIP(LabConfig("lb1")))
	lb2 := l.StartLBD("lb2", withIPv6VIP(LabConfig("lb2")))
	for _, vi := range []string{"VI_1", "VI_6"} {
		lb1.WaitInstanceState(t, vi, "MASTER", 15*time.Second)
		lb2.WaitInstanceState(t, vi, "BACKUP", 5*time.Second)
	}
	Eventually(t, 5*time.Second, func() bool { return fmt.Sprint(holders6(l.Lab)) == "[lb1]" }, "VIP6 on lb1 only (is on %v)", Lazy(func() string { return fmt.Sprint(holders6(l.Lab)) }))
	vs, err := lb2.VIPStatus()
	if err != nil || len(vs) != 2 || !strings.HasPrefix(vs[1].Master, "fe80::") {
		t.Fatalf("lb2's view of VI_6: %+v %v", vs, err)
	}

	url := "http://[" + VIP6 + "]/"
	m := l.StartMeter("client", url, 20*time.Millisecond)
	Eventually(t, 10*time.Second, func() bool { return m.Snapshot().OK > 10 }, "the client to be served through %s", url)
	lb1.Kill()
	lb2.WaitInstanceState(t, "VI_6", "MASTER", 10*time.Second)
	time.Sleep(time.Second)
	r := m.Stop()
	t.Logf("FIGURE IPv6 VIP, kill -9 of the master, client every 20ms through lbd: %s", r)
	if r.LongestGap > failoverBound || r.Servers["web1"]+r.Servers["web2"] == 0 {
		t.Errorf("the client went %s without an answer (bound %s)", r.LongestGap, failoverBound)
	}

	lb1.Restart()
	lb1.WaitInstanceState(t, "VI_6", "MASTER", 15*time.Second)
	lb2.WaitInstanceState(t, "VI_6", "BACKUP", 5*time.Second)
	Eventually(t, 5*time.Second, func() bool { return fmt.Sprint(holders6(l.Lab)) == "[lb1]" }, "VIP6 back on lb1 only")

	m = l.StartMeter("client", url, 20*time.Millisecond)
	Eventually(t, 10*time.Second, func() bool { return m.Snapshot().OK > 10 }, "the client to be served through %s", url)
	if err := lb1.Stop(syscall.SIGTERM); err != nil {
		t.Fatalf("lb1 SIGTERM: %v", err)
	}
	lb2.WaitInstanceState(t, "VI_6", "MASTER", 5*time.Second)
	time.Sleep(time.Second)
	r = m.Stop()
	t.Logf("FIGURE IPv6 VIP, SIGTERM of the master, client every 20ms through lbd: %s", r)
	if r.Failed != 0 {
		t.Errorf("SIGTERM handover over IPv6: %d requests failed: %v", r.Failed, r.Errors)
	}
	logSwitch(t, "IPv6 SIGTERM of the master", lb1, lb2)
}
