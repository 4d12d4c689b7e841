package proxy

import (
	"context"
	"net"
	"time"
)

// Upstream connections are kept open between requests (HTTP keep-alive to
// the servers). A session keeps the connection of its last request while it
// serves requests for the same server, and while its client is back
// within safeWait for its next one; when the client thinks longer
// (session.thinking), or the session parks or ends, the connection
// returns to its server's idle list, where any session may take it,
// unless it was reused unchecked (below).
//
// Before a connection from the idle list is reused, a non-blocking peek
// looks for the server's close or bytes nobody asked for (sys.stale), and
// the connection is dropped if it finds either. A session reusing its own
// connection for a request that can be replayed skips the look
// (exchange.upstream). A close still in flight is only
// discovered when the connection is used. Idempotent requests are then
// retried on a fresh connection; for
// the others (a POST cannot be replayed), only connections idle for less
// than safeReuseAge are reused, well under the keep-alive timeout of common
// servers (5s for Node.js and Apache httpd).
const (
	upstreamIdleMax = 10 * time.Second // idle connections older than this are closed
	safeReuseAge    = 2 * time.Second  // max idle age for a request that cannot be replayed
	maxIdlePerSrv   = 1024             // idle connections kept per server
)

// upConn is one connection to a server.
type upConn struct {
	ep     endpoint
	srv    *server
	addr   string
	idleAt int64 // unix nanoseconds when it became idle
	uses   int   // requests sent on it
	// private: made for one client (its PROXY protocol header, proxyproto.go,
	// or TLS with its SNI, tls_upstream.go): never given to another.
	private bool
	// unchecked: its session reused it without peeking at it first
	// (exchange.upstream): never given to another client either.
	unchecked bool
	// pendingTLS: the TLS handshake waits for the PROXY header.
	pendingTLS *pendingTLS
	// req: the request connect left for the response's first read to
	// send (sendFill); nil once sent.
	req []byte
	// h2: a stream on an HTTP/2 connection (h2_upstream.go), the
	// endpoint's pipe; nil for a connection of its own.
	h2 *h2ustream
}

// getIdle takes the most recently used idle connection younger than maxAge.
func (s *server) getIdle(now int64, maxAge time.Duration) *upConn {
	addr := s.address()
	s.idleMu.Lock()
	for n := len(s.idle); n > 0; n = len(s.idle) {
		u := s.idle[n-1]
		if u.addr != addr || now-u.idleAt > int64(upstreamIdleMax) {
			// The newest is too old or stale: so are all below it.
			old := append([]*upConn(nil), s.idle...)
			s.idle = s.idle[:0]
			s.idleMu.Unlock()
			for _, o := range old {
				o.ep.c.Close()
			}
			return nil
		}
		if now-u.idleAt > int64(maxAge) {
			s.idleMu.Unlock()
			return nil
		}
		s.idle[n-1] = nil
		s.idle = s.idle[:n-1]
		s.idleMu.Unlock()
		if u.ep.sys.stale(u.ep.c) {
			// The server closed it, or said something nobody asked for
			// (a 408, or a second response meant to answer the next
			// request: response queue poisoning): never send a request
			// there. One non-blocking peek per reuse; a server that
			// sends its stray bytes after this look and before the next
			// response is a race no proxy can tell from a response.
			u.close()
			s.idleMu.Lock()
			continue
		}
		return u
	}
	s.idleMu.Unlock()
	return nil
}

// putIdle parks a reusable connection.
func (s *server) putIdle(u *upConn, now int64) {
	u.ep.release()
	if u.addr != s.address() || u.private || u.unchecked {
		u.ep.c.Close()
		return
	}
	u.idleAt = now
	s.idleMu.Lock()
	if len(s.idle) >= maxIdlePerSrv {
		s.idleMu.Unlock()
		u.ep.c.Close()
		return
	}
	s.idle = append(s.idle, u)
	s.idleMu.Unlock()
}

// purgeIdle closes idle connections older than upstreamIdleMax (all of
// them when all is set).
func (s *server) purgeIdle(now int64, all bool) {
	s.idleMu.Lock()
	k := 0
	var drop []*upConn
	for _, u := range s.idle {
		if all || now-u.idleAt > int64(upstreamIdleMax) {
			drop = append(drop, u)
			continue
		}
		s.idle[k] = u
		k++
	}
	for i := k; i < len(s.idle); i++ {
		s.idle[i] = nil
	}
	s.idle = s.idle[:k]
	s.idleMu.Unlock()
	for _, u := range drop {
		u.ep.c.Close()
	}
}

// dial opens a new connection to the server.
func (s *server) dial(ctx context.Context, timeout time.Duration, clientSNI string) (*upConn, error) {
	addr := s.address()
	// No TCP keep-alive probes (Go's default, four system calls a
	// connection): as HAProxy without option srvtcpka, the server timeout
	// and the idle list's age bound a silent connection.
	d := net.Dialer{Timeout: timeout, KeepAlive: -1}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	u := &upConn{ep: endpoint{c: tc}, srv: s, addr: addr}
	if err := u.ep.sys.init(tc); err != nil {
		tc.Close()
		return nil, err
	}
	if cl := s.tls.Load(); cl != nil { // tls_upstream.go
		if s.sendProxy.Load() != 0 {
			// The PROXY header goes first: sendProxyHeader finishes.
			u.pendingTLS = &pendingTLS{cl: cl, sni: clientSNI, timeout: timeout}
		} else if err := u.startTLS(cl, clientSNI, timeout); err != nil {
			tc.Close()
			return nil, err
		}
	}
	return u, nil
}

func (u *upConn) close() {
	if u.h2 != nil {
		u.h2.release()
		return
	}
	u.ep.release()
	u.ep.c.Close()
}

// abort makes the connection's I/O fail now, from another goroutine (kill,
// a client that gave up): the socket is closed, or the stream reset.
func (u *upConn) abort() {
	if u.h2 != nil {
		u.h2.abort()
		return
	}
	u.ep.c.Close()
}
