package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/config"
)

// fakeRouter records what the speaker asks of the BGP speaker.
type fakeRouter struct {
	mu       sync.Mutex
	started  *config.BGP
	stopped  bool
	nbrs     map[netip.Addr]*config.BGPNeighbor
	routes   map[netip.Addr][]uint32
	log      []string
	failNext error
}

func (r *fakeRouter) record(f string, a ...any) { r.log = append(r.log, fmt.Sprintf(f, a...)) }

func (r *fakeRouter) start(g *config.BGP) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failNext != nil {
		err := r.failNext
		r.failNext = nil
		return err
	}
	r.started, r.nbrs, r.routes = g, map[netip.Addr]*config.BGPNeighbor{}, map[netip.Addr][]uint32{}
	r.record("start asn=%d", g.ASN)
	return nil
}
func (r *fakeRouter) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	r.record("stop")
}
func (r *fakeRouter) addPeer(n *config.BGPNeighbor, g *config.BGP) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nbrs[n.Address] = n
	r.record("add %s", n.Address)
	return nil
}
func (r *fakeRouter) deletePeer(a netip.Addr) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.nbrs, a)
	r.record("del %s", a)
	return nil
}
func (r *fakeRouter) announce(a netip.Addr, c []uint32) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes[a] = c
	r.record("announce %s", a)
	return nil
}
func (r *fakeRouter) withdraw(a netip.Addr) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.routes, a)
	r.record("withdraw %s", a)
	return nil
}
func (r *fakeRouter) peers() []peerInfo { return nil }

func (r *fakeRouter) announced() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for a := range r.routes {
		out = append(out, a.String())
	}
	slices.Sort(out)
	return out
}

func (r *fakeRouter) takeLog() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := strings.Join(r.log, "; ")
	r.log = nil
	return s
}

// fakeHost is the interface's addresses as a map.
type fakeHost struct {
	mu    sync.Mutex
	m     map[string]map[netip.Addr]bool
	dummy bool
}

func (h *fakeHost) prepare(ifname string) (string, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m[ifname] == nil {
		h.m[ifname] = map[netip.Addr]bool{}
	}
	return ifname, h.dummy, nil
}
func (h *fakeHost) addrs(ifname string) ([]netip.Addr, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []netip.Addr
	for a := range h.m[ifname] {
		out = append(out, a)
	}
	return out, nil
}
func (h *fakeHost) add(ifname string, a netip.Addr) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.m[ifname][a] = true
	return nil
}
func (h *fakeHost) del(ifname string, a netip.Addr) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.m[ifname], a)
	return nil
}
func (h *fakeHost) list(ifname string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for a := range h.m[ifname] {
		out = append(out, a.String())
	}
	slices.Sort(out)
	return out
}

// fakeTracker is the pool's usable counts, settable.
type fakeTracker struct {
	mu     sync.Mutex
	usable map[string]int
	subs   []func(string)
}

func (t *fakeTracker) UsableServers(b string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.usable[b]
}
func (t *fakeTracker) Subscribe(fn func(string)) func() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.subs = append(t.subs, fn)
	return func() {}
}
func (t *fakeTracker) set(b string, n int) {
	t.mu.Lock()
	t.usable[b] = n
	subs := slices.Clone(t.subs)
	t.mu.Unlock()
	for _, fn := range subs {
		fn(b)
	}
}

type rig struct {
	t       *testing.T
	sp      *Speaker
	routers []*fakeRouter
	host    *fakeHost
	tr      *fakeTracker
}

func newRig(t *testing.T, dummy bool) *rig {
	r := &rig{t: t, host: &fakeHost{m: map[string]map[netip.Addr]bool{}, dummy: dummy},
		tr: &fakeTracker{usable: map[string]int{"app": 2, "api": 1}}}
	r.sp = newSpeaker(zerolog.Nop(), r.tr, r.host, func(func(netip.Addr, string, string, string)) router {
		fr := &fakeRouter{}
		r.routers = append(r.routers, fr)
		return fr
	})
	t.Cleanup(r.sp.Close)
	return r
}

