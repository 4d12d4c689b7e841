package proxy

import (
	"bytes"
	"sync"

	"lbd/config"
	"lbd/h2"
)

// HTTP/2 clients. A connection speaks HTTP/2 when TLS negotiated "h2"
// (ALPN, offered by default on the TLS binds of http frontends), on a
// frontend with proto = "h2", or, on a plain bind of a
// frontend with h2c = true, when it starts with the HTTP/2 preface (prior
// knowledge, RFC 9113 §3.3). The protocol is package h2's; the engine
// wires it:
//
//   - one goroutine reads the connection while it has streams, feeding
//     the bytes to h2.Conn under the connection's lock; an idle
//     connection (no stream, nothing buffered) waits and parks as an
//     idle HTTP/1 keep-alive connection does, holding no goroutine, no
//     buffer and no Framer, only its HPACK table and settings;
//   - each request stream runs as an exchange on a goroutine of its own,
//     through the same path as an HTTP/1 request (routing, balancing,
//     persistence, queues, logs, stats), its client side being the
//     stream: h2 hands it the request as an HTTP/1.1 head, which h1
//     parses again, and the body in the framing that head declares;
//     the response the exchange writes in HTTP/1.1 goes back through
//     h2.Conn.WriteH1 as frames (h2_link.go);
//   - writes are combined: whoever finds the connection's output
//     pending and nobody writing writes it, other streams' frames
//     included, in one system call;
//   - a stream waits for its flow-control windows at most
//     timeouts.client (a client that opens no window stalls nothing
//     longer: zero-window stall), and the socket write is bounded by the
//     same timeout (slow read).
//
// On stop, and for a removed listener, the connection gets GOAWAY: the
// streams in progress finish, then it closes. A reload does not end
// connections: each new stream takes the configuration in force when it
// starts.

// h2Preface is the start of the HTTP/2 preface.
var h2Preface = []byte(h2.Preface)

// h2conn is a client connection that speaks HTTP/2.
type h2conn struct {
	h2link
	s        *session
	fe       *frontend      // the frontend of the connection's start, for its timeouts
	wg       sync.WaitGroup // stream goroutines
	draining bool           // GOAWAY wanted: finish the streams, take no more
	lastEnd  int64          // when the last stream ended, for the idle timeout
	// own holds HTTP/1 server connections the connection's streams used,
	// for its next streams: they are this client's, as an HTTP/1
	// session's own (exchange.upstream). Given back to their servers when
	// the connection parks or ends. With mu held.
	own []*upConn
}

// maxOwnH2 bounds the server connections an HTTP/2 client connection
// keeps between its streams.
const maxOwnH2 = 16

// takeOwn gives a stream a server connection to srv that the
// connection's streams used before, or nil.
func (hc *h2conn) takeOwn(srv *server) *upConn {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	for i := len(hc.own) - 1; i >= 0; i-- {
		if u := hc.own[i]; u.srv == srv {
			n := len(hc.own) - 1
			copy(hc.own[i:], hc.own[i+1:])
			hc.own[n] = nil
			hc.own = hc.own[:n]
			return u
		}
	}
	return nil
}

// keepOwnLocked keeps a stream's server connection for the next streams,
// or gives it back to its server when enough are kept or the connection
// is closing; with mu held.
func (hc *h2conn) keepOwnLocked(u *upConn) {
	if u.h2 == nil && len(hc.own) < maxOwnH2 && !hc.draining && hc.werr == nil {
		u.ep.release()
		hc.own = append(hc.own, u)
		return
	}
	u.srv.putIdle(u, nanotime())
}

// releaseOwn gives the kept server connections back to their servers.
func (hc *h2conn) releaseOwn() {
	hc.mu.Lock()
	own := hc.own
	hc.own = nil
	hc.mu.Unlock()
	now := nanotime()
	for _, u := range own {
		u.srv.putIdle(u, now)
	}
}

// h2Config is HTTP/2's settings from the global h2 block: for client
// connections (fe) or connections to servers.
func h2Config(g *config.H2, fe bool) h2.Config {
	c := h2.Config{
		HeaderTableSize:   uint32(g.HeaderTableSize),
		MaxFrameSize:      uint32(g.MaxFrameSize),
		MaxHeaderListSize: uint32(g.MaxHeaderListSize),
	}
	if g.HeaderTableSize == 0 {
		c.HeaderTableSize = 1 // an explicit 0: a table too small for any field
	}
	glitches := g.BEGlitchesThreshold
	if fe {
		c.InitialWindowSize = uint32(g.FEInitialWindowSize)
		c.MaxConcurrentStreams = uint32(g.FEMaxConcurrentStreams)
		c.MaxTotalStreams = uint32(g.FEMaxTotalStreams)
		glitches = g.FEGlitchesThreshold
	} else {
		c.InitialWindowSize = uint32(g.BEInitialWindowSize)
		c.MaxConcurrentStreams = uint32(g.BEMaxConcurrentStreams)
	}
	c.GlitchesThreshold = uint32(glitches)
	if glitches == 0 {
		c.GlitchesThreshold = h2.NoLimit
	}
	return c
}

