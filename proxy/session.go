package proxy

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"lbd/config"
	"lbd/tlsconf"
)

// session is one client connection.
type session struct {
	e   *Engine
	ln  *listener
	fe  *frontend // the frontend of the current request
	lim *limiter  // the frontend limiter holding this connection's slot
	fst *frontendState

	cli endpoint
	// peer is written out where it is needed (logs, X-Forwarded-For):
	// keeping its text would cost every idle connection 100 more bytes.
	peer     netip.AddrPort
	accepted int64

	x  exchange // the request in progress (HTTP/1, tcp)
	h2 *h2conn  // set when the connection speaks HTTP/2 (h2_conn.go)

	state     atomic.Int32
	kmu       sync.Mutex
	killed    atomic.Bool
	reqs      int
	lastEnd   int64 // when the previous response ended
	noHandoff bool  // this goroutine took over an idle wait: wait it out
	// handoffAfter is how long this connection's idle waits last before
	// it is parked: idleHandoff, or longer for a client that came back
	// soon after it was parked (handoffFor).
	handoffAfter time.Duration

	parkFD       int32 // descriptor while parked
	parkDeadline int64 // keep-alive deadline while parked
	detached     bool  // parked without its net.Conn: cli.c is nil (park_linux.go)

	// PROXY protocol (proxyproto.go): viaProxy when peer came from a
	// header; dstAddr is the address the client reached, once known.
	viaProxy bool
	dstAddr  netip.AddrPort

	hello *tlsconf.Hello // the client's ClientHello (tls_session.go); nil in clear
	stk   *sessStick     // stick table entries tcp_request rules track (stick.go)

	// A VRRP handover of the address the client reached (quiesce.go).
	tun     atomic.Pointer[tunnelState] // while tunneling, for its activity
	leaving atomic.Bool                 // close once idle
	local   netip.Addr                  // the address the client reached, set at accept
}

const (
	sActive int32 = iota
	sIdle         // waiting for the next request with nothing buffered
	sKicked       // woken up to close (drain, shutdown)
	sFirst        // waiting for the first request: not kicked, it is served (with a close)
	sParked       // idle in the parker, no goroutine
)

func (e *Engine) startSession(l *listener, fe *frontend, lim *limiter, c *net.TCPConn) {
	s := &session{e: e, ln: l, fe: fe, lim: lim, fst: fe.st, cli: endpoint{c: c}, accepted: nanotime()}
	s.cli.sys.init(c)
	s.x.session, s.x.cli = s, &s.cli
	s.local = localAddr(c) // now: a parked connection has no net.Conn to ask
	if ap, ok := netip.AddrFromSlice(c.RemoteAddr().(*net.TCPAddr).IP); ok {
		s.peer = netip.AddrPortFrom(ap.Unmap(), uint16(c.RemoteAddr().(*net.TCPAddr).Port))
	}
	e.actconn.Add(1)
	maxInt64(&fe.st.max, fe.st.cur.Add(1))
	e.sessMu.Lock()
	e.sessions[s] = struct{}{}
	e.wakeQuietWaiters()
	e.sessMu.Unlock()
	sessionWorkers.run(s.run)
}

func (s *session) run() {
	if !s.readProxyHeader() || !s.connectionPolicy() || !s.startTLS() { // proxyproto.go, policy_tcp.go, tls_session.go
		s.end()
		return
	}
	if s.fe.mode == config.ModeTCP {
		s.begin(s.fe).serveTCP()
	} else if s.serveHTTP() {
		return // a new goroutine carries on
	}
	s.end()
}

func (s *session) end() {
	// A parked connection is wrapped again to be closed properly (GOAWAY,
	// close_notify); if it cannot be, its descriptor is closed and the
	// rest is skipped (cli.c stays nil).
	_ = s.reattach()
	if u := s.x.up; u != nil {
		if s.killed.Load() {
			u.close()
		} else {
			u.srv.putIdle(u, nanotime())
		}
		s.x.up = nil
	}
	if s.h2 != nil && s.cli.c != nil && !s.killed.Load() {
		s.h2.closeIdle() // a parked connection kicked: GOAWAY first
	}
	s.cli.release()
	if t := s.cli.sys.tls; t != nil && s.cli.c != nil && !s.killed.Load() {
		t.closeNotify()
	}
	if s.x.linger && s.cli.c != nil && !s.killed.Load() {
		s.lingeringClose()
	}
	if s.cli.c != nil {
		s.cli.c.Close()
	}
	s.untrackSession()
	s.lim.release()
	s.e.global.release()
	s.fst.cur.Add(-1)
	s.e.actconn.Add(-1)
	e := s.e
	e.sessMu.Lock()
	delete(e.sessions, s)
	n := len(e.sessions)
	e.wakeQuietWaiters()
	e.sessMu.Unlock()
	if n == 0 && e.stopping.Load() {
		select {
		case e.sessGone <- struct{}{}:
		default:
		}
	}
}

