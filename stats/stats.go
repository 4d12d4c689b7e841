// Package stats declares lbd's statistics model once: the rows of
// HAProxy's stats page and CSV (a FRONTEND row, a BACKEND row with its
// servers), the log targets' counts, and the per-class response counter
// that the proxy and the health pool both keep. The packages that own
// the counters fill these types (proxy: frontends and backends; the
// appliance: server rows, from the pool); admin renders them (the page,
// the CSV, /metrics) and the tests compare them, with no copy field by
// field in between. VRRP instances, BGP, stick tables and peers links
// have their own status types in their packages, shown as they are.
//
// The field meanings follow HAProxy's CSV columns (management guide,
// section 9.1: scur, smax, slim, stot, bin, bout, dreq, ereq, econ, eresp,
// wretr, wredis, hrsp_1xx..hrsp_other, qcur, qmax, lastchg, downtime...).
package stats

import (
	"sync/atomic"
	"time"
)

// Responses are HTTP responses by status class (hrsp_1xx..hrsp_other).
type Responses struct {
	C1xx, C2xx, C3xx, C4xx, C5xx, Other uint64
}

// ResponseCounter counts responses by class where they happen; safe for
// concurrent use, one atomic add per response.
type ResponseCounter struct{ c [6]atomic.Uint64 }

// Count counts one response with status (1xx..5xx, anything else is
// Other).
func (r *ResponseCounter) Count(status int) { r.c[class(status)].Add(1) }

// Load returns the counts.
func (r *ResponseCounter) Load() Responses {
	return Responses{
		C1xx: r.c[0].Load(), C2xx: r.c[1].Load(), C3xx: r.c[2].Load(),
		C4xx: r.c[3].Load(), C5xx: r.c[4].Load(), Other: r.c[5].Load(),
	}
}

// class maps 1xx..5xx to 0..4 and anything else to 5.
func class(status int) int {
	if c := status/100 - 1; c >= 0 && c < 5 {
		return c
	}
	return 5
}

// Frontend is one frontend's counters (HAProxy's FRONTEND row).
type Frontend struct {
	Name       string
	Mode       string // http or tcp
	Status     string // OPEN, FULL (at maxconn) or STOP (shutting down)
	CurConns   int64
	MaxConns   int64 // highest CurConns seen
	Limit      int64 // maxconn, 0 = none
	TotalConns uint64
	BytesIn    uint64
	BytesOut   uint64
	DeniedReq  uint64 // requests no route or backend took (503), or rules denied
	DeniedConn uint64 // connections tcp_request rules rejected
	ErrReq     uint64 // invalid or timed-out requests (400, 408, 414, 431...)
	Requests   uint64 // HTTP requests
	Responses  Responses
}

// Backend is one backend's counters and its servers (HAProxy's BACKEND
// row). The proxy fills the backend's own counters; the errors, retries,
// redispatches and last change are its servers' sums.
type Backend struct {
	Name       string
	Mode       string
	Algo       string
	Queue      int64 // requests waiting for any server
	MaxQueue   int64
	CurConns   int64 // requests (http) or connections (tcp) in progress
	MaxConns   int64
	TotalConns uint64
	BytesIn    uint64
	BytesOut   uint64
	ConnErrors uint64
	RespErrors uint64
	Retries    uint64
	Redispatch uint64
	Responses  Responses // every response sent for the backend, the proxy's own (503...) included
	LastChange time.Time // last time the backend went UP or DOWN
	Servers    []Server
}

// Status is HAProxy's backend status: UP while any server is up, DOWN
// otherwise (also with no servers at all).
func (b Backend) Status() string {
	for _, s := range b.Servers {
		if s.Up() {
			return "UP"
		}
	}
	return "DOWN"
}

// UpCounts returns the active and backup servers that are up (HAProxy's
// act and bck columns).
func (b Backend) UpCounts() (act, bck int) {
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

// Server is one server's state, check and counters.
type Server struct {
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
	Responses  Responses
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
func (s Server) Up() bool {
	switch s.Status {
	case "DOWN", "MAINT":
		return false
	}
	return len(s.Status) < 4 || s.Status[:4] != "DOWN"
}

// Log is one log target's counters.
type Log struct {
	Target  string // the log block's label
	Sent    uint64 // lines written to the target
	Dropped uint64 // lines lost: queue full (slow receiver) or target unreachable
}
