//go:build linux

package vrrp

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests pair lbd with Debian's keepalived (2.2) on one VRID, in both
// roles, and check that keepalived has nothing to complain about.

func requireKeepalived(t *testing.T) string {
	t.Helper()
	requireRoot(t)
	p, err := exec.LookPath("keepalived")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("keepalived is not installed (apt-get install keepalived)")
		}
		t.Skip("keepalived is not installed (apt-get install keepalived)")
	}
	return p
}

type keepalived struct {
	t    *testing.T
	n    *labNode
	bin  string
	dir  string
	prio int
	cmd  *exec.Cmd
	log  *syncBuffer
	logs []string // output of earlier runs
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (n *labNode) keepalived(bin string, prio int) *keepalived {
	k := &keepalived{t: n.lab.t, n: n, bin: bin, dir: n.lab.t.TempDir(), prio: prio}
	conf := fmt.Sprintf(`global_defs {
  router_id %s
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority %d
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass s3cret
  }
  virtual_ipaddress {
    192.0.2.100/24
  }
}
`, n.ns, prio)
	if err := os.WriteFile(filepath.Join(k.dir, "keepalived.conf"), []byte(conf), 0o644); err != nil {
		k.t.Fatal(err)
	}
	n.lab.t.Cleanup(func() {
		k.kill()
		if k.t.Failed() {
			k.t.Logf("keepalived (%s) log:\n%s", n.name, k.allLogs())
		}
	})
	return k
}

func (k *keepalived) start() {
	k.t.Helper()
	if k.log != nil {
		k.logs = append(k.logs, k.log.String())
	}
	k.log = &syncBuffer{}
	k.cmd = exec.Command("ip", "netns", "exec", k.n.ns, k.bin, "-n", "-l", "-D", "-P", "-G",
		"-f", filepath.Join(k.dir, "keepalived.conf"),
		"-p", filepath.Join(k.dir, "keepalived.pid"),
		"-r", filepath.Join(k.dir, "vrrp.pid"))
	k.cmd.Stdout, k.cmd.Stderr = k.log, k.log
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := k.cmd.Start(); err != nil {
		k.t.Fatal(err)
	}
	k.waitLog("Startup complete", 10*time.Second)
}

// stop is a graceful stop (SIGTERM), as systemctl stop keepalived.
func (k *keepalived) stop() {
	if k.cmd == nil {
		return
	}
	_ = k.cmd.Process.Signal(syscall.SIGTERM)
	_ = k.cmd.Wait()
	k.cmd = nil
}

// kill is a crash: SIGKILL to keepalived and its VRRP child.
func (k *keepalived) kill() {
	if k.cmd == nil {
		return
	}
	_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
	_ = k.cmd.Wait()
	k.cmd = nil
}

func (k *keepalived) waitLog(substr string, within time.Duration) {
	k.t.Helper()
	waitFor(k.t, within, fmt.Sprintf("keepalived on %s to log %q", k.n.name, substr), func() bool {
		return strings.Contains(k.log.String(), substr)
	})
}

// count is how many lines of the current run contain substr.
func (k *keepalived) count(substr string) int { return strings.Count(k.log.String(), substr) }

func (k *keepalived) allLogs() string {
	s := strings.Join(k.logs, "\n--- restart ---\n")
	if k.log != nil {
		s += "\n" + k.log.String()
	}
	return s
}

var complaint = regexp.MustCompile(`(?i)invalid|bogus|mismatch|\bttl\b|wrong|checksum|error|unknown|too (short|long)|incomplete|not present`)

// complaints are keepalived's log lines about our packets.
func (k *keepalived) complaints() []string {
	var out []string
	for _, line := range strings.Split(k.allLogs(), "\n") {
		if complaint.MatchString(line) {
			out = append(out, line)
		}
	}
	return out
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
	k.start()
	k.waitLog("(VI_1) Entering MASTER STATE", 10*time.Second)

	// lbd with the higher priority preempts keepalived.
	sa := na.speaker(nil)
	if err := sa.Apply(labConfig(150, nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "lbd MASTER", func() bool { return stateOf(sa, "VI_1") == "MASTER" && na.hasAddr(labVIP) })
	k.waitLog("(VI_1) Entering BACKUP STATE", 5*time.Second)
	waitFor(t, 5*time.Second, "keepalived without the VIP", func() bool { return !nb.hasAddr(labVIP) })
	time.Sleep(3 * time.Second) // some adverts each way

	// Release: keepalived takes over, lbd keeps the VIP until then.
	wa, wb := na.watchAddr(labVIP), nb.watchAddr(labVIP)
	t0 := time.Now()
	if err := sa.Release("VI_1"); err != nil {
		t.Fatal(err)
	}
	added, _ := wb.first(true, t0)
	removed, _ := wa.first(false, t0)
	t.Logf("FIGURE release lbd->keepalived: keepalived has the VIP after %s, lbd removed it %s later",
		added.Sub(t0).Round(time.Millisecond), removed.Sub(added).Round(time.Millisecond))
	if added.IsZero() || removed.Before(added) {
		t.Errorf("release left a gap: keepalived added at %v, lbd removed at %v", added, removed)
	}
	k.waitLog("Backup received priority 0 advertisement", time.Second)
	time.Sleep(3 * time.Second)
	if stateOf(sa, "VI_1") != "BACKUP" {
		t.Fatalf("released lbd is %s", stateOf(sa, "VI_1"))
	}
	if err := sa.Reclaim("VI_1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "lbd MASTER after reclaim", func() bool { return stateOf(sa, "VI_1") == "MASTER" })
	waitFor(t, 5*time.Second, "keepalived back to BACKUP", func() bool { return k.count("Entering BACKUP STATE") >= 2 })

	// Graceful stop of lbd: no gap.
	wa, wb = na.watchAddr(labVIP), nb.watchAddr(labVIP)
	t0 = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sa.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	added, _ = wb.first(true, t0)
	removed, _ = wa.first(false, t0)
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
	wb = nb.watchAddr(labVIP)
	t0 = time.Now()
	crash(sa2)
	waitFor(t, 10*time.Second, "keepalived MASTER after lbd crashed", func() bool { return nb.hasAddr(labVIP) })
	added, _ = wb.first(true, t0)
	t.Logf("FIGURE crash failover lbd->keepalived: keepalived has the VIP %s after lbd died (bound %s)", added.Sub(t0).Round(time.Millisecond), mdi(100))
	if d := added.Sub(t0); d > mdi(100)+time.Second {
		t.Errorf("keepalived took %s", d)
	}
	if c := k.complaints(); len(c) > 0 {
		t.Errorf("keepalived complained:\n%s", strings.Join(c, "\n"))
	}
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
	k.start()
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
	k.stop()
	waitFor(t, 5*time.Second, "lbd MASTER after keepalived stopped", func() bool { return stateOf(sb, "VI_1") == "MASTER" && nb.hasAddr(labVIP) })
	added, _ := wb.first(true, t0)
	removed, _ := wa.first(false, t0)
	t.Logf("FIGURE graceful stop keepalived->lbd: keepalived removed the VIP %s after SIGTERM, lbd added it %s later (keepalived's gap)",
		removed.Sub(t0).Round(time.Millisecond), added.Sub(removed).Round(time.Millisecond))

	// keepalived returns with the higher priority and preempts lbd.
	k.start()
	waitFor(t, 10*time.Second, "keepalived MASTER again", func() bool {
		return stateOf(sb, "VI_1") == "BACKUP" && na.hasAddr(labVIP) && !nb.hasAddr(labVIP)
	})
	k.waitLog("Entering MASTER STATE", time.Second)
	time.Sleep(2 * time.Second)

	// keepalived crashes: lbd takes over within Master_Down_Interval.
	wb = nb.watchAddr(labVIP)
	t0 = time.Now()
	k.kill()
	waitFor(t, 10*time.Second, "lbd MASTER after keepalived crashed", func() bool { return stateOf(sb, "VI_1") == "MASTER" })
	added, _ = wb.first(true, t0)
	t.Logf("FIGURE crash failover keepalived->lbd: lbd has the VIP %s after keepalived died (bound %s)", added.Sub(t0).Round(time.Millisecond), mdi(100))
	if d := added.Sub(t0); d > mdi(100)+time.Second {
		t.Errorf("lbd took %s", d)
	}
	noInvalid(t, sb)
	if c := k.complaints(); len(c) > 0 {
		t.Errorf("keepalived complained:\n%s", strings.Join(c, "\n"))
	}
}
