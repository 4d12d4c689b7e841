package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"lbd/config"
)

// Tracker tells the speaker how healthy the proxy is, without bgp
// importing it (the health pool implements it, as for vrrp).
type Tracker interface {
	// UsableServers is the number of servers of the backend that may take
	// traffic now.
	UsableServers(backend string) int
	// Subscribe registers fn, called (from any goroutine) after a change
	// of a backend's usable servers; cancel unregisters it.
	Subscribe(fn func(backend string)) (cancel func())
}

// Quiescer is the proxy as a draining node sees it: WaitQuiet closes
// connections to addrs once idle while it waits (vrrp.Quiescer's
// contract; the proxy implements both).
type Quiescer interface {
	WaitQuiet(ctx context.Context, addrs []netip.Addr) error
}

// ErrNotConfigured is returned by Drain and Undrain without a bgp block.
var ErrNotConfigured = errors.New("no bgp block is configured")

// resyncEvery re-reads the trackers and retries announcements that
// failed, in case a notification was missed.
const resyncEvery = 10 * time.Second

// Speaker announces the configured VIPs while the node can serve them.
type Speaker struct {
	log       zerolog.Logger
	tracker   Tracker
	host      addrHost
	newRouter func(onState func(addr netip.Addr, from, to, reason string)) router
	now       func() time.Time

	mu          sync.Mutex
	quiet       Quiescer
	cfg         *config.BGP // nil while no bgp block runs
	rt          router
	iface       string                // the interface the addresses are on
	owned       bool                  // iface is lbd's own (dummy)
	addrsOn     map[netip.Addr]string // addresses lbd added -> interface
	routes      map[netip.Addr]string // announced now -> communities key
	groups      map[string]*groupState
	drained     bool
	drainedAt   time.Time
	stopping    bool
	closed      bool
	untrack     func()
	drainCancel context.CancelFunc

	stMu     sync.Mutex // leaf: session events
	sessions map[netip.Addr]*sessionState

	// refreshMu is held by the refresh loop while it reads the trackers,
	// and by Hold during a reload: a reload changes the pool before the
	// speaker, and a tracked backend the reload renames must not read as
	// empty (and withdraw the routes) in between.
	refreshMu sync.Mutex
	kick      chan struct{}
	quit      chan struct{}
	loopDone  chan struct{}
}

type groupState struct {
	announced   bool
	since       time.Time
	reason      string
	transitions uint64
}

type sessionState struct {
	state       string
	since       time.Time
	transitions uint64
	lastError   string
}

// New returns a speaker with no configuration; Apply starts it. tracker
// may be nil when no announce block tracks a backend.
func New(log zerolog.Logger, tracker Tracker) *Speaker {
	l := log.With().Str("component", "bgp").Logger()
	return newSpeaker(l, tracker, newAddrHost(), func(onState func(netip.Addr, string, string, string)) router {
		return newGoBGP(l, onState)
	})
}

func newSpeaker(log zerolog.Logger, tracker Tracker, host addrHost, newRouter func(func(netip.Addr, string, string, string)) router) *Speaker {
	s := &Speaker{
		log:       log,
		tracker:   tracker,
		host:      host,
		newRouter: newRouter,
		now:       time.Now,
		addrsOn:   map[netip.Addr]string{},
		routes:    map[netip.Addr]string{},
		groups:    map[string]*groupState{},
		sessions:  map[netip.Addr]*sessionState{},
		kick:      make(chan struct{}, 1),
		quit:      make(chan struct{}),
		loopDone:  make(chan struct{}),
	}
	go s.loop()
	return s
}

// SetQuiescer gives the speaker the proxy, to close keep-alive
// connections to the VIPs while draining. Call it before Apply.
func (s *Speaker) SetQuiescer(q Quiescer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quiet = q
}

// Hold defers the re-reading of tracked backends until Resume; the
// appliance holds it while a reload is applied.
func (s *Speaker) Hold() { s.refreshMu.Lock() }

