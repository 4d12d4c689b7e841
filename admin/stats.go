package admin

import (
	"lbd/peers"
	"lbd/sticktable"

	"time"

	"lbd/bgp"
)

// StatsSource gives the stats page a consistent snapshot of every proxy,
// server and VRRP instance. The appliance implements it from the proxy's,
// the pool's and the speaker's counters; the page never touches them.
type StatsSource interface {
	Stats() Snapshot
}

// Snapshot is everything the stats page, the CSV and /metrics show.
type Snapshot struct {
	PID       int
	Version   string
	StartedAt time.Time
	Frontends []FrontendStats
	Backends  []BackendStats
	VRRP      []VRRPStats
	// BGP is the BGP speaker (Configured false without a bgp block).
	BGP  bgp.Status
	Logs []LogStats
	// Tables are the stick tables (tables.go).
	Tables []sticktable.Stats
	// Peers are the peers links (tables.go).
	Peers []peers.Stats
}

// LogStats are one log target's counters.
type LogStats struct {
	Target  string // the log block's label
	Sent    uint64 // lines written to the target
	Dropped uint64 // lines lost: queue full (slow receiver) or target unreachable
}

// FrontendStats are one frontend's counters (HAProxy's FRONTEND row).
type FrontendStats struct {
	Name       string
	Mode       string // http or tcp
	Status     string // OPEN, FULL (at maxconn) or STOP
	CurConns   int64
	MaxConns   int64 // highest CurConns seen
	Limit      int64 // maxconn, 0 = none
	TotalConns uint64
	BytesIn    uint64
	BytesOut   uint64
	DeniedReq  uint64 // requests refused before reaching a backend
	ErrReq     uint64 // invalid requests (400, 408, 414, 431...)
	Requests   uint64 // HTTP requests received
	Responses  StatusCounts
}

// StatusCounts are HTTP responses by class.
type StatusCounts struct {
	C1xx, C2xx, C3xx, C4xx, C5xx, Other uint64
}

// BackendStats are one backend's counters and its servers.
type BackendStats struct {
	Name       string
	Mode       string
	Algo       string
	Queue      int64 // requests waiting for any server
	MaxQueue   int64
	CurConns   int64
	MaxConns   int64
	TotalConns uint64
	BytesIn    uint64
	BytesOut   uint64
	ConnErrors uint64
	RespErrors uint64
	Retries    uint64
	Redispatch uint64
	Responses  StatusCounts
	LastChange time.Time // last time the backend went UP or DOWN
	Servers    []ServerStats
}

// ServerStats are one server's state, check and counters.
type ServerStats struct {
	Name       string
	Address    string
	Status     string // UP, DOWN, MAINT, DRAIN, "UP 1/3", ...
	Weight     int    // effective weight
	Backup     bool
	Checked    bool
	CurConns   int64
	MaxConns   int64
	Limit      int64 // maxconn, 0 = none
	Queue      int64
	MaxQueue   int64
	TotalConns uint64
	BytesIn    uint64
	BytesOut   uint64
	ConnErrors uint64
	RespErrors uint64
	Retries    uint64
	Redispatch uint64
	Responses  StatusCounts
	Cookie     string
	Throttle   int // slow-start percentage, 100 when not ramping

	CheckStatus   string // L4OK, L4CON, L7STS, ...
	CheckCode     int    // HTTP status of the last L7 check, 0 if none
	CheckDuration time.Duration
	CheckDesc     string
	CheckFailed   uint64 // failed checks
	CheckDowns    uint64 // UP->DOWN transitions
	CheckRise     int
	CheckFall     int
	CheckHealth   int
	LastChange    time.Time
	DownTime      time.Duration
	LastSession   time.Time
}

// Up reports whether the server counts as available for the backend's
// status and the act/bck columns.
func (s ServerStats) Up() bool {
	switch s.Status {
	case "DOWN", "MAINT":
		return false
	}
	return len(s.Status) < 4 || s.Status[:4] != "DOWN"
}

// VRRPStats is one VRRP instance for the stats page and /metrics.
type VRRPStats struct {
	Name              string
	Interface         string
	State             string
	VRID              int
	Priority          int
	EffectivePriority int
	VIPs              []string
	Master            string
	LastTransition    time.Time
	Reason            string
	Transitions       uint64
	AdvertsSent       uint64
	AdvertsReceived   uint64
	InvalidPackets    map[string]uint64 // by reason
}

// Status is HAProxy's backend status: UP while any server is up, DOWN
// otherwise (also with no servers at all).
func (b BackendStats) Status() string {
	for _, s := range b.Servers {
		if s.Up() {
			return "UP"
		}
	}
	return "DOWN"
}

// counts returns the active and backup servers that are up.
func (b BackendStats) counts() (act, bck int) {
	for _, s := range b.Servers {
		if !s.Up() {
			continue
		}
		if s.Backup {
			bck++
		} else {
			act++
		}
	}
	return act, bck
}
