//go:build linux

package frr

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"lbd/test/syncbuf"
)

// The daemons, where Debian's frr package installs them.
const (
	zebraBin = "/usr/lib/frr/zebra"
	vrrpdBin = "/usr/lib/frr/vrrpd"
)

// Require skips the test without FRR (zebra, vrrpd, vtysh and the frr
// user), or fails it when CI=true: CI must run the interop tests.
func Require(t testing.TB) {
	t.Helper()
	var missing []string
	for _, p := range []string{zebraBin, vrrpdBin} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if _, err := exec.LookPath("vtysh"); err != nil {
		missing = append(missing, "vtysh")
	}
	if _, err := user.Lookup("frr"); err != nil {
		missing = append(missing, "the frr user")
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("FRR is not installed (apt-get install frr): no %s", strings.Join(missing, ", "))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Config is one virtual router of vrrpd on an interface.
type Config struct {
	Interface string // the parent interface, e.g. eth0
	VRID      int
	Priority  int
	Version   int           // 2 or 3
	AdvertInt time.Duration // 10ms steps (vrrpd's unit is centiseconds)
	// VIPs are of one family, with their prefix length (put on the
	// macvlan as they are).
	VIPs      []netip.Prefix
	NoPreempt bool
}

func (c Config) ipv6() bool { return len(c.VIPs) > 0 && c.VIPs[0].Addr().Is6() }

// MacvlanName is the macvlan vrrpd's virtual router of c lives on.
func (c Config) MacvlanName() string {
	if c.ipv6() {
		return fmt.Sprintf("vrrp6-2-%d", c.VRID)
	}
	return fmt.Sprintf("vrrp4-2-%d", c.VRID)
}

// MAC is the virtual router MAC (RFC 5798 section 7.3).
func (c Config) MAC() string {
	fam := 1
	if c.ipv6() {
		fam = 2
	}
	return fmt.Sprintf("00:00:5e:00:%02x:%02x", fam, c.VRID)
}

// render is vrrpd.conf, with the debugging that logs why packets are
// dropped ("Datagram invalid: ...").
func (c Config) render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hostname vrrpd\nlog stdout debugging\ndebug vrrp protocol\ndebug vrrp packets\n")
	fmt.Fprintf(&b, "interface %s\n vrrp %d version %d\n vrrp %d priority %d\n vrrp %d advertisement-interval %d\n",
		c.Interface, c.VRID, c.Version, c.VRID, c.Priority, c.VRID, c.AdvertInt.Milliseconds())
	if c.NoPreempt {
		fmt.Fprintf(&b, " no vrrp %d preempt\n", c.VRID)
	}
	for _, p := range c.VIPs {
		kw := "ip"
		if p.Addr().Is6() {
			kw = "ipv6"
		}
		fmt.Fprintf(&b, " vrrp %d %s %s\n", c.VRID, kw, p.Addr())
	}
	return b.String()
}

func (c Config) validate() error {
	switch {
	case c.Interface == "":
		return fmt.Errorf("frr config %+v: interface is required", c)
	case c.VRID < 1 || c.VRID > 255, c.Priority < 1 || c.Priority > 254:
		return fmt.Errorf("frr config: VRID %d or priority %d out of range", c.VRID, c.Priority)
	case c.Version != 2 && c.Version != 3:
		return fmt.Errorf("frr config: version %d", c.Version)
	case c.AdvertInt < 10*time.Millisecond || c.AdvertInt%(10*time.Millisecond) != 0 || (c.Version == 2 && c.AdvertInt%time.Second != 0):
		return fmt.Errorf("frr config: advertisement interval %s", c.AdvertInt)
	case len(c.VIPs) == 0:
		return fmt.Errorf("frr config: no VIPs")
	}
	for _, p := range c.VIPs {
		if p.Addr().Is6() != c.ipv6() {
			return fmt.Errorf("frr config: VIPs of two families")
		}
	}
	return nil
}

// complaint matches vrrpd's lines about packets it did not like, or about
// anything else going wrong.
var complaint = regexp.MustCompile(`(?i)datagram invalid|bad |mismatch|should be|incorrect|undersized|oversized|not large enough|does not match|, but this vrrp instance|\[EC [0-9]+\]|error|warning`)

// Options place a Peer.
type Options struct {
	Netns  string // the network namespace (ip netns name)
	Name   string // the lab node, for messages
	Config Config
}

// Peer is zebra and vrrpd in a network namespace, started and stopped by
// the test. Its log may be read while vrrpd writes it.
type Peer struct {
	t           testing.TB
	o           Options
	dir         string
	zebra, vrrp *exec.Cmd
	out, zout   *syncbuf.Buffer
	runs        []string
}

// New creates the macvlan with the VIPs in o.Netns and writes the
// configuration; Start runs the daemons. At t's cleanup they are killed
// and, if t failed, their output is logged.
func New(t testing.TB, o Options) *Peer {
	t.Helper()
	if err := o.Config.validate(); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "lbd-frr-")
	if err != nil {
		t.Fatal(err)
	}
	p := &Peer{t: t, o: o, dir: dir}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("--- vrrpd on %s ---\n%s\n--- zebra ---\n%s", o.Name, p.Log(), p.zebraLog())
		}
		os.RemoveAll(dir)
	})
	// FRR drops to the frr user, which must reach its sockets and pid files.
	u, err := user.Lookup("frr")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"zebra.conf": "hostname zebra\n", "vrrpd.conf": o.Config.render()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := o.Config
	mv := c.MacvlanName()
	p.ipCmd("link", "add", mv, "link", c.Interface, "type", "macvlan", "mode", "bridge")
	p.ipCmd("link", "set", mv, "addrgenmode", "random")
	p.ipCmd("link", "set", mv, "address", c.MAC())
	for _, v := range c.VIPs {
		args := []string{"addr", "add", v.String(), "dev", mv}
		if v.Addr().Is6() {
			args = append(args, "nodad")
		}
		p.ipCmd(args...)
	}
	p.ipCmd("link", "set", mv, "up")
	if out, err := exec.Command("ip", "netns", "exec", o.Netns, "sysctl", "-qw", "net.ipv4.conf."+c.Interface+".arp_ignore=1", "net.ipv4.conf."+c.Interface+".arp_announce=2").CombinedOutput(); err != nil {
		t.Fatalf("arp_ignore: %v\n%s", err, out)
	}
	return p
}

