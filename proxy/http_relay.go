package proxy

import (
	"errors"
	"io"
	"time"

	"lbd/h1"
)

// relayResponse sends the response head and body to the client and
// decides the fate of both connections.
func (s *exchange) relayResponse(t *txn, u *upConn, clientKeep bool, copier *upload) bool {
	resp := &t.resp
	fr, remain := resp.ResponseFraming(t.req.IsHead)
	dechunk := fr == h1.FramingChunked && t.req.Minor == 0
	// An upload that is over may not have said so yet: give it a moment
	// before deciding that the connection cannot be kept.
	uploading := copier != nil && !copier.wait(uploadSettle)
	keep := clientKeep && fr != h1.FramingClose && !dechunk && !uploading && !s.draining()
	out := s.buildResponse(t, (*t.out)[:0], keep, dechunk, false)
	u.ep.consume(t.respHeadLen())

	// Body bytes that came with the head go out in the same write.
	var cs h1.Chunked
	complete := fr == h1.FramingNone
	short := false
	if !complete && u.ep.buffered() > 0 {
		data := u.ep.data()
		var k int
		switch fr {
		case h1.FramingLength:
			k = len(data)
			if int64(k) >= remain {
				k, complete = int(remain), true
			}
			remain -= int64(k)
			out = append(out, data[:k]...)
		case h1.FramingChunked:
			var err error
			out, k, err = cs.Transcode(out, data, dechunk)
			if err != nil {
				s.badResponseBody(t, err)
				s.fail(t, 502, 'P', 'H')
				u.close()
				s.upc.Store(nil)
				s.stopCopier(t, copier, true)
				return false
			}
			complete = cs.Done()
			short = !complete && k < len(data)
		case h1.FramingClose:
			k = len(data)
			out = append(out, data...)
		}
		u.ep.consume(k)
	}
	*t.out = out
	t.status = resp.Status
	t.srv.hs.Counters.CountStatus(resp.Status)
	if t.be.observe == observeL7 {
		t.srv.hs.ObserveHTTPStatus(resp.Status)
	}
	if err := s.cli.write(out, t.tResp, s.fe.t.Client); err != nil {
		s.clientWriteFailed(t, err)
		u.close()
		s.upc.Store(nil)
		s.stopCopier(t, copier, true)
		return false
	}
	t.bytesOut += int64(len(out))
	ok := complete || s.forwardBody(t, u, fr, remain, &cs, dechunk, short)
	t.tEnd = nanotime()
	serverOK := ok && resp.KeepAlive() && !resp.Ambiguous && fr != h1.FramingClose && u.ep.buffered() == 0 && u.h2 == nil
	if copier != nil {
		if !copier.done() {
			serverOK = false
		}
		if !serverOK {
			u.close()
			s.upc.Store(nil)
		}
		if r := s.stopCopier(t, copier, !serverOK); r.err != nil {
			keep, serverOK = false, false
		}
	}
	if serverOK {
		u.ep.release()
		s.up = u
	} else {
		u.close()
		s.upc.Store(nil)
	}
	return ok && keep
}

// badResponseBody counts and logs a server's malformed chunked body.
func (s *exchange) badResponseBody(t *txn, err error) {
	t.srv.hs.Counters.RespErrors.Add(1)
	s.e.log.Debug().Str("backend", t.be.name).Str("server", t.srv.name).Err(err).Msg("bad response body")
}

func (s *exchange) clientWriteFailed(t *txn, err error) {
	if isTimeout(err) {
		t.setTerm('c', 'D')
	} else {
		t.setTerm('C', 'D')
	}
}

