package health

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"lbd/clock"
	"lbd/config"
)

// Pool holds every server of the running configuration, keyed by
// "backend/server", and runs their checks. Apply is called with each new
// configuration; servers that keep their backend and name keep their
// Server (state, counters, admin state, runtime weight, check history).
//
// Readers (Get, Servers, Backends, UsableServers, Status) never block:
// they read an immutable view that Apply replaces.
type Pool struct {
	log       zerolog.Logger
	clk       clock.Clock
	newProber func(hc *config.HealthCheck, sc *config.Server) prober

	view atomic.Pointer[poolView]

	mu       sync.Mutex // serialises Apply, Start and Close
	checkers map[string]*checker
	started  bool
	closed   bool
	inflight sync.WaitGroup // checks in progress

	sched  scheduler
	notify notifier
}

// poolView is one configuration's servers; never modified once stored.
type poolView struct {
	servers  map[string]*Server   // key: backend/server
	backends map[string][]*Server // servers of each backend, config order
	order    []string             // backend names, config order
	checks   map[string]*config.HealthCheck
}

// NewPool returns an empty pool. Checks run once Start is called.
func NewPool(log zerolog.Logger) *Pool {
	// newProber (tls.go) makes a TLS or a plain prober.
	p := newPool(log, clock.Real{}, newProber)
	p.sched.clk = schedClock() // on Linux, batches start in the check loop
	return p
}

func newPool(log zerolog.Logger, clk clock.Clock, np func(*config.HealthCheck, *config.Server) prober) *Pool {
	p := &Pool{log: log, clk: clk, newProber: np, checkers: map[string]*checker{}}
	p.sched.clk = clk
	p.view.Store(&poolView{
		servers:  map[string]*Server{},
		backends: map[string][]*Server{},
		checks:   map[string]*config.HealthCheck{},
	})
	p.notify.init(p)
	return p
}

// Apply makes the pool match cfg. Kept servers keep their state, counters,
// admin state and runtime weight (unless the file changed the weight);
// their checker and its history are kept unless their check settings or
// address changed, in which case the checker restarts with the server's
// current UP/DOWN state. Removed servers' checks stop. See the package
// documentation for the state of new servers. Apply can be called before
// or after Start.
func (p *Pool) Apply(cfg *config.Config) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("health: pool is closed")
	}
	now := p.clk.Now()
	old := p.view.Load()
	first := len(old.order) == 0 && len(old.servers) == 0

	nv := &poolView{
		servers:  make(map[string]*Server),
		backends: make(map[string][]*Server, len(cfg.Backends)),
		order:    make([]string, 0, len(cfg.Backends)),
		checks:   make(map[string]*config.HealthCheck, len(cfg.Backends)),
	}
	if err := checkNames(cfg); err != nil {
		return err
	}

	before := old.usableSets()
	var toStart []*checker
	for _, b := range cfg.Backends {
		nv.order = append(nv.order, b.Name)
		hc := b.HealthCheck
		nv.checks[b.Name] = hc
		settings := &backendSettings{observe: b.Observe, errorLimit: int64(max(b.ErrorLimit, 1))}
		// A new server of a backend that already serves proves itself
		// before it gets traffic (see the package documentation) - if a
		// server kept by this file serves meanwhile: when every server
		// is new (renamed, replaced) they start UP, or the backend would
		// answer 503 until their checks pass.
		pending := !first && old.keepsUsable(b)
		list := make([]*Server, 0, len(b.Servers))
		for _, sc := range b.Servers {
			key := b.Name + "/" + sc.Name
			s, kept := old.servers[key]
			if !kept {
				s = newServer(p, b.Name, sc, now)
			}
			s.be.Store(settings)
			if ch := p.applyServer(s, kept, pending && !kept, hc, sc, now); ch != nil {
				toStart = append(toStart, ch)
			}
			nv.servers[key] = s
			list = append(list, s)
		}
		nv.backends[b.Name] = list
	}
	for key, ch := range p.checkers {
		if _, ok := nv.servers[key]; !ok {
			ch.stop()
			ch.s.chk.Store(nil)
			delete(p.checkers, key)
		}
	}
	p.view.Store(nv)
	if p.started {
		p.startSpread(nv, toStart)
	}
	after := nv.usableSets()
	for name, set := range before {
		if after[name] != set {
			p.changed(name)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			p.changed(name)
		}
	}
	return nil
}

