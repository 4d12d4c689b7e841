// Package appliance runs one configuration across the runtime packages:
// it owns the server pool (health), the proxy engine and the VRRP speaker,
// applies a configuration to them in dependency order, and serializes
// reloads. cmd/lbd wires signals to it; the admin API drives it through the
// admin.Controller interface.
package appliance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"lbd/admin"
	"lbd/bgp"
	"lbd/config"
	"lbd/health"
	"lbd/logsink"
	"lbd/peers"
	"lbd/proxy"
	"lbd/tlsconf"
	"lbd/vrrp"
)

// Appliance is the running daemon state.
type Appliance struct {
	log     zerolog.Logger
	path    string
	version string
	started time.Time // set once by New

	pool    *health.Pool
	proxy   *proxy.Engine
	sinks   *logsink.Set // the log targets, for the metrics; nil without
	stats   *admin.StatsServer
	peer    *admin.PeerServer      // peer_api: the other node's lbctl pair (pair.go)
	peers   map[string]*peers.Link // peers blocks: stick tables shared with the other node (peers.go); under pmu
	pmu     sync.Mutex
	speaker *vrrp.Speaker
	// sessions makes TLS sessions resumable across reloads (tls.go).
	sessions *tlsconf.Sessions
	bgp      *bgp.Speaker
	acme     acmeState // certificates obtained by ACME (acme.go)

	// mu serializes Start, Reload and Stop: one configuration is applied
	// at a time, and status reads never see a half-applied one.
	mu       sync.Mutex
	cfg      *config.Config
	reloads  ReloadInfo
	onReload func(old, cfg *config.Config)
	// adopt: server states a predecessor handed over, for the first
	// start of a successor (handoff.go).
	adopt []health.ServerHandoff
}

// ReloadInfo summarizes reloads for `lbctl reload` and the info endpoint.
type ReloadInfo struct {
	Count       int       `json:"count"`
	Failed      int       `json:"failed"`
	LastAt      time.Time `json:"last_at,omitempty"`
	LastOK      bool      `json:"last_ok"`
	LastMessage string    `json:"last_message,omitempty"`
}

// New returns an appliance for the file at path. Nothing runs until Start.
func New(log zerolog.Logger, path, version string) *Appliance {
	pool := health.NewPool(log.With().Str("component", "health").Logger())
	a := &Appliance{
		started: time.Now(),
		log:     log,
		path:    path,
		version: version,
		pool:    pool,
		proxy:   proxy.New(log, pool),
		speaker: vrrp.New(log.With().Str("component", "vrrp").Logger(), pool), // the pool is the speaker's BackendTracker
		bgp:     bgp.New(log, pool),                                           // and the BGP speaker's Tracker
	}
	a.sessions = tlsconf.NewSessions()
	a.proxy.SetTLS(a.tlsEnv()) // acme.go
	// A master handing its VIPs over asks the proxy for the moment no
	// client has a request in progress on them.
	a.speaker.SetQuiescer(a.proxy)
	// A draining BGP node asks it to close keep-alive connections to its
	// VIPs, so that their clients reconnect through the routers.
	a.bgp.SetQuiescer(a.proxy)
	a.stats = admin.NewStatsServer(log.With().Str("component", "stats").Logger(), a)
	a.peer = admin.NewPeerServer(log.With().Str("component", "peer_api").Logger(), a)
	return a
}

// UseLogSinks gives the appliance the process's log targets: the proxy
// sends its text access lines there, and their counters (lines sent and
// dropped) are reported with the other statistics. Call it before Start.
func (a *Appliance) UseLogSinks(s *logsink.Set) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sinks = s
	a.proxy.SetAccessOutput(s)
}

// OnReload sets what runs after a reload has applied cfg (replacing old),
// for the settings the process owns itself (log level). It runs with
// reloads serialized and must be quick.
func (a *Appliance) OnReload(f func(old, cfg *config.Config)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.onReload = f
}