// forwardBody streams the rest of a response body to the client: as it
// comes for a Content-Length or close-delimited body, re-framed (or
// de-chunked) for a chunked one. short is set when the buffered bytes end
// in an incomplete trailer section, which needs more before it can go.
func (s *exchange) forwardBody(t *txn, u *upConn, fr h1.Framing, remain int64, cs *h1.Chunked, dechunk, short bool) bool {
	fe, be := s.fe, t.be
	// An HTTP/2 client's stream takes a body that is passed on as it is
	// (not chunked) in DATA frames built where its bytes were read
	// (writeFramed), without copying them.
	framed := s.cli.pipe != nil && fr != h1.FramingChunked
	for {
		if u.ep.buffered() == 0 || short {
			u.ep.armRead(nanotime(), be.t.Server)
			var err error
			if framed {
				_, err = u.ep.fillRoomy()
			} else {
				_, err = u.ep.fill()
			}
			if err != nil {
				if fr == h1.FramingClose && errors.Is(err, io.EOF) {
					return true
				}
				if isTimeout(err) {
					t.setTerm('s', 'D')
				} else {
					t.setTerm('S', 'D')
				}
				return false
			}
		}
		data := u.ep.data()
		var k int
		var w []byte
		done := false
		switch fr {
		case h1.FramingLength:
			k = len(data)
			if int64(k) >= remain {
				k, done = int(remain), true
			}
			remain -= int64(k)
			w = data[:k]
		case h1.FramingClose:
			k, w = len(data), data
		case h1.FramingChunked:
			var err error
			w, k, err = cs.Transcode((*t.out)[:0], data, dechunk)
			*t.out = w[:0]
			if err != nil {
				s.badResponseBody(t, err)
				t.setTerm('P', 'D')
				return false
			}
			done = cs.Done()
			short = !done && k < len(data)
		}
		if len(w) > 0 {
			var f []byte
			if framed {
				f = u.ep.roomy(k) // nil when the room is not there
			}
			var err error
			if f != nil {
				err = s.cli.writeFramed(f, nanotime(), fe.t.Client)
			} else {
				err = s.cli.write(w, nanotime(), fe.t.Client)
			}
			if err != nil {
				s.clientWriteFailed(t, err)
				return false
			}
			t.bytesOut += int64(len(w))
		}
		u.ep.consume(k)
		if done {
			return true
		}
	}
}

// upgrade completes a protocol switch (WebSocket): the 101 goes to the
// client and the connection becomes a tunnel with timeouts.tunnel.
func (s *exchange) upgrade(t *txn, u *upConn, copier *upload) bool {
	defer func() {
		u.close()
		s.upc.Store(nil)
	}()
	if !t.wantUpgrade || !t.upgradeAgreed() {
		t.srv.hs.Counters.RespErrors.Add(1)
		s.fail(t, 502, 'P', 'H')
		s.stopCopier(t, copier, true)
		return false
	}
	if copier != nil {
		if r := s.stopCopier(t, copier, false); r.err != nil {
			t.setTerm('C', 'H')
			return false
		}
	}
	out := s.buildResponse(t, (*t.out)[:0], false, false, true)
	u.ep.consume(t.resp.Len())
	out = append(out, u.ep.data()...)
	u.ep.consume(u.ep.buffered())
	*t.out = out
	t.status = 101
	t.srv.hs.Counters.CountStatus(101)
	if err := s.cli.write(out, nanotime(), s.fe.t.Client); err != nil {
		s.clientWriteFailed(t, err)
		return false
	}
	t.bytesOut += int64(len(out))
	if s.cli.buffered() > 0 {
		if err := u.ep.write(s.cli.data(), nanotime(), t.be.t.Server); err != nil {
			t.setTerm('S', 'D')
			return false
		}
		t.bytesIn += int64(s.cli.buffered())
		s.cli.consume(s.cli.buffered())
	}
	s.cli.release()
	u.ep.release()
	up, down, who := s.tunnel(&u.ep, t.be.t.Tunnel)
	t.bytesIn += up
	t.bytesOut += down
	t.tEnd = nanotime()
	if who != 0 {
		t.setTerm(who, 'D')
	}
	return false
}

// bodyResult is how a request body upload ended.
type bodyResult struct {
	n   int64
	err error
	who byte // 'C'/'c' client abort/timeout, 'S'/'s' server, 'P' malformed
}

// upload is a request body being streamed to the server by its own
// goroutine.
type upload struct {
	ch       chan bodyResult
	res      bodyResult
	finished bool
}