// lingeringClose half-closes and discards what the client still sends for
// a moment, so that closing with unread bytes does not reset the
// connection and destroy the response just sent (as nginx's
// lingering_close).
func (s *session) lingeringClose() {
	c := s.cli.c
	if c.CloseWrite() != nil {
		return
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	bp := getBuf()
	defer putBuf(bp)
	for total := 0; total < 1<<20; {
		n, err := c.Read(*bp)
		total += n
		if err != nil {
			return
		}
	}
}

// draining reports whether the connection must close after this request.
func (s *session) draining() bool {
	return s.e.stopping.Load() || s.ln.closed.Load() || s.leaving.Load()
}

// tunnel copies between the client and srv (tcp mode, upgraded http),
// letting a quiet wait see the tunnel's activity.
func (s *session) tunnel(srv *endpoint, idle time.Duration) (up, down int64, who byte) {
	ts := &tunnelState{}
	ts.touch(nanotime())
	s.tun.Store(ts)
	return tunnel(ts, &s.cli, srv, idle)
}

func (s *session) setIdle(first bool) {
	if first {
		s.state.Store(sFirst)
	} else {
		s.state.Store(sIdle)
	}
}

// setActive leaves the idle state; false means the session was kicked.
func (s *session) setActive() bool {
	if s.state.CompareAndSwap(sIdle, sActive) || s.state.CompareAndSwap(sFirst, sActive) {
		return true
	}
	s.kmu.Lock() // wait for the kicker to be done with the deadline
	s.kmu.Unlock()
	s.state.Store(sActive)
	s.cli.rdl = -1 // the kicker changed it behind our back
	return false
}

// kick wakes an idle session so that it notices it must close; a parked
// one is closed here, it has no goroutine to notice.
func (s *session) kick() {
	if s.state.CompareAndSwap(sParked, sKicked) {
		s.e.parker.unpark(s)
		go s.end()
		return
	}
	s.kmu.Lock()
	if s.state.CompareAndSwap(sIdle, sKicked) {
		s.cli.c.SetReadDeadline(time.Unix(1, 0))
	} else if h := s.h2; h != nil && s.state.Load() == sActive {
		h.drain() // streams in progress: GOAWAY, they finish
	}
	s.kmu.Unlock()
}

// kill closes both connections of the session now.
func (s *session) kill() {
	s.killed.Store(true)
	if s.state.CompareAndSwap(sParked, sKicked) {
		s.e.parker.unpark(s)
		go s.end()
		return
	}
	s.kmu.Lock()
	c := s.cli.c // nil while it is being parked (detach)
	s.kmu.Unlock()
	if c != nil {
		c.Close()
	}
	if u := s.x.upc.Load(); u != nil {
		u.abort()
	}
	if h := s.h2; h != nil {
		h.killStreams()
	}
}

func (e *Engine) kickIdle(l *listener) {
	e.sessMu.Lock()
	defer e.sessMu.Unlock()
	for s := range e.sessions {
		if l == nil || s.ln == l {
			s.kick()
		}
	}
}

// kill closes the sessions accepted by l now, every session with nil, as
// kickIdle selects them; it returns how many there were.
func (e *Engine) kill(l *listener) int {
	e.sessMu.Lock()
	defer e.sessMu.Unlock()
	n := 0
	for s := range e.sessions {
		if l == nil || s.ln == l {
			s.kill()
			n++
		}
	}
	return n
}

func (e *Engine) sessionCount() int {
	e.sessMu.Lock()
	defer e.sessMu.Unlock()
	return len(e.sessions)
}