func (p *Peer) ipCmd(args ...string) {
	p.t.Helper()
	if out, err := exec.Command("ip", append([]string{"-n", p.o.Netns}, args...)...).CombinedOutput(); err != nil {
		p.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (p *Peer) daemon(bin, name string, out *syncbuf.Buffer) *exec.Cmd {
	cmd := exec.Command("ip", "netns", "exec", p.o.Netns, bin,
		"-f", filepath.Join(p.dir, name+".conf"), "-i", filepath.Join(p.dir, name+".pid"),
		"-z", filepath.Join(p.dir, "zserv.api"), "--vty_socket", p.dir,
		"-u", "frr", "-g", "frr", "--log", "stdout")
	cmd.Stdout, cmd.Stderr = out, out
	// Their own process group (Kill), gone with the test binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	return cmd
}

// Start runs zebra and vrrpd and waits until vrrpd answers on its vty.
// It may be called again after Stop or Kill.
func (p *Peer) Start() {
	p.t.Helper()
	if p.vrrp != nil {
		p.t.Fatalf("vrrpd on %s is already running", p.o.Name)
	}
	if p.out != nil {
		p.runs = append(p.runs, p.out.String())
	}
	p.out, p.zout = &syncbuf.Buffer{}, &syncbuf.Buffer{}
	// What a killed run left: vrrpd would find zebra's old socket and
	// wait 10s to retry.
	for _, f := range []string{"zserv.api", "zebra.vty", "vrrpd.vty", "zebra.pid", "vrrpd.pid"} {
		os.Remove(filepath.Join(p.dir, f))
	}
	p.zebra = p.daemon(zebraBin, "zebra", p.zout)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(p.dir, "zserv.api")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("zebra on %s did not start:\n%s", p.o.Name, p.zout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.vrrp = p.daemon(vrrpdBin, "vrrpd", p.out)
	for {
		if _, err := p.vtysh("show vrrp json"); err == nil {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("vrrpd on %s does not answer on its vty:\n%s", p.o.Name, p.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *Peer) vtysh(cmd string) ([]byte, error) {
	return exec.Command("vtysh", "--vty_socket", p.dir, "-d", "vrrpd", "-c", cmd).Output()
}

func stop(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
	_ = cmd.Wait()
}

// Stop is a graceful stop of vrrpd (SIGTERM, as systemctl stop frr),
// then of zebra. It does nothing if they are not running.
func (p *Peer) Stop() {
	stop(p.vrrp, syscall.SIGTERM)
	stop(p.zebra, syscall.SIGTERM)
	p.vrrp, p.zebra = nil, nil
}

// StopVRRP is a graceful stop of vrrpd alone: zebra stays, with the
// macvlan as vrrpd left it.
func (p *Peer) StopVRRP() {
	stop(p.vrrp, syscall.SIGTERM)
	p.vrrp = nil
}

// Kill is a crash of both daemons (SIGKILL).
func (p *Peer) Kill() {
	stop(p.vrrp, syscall.SIGKILL)
	stop(p.zebra, syscall.SIGKILL)
	p.vrrp, p.zebra = nil, nil
}

// State is vrrpd's state of the virtual router ("Master", "Backup",
// "Initialize"), "" when vrrpd does not answer.
func (p *Peer) State() string {
	st, _ := p.Status()
	return st.Status
}

// RouterStatus is one family's part of `show vrrp json`.
type RouterStatus struct {
	Interface           string `json:"interface"`
	Status              string `json:"status"`
	MasterAdverInterval int    `json:"masterAdverInterval"`
	Stats               struct {
		AdverTx int `json:"adverTx"`
		AdverRx int `json:"adverRx"`
	} `json:"stats"`
}

// Status is vrrpd's view of the configured virtual router's family.
func (p *Peer) Status() (RouterStatus, error) {
	out, err := p.vtysh("show vrrp json")
	if err != nil {
		return RouterStatus{}, err
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(out, &list); err != nil {
		return RouterStatus{}, fmt.Errorf("show vrrp json: %w: %s", err, out)
	}
	fam := "v4"
	if p.o.Config.ipv6() {
		fam = "v6"
	}
	for _, vr := range list {
		var st RouterStatus
		if raw, ok := vr[fam]; ok && json.Unmarshal(raw, &st) == nil {
			return st, nil
		}
	}
	return RouterStatus{}, fmt.Errorf("show vrrp json: no %s router: %s", fam, out)
}

// WaitState fails the test unless vrrpd reaches state within the time.
func (p *Peer) WaitState(state string, within time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for p.State() != state {
		if time.Now().After(deadline) {
			p.t.Fatalf("vrrpd on %s is %q after %s, want %q", p.o.Name, p.State(), within, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Log is vrrpd's output of all runs.
func (p *Peer) Log() string {
	s := strings.Join(p.runs, "\n--- restarted ---\n")
	if p.out != nil {
		s += "\n" + p.out.String()
	}
	return s
}

func (p *Peer) zebraLog() string {
	if p.zout == nil {
		return ""
	}
	return p.zout.String()
}

// Complaints are vrrpd's log lines about dropped packets or errors.
func (p *Peer) Complaints() []string {
	var out []string
	for _, line := range strings.Split(p.Log(), "\n") {
		if complaint.MatchString(line) {
			out = append(out, line)
		}
	}
	return out
}

// CheckNoComplaints marks the test failed if vrrpd complained.
func (p *Peer) CheckNoComplaints() {
	p.t.Helper()
	if c := p.Complaints(); len(c) > 0 {
		p.t.Errorf("vrrpd on %s complained:\n%s", p.o.Name, strings.Join(c, "\n"))
	}
}
