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
	// State is UP, DOWN, MAINT or DRAIN. While a check transition is in
	// progress it carries HAProxy's counter: "UP 2/3" is UP with two more
	// failed checks needed to go DOWN (of fall = 3), "DOWN 1/2" is DOWN
	// with one success of the rise = 2 needed. DRAIN is shown for an UP
	// server drained by the operator, the agent or a weight of 0.
	State string `json:"state"`
	// Admin is the operator's state (READY, DRAIN, MAINT); Agent is the
	// state the agent last asked for, when it asked for one.
	Admin string `json:"admin"`
	Agent string `json:"agent,omitempty"`
	// Weight is the effective weight (slow start applied); RuntimeWeight
	// is the weight set by the file, lbctl or the agent.
	Weight        int   `json:"weight"`
	RuntimeWeight int   `json:"runtime_weight"`
	Backup        bool  `json:"backup"`
	CurConns      int64 `json:"cur_conns"`
	// MaxConn is the effective limit now (agent, slow start), 0 = none.
	MaxConn    int    `json:"max_conn"`
	MaxConns   int64  `json:"max_conns_seen"`
	TotalConns uint64 `json:"total_conns"`
	Queue      int64  `json:"queue"`
	// Throttle is the slow-start percentage while ramping, else 0.
	Throttle   int         `json:"throttle,omitempty"`
	Check      CheckStatus `json:"check"`
	LastChange time.Time   `json:"last_change"`
	// SinceChange is the time since the last transition, in whole seconds.
	SinceChange     int64   `json:"since_change_s"`
	DownTime        string  `json:"downtime"`
	DownTimeSecs    float64 `json:"downtime_s"`
	DownTransitions uint64  `json:"down_transitions"`
}

// CheckStatus is the last active check of a server.
type CheckStatus struct {
	Enabled bool   `json:"enabled"`
	Type    string `json:"type,omitempty"`
	// Result is HAProxy's check status code: L4OK, L4CON, L4TOUT, SOCKERR,
	// L7OK, L7STS, L7RSP, L7TOUT, HANA (marked down from live traffic),
	// INI (not run yet), or "" when checks are off.
	Result string `json:"result,omitempty"`
	// Description is HAProxy's reason, e.g. "Layer7 wrong status: 500".
	Description string `json:"description,omitempty"`
	// HTTPStatus is the status of the last http check's response.
	HTTPStatus int       `json:"http_status,omitempty"`
	DurationMs float64   `json:"duration_ms"`
	At         time.Time `json:"at,omitzero"`
	// Health is HAProxy's health counter, 0..rise+fall-1; UP at >= rise.
	Health          int    `json:"health"`
	Rise            int    `json:"rise,omitempty"`
	Fall            int    `json:"fall,omitempty"`
	Checks          uint64 `json:"checks"`
	Failed          uint64 `json:"failed"`
	ObserveFailures uint64 `json:"observe_failures"`
}

// Status snapshots every backend, or just the named one.
func (p *Pool) Status(backend string) ([]BackendStatus, error) {
	v := p.view.Load()
	order := v.order
	if backend != "" {
		if _, ok := v.backends[backend]; !ok {
			return nil, fmt.Errorf("no backend %q", backend)
		}
		order = []string{backend}
	}
	now := p.clk.Now()
	out := make([]BackendStatus, 0, len(order))
	for _, name := range order {
		bs := BackendStatus{Name: name, Servers: []ServerStatus{}}
		for _, s := range v.backends[name] {
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
	state := s.stateLocked()
	s.mu.Unlock()
	st := ServerStatus{
		Name:            s.Name,
		Address:         cfg.Address,
		State:           state,
		Admin:           s.Admin().String(),
		Weight:          s.EffectiveWeight(),
		RuntimeWeight:   s.Weight(),
		Backup:          cfg.Backup,
		CurConns:        s.Counters.CurConns.Load(),
		MaxConn:         s.EffectiveMaxConn(),
		MaxConns:        s.Counters.MaxConns.Load(),
		TotalConns:      s.Counters.TotalConns.Load(),
		Queue:           s.Counters.Queued.Load(),
		LastChange:      c.lastChange,
		SinceChange:     int64(now.Sub(c.lastChange) / time.Second),
		DownTransitions: c.downTrans,
		Check: CheckStatus{
			Enabled:         c.enabled,
			Type:            c.typ,
			Result:          c.lastResult,
			Description:     c.lastDesc,
			HTTPStatus:      c.lastCode,
			DurationMs:      ms(c.lastDur),
			At:              c.lastCheck,
			Checks:          c.checks,
			Failed:          c.failed,
			ObserveFailures: c.observeFail,
		},
	}
	if c.typ == "agent" && c.checks > 0 {
		st.Agent = s.AgentAdmin().String()
	}
	if c.enabled {
		st.Check.Health, st.Check.Rise, st.Check.Fall = c.cnt.health, c.cnt.rise, c.cnt.fall
	}
	if r, ok := s.ramp(); ok {
		st.Throttle = int(max(1, 100*r[0]/r[1]))
	}
	down := c.downTotal
	if !s.Up() && !c.downSince.IsZero() {
		down += now.Sub(c.downSince)
	}
	st.DownTime = down.Truncate(time.Second).String()
	st.DownTimeSecs = down.Seconds()
	return st
}

// stateLocked renders the state as HAProxy's stats page does; s.mu is
// held. MAINT hides everything; a DOWN server shows DOWN even when
// drained, so that a dead server is never mistaken for a drained one.
func (s *Server) stateLocked() string {
	eff := s.EffectiveAdmin()
	if eff == AdminMaint {
		return "MAINT"
	}
	c := &s.check
	up := s.up.Load()
	if !up {
		if !c.enabled {
			return "DOWN"
		}
		return c.cnt.String()
	}
	if eff == AdminDrain || s.weight.Load() == 0 {
		return "DRAIN"
	}
	if !c.enabled {
		return "UP"
	}
	return c.cnt.String()
}
