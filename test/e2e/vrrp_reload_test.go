//go:build linux

package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestVRRPReloadCases (issue 14) reloads the master of the lab pair while
// a client polls the VIP through lbd every 20 ms: the frontend and the
// stats page swap ports, a bind moves from 0.0.0.0 to the node's address
// on its port (neither refused as "address in use"), then use_vmac turned
// on restarts the VRRP instance, which hands the VIP over to lb2 as a
// planned stop does and preempts it back as the new instance. The client
// sees no failure through any of it.
func TestVRRPReloadCases(t *testing.T) {
	RequireLBD(t)
	t.Parallel()
	l := newVRRPLab(t)
	lb1, lb2 := startPairWaiting(t, l)
	ms := startMeters(t, l)
	node := l.Addr("lb1")
	get := func(url, user string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.SetBasicAuth(user, "lab")
		}
		resp, _, err := l.HTTPDo("client", req)
		if err != nil {
			t.Logf("GET %s: %v", url, err)
			return 0
		}
		return resp.StatusCode
	}
	reload := func(what, hcl string) {
		t.Helper()
		lb1.WriteConfig(hcl)
		if out, err := lb1.Ctl("reload"); err != nil {
			t.Fatalf("%s: reload refused: %v\n%s", what, err, out)
		}
	}

	// The frontend's :8080 and the stats page's :8404 swap.
	swapped := strings.Replace(LabConfig("lb1"), `"0.0.0.0:8080"]`, `"0.0.0.0:8404"]`, 1)
	swapped = strings.Replace(swapped, `bind    = "0.0.0.0:8404"`, `bind    = "0.0.0.0:8080"`, 1)
	if !strings.Contains(swapped, `"0.0.0.0:8404"]`) || !strings.Contains(swapped, `bind    = "0.0.0.0:8080"`) {
		t.Fatal("the lab config's binds changed: update the test")
	}
	reload("ports swapped", swapped)
	if c := get("http://"+node+":8404/", ""); c != 200 {
		t.Errorf("the frontend on the stats page's former port: %d", c)
	}
	if c := get("http://"+node+":8080/stats", "admin"); c != 200 {
		t.Errorf("the stats page on the frontend's former port: %d", c)
	}

	// 0.0.0.0:8404 becomes the node's address on the same port.
	moved := strings.Replace(swapped, `"0.0.0.0:8404"]`, `"`+node+`:8404"]`, 1)
	reload("bind moved on its port", moved)
	if c := get("http://"+node+":8404/", ""); c != 200 {
		t.Errorf("the frontend moved to %s:8404: %d", node, c)
	}

	// use_vmac restarts the instance: a planned handover to lb2, then
	// the new instance preempts it.
	t0 := time.Now()
	reload("use_vmac", withVRRP(moved, "use_vmac", "true"))
	lb2.WaitInstanceState(t, "VI_1", "MASTER", 5*time.Second)
	lb1.WaitInstanceState(t, "VI_1", "MASTER", 15*time.Second)
	lb2.WaitInstanceState(t, "VI_1", "BACKUP", 5*time.Second)
	Eventually(t, 5*time.Second, func() bool { return !l.HasAddr("lb1", VIP) && !l.HasAddr("lb2", VIP) },
		"the VIP on lb1's macvlan only")
	if out, _ := l.Exec("lb1", "ip", "-o", "addr", "show", "dev", "vrrp.51"); !strings.Contains(out, " "+VIP+"/") {
		t.Errorf("lb1's macvlan vrrp.51 does not hold the VIP: %q", out)
	}
	if len(logLines(lb1.Output(), "restarting: handing over first")) == 0 {
		t.Error("lb1 did not log the planned handover of the restarted instance")
	}
	time.Sleep(time.Second)
	t.Logf("restart by reload and preemption back took %s", time.Since(t0).Round(time.Millisecond))
	ms.noFailures(t, "reloads: ports swapped, a bind moved on its port, the VRRP instance restarted (use_vmac)")
}
