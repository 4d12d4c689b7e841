//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The BGP lab: three lbd nodes announce one VIP to an FRR router, which
// spreads flows over them (ECMP); a client sits behind the router.
//
//	client 198.51.100.50/25, 2001:db8:2::50/64
//	   |  (routes to the VIP range via the router only)
//	router (FRR zebra + bgpd, AS 64513) 198.51.100.1 | 192.0.2.1, 2001:db8:1::1
//	   |  bridge 192.0.2.0/25, 2001:db8:1::/64
//	lb1 .11  lb2 .12  lb3 .13 (lbd, AS 64512)     web1 .21  web2 .22
//
// VIPs: 198.51.100.200 and 2001:db8:ff::200, from ranges on no segment, so
// only BGP routes lead to them. Everything is named PREFIX-HOST with a
// per-lab prefix e2e<pid>b<n>; every lab runs its own FRR.

const (
	bgpVIP4 = "198.51.100.200"
	bgpVIP6 = "2001:db8:ff::200"
)

var bgpHosts = []string{"sw", "router", "lb1", "lb2", "lb3", "web1", "web2", "client"}

var bgpAddr = map[string]string{
	"lb1": "192.0.2.11", "lb2": "192.0.2.12", "lb3": "192.0.2.13",
	"web1": "192.0.2.21", "web2": "192.0.2.22",
}

var bgpAddr6 = map[string]string{"lb1": "2001:db8:1::11", "lb2": "2001:db8:1::12", "lb3": "2001:db8:1::13"}

// BGPLab is one instance of the topology above.
type BGPLab struct {
	t      *testing.T
	Prefix string
	// BFD runs bfdd on the router and bfd = true on the nodes.
	BFD    bool
	dir    string // lbd configs and sockets
	frrDir string // FRR's sockets and pid files, owned by user frr

	bgpd *Proc // FRR's bgpd, for its log

	mu     sync.Mutex
	procs  []*Proc
	closed bool
}

// RouterLog is what FRR's bgpd logged so far.
func (l *BGPLab) RouterLog() string { return l.bgpd.Output() }

// BGPNode is lbd in one of lb1..lb3.
type BGPNode struct {
	*Proc
	Node   string
	Config string
	Socket string
	lab    *BGPLab
}

var (
	bgpSeq   sync.Mutex
	bgpN     int
	bgpSweep sync.Once
)

