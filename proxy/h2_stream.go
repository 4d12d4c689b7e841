package proxy

import (
	"bytes"
	"sync"

	"lbd/config"
	"lbd/h2"
)

// h2stream is one request stream of an HTTP/2 client connection: an
// exchange whose client side is the stream (its endpoint's transport is
// the stream's pipe).
type h2stream struct {
	h2pipe
	hc     *h2conn
	x      exchange
	ep     endpoint
	start  int64
	status int // the error status to answer (431), 0 to serve the request
	// t is the stream's transaction, kept emptied with the pooled stream
	// (one pool round trip a stream instead of three).
	t *txn

	logStallFn func() // hs.logStall, for h2pipe.stall
	runFn      func() // runs the stream on a worker (streamWorkers), bound once
}

var h2streamPool = sync.Pool{New: func() any {
	hs := &h2stream{}
	hs.ep.pipe = &hs.h2pipe
	hs.owner = hs
	hs.logStallFn = hs.logStall // bound once: a method value allocates
	return hs
}}

// h2handler receives a client connection's events, with hc.mu held.
type h2handler h2conn

func (h *h2handler) Request(st *h2.Stream, q *h2.Request) {
	hc := (*h2conn)(h)
	hs := h2streamPool.Get().(*h2stream)
	hs.hc, hs.start = hc, nanotime()
	hs.init(&hc.h2link, st)
	hs.stall = hs.logStallFn
	hs.ep.buf, hs.ep.r, hs.ep.w = getBuf(), 0, 0
	status := q.Status
	if len(q.Head) > len(*hs.ep.buf) {
		status = 431
	}
	// The head is the endpoint's first bytes, as a client's would be.
	hs.ep.w = copy(*hs.ep.buf, q.Head)
	hs.ended = q.EndStream
	hs.status = status
	hc.wg.Add(1)
	if hs.runFn == nil {
		hs.runFn = func() { hs.run(hs.status) } // not in New: run puts hs back in the pool
	}
	streamWorkers.run(hs.runFn)
}

func (h *h2handler) Response(*h2.Stream, *h2.Response) {} // client role only

func (h *h2handler) Data(st *h2.Stream, p []byte, end bool) { (*h2conn)(h).onData(st, p, end) }

func (h *h2handler) Trailers(st *h2.Stream, f []byte) { (*h2conn)(h).onTrailers(st, f) }

func (h *h2handler) Writable(st *h2.Stream) { (*h2conn)(h).onWritable(st) }

func (h *h2handler) Reset(st *h2.Stream, code h2.ErrCode, remote bool) {
	p := pipeOf(st)
	if p == nil {
		return
	}
	p.fail(errH2Reset)
	if remote && p.owner != nil {
		// The client gave up: so does the server side, at once.
		p.owner.abortServer()
	}
}

func (h *h2handler) Refused(id uint32, why string) {
	hc := (*h2conn)(h)
	hc.s.fst.errReq.Add(1)
	var b [64]byte
	hc.s.e.log.Debug().Bytes("client", hc.s.peer.AppendTo(b[:0])).Str("frontend", hc.fe.name).
		Uint32("stream", id).Str("reason", why).Msg("h2 request refused")
}

// abortServer stops the exchange's work on its server connection, if any.
func (hs *h2stream) abortServer() {
	if u := hs.x.upc.Load(); u != nil {
		u.abort()
	}
}

// run is the stream's exchange.
func (hs *h2stream) run(status int) {
	hc := hs.hc
	s := hc.s
	x := &hs.x
	x.session, x.cli, x.up, x.linger, x.resetCode = s, &hs.ep, nil, false, 0
	x.fe = s.ln.fe.Load()
	if x.fe.mode != config.ModeHTTP {
		x.fe = hc.fe // the address became a tcp frontend's: finish with the old one
	}
	if hs.t == nil {
		hs.t = getTxn()
	}
	t := hs.t
	t.tIdle = hs.start
	switch {
	case status != 0:
		t.tFirst, t.tHead = hs.start, hs.start
		t.reqLine = append(t.reqLine[:0], "<BADREQ> HTTP/2.0"...)
		x.fe.st.reqs.Add(1)
		x.fail(t, status, 'P', 'R')
	case x.readRequest(t, false):
		if bytes.HasSuffix(t.reqLine, []byte(" HTTP/1.1")) {
			copy(t.reqLine[len(t.reqLine)-3:], "2.0")
		}
		x.handleRequest(t)
	}
	if t.tEnd == 0 {
		t.tEnd = nanotime()
	}
	x.account(t)
	x.logHTTP(t)
	ok := t.term[0] == '-' && t.term[1] == '-'
	t.reset()
	u := x.up
	x.up = nil
	x.upc.Store(nil)

	hc.mu.Lock()
	if u != nil {
		hc.keepOwnLocked(u)
	}
	st := hs.st
	if x.resetCode != 0 {
		hc.c.Reset(st, x.resetCode)
	}
	hc.c.FinishH1(st, ok)
	hc.c.Consumed(st, hs.unread())
	hc.c.Release(st)
	hc.lastEnd = nanotime()
	hs.clear()
	hc.flushLocked()
	if hc.c.Active() == 0 {
		hc.wakeReader()
	}
	hc.mu.Unlock()
	hs.ep.release()
	hs.ep = endpoint{pipe: &hs.h2pipe}
	hs.hc = nil
	hs.owner = hs
	hc.wg.Done()
	h2streamPool.Put(hs)
}

// logStall reports a stream whose client kept its flow-control window
// closed for timeouts.client (a zero-window stall).
func (hs *h2stream) logStall() {
	s := hs.hc.s
	var b [64]byte
	s.e.log.Warn().Bytes("client", s.peer.AppendTo(b[:0])).Str("frontend", hs.hc.fe.name).
		Uint32("stream", hs.st.ID).Str("limit", "timeouts.client").
		Msg("h2 stream reset: the client kept its flow-control window closed")
}