// Resume ends Hold and re-reads the trackers.
func (s *Speaker) Resume() {
	s.refreshMu.Unlock()
	s.poke()
}

func (s *Speaker) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Speaker) loop() {
	defer close(s.loopDone)
	t := time.NewTicker(resyncEvery)
	defer t.Stop()
	for {
		why := "backend health"
		select {
		case <-s.quit:
			return
		case <-s.kick:
		case <-t.C:
			why = "resync"
		}
		s.refreshMu.Lock()
		s.mu.Lock()
		s.reconcile(why)
		s.mu.Unlock()
		s.refreshMu.Unlock()
	}
}

// Apply starts, changes or stops the speaker to match cfg.BGP, on the
// first start and on every reload. Sessions whose neighbour settings are
// unchanged stay up; a new asn, router_id or listen_port restarts the
// speaker (every session flaps once). Addresses are added to the
// interface before any route is announced; addresses a reload drops are
// withdrawn first, then removed.
func (s *Speaker) Apply(cfg *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("bgp: speaker is shut down")
	}
	g := cfg.BGP
	if g == nil {
		if s.cfg != nil {
			s.log.Info().Msg("bgp block removed: withdrawing and closing the sessions")
			s.teardown()
		}
		return nil
	}
	used, owned, err := s.host.prepare(g.Interface)
	if err != nil {
		return err
	}
	if used != g.Interface {
		if s.iface != used {
			s.log.Warn().Str("interface", g.Interface).Str("used", used).
				Msg("this kernel has no dummy interfaces: the VIPs go on lo, where lbd removes only its own addresses")
		}
	}
	s.iface = used
	if err := s.applyAddrs(g, used, owned); err != nil {
		return err
	}
	if s.rt == nil || globalChanged(s.cfg, g) {
		if s.rt != nil {
			s.log.Warn().Uint32("asn", g.ASN).Str("router_id", g.RouterID.String()).Int("listen_port", g.ListenPort).
				Msg("asn, router_id or listen_port changed: restarting the BGP speaker, every session flaps once")
			s.rt.stop()
			s.routes = map[netip.Addr]string{}
		}
		rt := s.newRouter(s.onState)
		if err := rt.start(g); err != nil {
			s.rt = nil
			return err
		}
		s.rt = rt
		s.cfg = nil // every neighbour is new to this router
	}
	if err := s.applyPeers(g); err != nil {
		return err
	}
	if s.untrack == nil && s.tracker != nil {
		s.untrack = s.tracker.Subscribe(func(string) { s.poke() })
	}
	first := s.cfg == nil
	s.cfg = g
	for name := range s.groups {
		if g.Announce(name) == nil {
			delete(s.groups, name)
		}
	}
	why := "reload"
	if first {
		why = "start"
		s.log.Info().Uint32("asn", g.ASN).Str("router_id", g.RouterID.String()).Int("neighbors", len(g.Neighbors)).
			Int("announces", len(g.Announces)).Str("interface", g.Interface).Msg("BGP speaker running")
	}
	s.reconcile(why)
	return nil
}

// sameNeighbor: a and b would open the same session.
func sameNeighbor(a, b *config.BGPNeighbor) bool {
	return a.Address == b.Address && a.RemoteAS == b.RemoteAS && a.Port == b.Port && a.LocalAddress == b.LocalAddress &&
		a.Password == b.Password && a.EBGPMultihop == b.EBGPMultihop && a.Passive == b.Passive &&
		a.BFD == b.BFD && a.BFDInterval == b.BFDInterval && a.BFDMultiplier == b.BFDMultiplier
}

func globalChanged(old, g *config.BGP) bool {
	return old == nil || old.ASN != g.ASN || old.RouterID != g.RouterID || old.ListenPort != g.ListenPort
}

