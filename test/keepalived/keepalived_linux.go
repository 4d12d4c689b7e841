//go:build linux

package keepalived

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"lbd/test/syncbuf"
)

// Require is the path of the keepalived binary. Without one the test is
// skipped, or fails when CI=true: CI must run the interop tests.
func Require(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("keepalived")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("keepalived is not installed (apt-get install keepalived)")
		}
		t.Skip("keepalived is not installed (apt-get install keepalived)")
	}
	return p
}

// Config is a keepalived.conf with VRRP instances only.
type Config struct {
	RouterID   string
	Instances  []Instance
	SyncGroups []SyncGroup
}

// Instance is one vrrp_instance; it starts in BACKUP state (as the labs'
// lbd instances do).
type Instance struct {
	Name      string // default VI_1
	Interface string // e.g. eth0
	VRID      int
	Priority  int
	Version   int           // 2 (default) or 3
	AdvertInt time.Duration // whole seconds with version 2, 10ms steps with 3
	AuthPass  string        // version 2: auth_type PASS; "" = none
	VIPs      []string      // address/prefix length, as keepalived adds it: "192.0.2.100/24"
	// UseVMAC is "use_vmac NAME" ("" = no virtual MAC); VMACXmitBase adds
	// vmac_xmit_base.
	UseVMAC      string
	VMACXmitBase bool
	// Extra lines go into the instance block as they are (notify
	// scripts, garp settings, nopreempt, ...).
	Extra []string
}

// SyncGroup is a vrrp_sync_group of instances, with its own extra lines
// (notify scripts).
type SyncGroup struct {
	Name      string
	Instances []string
	Extra     []string
}

// seconds renders d as keepalived reads advert_int: "1", "0.1".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// Render is c as keepalived.conf.
func (c Config) Render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n  router_id %s\n}\n", c.RouterID)
	for _, in := range c.Instances {
		name := in.Name
		if name == "" {
			name = "VI_1"
		}
		version := in.Version
		if version == 0 {
			version = 2
		}
		fmt.Fprintf(&b, "vrrp_instance %s {\n  state BACKUP\n  interface %s\n  virtual_router_id %d\n  priority %d\n  version %d\n  advert_int %s\n",
			name, in.Interface, in.VRID, in.Priority, version, seconds(in.AdvertInt))
		if in.AuthPass != "" {
			fmt.Fprintf(&b, "  authentication {\n    auth_type PASS\n    auth_pass %s\n  }\n", in.AuthPass)
		}
		if in.UseVMAC != "" {
			fmt.Fprintf(&b, "  use_vmac %s\n", in.UseVMAC)
			if in.VMACXmitBase {
				b.WriteString("  vmac_xmit_base\n")
			}
		}
		for _, l := range in.Extra {
			fmt.Fprintf(&b, "  %s\n", l)
		}
		b.WriteString("  virtual_ipaddress {\n")
		for _, p := range in.VIPs {
			fmt.Fprintf(&b, "    %s\n", p)
		}
		b.WriteString("  }\n}\n")
	}
	for _, g := range c.SyncGroups {
		fmt.Fprintf(&b, "vrrp_sync_group %s {\n  group {\n", g.Name)
		for _, n := range g.Instances {
			fmt.Fprintf(&b, "    %s\n", n)
		}
		b.WriteString("  }\n")
		for _, l := range g.Extra {
			fmt.Fprintf(&b, "  %s\n", l)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func (c Config) validate() error {
	if c.RouterID == "" || len(c.Instances) == 0 {
		return fmt.Errorf("keepalived config %+v: router_id and an instance are required", c)
	}
	for _, in := range c.Instances {
		if err := in.validate(); err != nil {
			return err
		}
	}
	return nil
}

func (in Instance) validate() error {
	switch {
	case in.Interface == "":
		return fmt.Errorf("keepalived config %+v: interface is required", in)
	case in.VRID < 1 || in.VRID > 255:
		return fmt.Errorf("keepalived config: virtual_router_id %d is not 1-255", in.VRID)
	case in.Priority < 1 || in.Priority > 255:
		return fmt.Errorf("keepalived config: priority %d is not 1-255", in.Priority)
	case in.Version != 0 && in.Version != 2 && in.Version != 3:
		return fmt.Errorf("keepalived config: version %d is not 2 or 3", in.Version)
	case in.Version == 3 && (in.AdvertInt < 10*time.Millisecond || in.AdvertInt%(10*time.Millisecond) != 0):
		return fmt.Errorf("keepalived config: advert_int %s is not a multiple of 10ms", in.AdvertInt)
	case in.Version != 3 && (in.AdvertInt < time.Second || in.AdvertInt%time.Second != 0):
		return fmt.Errorf("keepalived config: advert_int %s is not whole seconds (VRRPv2)", in.AdvertInt)
	case in.Version == 3 && in.AuthPass != "":
		return fmt.Errorf("keepalived config: VRRPv3 has no authentication")
	case len(in.VIPs) == 0:
		return fmt.Errorf("keepalived config: no virtual_ipaddress")
	}
	for _, v := range in.VIPs {
		if _, err := netip.ParsePrefix(v); err != nil {
			return fmt.Errorf("keepalived config: virtual_ipaddress: %w", err)
		}
	}
	return nil
}

// complaint matches keepalived's log lines about packets it did not like.
var complaint = regexp.MustCompile(`(?i)invalid|bogus|mismatch|\bttl\b|wrong|checksum|error|unknown|too (short|long)|incomplete|not present`)

// Options place a Peer.
type Options struct {
	Bin    string // the keepalived binary, from Require
	Netns  string // the network namespace it runs in (ip netns name)
	Name   string // the lab node, for messages
	Dir    string // for keepalived.conf and the pid files; created if missing
	Config Config
}

// Peer is keepalived in a network namespace, started and stopped by the
// test. It is not safe for concurrent use, but its log may be read while
// keepalived writes it.
type Peer struct {
	t    testing.TB
	o    Options
	cmd  *exec.Cmd
	out  *syncbuf.Buffer // this run's output
	runs []string        // output of earlier runs
}

// New writes keepalived.conf for o.Config into o.Dir; Start runs it. At
// t's cleanup keepalived is killed if still running and, if t failed, the
// output of all its runs is logged.
func New(t testing.TB, o Options) *Peer {
	t.Helper()
	if err := o.Config.validate(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(o.Dir, "keepalived.conf"), []byte(o.Config.Render()), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &Peer{t: t, o: o}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("--- keepalived on %s ---\n%s", o.Name, p.Log())
		}
	})
	return p
}

