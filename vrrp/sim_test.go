package vrrp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/clock"
	"lbd/config"
)

// newFakeClock is the simulation's clock: Advance fires due timers in
// time order, synchronously, and the simulated network delivers what they
// sent after each one (sim sets OnFire).
func newFakeClock() *clock.Fake {
	return clock.NewFake(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
}

// sim is a fake broadcast segment joining simulated nodes.
type sim struct {
	t     *testing.T
	clk   *clock.Fake
	nodes []*node
	queue []frame
	start time.Time
	// latency, when set, delivers each advert that long after it is sent
	// (through the clock) instead of as soon as the sender is done.
	latency time.Duration
	// cut, while set, keeps adverts from and to nodes marked cutOff (VRRP
	// blocked between them, as in a split brain); announcements pass.
	cut bool
	// demux delivers an advert only to the nodes of its VRID, as a host
	// running several instances does (keepalived's one socket, lbd's
	// filters); without it every node gets every advert.
	demux bool
}

type frame struct {
	from *node
	pkt  rxPacket
}

// node is one simulated lbd: an instance, its fake network I/O and
// tracker sources.
type node struct {
	sim      *sim
	name     string
	addr     netip.Addr
	mac      net.HardwareAddr
	in       *instance
	io       *fakeIO
	src      *fakeSource
	notifies [][]string
	down     bool // crashed or cut off: sends and receives nothing
	// advMAC, when set, is the Ethernet source of the node's adverts (a
	// virtual MAC); noSrcMAC sends them without one (a link without
	// Ethernet addresses).
	advMAC   net.HardwareAddr
	noSrcMAC bool
	cutOff   bool
	peer     *fakeKeepalived // a scripted peer instead of an lbd instance
}

type sentAdvert struct {
	at   time.Time
	prio int
}

type fakeIO struct {
	n                             *node
	vips                          map[netip.Prefix]bool
	sent                          []sentAdvert
	garps                         int
	garpAt                        []time.Time // our own gratuitous ARPs (one entry per call)
	garpsAs                       []garpAs    // gratuitous ARPs for another node's MAC
	probes                        int
	held                          bool // another node held one of the VIPs at the last probe
	foreign                       bool // another node announced a watched VIP since the last claimed
	forUs                         bool // another node announced a watched VIP at our MAC
	pullErr                       error
	pulling                       bool
	pulledTo                      string
	busyUntil, pullStart, pullEnd time.Time
	noMAC                         bool // the neighbour table knows no other node
	addErr                        error
	vipSince                      time.Time    // when the VIPs were last added
	vipGone                       time.Time    // when they were last removed
	dsts                          []netip.Addr // where each advert went (the simulated segment delivers to all)
	watched                       []netip.Prefix
}

type garpAs struct {
	at  time.Time
	mac string
}

func newSim(t *testing.T) *sim {
	s := &sim{t: t, clk: newFakeClock()}
	s.start = s.clk.Now()
	s.clk.OnFire = s.pump
	return s
}

// add creates a node; mod adjusts its instance config.
func (s *sim) add(name, addr string, prio int, mod func(*config.VRRPInstance), scripts ...*config.VRRPScript) *node {
	cfg := testInstanceConfig(prio)
	if mod != nil {
		mod(cfg)
	}
	n := &node{sim: s, name: name, addr: netip.MustParseAddr(addr)}
	a16 := n.addr.As16()
	n.mac = net.HardwareAddr{0x02, 0, a16[12], a16[13], a16[14], a16[15]}
	n.io = &fakeIO{n: n, vips: map[netip.Prefix]bool{}}
	n.src = newFakeSource()
	n.src.links[cfg.Interface] = true
	log := zerolog.New(zerolog.NewTestWriter(s.t)).With().Str("node", name).Logger()
	n.in = newInstance(cfg, scripts, log, s.clk, n.io, n.src, func(args []string) {
		n.notifies = append(n.notifies, args)
	})
	s.nodes = append(s.nodes, n)
	return n
}

func (n *node) start() {
	n.in.start()
	n.sim.pump()
}

// pair starts a (priority 150) and b (100) and lets them settle: a is
// MASTER, b BACKUP.
func (s *sim) pair() (a, b *node) {
	s.t.Helper()
	a = s.add("a", "192.0.2.1", 150, nil)
	b = s.add("b", "192.0.2.2", 100, nil)
	a.start()
	b.start()
	s.advance(10 * time.Second)
	s.wantStates(map[*node]State{a: StateMaster, b: StateBackup})
	return a, b
}

// modified is testInstanceConfig(prio) changed by mod: a reload's file.
func modified(prio int, mod func(*config.VRRPInstance)) *config.VRRPInstance {
	c := testInstanceConfig(prio)
	mod(c)
	return c
}

func testInstanceConfig(prio int) *config.VRRPInstance {
	return &config.VRRPInstance{
		Name:               "VI_1",
		Interface:          "eth0",
		State:              "BACKUP",
		Version:            2,
		VirtualRouterID:    51,
		Priority:           prio,
		AdvertInt:          time.Second,
		Preempt:            true,
		VirtualIPAddresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.100/24")},
		GARPMasterDelay:    5 * time.Second,
		GARPMasterRepeat:   5,
	}
}

// pump delivers queued packets to every other live node until the segment
// is quiet.
func (s *sim) pump() {
	for len(s.queue) > 0 {
		f := s.queue[0]
		s.queue = s.queue[1:]
		for _, n := range s.nodes {
			if n == f.from || n.down || (s.cut && (n.cutOff || f.from.cutOff)) {
				continue
			}
			if s.demux && len(f.pkt.Payload) > 1 && n.peer == nil && int(f.pkt.Payload[1]) != n.in.cfg.VirtualRouterID {
				continue
			}
			if n.peer != nil {
				n.peer.onPacket(f.pkt)
				continue
			}
			n.in.onPacket(f.pkt)
		}
	}
}

func (s *sim) advance(d time.Duration) {
	s.clk.Advance(d)
	s.pump()
}

// finish advances the simulation by d, after which handover h must have
// ended (the test fails with notDone otherwise), and returns its outcome.
func (s *sim) finish(h *handover, d time.Duration, notDone string) error {
	s.t.Helper()
	s.advance(d)
	select {
	case <-h.done:
	default:
		s.t.Fatal(notDone)
	}
	return h.err
}

// elapsed is the simulated time since the start.
func (s *sim) elapsed() time.Duration { return s.clk.Now().Sub(s.start) }

func (io *fakeIO) ifindex() int { return 2 }

func (io *fakeIO) vipIfindex() int { return 2 }

func (io *fakeIO) sendAdvert(src, dst netip.Addr, msg []byte) error {
	n := io.n
	if n.down {
		return nil
	}
	io.dsts = append(io.dsts, dst)
	a, err := ParseAdvert(msg, Pseudo{Src: src, Dst: dst})
	if err != nil {
		n.sim.t.Fatalf("%s sent an undecodable advert: %v", n.name, err)
	}
	if src != n.addr {
		n.sim.t.Fatalf("%s sent from %s, want %s", n.name, src, n.addr)
	}
	io.sent = append(io.sent, sentAdvert{at: n.sim.clk.Now(), prio: int(a.Priority)})
	mac := n.mac
	switch {
	case n.noSrcMAC:
		mac = nil
	case n.advMAC != nil:
		mac = n.advMAC
	}
	f := frame{from: n, pkt: rxPacket{SrcMAC: mac, Src: src, Dst: dst, TTL: TTL, Payload: msg}}
	if n.sim.latency > 0 {
		n.sim.clk.AfterFunc(n.sim.latency, func() {
			n.sim.queue = append(n.sim.queue, f)
		})
		return nil
	}
	n.sim.queue = append(n.sim.queue, f)
	return nil
}

func (io *fakeIO) addVIPs(vips []netip.Prefix) error {
	if io.addErr != nil {
		return io.addErr
	}
	for _, p := range vips {
		io.vips[p] = true
	}
	io.vipSince = io.n.sim.clk.Now()
	return nil
}

func (io *fakeIO) delVIPs(vips []netip.Prefix) error {
	for _, p := range vips {
		delete(io.vips, p)
	}
	io.vipGone = io.n.sim.clk.Now()
	return nil
}

// seen makes the other live nodes watching vips notice an announcement
// of them at mac.
func (io *fakeIO) seen(mac net.HardwareAddr, vips []netip.Prefix) {
	for _, n := range io.n.sim.nodes {
		if n == io.n || n.down || n.io == nil {
			continue
		}
		for _, p := range vips {
			switch {
			case !slices.Contains(n.io.watched, p):
			case mac.String() == n.mac.String():
				n.io.forUs = true
			default:
				n.io.foreign = true
			}
		}
	}
}

func (io *fakeIO) announce(vips []netip.Prefix) error {
	if !io.n.down {
		io.seen(io.n.mac, vips)
	}
	io.garps += len(vips)
	io.garpAt = append(io.garpAt, io.n.sim.clk.Now())
	return nil
}

func (io *fakeIO) announceAs(mac net.HardwareAddr, vips []netip.Prefix) error {
	if !io.n.down {
		io.seen(mac, vips)
	}
	io.garpsAs = append(io.garpsAs, garpAs{at: io.n.sim.clk.Now(), mac: mac.String()})
	return nil
}

// neighbor knows every node of the segment, unless noMAC.
func (io *fakeIO) neighbor(addr netip.Addr, resolve bool) (net.HardwareAddr, error) {
	if io.noMAC {
		return nil, nil
	}
	for _, n := range io.n.sim.nodes {
		if n.addr == addr {
			return n.mac, nil
		}
	}
	return nil, nil
}

// probe is answered, at once, by every other live node holding one of
// vips.
func (io *fakeIO) probe(src netip.Addr, vips []netip.Prefix) error {
	io.probes++
	io.held = false
	if io.n.down {
		return nil
	}
	for _, n := range io.n.sim.nodes {
		if n == io.n || n.down {
			continue
		}
		for _, p := range vips {
			if n.io.vips[p] {
				io.held = true
			}
		}
	}
	return nil
}

// claimed reports the answers to the last probe and the announcements
// seen since the last call, once.
func (io *fakeIO) claimed() (claims, error) {
	c := claims{other: io.held || io.foreign, forUs: io.forUs}
	io.held, io.foreign, io.forUs = false, false, false
	return c, nil
}

// pull stands in for passing frames on: the test says when it is busy.
func (io *fakeIO) pull(vips []netip.Prefix, mac net.HardwareAddr) error {
	if io.pullErr != nil {
		return io.pullErr
	}
	io.pulling, io.pulledTo = true, mac.String()
	io.pullStart = io.n.sim.clk.Now()
	return nil
}

// pullTaken takes the VIPs once busyUntil has passed, as the goroutine of
// a real pull would at the first quiet moment.
func (io *fakeIO) pullTaken() (bool, error) {
	if !io.pulling || io.busyUntil.After(io.n.sim.clk.Now()) {
		return false, nil
	}
	return true, io.pullForce()
}

func (io *fakeIO) pullForce() error {
	io.pulling, io.pullEnd = false, io.n.sim.clk.Now()
	return io.addVIPs([]netip.Prefix{netip.MustParsePrefix(vip)})
}

func (io *fakeIO) stopPull() error {
	if io.pulling {
		io.pulling, io.pullEnd = false, io.n.sim.clk.Now()
	}
	return nil
}

func (io *fakeIO) watchClaims(vips []netip.Prefix) error {
	io.watched = vips
	return nil
}

func (io *fakeIO) addrs() ([]ifAddr, error) {
	out := []ifAddr{{prefix: netip.PrefixFrom(io.n.addr, map[bool]int{false: 24, true: 64}[io.n.addr.Is6()])}}
	for p := range io.vips {
		out = append(out, ifAddr{prefix: p, secondary: true})
	}
	return out, nil
}

func (io *fakeIO) close() error { return nil }

func (io *fakeIO) holds(vip string) bool { return io.vips[netip.MustParsePrefix(vip)] }

// locked runs f with the node's instance lock held: for reading what the
// instance did from a goroutine of its own (the quiet wait).
func (n *node) locked(f func()) {
	n.in.mu.Lock()
	defer n.in.mu.Unlock()
	f()
}

// fakeQuiet is a Quiescer the test opens: WaitQuiet blocks until quiet
// is called (or its context ends).
type fakeQuiet struct {
	mu      sync.Mutex
	calls   [][]netip.Addr
	open    chan struct{}
	aborted int // waits ended by their context
}

func newFakeQuiet() *fakeQuiet { return &fakeQuiet{open: make(chan struct{})} }

func (q *fakeQuiet) WaitQuiet(ctx context.Context, addrs []netip.Addr) error {
	q.mu.Lock()
	q.calls = append(q.calls, addrs)
	ch := q.open
	q.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		q.mu.Lock()
		q.aborted++
		q.mu.Unlock()
		return ctx.Err()
	}
}

