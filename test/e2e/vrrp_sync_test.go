//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"lbd/test/keepalived"
)

// End-to-end tests of vrrp_sync_group (issue 14): a front VIP and a back
// VIP that move together, between two lbd nodes and against keepalived's
// own vrrp_sync_group.

// VIP2 is the second ("back") VIP of the sync group tests, VRID 52.
const VIP2 = "192.0.2.101"

// withSyncGroup adds to a rendered lab config a second instance VI_2 (VRID
// 52, VIP2, the same priority, version and interval as VI_1) tracking
// vrrp_script chk_back (script, weight), and vrrp_sync_group "G" of VI_1
// and VI_2 whose notify scripts append to notifyLog.
func withSyncGroup(hcl, script string, weight int, notifyLog string) string {
	prio := "100"
	if strings.Contains(hcl, "priority          = 150") {
		prio = "150"
	}
	return hcl + fmt.Sprintf(`
vrrp_script "chk_back" {
  script   = %q
  interval = "200ms"
  timeout  = "2s"
  rise     = 1
  fall     = 1
  weight   = %d
}

vrrp_instance "VI_2" {
  interface         = "eth0"
  priority          = %s
  virtual_router_id = 52
  version           = 3
  advert_int        = "100ms"
  virtual_ipaddress = ["%s/24"]
  garp_master_delay = "1s"
  track_script      = ["chk_back"]
}

vrrp_sync_group "G" {
  group         = ["VI_1", "VI_2"]
  notify_master = "/bin/sh -c 'echo master >> %[5]s'"
  notify        = "/bin/sh -c 'echo \"$0 $1 $2 $3\" >> %[5]s'"
}
`, script, weight, prio, VIP2, notifyLog)
}

// holdersOf lists the lb nodes whose eth0 carries addr.
func holdersOf(l *Lab, addr string) []string {
	var hs []string
	for _, h := range []string{"lb1", "lb2"} {
		if l.HasAddr(h, addr) {
			hs = append(hs, h)
		}
	}
	return hs
}

// waitBoth waits until node alone holds both VIPs of the group.
func waitBoth(t *testing.T, l *vrrpLab, timeout time.Duration, node string) {
	t.Helper()
	Eventually(t, timeout, func() bool {
		return fmt.Sprint(holdersOf(l.Lab, VIP), holdersOf(l.Lab, VIP2)) == fmt.Sprint([]string{node}, []string{node})
	}, "both VIPs on %s only (holders %s)", node, Lazy(func() string {
		return fmt.Sprint(holdersOf(l.Lab, VIP), holdersOf(l.Lab, VIP2))
	}))
}

// waitLines waits until the file holds want (lines, in order, after what
// it held before: from).
func waitLines(t *testing.T, path string, from int, want ...string) int {
	t.Helper()
	var got []string
	Eventually(t, 10*time.Second, func() bool {
		b, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) < from {
			return false
		}
		got = lines[from:]
		return strings.Join(got, "|") == strings.Join(want, "|")
	}, "%s to get %q (has %q)", path, want, Lazy(func() string { return fmt.Sprint(got) }))
	return from + len(want)
}

