//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// LBD is one lbd daemon in a lab node, with its config file and admin
// socket in the lab's directory. The embedded Proc is the current process
// (Restart replaces it).
type LBD struct {
	*Proc
	Node   string
	Config string // path of the HCL file
	Socket string // admin socket
	// Binary is the lbd run; "" is the one the tests built (Bin).
	Binary string
	lab    *Lab
}

// LabConfig is deploy/lab/lab.hcl.tmpl rendered for node: lb1 is MASTER
// with priority 150, lb2 BACKUP with 100 (what demo and lab.sh run).
func LabConfig(node string) string {
	state, prio := "BACKUP", "100"
	if node == "lb1" {
		state, prio = "MASTER", "150"
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy/lab/lab.hcl.tmpl"))
	if err != nil {
		// Only a broken checkout gets here; the config then fails loudly.
		return fmt.Sprintf("# cannot read deploy/lab/lab.hcl.tmpl: %v\n", err)
	}
	return strings.NewReplacer("@STATE@", state, "@PRIORITY@", prio, "@NODE@", node).Replace(string(b))
}

// RequireLBD skips the test while cmd/lbd or cmd/lbctl do not exist in this
// tree (and fails it if they do not build). StartLBD does the same; call
// this first to skip before building a lab.
func RequireLBD(t testing.TB) {
	t.Helper()
	Bin(t, "lbd")
	Bin(t, "lbctl")
}

// StartLBD writes hcl to a file, runs `lbd -f FILE --socket SOCK` in
// node's namespace and waits until the admin socket answers. The test is
// skipped while cmd/lbd does not exist, and fails if lbd exits or its
// socket stays silent for 20s. lbd's output is logged if the test fails.
func (l *Lab) StartLBD(node, hcl string) *LBD {
	l.t.Helper()
	return l.StartLBDBinary(node, hcl, "")
}

// StartLBDBinary is StartLBD running the lbd binary at bin ("" is the one
// the tests built), for tests that replace it (upgrades).
func (l *Lab) StartLBDBinary(node, hcl, bin string) *LBD {
	l.t.Helper()
	d := &LBD{
		Node:   node,
		Config: filepath.Join(l.dir, node+".hcl"),
		Socket: filepath.Join(l.dir, node+".sock"),
		Binary: bin,
		lab:    l,
	}
	d.WriteConfig(hcl)
	d.start()
	return d
}

// StartPair starts lbd on lb1 and lb2 with LabConfig.
func (l *Lab) StartPair() (lb1, lb2 *LBD) {
	l.t.Helper()
	return l.StartLBD("lb1", LabConfig("lb1")), l.StartLBD("lb2", LabConfig("lb2"))
}

func (d *LBD) start() {
	t := d.lab.t
	t.Helper()
	RequireLBD(t) // lbctl too: Ctl needs it; skip now rather than halfway
	lbd := d.Binary
	if lbd == "" {
		lbd = Bin(t, "lbd")
	}
	os.Remove(d.Socket)
	d.Proc = d.lab.Start(d.Node, lbd, "-f", d.Config, "--socket", d.Socket)
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := adminAnswers(d.Socket)
		if err == nil {
			return
		}
		if d.Exited() {
			t.Fatalf("lbd in %s exited (%s) before its admin socket answered:\n%s", d.Node, d.exitString(), d.Output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("lbd in %s: admin socket %s does not answer after 20s: %v\n%s", d.Node, d.Socket, err, d.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// adminAnswers is nil once an HTTP server answers on the unix socket,
// whatever its status code.
func adminAnswers(sock string) error {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("GET /v1/ HTTP/1.1\r\nHost: lbd\r\nConnection: close\r\n\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "HTTP/1.") {
		return fmt.Errorf("not an HTTP answer: %q", line)
	}
	return nil
}

// Restart starts lbd again in the same node with the same config file and
// socket, after the previous process has exited (Kill, Stop, or a crash).
func (d *LBD) Restart() {
	t := d.lab.t
	t.Helper()
	if !d.Exited() {
		t.Fatalf("Restart: lbd in %s still runs (pid %d)", d.Node, d.Pid())
	}
	d.start()
}

// WriteConfig replaces the config file (for reload tests: then Signal
// SIGHUP or Ctl("reload")).
func (d *LBD) WriteConfig(hcl string) {
	if err := os.WriteFile(d.Config, []byte(hcl), 0o644); err != nil {
		d.lab.t.Fatal(err)
	}
}

// Ctl runs `lbctl --socket SOCK args...` and returns its combined output;
// err is non-nil when lbctl exits non-zero.
func (d *LBD) Ctl(args ...string) (string, error) {
	stdout, stderr, err := d.ctl(args...)
	return stdout + stderr, err
}

// CtlJSON runs `lbctl --socket SOCK --json args...` and decodes its
// standard output into v.
func (d *LBD) CtlJSON(v any, args ...string) error {
	stdout, stderr, err := d.ctl(append([]string{"--json"}, args...)...)
	if err != nil {
		return fmt.Errorf("%w: %s%s", err, stdout, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), v); err != nil {
		return fmt.Errorf("lbctl --json %s: %w in %q", strings.Join(args, " "), err, stdout)
	}
	return nil
}

func (d *LBD) ctl(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, Bin(d.lab.t, "lbctl"), append([]string{"--socket", d.Socket}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("lbctl %s: %w", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), err
}

// VIPStatus is one entry of `lbctl --json vip status` (DESIGN.md keys).
// The e2e types are written out from DESIGN.md on purpose instead of
// reusing vrrp.InstanceStatus and health.BackendStatus: the tests check
// the contract users script against, so a renamed JSON key in those
// packages must fail here rather than change both sides at once.
type VIPStatus struct {
	Name              string   `json:"name"`
	Interface         string   `json:"interface"`
	State             string   `json:"state"`
	Priority          int      `json:"priority"`
	EffectivePriority int      `json:"effective_priority"`
	VRID              int      `json:"vrid"`
	VIPs              []string `json:"vips"`
	Master            string   `json:"master"`
}

// BackendStatus is one entry of `lbctl --json backend status`.
type BackendStatus struct {
	Name    string         `json:"name"`
	Servers []ServerStatus `json:"servers"`
}

// ServerStatus is one server of a BackendStatus.
type ServerStatus struct {
	Name     string          `json:"name"`
	Address  string          `json:"address"`
	State    string          `json:"state"` // "UP", "DOWN", "UP 1/3", ...
	Weight   int             `json:"weight"`
	CurConns int             `json:"cur_conns"`
	Queue    int             `json:"queue"`
	Check    json.RawMessage `json:"check"`
}

// BaseState is State without a transition counter: "UP 1/3" -> "UP".
func (s ServerStatus) BaseState() string {
	st, _, _ := strings.Cut(s.State, " ")
	return st
}

// VIPStatus returns `lbctl --json vip status`.
func (d *LBD) VIPStatus() ([]VIPStatus, error) {
	var v []VIPStatus
	err := d.CtlJSON(&v, "vip", "status")
	return v, err
}

// BackendStatus returns `lbctl --json backend status`.
func (d *LBD) BackendStatus() ([]BackendStatus, error) {
	var v []BackendStatus
	err := d.CtlJSON(&v, "backend", "status")
	return v, err
}

// InstanceState is the state of VRRP instance name ("" if unknown).
func (d *LBD) InstanceState(name string) string {
	vs, err := d.VIPStatus()
	if err != nil {
		return ""
	}
	for _, v := range vs {
		if v.Name == name {
			return v.State
		}
	}
	return ""
}

// ServerState is the base state of backend/server ("" if unknown).
func (d *LBD) ServerState(backend, server string) string {
	bs, err := d.BackendStatus()
	if err != nil {
		return ""
	}
	for _, b := range bs {
		if b.Name != backend {
			continue
		}
		for _, s := range b.Servers {
			if s.Name == server {
				return s.BaseState()
			}
		}
	}
	return ""
}

// WaitInstanceState waits (failing the test after timeout) until VRRP
// instance name is in state.
func (d *LBD) WaitInstanceState(t testing.TB, name, state string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() bool { return d.InstanceState(name) == state },
		"%s: VRRP instance %s to be %s (is %q)", d.Node, name, state, Lazy(func() string { return d.InstanceState(name) }))
}

// WaitServerState waits (failing the test after timeout) until
// backend/server has base state.
func (d *LBD) WaitServerState(t testing.TB, backend, server, state string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() bool { return d.ServerState(backend, server) == state },
		"%s: server %s/%s to be %s (is %q)", d.Node, backend, server, state, Lazy(func() string { return d.ServerState(backend, server) }))
}
