package proxy

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"lbd/config"
	"lbd/h1"
)

// hashBalancer maps a request key (client address, path, URL parameter or
// header) to a server.
//
// map-based (HAProxy's default) takes the hash modulo the total weight of
// the usable servers: even spread, but a server going down or coming back
// remaps most keys. consistent places each server on a hash ring (points in
// proportion to its weight); a key goes to the first usable server at or
// after its hash, so adding or removing a server moves only that server's
// share.
type hashBalancer struct {
	group
	key        func(r *pickReq) ([]byte, bool)
	consistent bool
	// fallback serves requests without the key (url_param, hdr), as
	// HAProxy falls back to round robin.
	fallback *roundRobin

	mu   sync.Mutex
	ring atomic.Pointer[hashRing]
}

func newHashBalancer(cfg *config.Backend, g group) (*hashBalancer, error) {
	b := &hashBalancer{group: g, consistent: cfg.HashType == "consistent"}
	switch cfg.Balance {
	case "source":
		b.key = sourceKey
	case "uri":
		b.key = uriKey
	case "url_param":
		name := cfg.HashKey
		b.key = func(r *pickReq) ([]byte, bool) { return urlParamKey(r, name) }
		b.fallback = newRoundRobin(g, false)
	case "hdr":
		name := []byte(cfg.HashKey)
		b.key = func(r *pickReq) ([]byte, bool) { return headerKey(r, name) }
		b.fallback = newRoundRobin(g, false)
	default:
		return nil, fmt.Errorf("backend %q: %q is not a hash balance", cfg.Name, cfg.Balance)
	}
	if cfg.HashType != "" && cfg.HashType != "map-based" && cfg.HashType != "consistent" {
		return nil, fmt.Errorf("backend %q: unknown hash_type %q", cfg.Name, cfg.HashType)
	}
	return b, nil
}

func (b *hashBalancer) pick(r *pickReq) (*server, bool) {
	k, ok := b.key(r)
	if !ok {
		if b.fallback != nil {
			return b.fallback.pick(r)
		}
		k = nil
	}
	h := hashBytes(k)
	backup := b.backupMode(r.exclude)
	if b.consistent {
		return b.pickRing(h, r.exclude, backup)
	}
	var total int64
	for _, s := range b.servers {
		if candidate(s, r.exclude, backup) {
			total += s.weight()
		}
	}
	if total <= 0 {
		return nil, false
	}
	x := int64(h % uint64(total))
	for _, s := range b.servers {
		if !candidate(s, r.exclude, backup) {
			continue
		}
		x -= s.weight()
		if x < 0 {
			return s, true
		}
	}
	return nil, false
}

// hashRing is a consistent-hash ring built for one set of weights.
type hashRing struct {
	weights []int64 // weight of each server when built
	points  []ringPoint
}

type ringPoint struct {
	h   uint64
	idx int32 // index in servers
}

// pointsPerWeight is how many ring points one unit of weight gets.
const pointsPerWeight = 16

func (b *hashBalancer) currentRing() *hashRing {
	r := b.ring.Load()
	if r != nil {
		same := true
		for i, s := range b.servers {
			if s.weight() != r.weights[i] {
				same = false
				break
			}
		}
		if same {
			return r
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r = buildRing(b.servers)
	b.ring.Store(r)
	return r
}

func buildRing(servers []*server) *hashRing {
	r := &hashRing{weights: make([]int64, len(servers))}
	for i, s := range servers {
		w := s.weight()
		r.weights[i] = w
		base := hashBytes([]byte(s.name))
		for k := int64(0); k < w*pointsPerWeight; k++ {
			r.points = append(r.points, ringPoint{h: mix64(base ^ uint64(k+1)*0x9e3779b97f4a7c15), idx: int32(i)})
		}
	}
	slices.SortFunc(r.points, func(a, b ringPoint) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return int(a.idx - b.idx)
	})
	return r
}

func (b *hashBalancer) pickRing(h uint64, ex *server, backup bool) (*server, bool) {
	r := b.currentRing()
	n := len(r.points)
	if n == 0 {
		return nil, false
	}
	i, _ := slices.BinarySearchFunc(r.points, h, func(p ringPoint, h uint64) int {
		switch {
		case p.h < h:
			return -1
		case p.h > h:
			return 1
		}
		return 0
	})
	for k := 0; k < n; k++ {
		s := b.servers[r.points[(i+k)%n].idx]
		if candidate(s, ex, backup) {
			return s, true
		}
	}
	return nil, false
}

// sourceKey hashes the client address (balance source).
func sourceKey(r *pickReq) ([]byte, bool) {
	if !r.client.IsValid() {
		return nil, false
	}
	a := r.client.Unmap()
	if a.Is4() {
		v := a.As4()
		return v[:], true
	}
	v := a.As16()
	return v[:], true
}

// uriKey hashes the path, without the query string (balance uri).
func uriKey(r *pickReq) ([]byte, bool) {
	if r.req == nil {
		return nil, false
	}
	return r.req.Bytes(r.req.Path), true
}

// urlParamKey hashes the value of a query parameter (balance url_param).
func urlParamKey(r *pickReq, name string) ([]byte, bool) {
	if r.req == nil {
		return nil, false
	}
	q := r.req.Bytes(r.req.Query)
	for len(q) > 0 {
		i := indexByte(q, '&')
		var kv []byte
		if i < 0 {
			kv, q = q, nil
		} else {
			kv, q = q[:i], q[i+1:]
		}
		if len(kv) > len(name) && kv[len(name)] == '=' && string(kv[:len(name)]) == name {
			return kv[len(name)+1:], true
		}
	}
	return nil, false
}

// headerKey hashes the first value of a header (balance hdr).
func headerKey(r *pickReq, name []byte) ([]byte, bool) {
	if r.req == nil {
		return nil, false
	}
	for i := range r.req.Fields {
		h := &r.req.Fields[i]
		if h1.EqFoldBytes(r.req.Bytes(h.Name), name) {
			return r.req.Bytes(h.Value), true
		}
	}
	return nil, false
}

// hashBytes is FNV-1a followed by a finalizer so that nearby keys (client
// addresses in one subnet) spread over the whole range.
func hashBytes(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return mix64(h)
}

// mix64 is the MurmurHash3 64-bit finalizer.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb34fe63a397b
	h ^= h >> 33
	return h
}
