package proxy

import (
	"context"
	"io"
	"sync"
	"time"

	"lbd/h2"
)

// HTTP/2 to servers (proto = "h2"). A request to such a server takes a
// stream on one of the server's HTTP/2 connections that has room (the
// server's SETTINGS_MAX_CONCURRENT_STREAMS, at most
// be_max_concurrent_streams), or on a new connection when none has: the
// requests of many clients share few connections. The exchange sees an
// upConn as for HTTP/1.1: it writes the request in HTTP/1.1, which
// h2.Conn.WriteH1 sends as HEADERS and DATA, and reads the response in
// HTTP/1.1, which h2 made from the server's frames (trailers as the
// chunked body's trailer section, for gRPC) and h1 parses as any
// server's response. Each connection has one goroutine reading it while
// it is open; an idle one is closed after upstreamIdleMax, with GOAWAY.
// A stream the server refuses (REFUSED_STREAM, or above its GOAWAY's
// last stream) never reached its application: the exchange sees a
// connection that closed before answering, and retries an idempotent
// request on a new connection, as for a stale HTTP/1.1 connection.

// h2pool is a server's HTTP/2 connections.
type h2pool struct {
	mu      sync.Mutex
	conns   []*h2up
	dialing chan struct{} // closed when the connection being dialled is ready
}

// h2up is one HTTP/2 connection to a server.
type h2up struct {
	h2link
	srv       *server
	addr      string
	sock      *upConn // the socket's connection (h2link.ep is its endpoint)
	idleSince int64   // when the last stream ended, 0 while streams are open
	dead      bool    // takes no new stream
}

// h2ustream is a stream to a server: the pipe of an upConn's endpoint.
type h2ustream struct {
	h2pipe
	uc *h2up
	u  upConn
}

// isH2 reports whether the server speaks HTTP/2.
func (s *server) isH2() bool { return s.cfg().Proto == "h2" }

// openH2 returns a stream to the server on a connection with room, or on
// a new one (fresh: always a new one); reused reports an existing one.
func (s *server) openH2(ctx context.Context, be *backend, fresh bool) (*upConn, bool, error) {
	addr := s.address()
	p := &s.h2
	p.mu.Lock()
	for !fresh {
		for i := len(p.conns) - 1; i >= 0; i-- {
			uc := p.conns[i]
			uc.mu.Lock()
			if !uc.dead && uc.addr == addr && uc.c.CanOpen() {
				us := uc.newStream()
				uc.mu.Unlock()
				p.mu.Unlock()
				return &us.u, true, nil
			}
			uc.mu.Unlock()
		}
		wait := p.dialing
		if wait == nil {
			break
		}
		// A connection is on its way: its room is for us too, rather
		// than a connection each in a burst.
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
		p.mu.Lock()
	}
	ready := make(chan struct{})
	if p.dialing == nil {
		p.dialing = ready
	}
	p.mu.Unlock()
	done := func() {
		p.mu.Lock()
		if p.dialing == ready {
			p.dialing = nil
		}
		p.mu.Unlock()
		close(ready)
	}
	sock, err := s.dial(ctx, be.t.Connect, "")
	if err == nil && sock.ep.sys.tls != nil && sock.ep.sys.tls.alpn != "h2" {
		// RFC 9113 §3.2: over TLS, HTTP/2 is what ALPN agreed on.
		sock.close()
		err = errNoH2
	}
	if err != nil {
		done()
		return nil, false, err
	}
	uc := &h2up{srv: s, addr: addr, sock: sock}
	uc.ep, uc.wto = &sock.ep, be.t.Server
	uc.c = h2.NewConn(h2.RoleClient, h2Config(&be.h2cfg, false), (*h2uhandler)(uc))
	uc.c.SetTLS(sock.ep.sys.tls != nil)
	uc.mu.Lock()
	us := uc.newStream()
	uc.flushLocked()
	uc.mu.Unlock()
	p.mu.Lock()
	p.conns = append(p.conns, uc)
	p.mu.Unlock()
	done()
	go uc.run()
	return &us.u, false, nil
}

// newStream opens a stream; with mu held, CanOpen true.
func (uc *h2up) newStream() *h2ustream {
	st := uc.c.OpenStream()
	// Not pooled: the exchange may close an upConn twice, and a stream
	// reused in between would be someone else's.
	us := &h2ustream{uc: uc}
	us.u.ep.pipe = &us.h2pipe
	us.u.h2 = us
	us.init(&uc.h2link, st)
	us.u.srv, us.u.addr = uc.srv, uc.addr
	uc.idleSince = 0
	return us
}

