package proxy

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"

	"lbd/config"
	"lbd/h1"
)

// pickReq is what a balancer may look at to choose a server.
type pickReq struct {
	client  netip.Addr
	req     *h1.Head // nil in tcp mode
	exclude *server  // the server a redispatch moves away from
}

// balancer chooses a server for a new request or connection.
//
// Balancers that pick freely (roundrobin, leastconn, first, random) return
// only a server below its connection limit; when every usable server is
// full they return nil with any=true and the request waits in the backend
// queue. Hash balancers (source, uri, url_param, hdr) return the server the
// key maps to even when it is full, and the request waits in that server's
// queue, so that the mapping holds under load, as HAProxy does.
//
// Backup servers are candidates only when no active server is usable; then
// every usable backup takes a share (HAProxy's "option allbackups").
type balancer interface {
	pick(r *pickReq) (s *server, any bool)
}

// newBalancer builds the balancer a backend's configuration names.
func newBalancer(cfg *config.Backend, servers []*server) (balancer, error) {
	g := group{servers: servers}
	switch cfg.Balance {
	case "", "roundrobin":
		return newRoundRobin(g, false), nil
	case "static-rr":
		return newRoundRobin(g, true), nil
	case "leastconn":
		return &leastConn{group: g}, nil
	case "first":
		return &first{group: g}, nil
	case "random":
		return &random{group: g}, nil
	case "source", "uri", "url_param", "hdr":
		return newHashBalancer(cfg, g)
	}
	return nil, fmt.Errorf("backend %q: unknown balance %q", cfg.Name, cfg.Balance)
}

// group is a backend's servers with the candidate rules every balancer
// shares.
type group struct {
	servers []*server
}

// backupMode reports whether only backup servers may be picked: no active
// server (other than the excluded one) is usable.
func (g *group) backupMode(ex *server) bool {
	for _, s := range g.servers {
		if s != ex && !s.isBackup() && s.usable() {
			return false
		}
	}
	return true
}

// candidate reports whether s may be picked in the given mode.
func candidate(s, ex *server, backup bool) bool {
	return s != ex && s.isBackup() == backup && s.usable()
}

// roundRobin is a smooth weighted round robin (as nginx's): over any window
// of total-weight picks each server gets its weight's share, spread evenly
// rather than in bursts. Weights are read at every pick, so runtime weight
// changes (lbctl, slow start, agent) apply at once; static-rr uses the
// configured weight instead, as HAProxy's static-rr ignores runtime changes.
type roundRobin struct {
	group
	static bool
	mu     sync.Mutex
	cur    []int64 // current weight of each server, parallel to servers
}

func newRoundRobin(g group, static bool) *roundRobin {
	return &roundRobin{group: g, static: static, cur: make([]int64, len(g.servers))}
}

func (b *roundRobin) pick(r *pickReq) (*server, bool) {
	backup := b.backupMode(r.exclude)
	b.mu.Lock()
	defer b.mu.Unlock()
	var total int64
	best := -1
	any := false
	for i, s := range b.servers {
		if !candidate(s, r.exclude, backup) {
			continue
		}
		any = true
		if s.full() {
			continue
		}
		w := s.weight()
		if b.static {
			w = int64(s.cfg().Weight)
		}
		if w <= 0 {
			continue
		}
		b.cur[i] += w
		total += w
		if best < 0 || b.cur[i] > b.cur[best] {
			best = i
		}
	}
	if best < 0 {
		return nil, any
	}
	b.cur[best] -= total
	return b.servers[best], true
}

// leastConn picks the server with the fewest requests in progress relative
// to its weight; ties rotate so that idle servers share the load.
type leastConn struct {
	group
	next atomic.Uint32
}

func (b *leastConn) pick(r *pickReq) (*server, bool) {
	backup := b.backupMode(r.exclude)
	n := len(b.servers)
	if n == 0 {
		return nil, false
	}
	start := int(b.next.Add(1) % uint32(n))
	var best *server
	var bc, bw int64
	any := false
	for k := 0; k < n; k++ {
		s := b.servers[(start+k)%n]
		if !candidate(s, r.exclude, backup) {
			continue
		}
		any = true
		if s.full() {
			continue
		}
		c, w := s.cur(), s.weight()
		// c/w < bc/bw without division.
		if best == nil || c*bw < bc*w {
			best, bc, bw = s, c, w
		}
	}
	return best, any
}

// first picks the first server, in configuration order, with a free slot:
// servers fill up one after the other (HAProxy's "first"), which lets
// spare servers be powered down.
type first struct{ group }

func (b *first) pick(r *pickReq) (*server, bool) {
	backup := b.backupMode(r.exclude)
	any := false
	for _, s := range b.servers {
		if !candidate(s, r.exclude, backup) {
			continue
		}
		any = true
		if !s.full() {
			return s, true
		}
	}
	return nil, any
}

// random draws two servers at random, in proportion to their weights, and
// keeps the one with fewer requests in progress ("power of two choices",
// HAProxy's random(2)).
type random struct{ group }

func (b *random) pick(r *pickReq) (*server, bool) {
	backup := b.backupMode(r.exclude)
	var total int64
	any := false
	for _, s := range b.servers {
		if !candidate(s, r.exclude, backup) {
			continue
		}
		any = true
		if !s.full() {
			total += s.weight()
		}
	}
	if total <= 0 {
		return nil, any
	}
	a := b.draw(r, backup, total)
	c := b.draw(r, backup, total)
	if a == nil {
		return c, true
	}
	if c == nil || a == c {
		return a, true
	}
	if c.cur()*a.weight() < a.cur()*c.weight() {
		return c, true
	}
	return a, true
}

// draw returns a weighted random candidate below its limit.
func (b *random) draw(r *pickReq, backup bool, total int64) *server {
	x := rand.Int64N(total)
	for _, s := range b.servers {
		if !candidate(s, r.exclude, backup) || s.full() {
			continue
		}
		x -= s.weight()
		if x < 0 {
			return s
		}
	}
	return nil
}