// TestVRRPSyncGroup: lb1 and lb2 each run VI_1 (the lab's VIP) and VI_2
// (VIP2) in vrrp_sync_group G. On lb1, VI_2 tracks a script; when it
// fails, lb1's group goes to FAULT and both VIPs move to lb2 together
// (with weight 0, and with a negative weight, which counts as 0 in a
// group as in keepalived), and both come back when it recovers. The
// group's notify scripts run once per group state.
func TestVRRPSyncGroup(t *testing.T) {
	RequireLBD(t)
	t.Parallel()
	l := newVRRPLab(t)
	fail := filepath.Join(l.Dir(), "back-fails")
	check := "/usr/bin/test ! -e " + fail
	notify1 := filepath.Join(l.Dir(), "lb1-group.log")
	lb1 := l.StartLBD("lb1", withSyncGroup(LabConfig("lb1"), check, 0, notify1))
	lb2 := l.StartLBD("lb2", withSyncGroup(LabConfig("lb2"), "/bin/true", 0, filepath.Join(l.Dir(), "lb2-group.log")))
	for _, n := range []string{"VI_1", "VI_2"} {
		lb1.WaitInstanceState(t, n, "MASTER", 15*time.Second)
		lb2.WaitInstanceState(t, n, "BACKUP", 5*time.Second)
	}
	waitBoth(t, l, 5*time.Second, "lb1")
	seen := waitLines(t, notify1, 0, "GROUP G BACKUP 0", "master", "GROUP G MASTER 0")
	out := lb1.MustCtl(t, "vip", "status")
	if !regexp.MustCompile(`(?m)^G\s+MASTER\s+VI_1=MASTER,VI_2=MASTER\s*$`).MatchString(out) {
		t.Errorf("lbctl vip status does not show the group:\n%s", out)
	}

	// Weight 0: VI_2's script fails, lb1's group is in FAULT, lb2 takes
	// both VIPs.
	touch(t, fail)
	lb1.WaitInstanceState(t, "VI_2", "FAULT", 5*time.Second)
	lb1.WaitInstanceState(t, "VI_1", "FAULT", 5*time.Second)
	waitBoth(t, l, 5*time.Second, "lb2")
	seen = waitLines(t, notify1, seen, "GROUP G FAULT 0")
	var vs []struct {
		Name           string `json:"name"`
		Reason         string `json:"reason"`
		SyncGroup      string `json:"sync_group"`
		SyncGroupState string `json:"sync_group_state"`
	}
	if err := lb1.CtlJSON(&vs, "vip", "status"); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Name == "VI_1" && !strings.Contains(v.Reason, "sync group G: VI_2 is in FAULT") {
			t.Errorf("VI_1's reason = %q, want VI_2's fault named", v.Reason)
		}
		if v.SyncGroup != "G" || v.SyncGroupState != "FAULT" {
			t.Errorf("%s: sync group %q in state %q, want G in FAULT", v.Name, v.SyncGroup, v.SyncGroupState)
		}
	}
	os.Remove(fail)
	waitBoth(t, l, 10*time.Second, "lb1")
	seen = waitLines(t, notify1, seen, "GROUP G BACKUP 0", "master", "GROUP G MASTER 0")

	// A negative weight, by reload: in a sync group it counts as weight 0
	// (keepalived's rule), so VI_2's failure is again a FAULT of the group,
	// not a priority below lb2's for VI_2 alone.
	lb1.WriteConfig(withSyncGroup(LabConfig("lb1"), check, -60, notify1))
	lb1.MustCtl(t, "reload")
	touch(t, fail)
	lb1.WaitInstanceState(t, "VI_1", "FAULT", 5*time.Second)
	lb1.WaitInstanceState(t, "VI_2", "FAULT", 5*time.Second)
	waitBoth(t, l, 5*time.Second, "lb2")
	seen = waitLines(t, notify1, seen, "GROUP G FAULT 0")
	os.Remove(fail)
	waitBoth(t, l, 10*time.Second, "lb1")
	waitLines(t, notify1, seen, "GROUP G BACKUP 0", "master", "GROUP G MASTER 0")
}

// TestVRRPSyncGroupKeepalived pairs lbd's group with keepalived's
// vrrp_sync_group of the same two instances: lbd's fault moves both VIPs
// to keepalived, its recovery brings both back, keepalived's group
// changes state as one, and keepalived logs no complaint.
func TestVRRPSyncGroupKeepalived(t *testing.T) {
	RequireLBD(t)
	t.Parallel()
	l := newVRRPLab(t)
	inst := func(name string, vrid int, vip string) keepalived.Instance {
		return keepalived.Instance{Name: name, Interface: "eth0", VRID: vrid, Priority: 100, Version: 3, AdvertInt: labAdvertInt,
			VIPs: []string{vip + "/24"}}
	}
	k := keepalived.New(t, keepalived.Options{Bin: keepalived.Require(t), Netns: l.NS("lb2"), Name: "lb2",
		Dir: filepath.Join(l.Dir(), "keepalived-lb2"),
		Config: keepalived.Config{RouterID: "lb2",
			Instances:  []keepalived.Instance{inst("VI_1", 51, VIP), inst("VI_2", 52, VIP2)},
			SyncGroups: []keepalived.SyncGroup{{Name: "G", Instances: []string{"VI_1", "VI_2"}}}}})
	k.Start()
	fail := filepath.Join(l.Dir(), "back-fails")
	notify1 := filepath.Join(l.Dir(), "lb1-group.log")
	lb1 := l.StartLBD("lb1", withSyncGroup(LabConfig("lb1"), "/usr/bin/test ! -e "+fail, 0, notify1))
	lb1.WaitInstanceState(t, "VI_1", "MASTER", 15*time.Second)
	lb1.WaitInstanceState(t, "VI_2", "MASTER", 5*time.Second)
	waitBoth(t, l, 5*time.Second, "lb1")

	touch(t, fail)
	lb1.WaitInstanceState(t, "VI_1", "FAULT", 5*time.Second)
	waitBoth(t, l, 5*time.Second, "lb2")
	k.WaitLog("(VI_1) Entering MASTER STATE", 1, 5*time.Second)
	k.WaitLog("(VI_2) Entering MASTER STATE", 1, 5*time.Second)

	os.Remove(fail)
	waitBoth(t, l, 10*time.Second, "lb1")
	for _, n := range []string{"VI_1", "VI_2"} {
		lb1.WaitInstanceState(t, n, "MASTER", 5*time.Second)
		k.WaitLog("("+n+") Entering BACKUP STATE", 2, 5*time.Second)
	}
	waitLines(t, notify1, 0, "GROUP G BACKUP 0", "master", "GROUP G MASTER 0", "GROUP G FAULT 0",
		"GROUP G BACKUP 0", "master", "GROUP G MASTER 0")
	k.CheckNoComplaints()
}