// release ends the exchange's use of the stream (upConn.close): a stream
// not complete both ways is reset.
func (us *h2ustream) release() {
	uc := us.uc
	if uc == nil {
		return // closed already
	}
	uc.mu.Lock()
	uc.c.FinishH1(us.st, true)
	uc.c.Consumed(us.st, us.unread())
	uc.c.Release(us.st)
	us.detach() // an upload's copier may still be in write (stopCopier)
	if uc.c.Active() == 0 {
		uc.idleSince = nanotime()
	}
	uc.flushLocked()
	uc.mu.Unlock()
	us.u.ep.release()
	us.uc = nil
}

// abort makes the stream's I/O fail now (kill, a client that gave up).
func (us *h2ustream) abort() {
	uc := us.uc
	if uc == nil {
		return
	}
	uc.mu.Lock()
	if us.l != nil && !us.st.Closed() {
		us.fail(errH2Closed)
		uc.c.Reset(us.st, h2.ErrCodeCancel)
		uc.flushLocked()
	}
	uc.mu.Unlock()
}

// run reads the connection until it ends.
func (uc *h2up) run() {
	for {
		uc.mu.Lock()
		uc.holdIn(uc.c.MaxFrameSize())
		err := uc.feed()
		uc.flushLocked()
		done := err != nil || uc.werr != nil || uc.c.Done()
		idle := uc.c.Active() == 0
		since := uc.idleSince
		if idle && since == 0 {
			since = nanotime()
			uc.idleSince = since
		}
		if idle && since+int64(upstreamIdleMax) <= nanotime() {
			uc.dead = true
			uc.goAwayNow()
			done = true
		}
		uc.mu.Unlock()
		if done {
			break
		}
		var deadline int64
		if idle {
			deadline = since + int64(upstreamIdleMax)
		}
		if !uc.readMore(deadline) {
			uc.mu.Lock()
			busy := uc.c.Active() > 0 && uc.werr == nil
			uc.mu.Unlock()
			if busy || deadline > 0 && nanotime() >= deadline {
				if !busy {
					continue // idle time over: the loop says goodbye
				}
			}
			break
		}
	}
	uc.close()
}

// close takes the connection out of the pool and closes it; the streams
// still open fail.
func (uc *h2up) close() {
	p := &uc.srv.h2
	p.mu.Lock()
	for i, c := range p.conns {
		if c == uc {
			p.conns = append(p.conns[:i], p.conns[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	uc.mu.Lock()
	uc.dead = true
	if e := uc.c.Err(); e != nil && !e.Remote {
		uc.srv.hs.Counters.RespErrors.Add(1)
	}
	for _, pp := range uc.pipes.list {
		pp.fail(io.ErrUnexpectedEOF)
	}
	if uc.werr == nil {
		uc.werr = errH2Closed
	}
	uc.r, uc.w = 0, 0
	uc.dropIn()
	uc.mu.Unlock()
	uc.sock.ep.c.Close()
}

// closeAll closes the server's HTTP/2 connections (the server left the
// configuration, or the engine stops).
func (p *h2pool) closeAll() {
	p.mu.Lock()
	conns := append([]*h2up(nil), p.conns...)
	p.mu.Unlock()
	for _, uc := range conns {
		uc.mu.Lock()
		uc.dead = true
		uc.goAwayNow()
		uc.mu.Unlock()
		uc.sock.ep.c.SetReadDeadline(time.Unix(1, 0))
	}
}

// h2uhandler receives a server connection's events, with uc.mu held.
type h2uhandler h2up

func (h *h2uhandler) Request(*h2.Stream, *h2.Request) {} // server role only

func (h *h2uhandler) Response(st *h2.Stream, r *h2.Response) {
	if p := pipeOf(st); p != nil {
		p.head(r.Head, r.EndStream)
	}
}

func (h *h2uhandler) Data(st *h2.Stream, b []byte, end bool) { (*h2up)(h).onData(st, b, end) }

func (h *h2uhandler) Trailers(st *h2.Stream, f []byte) { (*h2up)(h).onTrailers(st, f) }

func (h *h2uhandler) Writable(st *h2.Stream) { (*h2up)(h).onWritable(st) }

func (h *h2uhandler) Reset(st *h2.Stream, code h2.ErrCode, remote bool) {
	p := pipeOf(st)
	if p == nil {
		return
	}
	if code == h2.ErrCodeRefusedStream && p.queued == 0 {
		// Never processed (RFC 9113 §8.7): as a connection that closed
		// before answering, which the exchange may retry.
		p.fail(io.EOF)
		return
	}
	if remote {
		p.fail(h2ResetError{code})
		return
	}
	p.fail(errH2Reset)
}

func (h *h2uhandler) Refused(uint32, string) {}
