package proxy

import (
	"bytes"
	"sync"
	"time"

	"lbd/config"
	"lbd/h2"
)

// HTTP/2 clients. A connection speaks HTTP/2 when TLS negotiated "h2"
// (ALPN), or, on a plain bind of a frontend with h2c = true, when it
// starts with the HTTP/2 preface (prior knowledge, RFC 9113 §3.3). The
// protocol is package h2's; the engine wires it:
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
//     h2.Conn.WriteH1 as frames;
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
	s  *session
	fe *frontend // the frontend of the connection's start, for its timeouts
	mu sync.Mutex
	c  *h2.Conn

	in   *[]byte // input not fed yet: in[r:w]; nil while idle
	r, w int

	writing bool   // a goroutine is writing the output
	spare   []byte // the other output buffer
	werr    error  // the connection cannot be written any more

	streams  map[*h2.Stream]*h2stream
	wg       sync.WaitGroup // stream goroutines
	draining bool           // GOAWAY wanted: finish the streams, take no more
	woken    bool           // the reader was interrupted on purpose
	lastEnd  int64          // when the last stream ended, for the idle timeout
}

// h2Config is the frontends' HTTP/2 settings, from the global h2 block.
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

// h2InSize is the input buffer of an HTTP/2 connection: a whole frame of
// the largest size accepted must fit.
func h2InSize(maxFrame uint32) int {
	n := int(maxFrame) + 9
	if n <= h2InPoolSize {
		return h2InPoolSize
	}
	return n
}

const h2InPoolSize = 32 << 10

var h2InPool = sync.Pool{New: func() any { b := make([]byte, h2InPoolSize); return &b }}