// uploadSettle is how long a complete response waits for its upload's
// goroutine to report that the body is through.
const uploadSettle = 20 * time.Millisecond

// done reports whether the upload has ended, without waiting.
func (up *upload) done() bool {
	if !up.finished {
		select {
		case up.res = <-up.ch:
			up.finished = true
		default:
		}
	}
	return up.finished
}

// wait waits up to d for the upload to end.
func (up *upload) wait(d time.Duration) bool {
	if up.done() {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case up.res = <-up.ch:
		up.finished = true
	case <-tm.C:
	}
	return up.finished
}

// startCopier streams the rest of a request body to the server while the
// response is awaited, so that 100-continue and early responses work.
func (s *exchange) startCopier(t *txn, u *upConn, fr h1.Framing, remain int64, cs *h1.Chunked) *upload {
	up := &upload{ch: make(chan bodyResult, 1)}
	fe, be := s.fe, t.be
	chunks := *cs
	go func() {
		r := s.copyBody(u, fr, remain, &chunks, fe.t.Client, be.t.Server)
		if r.err != nil && r.who != 'S' && r.who != 's' {
			// Wake the response reader: the request cannot complete.
			u.abort()
		}
		up.ch <- r
	}()
	return up
}

// copyBody streams a request body: as it comes for a Content-Length body,
// re-framed for a chunked one (h1.Chunked), whose trailer section goes
// only once it is complete and valid.
func (s *exchange) copyBody(u *upConn, fr h1.Framing, remain int64, cs *h1.Chunked, cto, sto time.Duration) bodyResult {
	var r bodyResult
	var scratch *[]byte
	if fr == h1.FramingChunked {
		scratch = getOut()
		defer putOut(scratch)
	}
	short := false
	for {
		if s.cli.buffered() == 0 || short {
			s.cli.armRead(nanotime(), cto)
			if _, err := s.cli.fill(); err != nil {
				r.err, r.who = err, 'C'
				switch {
				case isTimeout(err):
					r.who = 'c'
				case errors.Is(err, errBufferFull):
					r.who = 'P'
				}
				return r
			}
		}
		data := s.cli.data()
		var k int
		var w []byte
		done := false
		if fr == h1.FramingLength {
			k = len(data)
			if int64(k) >= remain {
				k, done = int(remain), true
			}
			remain -= int64(k)
			w = data[:k]
		} else {
			var err error
			w, k, err = cs.Transcode((*scratch)[:0], data, false)
			*scratch = w[:0]
			if err != nil {
				r.err, r.who = err, 'P'
				return r
			}
			done = cs.Done()
			short = !done && k < len(data)
		}
		if len(w) > 0 {
			if err := u.ep.write(w, nanotime(), sto); err != nil {
				r.err, r.who = err, 'S'
				if isTimeout(err) {
					r.who = 's'
				}
				return r
			}
		}
		s.cli.consume(k)
		r.n += int64(k)
		if done {
			return r
		}
	}
}

// stopCopier waits for the upload to end, interrupting it when abort is
// set (the server connection is then already closed by the caller, who
// has settled the outcome: the timeout our interrupt makes the copier see
// is no client's, and answers no 408).
func (s *exchange) stopCopier(t *txn, up *upload, abort bool) bodyResult {
	if up == nil {
		return bodyResult{}
	}
	interrupted := abort && !up.done()
	if interrupted {
		s.cli.interrupt()
	}
	if !up.finished {
		up.res = <-up.ch
		up.finished = true
	}
	r := up.res
	s.cli.rdl = -1
	t.bytesIn += r.n
	if r.err != nil && t.status == 0 && !(interrupted && r.who == 'c') {
		switch r.who {
		case 'c':
			s.fail(t, 408, 'c', 'H')
		case 'P':
			s.fail(t, 400, 'P', 'H')
		default:
			t.setTerm(r.who, 'H')
		}
	}
	if r.err != nil {
		s.linger = true
	}
	return r
}
