package health

import "time"

// ServerHandoff is what a process handing over to its successor (a
// seamless binary upgrade) knows of one server and the successor must not
// learn again: the state from its checks with their history, and what an
// operator or an agent set at runtime. Traffic counters start again, as
// after HAProxy's reload.
type ServerHandoff struct {
	Key         string        `json:"key"` // backend/server
	Up          bool          `json:"up"`
	Admin       string        `json:"admin"`       // READY, DRAIN or MAINT (operator)
	AgentAdmin  string        `json:"agent_admin"` // as the agent last said
	Weight      int32         `json:"weight"`
	Maxconn     int64         `json:"maxconn"` // -1: the configuration's
	AgentWeight bool          `json:"agent_weight,omitempty"`
	Health      int           `json:"health"` // the rise/fall counter
	CheckType   string        `json:"check_type,omitempty"`
	LastResult  string        `json:"last_result,omitempty"`
	LastDesc    string        `json:"last_desc,omitempty"`
	LastCode    int           `json:"last_code,omitempty"`
	LastDur     time.Duration `json:"last_dur,omitempty"`
	LastCheck   time.Time     `json:"last_check"`
	LastChange  time.Time     `json:"last_change"`
	DownSince   time.Time     `json:"down_since"`
	DownTotal   time.Duration `json:"down_total,omitempty"`
	DownTrans   uint64        `json:"down_trans,omitempty"`
	Failed      uint64        `json:"failed,omitempty"`
	Checks      uint64        `json:"checks,omitempty"`
}

// Handoff records every server's state for a successor process.
func (p *Pool) Handoff() []ServerHandoff {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.view.Load()
	var out []ServerHandoff
	for _, name := range v.order {
		for _, s := range v.backends[name] {
			s.mu.Lock()
			st := &s.check
			out = append(out, ServerHandoff{
				Key: s.Key(), Up: s.up.Load(),
				Admin: s.Admin().String(), AgentAdmin: s.AgentAdmin().String(),
				Weight: s.weight.Load(), Maxconn: s.maxconn.Load(), AgentWeight: st.agentWeight,
				Health: st.cnt.health, CheckType: st.typ,
				LastResult: st.lastResult, LastDesc: st.lastDesc, LastCode: st.lastCode, LastDur: st.lastDur,
				LastCheck: st.lastCheck, LastChange: st.lastChange, DownSince: st.downSince, DownTotal: st.downTotal,
				DownTrans: st.downTrans, Failed: st.failed, Checks: st.checks,
			})
			s.mu.Unlock()
		}
	}
	return out
}

// Adopt takes over what a predecessor handed over (Handoff), before Start:
// servers that still exist with the same check type resume where the
// predecessor left them (an UP server stays UP, a DOWN one needs its rise
// passes), with the runtime admin state, weight and maxconn the operator
// or the agent set. Servers that are new, or whose checks changed, start
// as on any start.
func (p *Pool) Adopt(servers []ServerHandoff) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.view.Load()
	changed := map[string]bool{}
	for _, h := range servers {
		s := v.servers[h.Key]
		if s == nil {
			continue
		}
		s.mu.Lock()
		was := s.Usable()
		if a, ok := ParseAdminState(h.Admin); ok {
			s.admin.Store(uint32(a))
		}
		if a, ok := ParseAdminState(h.AgentAdmin); ok {
			s.agentAdmin.Store(uint32(a))
		}
		s.weight.Store(h.Weight)
		s.maxconn.Store(h.Maxconn)
		st := &s.check
		st.agentWeight = h.AgentWeight
		if st.enabled == (h.CheckType != "") && st.typ == h.CheckType {
			s.up.Store(h.Up)
			st.cnt.up = h.Up
			st.cnt.health = min(max(h.Health, 0), st.cnt.max())
			if !st.enabled {
				st.cnt.health = 0
			}
			st.lastResult, st.lastDesc, st.lastCode, st.lastDur = h.LastResult, h.LastDesc, h.LastCode, h.LastDur
			st.lastCheck, st.lastChange, st.downSince, st.downTotal = h.LastCheck, h.LastChange, h.DownSince, h.DownTotal
			st.downTrans, st.failed, st.checks = h.DownTrans, h.Failed, h.Checks
		}
		if s.Usable() != was {
			changed[s.Backend] = true
		}
		s.mu.Unlock()
	}
	for b := range changed {
		p.changed(b)
	}
}