// wantsH2 reports whether a new connection speaks HTTP/2 with prior
// knowledge: an h2c frontend and the preface's first bytes.
func (s *session) wantsH2(fe *frontend) bool {
	if fe.h2only {
		return true // the preface is checked as the first bytes of HTTP/2
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
	hc := &h2conn{s: s, fe: fe, streams: map[*h2.Stream]*h2stream{}, lastEnd: nanotime()}
	hc.c = h2.NewConn(h2.RoleServer, fe.h2, (*h2handler)(hc))
	s.h2 = hc
}

// serveH2 serves an HTTP/2 connection until it ends; true when it handed
// the connection over to a new goroutine (parked while idle).
func (s *session) serveH2() (handedOff bool) {
	hc := s.h2
	for {
		hc.mu.Lock()
		if hc.in == nil {
			hc.in = h2InPool.Get().(*[]byte)
			if want := h2InSize(hc.fe.h2.MaxFrameSize); len(*hc.in) < want {
				b := make([]byte, want)
				hc.in = &b
			}
			hc.r, hc.w = 0, 0
		}
		if n := s.cli.buffered(); n > 0 {
			// Bytes the idle wait (or the preface sniffing) read.
			hc.compact(n)
			hc.w += copy((*hc.in)[hc.w:], s.cli.data())
			s.cli.consume(n)
		}
		s.cli.releaseIfEmpty()
		n, err := hc.c.Feed((*hc.in)[hc.r:hc.w])
		hc.r += n
		if hc.r == hc.w {
			hc.r, hc.w = 0, 0
		}
		if err == nil && (hc.draining || s.draining()) {
			hc.c.GoAway()
		}
		hc.flushLocked()
		done := err != nil || hc.werr != nil || hc.c.Done()
		idle := !done && hc.c.Active() == 0 && hc.r == hc.w
		hc.mu.Unlock()
		if done {
			hc.end(err)
			return false
		}
		if idle {
			switch hc.waitIdle() {
			case waitGot:
				continue
			case waitHandoff:
				if !s.e.parker.park(s, s.idleDeadline(hc.fe, false, hc.lastEnd)) {
					go s.resume()
				}
				return true
			}
			hc.closeIdle()
			hc.end(nil)
			return false
		}
		if !hc.readMore() {
			hc.end(nil)
			return false
		}
	}
}

// compact makes room for n more bytes of input.
func (hc *h2conn) compact(n int) {
	if hc.r > 0 && len(*hc.in)-hc.w < n {
		hc.w = copy(*hc.in, (*hc.in)[hc.r:hc.w])
		hc.r = 0
	}
}

// waitIdle waits for the next frame of a connection without a stream,
// holding no buffer: as a keep-alive connection waits for its next
// request (http_keep_alive), parked after a moment.
func (hc *h2conn) waitIdle() waitOutcome {
	hc.mu.Lock()
	if hc.in != nil {
		h2InPool.Put(hc.in)
		hc.in = nil
	}
	hc.c.Idle()
	hc.mu.Unlock()
	s := hc.s
	if s.draining() {
		return waitClosed
	}
	return s.waitRequest(hc.fe, false, hc.lastEnd)
}

// readMore reads the next bytes of a connection with streams in progress.
// No inactivity timeout applies to the connection then: each stream has
// its own. False when the client closed or the connection failed.
func (hc *h2conn) readMore() bool {
	s := hc.s
	hc.mu.Lock()
	if len(*hc.in)-hc.w == 0 {
		hc.compact(len(*hc.in))
	}
	b := (*hc.in)[hc.w:]
	hc.mu.Unlock()
	s.cli.readDeadline(0)
	n, err := s.cli.read(b, readTry)
	hc.mu.Lock()
	defer hc.mu.Unlock()
	hc.w += n
	if err != nil {
		if isTimeout(err) && hc.woken {
			hc.woken = false
			s.cli.rdl = -1
			return true
		}
		return n > 0
	}
	return true
}

// wakeReader interrupts the reader's wait (drain, last stream done).
func (hc *h2conn) wakeReader() {
	hc.woken = true
	if c := hc.s.cli.c; c != nil {
		c.SetReadDeadline(time.Unix(1, 0))
	}
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

// flushLocked writes the output out, with hc.mu held (released while the
// socket is written). One goroutine writes at a time; frames queued by
// others meanwhile go in its next write.
func (hc *h2conn) flushLocked() {
	for !hc.writing && hc.werr == nil && hc.c.Pending() > 0 {
		hc.writing = true
		b := hc.c.Output(hc.spare)
		hc.mu.Unlock()
		err := hc.s.cli.write(b, nanotime(), hc.fe.t.Client)
		hc.mu.Lock()
		hc.spare = b[:0]
		hc.writing = false
		if err != nil {
			hc.werr = err
			for _, st := range hc.streams {
				st.signal()
			}
			hc.wakeReader()
		}
		for _, st := range hc.streams {
			if st.waitOut {
				st.signal()
			}
		}
	}
}

// closeIdle says goodbye to an idle connection (its keep-alive time is
// over, or it drains): GOAWAY, written without waiting long.
func (hc *h2conn) closeIdle() {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	hc.c.GoAway()
	if b := hc.c.Output(nil); len(b) > 0 && hc.werr == nil && !hc.writing {
		hc.s.cli.write(b, nanotime(), 100*time.Millisecond)
	}
}

// end finishes the connection: its streams are stopped (their server
// connections closed when they are still at work) and waited for.
func (hc *h2conn) end(err error) {
	hc.mu.Lock()
	if e := hc.c.Err(); e != nil {
		hc.logEnd(e)
	}
	hc.c.Close(h2.ErrCodeNo, "closing")
	hc.flushLocked()
	if hc.werr == nil {
		hc.werr = errH2Closed
	}
	for _, st := range hc.streams {
		st.abort()
	}
	hc.mu.Unlock()
	hc.wg.Wait()
	hc.mu.Lock()
	if hc.in != nil {
		h2InPool.Put(hc.in)
		hc.in = nil
	}
	hc.c.Idle()
	hc.mu.Unlock()
}

// logEnd logs why a connection was closed by the protocol: a limit that
// held off an abuse at warn, a protocol error at debug.
func (hc *h2conn) logEnd(e *h2.Error) {
	s := hc.s
	var b [64]byte
	var ev = s.e.log.Debug()
	if e.Limit != "" {
		ev = s.e.log.Warn()
	}
	if e.Remote {
		ev = s.e.log.Debug()
	}
	ev.Bytes("client", s.peer.AppendTo(b[:0])).Str("frontend", hc.fe.name).Str("h2_error", e.Code.String()).
		Str("reason", e.Reason).Str("limit", e.Limit).Uint32("glitches", hc.c.Glitches()).
		Bool("by_client", e.Remote).Msg("h2 connection closed")
}

// killStreams closes the server connections of the streams (kill).
func (hc *h2conn) killStreams() {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	for _, st := range hc.streams {
		st.abort()
	}
}

// busy reports whether streams are in progress.
func (hc *h2conn) busy() bool {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	return hc.c.Active() > 0
}

type h2Error string

func (e h2Error) Error() string { return string(e) }

const (
	errH2Closed = h2Error("h2: connection closed")
	errH2Reset  = h2Error("h2: stream reset")
)
