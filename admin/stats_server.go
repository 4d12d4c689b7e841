package admin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"lbd/config"
)

// StatsServer is the stats listener: the HTML page at stats.uri, HAProxy's
// CSV at stats.uri;csv and Prometheus metrics at /metrics. It is read-only:
// changes go through lbctl and the admin socket.
type StatsServer struct {
	log   zerolog.Logger
	src   StatsSource
	rates *rateTracker

	mu   sync.Mutex
	cfg  *config.Stats
	ln   net.Listener
	srv  *http.Server
	stop chan struct{}
	done chan struct{}

	// A listener handed over by a predecessor (handoff.go), for its bind.
	inherited     *os.File
	inheritedBind string
}

// NewStatsServer returns a stats server that listens once Apply gets a
// stats block.
func NewStatsServer(log zerolog.Logger, src StatsSource) *StatsServer {
	return &StatsServer{log: log, src: src, rates: newRateTracker()}
}

// Apply starts, moves or stops the listener for cfg (nil: no stats block).
// A reload that keeps the bind address keeps the socket; the page settings
// (uri, refresh, auth) change in place.
func (s *StatsServer) Apply(cfg *config.Stats) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cfg != nil && s.cfg != nil && cfg.Bind == s.cfg.Bind {
		s.cfg = cfg
		return nil
	}
	// A moved or removed listener lets its requests finish, briefly: a
	// reload waits for it, and a client that stalls must not stall that.
	ctx, cancel := context.WithTimeout(context.Background(), statsMoveGrace)
	defer cancel()
	if cfg == nil {
		s.closeLocked(ctx)
		s.cfg = nil
		return nil
	}
	ln, err := s.listen(cfg.Bind)
	if errors.Is(err, syscall.EADDRINUSE) && s.cfg != nil && samePort(s.cfg.Bind, cfg.Bind) {
		// Moved on its port (0.0.0.0:8404 to 192.0.2.1:8404): the
		// running listener goes first; it comes back if the new one
		// cannot bind.
		prev := s.cfg
		s.closeLocked(ctx)
		s.cfg = nil
		if ln, err = s.listen(cfg.Bind); err != nil {
			if back, berr := s.listen(prev.Bind); berr == nil {
				s.serve(prev, back)
			} else {
				s.log.Error().Err(berr).Str("bind", prev.Bind).Msg("stats: cannot bind the previous address again")
			}
			return fmt.Errorf("stats: %w", err)
		}
	}
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	s.closeLocked(ctx)
	s.serve(cfg, ln)
	s.log.Info().Str("bind", cfg.Bind).Str("uri", cfg.URI).Msg("stats page listening")
	return nil
}

// samePort reports whether two "host:port" binds share the port.
func samePort(a, b string) bool {
	_, pa, errA := net.SplitHostPort(a)
	_, pb, errB := net.SplitHostPort(b)
	return errA == nil && errB == nil && pa == pb
}

// serve runs the page on ln for cfg. The caller holds s.mu and has
// closed the previous listener.
func (s *StatsServer) serve(cfg *config.Stats, ln net.Listener) {
	s.cfg, s.ln = cfg, ln
	s.srv = &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.sample(s.stop, s.done)
	go func(srv *http.Server, ln net.Listener) {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error().Err(err).Msg("stats listener stopped")
		}
	}(s.srv, ln)
}

// listen binds bind, or takes the socket a predecessor handed over for it.
func (s *StatsServer) listen(bind string) (net.Listener, error) {
	if f := s.inherited; f != nil {
		s.inherited = nil
		if bind == s.inheritedBind {
			ln, err := net.FileListener(f)
			f.Close()
			return ln, err
		}
		f.Close()
	}
	return listenFreebind(bind)
}

// Addr returns the bound address, or "" when not listening.
func (s *StatsServer) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops the listener.
func (s *StatsServer) Close(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLocked(ctx)
}