// NewBGPLab builds the topology and starts FRR (zebra, bgpd, and bfdd
// with bfd) in the router; cleanup removes everything, also when the test
// fails.
func NewBGPLab(t *testing.T, bfd bool) *BGPLab {
	t.Helper()
	requireRoot(t)
	for _, p := range []string{"/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "/usr/lib/frr/bfdd", "vtysh"} {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("the BGP lab needs FRR (%s): .ci/run installs Debian's frr", p)
			}
			t.Skipf("the BGP lab needs FRR (%s; apt-get install frr)", p)
		}
	}
	frrUser, err := user.Lookup("frr")
	if err != nil {
		t.Fatalf("FRR is installed but has no user frr: %v", err)
	}
	RequireLBD(t)
	Bin(t, "lab-webserver")
	bgpSweep.Do(sweepStaleBGP)
	bgpSeq.Lock()
	bgpN++
	n := bgpN
	bgpSeq.Unlock()
	l := &BGPLab{t: t, Prefix: fmt.Sprintf("e2e%db%d", os.Getpid(), n), BFD: bfd}
	if l.dir, err = os.MkdirTemp("", fmt.Sprintf("lbd-e2e-e2e%d-bgp%d-", os.Getpid(), n)); err != nil {
		t.Fatal(err)
	}
	if l.frrDir, err = os.MkdirTemp("", fmt.Sprintf("lbd-bgp-frr-%d-%d-", os.Getpid(), n)); err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(frrUser.Uid)
	gid, _ := strconv.Atoi(frrUser.Gid)
	if err := os.Chmod(l.frrDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(l.frrDir, uid, gid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	if err := l.build(); err != nil {
		t.Fatalf("building the BGP lab: %v", err)
	}
	l.startFRR(uid, gid)
	return l
}

func (l *BGPLab) ns(host string) string { return l.Prefix + "-" + host }

// ip runs `ip ARGS` and fails the build on error.
func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (l *BGPLab) sysctl(host, key, val string) error {
	return ip("netns", "exec", l.ns(host), "sysctl", "-q", "-w", key+"="+val)
}

func (l *BGPLab) build() error {
	for _, h := range bgpHosts {
		if err := ip("netns", "add", l.ns(h)); err != nil {
			return err
		}
		if err := ip("-n", l.ns(h), "link", "set", "lo", "up"); err != nil {
			return err
		}
		for _, kv := range [][2]string{{"net.ipv6.conf.all.disable_ipv6", "0"}, {"net.ipv6.conf.default.disable_ipv6", "0"},
			{"net.ipv6.conf.all.accept_dad", "0"}, {"net.ipv6.conf.default.accept_dad", "0"}} {
			if err := l.sysctl(h, kv[0], kv[1]); err != nil {
				return err
			}
		}
	}
	sw := l.ns("sw")
	steps := [][]string{
		{"-n", sw, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0"},
		{"-n", sw, "link", "set", "br0", "up"},
	}
	for _, h := range []string{"router", "lb1", "lb2", "lb3", "web1", "web2"} {
		steps = append(steps,
			[]string{"link", "add", "eth0", "netns", l.ns(h), "type", "veth", "peer", "name", h, "netns", sw},
			[]string{"-n", sw, "link", "set", h, "master", "br0", "up"},
			[]string{"-n", l.ns(h), "link", "set", "eth0", "up"})
	}
	steps = append(steps,
		[]string{"link", "add", "eth1", "netns", l.ns("router"), "type", "veth", "peer", "name", "eth0", "netns", l.ns("client")},
		[]string{"-n", l.ns("router"), "link", "set", "eth1", "up"},
		[]string{"-n", l.ns("client"), "link", "set", "eth0", "up"},
		[]string{"-n", l.ns("router"), "addr", "add", "192.0.2.1/25", "dev", "eth0"},
		[]string{"-n", l.ns("router"), "addr", "add", "2001:db8:1::1/64", "dev", "eth0", "nodad"},
		[]string{"-n", l.ns("router"), "addr", "add", "198.51.100.1/25", "dev", "eth1"},
		[]string{"-n", l.ns("router"), "addr", "add", "2001:db8:2::1/64", "dev", "eth1", "nodad"},
		[]string{"-n", l.ns("client"), "addr", "add", "198.51.100.50/25", "dev", "eth0"},
		[]string{"-n", l.ns("client"), "addr", "add", "2001:db8:2::50/64", "dev", "eth0", "nodad"},
		// No default route anywhere: the client reaches the VIP range,
		// the nodes reach the client's segment, through the router.
		[]string{"-n", l.ns("client"), "route", "add", "198.51.100.128/25", "via", "198.51.100.1"},
		[]string{"-n", l.ns("client"), "route", "add", "2001:db8:ff::/64", "via", "2001:db8:2::1"},
	)
	for h, a := range bgpAddr {
		steps = append(steps, []string{"-n", l.ns(h), "addr", "add", a + "/25", "dev", "eth0"})
		if a6, ok := bgpAddr6[h]; ok {
			steps = append(steps,
				[]string{"-n", l.ns(h), "addr", "add", a6 + "/64", "dev", "eth0", "nodad"},
				[]string{"-n", l.ns(h), "route", "add", "198.51.100.0/25", "via", "192.0.2.1"},
				[]string{"-n", l.ns(h), "route", "add", "2001:db8:2::/64", "via", "2001:db8:1::1"})
		}
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return err
		}
	}
	// The router forwards between its segments and hashes flows on the
	// 5-tuple (policy 1): with the default (addresses only) one client
	// would always reach the same node.
	for _, kv := range [][2]string{{"net.ipv4.ip_forward", "1"}, {"net.ipv6.conf.all.forwarding", "1"},
		{"net.ipv4.fib_multipath_hash_policy", "1"}, {"net.ipv6.fib_multipath_hash_policy", "1"}} {
		if err := l.sysctl("router", kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// frrConfig is the router side: dynamic neighbours from the LB segment
// (any node that connects from it, AS 64512), multipath over them. With
// bfd, the nodes are listed instead (FRR 8.4 starts no BFD session for a
// dynamic neighbour) and each gets a BFD session (300ms x 3, FRR's
// defaults).
func frrConfig(bfd bool) string {
	c := frrBase
	if bfd {
		var nb strings.Builder
		nb.WriteString(" neighbor LB bfd\n neighbor LB6 bfd\n")
		for _, n := range []string{"lb1", "lb2", "lb3"} {
			fmt.Fprintf(&nb, " neighbor %s peer-group LB\n neighbor %s peer-group LB6\n", bgpAddr[n], bgpAddr6[n])
		}
		c = strings.Replace(c, " bgp listen range 192.0.2.0/25 peer-group LB\n bgp listen range 2001:db8:1::/64 peer-group LB6\n", nb.String(), 1)
	}
	return c
}

const frrBase = `frr defaults datacenter
hostname router
log stdout informational
!
router bgp 64513
 bgp router-id 192.0.2.1
 no bgp ebgp-requires-policy
 timers bgp 1 3
 neighbor LB peer-group
 neighbor LB remote-as 64512
 neighbor LB6 peer-group
 neighbor LB6 remote-as 64512
 bgp listen range 192.0.2.0/25 peer-group LB
 bgp listen range 2001:db8:1::/64 peer-group LB6
 !
 address-family ipv4 unicast
  maximum-paths 8
 exit-address-family
 !
 address-family ipv6 unicast
  neighbor LB6 activate
  maximum-paths 8
 exit-address-family
!
`

func (l *BGPLab) startFRR(uid, gid int) {
	l.t.Helper()
	for name, body := range map[string]string{"zebra.conf": "hostname router\n", "bgpd.conf": frrConfig(l.BFD), "bfdd.conf": "hostname router\n"} {
		p := filepath.Join(l.frrDir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			l.t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			l.t.Fatal(err)
		}
	}
	common := []string{"-z", filepath.Join(l.frrDir, "zserv.api"), "--vty_socket", l.frrDir, "-u", "frr", "-g", "frr", "-P", "0"}
	zebra := l.start("router", append([]string{"/usr/lib/frr/zebra", "-f", filepath.Join(l.frrDir, "zebra.conf"),
		"-i", filepath.Join(l.frrDir, "zebra.pid")}, common...)...)
	if !Poll(10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(l.frrDir, "zserv.api"))
		return err == nil || zebra.Exited()
	}) || zebra.Exited() {
		l.t.Fatalf("zebra did not start:\n%s", zebra.Output())
	}
	if l.BFD {
		bfdd := l.start("router", append([]string{"/usr/lib/frr/bfdd", "-f", filepath.Join(l.frrDir, "bfdd.conf"),
			"-i", filepath.Join(l.frrDir, "bfdd.pid"), "--bfdctl", filepath.Join(l.frrDir, "bfdd.sock")}, common...)...)
		if !Poll(10*time.Second, func() bool {
			_, err := os.Stat(filepath.Join(l.frrDir, "bfdd.vty"))
			return err == nil || bfdd.Exited()
		}) || bfdd.Exited() {
			l.t.Fatalf("bfdd did not start:\n%s", bfdd.Output())
		}
	}
	bgpd := l.start("router", append([]string{"/usr/lib/frr/bgpd", "-f", filepath.Join(l.frrDir, "bgpd.conf"),
		"-i", filepath.Join(l.frrDir, "bgpd.pid")}, common...)...)
	if !Poll(10*time.Second, func() bool {
		_, err := l.Vtysh("show bgp summary json")
		return err == nil || bgpd.Exited()
	}) || bgpd.Exited() {
		l.t.Fatalf("bgpd did not start:\n%s", bgpd.Output())
	}
	l.bgpd = bgpd
}

// Vtysh runs one vtysh command against the lab's FRR.
func (l *BGPLab) Vtysh(cmd string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", l.ns("router"), "vtysh", "--vty_socket", l.frrDir, "-c", cmd).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("vtysh -c %q: %w: %s", cmd, err, out)
	}
	return string(out), nil
}

func (l *BGPLab) start(host string, args ...string) *Proc {
	l.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.t.Fatal("lab is closed")
	}
	p, err := startInNetns(l.ns(host), host, args...)
	if err != nil {
		l.t.Fatal(err)
	}
	l.procs = append(l.procs, p)
	return p
}

