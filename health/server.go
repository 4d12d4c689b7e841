package health

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"lbd/config"
	"lbd/stats"
)

// AdminState is what an operator set with `lbctl server state`, or what an
// agent reported.
type AdminState uint32

// Administrative states, as HAProxy's "set server state". Their order is
// their strength: the effective state is the highest of the operator's and
// the agent's.
const (
	AdminReady AdminState = iota // normal operation
	AdminDrain                   // no new traffic except persistent sessions
	AdminMaint                   // no traffic at all; checks keep running
)

func (a AdminState) String() string {
	switch a {
	case AdminDrain:
		return "DRAIN"
	case AdminMaint:
		return "MAINT"
	}
	return "READY"
}

// ParseAdminState reads "ready", "drain" or "maint" (any case).
func ParseAdminState(s string) (AdminState, bool) {
	switch s {
	case "ready", "READY", "Ready":
		return AdminReady, true
	case "drain", "DRAIN", "Drain":
		return AdminDrain, true
	case "maint", "MAINT", "Maint":
		return AdminMaint, true
	}
	return 0, false
}

// Counters are a server's traffic counters, updated by the proxy with
// atomics on the data path and read by the stats page and lbctl.
type Counters struct {
	CurConns    atomic.Int64          // requests (http) or connections (tcp) in progress
	MaxConns    atomic.Int64          // highest CurConns seen
	TotalConns  atomic.Uint64         // sessions sent to the server
	Queued      atomic.Int64          // requests waiting for a slot on this server
	MaxQueued   atomic.Int64          // highest Queued seen
	BytesIn     atomic.Uint64         // from clients to the server
	BytesOut    atomic.Uint64         // from the server to clients
	ConnErrors  atomic.Uint64         // failed connects
	RespErrors  atomic.Uint64         // broken or invalid responses
	Retries     atomic.Uint64         // connect retries
	Redispatch  atomic.Uint64         // requests moved to another server
	Responses   stats.ResponseCounter // responses by status class
	LastSession atomic.Int64          // unix nanoseconds of the last session sent
}

// ConnStarted accounts a new session and keeps MaxConns.
func (c *Counters) ConnStarted() {
	n := c.CurConns.Add(1)
	c.TotalConns.Add(1)
	for {
		m := c.MaxConns.Load()
		if n <= m || c.MaxConns.CompareAndSwap(m, n) {
			break
		}
	}
}

// ConnEnded accounts the end of a session.
func (c *Counters) ConnEnded() { c.CurConns.Add(-1) }

// CountStatus counts one HTTP response by class.
func (c *Counters) CountStatus(code int) { c.Responses.Count(code) }

// backendSettings are the backend-wide settings a server needs at run time.
type backendSettings struct {
	observe    string // "", "layer4", "layer7"
	errorLimit int64
}

// Server is the runtime record of one configured server. It outlives
// reloads as long as a server of the same backend and name exists.
type Server struct {
	// Backend and Name identify the server; they never change.
	Backend string
	Name    string

	Counters Counters

	pool *Pool // owner: clock, logger, notifications

	cfg        atomic.Pointer[config.Server]
	be         atomic.Pointer[backendSettings]
	up         atomic.Bool             // operational state from checks; true = UP
	admin      atomic.Uint32           // operator's AdminState
	agentAdmin atomic.Uint32           // agent's AdminState
	weight     atomic.Int32            // runtime weight: config, lbctl or agent
	maxconn    atomic.Int64            // runtime maxconn from the agent; -1 = config's
	rampStart  atomic.Int64            // unix ns a slow start began; 0 = none
	consecErrs atomic.Int64            // consecutive live-traffic errors (observe)
	chk        atomic.Pointer[checker] // running checker, nil without checks

	// mu guards check and every state transition. Never taken on the
	// data path.
	mu    sync.Mutex
	check checkState
}

// checkState is the check history shown by `lbctl backend status`.
type checkState struct {
	enabled     bool   // active checks run for this server
	typ         string // check type while enabled
	cnt         counter
	agentWeight bool          // the runtime weight was last set by the agent
	lastResult  string        // e.g. "L7OK", "L4CON", "INI"
	lastDesc    string        // e.g. "Layer7 wrong status: 500"
	lastCode    int           // HTTP status of the last http check
	lastDur     time.Duration // duration of the last check
	lastCheck   time.Time
	lastChange  time.Time // last UP/DOWN or admin transition
	downSince   time.Time
	downTotal   time.Duration // accumulated time spent DOWN
	downTrans   uint64        // UP->DOWN transitions (HAProxy chkdown)
	failed      uint64        // failed checks (HAProxy chkfail)
	observeFail uint64        // DOWN from live traffic (HAProxy hanafail)
	checks      uint64        // checks run
}