// wantsH2 reports whether a new connection speaks HTTP/2 with prior
// knowledge: a proto = "h2" frontend, or an h2c one and the preface's
// first bytes.
func (s *session) wantsH2(fe *frontend) bool {
	if fe.h2only {
		return true // the preface is checked as the first bytes of HTTP/2
	}
	if t := s.cli.sys.tls; t != nil {
		return t.alpn == "h2" // RFC 9113 §3.2
	}
	if !fe.h2c {
		return false
	}
	for s.cli.buffered() < 4 && bytes.HasPrefix(h2Preface, s.cli.data()) {
		s.cli.readDeadline(s.accepted + int64(fe.t.HTTPRequest))
		if _, err := s.cli.fill(); err != nil {
			return false
		}
	}
	return bytes.HasPrefix(s.cli.data(), h2Preface[:4])
}

// startH2 makes the session an HTTP/2 connection.
func (s *session) startH2(fe *frontend) {
	hc := &h2conn{s: s, fe: fe, lastEnd: nanotime()}
	hc.ep, hc.wto = &s.cli, fe.t.Client
	hc.c = h2.NewConn(h2.RoleServer, fe.h2, (*h2handler)(hc))
	s.kmu.Lock() // kick looks at it
	s.h2 = hc
	s.kmu.Unlock()
}

// serveH2 serves an HTTP/2 connection until it ends; true when it handed
// the connection over to a new goroutine (parked while idle).
func (s *session) serveH2() (handedOff bool) {
	hc := s.h2
	for {
		hc.mu.Lock()
		hc.holdIn(hc.fe.h2.MaxFrameSize)
		if n := s.cli.buffered(); n > 0 {
			// Bytes the idle wait (or the preface sniffing) read.
			hc.compact(n)
			hc.w += copy((*hc.in)[hc.w:], s.cli.data())
			s.cli.consume(n)
		}
		s.cli.releaseIfEmpty()
		err := hc.feed()
		if err == nil && (hc.draining || s.draining()) {
			hc.c.GoAway()
		}
		hc.flushLocked()
		done := err != nil || hc.werr != nil || hc.c.Done()
		idle := !done && hc.c.Active() == 0 && hc.r == hc.w
		hc.mu.Unlock()
		if done {
			// The client may have frames in flight (a PING after its
			// GOAWAY): read them away before closing, so that it sees
			// our GOAWAY and a FIN rather than a reset.
			s.x.linger = hc.werr == nil
			hc.end()
			return false
		}
		if idle {
			switch hc.waitIdle() {
			case waitGot:
				continue
			case waitHandoff:
				hc.releaseOwn()
				if !s.e.parker.park(s, s.idleDeadline(hc.fe, false, hc.lastEnd)) {
					sessionWorkers.run(s.resume)
				}
				return true
			}
			hc.closeIdle()
			hc.end()
			return false
		}
		// Streams in progress: no inactivity timeout on the connection,
		// each stream has its own.
		if !hc.readMore(0) {
			hc.end()
			return false
		}
	}
}

// waitIdle waits for the next frame of a connection without a stream,
// holding no buffer: as a keep-alive connection waits for its next
// request (http_keep_alive), parked after a moment.
func (hc *h2conn) waitIdle() waitOutcome {
	hc.mu.Lock()
	hc.dropIn()
	hc.c.Idle()
	hc.mu.Unlock()
	s := hc.s
	if s.draining() {
		return waitClosed
	}
	return s.waitRequest(hc.fe, false, hc.lastEnd, nil)
}

// drain asks the connection to finish: GOAWAY, the streams in progress
// complete, then it closes.
func (hc *h2conn) drain() {
	hc.mu.Lock()
	if !hc.draining {
		hc.draining = true
		hc.wakeReader()
	}
	hc.mu.Unlock()
}

// closeIdle says goodbye to an idle connection (its keep-alive time is
// over, or it drains): GOAWAY, written without waiting long.
func (hc *h2conn) closeIdle() {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	hc.goAwayNow()
}

// end finishes the connection: its streams are stopped (their server
// connections closed when they are still at work) and waited for.
func (hc *h2conn) end() {
	hc.mu.Lock()
	if e := hc.c.Err(); e != nil {
		hc.logEnd(e)
	}
	hc.c.Close(h2.ErrCodeNo, "closing")
	hc.flushLocked()
	if hc.werr == nil {
		hc.werr = errH2Closed
	}
	hc.abortStreams()
	hc.mu.Unlock()
	hc.wg.Wait()
	hc.releaseOwn()
	hc.mu.Lock()
	hc.r, hc.w = 0, 0
	hc.dropIn()
	hc.c.Idle()
	hc.mu.Unlock()
}

// abortStreams stops the streams' exchanges; with mu held.
func (hc *h2conn) abortStreams() {
	for _, p := range hc.pipes.list {
		p.fail(errH2Closed)
		if hs := p.owner; hs != nil {
			hs.abortServer()
		}
	}
}

// killStreams closes the server connections of the streams (kill).
func (hc *h2conn) killStreams() {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	hc.abortStreams()
}

// logEnd logs why a connection was closed by the protocol: a limit that
// held off an abuse at warn, a protocol error at debug.
func (hc *h2conn) logEnd(e *h2.Error) {
	s := hc.s
	var b [64]byte
	ev := s.e.log.Debug()
	if e.Limit != "" && !e.Remote {
		ev = s.e.log.Warn()
	}
	ev.Bytes("client", s.peer.AppendTo(b[:0])).Str("frontend", hc.fe.name).Str("h2_error", e.Code.String()).
		Str("reason", e.Reason).Str("limit", e.Limit).Uint32("glitches", hc.c.Glitches()).
		Bool("by_client", e.Remote).Msg("h2 connection closed")
}
