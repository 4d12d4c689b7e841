package proxy

import (
	"errors"
	"sync/atomic"
	"time"

	"lbd/config"
	"lbd/h1"
)

// idleHandoff is how long a keep-alive connection waits for its next
// request on the goroutine that served the previous one. Past it the
// connection is parked (park_linux.go): no goroutine until bytes arrive,
// so thousands of idle connections cost no stacks. A busy connection,
// whose next request comes sooner, never pays for the switch; a slow one
// pays for it at each request, unless it comes back within maxHandoff:
// see handoffFor.
const idleHandoff = 100 * time.Millisecond

// maxHandoff bounds the longer waits of handoffFor.
const maxHandoff = 5 * time.Second

// handoffFor is how long a connection resumed from the parker after idle
// (its bytes came that long after its last response, or after its accept
// for a first request) waits on its goroutine from then on: twice that,
// within [idleHandoff, maxHandoff], so that a client with a steady pace (a
// request a second) is parked once and then served as a busy one.
// Parking and resuming at every request cost about 100 µs of CPU a
// request (the descriptor let go of and wrapped again, profiled; still
// 56 µs more than waiting on the goroutine once the wrapping became an
// *os.File): ten thousand connections at a request a second each took a
// whole CPU, and their requests waited a second (HAProxy, whose idle
// connections stay in its poller: p50 0.3 ms). Such a connection holds a
// goroutine between its requests; one idle past the wait is parked as
// any other.
func handoffFor(idle time.Duration) time.Duration {
	if idle > maxHandoff {
		return idleHandoff
	}
	return min(max(2*idle, idleHandoff), maxHandoff)
}

// handoffGrid rounds the end of the short wait before a hand-off.
const handoffGrid = 16 * time.Millisecond

// serveHTTP serves the requests of one client connection in order
// (pipelined requests wait in the buffer for their turn). It returns true
// when it handed the connection over to a new goroutine.
func (s *session) serveHTTP() (handedOff bool) {
	// t serves the connection's requests in turn, emptied between them;
	// it goes back to the pool when the connection is parked or ends.
	var t *txn
	defer func() {
		if t != nil {
			putTxn(t)
		}
	}()
	for {
		fe := s.ln.fe.Load()
		if fe.mode != config.ModeHTTP {
			return false // the address now belongs to a tcp frontend
		}
		s.fe = fe
		first := s.reqs == 0
		idleFrom := s.accepted
		if !first {
			idleFrom = s.lastEnd
		}
		if s.cli.buf != nil {
			s.cli.consume(h1.SkipLeadingCRLF(s.cli.data()))
		}
		if s.cli.buffered() == 0 {
			if t != nil {
				// No head waits: the out buffer (bufSize) goes back while
				// the client thinks, as before the txn was kept, so that
				// ten thousand clients waiting at once after a burst do
				// not each hold one; the txn (2.6 KB) stays for a client
				// back within safeWait (waitRequest, thinking).
				t.dropOut()
			}
			switch s.waitRequest(fe, first, idleFrom, &t) {
			case waitClosed:
				return false
			case waitHandoff:
				s.x.releaseUpstream(s.lastEnd)
				if t != nil {
					putTxn(t) // a parked connection holds none
					t = nil
				}
				if !s.e.parker.park(s, s.idleDeadline(fe, first, idleFrom)) {
					sessionWorkers.run(s.resume)
				}
				return true
			case waitTimeout:
				s.begin(fe).requestTimeout(idleFrom)
				return false
			}
		}
		if first && s.wantsH2(fe) {
			s.startH2(fe)
			return s.serveH2()
		}
		x := s.begin(fe)
		if t == nil {
			t = getTxn()
		}
		t.tIdle = idleFrom
		keep := false
		if x.readRequest(t, first) {
			keep = x.handleRequest(t)
		}
		if t.tEnd == 0 {
			t.tEnd = nanotime()
		}
		if !t.silent {
			x.account(t)
			x.logHTTP(t)
		}
		s.lastEnd = t.tEnd
		t.reset()
		s.reqs++
		if !keep || s.draining() || s.killed.Load() {
			return false
		}
		s.cli.releaseIfEmpty()
	}
}

