//go:build linux

package vrrp

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"lbd/clock"
	"lbd/config"
)

// requireRoot skips tests that build network namespaces when not root,
// except under CI=true where that is a failure (CONTRIBUTING.md).
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("ip"); err != nil {
			t.Fatalf("iproute2 'ip' is needed: %v", err)
		}
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root to build network namespaces (CI=true)")
	}
	t.Skip("needs root to build network namespaces")
}

// lab is a segment 192.0.2.0/24 and 2001:db8::/64: a bridge in its own
// namespace and one namespace per node, each with eth0 = 192.0.2.<n>/24,
// 2001:db8::<n>/64 and a link-local address plugged into the bridge (IPv6
// without duplicate address detection, so that addresses are usable at
// once). Names carry a per-run prefix; everything is removed at cleanup.
type lab struct {
	t      *testing.T
	prefix string
	br     string
	nodes  []*labNode
}

type labNode struct {
	lab  *lab
	name string
	ns   string
	addr netip.Addr // 192.0.2.<n>
	ip6  netip.Addr // 2001:db8::<n>
	h    netns.NsHandle
	nl   *netlink.Handle
	port string // its veth on the bridge
}

func newLab(t *testing.T) *lab {
	requireRoot(t)
	var b [3]byte
	_, _ = rand.Read(b[:])
	l := &lab{t: t, prefix: "lv" + hex.EncodeToString(b[:])}
	l.br = l.prefix + "-br"
	t.Cleanup(l.cleanup)
	l.ip("netns", "add", l.br)
	l.ip("-n", l.br, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
	l.ip("-n", l.br, "link", "set", "br0", "up")
	return l
}

func (l *lab) ip(args ...string) string {
	l.t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// node adds a namespace with eth0 = 192.0.2.<host>/24.
func (l *lab) node(name string, host int) *labNode {
	n := &labNode{lab: l, name: name, ns: l.prefix + "-" + name,
		addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(host)}), port: fmt.Sprintf("p%d", host),
		ip6: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(host)})}
	l.ip("netns", "add", n.ns)
	l.nodes = append(l.nodes, n)
	for _, k := range []string{"all", "default"} {
		if out, err := exec.Command("ip", "netns", "exec", n.ns, "sysctl", "-qw", "net.ipv6.conf."+k+".accept_dad=0").CombinedOutput(); err != nil {
			l.t.Fatalf("sysctl: %v\n%s", err, out)
		}
	}
	l.ip("-n", l.br, "link", "add", n.port, "type", "veth", "peer", "name", "eth0", "netns", n.ns)
	l.ip("-n", l.br, "link", "set", n.port, "master", "br0", "up")
	l.ip("-n", n.ns, "link", "set", "lo", "up")
	l.ip("-n", n.ns, "addr", "add", n.addr.String()+"/24", "dev", "eth0")
	l.ip("-n", n.ns, "addr", "add", n.ip6.String()+"/64", "dev", "eth0", "nodad")
	l.ip("-n", n.ns, "link", "set", "eth0", "up")
	h, err := netns.GetFromName(n.ns)
	if err != nil {
		l.t.Fatal(err)
	}
	n.h = h
	if n.nl, err = netlink.NewHandleAt(h); err != nil {
		l.t.Fatal(err)
	}
	return n
}

func (l *lab) cleanup() {
	for _, n := range l.nodes {
		if n.nl != nil {
			n.nl.Close()
		}
		n.h.Close()
		_ = exec.Command("ip", "netns", "del", n.ns).Run()
	}
	_ = exec.Command("ip", "netns", "del", l.br).Run()
}

// hasAddr reports whether the node's eth0 carries a.
func (n *labNode) hasAddr(a netip.Addr) bool { return n.hasAddrOn("eth0", a) }

