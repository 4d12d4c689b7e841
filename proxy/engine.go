// Package proxy is lbd's data plane: listeners, the L4 (tcp) and L7 (http)
// proxies, load balancing, queueing, cookie persistence, content switching
// and access logs, with HAProxy's semantics.
//
// The HTTP path does not use net/http: it is a streaming HTTP/1.1 engine on
// raw connections. A request head is parsed in place (no allocation), its
// fields are forwarded as the client sent them with only the required edits
// (hop-by-hop fields, X-Forwarded-*, persistence cookie), bodies stream
// through pooled buffers, and server connections are kept alive and reused.
// A request costs no allocation and, like HAProxy, one read and one write
// per side: sockets are read with raw non-blocking calls through the
// netpoller, and a drained socket is not read again before it is readable.
// The tcp path copies through the same buffers, and with splice(2) once a
// direction streams in bulk.
//
// Each client connection has a goroutine while it is busy; a keep-alive
// connection idle for more than a moment is parked in an epoll set of its
// own and holds no goroutine, no stack and no buffer until bytes arrive.
//
// Engine.Apply takes each configuration, the first and every reload:
// listeners whose address stays keep their socket, backends and routes are
// swapped atomically for new requests, and requests in flight finish with
// what they started with.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"lbd/config"
	"lbd/h2"
	"lbd/health"
	"lbd/maps"
	"lbd/rules"
	"lbd/stats"
	"lbd/sticktable"
)

// Engine runs the frontends and backends of the current configuration.
type Engine struct {
	log       zerolog.Logger
	access    zerolog.Logger
	accessOut AccessOutput // text access lines (SetAccessOutput)
	pool      *health.Pool

	mu        sync.Mutex // serializes Apply and Shutdown
	listeners map[string]*listener
	inherited map[string]*os.File // sockets handed over by a predecessor (handoff.go)
	servers   map[*health.Server]*server
	states    map[string]*backendState
	feStates  map[string]*frontendState
	frontends []*frontend // running configuration order, for Stats
	backends  []*backend
	stopped   bool
	// maps are the configuration's maps, kept across reloads with their
	// runtime changes (policy.go); pending is the set Apply builds.
	maps, pendingMaps map[string]*maps.Map
	// tables are the stick tables, kept across reloads (stick.go).
	tables, pendingTables map[string]*sticktable.Table
	// seeds: a predecessor's tables (SeedTables), for the first Apply.
	seeds map[string]sticktable.Snapshot

	parker  *parker   // idle keep-alive connections without a goroutine
	h2cfg   config.H2 // the global h2 block of the configuration being applied
	tlsEnv  *TLSEnv   // session keys and ACME hooks (tls_build.go)
	global  *limiter
	actconn atomic.Int64 // client connections open, for logs
	// proxyRefused counts connections closed for their PROXY protocol
	// header (proxyproto.go).
	proxyRefused atomic.Uint64
	stopping     atomic.Bool
	ctx          context.Context // cancelled when connections are killed
	cancel       context.CancelFunc

	sessMu       sync.Mutex
	sessions     map[*session]struct{}
	sessGone     chan struct{}  // signalled when sessions drops to zero while stopping
	quietWaiters []*quietWaiter // WaitQuiet calls in progress (quiesce.go)

	done     chan struct{}
	janitorW sync.WaitGroup
}

// frontendState is what a frontend keeps across reloads.
type frontendState struct {
	name   string
	lim    *limiter
	cur    atomic.Int64  // connections open
	max    atomic.Int64  // highest cur seen
	total  atomic.Uint64 // connections accepted
	reqs   atomic.Uint64 // http requests
	errReq atomic.Uint64 // invalid or timed-out requests (400, 408, 414...)
	denied atomic.Uint64 // requests no route or backend took
	// deniedConn: connections tcp_request rules rejected (policy_tcp.go)
	deniedConn atomic.Uint64
	traffic
}

