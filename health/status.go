package health

import (
	"fmt"
	"time"
)

// BackendStatus is a backend as `lbctl backend status` shows it.
type BackendStatus struct {
	Name    string         `json:"name"`
	Servers []ServerStatus `json:"servers"`
}

// ServerStatus is one server's state, weight, load and last check.
type ServerStatus struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	// State is UP, DOWN, MAINT or DRAIN; while a check transition is in
	// progress it carries HAProxy's counter, e.g. "UP 1/3" (one failure of
	// three) or "DOWN 1/2" (one success of two).
	State      string      `json:"state"`
	Admin      string      `json:"admin"`
	Weight     int         `json:"weight"`
	Backup     bool        `json:"backup"`
	CurConns   int64       `json:"cur_conns"`
	MaxConn    int         `json:"max_conn"` // configured limit, 0 = none
	MaxConns   int64       `json:"max_conns_seen"`
	TotalConns uint64      `json:"total_conns"`
	Queue      int64       `json:"queue"`
	Check      CheckStatus `json:"check"`
	LastChange time.Time   `json:"last_change"`
	DownTime   string      `json:"downtime"`
}

// CheckStatus is the last active check of a server.
type CheckStatus struct {
	Enabled bool   `json:"enabled"`
	Type    string `json:"type,omitempty"`
	// Result is HAProxy's check status code: L4OK, L4CON, L4TOUT, L7OK,
	// L7STS, L7RSP, L7TOUT, INI (not run yet) or "" when checks are off.
	Result      string    `json:"result,omitempty"`
	Description string    `json:"description,omitempty"`
	DurationMs  float64   `json:"duration_ms"`
	At          time.Time `json:"at,omitempty"`
}

// Status snapshots every backend, or just the named one.
func (p *Pool) Status(backend string) ([]BackendStatus, error) {
	p.mu.RLock()
	order := append([]string(nil), p.order...)
	backends := p.backends
	p.mu.RUnlock()
	if backend != "" {
		if _, ok := backends[backend]; !ok {
			return nil, fmt.Errorf("no backend %q", backend)
		}
		order = []string{backend}
	}
	now := p.now()
	out := make([]BackendStatus, 0, len(order))
	for _, name := range order {
		bs := BackendStatus{Name: name, Servers: []ServerStatus{}}
		for _, s := range backends[name] {
			bs.Servers = append(bs.Servers, s.status(now))
		}
		out = append(out, bs)
	}
	return out, nil
}

func (s *Server) status(now time.Time) ServerStatus {
	cfg := s.cfg.Load()
	s.mu.Lock()
	c := s.check
	s.mu.Unlock()
	st := ServerStatus{
		Name:       s.Name,
		Address:    cfg.Address,
		State:      s.stateString(c),
		Admin:      s.Admin().String(),
		Weight:     s.EffectiveWeight(),
		Backup:     cfg.Backup,
		CurConns:   s.Counters.CurConns.Load(),
		MaxConn:    cfg.MaxConn,
		MaxConns:   s.Counters.MaxConns.Load(),
		TotalConns: s.Counters.TotalConns.Load(),
		Queue:      s.Counters.Queued.Load(),
		LastChange: c.lastChange,
		Check: CheckStatus{
			Enabled:     c.enabled,
			Result:      c.lastResult,
			Description: c.lastDesc,
			DurationMs:  float64(c.lastDur.Microseconds()) / 1000,
			At:          c.lastCheck,
		},
	}
	down := c.downTotal
	if !s.Up() && !c.downSince.IsZero() {
		down += now.Sub(c.downSince)
	}
	st.DownTime = down.Truncate(time.Second).String()
	return st
}

// stateString renders the state as HAProxy's stats page does.
func (s *Server) stateString(c checkState) string {
	switch s.Admin() {
	case AdminMaint:
		return "MAINT"
	case AdminDrain:
		return "DRAIN"
	}
	up := s.Up()
	switch {
	case !c.enabled:
		if up {
			return "UP"
		}
		return "DOWN"
	case up && c.health < c.rise+c.fall-1:
		// Going down, as HAProxy prints it: checks left before DOWN, of fall.
		return fmt.Sprintf("UP %d/%d", c.health-c.rise+1, c.fall)
	case !up && c.health > 0:
		// Going up: successes so far out of rise.
		return fmt.Sprintf("DOWN %d/%d", c.health, c.rise)
	case up:
		return "UP"
	}
	return "DOWN"
}

// EffectiveWeight is the weight the balancer uses now. The health checker
// lowers it during slow start and from agent reports.
func (s *Server) EffectiveWeight() int { return int(s.weight.Load()) }

// EffectiveMaxConn is the concurrency limit the proxy enforces now; 0 means
// unlimited. The health checker scales it during slow start and from agent
// reports.
func (s *Server) EffectiveMaxConn() int { return s.cfg.Load().MaxConn }
