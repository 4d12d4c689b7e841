//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SystemdPair is the lab with lb1 and lb2 each a real systemd booted as
// PID 1 in its own namespaces (deploy/lab/systemd-ns), and lbd installed
// on both by deploy/install.sh, as the README tells users to: the tests
// drive it through systemctl, journalctl and lbctl only.
//
// systemd shares the host's root file system but gets private /tmp,
// /var/tmp and /run. So the install goes under Base (a directory of the
// host's /var/lib that both nodes see: binaries, and each node's
// configuration in Base/NODE/etc/lbd), and the unit into the node's own
// /run/systemd/system, where only that node's systemd finds it; the
// admin socket is the default /run/lbd/admin.sock, private to each node.
// The only trace on the host is the system user lbd that install.sh
// creates, as on any node it runs on.
type SystemdPair struct {
	*Lab
	Base string
}

// systemdBase holds the installs of the systemd labs.
const systemdBase = "/var/lib/lbd-e2e"

// NewSystemdPair builds the lab with systemd nodes, starts the two web
// servers and installs lbd (not started) on lb1 and lb2 with the lab's
// configuration. Where systemd cannot boot in a namespace the test is
// skipped with the reason, except under CI=true, where it fails.
func NewSystemdPair(t *testing.T) *SystemdPair {
	t.Helper()
	requireRoot(t)
	RequireLBD(t)
	if _, err := os.Stat("/lib/systemd/systemd"); err != nil {
		skipOrFail(t, "systemd is not installed (/lib/systemd/systemd)")
	}
	l, out, err := newLab(t, []string{"LAB_SYSTEMD=1"})
	if err != nil {
		skipOrFail(t, fmt.Sprintf("systemd does not boot in a namespace here: %v\n%s", err, out))
	}
	p := &SystemdPair{Lab: l, Base: filepath.Join(systemdBase, l.Prefix)}
	t.Cleanup(func() { os.RemoveAll(p.Base) })
	l.StartWeb("web1")
	l.StartWeb("web2")
	p.stage(t)
	for _, node := range []string{"lb1", "lb2"} {
		p.WriteConfig(t, node, LabConfig(node))
		out, err := p.Exec(node, "env", "PREFIX="+p.Base, "SYSCONFDIR="+p.etc(node), "UNITDIR=/run/systemd/system",
			"DOCDIR="+p.Base+"/doc", "SYSUSERSDIR="+p.Base+"/sysusers", "bash", p.Base+"/src/deploy/install.sh")
		if err != nil {
			t.Fatalf("install.sh in %s: %v\n%s", node, err, out)
		}
	}
	return p
}