// Start applies the first configuration. An error means the daemon cannot
// run (for example a listener cannot bind) and must exit with status 2.
func (a *Appliance) Start(cfg *config.Config) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.apply(cfg, nil); err != nil {
		return err
	}
	a.cfg = cfg
	a.logWarnings(cfg)
	a.pool.Start()
	a.log.Info().Str("config", a.path).Int("frontends", len(cfg.Frontends)).
		Int("backends", len(cfg.Backends)).Int("vrrp_instances", len(cfg.VRRPInstances)).Bool("bgp", cfg.BGP != nil).
		Msg("configuration applied")
	return nil
}

// apply hands cfg to each runtime part, lowest layer first: servers exist
// before the proxy balances over them, and the proxy listens before the
// speaker may bring a VIP up. The proxy and the speaker change nothing when
// they fail; the parts already changed are put back to old (nil on the
// first start), so a refused reload leaves the running configuration whole.
func (a *Appliance) apply(cfg, old *config.Config) error {
	// VRRP reads the backends' health only once the new instances (and
	// their trackers) are in place, or the rollback is done.
	a.speaker.Hold()
	defer a.speaker.Resume()
	a.bgp.Hold()
	defer a.bgp.Resume()
	runtime := a.pool.SaveRuntime()
	if err := a.pool.Apply(cfg); err != nil {
		return fmt.Errorf("servers: %w", err)
	}
	a.adoptServers()
	statsFreed := old != nil && a.freeStatsPort(cfg, cfg.Stats) // rebind.go
	if err := a.proxy.Apply(cfg); err != nil {
		a.rollback(old, runtime, false)
		if statsFreed {
			if err := a.stats.Apply(old.Stats); err != nil {
				a.log.Error().Err(err).Msg("rollback: stats")
			}
		}
		return err // already says "proxy: ..."
	}
	if err := a.stats.Apply(cfg.Stats); err != nil {
		a.rollback(old, runtime, true)
		if old != nil {
			if err := a.stats.Apply(old.Stats); err != nil {
				a.log.Error().Err(err).Msg("rollback: stats")
			}
		}
		return err
	}
	if err := a.speaker.Apply(cfg); err != nil {
		a.rollback(old, runtime, true)
		if old != nil {
			if err := a.stats.Apply(old.Stats); err != nil {
				a.log.Error().Err(err).Msg("rollback: stats")
			}
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			a.stats.Close(ctx)
			cancel()
		}
		return fmt.Errorf("vrrp: %w", err)
	}
	if err := a.bgp.Apply(cfg); err != nil {
		a.rollback(old, runtime, true)
		if old != nil {
			if err := a.speaker.Apply(old); err != nil {
				a.log.Error().Err(err).Msg("rollback: vrrp")
			}
			if err := a.bgp.Apply(old); err != nil {
				a.log.Error().Err(err).Msg("rollback: bgp")
			}
			if err := a.stats.Apply(old.Stats); err != nil {
				a.log.Error().Err(err).Msg("rollback: stats")
			}
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = a.speaker.Shutdown(ctx)
			a.stats.Close(ctx)
			cancel()
			a.bgp.Close()
		}
		return err // already says "bgp: ..."
	}
	if err := a.peer.Apply(cfg.PeerAPI); err != nil {
		// Refused like a busy frontend port: the parts already changed
		// go back to the running configuration.
		a.rollback(old, runtime, true)
		if old != nil {
			_ = a.speaker.Apply(old)
			_ = a.bgp.Apply(old)
			_ = a.stats.Apply(old.Stats)
		}
		return err
	}
	if err := a.applyPeers(cfg); err != nil {
		a.rollback(old, runtime, true)
		if old != nil {
			_ = a.speaker.Apply(old)
			_ = a.bgp.Apply(old)
			_ = a.stats.Apply(old.Stats)
			_ = a.peer.Apply(old.PeerAPI)
		}
		return err
	}
	a.configureSessions(cfg)
	a.applyACME(cfg)
	return nil
}

