package health

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/clock"
	"lbd/config"
	"lbd/test/syncbuf"
)

// newFakeClock is the clock of the fake environment: timers run only when
// the test advances it, synchronously and in time order, so the checkers'
// state machine runs without sleeping.
func newFakeClock() *clock.Fake {
	return clock.NewFake(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
}

// script is a prober returning queued results and recording when it ran.
type script struct {
	clk     *clock.Fake
	mu      sync.Mutex
	results []result
	def     result
	at      []time.Time
}

func (s *script) start(context.Context, func(io.Closer) bool, func(result)) (result, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.at = append(s.at, s.clk.Now())
	if len(s.results) == 0 {
		return s.def, true
	}
	r := s.results[0]
	s.results = s.results[1:]
	return r, true
}

func (s *script) push(rs ...result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results = append(s.results, rs...)
}

func (s *script) runs() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.at...)
}

// fakeEnv is a pool on a fake clock whose servers are scripted.
type fakeEnv struct {
	t       *testing.T
	clk     *clock.Fake
	pool    *Pool
	logs    *syncbuf.Buffer
	mu      sync.Mutex
	scripts map[string]*script // by server key
}

func newFakeEnv(t *testing.T) *fakeEnv {
	t.Helper()
	e := &fakeEnv{t: t, clk: newFakeClock(), logs: &syncbuf.Buffer{}, scripts: map[string]*script{}}
	log := zerolog.New(e.logs)
	e.pool = newPool(log, e.clk, func(hc *config.HealthCheck, sc *config.Server) prober {
		e.mu.Lock()
		defer e.mu.Unlock()
		key := sc.Name
		s := e.scripts[key]
		if s == nil {
			s = &script{clk: e.clk, def: pass(codeL4OK, "")}
			e.scripts[key] = s
		}
		return s
	})
	t.Cleanup(e.pool.Close)
	return e
}

// script returns the prober of the named server (shared across reloads).
func (e *fakeEnv) script(name string) *script {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.scripts[name]
	if s == nil {
		s = &script{clk: e.clk, def: pass(codeL4OK, "")}
		e.scripts[name] = s
	}
	return s
}

func (e *fakeEnv) apply(hcl string) {
	e.t.Helper()
	if err := e.pool.Apply(mustParse(e.t, hcl)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *fakeEnv) state(backend, server string) string {
	e.t.Helper()
	s := e.pool.Get(backend, server)
	if s == nil {
		e.t.Fatalf("no server %s/%s", backend, server)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stateLocked()
}

// dueIn is how far the next check of a server is.
func (e *fakeEnv) dueIn(backend, server string) (time.Duration, bool) {
	ch := e.pool.Get(backend, server).chk.Load()
	if ch == nil {
		return 0, false
	}
	return e.pool.sched.dueIn(ch)
}

// scheduled counts the checks waiting in the scheduler.
func (e *fakeEnv) scheduled() int {
	e.pool.sched.mu.Lock()
	defer e.pool.sched.mu.Unlock()
	return len(e.pool.sched.h)
}

func mustParse(t testing.TB, hcl string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.hcl", []byte(hcl))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}