// frontend is one configured frontend, rebuilt at every reload.
type frontend struct {
	name       string
	mode       config.Mode
	st         *frontendState
	defaultBE  *backend
	routes     []route
	errors     errorPages
	t          config.Timeouts
	forwardFor bool
	trusted    []netip.Prefix
	maxconn    int
	// acceptProxy: connections start with a PROXY protocol header
	// (proxyproto.go); nil: none is read.
	acceptProxy *config.AcceptProxy
	h2c         bool         // HTTP/2 with prior knowledge on plain binds
	deferAccept bool         // TCP_DEFER_ACCEPT on its listeners (config.Frontend.DeferAccept)
	h2only      bool         // proto = "h2": every connection is HTTP/2
	h2          h2.Config    // HTTP/2 client connections' settings
	tls         *frontendTLS // TLS binds and SNI routes (tls_build.go); nil: none
	// redirect is redirect_https's status (0: off) and redirectPort the
	// port of the frontend's first TLS bind (tls_http.go).
	redirect, redirectPort int
	log                    *frontendLog // access log format and captures (accesslog.go)
	// pol is the compiled traffic policy (policy.go), nil when none;
	// routeBE holds its routes' static backends, backends the frontend's
	// mode's by name (for routes that name theirs at request time).
	pol      *rules.Program
	routeBE  []*backend
	backends map[string]*backend
}

// New returns an engine serving nothing until Apply.
func New(log zerolog.Logger, pool *health.Pool) *Engine {
	e := &Engine{
		log:       log.With().Str("component", "proxy").Logger(),
		access:    log.With().Str("component", "access").Logger(),
		pool:      pool,
		listeners: map[string]*listener{},
		servers:   map[*health.Server]*server{},
		states:    map[string]*backendState{},
		feStates:  map[string]*frontendState{},
		global:    newLimiter(0),
		sessions:  map[*session]struct{}{},
		sessGone:  make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.parker = newParker()
	e.janitorW.Add(1)
	go e.janitor()
	return e
}

// Passive health checking (observe): the data path reports outcomes to
// the server's health record (health.Server.ObserveL4, ObserveL7,
// ObserveHTTPStatus), which counts consecutive errors against
// error_limit. The calls are skipped unless the backend observes.

func connectReason(err error) string {
	if isTimeout(err) {
		return "Connection timeout"
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return "Connection refused"
	}
	return "Connection error: " + err.Error()
}

// Apply runs cfg: on first start and on every reload. Listeners whose
// address is still configured keep their socket (no connection is lost);
// new addresses are bound (IP_FREEBIND, so an absent VIP binds); addresses
// no longer configured stop accepting and their connections drain after
// their current request. If a new address cannot be bound, Apply returns
// an error and the previous configuration keeps running unchanged.
//
// The health pool must already have applied cfg.
func (e *Engine) Apply(cfg *config.Config) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return errors.New("proxy: engine is shut down")
	}

	var commit commitList // changes to running objects, made only on success
	e.h2cfg = cfg.Global.H2
	e.prepareMaps(cfg, &commit)
	if err := e.prepareTables(cfg, &commit); err != nil {
		return err
	}
	servers := map[*health.Server]*server{}
	states := map[string]*backendState{}
	backends := map[string]*backend{}
	beList := make([]*backend, 0, len(cfg.Backends))
	for _, bc := range cfg.Backends {
		be, err := e.buildBackend(bc, servers, states, &commit)
		if err != nil {
			return err
		}
		backends[bc.Name] = be
		beList = append(beList, be)
	}
	feStates := map[string]*frontendState{}
	frontends := make([]*frontend, 0, len(cfg.Frontends))
	for _, fc := range cfg.Frontends {
		fe, err := e.buildFrontend(fc, backends, feStates, &commit)
		if err != nil {
			return err
		}
		frontends = append(frontends, fe)
	}

	// Bind the new addresses before touching anything that runs. An
	// address in use by a listener this reload removes on the same port
	// (0.0.0.0:80 becoming 192.0.2.1:80) is freed first, and bound again
	// if the reload fails.
	opened := map[string]*listener{}
	want := map[string]*frontend{}
	for _, fe := range frontends {
		for _, addr := range tlsAddrs(feConfig(cfg, fe.name)) {
			want[addr] = fe
		}
	}
	var freed []*listener
	for _, fe := range frontends {
		for _, addr := range tlsAddrs(feConfig(cfg, fe.name)) {
			if _, ok := e.listeners[addr]; ok || want[addr] != fe || opened[addr] != nil {
				continue
			}
			l, err := e.listen(addr)
			if errors.Is(err, syscall.EADDRINUSE) {
				if f := e.freePort(addr, want); len(f) > 0 {
					freed = append(freed, f...)
					l, err = e.listen(addr)
				}
			}
			if err != nil {
				for _, o := range opened {
					o.stop()
				}
				e.rebind(freed)
				return fmt.Errorf("proxy: frontend %q: %w", fe.name, err)
			}
			opened[addr] = l
		}
	}

	// Commit. Addresses are resolved and sockets bound: nothing fails now.
	commit.run()
	for hs, s := range e.servers {
		if _, ok := servers[hs]; !ok {
			s.purgeIdle(0, true)
			s.h2.closeAll()
		}
	}
	e.servers, e.states, e.feStates = servers, states, feStates
	e.frontends, e.backends = frontends, beList
	e.global.setMax(cfg.Global.MaxConn)
	for addr, l := range e.listeners {
		if fe, ok := want[addr]; ok {
			l.serve(fe, fe.bindTLS(addr))
			continue
		}
		l.stop()
		delete(e.listeners, addr)
		e.drainListener(l, cfg.Global.Grace)
		e.log.Info().Str("bind", addr).Msg("listener removed; its connections drain")
	}
	for addr, l := range opened {
		l.serve(want[addr], want[addr].bindTLS(addr))
		e.listeners[addr] = l
		l.start()
		e.log.Info().Str("bind", addr).Str("frontend", want[addr].name).Msg("listening")
	}
	return nil
}