func (r *rig) router() *fakeRouter { return r.routers[len(r.routers)-1] }

func (r *rig) apply(src string) {
	r.t.Helper()
	cfg, err := config.Parse("t.hcl", []byte(src))
	if err != nil {
		r.t.Fatalf("%v\n%s", err, src)
	}
	if err := r.sp.Apply(cfg); err != nil {
		r.t.Fatal(err)
	}
}

// waitRoutes waits for the refresh loop (tracker changes are applied by
// the speaker's goroutine).
func (r *rig) waitRoutes(want string) {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := strings.Join(r.router().announced(), ",")
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("announced %q, want %q", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const rigBase = `frontend "web" {
  bind            = ["[::]:80"]
  default_backend = "app"
}
backend "app" {
  server "a" { address = "192.0.2.21:80" }
}
backend "api" {
  server "a" { address = "192.0.2.22:80" }
}
`

func rigBGP(extra string) string {
	return rigBase + `bgp {
  asn       = 64512
  router_id = "192.0.2.11"
  neighbor "192.0.2.1" {
    remote_as = 64513
  }
  neighbor "2001:db8:1::1" {
    remote_as = 64513
  }
  announce "web" {
    addresses   = ["198.51.100.200", "2001:db8:ff::200"]
    communities = ["64512:100"]
    track_backend "app" {
      min_up = 2
    }
  }
  announce "api" {
    addresses = ["198.51.100.201"]
    track_backend "api" {}
  }
` + extra + "}\n"
}

func TestAnnounceFollowsHealth(t *testing.T) {
	r := newRig(t, true)
	r.apply(rigBGP(""))
	rt := r.router()
	if rt.started.ASN != 64512 || len(rt.nbrs) != 2 {
		t.Fatalf("started %+v peers %v", rt.started, rt.nbrs)
	}
	r.waitRoutes("198.51.100.200,198.51.100.201,2001:db8:ff::200")
	if got := rt.routes[netip.MustParseAddr("198.51.100.200")]; len(got) != 1 || got[0] != 64512<<16|100 {
		t.Errorf("communities %v", got)
	}
	if got := strings.Join(r.host.list("lbd0"), ","); got != "198.51.100.200,198.51.100.201,2001:db8:ff::200" {
		t.Errorf("addresses %s", got)
	}
	// One server of app's two: below min_up 2, web is withdrawn, api stays.
	r.tr.set("app", 1)
	r.waitRoutes("198.51.100.201")
	st := r.sp.Status()
	if st.Announces[0].Announced || !strings.Contains(st.Announces[0].Reason, "backend app: 1 usable servers, min_up 2") || st.Announces[0].Transitions != 2 {
		t.Errorf("status %+v", st.Announces[0])
	}
	if !st.Announces[1].Announced || st.RoutesAnnounced != 1 {
		t.Errorf("status %+v", st)
	}
	// The addresses stay: stray packets are still served.
	if got := len(r.host.list("lbd0")); got != 3 {
		t.Errorf("%d addresses left, want 3", got)
	}
	r.tr.set("app", 2)
	r.waitRoutes("198.51.100.200,198.51.100.201,2001:db8:ff::200")
	r.tr.set("api", 0)
	r.waitRoutes("198.51.100.200,2001:db8:ff::200")
}

func TestDrainUndrainStop(t *testing.T) {
	r := newRig(t, true)
	r.apply(rigBGP(""))
	r.waitRoutes("198.51.100.200,198.51.100.201,2001:db8:ff::200")
	if err := r.sp.Drain(); err != nil {
		t.Fatal(err)
	}
	r.waitRoutes("")
	st := r.sp.Status()
	if !st.Drained || st.DrainedSince.IsZero() || st.Announces[0].Reason != "drained (lbctl bgp drain)" {
		t.Errorf("%+v", st)
	}
	// A backend coming back does not undo a drain.
	r.tr.set("app", 3)
	time.Sleep(20 * time.Millisecond)
	r.waitRoutes("")
	if err := r.sp.Undrain(); err != nil {
		t.Fatal(err)
	}
	r.waitRoutes("198.51.100.200,198.51.100.201,2001:db8:ff::200")
	rt := r.router()
	rt.takeLog()
	// Stop: withdrawn before the sessions close; no established session,
	// so no grace wait.
	start := time.Now()
	if err := r.sp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("shutdown waited %v without an established session", d)
	}
	log := rt.takeLog()
	if !strings.HasSuffix(log, "stop") || strings.Count(log, "withdraw") != 3 {
		t.Errorf("shutdown did %q", log)
	}
	if got := len(r.host.list("lbd0")); got != 3 {
		t.Errorf("addresses are removed by Close, after the proxy: %d left", got)
	}
	r.sp.Close()
	if got := r.host.list("lbd0"); len(got) != 0 {
		t.Errorf("Close left %v", got)
	}
}

// TestShutdownWaitsGrace: with an established session and routes out,
// the stop serves for grace (the routers converge) before closing, and
// asks the proxy to close keep-alive connections meanwhile.
func TestShutdownWaitsGrace(t *testing.T) {
	r := newRig(t, true)
	q := &countQuiet{}
	r.sp.SetQuiescer(q)
	r.apply(rigBGP(`  grace = "300ms"` + "\n"))
	r.waitRoutes("198.51.100.200,198.51.100.201,2001:db8:ff::200")
	r.sp.onState(netip.MustParseAddr("192.0.2.1"), "", "ESTABLISHED", "")
	start := time.Now()
	if err := r.sp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("shutdown returned after %v, before grace", d)
	}
	if q.calls() == 0 {
		t.Error("the proxy was not asked to close keep-alive connections")
	}
	if got := q.addrs(); got != "[198.51.100.200 2001:db8:ff::200 198.51.100.201]" {
		t.Errorf("quiesced %s", got)
	}
}

