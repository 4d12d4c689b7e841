package health

import "fmt"

// lookup finds a server for an admin command, with an error naming what
// is unknown.
func (p *Pool) lookup(backend, server string) (*Server, error) {
	v := p.view.Load()
	if _, ok := v.backends[backend]; !ok {
		return nil, fmt.Errorf("no backend %q", backend)
	}
	s := v.servers[backend+"/"+server]
	if s == nil {
		return nil, fmt.Errorf("no server %q in backend %q", server, backend)
	}
	return s, nil
}

// SetAdminState sets the operator's administrative state of a server
// (`lbctl server state BACKEND/SERVER ready|drain|maint`). It survives
// reloads. Leaving MAINT starts the server's slow start, if it has one.
func (p *Pool) SetAdminState(backend, server string, st AdminState) error {
	if st > AdminMaint {
		return fmt.Errorf("invalid admin state %d", st)
	}
	s, err := p.lookup(backend, server)
	if err != nil {
		return err
	}
	now := p.clk.Now()
	s.mu.Lock()
	wasUsable := s.Usable()
	old := AdminState(s.admin.Load())
	if old == st {
		s.mu.Unlock()
		return nil
	}
	wasMaint := s.EffectiveAdmin() == AdminMaint
	s.admin.Store(uint32(st))
	s.check.lastChange = now
	if wasMaint && s.EffectiveAdmin() != AdminMaint && s.up.Load() {
		s.startRamp(now)
	}
	isUsable := s.Usable()
	eff := s.EffectiveAdmin()
	s.mu.Unlock()

	var msg string
	switch st {
	case AdminMaint:
		msg = "is going DOWN for maintenance"
	case AdminDrain:
		msg = "enters drain state"
	default:
		msg = "is leaving " + old.String() + " (now READY)"
	}
	p.log.Info().Str("event", "server_admin").Str("backend", backend).Str("server", server).
		Str("from", old.String()).Str("to", st.String()).Str("effective", eff.String()).
		Msgf("Server %s/%s %s", backend, server, msg)
	if wasUsable != isUsable {
		p.changed(backend)
	}
	return nil
}

// SetWeight sets a server's runtime weight (`lbctl server weight`), 0..256;
// 0 drains the server. It survives reloads unless the file changes the
// server's weight.
func (p *Pool) SetWeight(backend, server string, w int) error {
	if w < 0 || w > 256 {
		return fmt.Errorf("weight %d out of range 0..256", w)
	}
	s, err := p.lookup(backend, server)
	if err != nil {
		return err
	}
	s.mu.Lock()
	wasUsable := s.Usable()
	old := int(s.weight.Load())
	s.weight.Store(int32(w))
	s.check.agentWeight = false
	isUsable := s.Usable()
	s.mu.Unlock()
	if old != w {
		p.log.Info().Str("event", "server_weight").Str("backend", backend).Str("server", server).
			Int("from", old).Int("to", w).
			Msgf("Server %s/%s weight changed from %d to %d", backend, server, old, w)
	}
	if wasUsable != isUsable {
		p.changed(backend)
	}
	return nil
}