func feConfig(cfg *config.Config, name string) *config.Frontend { return cfg.Frontend(name) }

// commitList holds the changes a reload makes to objects serving traffic,
// run once nothing can fail any more.
type commitList []func()

func (c *commitList) add(f func()) { *c = append(*c, f) }

func (c commitList) run() {
	for _, f := range c {
		f()
	}
}

func (e *Engine) buildBackend(bc *config.Backend, servers map[*health.Server]*server, states map[string]*backendState, commit *commitList) (*backend, error) {
	st := e.states[bc.Name]
	if st == nil {
		st = &backendState{name: bc.Name}
	}
	states[bc.Name] = st
	be := &backend{
		name:   bc.Name,
		cfg:    bc,
		st:     st,
		cookie: newCookieRule(bc.Cookie),
		t:      bc.Timeouts,
		h2cfg:  e.h2cfg,
	}
	switch bc.Balance {
	case "source", "uri", "url_param", "hdr":
		be.hashed = true
	}
	switch bc.Observe {
	case "layer4":
		be.observe = observeL4
	case "layer7":
		be.observe = observeL7
	}
	for _, sc := range bc.Servers {
		hs := e.pool.Get(bc.Name, sc.Name)
		if hs == nil {
			return nil, fmt.Errorf("proxy: backend %q: server %q is not in the health pool", bc.Name, sc.Name)
		}
		addr, err := resolve(sc.Address)
		if err != nil {
			return nil, fmt.Errorf("proxy: backend %q server %q: %w", bc.Name, sc.Name, err)
		}
		s := e.servers[hs]
		if s == nil || s.st != st {
			s = newServer(hs, st)
		}
		ck := sc.Cookie
		pp := proxyVersion(sc.SendProxy)
		setServerTLS(s, sc, s.addr.Load() != nil, commit) // tls_upstream.go
		if s.addr.Load() == nil {
			s.addr.Store(&addr) // new: not visible to traffic yet
			s.cookie.Store(&ck)
			s.sendProxy.Store(pp)
		} else {
			// Running: changed only if the whole configuration applies.
			commit.add(func() {
				s.addr.Store(&addr)
				s.cookie.Store(&ck)
				s.sendProxy.Store(pp)
			})
		}
		servers[hs] = s
		be.servers = append(be.servers, s)
	}
	list := append([]*server(nil), be.servers...)
	commit.add(func() { st.servers.Store(&list) })
	if be.cookie != nil {
		be.byCookie = make(map[string]*server, len(be.servers))
		for i, s := range be.servers {
			be.byCookie[bc.Servers[i].Cookie] = s
		}
	}
	bal, err := newBalancer(bc, be.servers)
	if err != nil {
		return nil, err
	}
	be.bal = bal
	return be, nil
}