// Exec runs a command in host's namespace.
func (l *BGPLab) Exec(host string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", l.ns(host)}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s in %s: %w: %s", strings.Join(args, " "), host, err, out)
	}
	return string(out), nil
}

// MustExec is Exec failing the test.
func (l *BGPLab) MustExec(host string, args ...string) string {
	l.t.Helper()
	out, err := l.Exec(host, args...)
	if err != nil {
		l.t.Fatal(err)
	}
	return out
}

// StartWebs runs the lab webserver in web1 and web2.
func (l *BGPLab) StartWebs() {
	l.t.Helper()
	for _, h := range []string{"web1", "web2"} {
		a := bgpAddr[h]
		p := l.start(h, Bin(l.t, "lab-webserver"), "-name", h, "-http", a+":80")
		if !Poll(10*time.Second, func() bool {
			c, err := l.dial("lb1", a+":80")
			if err == nil {
				c.Close()
			}
			return err == nil || p.Exited()
		}) || p.Exited() {
			l.t.Fatalf("%s does not answer:\n%s", h, p.Output())
		}
	}
}

func (l *BGPLab) dial(from, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNetns(l.ns(from), func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, 2*time.Second)
		return err
	})
	return c, err
}

// BGPNodeConfig is lbd's file on node lb1..lb3: the VIPs on a frontend,
// two web servers checked over HTTP, and the bgp block (with bfd, a BFD
// session with each neighbour, as FRR's defaults: 300ms x 3).
func BGPNodeConfig(node string, bfd bool) string {
	nb := ""
	if bfd {
		nb = "\n    bfd       = true"
	}
	return fmt.Sprintf(`global {
  grace     = "5s"
  log_level = "info"
}
frontend "web" {
  bind            = ["%[1]s:80", "[%[2]s]:80"]
  default_backend = "web"
}
backend "web" {
  health_check {
    type          = "http"
    path          = "/health"
    interval      = "1s"
    fast_interval = "250ms"
    down_interval = "1s"
    timeout       = "500ms"
    rise          = 2
    fall          = 2
  }
  server "web1" { address = "192.0.2.21:80" }
  server "web2" { address = "192.0.2.22:80" }
}
bgp {
  asn       = 64512
  router_id = "%[3]s"
  hold_time = "3s"
  keepalive = "1s"
  grace     = "2s"
  neighbor "192.0.2.1" {
    remote_as = 64513%[4]s
  }
  neighbor "2001:db8:1::1" {
    remote_as = 64513%[4]s
  }
  announce "web" {
    addresses = ["%[1]s", "%[2]s"]
    track_backend "web" {
      min_up = 1
    }
  }
}
`, bgpVIP4, bgpVIP6, bgpAddr[node], nb)
}

