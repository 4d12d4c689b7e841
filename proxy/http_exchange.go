package proxy

import (
	"errors"
	"io"
	"syscall"
	"time"

	"lbd/h1"
)

// exchange sends the request to t.srv and relays the response. It returns
// whether the client connection may be kept for another request.
func (s *exchange) exchange(t *txn, pr *pickReq, fr h1.Framing, bodyLen int64) bool {
	req := &t.req
	t.wantUpgrade = req.ConnUpgrade && req.Upgrade >= 0 && req.Minor == 1
	if t.wantUpgrade {
		t.upgradeReq = appendUpgradeValues(t.upgradeReq[:0], req)
	}
	if t.out == nil {
		t.out = getOut()
	}
	out := s.buildRequest(t, (*t.out)[:0])
	// The body bytes that arrived with the head are sent in the same write.
	var cs h1.Chunked
	out, inHand, complete, ok := s.bodyInHand(t, out, fr, bodyLen, &cs)
	*t.out = out
	if !ok {
		return false
	}
	replay := complete && req.Idempotent
	clientKeep := req.KeepAlive()
	consumed := false

	var u *upConn
	var copier *upload
	fresh := false
	for {
		var reused bool
		u, reused = s.connect(t, pr, out, replay, fresh, complete)
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
			copier = s.startCopier(t, u, fr, bodyLen-int64(inHand), &cs)
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
	if t.resp.Status == 101 {
		return s.upgrade(t, u, copier)
	}
	if s.fe.pol != nil && len(s.fe.pol.Response) > 0 {
		if done, keep := s.responsePolicy(t, u, copier); done {
			return keep
		}
	}
	return s.relayResponse(t, u, clientKeep, copier)
}

// bodyInHand appends to out, after the request head, the body bytes that
// arrived with it: as they are for a Content-Length body, re-framed for a
// chunked one (h1.Chunked). It reports how many buffered bytes that took
// and whether the body is complete. A malformed chunked body is refused
// here, before any byte reaches a server (400, ok false). So is one whose
// trailer section is in hand but not yet complete: it is read whole first
// (while it fits in the buffer), so that bad trailers are refused before
// anything is forwarded too.
func (s *exchange) bodyInHand(t *txn, out []byte, fr h1.Framing, bodyLen int64, cs *h1.Chunked) ([]byte, int, bool, bool) {
	switch fr {
	case h1.FramingNone:
		return out, 0, true, true
	case h1.FramingLength:
		body := s.cli.data()[t.headLen:]
		n := len(body)
		if int64(n) >= bodyLen {
			n = int(bodyLen)
		}
		return append(out, body[:n]...), n, int64(n) == bodyLen, true
	}
	inHand := 0
	for {
		body := s.cli.data()[t.headLen+inHand:]
		o, n, err := cs.Transcode(out, body, false)
		out = o
		inHand += n
		switch {
		case err != nil:
			s.badBody(t, err, 'R')
			return out, inHand, false, false
		case cs.Done():
			return out, inHand, true, true
		case n == len(body):
			return out, inHand, false, true // the rest streams
		}
		// An incomplete trailer section: read on, without moving the head
		// the request spans point into.
		s.cli.armRead(nanotime(), s.fe.t.Client)
		if _, err := s.cli.fillInPlace(); err != nil {
			if errors.Is(err, errBufferFull) {
				return out, inHand, false, true // does not fit: it streams
			}
			s.clientReadFailed(t, err, 'R')
			return out, inHand, false, false
		}
	}
}

// badBody refuses a malformed chunked request body (400).
func (s *exchange) badBody(t *txn, err error, phase byte) {
	var b [64]byte
	s.e.log.Debug().Bytes("client", s.peer.AppendTo(b[:0])).Err(err).Msg("bad request body")
	s.fail(t, 400, 'P', phase)
}

// clientReadFailed ends a request whose client stopped sending: 408 on a
// timeout, else the client left (no response can reach it).
func (s *exchange) clientReadFailed(t *txn, err error, phase byte) {
	if isTimeout(err) {
		s.fail(t, 408, 'c', phase)
		return
	}
	t.setTerm('C', phase)
	t.status = 400
	s.linger = true
}

// appendUpgradeValues appends the protocols of the request's Upgrade
// fields, comma-separated.
func appendUpgradeValues(b []byte, req *h1.Head) []byte {
	for i := range req.Fields {
		if h := &req.Fields[i]; h.Kind == h1.KindUpgrade {
			if len(b) > 0 {
				b = append(b, ',')
			}
			b = append(b, req.Bytes(h.Value)...)
		}
	}
	return b
}

// connect writes out (the request head and the body bytes at hand) to the
// request's server on a kept, idle or new connection; on a kept or idle
// plain connection, a whole request (whole) is left to the response's
// first read to write (upConn.req, sendFill). A failed connect is
// retried after a short pause (HAProxy's turn-around: min(connect, 1s)),
// and the last retry goes to another server (redispatch). When everything
// fails the client gets 503 and connect returns nil.
func (s *exchange) connect(t *txn, pr *pickReq, out []byte, replay, fresh, whole bool) (*upConn, bool) {
	be := t.be
	if t.tC0 == 0 {
		t.tC0 = t.tHead
		if t.tQ1 != 0 {
			t.tC0 = t.tQ1
		}
	}
	attempts := 0
	for {
		u, reused, err := s.upstream(t, t.srv, replay, fresh)
		if err == nil {
			s.upc.Store(u)
			if !reused {
				err = s.sendProxyHeader(u, t.tC0, be.t.Server)
			}
			if err == nil {
				if reused && whole && u.ep.sendsInRead() {
					u.req = out // written by readResponseHead
				} else {
					err = u.ep.write(out, t.tC0, be.t.Server)
				}
			}
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
func (s *exchange) afterConnectError(t *txn, pr *pickReq, err error, attempts *int) (who byte, done bool) {
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

// upstream returns a connection to srv: the session's own, an idle one, or
// a new one. A request that cannot be replayed takes only idle connections
// younger than safeReuseAge, and peeks at the session's own first.
//
// A request that can be replayed takes the session's own connection
// without the peek (sys.stale, one system call a request): a close the
// server sent meanwhile fails the request before its response, and it is
// replayed on a new connection; bytes the server sent unasked are read as
// this client's response, and this client's only, since a connection so
// reused is marked unchecked and never goes to another (putIdle closes
// it).
func (s *exchange) upstream(t *txn, srv *server, replay, fresh bool) (*upConn, bool, error) {
	now := t.tC0
	maxAge := safeReuseAge
	if replay {
		maxAge = upstreamIdleMax
	}
	if s.up == nil && s.h2 != nil && !fresh {
		s.up = s.h2.takeOwn(srv) // an HTTP/2 client's streams share theirs
	}
	if u := s.up; u != nil {
		s.up = nil
		switch {
		case !fresh && u.srv == srv && u.addr == srv.address():
			if replay {
				u.unchecked = true
				return u, true, nil
			}
			if !u.ep.sys.stale(u.ep.c) {
				return u, true, nil
			}
			u.close() // see getIdle
		case fresh && u.srv == srv:
			u.close()
		default:
			u.srv.putIdle(u, now)
		}
	}
	if srv.isH2() {
		return srv.openH2(s.e.ctx, t.be, fresh)
	}
	if !fresh {
		if u := srv.getIdle(now, maxAge); u != nil {
			return u, true, nil
		}
	}
	u, err := srv.dial(s.e.ctx, t.be.t.Connect, s.clientSNI())
	return u, false, err
}

// redispatch moves the request to another server for its last retry.
func (s *exchange) redispatch(t *txn, pr *pickReq) bool {
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
	t.redisp = true
	return true
}

// assign finds a server with a free slot, queueing when all are busy.
func (s *exchange) assign(t *txn, be *backend, target *server, pr *pickReq) (*server, queueResult) {
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

func (s *exchange) queue(t *txn, be *backend, srv *server, pr *pickReq) (*server, queueResult) {
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
func (s *exchange) readResponse(t *txn, u *upConn, canRetry bool) respOutcome {
	be := t.be
	interim := false
	for {
		got, err := s.readResponseHead(t, u)
		if err == nil {
			st := t.resp.Status
			if st >= 200 || st == 101 {
				return respOK
			}
			interim = true
			if t.req.Minor == 1 {
				o := s.buildResponse(t, (*t.out)[:0], true, false, false)
				*t.out = o
				if err := s.cli.write(o, nanotime(), s.fe.t.Client); err != nil {
					t.setTerm('C', 'H')
					return respFail
				}
				t.bytesOut += int64(len(o))
			}
			u.ep.consume(t.resp.Len())
			continue
		}
		if got == 0 && canRetry && !interim && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			return respRetry
		}
		if s.killed.Load() {
			t.setTerm('K', 'H')
			return respFail
		}
		if errors.As(err, new(errUnsent)) {
			// The kept connection failed the write: nothing was processed
			// (as when connect's write fails), a new one takes the request.
			return respRetry
		}
		srv := t.srv
		var pe h1.Err
		var rst h2ResetError
		switch {
		case errors.As(err, &rst) && s.cli.pipe != nil:
			// An HTTP/2 server reset the stream before answering: the
			// HTTP/2 client's stream is reset with the same code (a gRPC
			// deadline or cancellation reads as such), no error page.
			srv.hs.Counters.RespErrors.Add(1)
			s.resetCode = rst.code
			t.setTerm('S', 'H')
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
func (s *exchange) readResponseHead(t *txn, u *upConn) (got int, err error) {
	got = u.ep.buffered()
	scan := 0
	now := t.tC1
	for {
		if u.ep.buffered() > 0 {
			end, next := h1.HeadEnd(u.ep.data(), scan)
			if end > 0 {
				if e := t.resp.ParseResponse(u.ep.data()[:end]); e != h1.OK {
					return got, e
				}
				s.captureResponse(t)
				return got, nil
			}
			scan = next
		}
		var n int
		var err error
		if req := u.req; req != nil {
			// The request leaves now, from inside the read (sendFill).
			u.req = nil
			n, err = u.ep.sendFill(req, now, t.be.t.Server)
		} else if now != 0 && got == 0 {
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