// applyAddrs puts the announced addresses on the interface and takes
// away the ones no announce block lists any more (withdrawn first).
func (s *Speaker) applyAddrs(g *config.BGP, ifname string, owned bool) error {
	want := map[netip.Addr]bool{}
	for _, a := range g.Announces {
		for _, ad := range a.Addresses {
			want[ad] = true
		}
	}
	for ad := range s.routes {
		if !want[ad] {
			s.withdrawRoute(ad)
		}
	}
	for _, a := range g.Announces {
		for _, ad := range a.Addresses {
			if err := s.host.add(ifname, ad); err != nil {
				return err
			}
		}
	}
	for ad, ifname := range s.addrsOn {
		if want[ad] && ifname == ifname {
			continue
		}
		if err := s.host.del(ifname, ad); err != nil {
			s.log.Error().Err(err).Str("address", ad.String()).Msg("removing an address no longer announced")
		}
		delete(s.addrsOn, ad)
	}
	for ad := range want {
		s.addrsOn[ad] = ifname
	}
	s.owned = owned
	if owned {
		// The interface is lbd's: what else is on it was left by an
		// earlier run (a crash, or a file changed while lbd was down).
		have, err := s.host.addrs(ifname)
		if err != nil {
			return err
		}
		for _, ad := range have {
			if !want[ad] {
				s.log.Warn().Str("address", ad.String()).Str("interface", ifname).Msg("removing an address no announce block lists (left by an earlier run)")
				if err := s.host.del(ifname, ad); err != nil {
					s.log.Error().Err(err).Str("address", ad.String()).Msg("removing a stale address")
				}
			}
		}
	}
	return nil
}

// applyPeers adds, changes and removes neighbours; an unchanged one keeps
// its session.
func (s *Speaker) applyPeers(g *config.BGP) error {
	var old []*config.BGPNeighbor
	if s.cfg != nil {
		old = s.cfg.Neighbors
	}
	find := func(list []*config.BGPNeighbor, a netip.Addr) *config.BGPNeighbor {
		for _, n := range list {
			if n.Address == a {
				return n
			}
		}
		return nil
	}
	timersChanged := s.cfg != nil && (s.cfg.HoldTime != g.HoldTime || s.cfg.Keepalive != g.Keepalive)
	for _, n := range old {
		if nn := find(g.Neighbors, n.Address); nn == nil || !sameNeighbor(nn, n) || timersChanged {
			if err := s.rt.deletePeer(n.Address); err != nil {
				return err
			}
			if nn == nil {
				s.log.Info().Str("neighbor", n.Address.String()).Msg("neighbor removed")
			}
		}
	}
	for _, n := range g.Neighbors {
		if on := find(old, n.Address); on == nil || !sameNeighbor(on, n) || timersChanged {
			if err := s.rt.addPeer(n, g); err != nil {
				return err
			}
			s.stMu.Lock()
			if s.sessions[n.Address] == nil {
				s.sessions[n.Address] = &sessionState{state: "IDLE", since: s.now()}
			}
			s.stMu.Unlock()
		}
	}
	s.stMu.Lock()
	for a := range s.sessions {
		if find(g.Neighbors, a) == nil {
			delete(s.sessions, a)
		}
	}
	s.stMu.Unlock()
	return nil
}

// reconcile announces what may be announced now and withdraws the rest.
// Called with mu held.
func (s *Speaker) reconcile(why string) {
	if s.cfg == nil || s.rt == nil {
		return
	}
	now := s.now()
	want := map[netip.Addr][]uint32{}
	for _, a := range s.cfg.Announces {
		ok, reason := s.groupOK(a)
		gs := s.groups[a.Name]
		if gs == nil {
			gs = &groupState{since: now}
			s.groups[a.Name] = gs
			if ok {
				gs.transitions++
			}
		} else if ok != gs.announced {
			gs.since = now
			gs.transitions++
		}
		if ok != gs.announced || gs.reason != reason {
			ev := s.log.Info()
			msg := "announcing"
			if !ok {
				msg = "withdrawing"
				if !s.drained && !s.stopping {
					ev = s.log.Warn()
				}
			}
			ev.Str("announce", a.Name).Strs("addresses", addrStrings(a.Addresses)).Str("reason", reason).Str("trigger", why).Msg(msg)
		}
		gs.announced, gs.reason = ok, reason
		if ok {
			for _, ad := range a.Addresses {
				want[ad] = a.Communities
			}
		}
	}
	for ad := range s.routes {
		if _, ok := want[ad]; !ok {
			s.withdrawRoute(ad)
		}
	}
	for ad, comms := range want {
		key := fmt.Sprint(comms)
		if k, ok := s.routes[ad]; ok && k == key {
			continue
		}
		if err := s.rt.announce(ad, comms); err != nil {
			s.log.Error().Err(err).Str("address", ad.String()).Msg("announcing failed; retrying")
			continue
		}
		s.routes[ad] = key
	}
}

