// Package health keeps the runtime state of every configured server: its
// operational state from active and passive checks (UP/DOWN with HAProxy's
// rise/fall counting), its administrative state (READY/DRAIN/MAINT), its
// runtime weight and its traffic counters.
//
// Servers live in a Pool keyed by "backend/server", like Caddy keeps
// upstream hosts, so that a reload that keeps a server keeps its state,
// counters and check history. The proxy reads a Server on every request
// through lock-free methods; everything that changes state goes through the
// Pool so transitions are logged and notified once.
package health

import (
	"sync"
	"sync/atomic"
	"time"

	"lbd/config"
)

// AdminState is what an operator set with `lbctl server state`.
type AdminState uint32

// Administrative states, as HAProxy's "set server state".
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
	case "ready", "READY":
		return AdminReady, true
	case "drain", "DRAIN":
		return AdminDrain, true
	case "maint", "MAINT":
		return AdminMaint, true
	}
	return 0, false
}

// Counters are a server's traffic counters, updated by the proxy with
// atomics on the data path and read by the stats page and lbctl.
type Counters struct {
	CurConns    atomic.Int64  // requests (http) or connections (tcp) in progress
	MaxConns    atomic.Int64  // highest CurConns seen
	TotalConns  atomic.Uint64 // sessions sent to the server
	Queued      atomic.Int64  // requests waiting for a slot on this server
	MaxQueued   atomic.Int64  // highest Queued seen
	BytesIn     atomic.Uint64 // from clients to the server
	BytesOut    atomic.Uint64 // from the server to clients
	ConnErrors  atomic.Uint64 // failed connects
	RespErrors  atomic.Uint64 // broken or invalid responses
	Retries     atomic.Uint64 // connect retries
	Redispatch  atomic.Uint64 // requests moved to another server
	HTTP1xx     atomic.Uint64
	HTTP2xx     atomic.Uint64
	HTTP3xx     atomic.Uint64
	HTTP4xx     atomic.Uint64
	HTTP5xx     atomic.Uint64
	HTTPOther   atomic.Uint64
	LastSession atomic.Int64 // unix nanoseconds of the last session sent
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
func (c *Counters) CountStatus(code int) {
	switch code / 100 {
	case 1:
		c.HTTP1xx.Add(1)
	case 2:
		c.HTTP2xx.Add(1)
	case 3:
		c.HTTP3xx.Add(1)
	case 4:
		c.HTTP4xx.Add(1)
	case 5:
		c.HTTP5xx.Add(1)
	default:
		c.HTTPOther.Add(1)
	}
}

// Server is the runtime record of one configured server. It outlives
// reloads as long as a server of the same backend and name exists.
type Server struct {
	// Backend and Name identify the server; they never change.
	Backend string
	Name    string

	Counters Counters

	cfg    atomic.Pointer[config.Server]
	up     atomic.Bool   // operational state from checks; true = UP
	admin  atomic.Uint32 // AdminState
	weight atomic.Int32  // runtime weight: config, lbctl or agent

	// mu guards the check bookkeeping below (written by the checker and
	// read by status snapshots; never on the data path).
	mu    sync.Mutex
	check checkState
}

// checkState is the check history shown by `lbctl backend status`.
type checkState struct {
	enabled    bool          // active checks run for this server
	health     int           // HAProxy's counter: 0..rise+fall-1, UP at >= rise
	rise, fall int           // from the backend's health_check
	lastResult string        // e.g. "L7OK", "L4CON"
	lastDesc   string        // e.g. "Layer7 wrong status: 500"
	lastDur    time.Duration // duration of the last check
	lastCheck  time.Time
	lastChange time.Time // last UP/DOWN or admin transition
	downSince  time.Time
	downTotal  time.Duration // accumulated time spent DOWN
	downTrans  uint64        // number of UP->DOWN transitions
	upSince    time.Time     // for slowstart
}

func newServer(backend string, sc *config.Server, now time.Time) *Server {
	s := &Server{Backend: backend, Name: sc.Name}
	s.cfg.Store(sc)
	s.weight.Store(int32(sc.Weight))
	s.up.Store(true)
	s.check.lastChange = now
	s.check.upSince = now
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

// Admin returns the administrative state.
func (s *Server) Admin() AdminState { return AdminState(s.admin.Load()) }

// Weight returns the runtime weight before slow start.
func (s *Server) Weight() int { return int(s.weight.Load()) }

// Usable reports whether the balancer may send new traffic here: UP,
// READY and with a non-zero weight.
func (s *Server) Usable() bool {
	return s.up.Load() && AdminState(s.admin.Load()) == AdminReady && s.weight.Load() > 0
}

// AcceptsPersistent reports whether a client whose persistence cookie
// names this server may still be sent here: UP and not in MAINT. A
// draining server keeps its sessions, as in HAProxy.
func (s *Server) AcceptsPersistent() bool {
	return s.up.Load() && AdminState(s.admin.Load()) != AdminMaint
}