// resolve turns "host:port" into "ip:port" once, at load time.
func resolve(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return net.JoinHostPort(ip.Unmap().String(), port), nil
	}
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("cannot resolve %q: %w", addr, err)
	}
	return ta.String(), nil
}

func (e *Engine) buildFrontend(fc *config.Frontend, backends map[string]*backend, states map[string]*frontendState, commit *commitList) (*frontend, error) {
	st := e.feStates[fc.Name]
	if st == nil {
		st = &frontendState{name: fc.Name, lim: newLimiter(fc.MaxConn)}
	} else {
		commit.add(func() { st.lim.setMax(fc.MaxConn) })
	}
	states[fc.Name] = st
	flog, err := newFrontendLog(fc)
	if err != nil {
		return nil, err
	}
	fe := &frontend{
		maxconn:    fc.MaxConn,
		name:       fc.Name,
		mode:       fc.Mode,
		st:         st,
		errors:     newErrorPages(fc.ErrorFiles),
		t:          fc.Timeouts,
		forwardFor: fc.ForwardFor,
		trusted:    fc.TrustedProxies,

		acceptProxy: fc.AcceptProxy,
		h2c:         fc.H2C || fc.Proto == "h2",
		h2only:      fc.Proto == "h2",
		deferAccept: fc.DeferAccept,
		h2:          h2Config(&e.h2cfg, true),
		log:         flog,
	}
	if fc.DefaultBackend != "" {
		fe.defaultBE = backends[fc.DefaultBackend]
		if fe.defaultBE == nil {
			return nil, fmt.Errorf("proxy: frontend %q: unknown backend %q", fc.Name, fc.DefaultBackend)
		}
	}
	for _, rc := range fc.Routes {
		if rc.BackendTemplate != nil {
			continue // routed by the policy (policy.go)
		}
		r := route{name: rc.Name, be: backends[rc.Backend]}
		if r.be == nil {
			return nil, fmt.Errorf("proxy: frontend %q route %q: unknown backend %q", fc.Name, rc.Name, rc.Backend)
		}
		for _, h := range rc.Host {
			r.hosts = append(r.hosts, []byte(h))
		}
		for _, p := range rc.PathPrefix {
			r.prefixes = append(r.prefixes, []byte(p))
		}
		fe.routes = append(fe.routes, r)
	}
	tls, err := e.buildTLS(fc, backends)
	if err != nil {
		return nil, err
	}
	fe.tls = tls
	fe.redirect, fe.redirectPort = redirectOf(fc)
	if err := e.buildPolicy(fc, fe, backends); err != nil {
		return nil, fmt.Errorf("proxy: frontend %q: %w", fc.Name, err)
	}
	return fe, nil
}