func (s *Speaker) withdrawRoute(ad netip.Addr) {
	if s.rt != nil {
		if err := s.rt.withdraw(ad); err != nil {
			s.log.Error().Err(err).Str("address", ad.String()).Msg("withdrawing failed")
			return
		}
	}
	delete(s.routes, ad)
}

// groupOK says whether an announce group may be announced now, and why.
func (s *Speaker) groupOK(a *config.BGPAnnounce) (bool, string) {
	switch {
	case s.stopping:
		return false, "stopping"
	case s.drained:
		return false, "drained (lbctl bgp drain)"
	}
	for _, tb := range a.TrackBackends {
		n := 0
		if s.tracker != nil {
			n = s.tracker.UsableServers(tb.Backend)
		}
		if n < tb.MinUp {
			return false, fmt.Sprintf("backend %s: %d usable servers, min_up %d", tb.Backend, n, tb.MinUp)
		}
	}
	if len(a.TrackBackends) == 0 {
		return true, "serving (no tracked backend)"
	}
	return true, "serving (tracked backends usable)"
}

// onState records a session state change reported by the router.
func (s *Speaker) onState(addr netip.Addr, _, to, reason string) {
	s.stMu.Lock()
	ss := s.sessions[addr]
	if ss == nil {
		ss = &sessionState{state: "IDLE"}
		s.sessions[addr] = ss
	}
	from := ss.state
	if from == to {
		s.stMu.Unlock()
		return
	}
	ss.state, ss.since = to, s.now()
	ss.transitions++
	if reason != "" {
		ss.lastError = reason
	}
	s.stMu.Unlock()
	switch {
	case to == "ESTABLISHED":
		s.log.Info().Str("neighbor", addr.String()).Str("from", from).Msg("BGP session established")
	case from == "ESTABLISHED":
		s.log.Warn().Str("neighbor", addr.String()).Str("to", to).Str("reason", reason).Msg("BGP session down")
	default:
		s.log.Debug().Str("neighbor", addr.String()).Str("from", from).Str("to", to).Str("reason", reason).Msg("BGP session state")
	}
}

// Drain withdraws every route while the node keeps serving, until
// Undrain: the routers move new flows to the other nodes. For grace,
// keep-alive connections to the VIPs are closed once idle, so that
// their clients reconnect to other nodes between two requests.
func (s *Speaker) Drain() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg == nil {
		return ErrNotConfigured
	}
	if !s.drained {
		s.drained, s.drainedAt = true, s.now()
		s.log.Info().Msg("drain: withdrawing every route; the node keeps serving")
	}
	s.reconcile("lbctl bgp drain")
	if s.drainCancel != nil {
		s.drainCancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Grace)
	s.drainCancel = cancel
	go s.quiesce(ctx, s.cfg.Grace, s.quiet, s.allAddrs())
	return nil
}

// Undrain announces again what the trackers allow.
func (s *Speaker) Undrain() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg == nil {
		return ErrNotConfigured
	}
	if s.drainCancel != nil {
		s.drainCancel()
		s.drainCancel = nil
	}
	if s.drained {
		s.drained, s.drainedAt = false, time.Time{}
		s.log.Info().Msg("undrain: announcing again")
	}
	s.reconcile("lbctl bgp undrain")
	return nil
}