// releaseUpstream gives the session's server connection back to its
// server's idle list when the client is let go of (parked) or thinks
// (thinking): it is free for others then, unless it speaks for this
// client (send_proxy). A client back within safeWait finds it still held
// by its session.
func (x *exchange) releaseUpstream(now int64) {
	if x.up != nil && !x.up.private {
		x.up.srv.putIdle(x.up, now)
		x.up = nil
		x.upc.Store(nil)
	}
}

// thinking is for a client still quiet safeWait after its response, for
// whom the session's goroutine waits on: what it holds for its next
// request goes back for others, so that ten thousand clients sending a
// request a second share the few their requests need at once instead of
// holding one each (measured with 9,970 such clients: 9,355 server
// connections, two descriptors a client, a connect for each client's
// first request, and 6.6 KB of transaction and heads each). The server
// connection goes to the idle list, where the next request of any client
// (this one's too) takes it; one this session reused without a look
// (unchecked) stays, as putIdle would close it: it may go to no other
// client, and a client back soon keeps it as before. The transaction, if
// kept is not nil, goes to its pool.
func (s *session) thinking(kept **txn) {
	if u := s.x.up; u != nil && !u.unchecked {
		s.x.releaseUpstream(nanotime())
	}
	if kept != nil && *kept != nil {
		putTxn(*kept)
		*kept = nil
	}
}

// account adds a finished request to the frontend, backend and server
// counters.
func (s *exchange) account(t *txn) {
	s.fst.count(t.status, t.bytesIn, t.bytesOut)
	if t.be != nil {
		t.be.st.count(t.status, t.bytesIn, t.bytesOut)
	} else if t.status >= 400 && t.status != 503 {
		s.fst.errReq.Add(1)
	} else if t.status == 503 {
		s.fst.denied.Add(1)
	}
	if t.srv != nil && t.tC0 != 0 {
		c := &t.srv.hs.Counters
		c.BytesIn.Add(uint64(t.bytesIn))
		c.BytesOut.Add(uint64(t.bytesOut))
	}
}

// requestTimeout answers 408 to a connection whose first request never
// came.
func (s *exchange) requestTimeout(idleFrom int64) {
	t := getTxn()
	t.tIdle, t.tFirst = idleFrom, nanotime()
	s.fail(t, 408, 'c', 'R')
	t.tEnd = t.tFirst
	s.account(t)
	s.logHTTP(t)
	putTxn(t)
}

// resume continues a session on a new goroutine (see idleHandoff). It
// waits from a shallow frame, so that the goroutine's stack stays small
// (and shrinks at the next GC) while the connection is idle.
func (s *session) resume() {
	s.noHandoff = true
	if err := s.reattach(); err != nil || s.killed.Load() {
		s.end() // killed while it was wrapped again: kill saw no conn
		return
	}
	if s.h2 != nil {
		s.resumeH2()
		return
	}
	first := s.reqs == 0
	idleFrom := s.accepted
	if !first {
		idleFrom = s.lastEnd
	}
	s.handoffAfter = handoffFor(time.Duration(nanotime() - idleFrom))
	switch s.waitRequest(s.fe, first, idleFrom, nil) {
	case waitGot:
		if s.serveHTTP() {
			return
		}
	case waitTimeout:
		s.begin(s.fe).requestTimeout(idleFrom)
	}
	s.end()
}

// resumeH2 is resume for an HTTP/2 connection.
func (s *session) resumeH2() {
	hc := s.h2
	switch s.waitRequest(hc.fe, false, hc.lastEnd, nil) {
	case waitGot:
		if s.serveH2() {
			return
		}
	default:
		hc.closeIdle()
		hc.end()
	}
	s.end()
}

// testHookSkippedWait, when a test sets it, runs before a wait for the
// next request that skips its read (waitRequest).
var testHookSkippedWait atomic.Pointer[func(*session)]

type waitOutcome uint8

const (
	waitGot     waitOutcome = iota // request bytes are buffered
	waitClosed                     // closed, idle timeout or drained: close silently
	waitTimeout                    // first request never came: 408
	waitHandoff                    // idle past idleHandoff: continue on a new goroutine
)