// quiet lets every wait, present and future, return.
func (q *fakeQuiet) quiet() {
	q.mu.Lock()
	defer q.mu.Unlock()
	close(q.open)
}

func (q *fakeQuiet) waits() (calls, aborted int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.calls), q.aborted
}

// fakeSource is a trackSource over plain maps.
type fakeSource struct {
	mu       sync.Mutex
	scripts  map[string]*scriptCounter
	links    map[string]bool
	backends map[string]int
}

func newFakeSource() *fakeSource {
	return &fakeSource{scripts: map[string]*scriptCounter{}, links: map[string]bool{}, backends: map[string]int{}}
}

func (f *fakeSource) script(name string) (bool, bool, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.scripts[name]
	if c == nil || !c.known {
		return false, false, ""
	}
	return true, c.ok, ""
}

func (f *fakeSource) linkUp(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.links[name]
}

func (f *fakeSource) usableServers(b string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.backends[b]
}

// setScript forces a script's state and tells the instance.
func (n *node) setScript(name string, ok bool) {
	n.src.mu.Lock()
	c := &scriptCounter{known: true, ok: ok}
	n.src.scripts[name] = c
	n.src.mu.Unlock()
	n.in.trackersChanged("test")
	n.sim.pump()
}

func (n *node) setLink(name string, up bool) {
	n.src.mu.Lock()
	n.src.links[name] = up
	n.src.mu.Unlock()
	n.in.trackersChanged("test")
	n.sim.pump()
}