// Shutdown stops accepting, lets live connections finish their current
// request until ctx is done (global.grace), then closes what is left.
func (e *Engine) Shutdown(ctx context.Context) error { return e.shutdown(ctx, true) }

// shutdown stops accepting and waits for the sessions to end within ctx;
// kick closes idle keep-alive connections at once (and again every 50ms),
// else they are closed after their next request (Retire).
func (e *Engine) shutdown(ctx context.Context, kick bool) error {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return nil
	}
	e.stopped = true
	e.stopping.Store(true)
	for addr, l := range e.listeners {
		l.stop()
		delete(e.listeners, addr)
	}
	servers := e.servers
	e.mu.Unlock()

	if kick {
		e.kickIdle(nil)
	}
	var err error
	for {
		if e.sessionCount() == 0 {
			break
		}
		select {
		case <-e.sessGone:
			continue
		case <-time.After(50 * time.Millisecond):
			if kick {
				e.kickIdle(nil)
			}
			continue
		case <-ctx.Done():
			err = ctx.Err()
		}
		break
	}
	if err != nil {
		e.cancel()
		n := e.kill(nil)
		e.log.Warn().Int("connections", n).Msg("grace period over: closing live connections")
	}
	close(e.done)
	e.janitorW.Wait()
	e.parker.close()
	for _, s := range servers {
		s.purgeIdle(0, true)
		s.h2.closeAll()
	}
	return err
}

// janitor closes stale idle server connections and serves queued requests
// that a server coming back (or a raised limit) can take.
func (e *Engine) janitor() {
	defer e.janitorW.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	tick := 0
	for {
		select {
		case <-e.done:
			return
		case <-t.C:
		}
		tick++
		e.mu.Lock()
		states := make([]*backendState, 0, len(e.states))
		for _, st := range e.states {
			states = append(states, st)
		}
		var servers []*server
		if tick%10 == 0 {
			servers = make([]*server, 0, len(e.servers))
			for _, s := range e.servers {
				servers = append(servers, s)
			}
		}
		e.mu.Unlock()
		for _, st := range states {
			st.sweep()
		}
		now := nanotime()
		for _, s := range servers {
			s.purgeIdle(now, false)
		}
	}
}

// Stats returns the frontends and backends of the running configuration,
// in configuration order.
func (e *Engine) Stats() ([]stats.Frontend, []stats.Backend) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var fs []stats.Frontend
	for _, fe := range e.frontends {
		st := fe.st
		f := stats.Frontend{
			Name: fe.name, Mode: string(fe.mode), Status: "OPEN",
			CurConns: st.cur.Load(), MaxConns: st.max.Load(), Limit: int64(fe.maxconn),
			TotalConns: st.total.Load(), BytesIn: st.bytesIn.Load(), BytesOut: st.bytesOut.Load(),
			DeniedReq: st.denied.Load(), DeniedConn: st.deniedConn.Load(), ErrReq: st.errReq.Load(), Requests: st.reqs.Load(),
			Responses: st.resp.Load(),
		}
		switch {
		case e.stopped:
			f.Status = "STOP"
		case f.Limit > 0 && f.CurConns >= f.Limit:
			f.Status = "FULL"
		}
		fs = append(fs, f)
	}
	var bs []stats.Backend
	for _, be := range e.backends {
		st := be.st
		bs = append(bs, stats.Backend{
			Name: be.name, Mode: string(be.cfg.Mode), Algo: be.cfg.Balance,
			Queue: int64(st.queueLen()), MaxQueue: st.maxQueue.Load(),
			CurConns: st.cur.Load(), MaxConns: st.max.Load(), TotalConns: st.total.Load(),
			BytesIn: st.bytesIn.Load(), BytesOut: st.bytesOut.Load(), Responses: st.resp.Load(),
		})
	}
	return fs, bs
}

// CurConns is the number of client connections open now.
func (e *Engine) CurConns() int { return e.global.count() }