// idleDeadline is when the wait for the next request ends.
func (s *session) idleDeadline(fe *frontend, first bool, idleFrom int64) int64 {
	var deadline int64
	if first {
		deadline = idleFrom + int64(fe.t.HTTPRequest)
	} else {
		to := fe.t.HTTPKeepAlive
		if to <= 0 {
			to = fe.t.HTTPRequest
		}
		deadline = idleFrom + int64(to)
	}
	if fe.t.Client > 0 && idleFrom+int64(fe.t.Client) < deadline {
		deadline = idleFrom + int64(fe.t.Client)
	}
	return deadline
}

// waitRequest waits, holding no buffer, for the first bytes of the next
// request: until http_keep_alive after a response, or http_request for
// the first request of a connection (then a timeout answers 408). A
// client still quiet safeWait after its response lets go of what it
// holds for the next request (thinking): its server connection and the
// transaction in *kept, if any.
func (s *session) waitRequest(fe *frontend, first bool, idleFrom int64, kept **txn) waitOutcome {
	deadline := s.idleDeadline(fe, first, idleFrom)
	dl, handoff := deadline, false
	after := max(s.handoffAfter, idleHandoff)
	if !s.noHandoff && idleFrom+int64(after) < deadline {
		// On the grid: the waits of a busy connection share a deadline,
		// and readRequest sets none when the head came whole, so that
		// the socket's deadline is left alone from one request to the
		// next (setting it reads the clock twice and moves the poller's
		// timer: about 2% of a keep-alive request's CPU, profiled).
		dl, handoff = onGrid(idleFrom+int64(after), handoffGrid), true
	}
	s.noHandoff = false
	// After a response on a drained socket the next request cannot be
	// there yet: wait for it without a read that would fail (fillWait).
	// Such a wait misses bytes whose readiness the poller noted just
	// before it began (see skipReads), so it is bounded by safeWait, on
	// the hand-off's grid (the deadline of a busy connection still moves
	// once per step): a lost readiness costs at most that, not the whole
	// wait for the hand-off (measured: a few connections of each wrk run
	// waited 100-117 ms).
	skipped := handoff && !first && s.cli.mayWait()
	wdl := dl
	if skipped {
		wdl = min(dl, onGrid(idleFrom+int64(safeWait), handoffGrid))
	}
	s.cli.readDeadline(wdl)
	s.setIdle(first)
	if !first && s.draining() {
		// Checked after going idle: a drain either sees us idle and kicks,
		// or we see it here.
		s.setActive()
		return waitClosed
	}
	if h := testHookSkippedWait.Load(); skipped && h != nil {
		(*h)(s)
	}
	n, err := s.cli.readIdleWait(skipped)
	if skipped && err != nil && isTimeout(err) {
		// Before waiting on, a plain look: bytes there at once were missed.
		s.cli.readDeadline(deadline)
		if m, _ := s.cli.readIdleNoWait(); m > 0 {
			s.cli.lostReadiness(wdl)
			n, err = m, nil
		} else if wdl < dl {
			// Nothing was lost: wait on until the hand-off. The deadline
			// is set before the look at the state, so that a kick either
			// comes after it (and its deadline stands) or is seen here.
			s.thinking(kept)
			s.cli.readDeadline(dl)
			if s.state.Load() != sKicked {
				n, err = s.cli.readIdle()
			}
		}
	}
	if n > 0 {
		s.cli.answeredOwn()
	}
	kicked := !s.setActive()
	if kicked && err != nil && isTimeout(err) {
		// A request may have arrived as we were woken: serve it (with a
		// close) rather than reset it.
		s.cli.readDeadline(nanotime() + int64(time.Millisecond))
		n, err = s.cli.readIdle()
	}
	switch {
	case err == nil && n > 0:
		return waitGot
	case kicked || !isTimeout(err):
		return waitClosed
	case handoff:
		return waitHandoff
	case first:
		return waitTimeout
	}
	return waitClosed
}