type countQuiet struct {
	mu sync.Mutex
	n  int
	a  []netip.Addr
}

func (q *countQuiet) WaitQuiet(ctx context.Context, addrs []netip.Addr) error {
	q.mu.Lock()
	q.n++
	q.a = addrs
	q.mu.Unlock()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(20 * time.Millisecond):
		return nil
	}
}
func (q *countQuiet) calls() int { q.mu.Lock(); defer q.mu.Unlock(); return q.n }
func (q *countQuiet) addrs() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return fmt.Sprint(q.a)
}

func TestReload(t *testing.T) {
	r := newRig(t, true)
	r.apply(rigBGP(""))
	r.waitRoutes("198.51.100.200,198.51.100.201,2001:db8:ff::200")
	rt := r.router()
	rt.takeLog()

	// Same file: nothing happens to sessions or routes.
	r.apply(rigBGP(""))
	if log := rt.takeLog(); log != "" {
		t.Errorf("an unchanged reload did %q", log)
	}
	// api's address dropped, a neighbour changed, one removed: withdrawn
	// then removed from the interface; the other session untouched.
	src := strings.Replace(rigBGP(""), `  announce "api" {
    addresses = ["198.51.100.201"]
    track_backend "api" {}
  }
`, "", 1)
	src = strings.Replace(src, "  neighbor \"2001:db8:1::1\" {\n    remote_as = 64513\n  }\n", "", 1)
	src = strings.Replace(src, "web\" {\n    addresses", "web\" {\n    addresses", 1)
	src = strings.Replace(src, `["198.51.100.200", "2001:db8:ff::200"]`, `["198.51.100.200"]`, 1)
	src = strings.Replace(src, `bind            = ["[::]:80"]`, `bind            = ["0.0.0.0:80"]`, 1)
	r.apply(src)
	log := rt.takeLog()
	for _, want := range []string{"withdraw 198.51.100.201", "withdraw 2001:db8:ff::200", "del 2001:db8:1::1"} {
		if !strings.Contains(log, want) {
			t.Errorf("reload did %q, missing %q", log, want)
		}
	}
	if strings.Contains(log, "del 192.0.2.1") || strings.Contains(log, "start") {
		t.Errorf("reload touched what it kept: %q", log)
	}
	if got := strings.Join(r.host.list("lbd0"), ","); got != "198.51.100.200" {
		t.Errorf("addresses after reload: %s", got)
	}
	// New timers: sessions are re-made; a new asn restarts the speaker.
	r.apply(strings.Replace(src, "router_id", "hold_time = \"3s\"\n  router_id", 1))
	if log := rt.takeLog(); !strings.Contains(log, "del 192.0.2.1") || !strings.Contains(log, "add 192.0.2.1") {
		t.Errorf("new timers did %q", log)
	}
	r.apply(strings.Replace(src, "64512", "64600", 1))
	if !rt.stopped || len(r.routers) != 2 || r.router().started.ASN != 64600 {
		t.Fatalf("a new asn must restart the speaker (routers %d)", len(r.routers))
	}
	r.waitRoutes("198.51.100.200")
	// bgp block removed: withdrawn, stopped, addresses removed.
	r.apply(rigBase)
	if !r.router().stopped || len(r.host.list("lbd0")) != 0 || r.sp.Status().Configured {
		t.Errorf("removing the block left: stopped=%v addrs=%v", r.router().stopped, r.host.list("lbd0"))
	}
	if err := r.sp.Drain(); err != ErrNotConfigured {
		t.Errorf("drain without bgp: %v", err)
	}
}

