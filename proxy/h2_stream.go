package proxy

import (
	"bytes"
	"io"
	"os"
	"sync"
	"time"

	"lbd/config"
	"lbd/h2"
)

// h2stream is one request stream of an HTTP/2 client connection: an
// exchange whose client side is the stream. Its endpoint's transport is
// the stream itself (pipe): reads take the request body the connection's
// reader queued, in the framing the request's head declares; writes go
// through h2.Conn.WriteH1.
type h2stream struct {
	hc *h2conn
	st *h2.Stream
	x  exchange
	ep endpoint

	// Guarded by hc.mu.
	pend    []byte // request body bytes not read yet, framed
	credits []credit
	nread   int64 // framed bytes read so far
	queued  int64 // framed bytes queued so far
	ended   bool  // the whole body is queued
	err     error // reset, or the connection is gone
	waitOut bool  // waiting for the output to drain or a window to open
	intr    bool  // interrupt: the next wait times out at once

	wake  chan struct{}
	timer *time.Timer
	rdl   int64
	wdl   int64
	start int64
}

// credit is a DATA frame's bytes, given back to the client's windows once
// the exchange has read its framed bytes up to end.
type credit struct {
	end int64
	n   int
}

var h2streamPool = sync.Pool{New: func() any {
	hs := &h2stream{wake: make(chan struct{}, 1)}
	hs.ep.pipe = hs
	return hs
}}

// h2handler receives the connection's events, with hc.mu held.
type h2handler h2conn

func (h *h2handler) Request(st *h2.Stream, q *h2.Request) {
	hc := (*h2conn)(h)
	hs := h2streamPool.Get().(*h2stream)
	hs.hc, hs.st, hs.start = hc, st, nanotime()
	hs.ep.buf, hs.ep.r, hs.ep.w = getBuf(), 0, 0
	status := q.Status
	if len(q.Head) > len(*hs.ep.buf) {
		status = 431
	}
	hs.ep.w = copy(*hs.ep.buf, q.Head)
	hs.ended = q.EndStream
	st.User = hs
	hc.streams[st] = hs
	hc.wg.Add(1)
	go hs.run(status)
}

func (h *h2handler) Data(st *h2.Stream, p []byte, end bool) {
	hs, _ := st.User.(*h2stream)
	if hs == nil {
		return
	}
	if st.Chunked() {
		hs.pend = h2.AppendChunk(hs.pend, p)
		if end {
			hs.pend = h2.AppendLastChunk(hs.pend, nil)
		}
	} else {
		hs.pend = append(hs.pend, p...)
	}
	hs.queued += int64(len(p))
	if st.Chunked() {
		hs.queued = hs.nread + int64(len(hs.pend))
	}
	if len(p) > 0 {
		hs.credits = append(hs.credits, credit{end: hs.queued, n: len(p)})
	}
	hs.ended = hs.ended || end
	hs.signal()
}

func (h *h2handler) Trailers(st *h2.Stream, fields []byte) {
	hs, _ := st.User.(*h2stream)
	if hs == nil {
		return
	}
	if st.Chunked() {
		hs.pend = h2.AppendLastChunk(hs.pend, fields)
		hs.queued = hs.nread + int64(len(hs.pend))
	}
	hs.ended = true
	hs.signal()
}

func (h *h2handler) Reset(st *h2.Stream, code h2.ErrCode, remote bool) {
	hs, _ := st.User.(*h2stream)
	if hs == nil {
		return
	}
	if hs.err == nil {
		hs.err = errH2Reset
	}
	if remote {
		// The client gave up: so does the server side, at once.
		hs.abort()
	}
	hs.signal()
}

func (h *h2handler) Writable(st *h2.Stream) {
	hc := (*h2conn)(h)
	if st != nil {
		if hs, _ := st.User.(*h2stream); hs != nil {
			hs.signal()
		}
		return
	}
	for _, hs := range hc.streams {
		if hs.waitOut {
			hs.signal()
		}
	}
}

func (h *h2handler) Response(*h2.Stream, *h2.Response) {} // client role only

func (h *h2handler) Refused(id uint32, why string) {
	hc := (*h2conn)(h)
	hc.s.fst.errReq.Add(1)
	var b [64]byte
	hc.s.e.log.Debug().Bytes("client", hc.s.peer.AppendTo(b[:0])).Str("frontend", hc.fe.name).
		Uint32("stream", id).Str("reason", why).Msg("h2 request refused")
}

// signal wakes the stream's goroutine if it waits.
func (hs *h2stream) signal() {
	select {
	case hs.wake <- struct{}{}:
	default:
	}
}

// abort closes the stream's server connection, if any, so that its
// exchange stops waiting on it; with hc.mu held.
func (hs *h2stream) abort() {
	if hs.err == nil {
		hs.err = errH2Closed
	}
	if c := hs.x.upc.Load(); c != nil {
		c.Close()
	}
	hs.signal()
}