// checkNames refuses duplicate backends or servers (config validation
// catches them first; this keeps the pool's keys sound whatever the
// caller).
func checkNames(cfg *config.Config) error {
	seen := map[string]bool{}
	for _, b := range cfg.Backends {
		if seen[b.Name] {
			return fmt.Errorf("health: duplicate backend %s", b.Name)
		}
		seen[b.Name] = true
		for _, sc := range b.Servers {
			key := b.Name + "/" + sc.Name
			if seen["/"+key] {
				return fmt.Errorf("health: duplicate server %s", key)
			}
			seen["/"+key] = true
		}
		if b.HealthCheck == nil {
			return fmt.Errorf("health: backend %s has no health_check settings", b.Name)
		}
	}
	return nil
}

// applyServer brings a server's configuration, check state and checker up
// to date; p.mu is held. It returns a new checker to start, if any.
func (p *Pool) applyServer(s *Server, kept, pending bool, hc *config.HealthCheck, sc *config.Server, now time.Time) *checker {
	key := s.Key()
	oldCfg := s.cfg.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.check
	if kept {
		s.cfg.Store(sc)
		// A weight or maxconn changed at run time (lbctl, agent) survives
		// a reload unless the file itself changed it.
		if oldCfg.Weight != sc.Weight {
			s.weight.Store(int32(sc.Weight))
			st.agentWeight = false
		}
		if oldCfg.MaxConn != sc.MaxConn {
			s.maxconn.Store(-1)
		}
	}

	ch := p.checkers[key]
	if ch != nil && (!sc.Check || !sameCheck(ch.hc, hc) || ch.sc.Address != sc.Address || usesTLS(hc, sc) || usesTLS(ch.hc, ch.sc) ||
		usesH2(hc, sc) || usesH2(ch.hc, ch.sc)) {
		ch.stop()
		delete(p.checkers, key)
		s.chk.Store(nil)
		ch = nil
	}
	if ch != nil {
		if r, ok := ch.pr.(interface{ reresolve() }); ok {
			r.reresolve()
		}
	}
	if st.typ == "agent" && (!sc.Check || hc.Type != "agent") {
		// The agent no longer speaks for this server: forget what it said.
		s.agentAdmin.Store(uint32(AdminReady))
		s.maxconn.Store(-1)
		if st.agentWeight {
			s.weight.Store(int32(sc.Weight))
			st.agentWeight = false
		}
	}
	if !sc.Check {
		wasDown := !s.up.Load()
		st.enabled, st.typ = false, ""
		st.cnt = counter{up: true}
		st.lastResult, st.lastDesc, st.lastCode = "", "", 0
		if wasDown {
			s.markUp(now)
			p.log.Info().Str("event", "server_up").Str("backend", s.Backend).Str("server", s.Name).
				Str("reason", "check disabled").
				Msgf("Server %s/%s is UP, reason: check disabled", s.Backend, s.Name)
		}
		return nil
	}
	if ch != nil {
		return nil // same checks: keep the checker and its history
	}
	switch {
	case !st.enabled && pending:
		st.cnt = counter{rise: hc.Rise, fall: hc.Fall}
		if s.up.Load() {
			s.up.Store(false)
			st.downSince = now
			st.lastChange = now
		}
		st.lastResult, st.lastDesc = codeINI, codeDesc[codeINI]
	case !st.enabled:
		// HAProxy's start: UP, health at rise, one failure takes it DOWN.
		st.cnt = counter{health: hc.Rise, rise: hc.Rise, fall: hc.Fall, up: s.up.Load()}
		if !st.cnt.up {
			st.cnt.health = 0
		}
		st.lastResult, st.lastDesc = codeINI, codeDesc[codeINI]
	default:
		st.cnt.resize(hc.Rise, hc.Fall)
	}
	st.enabled, st.typ = true, hc.Type
	ch = newChecker(p, s, hc, sc, p.newProber(hc, sc))
	p.checkers[key] = ch
	s.chk.Store(ch)
	return ch
}