// TestOwnedInterfaceCleanup: on lbd's own dummy interface, addresses left
// by an earlier run are removed; on a shared one (lo) they are not.
func TestOwnedInterfaceCleanup(t *testing.T) {
	for _, dummy := range []bool{true, false} {
		r := newRig(t, dummy)
		r.host.m["lbd0"] = map[netip.Addr]bool{netip.MustParseAddr("198.51.100.99"): true}
		r.apply(rigBGP(""))
		has := slices.Contains(r.host.list("lbd0"), "198.51.100.99")
		if has == dummy {
			t.Errorf("dummy=%v: stale address kept=%v", dummy, has)
		}
		r.sp.Close()
		if got := r.host.list("lbd0"); dummy && len(got) != 0 || !dummy && !slices.Equal(got, []string{"198.51.100.99"}) {
			t.Errorf("dummy=%v: after Close %v", dummy, got)
		}
	}
}

// TestHoldDefersTrackerReads: during a reload the pool may already hold
// the new backends while the speaker still tracks the old names.
func TestHoldDefersTrackerReads(t *testing.T) {
	r := newRig(t, true)
	r.apply(rigBGP(""))
	r.waitRoutes("198.51.100.200,198.51.100.201,2001:db8:ff::200")
	r.sp.Hold()
	r.tr.set("app", 0) // the pool renamed the backend; the speaker has not seen the reload yet
	time.Sleep(50 * time.Millisecond)
	if got := strings.Join(r.router().announced(), ","); got != "198.51.100.200,198.51.100.201,2001:db8:ff::200" {
		t.Errorf("routes moved while held: %s", got)
	}
	r.tr.set("app", 2)
	r.sp.Resume()
	time.Sleep(50 * time.Millisecond)
	r.waitRoutes("198.51.100.200,198.51.100.201,2001:db8:ff::200")
}

func TestSessionTransitions(t *testing.T) {
	r := newRig(t, true)
	r.apply(rigBGP(""))
	a := netip.MustParseAddr("192.0.2.1")
	for _, st := range []string{"ACTIVE", "OPENSENT", "OPENCONFIRM", "ESTABLISHED", "ESTABLISHED", "IDLE"} {
		reason := ""
		if st == "IDLE" {
			reason = "hold timer expired"
		}
		r.sp.onState(a, "", st, reason)
	}
	st := r.sp.Status()
	n := st.Neighbors[0]
	if n.Address != "192.0.2.1" || n.State != "IDLE" || n.Transitions != 5 || n.LastError != "hold timer expired" || n.RemoteAS != 64513 {
		t.Errorf("%+v", n)
	}
}