func (n *node) setBackend(name string, usable int) {
	n.src.mu.Lock()
	n.src.backends[name] = usable
	n.src.mu.Unlock()
	n.in.trackersChanged("test")
	n.sim.pump()
}

// crash makes the node vanish from the segment without a word.
func (n *node) crash() { n.down = true }

func (n *node) state() State {
	n.in.mu.Lock()
	defer n.in.mu.Unlock()
	return n.in.state
}

func (n *node) prio() int {
	n.in.mu.Lock()
	defer n.in.mu.Unlock()
	return n.in.effPrio
}

// lastSent returns the priority of the node's last advert, -1 if none.
func (n *node) lastSent() int {
	if len(n.io.sent) == 0 {
		return -1
	}
	return n.io.sent[len(n.io.sent)-1].prio
}

func (s *sim) wantStates(want map[*node]State) {
	s.t.Helper()
	for n, st := range want {
		if got := n.state(); got != st {
			s.t.Errorf("at %s: %s is %s, want %s (reason %q)", s.elapsed(), n.name, got, st, n.in.reason)
		}
	}
}

// onlyHolder checks that exactly the given node holds the VIP.
func (s *sim) onlyHolder(vip string, holder *node) {
	s.t.Helper()
	for _, n := range s.nodes {
		if got, want := n.io.holds(vip), n == holder; got != want {
			s.t.Errorf("at %s: %s holds %s = %v, want %v", s.elapsed(), n.name, vip, got, want)
		}
	}
}

var errAdd = errors.New("netlink: operation not permitted")

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return time.Now()
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", within, what)
	return time.Time{}
}

// ph4 is the pseudo-header of the test adverts that other nodes send.
var ph4 = Pseudo{Src: netip.MustParseAddr("192.0.2.9"), Dst: MulticastGroup}
