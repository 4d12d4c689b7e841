package proxy

import (
	"errors"
	"io"
	"syscall"
	"time"
)

// exchange sends the request to t.srv and relays the response. It returns
// whether the client connection may be kept for another request.
func (s *session) exchange(t *txn, pr *pickReq, fr framing, bodyLen int64) bool {
	req := &t.req
	// The body bytes that arrived with the head are sent in the same write.
	body := s.cli.data()[t.headLen:]
	var inHand int
	var cs chunkScanner
	complete := false
	switch fr {
	case fNone:
		complete = true
	case fLength:
		inHand = len(body)
		if int64(inHand) >= bodyLen {
			inHand, complete = int(bodyLen), true
		}
	case fChunked:
		n, err := cs.scan(body)
		if err != nil {
			s.fail(t, 400, 'P', 'R')
			return false
		}
		inHand, complete = n, cs.done()
	}
	t.out = getOut()
	out := s.buildRequest(t, (*t.out)[:0])
	out = append(out, body[:inHand]...)
	*t.out = out
	replay := complete && req.idempotent
	wantUpgrade := req.connUpgrade && req.upgrade >= 0 && req.minor == 1
	clientKeep := req.keepAlive()
	consumed := false

	var u *upConn
	var copier *upload
	fresh := false
	for {
		var reused bool
		u, reused = s.connect(t, pr, out, replay, fresh)
		if u == nil {
			return false
		}
		t.tC1 = nanotime()
		if !consumed {
			// The head is on its way: its bytes may now be overwritten.
			consumed = true
			s.cli.consume(t.headLen + inHand)
			pr.req = nil
			t.bytesIn = int64(t.headLen + inHand) // as received, not as rewritten
		}
		if !complete {
			copier = s.startCopier(t, u, fr, bodyLen-int64(inHand), cs)
		}
		switch s.readResponse(t, u, reused && replay && copier == nil) {
		case respRetry:
			u.close()
			s.upc.Store(nil)
			fresh = true
			continue
		case respFail:
			u.close()
			s.upc.Store(nil)
			s.stopCopier(t, copier, true)
			return false
		}
		break
	}
	t.tResp = nanotime()
	if t.resp.status == 101 {
		return s.upgrade(t, u, wantUpgrade, copier)
	}
	return s.relayResponse(t, u, clientKeep, copier)
}

// connect writes out (the request head and the body bytes at hand) to the
// request's server on a kept, idle or new connection. A failed connect is
// retried after a short pause (HAProxy's turn-around: min(connect, 1s)),
// and the last retry goes to another server (redispatch). When everything
// fails the client gets 503 and connect returns nil.
func (s *session) connect(t *txn, pr *pickReq, out []byte, replay, fresh bool) (*upConn, bool) {
	be := t.be
	maxAge := safeReuseAge
	if replay {
		maxAge = upstreamIdleMax
	}
	if t.tC0 == 0 {
		t.tC0 = t.tHead
		if t.tQ1 != 0 {
			t.tC0 = t.tQ1
		}
	}
	attempts := 0
	for {
		u, reused, err := s.upstream(t, t.srv, maxAge, fresh)
		if err == nil {
			s.upc.Store(u.ep.c)
			err = u.ep.write(out, t.tC0, be.t.Server)
			if err == nil {
				if !reused && be.observe != observeNone {
					t.srv.hs.ObserveL4(true, "")
				}
				u.uses++
				return u, reused
			}
			u.close()
			s.upc.Store(nil)
			if reused {
				// The server closed it while idle; nothing was processed.
				fresh = true
				continue
			}
		}
		if who, done := s.afterConnectError(t, pr, err, &attempts); done {
			if who == 'K' {
				t.setTerm('K', 'C')
			} else {
				s.fail(t, 503, who, 'C')
			}
			return nil, false
		}
	}
}

// afterConnectError applies HAProxy's connect rules once connecting to
// t.srv has failed with err: the failure is counted (and observed), then
// either the session gives up (done, with whom to blame: 'K' killed, 's'
// connect timeout, 'S' refused or reset) after retries failed attempts,
// or the caller tries again: the same server after a pause, or, at the
// last retry, another one (redispatch).
func (s *session) afterConnectError(t *txn, pr *pickReq, err error, attempts *int) (who byte, done bool) {
	if s.killed.Load() {
		return 'K', true
	}
	be, srv := t.be, t.srv
	srv.hs.Counters.ConnErrors.Add(1)
	if be.observe != observeNone {
		srv.hs.ObserveL4(false, connectReason(err))
	}
	*attempts++
	if *attempts > be.cfg.Retries {
		if isTimeout(err) {
			return 's', true
		}
		return 'S', true
	}
	srv.hs.Counters.Retries.Add(1)
	t.retries++
	if *attempts == be.cfg.Retries && s.redispatch(t, pr) {
		return 0, false
	}
	turnAround(be.t.Connect)
	return 0, false
}

// turnAround pauses before retrying a server that refused a connection,
// as HAProxy does: min(timeouts.connect, 1s).
func turnAround(connect time.Duration) {
	if connect > time.Second || connect <= 0 {
		connect = time.Second
	}
	time.Sleep(connect)
}

