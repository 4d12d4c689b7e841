package health

import (
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// record applies one check result to the server: agent directives, the
// health counter, the UP/DOWN transition with its log line. It returns the
// interval to the next check.
func (p *Pool) record(c *checker, r result) time.Duration {
	s := c.s
	now := p.clk.Now()
	var logs []func()

	s.mu.Lock()
	wasUsable := s.Usable()
	st := &s.check
	st.checks++
	prevCode, prevDesc := st.lastResult, st.lastDesc
	st.lastResult, st.lastDesc, st.lastCode = r.code, r.desc(), r.status
	st.lastDur, st.lastCheck = r.dur, now

	if r.agent != nil {
		logs = append(logs, p.applyAgent(s, *r.agent, now)...)
	}
	var wentUp, wentDown bool
	switch {
	case r.agent != nil && r.agent.health == "up":
		wentUp = st.cnt.forceUp()
	case r.agent != nil && !r.ok && r.code == codeL7STS:
		st.failed++
		wentDown = st.cnt.forceDown()
	case r.ok:
		wentUp = st.cnt.pass()
	default:
		st.failed++
		wentDown = st.cnt.fail()
	}
	switch {
	case wentUp:
		s.markUp(now)
	case wentDown:
		s.markDown(now)
	}
	state := s.stateLocked()
	next := st.cnt.interval(c.hc)
	isUsable := s.Usable()
	s.mu.Unlock()

	switch {
	case wentUp || wentDown:
		p.logTransition(s, wentUp, r)
	case r.code != prevCode || r.desc() != prevDesc:
		// HAProxy's "Health check for server b/s failed/succeeded" line,
		// only when the result changes, to keep a steady state quiet.
		ev := p.log.Debug()
		if !r.ok {
			ev = p.log.Info()
		}
		verb := "succeeded"
		if !r.ok {
			verb = "failed"
		}
		ev.Str("event", "check_result").Str("backend", s.Backend).Str("server", s.Name).
			Str("check_code", r.code).Str("reason", r.desc()).Int("http_status", r.status).
			Float64("check_duration_ms", ms(r.dur)).Str("state", state).
			Msgf("Health check for server %s/%s %s, reason: %s, check duration: %dms, status: %s",
				s.Backend, s.Name, verb, r.desc(), r.dur.Milliseconds(), state)
	}
	for _, l := range logs {
		l()
	}
	if wasUsable != isUsable {
		p.changed(s.Backend)
	}
	return next
}

// markUp and markDown flip the operational state; s.mu is held.
func (s *Server) markUp(now time.Time) {
	st := &s.check
	s.up.Store(true)
	if !st.downSince.IsZero() {
		st.downTotal += now.Sub(st.downSince)
		st.downSince = time.Time{}
	}
	st.lastChange = now
	s.consecErrs.Store(0)
	s.startRamp(now)
}

func (s *Server) markDown(now time.Time) {
	st := &s.check
	s.up.Store(false)
	st.downSince = now
	st.downTrans++
	st.lastChange = now
	s.rampStart.Store(0)
}

// logTransition writes HAProxy's "Server b/s is DOWN, reason: ..." line.
func (p *Pool) logTransition(s *Server, up bool, r result) {
	active, backup := p.upCounts(s.Backend)
	var ev *zerolog.Event
	word, tail := "DOWN", "left"
	if up {
		ev, word, tail = p.log.Info(), "UP", "online"
	} else {
		ev = p.log.Warn()
	}
	code := ""
	if r.status != 0 {
		code = fmt.Sprintf(", code: %d", r.status)
	}
	dur := ""
	if r.code != codeHANA {
		dur = fmt.Sprintf(", check duration: %dms", r.dur.Milliseconds())
	}
	ev.Str("event", "server_"+map[bool]string{true: "up", false: "down"}[up]).
		Str("backend", s.Backend).Str("server", s.Name).
		Str("reason", r.desc()).Str("check_code", r.code).Int("http_status", r.status).
		Float64("check_duration_ms", ms(r.dur)).
		Int("active_up", active).Int("backup_up", backup).
		Msgf("Server %s/%s is %s, reason: %s%s%s. %d active and %d backup servers %s.",
			s.Backend, s.Name, word, r.desc(), code, dur, active, backup, tail)
}

// upCounts counts the active and backup servers of a backend that are UP
// and not in maintenance.
func (p *Pool) upCounts(backend string) (active, backup int) {
	for _, s := range p.view.Load().backends[backend] {
		if s.Up() && s.EffectiveAdmin() != AdminMaint {
			if s.IsBackup() {
				backup++
			} else {
				active++
			}
		}
	}
	return active, backup
}

// applyAgent applies an agent's admin state, weight and maxconn; s.mu is
// held. It returns the log lines to write once the lock is released.
func (p *Pool) applyAgent(s *Server, a agentReply, now time.Time) []func() {
	var logs []func()
	st := &s.check
	if a.admin != "" {
		na, _ := ParseAdminState(a.admin)
		if old := AdminState(s.agentAdmin.Load()); old != na {
			wasMaint := s.EffectiveAdmin() == AdminMaint
			s.agentAdmin.Store(uint32(na))
			st.lastChange = now
			if wasMaint && s.EffectiveAdmin() != AdminMaint && s.up.Load() {
				s.startRamp(now)
			}
			logs = append(logs, func() {
				p.log.Info().Str("event", "agent_admin").Str("backend", s.Backend).Str("server", s.Name).
					Str("from", old.String()).Str("to", na.String()).
					Msgf("Server %s/%s is set to %s by its agent (was %s)", s.Backend, s.Name, na, old)
			})
		}
	}
	if w, ok := a.weightFor(s.cfg.Load().Weight); ok {
		st.agentWeight = true
		if old := int(s.weight.Load()); old != w {
			s.weight.Store(int32(w))
			logs = append(logs, func() {
				p.log.Info().Str("event", "agent_weight").Str("backend", s.Backend).Str("server", s.Name).
					Int("from", old).Int("to", w).
					Msgf("Server %s/%s weight set to %d by its agent (was %d)", s.Backend, s.Name, w, old)
			})
		}
	}
	if a.maxconn >= 0 {
		if old := s.maxconn.Swap(int64(a.maxconn)); old != int64(a.maxconn) {
			logs = append(logs, func() {
				p.log.Info().Str("event", "agent_maxconn").Str("backend", s.Backend).Str("server", s.Name).
					Int("to", a.maxconn).
					Msgf("Server %s/%s maxconn set to %d by its agent", s.Backend, s.Name, a.maxconn)
			})
		}
	}
	return logs
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