// readRequest reads the rest of a request head whose first bytes are
// buffered and parses it. On failure it has answered the client (400,
// 408, 414, 431...) or found the connection closed, and returns false.
func (s *exchange) readRequest(t *txn, first bool) bool {
	fe := s.fe
	headDeadline := s.accepted + int64(fe.t.HTTPRequest)
	t.tFirst = nanotime()
	t.tHead = t.tFirst
	if !first {
		headDeadline = t.tFirst + int64(fe.t.HTTPRequest)
	}
	// The deadline is set only if the head must be read on: a head that
	// came whole (most do) needs none, and whatever reads the client next
	// arms its own (armRead), the socket's deadline being at most the
	// wait's (waitRequest).
	armed := false
	scan := 0
	for {
		if scan == 0 {
			s.cli.consume(h1.SkipLeadingCRLF(s.cli.data()))
		}
		if s.cli.buffered() > 0 {
			end, next := h1.HeadEnd(s.cli.data(), scan)
			if end > 0 {
				t.headLen = end
				break
			}
			scan = next
		}
		if !armed {
			s.cli.readDeadline(headDeadline)
			armed = true
		}
		_, err := s.cli.fill()
		if err == nil {
			continue
		}
		switch {
		case errors.Is(err, errBufferFull):
			if indexByte(s.cli.data(), '\n') < 0 {
				s.fail(t, 414, 'P', 'R')
			} else {
				s.fail(t, 431, 'P', 'R')
			}
		case isTimeout(err):
			s.fail(t, 408, 'c', 'R')
		default:
			t.setTerm('C', 'R') // the client left mid-request
			t.status = 400
			t.captureLine(s.cli.data())
		}
		return false
	}
	if armed {
		t.tHead = nanotime() // else the head was there at tFirst
	}
	raw := s.cli.data()[:t.headLen]
	t.captureLine(raw)
	if e := t.req.ParseRequest(raw); e != h1.OK {
		var b [64]byte
		s.e.log.Debug().Bytes("client", s.peer.AppendTo(b[:0])).Str("error", e.String()).Msg("bad request")
		s.fail(t, e.Status(), 'P', 'R')
		return false
	}
	s.captureRequest(t)
	t.bytesIn = int64(t.headLen)
	return true
}

// captureLine keeps the request line for the access log, truncated.
func (t *txn) captureLine(raw []byte) {
	end := indexByte(raw, '\n')
	if end < 0 {
		end = len(raw)
	}
	if end > 0 && raw[end-1] == '\r' {
		end--
	}
	if end > 1024 {
		end = 1024
	}
	t.reqLine = append(t.reqLine[:0], raw[:end]...)
}

// handleRequest forwards one parsed request and its response. It returns
// whether the client connection may carry another request.
func (s *exchange) handleRequest(t *txn) bool {
	fe := s.fe
	req := &t.req
	fe.st.reqs.Add(1)
	if done, keep := s.plainRequest(t); done { // ACME HTTP-01, redirect to https (tls_http.go)
		return keep
	}
	var be *backend
	if fe.pol != nil {
		if done, keep := s.requestPolicy(t); done {
			return keep
		}
		be = s.policyBackend(t)
	} else {
		be = fe.selectBackend(req)
	}
	if be == nil {
		s.fail(t, 503, 'P', 'R')
		return false
	}
	t.be = be
	maxInt64(&be.st.max, be.st.cur.Add(1))
	be.st.total.Add(1)
	defer be.st.cur.Add(-1)

	fr, bodyLen := req.RequestFraming()
	var target *server
	if be.cookie != nil {
		target, t.ck = be.cookie.lookup(req, be, t.tHead/1e9)
		if target != nil && !target.hs.AcceptsPersistent() {
			target = nil
		}
	}
	pr := &t.pr // in the pooled txn: a local would escape to the heap
	*pr = pickReq{client: s.peer.Addr(), req: req}
	srv, qr := s.assign(t, be, target, pr)
	if qr != queueGot {
		if qr == queueTimeout {
			s.fail(t, 503, 's', 'Q')
		} else {
			s.fail(t, 503, 'S', 'C')
		}
		return false
	}
	t.srv = srv
	t.direct = target != nil && srv == target
	keep := s.exchange(t, pr, fr, bodyLen)
	t.srv.release()
	return keep
}

// fail answers the client with an error page and ends the exchange.
func (s *exchange) fail(t *txn, status int, who, phase byte) {
	t.status = status
	s.linger = true
	t.setTerm(who, phase)
	page := s.fe.errors.page(status)
	if err := s.cli.write(page, nanotime(), s.fe.t.Client); err == nil {
		t.bytesOut += int64(len(page))
	}
}
