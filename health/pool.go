package health

import (
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"lbd/config"
)

// Pool holds every server of the running configuration, keyed by
// "backend/server". Apply is called with each new configuration; servers
// that keep their backend and name keep their Server (state, counters,
// admin state, runtime weight set by lbctl).
type Pool struct {
	log zerolog.Logger
	now func() time.Time

	mu       sync.RWMutex
	servers  map[string]*Server   // key: backend/server
	backends map[string][]*Server // servers of each backend, config order
	order    []string             // backend names, config order
}

// NewPool returns an empty pool.
func NewPool(log zerolog.Logger) *Pool {
	return &Pool{
		log:      log,
		now:      time.Now,
		servers:  map[string]*Server{},
		backends: map[string][]*Server{},
	}
}

// Apply makes the pool match cfg: new servers are created UP, kept ones
// get their new configuration, removed ones are forgotten.
func (p *Pool) Apply(cfg *config.Config) error {
	now := p.now()
	servers := make(map[string]*Server)
	backends := make(map[string][]*Server, len(cfg.Backends))
	order := make([]string, 0, len(cfg.Backends))

	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range cfg.Backends {
		order = append(order, b.Name)
		list := make([]*Server, 0, len(b.Servers))
		for _, sc := range b.Servers {
			key := b.Name + "/" + sc.Name
			s, ok := p.servers[key]
			if ok {
				old := s.cfg.Load()
				s.cfg.Store(sc)
				// A weight changed by lbctl survives a reload unless the
				// file itself changed the weight.
				if old.Weight != sc.Weight {
					s.weight.Store(int32(sc.Weight))
				}
			} else {
				s = newServer(b.Name, sc, now)
			}
			if _, dup := servers[key]; dup {
				return fmt.Errorf("health: duplicate server %s", key)
			}
			servers[key] = s
			list = append(list, s)
		}
		backends[b.Name] = list
	}
	p.servers, p.backends, p.order = servers, backends, order
	return nil
}

// Get returns the server "backend/name", or nil.
func (p *Pool) Get(backend, name string) *Server {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.servers[backend+"/"+name]
}

// Servers returns a backend's servers in configuration order. The slice is
// shared: callers must not modify it.
func (p *Pool) Servers(backend string) []*Server {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.backends[backend]
}

// Backends returns the backend names in configuration order.
func (p *Pool) Backends() []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return append([]string(nil), p.order...)
}
