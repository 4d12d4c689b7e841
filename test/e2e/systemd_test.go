//go:build linux

package e2e

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSystemdPair runs the pair as users run it: lbd installed by
// deploy/install.sh on two nodes, each under a real systemd, driven by
// systemctl, journalctl and lbctl only. The steps run in order on one lab.
func TestSystemdPair(t *testing.T) {
	t.Parallel()
	p := NewSystemdPair(t)
	vipURL := "http://" + VIP + "/"

	t.Run("enable and start", func(t *testing.T) {
		for _, node := range []string{"lb1", "lb2"} {
			// Type=notify: enable --now returns once lbd said READY=1,
			// which it says once the proxy listens and VRRP runs.
			p.MustSystemctl(t, node, "enable", "--runtime", "--now", "lbd")
			ss, _ := p.Exec(node, "ss", "-Hltn")
			for _, want := range []string{"0.0.0.0:8080", VIP + ":80", VIP + ":9000"} {
				if !strings.Contains(ss, want) {
					t.Fatalf("%s: ready, but nothing listens on %s:\n%s", node, want, ss)
				}
			}
			if st := p.VIPState(node); st == "" {
				t.Fatalf("%s: ready, but VRRP does not answer", node)
			}
			if u := p.Property(node, "User"); u != "lbd" {
				t.Fatalf("%s: runs as %q", node, u)
			}
		}
		p.WaitVIPState(t, "lb1", "MASTER", 10*time.Second)
		p.WaitVIPState(t, "lb2", "BACKUP", 10*time.Second)
		for _, args := range [][]string{{"vip", "status"}, {"backend", "status"}} {
			out, err := p.CtlAsOperator("lb2", args...)
			if err != nil || !strings.Contains(out, "VI_1") && !strings.Contains(out, "web1") {
				t.Fatalf("lbctl %s as a member of the lbd group: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		if code, _, err := p.HTTPGet("client", vipURL); err != nil || code != 200 {
			t.Fatalf("through the VIP: %d %v", code, err)
		}
	})

	t.Run("reload applies an edited file", func(t *testing.T) {
		pid := p.MainPID("lb2")
		p.WriteConfig(t, "lb2", strings.Replace(LabConfig("lb2"), "address = \"192.0.2.22:80\"", "address = \"192.0.2.22:80\"\n    weight = 7", 1))
		p.MustSystemctl(t, "lb2", "reload", "lbd")
		Eventually(t, 5*time.Second, func() bool {
			out, _ := p.Ctl("lb2", "backend", "status", "web")
			return regexp.MustCompile(`web2 .* 7 `).MatchString(out)
		}, "lb2: web2 weight 7 after systemctl reload")
		if got := p.MainPID("lb2"); got != pid {
			t.Fatalf("reload replaced the process: %d -> %d", pid, got)
		}
	})

	t.Run("reload refuses a broken file", func(t *testing.T) {
		pid := p.MainPID("lb2")
		p.WriteConfig(t, "lb2", LabConfig("lb2")+"\nfrontend \"broken\" {\n  bind = [\"nonsense\"]\n}\n")
		out, err := p.Systemctl("lb2", "reload", "lbd")
		if err == nil {
			t.Fatalf("systemctl reload accepted a broken file:\n%s", out)
		}
		journal := p.Journal("lb2")
		if !regexp.MustCompile(`appliance\.hcl:\d+:\d+: `).MatchString(journal) {
			t.Fatalf("no FILE:LINE:COL diagnostic in the journal:\n%s", journal)
		}
		p.WaitActive(t, "lb2", 5*time.Second)
		if got := p.MainPID("lb2"); got != pid {
			t.Fatalf("the broken reload replaced the process: %d -> %d", pid, got)
		}
		if out, _ := p.Ctl("lb2", "backend", "status", "web"); !regexp.MustCompile(`web2 .* 7 `).MatchString(out) {
			t.Fatalf("the running configuration changed:\n%s", out)
		}
		p.WriteConfig(t, "lb2", LabConfig("lb2"))
		p.MustSystemctl(t, "lb2", "reload", "lbd")
	})

	t.Run("kill -9 of the master", func(t *testing.T) {
		m := p.StartMeter("client", vipURL, 20*time.Millisecond)
		old := p.MainPID("lb1")
		restarts := p.Property("lb1", "NRestarts")
		killed := time.Now()
		p.Kill(t, "lb1", "KILL")
		// The VIP leaves lb1 with the process (ExecStopPost), not with its
		// restart, and stays away until lbd runs there again.
		var gone time.Duration
		for {
			pid := p.MainPID("lb1")
			restarted := pid != 0 && pid != old
			has := p.HasAddr("lb1", VIP)
			switch {
			case has && gone != 0 && !restarted:
				t.Fatalf("the VIP came back on lb1 %v after the crash, before lbd restarted", time.Since(killed))
			case !has && gone == 0:
				gone = time.Since(killed)
			case has && gone == 0 && time.Since(killed) > 2*time.Second:
				t.Fatalf("the VIP is still on lb1 %v after the crash (lbd restarted: %v)", time.Since(killed), restarted)
			}
			if restarted || time.Since(killed) > 20*time.Second {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if gone == 0 {
			t.Fatal("the VIP never left lb1 before lbd restarted")
		}
		t.Logf("VIP off lb1's interface %v after kill -9", gone.Round(time.Millisecond))
		p.WaitVIPState(t, "lb2", "MASTER", 5*time.Second)
		p.WaitActive(t, "lb1", 20*time.Second)
		if p.Property("lb1", "NRestarts") == restarts {
			t.Fatalf("NRestarts did not move from %s", restarts)
		}
		// Back as BACKUP, then it preempts (preempt = true, priority 150).
		p.WaitVIPState(t, "lb1", "MASTER", 10*time.Second)
		newPID := p.MainPID("lb1")
		lines, _ := p.Exec("lb1", "journalctl", "-u", "lbd", "_PID="+strconv.Itoa(newPID), "--no-pager", "-o", "cat")
		first := strings.Index(lines, `"to":"BACKUP"`)
		master := strings.Index(lines, `"to":"MASTER"`)
		if first < 0 || master < 0 || first > master {
			t.Fatalf("the restarted lbd did not come back as BACKUP before MASTER:\n%s", tail(lines, 4000))
		}
		res := m.Stop()
		t.Logf("client polling every 20ms through the VIP: %s", res)
		if res.LongestGap > 3*time.Second {
			t.Fatalf("clients went %v without service", res.LongestGap)
		}
	})

	t.Run("watchdog restarts a hung lbd", func(t *testing.T) {
		old := p.MainPID("lb1")
		p.Kill(t, "lb1", "STOP")
		// The hung master sends no advert: the peer takes over at once.
		p.WaitVIPState(t, "lb2", "MASTER", 5*time.Second)
		Eventually(t, 40*time.Second, func() bool {
			pid := p.MainPID("lb1")
			return pid != 0 && pid != old && p.Property("lb1", "ActiveState") == "active"
		}, "systemd's watchdog kills and restarts the hung lbd")
		if j, _ := p.Exec("lb1", "journalctl", "--no-pager", "-o", "cat"); !strings.Contains(strings.ToLower(j), "watchdog timeout") {
			t.Fatalf("no watchdog timeout in the journal:\n%s", tail(j, 4000))
		}
		p.WaitVIPState(t, "lb1", "MASTER", 10*time.Second)
	})

	t.Run("systemctl stop of the master hands over", func(t *testing.T) {
		m := p.StartMeter("client", vipURL, 20*time.Millisecond)
		time.Sleep(200 * time.Millisecond)
		p.MustSystemctl(t, "lb1", "stop", "lbd")
		p.WaitVIPState(t, "lb2", "MASTER", 5*time.Second)
		time.Sleep(300 * time.Millisecond)
		res := m.Stop()
		t.Logf("client polling every 20ms through the VIP: %s", res)
		if res.Failed != 0 {
			t.Fatalf("planned handover lost %d requests", res.Failed)
		}
		if p.HasAddr("lb1", VIP) {
			t.Fatal("the VIP is still on the stopped node")
		}
	})

	t.Run("both stopped, then started in either order", func(t *testing.T) {
		for _, order := range [][]string{{"lb2", "lb1"}, {"lb1", "lb2"}} {
			p.MustSystemctl(t, "lb1", "stop", "lbd")
			p.MustSystemctl(t, "lb2", "stop", "lbd")
			if h := p.VIPHolders(); len(h) != 0 {
				t.Fatalf("both stopped, yet the VIP is on %v", h)
			}
			for _, node := range order {
				p.MustSystemctl(t, node, "start", "lbd")
			}
			p.WaitVIPState(t, "lb1", "MASTER", 10*time.Second)
			p.WaitVIPState(t, "lb2", "BACKUP", 10*time.Second)
			Eventually(t, 5*time.Second, func() bool {
				h := p.VIPHolders()
				return len(h) == 1 && h[0] == "lb1"
			}, "started %v: the VIP on lb1 only (now %v)", order, Lazy(func() string { return strings.Join(p.VIPHolders(), ",") }))
		}
	})

	t.Run("hardening", func(t *testing.T) {
		out, _ := p.Exec("lb1", "systemd-analyze", "security", "--no-pager", "lbd")
		m := regexp.MustCompile(`Overall exposure level for lbd.service: ([0-9.]+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no exposure level in:\n%s", tail(out, 2000))
		}
		if level, _ := strconv.ParseFloat(m[1], 64); level > 2.0 {
			t.Fatalf("exposure %s above 2.0:\n%s", m[1], tail(out, 4000))
		}
		t.Logf("systemd-analyze security lbd: exposure %s", m[1])
		// Scripts run as the service's user, under its hardening: a
		// vrrp_script and a notify script that records who ran it, in
		// lbd's runtime directory (the only place it may write).
		hcl := LabConfig("lb2") + `
vrrp_script "chk_true" {
  script   = "/bin/true"
  interval = "1s"
  rise     = 1
  fall     = 1
}
`
		hcl = strings.Replace(hcl, `  track_interface   = ["eth0"]`, `  track_interface   = ["eth0"]
  track_script      = ["chk_true"]
  notify            = "/bin/sh -c 'id -un > /run/lbd/notify.who; echo $2 >> /run/lbd/notify.who'"`, 1)
		p.WriteConfig(t, "lb2", hcl)
		p.MustSystemctl(t, "lb2", "restart", "lbd")
		p.WaitVIPState(t, "lb2", "BACKUP", 10*time.Second)
		Eventually(t, 5*time.Second, func() bool {
			who, _ := p.Exec("lb2", "cat", "/run/lbd/notify.who")
			return strings.HasPrefix(who, "lbd\n") && strings.Contains(who, "BACKUP")
		}, "the notify script ran as lbd with the new state")
		if out, _ := p.Ctl("lb2", "vip", "status"); !strings.Contains(out, "chk_true") {
			t.Fatalf("the tracked script does not show:\n%s", out)
		}
	})

	t.Run("binary upgrade with lbctl upgrade", func(t *testing.T) {
		p.WaitVIPState(t, "lb1", "MASTER", 10*time.Second)
		oldPID := p.MainPID("lb1")
		restarts := p.Property("lb1", "NRestarts")
		lb2Before := p.transitions(t, "lb2")
		// As the README says: build, install.sh, lbctl upgrade.
		buildLBD(t, filepath.Join(p.Base, "src", "bin", "lbd"), "e2e-systemd-upgraded")
		if out, err := p.Exec("lb1", "env", "PREFIX="+p.Base, "SYSCONFDIR="+p.etc("lb1"), "UNITDIR=/run/systemd/system",
			"DOCDIR="+p.Base+"/doc", "SYSUSERSDIR="+p.Base+"/sysusers", "bash", p.Base+"/src/deploy/install.sh"); err != nil {
			t.Fatalf("install.sh: %v\n%s", err, out)
		}
		m := p.StartMeter("client", vipURL, 20*time.Millisecond)
		time.Sleep(300 * time.Millisecond)
		out, err := p.CtlAsOperator("lb1", "upgrade")
		if err != nil {
			t.Fatalf("lbctl upgrade: %v\n%s\njournal:\n%s", err, out, p.Journal("lb1"))
		}
		t.Logf("lbctl upgrade: %s", strings.TrimSpace(out))
		Eventually(t, 5*time.Second, func() bool { pid := p.MainPID("lb1"); return pid != 0 && pid != oldPID },
			"systemd follows the new main process")
		time.Sleep(500 * time.Millisecond)
		res := m.Stop()
		t.Logf("client polling every 20ms through the VIP: %s", res)
		if res.Failed != 0 {
			t.Errorf("the upgrade lost %d requests", res.Failed)
		}
		newPID := p.MainPID("lb1")
		// Past WatchdogSec (10s) the new process is still the service's:
		// it pings the watchdog, and systemd never restarted anything.
		time.Sleep(12 * time.Second)
		if pid := p.MainPID("lb1"); pid != newPID || p.Property("lb1", "ActiveState") != "active" || p.Property("lb1", "NRestarts") != restarts {
			t.Fatalf("after the upgrade: main pid %d (was %d), %s, restarts %s (was %s)\njournal:\n%s", pid, newPID,
				p.Property("lb1", "ActiveState"), p.Property("lb1", "NRestarts"), restarts, p.Journal("lb1"))
		}
		if info, _ := p.Ctl("lb1", "info"); !strings.Contains(info, "e2e-systemd-upgraded") {
			t.Fatalf("lbctl info after the upgrade:\n%s", info)
		}
		if p.VIPState("lb1") != "MASTER" || p.transitions(t, "lb2") != lb2Before {
			t.Fatalf("VRRP moved during the upgrade: lb1 %s, lb2 transitions %d -> %d", p.VIPState("lb1"), lb2Before, p.transitions(t, "lb2"))
		}
		if h := p.VIPHolders(); len(h) != 1 || h[0] != "lb1" {
			t.Fatalf("the VIP is on %v", h)
		}
	})
}

// transitions is VI_1's state transition count on node.
func (p *SystemdPair) transitions(t *testing.T, node string) uint64 {
	t.Helper()
	out, err := p.Ctl(node, "--json", "vip", "status")
	if err != nil {
		t.Fatalf("%s: lbctl vip status: %v\n%s", node, err, out)
	}
	var st []struct {
		Name     string
		Counters struct{ Transitions uint64 }
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Name == "VI_1" {
			return s.Counters.Transitions
		}
	}
	t.Fatalf("%s: no VI_1", node)
	return 0
}