func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// stage copies what deploy/install.sh installs into Base/src, laid out as
// the checkout is, with the binaries the tests built in bin/.
func (p *SystemdPair) stage(t *testing.T) {
	t.Helper()
	src := filepath.Join(p.Base, "src")
	for _, f := range []string{"deploy/install.sh", "systemd/lbd.service", "README.md", "appliance.hcl.example"} {
		copyFile(t, filepath.Join(repoRoot, f), filepath.Join(src, f))
	}
	errs, _ := filepath.Glob(filepath.Join(repoRoot, "deploy/errors/*"))
	for _, f := range errs {
		copyFile(t, f, filepath.Join(src, "deploy/errors", filepath.Base(f)))
	}
	for _, b := range []string{"lbd", "lbctl"} {
		copyFile(t, Bin(t, b), filepath.Join(src, "bin", b))
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, st.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

func (p *SystemdPair) etc(node string) string { return filepath.Join(p.Base, node, "etc") }

// ConfigPath is the node's /etc/lbd/appliance.hcl.
func (p *SystemdPair) ConfigPath(node string) string {
	return filepath.Join(p.etc(node), "lbd", "appliance.hcl")
}

// WriteConfig replaces the node's configuration file (readable by the lbd
// group, as install.sh leaves it).
func (p *SystemdPair) WriteConfig(t testing.TB, node, hcl string) {
	t.Helper()
	path := p.ConfigPath(node)
	if err := os.MkdirAll(p.etc(node), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(hcl), 0o640); err != nil {
		t.Fatal(err)
	}
	if gid := lookupGroup("lbd"); gid >= 0 {
		os.Chown(path, 0, gid)
		os.Chown(filepath.Dir(path), 0, gid)
	}
}

// Exec runs a command in the node's systemd: its mount, PID, network, UTS
// and IPC namespaces (systemd-ns exec), giving up after a minute.
func (p *SystemdPair) Exec(node string, args ...string) (string, error) {
	ns := p.NS(node)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot, "deploy/lab/systemd-ns"), append([]string{"exec", ns}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Systemctl runs systemctl in the node.
func (p *SystemdPair) Systemctl(node string, args ...string) (string, error) {
	return p.Exec(node, append([]string{"systemctl"}, args...)...)
}

// MustSystemctl is Systemctl that fails the test on an error.
func (p *SystemdPair) MustSystemctl(t testing.TB, node string, args ...string) string {
	t.Helper()
	out, err := p.Systemctl(node, args...)
	if err != nil {
		// Which process failed, with its status, and the journal once
		// journald has written what the failure logged.
		status, _ := p.Exec(node, "systemctl", "status", "lbd", "--no-pager", "-l")
		p.Exec(node, "journalctl", "--sync")
		t.Fatalf("%s: systemctl %s: %v\n%s\nstatus:\n%s\njournal:\n%s", node, strings.Join(args, " "), err, out, status, p.Journal(node))
	}
	return out
}

// Ctl runs lbctl in the node as root.
func (p *SystemdPair) Ctl(node string, args ...string) (string, error) {
	return p.Exec(node, append([]string{p.Base + "/bin/lbctl"}, args...)...)
}

// CtlAsOperator runs lbctl in the node as an unprivileged user whose only
// extra group is lbd (nobody, with the lbd group), as an operator added
// to the lbd group would.
func (p *SystemdPair) CtlAsOperator(node string, args ...string) (string, error) {
	cmd := []string{"setpriv", "--reuid=nobody", "--regid=nogroup", "--groups=lbd", "--inh-caps=-all",
		"--bounding-set=-all", p.Base + "/bin/lbctl"}
	return p.Exec(node, append(cmd, args...)...)
}

// Journal is lbd's journal in the node.
func (p *SystemdPair) Journal(node string) string {
	out, _ := p.Exec(node, "journalctl", "-u", "lbd", "--no-pager", "-o", "cat")
	return tail(out, 16<<10)
}

// Property reads one property of lbd.service (systemctl show).
func (p *SystemdPair) Property(node, name string) string {
	out, _ := p.Systemctl(node, "show", "-p", name, "--value", "lbd")
	return strings.TrimSpace(out)
}

// MainPID is lbd's main PID as the node's systemd sees it (0: none).
func (p *SystemdPair) MainPID(node string) int {
	n, _ := strconv.Atoi(p.Property(node, "MainPID"))
	return n
}

// Kill sends sig to lbd's main process in the node.
func (p *SystemdPair) Kill(t testing.TB, node, sig string) int {
	t.Helper()
	pid := p.MainPID(node)
	if pid == 0 {
		t.Fatalf("%s: lbd has no main process", node)
	}
	if out, err := p.Exec(node, "kill", "-"+sig, strconv.Itoa(pid)); err != nil {
		t.Fatalf("%s: kill -%s %d: %v\n%s", node, sig, pid, err, out)
	}
	return pid
}

// VIPState is the state of VI_1 on node, "" when lbctl does not answer.
func (p *SystemdPair) VIPState(node string) string {
	out, err := p.Ctl(node, "--json", "vip", "status")
	if err != nil {
		return ""
	}
	var st []VIPStatus
	if json.Unmarshal([]byte(out), &st) != nil {
		return ""
	}
	for _, s := range st {
		if s.Name == "VI_1" {
			return s.State
		}
	}
	return ""
}

// WaitVIPState waits until VI_1 is in state on node.
func (p *SystemdPair) WaitVIPState(t testing.TB, node, state string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() bool { return p.VIPState(node) == state },
		"%s: VI_1 %s (now %q)", node, state, Lazy(func() string { return p.VIPState(node) }))
}

// WaitActive waits until systemd says lbd is active (running).
func (p *SystemdPair) WaitActive(t testing.TB, node string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() bool {
		return p.Property(node, "ActiveState") == "active" && p.Property(node, "SubState") == "running"
	}, "%s: lbd active (now %s/%s)", node, Lazy(func() string { return p.Property(node, "ActiveState") }),
		Lazy(func() string { return p.Property(node, "SubState") }))
}

func lookupGroup(name string) int {
	b, err := os.ReadFile("/etc/group")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 3 && f[0] == name {
			if gid, err := strconv.Atoi(f[2]); err == nil {
				return gid
			}
		}
	}
	return -1
}