func (s *StatsServer) closeLocked(ctx context.Context) {
	if s.srv == nil {
		return
	}
	close(s.stop)
	<-s.done
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close() // ctx is over: cut the connections left
	}
	_ = s.ln.Close() // Shutdown misses it when Serve has not started yet
	s.srv, s.ln = nil, nil
}

// statsMoveGrace bounds how long a reload that moves or removes the stats
// listener waits for the page's requests in progress.
const statsMoveGrace = 2 * time.Second

// sample feeds the rate tracker once a second, as HAProxy's rates are
// events over the last second.
func (s *StatsServer) sample(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	s.rates.observe(s.src.Stats())
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.rates.observe(s.src.Stats())
		}
	}
}

func (s *StatsServer) config() *config.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

func (s *StatsServer) handler() http.Handler {
	metrics := promhttp.HandlerFor(newRegistry(s.src), promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg := s.config()
		if cfg == nil {
			http.NotFound(w, r)
			return
		}
		if !authorized(cfg.Auth, r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="lbd statistics"`)
			http.Error(w, "401 Unauthorized: this page needs a user and password", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "405 Method Not Allowed: the stats page is read-only", http.StatusMethodNotAllowed)
			return
		}
		path := r.URL.Path
		csv := strings.HasSuffix(path, ";csv") || r.URL.RawQuery == "csv" || strings.HasSuffix(r.URL.RawQuery, ";csv")
		path = strings.TrimSuffix(path, ";csv")
		switch {
		case path == "/metrics":
			metrics.ServeHTTP(w, r)
		case path == cfg.URI || path == cfg.URI+"/":
			snap := s.src.Stats()
			now := time.Now()
			if csv {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.Header().Set("Cache-Control", "no-cache")
				if err := writeCSV(w, snap, s.rates, now); err != nil {
					s.log.Debug().Err(err).Msg("stats CSV write")
				}
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			if err := renderHTML(w, snap, s.rates, cfg, now); err != nil {
				s.log.Debug().Err(err).Msg("stats page write")
			}
		default:
			http.Error(w, "404 Not Found: the stats page is at "+cfg.URI, http.StatusNotFound)
		}
	})
}

func authorized(a *config.StatsAuth, r *http.Request) bool {
	if a == nil {
		return true
	}
	u, p, ok := r.BasicAuth()
	if !ok {
		return false
	}
	uok := subtle.ConstantTimeCompare([]byte(u), []byte(a.User)) == 1
	pok := subtle.ConstantTimeCompare([]byte(p), []byte(a.Password)) == 1
	return uok && pok
}

// rateTracker turns cumulative totals into per-second rates and keeps the
// highest rate seen, HAProxy's rate and rate_max.
type rateTracker struct {
	mu   sync.Mutex
	prev map[string]uint64
	cur  map[string]int64
	max  map[string]int64
}

func newRateTracker() *rateTracker {
	return &rateTracker{prev: map[string]uint64{}, cur: map[string]int64{}, max: map[string]int64{}}
}

func (r *rateTracker) observe(snap Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := make(map[string]bool, len(r.prev))
	add := func(key string, total uint64) {
		seen[key] = true
		if prev, ok := r.prev[key]; ok && total >= prev {
			rate := int64(total - prev)
			r.cur[key] = rate
			if rate > r.max[key] {
				r.max[key] = rate
			}
		}
		r.prev[key] = total
	}
	for _, f := range snap.Frontends {
		add("fe/"+f.Name, f.TotalConns)
		add("fereq/"+f.Name, f.Requests)
	}
	for _, b := range snap.Backends {
		add("be/"+b.Name, b.TotalConns)
		for _, s := range b.Servers {
			add("sv/"+b.Name+"/"+s.Name, s.TotalConns)
		}
	}
	for k := range r.prev {
		if !seen[k] {
			delete(r.prev, k)
			delete(r.cur, k)
			delete(r.max, k)
		}
	}
}

func (r *rateTracker) get(key string) (cur, max int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur[key], r.max[key]
}