// Start starts the checks. The first checks of each backend are spread
// evenly over fast_interval (servers start in transition), as HAProxy's
// start_checks spreads them over the interval in force.
// Start is idempotent; servers added later by Apply start at once.
func (p *Pool) Start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.closed {
		return
	}
	p.started = true
	v := p.view.Load()
	var all []*checker
	for _, name := range v.order {
		for _, s := range v.backends[name] {
			if ch := p.checkers[s.Key()]; ch != nil {
				all = append(all, ch)
			}
		}
	}
	p.startSpread(v, all)
}

// startSpread starts checkers; the i-th checked server of a backend of n
// waits interval*i/n before its first check, where interval is the one
// the health counter calls for, or fast_interval for a server never
// checked yet. p.mu is held.
func (p *Pool) startSpread(v *poolView, chs []*checker) {
	want := make(map[*checker]bool, len(chs))
	for _, ch := range chs {
		want[ch] = true
	}
	for _, name := range v.order {
		var checked []*checker
		for _, s := range v.backends[name] {
			if ch := p.checkers[s.Key()]; ch != nil {
				checked = append(checked, ch)
			}
		}
		for i, ch := range checked {
			if !want[ch] {
				continue
			}
			ch.s.mu.Lock()
			iv := ch.s.check.cnt.interval(ch.hc)
			if ch.s.check.lastResult == codeINI {
				iv = ch.hc.FastInterval // never checked: find out soon
			}
			ch.s.mu.Unlock()
			ch.start(iv * time.Duration(i) / time.Duration(len(checked)))
		}
	}
}

// Close stops every check, waits for those in progress to end (they are
// aborted, so this is quick) and stops notifications. The pool keeps
// answering reads.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	for key, ch := range p.checkers {
		ch.stop()
		delete(p.checkers, key)
	}
	p.sched.close()
	p.mu.Unlock()
	p.inflight.Wait()
	p.notify.close()
}

// Get returns the server "backend/name", or nil.
func (p *Pool) Get(backend, name string) *Server {
	return p.view.Load().servers[backend+"/"+name]
}

// Servers returns a backend's servers in configuration order. The slice is
// shared: callers must not modify it.
func (p *Pool) Servers(backend string) []*Server {
	return p.view.Load().backends[backend]
}

// Backends returns the backend names in configuration order.
func (p *Pool) Backends() []string {
	return append([]string(nil), p.view.Load().order...)
}

// UsableServers is the number of servers of the backend that may take new
// traffic now (UP, READY, weight > 0): the active ones, or, when no
// active server is usable, the usable backup servers (which then take the
// traffic). 0 for an unknown backend. This is what the VRRP speaker
// tracks (track_backend min_up).
func (p *Pool) UsableServers(backend string) int {
	return p.view.Load().usableCount(backend)
}

// keepsUsable reports whether a server that b (the new configuration of a
// backend) keeps from this view is usable now.
func (v *poolView) keepsUsable(b *config.Backend) bool {
	for _, sc := range b.Servers {
		if s, ok := v.servers[b.Name+"/"+sc.Name]; ok && s.Usable() {
			return true
		}
	}
	return false
}

func (v *poolView) usableCount(backend string) int {
	active, backup := 0, 0
	for _, s := range v.backends[backend] {
		if s.Usable() {
			if s.IsBackup() {
				backup++
			} else {
				active++
			}
		}
	}
	if active > 0 {
		return active
	}
	return backup
}

// usableSets returns, per backend, the names of its usable servers, to
// tell which backends a reload changed.
func (v *poolView) usableSets() map[string]string {
	out := make(map[string]string, len(v.order))
	for _, name := range v.order {
		set := ""
		for _, s := range v.backends[name] {
			if s.Usable() {
				set += s.Name + "\x00"
				if s.IsBackup() {
					set += "b\x00"
				}
			}
		}
		out[name] = set
	}
	return out
}