// run is the stream's exchange.
func (hs *h2stream) run(status int) {
	hc := hs.hc
	s := hc.s
	x := &hs.x
	x.session, x.cli, x.up = s, &hs.ep, nil
	x.fe = s.ln.fe.Load()
	if x.fe.mode != config.ModeHTTP {
		x.fe = hc.fe // the address became a tcp frontend's: finish with the old one
	}
	t := getTxn()
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
	putTxn(t)
	if u := x.up; u != nil {
		x.up = nil
		u.srv.putIdle(u, nanotime())
	}
	x.upc.Store(nil)

	hc.mu.Lock()
	hc.c.FinishH1(hs.st, ok)
	hc.c.Consumed(hs.st, hs.unread())
	hc.c.Release(hs.st)
	delete(hc.streams, hs.st)
	hc.lastEnd = nanotime()
	hc.flushLocked()
	if hc.c.Active() == 0 {
		hc.wakeReader()
	}
	hs.reset()
	hc.mu.Unlock()
	hc.wg.Done()
	h2streamPool.Put(hs)
}

// unread is the DATA bytes queued and never read, to give back to the
// connection window.
func (hs *h2stream) unread() int {
	n := 0
	for _, c := range hs.credits {
		n += c.n
	}
	return n
}

// reset makes the stream ready for the pool; with hc.mu held.
func (hs *h2stream) reset() {
	hs.ep.release()
	hs.ep.rdl, hs.ep.wdl = 0, 0
	hs.st.User = nil
	pend := hs.pend[:0]
	if cap(pend) > 256<<10 {
		pend = nil
	}
	*hs = h2stream{wake: hs.wake, timer: hs.timer, pend: pend, credits: hs.credits[:0], ep: endpoint{pipe: hs}, x: exchange{}}
	select {
	case <-hs.wake:
	default:
	}
}

// wait waits for a signal until the deadline (0: none); false on timeout.
// Called with hc.mu held, which it releases while waiting.
func (hs *h2stream) wait(deadline int64) bool {
	if hs.intr {
		hs.intr = false
		return false
	}
	var tc <-chan time.Time
	if deadline > 0 {
		d := time.Duration(deadline - nanotime())
		if d <= 0 {
			return false
		}
		if hs.timer == nil {
			hs.timer = time.NewTimer(d)
		} else {
			hs.timer.Reset(d)
		}
		tc = hs.timer.C
	}
	hs.hc.mu.Unlock()
	ok := true
	select {
	case <-hs.wake:
	case <-tc:
		ok = false
	}
	if tc != nil && ok && !hs.timer.Stop() {
		select {
		case <-hs.timer.C:
		default:
		}
	}
	hs.hc.mu.Lock()
	if hs.intr {
		hs.intr = false
		return false
	}
	return ok
}

// The pipe transport of the stream's endpoint.

func (hs *h2stream) setReadDeadline(at int64)  { hs.rdl = at }
func (hs *h2stream) setWriteDeadline(at int64) { hs.wdl = at }

func (hs *h2stream) interrupt() {
	hs.hc.mu.Lock()
	hs.intr = true
	hs.signal()
	hs.hc.mu.Unlock()
}

// read reads request body bytes.
func (hs *h2stream) read(b []byte, mode readMode) (int, error) {
	hc := hs.hc
	hc.mu.Lock()
	defer hc.mu.Unlock()
	for {
		if len(hs.pend) > 0 {
			n := copy(b, hs.pend)
			hs.pend = hs.pend[:copy(hs.pend, hs.pend[n:])]
			hs.nread += int64(n)
			given := 0
			k := 0
			for ; k < len(hs.credits) && hs.credits[k].end <= hs.nread; k++ {
				given += hs.credits[k].n
			}
			if k > 0 {
				hs.credits = hs.credits[:copy(hs.credits, hs.credits[k:])]
				hc.c.Consumed(hs.st, given)
				hc.flushLocked()
			}
			return n, nil
		}
		switch {
		case hs.err != nil:
			return 0, hs.err
		case hs.ended:
			return 0, io.EOF
		case mode == readNoWait:
			return 0, errWouldBlock
		}
		if !hs.wait(hs.rdl) {
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// write sends response bytes (an HTTP/1.1 message) as frames, waiting for
// flow-control windows and for the output to drain.
func (hs *h2stream) write(p []byte) error {
	hc := hs.hc
	hc.mu.Lock()
	defer hc.mu.Unlock()
	for len(p) > 0 {
		if hs.err != nil {
			return hs.err
		}
		if hc.werr != nil {
			return hc.werr
		}
		n, err := hc.c.WriteH1(hs.st, p)
		p = p[n:]
		hc.flushLocked()
		if err != nil {
			return err
		}
		if len(p) == 0 || n > 0 {
			continue
		}
		blocked := hc.c.Blocked(hs.st) && hc.c.Pending() == 0
		hs.waitOut = true
		ok := hs.wait(hs.wdl)
		hs.waitOut = false
		if !ok {
			if blocked && hs.err == nil && hc.werr == nil {
				hs.logStall()
			}
			return os.ErrDeadlineExceeded
		}
	}
	return nil
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