// TestVRRPSyncGroupKeepalivedMaster is the other way round: keepalived's
// group is master on lb1 (priority 150), lbd's the backup on lb2. When
// keepalived's VI_2 loses its tracked interface, keepalived's group goes
// to FAULT and lbd's group takes both VIPs; when the interface is back,
// keepalived preempts both, and lbd's group follows as one.
func TestVRRPSyncGroupKeepalivedMaster(t *testing.T) {
	RequireLBD(t)
	t.Parallel()
	l := newVRRPLab(t)
	for _, args := range [][]string{{"ip", "link", "add", "trk0", "type", "veth", "peer", "name", "trk1"}, {"ip", "link", "set", "trk1", "up"}, {"ip", "link", "set", "trk0", "up"}} {
		if out, err := l.Exec("lb1", args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	inst := func(name string, vrid int, vip string, extra ...string) keepalived.Instance {
		return keepalived.Instance{Name: name, Interface: "eth0", VRID: vrid, Priority: 150, Version: 3, AdvertInt: labAdvertInt,
			VIPs: []string{vip + "/24"}, Extra: extra}
	}
	k := keepalived.New(t, keepalived.Options{Bin: keepalived.Require(t), Netns: l.NS("lb1"), Name: "lb1",
		Dir: filepath.Join(l.Dir(), "keepalived-lb1"),
		Config: keepalived.Config{RouterID: "lb1",
			Instances:  []keepalived.Instance{inst("VI_1", 51, VIP), inst("VI_2", 52, VIP2, "track_interface {", "  trk0", "}")},
			SyncGroups: []keepalived.SyncGroup{{Name: "G", Instances: []string{"VI_1", "VI_2"}}}}})
	k.Start()
	notify2 := filepath.Join(l.Dir(), "lb2-group.log")
	lb2 := l.StartLBD("lb2", withSyncGroup(LabConfig("lb2"), "/bin/true", 0, notify2))
	k.WaitLog("(VI_1) Entering MASTER STATE", 1, 10*time.Second)
	waitBoth(t, l, 10*time.Second, "lb1")
	lb2.WaitInstanceState(t, "VI_1", "BACKUP", 5*time.Second)
	lb2.WaitInstanceState(t, "VI_2", "BACKUP", 5*time.Second)

	if out, err := l.Exec("lb1", "ip", "link", "set", "trk0", "down"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lb2.WaitInstanceState(t, "VI_1", "MASTER", 5*time.Second)
	lb2.WaitInstanceState(t, "VI_2", "MASTER", 5*time.Second)
	waitBoth(t, l, 5*time.Second, "lb2")

	if out, err := l.Exec("lb1", "ip", "link", "set", "trk0", "up"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	waitBoth(t, l, 10*time.Second, "lb1")
	lb2.WaitInstanceState(t, "VI_1", "BACKUP", 5*time.Second)
	lb2.WaitInstanceState(t, "VI_2", "BACKUP", 5*time.Second)
	waitLines(t, notify2, 0, "GROUP G BACKUP 0", "master", "GROUP G MASTER 0", "GROUP G BACKUP 0")
	k.CheckNoComplaints()
}
