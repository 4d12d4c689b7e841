package health

// Runtime is what the operator (lbctl server weight) and agents changed on
// the servers at run time: weights and maxconn. A reload keeps it unless
// the file changes the same setting; a refused reload is undone by
// applying the running file again, which would look like the file
// changing it twice, so the appliance saves it before and restores it
// after such a rollback.
type Runtime struct {
	servers map[string]serverRuntime
}

type serverRuntime struct {
	weight      int32
	maxconn     int64
	agentWeight bool
}

// SaveRuntime records every server's runtime weight and maxconn.
func (p *Pool) SaveRuntime() Runtime {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := Runtime{servers: map[string]serverRuntime{}}
	for key, s := range p.view.Load().servers {
		s.mu.Lock()
		r.servers[key] = serverRuntime{weight: s.weight.Load(), maxconn: s.maxconn.Load(), agentWeight: s.check.agentWeight}
		s.mu.Unlock()
	}
	return r
}

// RestoreRuntime puts back what SaveRuntime recorded, on the servers that
// still exist.
func (p *Pool) RestoreRuntime(r Runtime) {
	p.mu.Lock()
	defer p.mu.Unlock()
	changed := map[string]bool{}
	for key, s := range p.view.Load().servers {
		sr, ok := r.servers[key]
		if !ok {
			continue
		}
		s.mu.Lock()
		was := s.Usable()
		s.weight.Store(sr.weight)
		s.maxconn.Store(sr.maxconn)
		s.check.agentWeight = sr.agentWeight
		if s.Usable() != was {
			changed[s.Backend] = true
		}
		s.mu.Unlock()
	}
	for b := range changed {
		p.changed(b)
	}
}