// StartNode runs lbd on node with BGPNodeConfig and waits for its admin
// socket.
func (l *BGPLab) StartNode(node string) *BGPNode {
	l.t.Helper()
	d := &BGPNode{Node: node, Config: filepath.Join(l.dir, node+".hcl"), Socket: filepath.Join(l.dir, node+".sock"), lab: l}
	if err := os.WriteFile(d.Config, []byte(BGPNodeConfig(node, l.BFD)), 0o644); err != nil {
		l.t.Fatal(err)
	}
	d.start()
	return d
}

func (d *BGPNode) start() {
	t := d.lab.t
	t.Helper()
	os.Remove(d.Socket)
	d.Proc = d.lab.start(d.Node, Bin(t, "lbd"), "-f", d.Config, "--socket", d.Socket)
	if !Poll(20*time.Second, func() bool { return adminAnswers(d.Socket) == nil || d.Exited() }) || d.Exited() {
		t.Fatalf("lbd in %s did not start (%s):\n%s", d.Node, d.exitString(), d.Output())
	}
}

// Restart starts lbd again after it exited.
func (d *BGPNode) Restart() {
	d.lab.t.Helper()
	if !d.Exited() {
		d.lab.t.Fatalf("lbd in %s still runs", d.Node)
	}
	d.start()
}