func (s *Speaker) allAddrs() []netip.Addr {
	var out []netip.Addr
	if s.cfg != nil {
		for _, a := range s.cfg.Announces {
			out = append(out, a.Addresses...)
		}
	}
	return out
}

// quiesce runs the grace after a withdraw, until ctx ends (after grace).
// For the first half the node serves as before, while the routers move
// the flows: a keep-alive connection closed then would have its client
// reconnect to this node, and lose that new connection when the route
// goes. In the second half each WaitQuiet closes the keep-alive
// connections still open to addrs once idle (busy ones after their
// response), so that their clients reconnect, through the router, to the
// other nodes; the requests they send meanwhile reach another node
// already, which resets them, and clients retry an idempotent request
// sent on a reused connection.
func (s *Speaker) quiesce(ctx context.Context, grace time.Duration, q Quiescer, addrs []netip.Addr) {
	if q == nil || len(addrs) == 0 {
		<-ctx.Done()
		return
	}
	select {
	case <-ctx.Done():
		return
	case <-time.After(grace / 2):
	}
	for ctx.Err() == nil {
		if err := q.WaitQuiet(ctx, addrs); err != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Shutdown is the stop: routes are withdrawn first, the node keeps
// serving for grace while the routers move the flows away (skipped when
// nothing was announced to an established session), then the sessions
// are closed. Close removes the addresses once the proxy has stopped.
func (s *Speaker) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.cfg == nil || s.stopping {
		s.mu.Unlock()
		return nil
	}
	wasAnnounced := len(s.routes) > 0 && s.anyEstablished()
	s.stopping = true
	if s.drainCancel != nil {
		s.drainCancel()
		s.drainCancel = nil
	}
	s.reconcile("stop")
	grace, q, addrs := s.cfg.Grace, s.quiet, s.allAddrs()
	s.mu.Unlock()

	if wasAnnounced && grace > 0 {
		s.log.Info().Dur("grace", grace).Msg("stop: routes withdrawn; serving while the routers move the flows away")
		qctx, cancel := context.WithTimeout(ctx, grace)
		s.quiesce(qctx, grace, q, addrs)
		cancel()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rt != nil {
		s.rt.stop()
		s.rt = nil
	}
	if s.untrack != nil {
		s.untrack()
		s.untrack = nil
	}
	return nil
}

func (s *Speaker) anyEstablished() bool {
	s.stMu.Lock()
	defer s.stMu.Unlock()
	for _, ss := range s.sessions {
		if ss.state == "ESTABLISHED" {
			return true
		}
	}
	return false
}

// Close ends the speaker: sessions closed if Shutdown did not, and the
// addresses lbd added removed (call it once the proxy has stopped).
func (s *Speaker) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.teardown()
	s.mu.Unlock()
	close(s.quit)
	<-s.loopDone
}

// teardown withdraws, stops the router and removes the addresses; mu held.
func (s *Speaker) teardown() {
	for ad := range s.routes {
		s.withdrawRoute(ad)
	}
	if s.rt != nil {
		s.rt.stop()
		s.rt = nil
	}
	if s.untrack != nil {
		s.untrack()
		s.untrack = nil
	}
	if s.drainCancel != nil {
		s.drainCancel()
		s.drainCancel = nil
	}
	for ad, ifname := range s.addrsOn {
		if err := s.host.del(ifname, ad); err != nil {
			s.log.Error().Err(err).Str("address", ad.String()).Msg("removing a VIP address")
		}
	}
	s.addrsOn = map[netip.Addr]string{}
	s.routes = map[netip.Addr]string{}
	s.groups = map[string]*groupState{}
	s.stMu.Lock()
	s.sessions = map[netip.Addr]*sessionState{}
	s.stMu.Unlock()
	s.cfg = nil
	s.drained, s.stopping = false, false
}

// Announced lists the addresses announced now, sorted (for tests and
// status).
func (s *Speaker) Announced() []netip.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]netip.Addr, 0, len(s.routes))
	for ad := range s.routes {
		out = append(out, ad)
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out
}