// Start runs keepalived (VRRP only, in the foreground, logging to its
// output) and waits for it to log "Startup complete". It may be called
// again after Stop or Kill: a restart, with a fresh log for Count and
// WaitLog.
func (p *Peer) Start() {
	p.t.Helper()
	if p.cmd != nil {
		p.t.Fatalf("keepalived on %s is already running", p.o.Name)
	}
	if p.out != nil {
		p.runs = append(p.runs, p.out.String())
	}
	p.out = &syncbuf.Buffer{}
	// A killed run leaves its pid files, and its VRRP child may linger as
	// a zombie nobody has reaped yet: keepalived would take it for a
	// running daemon and refuse to start.
	for _, f := range []string{"keepalived.pid", "vrrp.pid"} {
		os.Remove(filepath.Join(p.o.Dir, f))
	}
	cmd := exec.Command("ip", "netns", "exec", p.o.Netns, p.o.Bin, "-n", "-l", "-D", "-P", "-G",
		"-f", filepath.Join(p.o.Dir, "keepalived.conf"),
		"-p", filepath.Join(p.o.Dir, "keepalived.pid"),
		"-r", filepath.Join(p.o.Dir, "vrrp.pid"))
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own process group, for Kill; `ip netns exec` execs
		// keepalived in place, so the group is keepalived and its VRRP
		// child.
		Setpgid: true,
		// If the test binary dies without cleanup (a -timeout panic),
		// keepalived goes with it.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd = cmd
	p.WaitLog("Startup complete", 1, 10*time.Second)
}

// Stop is a graceful stop (SIGTERM), as systemctl stop keepalived; it
// returns when keepalived has exited. It does nothing if keepalived is
// not running.
func (p *Peer) Stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
	p.cmd = nil
}

// Kill is a crash: SIGKILL to keepalived and its VRRP child. It does
// nothing if keepalived is not running.
func (p *Peer) Kill() {
	if p.cmd == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Wait()
	p.cmd = nil
}

// Count is how many times substr occurs in the current run's log.
func (p *Peer) Count(substr string) int {
	if p.out == nil {
		return 0
	}
	return p.out.Count(substr)
}

// WaitLog fails the test unless the current run's log holds substr n
// times within the given time.
func (p *Peer) WaitLog(substr string, n int, within time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for p.Count(substr) < n {
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out after %s waiting for keepalived on %s to log %q (%d times)", within, p.o.Name, substr, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Log is the output of all runs, for failure reports.
func (p *Peer) Log() string {
	s := strings.Join(p.runs, "\n--- restarted ---\n")
	if p.out != nil {
		s += "\n" + p.out.String()
	}
	return s
}

// Complaints are the lines of Log in which keepalived complains (about
// lbd's packets: invalid, bad TTL, checksum, authentication, ...).
func (p *Peer) Complaints() []string {
	var out []string
	for _, line := range strings.Split(p.Log(), "\n") {
		if complaint.MatchString(line) {
			out = append(out, line)
		}
	}
	return out
}

// CheckNoComplaints marks the test failed if keepalived complained.
func (p *Peer) CheckNoComplaints() {
	p.t.Helper()
	if c := p.Complaints(); len(c) > 0 {
		p.t.Errorf("keepalived on %s complained:\n%s", p.o.Name, strings.Join(c, "\n"))
	}
}