// Ctl runs lbctl against the node.
func (d *BGPNode) Ctl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, Bin(d.lab.t, "lbctl"), append([]string{"--socket", d.Socket}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("lbctl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// BGPStatusJSON is `lbctl --json bgp status`, written from the README's
// keys (as the other e2e types: a renamed key must fail here).
type BGPStatusJSON struct {
	Configured      bool `json:"configured"`
	Drained         bool `json:"drained"`
	RoutesAnnounced int  `json:"routes_announced"`
	Neighbors       []struct {
		Address         string `json:"address"`
		State           string `json:"state"`
		RoutesAnnounced int    `json:"routes_announced"`
		HoldTime        int    `json:"hold_time"`
		Transitions     int    `json:"transitions"`
		BFD             string `json:"bfd"`
	} `json:"neighbors"`
	Announces []struct {
		Name      string `json:"name"`
		Announced bool   `json:"announced"`
		Reason    string `json:"reason"`
	} `json:"announces"`
}

// Status is the node's `lbctl --json bgp status`.
func (d *BGPNode) Status() (BGPStatusJSON, error) {
	var st BGPStatusJSON
	out, err := d.Ctl("--json", "bgp", "status")
	if err != nil {
		return st, err
	}
	err = json.Unmarshal([]byte(out), &st)
	return st, err
}

// Established reports whether both of the node's sessions are up.
func (d *BGPNode) Established() bool {
	st, err := d.Status()
	if err != nil || len(st.Neighbors) != 2 {
		return false
	}
	for _, n := range st.Neighbors {
		if n.State != "ESTABLISHED" {
			return false
		}
	}
	return true
}

// Nexthops are the gateways of the router's kernel route to vip, sorted
// (what zebra installed from BGP: the nodes traffic goes to).
func (l *BGPLab) Nexthops(vip string) []string {
	fam := "-4"
	if strings.Contains(vip, ":") {
		fam = "-6"
	}
	out, err := l.Exec("router", "ip", "-j", fam, "route", "show", vip)
	if err != nil {
		return nil
	}
	var routes []map[string]any
	if json.Unmarshal([]byte(out), &routes) != nil {
		return nil
	}
	var gws []string
	for _, r := range routes {
		if g, ok := r["gateway"].(string); ok {
			gws = append(gws, g)
		}
		if nhs, ok := r["nexthops"].([]any); ok {
			for _, nh := range nhs {
				if m, ok := nh.(map[string]any); ok {
					if g, ok := m["gateway"].(string); ok {
						gws = append(gws, g)
					}
				}
			}
		}
	}
	slices.Sort(gws)
	return gws
}

// NodesOf maps gateways to node names.
func NodesOf(gws []string) []string {
	var out []string
	for _, g := range gws {
		for n, a := range bgpAddr {
			if a == g || bgpAddr6[n] == g {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out
}

// WaitNexthops waits until the router sends vip's traffic to exactly
// nodes, and returns how long that took.
func (l *BGPLab) WaitNexthops(vip string, timeout time.Duration, nodes ...string) time.Duration {
	l.t.Helper()
	start := time.Now()
	slices.Sort(nodes)
	want := strings.Join(nodes, ",")
	var got string
	for time.Since(start) < timeout {
		got = strings.Join(NodesOf(l.Nexthops(vip)), ",")
		if got == want {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	bgp, _ := l.Vtysh("show bgp summary")
	l.t.Fatalf("router's route to %s goes to [%s] after %v, want [%s]\n%s", vip, got, timeout, want, bgp)
	return 0
}

// --- the client --------------------------------------------------------------

// whoamiRe reads lab-webserver's /whoami: remote= is the lbd node that
// proxied the request (its own address on the LB segment).
var whoamiRe = regexp.MustCompile(`(?m)^remote=\[?([0-9a-f.:]+?)\]?:\d+$`)

// BGPClient sends requests from the client namespace, each on a new
// connection unless keepAlive, and tells which node served each.
type BGPClient struct {
	lab *BGPLab
	hc  *http.Client
}

// Client returns a client with a per-request timeout.
func (l *BGPLab) Client(keepAlive bool, timeout time.Duration) *BGPClient {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := inNetns(l.ns("client"), func() error {
				var d net.Dialer
				var err error
				c, err = d.DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
		DisableKeepAlives: !keepAlive,
	}
	return &BGPClient{lab: l, hc: &http.Client{Timeout: timeout, Transport: tr}}
}

// Get fetches /whoami from vip and returns the node that served it.
func (c *BGPClient) Get(vip string) (string, error) {
	host := vip
	if strings.Contains(vip, ":") {
		host = "[" + vip + "]"
	}
	resp, err := c.hc.Get("http://" + host + "/whoami")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	m := whoamiRe.FindStringSubmatch(string(b))
	if m == nil {
		return "", fmt.Errorf("no remote= in %q", b)
	}
	for n, a := range bgpAddr {
		if a == m[1] || bgpAddr6[n] == m[1] {
			return n, nil
		}
	}
	return "", fmt.Errorf("served from %s, not a node", m[1])
}

// Spread sends n requests and counts them per node.
func (c *BGPClient) Spread(vip string, n int) (map[string]int, []error) {
	counts := map[string]int{}
	var errs []error
	for range n {
		node, err := c.Get(vip)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		counts[node]++
	}
	return counts, errs
}

// BGPMeter polls the VIP every interval and records, per request, the
// node and the outcome.
type BGPMeter struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	res  BGPMeterResult
}

// BGPMeterResult is what a BGPMeter saw.
type BGPMeterResult struct {
	Requests, Failed int
	Nodes            map[string]int
	// LastOn is when each node last served a request.
	LastOn map[string]time.Time
	Errors []string
	// FirstFail and LastFail bound the failures (zero without any).
	FirstFail, LastFail time.Time
}

// StartMeter polls vip from the client every interval.
func (c *BGPClient) StartMeter(vip string, interval time.Duration) *BGPMeter {
	m := &BGPMeter{stop: make(chan struct{}), done: make(chan struct{}),
		res: BGPMeterResult{Nodes: map[string]int{}, LastOn: map[string]time.Time{}}}
	go func() {
		defer close(m.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			node, err := c.Get(vip)
			now := time.Now()
			m.mu.Lock()
			m.res.Requests++
			if err != nil {
				m.res.Failed++
				if m.res.FirstFail.IsZero() {
					m.res.FirstFail = now
				}
				m.res.LastFail = now
				if len(m.res.Errors) < 10 {
					m.res.Errors = append(m.res.Errors, now.Format("15:04:05.000 ")+err.Error())
				}
			} else {
				m.res.Nodes[node]++
				m.res.LastOn[node] = now
			}
			m.mu.Unlock()
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

// Stop ends the meter and returns what it saw.
func (m *BGPMeter) Stop() BGPMeterResult {
	close(m.stop)
	<-m.done
	return m.Snapshot()
}

// Snapshot is what the meter saw so far.
func (m *BGPMeter) Snapshot() BGPMeterResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.res
	r.Nodes, r.LastOn = maps.Clone(r.Nodes), maps.Clone(r.LastOn)
	r.Errors = slices.Clone(r.Errors)
	return r
}

func (r BGPMeterResult) String() string {
	return fmt.Sprintf("requests=%d failed=%d nodes=%v errors=%q", r.Requests, r.Failed, r.Nodes, r.Errors)
}

// --- teardown ---------------------------------------------------------------

// Close stops every process and removes the namespaces and directories.
func (l *BGPLab) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	procs := l.procs
	l.mu.Unlock()
	for _, p := range procs {
		_ = p.Signal(syscall.SIGKILL)
		select {
		case <-p.Done():
		case <-time.After(10 * time.Second):
			l.t.Errorf("%s did not die", p.Name)
		}
	}
	if l.t.Failed() {
		for _, p := range procs {
			l.t.Logf("--- output of %s (%s) ---\n%s", p.Name, p.exitString(), tail(p.Output(), 16<<10))
		}
	}
	removeBGPLab(l.Prefix)
	if left := bgpLeftovers(l.Prefix); len(left) > 0 {
		l.t.Errorf("BGP lab %s left behind: %v", l.Prefix, left)
	}
	os.RemoveAll(l.dir)
	os.RemoveAll(l.frrDir)
}

func removeBGPLab(prefix string) {
	for _, h := range bgpHosts {
		_ = exec.Command("ip", "netns", "del", prefix+"-"+h).Run()
	}
}

func bgpLeftovers(prefix string) []string {
	var left []string
	for _, ns := range listNetns() {
		if strings.HasPrefix(ns, prefix+"-") {
			left = append(left, "netns "+ns)
		}
	}
	return left
}

var (
	bgpNSRe  = regexp.MustCompile(`^(e2e(\d+)b\d+)-[a-z0-9]+$`)
	frrDirRe = regexp.MustCompile(`^lbd-bgp-frr-(\d+)-`)
)

// sweepStaleBGP removes BGP labs of earlier runs whose test binary is gone
// (lbd's directories are swept by sweepStale: lbd-e2e-e2ePID-...). FRR's
// daemons drop root, which clears their parent-death signal: they are
// killed by their pid files.
func sweepStaleBGP() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "lbd-bgp-frr-*"))
	for _, d := range dirs {
		m := frrDirRe.FindStringSubmatch(filepath.Base(d))
		if m == nil {
			continue
		}
		if pid, _ := strconv.Atoi(m[1]); pid == os.Getpid() || testBinaryAlive(pid) {
			continue
		}
		for _, f := range []string{"bgpd.pid", "zebra.pid", "bfdd.pid"} {
			b, err := os.ReadFile(filepath.Join(d, f))
			if err != nil {
				continue
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			if c := strings.TrimSpace(string(comm)); pid > 1 && (c == "bgpd" || c == "zebra" || c == "bfdd") {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		os.RemoveAll(d)
	}
	for _, ns := range listNetns() {
		m := bgpNSRe.FindStringSubmatch(ns)
		if m == nil {
			continue
		}
		if pid, _ := strconv.Atoi(m[2]); pid != os.Getpid() && !testBinaryAlive(pid) {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	}
}