// hasAddrOn reports whether the node's interface dev carries a.
func (n *labNode) hasAddrOn(dev string, a netip.Addr) bool {
	link, err := n.nl.LinkByName(dev)
	if err != nil {
		return false
	}
	list, err := n.nl.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return false
	}
	for _, x := range list {
		if x.IP.Equal(a.AsSlice()) {
			return true
		}
	}
	return false
}

// addrWatch timestamps every add and delete of one address on a node, as
// netlink reports them.
type addrWatch struct {
	mu     sync.Mutex
	events []addrTimed
	stop   chan struct{}
}

type addrTimed struct {
	at    time.Time
	added bool
}

func (n *labNode) watchAddr(a netip.Addr) *addrWatch {
	w := &addrWatch{stop: make(chan struct{})}
	ch := make(chan netlink.AddrUpdate, 64)
	if err := netlink.AddrSubscribeWithOptions(ch, w.stop, netlink.AddrSubscribeOptions{Namespace: &n.h}); err != nil {
		n.lab.t.Fatal(err)
	}
	go func() {
		for u := range ch {
			if u.LinkAddress.IP.Equal(a.AsSlice()) {
				w.mu.Lock()
				w.events = append(w.events, addrTimed{time.Now(), u.NewAddr})
				w.mu.Unlock()
			}
		}
	}()
	n.lab.t.Cleanup(func() { close(w.stop) })
	return w
}

// first returns the time of the first add (or delete) after t0, waiting a
// little for netlink to deliver it.
func (w *addrWatch) first(added bool, t0 time.Time) (time.Time, bool) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		w.mu.Lock()
		for _, e := range w.events {
			if e.added == added && !e.at.Before(t0) {
				w.mu.Unlock()
				return e.at, true
			}
		}
		w.mu.Unlock()
		if time.Now().After(deadline) {
			return time.Time{}, false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// watchHandover runs act, which moves the VIP from one node to the other
// (a release, a shutdown), and returns when act began, when the VIP was
// added on to and when it was removed from from (zero times if netlink
// did not report it).
func watchHandover(t *testing.T, from, to *labNode, act func() error) (t0, added, removed time.Time) {
	t.Helper()
	wf, wt := from.watchAddr(labVIP), to.watchAddr(labVIP)
	t0 = time.Now()
	if err := act(); err != nil {
		t.Fatal(err)
	}
	added, _ = wt.first(true, t0)
	removed, _ = wf.first(false, t0)
	return t0, added, removed
}

// speaker starts a Speaker working inside the node's namespace.
func (n *labNode) speaker(tracker BackendTracker) *Speaker {
	log := zerolog.New(zerolog.NewTestWriter(n.lab.t)).With().Str("node", n.name).Timestamp().Logger()
	s := newSpeaker(log, tracker, clock.Real{}, func() (host, error) { return newLinuxHost(n.h, log) })
	n.lab.t.Cleanup(func() {
		// Whatever the test did, leave nothing running.
		_ = s.Shutdown(expired())
	})
	return s
}

// crash stops a speaker the way kill -9 would: no priority 0, no VIP
// removal, sockets gone, a macvlan left behind.
func crash(s *Speaker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.instances {
		r.in.mu.Lock()
		r.in.stopped = true
		for _, ts := range r.in.timers() {
			r.in.disarm(ts)
		}
		r.in.mu.Unlock()
		if io, ok := r.io.(*linuxIO); ok {
			io.vmac = nil // left as a crash leaves it
		}
		r.io.close()
	}
}

// labConfig is a one-instance config on eth0 with VIP 192.0.2.100/24.
func labConfig(prio int, mod func(*config.VRRPInstance)) *config.Config {
	vi := testInstanceConfig(prio)
	vi.AuthPass = "s3cret"
	if mod != nil {
		mod(vi)
	}
	return &config.Config{VRRPInstances: []*config.VRRPInstance{vi}}
}

func stateOf(s *Speaker, name string) string {
	for _, st := range s.Status() {
		if st.Name == name {
			return st.State
		}
	}
	return ""
}