func newServer(p *Pool, backend string, sc *config.Server, now time.Time) *Server {
	s := &Server{Backend: backend, Name: sc.Name, pool: p}
	s.cfg.Store(sc)
	s.be.Store(&backendSettings{})
	s.weight.Store(int32(sc.Weight))
	s.maxconn.Store(-1)
	s.up.Store(true)
	s.check.cnt = counter{up: true}
	s.check.lastChange = now
	return s
}

// Key returns "backend/server", the Pool key and the name lbctl uses.
func (s *Server) Key() string { return s.Backend + "/" + s.Name }

// Config returns the server's current configuration.
func (s *Server) Config() *config.Server { return s.cfg.Load() }

// Address returns "host:port" to connect to.
func (s *Server) Address() string { return s.cfg.Load().Address }

// IsBackup reports whether the server only serves when no active one can.
func (s *Server) IsBackup() bool { return s.cfg.Load().Backup }

// Up reports the operational state from checks.
func (s *Server) Up() bool { return s.up.Load() }

// Admin returns the operator's administrative state.
func (s *Server) Admin() AdminState { return AdminState(s.admin.Load()) }

// AgentAdmin returns the administrative state last reported by the agent.
func (s *Server) AgentAdmin() AdminState { return AdminState(s.agentAdmin.Load()) }

// EffectiveAdmin is the stronger of the operator's and the agent's state.
func (s *Server) EffectiveAdmin() AdminState {
	return max(AdminState(s.admin.Load()), AdminState(s.agentAdmin.Load()))
}

// Weight returns the runtime weight before slow start.
func (s *Server) Weight() int { return int(s.weight.Load()) }

// Usable reports whether the balancer may send new traffic here: UP,
// READY and with a non-zero weight.
func (s *Server) Usable() bool {
	return s.up.Load() && s.EffectiveAdmin() == AdminReady && s.weight.Load() > 0
}

// AcceptsPersistent reports whether a client whose persistence cookie
// names this server may still be sent here: UP and not in MAINT. A
// draining server keeps its sessions, as in HAProxy.
func (s *Server) AcceptsPersistent() bool {
	return s.up.Load() && s.EffectiveAdmin() != AdminMaint
}

// EffectiveWeight is the weight the balancer uses now: the runtime weight
// (config, lbctl or agent), ramped up linearly during slow start (never
// below 1 while the runtime weight is not 0).
func (s *Server) EffectiveWeight() int {
	w := int64(s.weight.Load())
	if w == 0 {
		return 0
	}
	if r, ok := s.ramp(); ok {
		return int(max(1, ceilFrac(w, r)))
	}
	return int(w)
}

// EffectiveMaxConn is the concurrency limit the proxy enforces now; 0 means
// unlimited. It is the agent's maxconn if it sent one, else the
// configured one, scaled linearly during slow start (never below 1).
func (s *Server) EffectiveMaxConn() int {
	m := s.maxconn.Load()
	if m < 0 {
		m = int64(s.cfg.Load().MaxConn)
	}
	if m == 0 {
		return 0
	}
	if r, ok := s.ramp(); ok {
		return int(max(1, ceilFrac(m, r)))
	}
	return int(m)
}

// ramp returns how far a slow start has got, as elapsed/total
// nanoseconds, and false when none is in progress. It only reads the
// clock while a ramp is running.
func (s *Server) ramp() ([2]int64, bool) {
	start := s.rampStart.Load()
	if start == 0 {
		return [2]int64{}, false
	}
	total := int64(s.cfg.Load().SlowStart)
	elapsed := s.pool.clk.Now().UnixNano() - start
	if total <= 0 || elapsed >= total {
		s.rampStart.CompareAndSwap(start, 0)
		return [2]int64{}, false
	}
	return [2]int64{max(elapsed, 0), total}, true
}

// ceilFrac returns ceil(v * r[0] / r[1]); r[0] < r[1] and v <= 10^7, so
// float64 is exact enough.
func ceilFrac(v int64, r [2]int64) int64 {
	return int64(math.Ceil(float64(v) * float64(r[0]) / float64(r[1])))
}

// startRamp begins a slow start if the server has one configured. Called
// under s.mu on DOWN->UP and on leaving MAINT.
func (s *Server) startRamp(now time.Time) {
	if s.cfg.Load().SlowStart > 0 {
		s.rampStart.Store(now.UnixNano())
	}
}
