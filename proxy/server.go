package proxy

import (
	"sync"
	"sync/atomic"

	"lbd/config"
	"lbd/health"
	"lbd/tlsconf"
)

// server is the proxy's side of one backend server: its health record (the
// state and counters shared with checks and the admin API), its queue and
// its idle upstream connections. It lives as long as the health record, so
// a reload that keeps a server keeps its queue and connections.
type server struct {
	hs   *health.Server
	name string
	st   *backendState // the queue this server serves besides its own

	addr   atomic.Pointer[string]         // resolved "ip:port" dialled
	tls    atomic.Pointer[tlsconf.Client] // TLS to the server; nil: plain (tls_upstream.go)
	cookie atomic.Pointer[string]         // value naming it in the persistence cookie
	// sendProxy is the PROXY protocol version sent on new connections,
	// 0 for none (proxyproto.go).
	sendProxy atomic.Int32

	// q holds requests bound to this server (persistence, hashing) that
	// wait for a slot; guarded by st.mu.
	q waitList

	idleMu sync.Mutex
	idle   []*upConn // LIFO of idle keep-alive connections

	h2 h2pool // HTTP/2 connections (proto = "h2", h2_upstream.go)
}

func newServer(hs *health.Server, st *backendState) *server {
	return &server{hs: hs, name: hs.Name, st: st}
}

func (s *server) address() string { return *s.addr.Load() }

func (s *server) cookieValue() string {
	if p := s.cookie.Load(); p != nil {
		return *p
	}
	return s.name
}

func (s *server) usable() bool        { return s.hs.Usable() }
func (s *server) isBackup() bool      { return s.hs.IsBackup() }
func (s *server) weight() int64       { return int64(s.hs.EffectiveWeight()) }
func (s *server) cur() int64          { return s.hs.Counters.CurConns.Load() }
func (s *server) cfg() *config.Server { return s.hs.Config() }

// full reports whether a new request must queue for this server: it has a
// limit and is at it, or others already wait for it (first come, first
// served, as HAProxy).
func (s *server) full() bool {
	max := s.hs.EffectiveMaxConn()
	if max <= 0 {
		return false
	}
	return s.cur() >= int64(max) || s.hs.Counters.Queued.Load() > 0
}

// tryAcquire takes a connection slot if the server is below its limit.
func (s *server) tryAcquire(now int64) bool {
	c := &s.hs.Counters
	max := int64(s.hs.EffectiveMaxConn())
	var n int64
	if max <= 0 {
		n = c.CurConns.Add(1)
	} else {
		for {
			cur := c.CurConns.Load()
			if cur >= max {
				return false
			}
			if c.CurConns.CompareAndSwap(cur, cur+1) {
				n = cur + 1
				break
			}
		}
	}
	c.TotalConns.Add(1)
	for {
		m := c.MaxConns.Load()
		if n <= m || c.MaxConns.CompareAndSwap(m, n) {
			break
		}
	}
	c.LastSession.Store(now)
	return true
}

// release gives the slot back and hands it to the oldest waiter, if any.
func (s *server) release() {
	s.hs.Counters.CurConns.Add(-1)
	if s.st.qlen.Load() > 0 {
		s.st.dispatch(s)
	}
}

// backendState is what a backend keeps across reloads: its queue and
// counters. Keyed by backend name.
type backendState struct {
	name string

	mu   sync.Mutex
	q    waitList     // requests any server of the backend may take
	qlen atomic.Int64 // waiters in q and in the queues of its servers

	cur      atomic.Int64  // requests (http) or connections (tcp) in progress
	max      atomic.Int64  // highest cur seen
	total    atomic.Uint64 // sessions sent to the backend
	maxQueue atomic.Int64  // highest backend queue seen
	traffic
	// servers is the current server list, for the queue janitor.
	servers atomic.Pointer[[]*server]
}

// backend is one configured backend, rebuilt at every reload and swapped
// atomically; requests in flight keep the one they started with.
type backend struct {
	name     string
	cfg      *config.Backend
	st       *backendState
	servers  []*server // configuration order
	bal      balancer
	cookie   *cookieRule
	byCookie map[string]*server
	t        config.Timeouts
	h2cfg    config.H2 // HTTP/2 to servers (proto = "h2")
	observe  observeLevel
	hashed   bool // a hash balancer: a request waits for the server its key maps to
}

type observeLevel uint8

const (
	observeNone observeLevel = iota
	observeL4
	observeL7
)

// serverByCookie returns the server a persistence cookie value names.
func (b *backend) serverByCookie(v []byte) *server {
	if len(v) == 0 || b.byCookie == nil {
		return nil
	}
	return b.byCookie[string(v)] // no allocation: map lookup by []byte conversion
}