// rollback re-applies the running configuration after a part refused a
// new one. Re-applying a configuration that was running cannot fail on
// binds (its sockets are kept), so errors here are only logged.
func (a *Appliance) rollback(old *config.Config, runtime health.Runtime, proxyChanged bool) {
	if old == nil {
		if proxyChanged {
			_ = a.proxy.Shutdown(context.Background())
		}
		return
	}
	if err := a.pool.Apply(old); err != nil {
		a.log.Error().Err(err).Msg("rollback: servers")
	}
	// The weights set at run time (lbctl, agents), which re-applying the
	// old file would have reset where the refused file changed them.
	a.pool.RestoreRuntime(runtime)
	if proxyChanged {
		// The new stats page may hold a port the old frontends bind
		// again; the callers put the old stats block back.
		a.freeStatsPort(old, nil)
		if err := a.proxy.Apply(old); err != nil {
			a.log.Error().Err(err).Msg("rollback: proxy")
		}
	}
}

// ErrInvalidConfig wraps the diagnostics of a configuration that was
// refused on reload; the running configuration is unchanged.
var ErrInvalidConfig = errors.New("invalid configuration")

// ReloadFile re-reads the file and applies it in place (SIGHUP). An invalid file
// changes nothing: the error wraps ErrInvalidConfig and the
// config.Diagnostics, and the old configuration keeps serving.
func (a *Appliance) ReloadFile() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reloads.Count++
	a.reloads.LastAt = time.Now()
	cfg, err := config.Load(a.path)
	if err != nil {
		a.reloads.Failed++
		a.reloads.LastOK = false
		a.reloads.LastMessage = err.Error()
		ev := a.log.Error().Str("config", a.path)
		var diags config.Diagnostics
		if errors.As(err, &diags) {
			ev = ev.Strs("diagnostics", diags.Strings())
		}
		ev.Msg("reload refused: invalid configuration, the running one is kept")
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if err := a.apply(cfg, a.cfg); err != nil {
		a.reloads.Failed++
		a.reloads.LastOK = false
		a.reloads.LastMessage = err.Error()
		a.log.Error().Err(err).Str("config", a.path).Msg("reload failed; the running configuration is kept")
		return fmt.Errorf("reload: %w", err)
	}
	old := a.cfg
	a.cfg = cfg
	a.logWarnings(cfg)
	if a.onReload != nil {
		a.onReload(old, cfg)
	}
	a.reloads.LastOK = true
	a.reloads.LastMessage = "configuration applied"
	a.log.Info().Str("config", a.path).Msg("reload: configuration applied")
	return nil
}

// Stop shuts down gracefully within ctx (global.grace).
func (a *Appliance) Stop(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	// The speakers first: masters hand their VIPs over, BGP routes are
	// withdrawn and the node serves for bgp.grace while routers move the
	// flows, all while the frontends still serve (both at once). Then the
	// proxy stops accepting and live connections get the rest of ctx
	// (global.grace) to finish; the BGP addresses go, health checks stop
	// last.
	berrc := make(chan error, 1)
	go func() { berrc <- a.bgp.Shutdown(ctx) }()
	verr := a.speaker.Shutdown(ctx)
	if verr != nil {
		a.log.Error().Err(verr).Msg("vrrp shutdown")
	}
	if berr := <-berrc; berr != nil {
		a.log.Error().Err(berr).Msg("bgp shutdown")
		verr = errors.Join(verr, berr)
	}
	grace := time.Duration(0)
	if a.cfg != nil {
		grace = a.cfg.Global.Grace
	}
	pctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	perr := a.proxy.Shutdown(pctx)
	a.acme.stop()
	a.stats.Close(pctx)
	a.peer.Close()
	a.closePeers()
	a.bgp.Close()
	a.pool.Close()
	return errors.Join(verr, perr)
}

// Grace returns the running configuration's drain time: global.grace,
// plus bgp.grace (served after the routes are withdrawn) with a bgp block.
func (a *Appliance) Grace() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cfg == nil {
		return 0
	}
	if a.cfg.BGP != nil {
		return a.cfg.Global.Grace + a.cfg.BGP.Grace
	}
	return a.cfg.Global.Grace
}