// upstream returns a connection to srv: the session's own, an idle one no
// older than maxAge, or a new one.
func (s *session) upstream(t *txn, srv *server, maxAge time.Duration, fresh bool) (*upConn, bool, error) {
	now := t.tC0
	if u := s.up; u != nil {
		s.up = nil
		if !fresh && u.srv == srv && u.addr == srv.address() {
			return u, true, nil
		}
		if fresh && u.srv == srv {
			u.close()
		} else {
			u.srv.putIdle(u, now)
		}
	}
	if !fresh {
		if u := srv.getIdle(now, maxAge); u != nil {
			return u, true, nil
		}
	}
	u, err := srv.dial(s.e.ctx, t.be.t.Connect)
	return u, false, err
}

// redispatch moves the request to another server for its last retry.
func (s *session) redispatch(t *txn, pr *pickReq) bool {
	old := t.srv
	pr.exclude = old
	srv, _ := t.be.bal.pick(pr)
	pr.exclude = nil
	if srv == nil || srv == old || !srv.tryAcquire(nanotime()) {
		return false
	}
	old.hs.Counters.Redispatch.Add(1)
	old.release()
	t.srv = srv
	t.direct = false
	return true
}

// assign finds a server with a free slot, queueing when all are busy.
func (s *session) assign(t *txn, be *backend, target *server, pr *pickReq) (*server, queueResult) {
	for round := 0; round < 8; round++ {
		if target != nil {
			if target.hs.Counters.Queued.Load() == 0 && target.tryAcquire(t.tHead) {
				return target, queueGot
			}
			srv, qr := s.queue(t, be, target, pr)
			if qr != queueRedispatch {
				return srv, qr
			}
			target = nil // its server left: balance instead
			continue
		}
		srv, any := be.bal.pick(pr)
		if srv == nil && !any {
			return nil, queueNoServer
		}
		if srv != nil && srv.tryAcquire(t.tHead) {
			return srv, queueGot
		}
		var bound *server
		if srv != nil && be.hashed {
			bound = srv // a hash maps to that server: wait for it
		}
		got, qr := s.queue(t, be, bound, pr)
		if qr != queueRedispatch {
			return got, qr
		}
	}
	return nil, queueNoServer
}

func (s *session) queue(t *txn, be *backend, srv *server, pr *pickReq) (*server, queueResult) {
	if t.tQ0 == 0 {
		t.tQ0 = nanotime()
	}
	if srv != nil {
		t.srvQueue = srv.hs.Counters.Queued.Load()
	}
	t.beQueue = be.st.qlen.Load()
	got, qr := be.waitSlot(srv, pr, be.t.Queue)
	t.tQ1 = nanotime()
	return got, qr
}

type respOutcome uint8

const (
	respOK    respOutcome = iota
	respRetry             // the kept connection was dead: send again on a new one
	respFail              // the client has its error response
)

// readResponse reads the server's final response head (or 101), relaying
// interim 1xx responses to HTTP/1.1 clients (100 Continue, 103).
func (s *session) readResponse(t *txn, u *upConn, canRetry bool) respOutcome {
	be := t.be
	interim := false
	for {
		got, err := s.readResponseHead(t, u)
		if err == nil {
			st := t.resp.status
			if st >= 200 || st == 101 {
				return respOK
			}
			interim = true
			if t.req.minor == 1 {
				o := s.buildResponse(t, (*t.out)[:0], true, false, false)
				*t.out = o
				if err := s.cli.write(o, nanotime(), s.fe.t.Client); err != nil {
					t.setTerm('C', 'H')
					return respFail
				}
				t.bytesOut += int64(len(o))
			}
			u.ep.consume(t.resp.end())
			continue
		}
		if got == 0 && canRetry && !interim && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			return respRetry
		}
		if s.killed.Load() {
			t.setTerm('K', 'H')
			return respFail
		}
		srv := t.srv
		var pe parseErr
		switch {
		case errors.As(err, &pe) || errors.Is(err, errBufferFull):
			srv.hs.Counters.RespErrors.Add(1)
			if be.observe != observeNone {
				srv.hs.ObserveL7(false, "Invalid http response")
			}
			s.fail(t, 502, 'P', 'H')
		case isTimeout(err):
			if be.observe != observeNone {
				srv.hs.ObserveL7(false, "Read timeout")
			}
			s.fail(t, 504, 's', 'H')
		default:
			srv.hs.Counters.RespErrors.Add(1)
			if be.observe != observeNone {
				srv.hs.ObserveL7(false, "Connection closed before the response")
			}
			s.fail(t, 502, 'S', 'H')
		}
		return respFail
	}
}

// readResponseHead reads one response head into t.resp. got counts the
// bytes received, to tell a dead kept connection (nothing at all) apart.
func (s *session) readResponseHead(t *txn, u *upConn) (got int, err error) {
	u.ep.hold()
	got = u.ep.buffered()
	scan := 0
	now := t.tC1
	for {
		if u.ep.buffered() > 0 {
			end, next := headEnd(u.ep.data(), scan)
			if end > 0 {
				if e := t.resp.parseResponse(u.ep.data()[:end]); e != errNone {
					return got, e
				}
				return got, nil
			}
			scan = next
		}
		var n int
		var err error
		if now != 0 && got == 0 {
			// Nothing can be there yet: the request was just sent.
			n, err = u.ep.fillWait(now, t.be.t.Server)
		} else {
			u.ep.armRead(nanotime(), t.be.t.Server)
			n, err = u.ep.fill()
		}
		now = 0
		got += n
		if err != nil {
			return got, err
		}
	}
}

func (e parseErr) Error() string { return e.String() }

// end is the length of the parsed head.
func (m *msgHead) end() int { return len(m.raw) }
