package proxy

import (
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"lbd/h2"
)

// h2link is what both ends of HTTP/2 share: a connection (h2.Conn) over
// a socket, the lock that serializes everything done with it, the input
// buffer, and the combined writes. A client's connection (h2conn) and a
// connection to a server (h2up) each embed one.
type h2link struct {
	mu  sync.Mutex
	c   *h2.Conn
	ep  *endpoint     // the socket
	wto time.Duration // write inactivity timeout

	in   *[]byte // input not fed yet: in[r:w]; nil while idle
	r, w int

	writing bool   // a goroutine is writing the output
	spare   []byte // the other output buffer
	werr    error  // the connection cannot be written any more
	woken   bool   // the reader was interrupted on purpose

	pipes pipeSet
	turns outTurns
}

// outTurns gives the room in a connection's output to the streams that
// wait for it in turn (first come, first served; a stream that filled
// the room goes behind the others), so that the streams of a connection
// progress round robin. Waking every waiting stream when the output
// drained let the goroutine scheduler's order pick the ones that got the
// room, the same ones each time: with 10 streams of 100 KiB on a
// connection, the mean time per response was HAProxy's but the slowest
// took 590 ms against 130 (HAProxy's mux sends its streams in turn).
// With the link's mu held.
type outTurns struct{ q []*h2pipe }

// mine reports whether p may write now: nobody waits, or p is first.
func (t *outTurns) mine(p *h2pipe) bool { return len(t.q) == 0 || t.q[0] == p }

// join puts p at the end of the line, unless it is in it.
func (t *outTurns) join(p *h2pipe) {
	if !p.inLine {
		p.inLine = true
		t.q = append(t.q, p)
	}
}

// leave takes p out of the line; the next one is woken when there is
// room for it.
func (t *outTurns) leave(p *h2pipe) {
	if !p.inLine {
		return
	}
	p.inLine = false
	for i, q := range t.q {
		if q == p {
			copy(t.q[i:], t.q[i+1:])
			t.q[len(t.q)-1] = nil
			t.q = t.q[:len(t.q)-1]
			if i == 0 {
				t.next(p.l)
			}
			return
		}
	}
}

// rotate sends p, which wrote and wants more room, behind the others.
func (t *outTurns) rotate(p *h2pipe) {
	if len(t.q) > 0 && t.q[0] == p {
		copy(t.q, t.q[1:])
		t.q[len(t.q)-1] = p
		return
	}
	t.join(p)
}

// next wakes the first in line when the output has room, or when it
// must write the output out (nobody does).
func (t *outTurns) next(l *h2link) {
	if len(t.q) > 0 && (l.c.Pending() < l.c.OutLimit || !l.writing) {
		t.q[0].signalOut()
	}
}

// pipeSet is a link's pipes: each is found from its stream (Stream.User)
// and listed for the events that concern them all, without a map
// (assigning and deleting a map entry per stream took about 1% of an
// HTTP/2 request's CPU in profiles). With the link's mu held.
type pipeSet struct{ list []*h2pipe }

func (s *pipeSet) add(p *h2pipe) {
	p.idx = len(s.list)
	s.list = append(s.list, p)
	p.st.User = p
}

func (s *pipeSet) remove(p *h2pipe) {
	last := len(s.list) - 1
	if p.idx > last || s.list[p.idx] != p {
		return
	}
	s.list[p.idx] = s.list[last]
	s.list[p.idx].idx = p.idx
	s.list[last] = nil
	s.list = s.list[:last]
	if p.st.User == any(p) {
		p.st.User = nil
	}
}

// pipeOf is the pipe of a stream of this link, nil when it has none.
func pipeOf(st *h2.Stream) *h2pipe {
	p, _ := st.User.(*h2pipe)
	return p
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

// holdIn makes sure the link has an input buffer; with mu held.
func (l *h2link) holdIn(maxFrame uint32) {
	if l.in != nil {
		return
	}
	l.in = h2InPool.Get().(*[]byte)
	if want := h2InSize(maxFrame); len(*l.in) < want {
		b := make([]byte, want)
		l.in = &b
	}
	l.r, l.w = 0, 0
}

// dropIn gives the input buffer back; with mu held, nothing buffered.
func (l *h2link) dropIn() {
	if l.in != nil && l.r == l.w {
		if len(*l.in) == h2InPoolSize {
			h2InPool.Put(l.in)
		}
		l.in = nil
	}
}

// compact makes room for n more bytes of input.
func (l *h2link) compact(n int) {
	if l.r > 0 && len(*l.in)-l.w < n {
		l.w = copy(*l.in, (*l.in)[l.r:l.w])
		l.r = 0
	}
}

// feed gives the buffered input to the connection; with mu held.
func (l *h2link) feed() error {
	n, err := l.c.Feed((*l.in)[l.r:l.w])
	l.r += n
	if l.r == l.w {
		l.r, l.w = 0, 0
	}
	return err
}

// readMore reads the next bytes of the connection, waiting until the
// deadline (0: none). It reports false when the peer closed or the
// connection failed; an interruption (wakeReader) returns true.
func (l *h2link) readMore(deadline int64) bool {
	l.mu.Lock()
	if len(*l.in)-l.w == 0 {
		l.compact(len(*l.in))
	}
	b := (*l.in)[l.w:]
	l.mu.Unlock()
	l.ep.readDeadline(deadline)
	n, err := l.ep.read(b, readTry)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w += n
	if err != nil {
		if isTimeout(err) && l.woken {
			l.woken = false
			l.ep.rdl = -1
			return true
		}
		return n > 0
	}
	return true
}

// wakeReader interrupts the reader's wait; with mu held.
func (l *h2link) wakeReader() {
	l.woken = true
	if c := l.ep.c; c != nil {
		c.SetReadDeadline(time.Unix(1, 0))
	}
}

// flushLocked writes the output out, with mu held (released while the
// socket is written), and reports whether it wrote. One goroutine writes
// at a time; frames queued by others meanwhile go in its next write. When
// streams wait for room, the first of them takes the writing over after
// a write: the goroutine that writes is a stream's, and writing the
// others' frames for as long as they come would hold its own stream back
// (in profiles of 10 streams of 100 KiB per connection, such streams took
// up to 1.3 s where the others took 60 ms).
func (l *h2link) flushLocked() (wrote bool) {
	for !l.writing && l.werr == nil && l.c.Pending() > 0 {
		l.writing = true
		if l.c.Active() > 1 {
			// Let the other streams that are ready (their servers answered
			// in the same poll) add their frames first: one write, one TLS
			// record and one system call for all, as an event loop does.
			l.mu.Unlock()
			runtime.Gosched()
			l.mu.Lock()
		}
		b := l.c.Output(l.spare)
		l.mu.Unlock()
		err := l.ep.write(b, nanotime(), l.wto)
		l.mu.Lock()
		l.spare = b[:0]
		wrote = true
		if l.wroteOut(err) {
			return wrote
		}
	}
	return wrote
}

// wroteOut ends a write to the socket, with mu held again: it wakes the
// streams that wait for a window (or for all when err ends the link) and
// the first in line, and reports whether there is one (it writes what is
// left, if anything).
func (l *h2link) wroteOut(err error) (handed bool) {
	l.writing = false
	if err != nil {
		l.werr = err
		for _, p := range l.pipes.list {
			p.signal()
			p.signalOut()
		}
		l.wakeReader()
	}
	for _, p := range l.pipes.list {
		if p.writeWaits && !p.inLine {
			p.signalOut() // waiting for a window
		}
	}
	if len(l.turns.q) > 0 {
		l.turns.q[0].signalOut()
		return true
	}
	return false
}

// goAwayNow sends GOAWAY without waiting long (a connection closing).
func (l *h2link) goAwayNow() {
	l.c.GoAway()
	if b := l.c.Output(nil); len(b) > 0 && l.werr == nil && !l.writing {
		l.ep.write(b, nanotime(), 100*time.Millisecond)
	}
}

// h2pipe is one stream as the transport of an endpoint (see pipe): reads
// take the bytes of the message the peer sends, as HTTP/1.1 in the
// framing its head declares, which the link's reader queued; writes give
// the HTTP/1.1 message we send to h2.Conn.WriteH1.
type h2pipe struct {
	l  *h2link
	st *h2.Stream

	// Guarded by l.mu.
	pend    []byte // bytes not read yet
	credits []credit
	nread   int64     // bytes read so far
	queued  int64     // bytes queued so far
	ended   bool      // the whole message is queued
	err     error     // reset, or the connection is gone
	inLine  bool      // in the link's turns for the output's room
	intr    bool      // interrupt: the next wait times out at once
	stall   func()    // called when a write timed out for want of window
	owner   *h2stream // a client's stream: its exchange (server role)
	idx     int       // in the link's pipeSet

	// A pipe is read by one goroutine and may be written by another at
	// the same time (a request body's copier while the response is
	// awaited): each side waits on its own channel and timer, so that a
	// wake-up meant for one is never taken by the other (one shared
	// channel lost the writer's turn to the reader: an upload stalled).
	wake, wakeOut   chan struct{}
	readWaits       bool // a goroutine waits on wake (to read)
	writeWaits      bool // one waits on wakeOut: for the output to drain or a window to open
	timer, outTimer *time.Timer
	rdl             int64
	wdl             int64
}

// credit is a DATA frame's bytes, given back to the peer's windows once
// the pipe's bytes up to end have been read.
type credit struct {
	end int64
	n   int
}

// init binds the pipe to a stream; with l.mu held.
func (p *h2pipe) init(l *h2link, st *h2.Stream) {
	p.l, p.st = l, st
	if p.wake == nil {
		p.wake, p.wakeOut = make(chan struct{}, 1), make(chan struct{}, 1)
	}
	l.pipes.add(p)
}

// clear makes the pipe reusable; with l.mu held.
func (p *h2pipe) clear() {
	if p.l != nil {
		p.l.pipes.remove(p)
		p.l.turns.leave(p)
	}
	pend := p.pend[:0]
	if cap(pend) > 256<<10 {
		pend = nil
	}
	*p = h2pipe{wake: p.wake, wakeOut: p.wakeOut, timer: p.timer, outTimer: p.outTimer,
		pend: pend, credits: p.credits[:0], owner: p.owner}
	for _, ch := range [...]chan struct{}{p.wake, p.wakeOut} {
		if len(ch) > 0 { // a wake-up that came as a wait timed out
			select {
			case <-ch:
			default:
			}
		}
	}
}

// detach ends a pipe that is not reused while a goroutine may still be
// using it (a request body's copier writing into a server's stream when
// the exchange lets the stream go): it leaves the link's lists and fails,
// and stays bound to the link, so that the copier wakes to the error
// (clear would leave it a pipe without a link). With l.mu held.
func (p *h2pipe) detach() {
	p.l.pipes.remove(p)
	p.l.turns.leave(p)
	p.fail(errH2Closed)
}

// head queues the head of the message (Request, Response); with l.mu held.
func (p *h2pipe) head(b []byte, end bool) {
	p.pend = append(p.pend, b...)
	p.queued += int64(len(b))
	p.ended = p.ended || end
	p.signal()
}

// data queues body bytes; with l.mu held.
func (p *h2pipe) data(b []byte, end bool) {
	if p.st.Chunked() {
		p.pend = h2.AppendChunk(p.pend, b)
		if end {
			p.pend = h2.AppendLastChunk(p.pend, nil)
		}
		p.queued = p.nread + int64(len(p.pend))
	} else {
		p.pend = append(p.pend, b...)
		p.queued += int64(len(b))
	}
	if len(b) > 0 {
		p.credits = append(p.credits, credit{end: p.queued, n: len(b)})
	}
	p.ended = p.ended || end
	p.signal()
}

// trailers ends the body; with l.mu held.
func (p *h2pipe) trailers(fields []byte) {
	if p.st.Chunked() {
		p.pend = h2.AppendLastChunk(p.pend, fields)
		p.queued = p.nread + int64(len(p.pend))
	}
	p.ended = true
	p.signal()
}

// fail ends the pipe with err; with l.mu held.
func (p *h2pipe) fail(err error) {
	if p.err == nil {
		p.err = err
	}
	p.signal()
	p.signalOut()
}

// unread is the DATA bytes queued and never read, to give back to the
// connection window when the stream ends.
func (p *h2pipe) unread() int {
	n := 0
	for _, c := range p.credits {
		n += c.n
	}
	return n
}

// signal wakes the goroutine waiting to read the pipe, if any; with
// l.mu held. Nobody waits most of the time (a request's head is queued
// before its exchange reads it): no channel is touched then, and none
// has to be emptied when the pipe is cleared (both were 1% of a small
// HTTP/2 request's CPU in profiles).
func (p *h2pipe) signal() {
	if p.readWaits {
		wake(p.wake)
	}
}

// signalOut wakes the goroutine waiting to write the pipe, if any; with
// l.mu held.
func (p *h2pipe) signalOut() {
	if p.writeWaits {
		wake(p.wakeOut)
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// wait waits for a signal to the reader until the deadline (0: none) or
// an interrupt; false on timeout. Called with l.mu held, which it
// releases while waiting.
func (p *h2pipe) wait(deadline int64) bool {
	if p.intr {
		p.intr = false
		return false
	}
	ok := p.waitOn(p.wake, &p.timer, &p.readWaits, deadline)
	if p.intr {
		p.intr = false
		return false
	}
	return ok
}

// waitWrite waits for a signal to the writer until the deadline.
func (p *h2pipe) waitWrite(deadline int64) bool {
	return p.waitOn(p.wakeOut, &p.outTimer, &p.writeWaits, deadline)
}

// waitOn waits on ch, *waits set meanwhile (signal and signalOut look at
// it: it is set before mu is released, so no wake-up is lost).
func (p *h2pipe) waitOn(ch chan struct{}, tm **time.Timer, waits *bool, deadline int64) bool {
	var tc <-chan time.Time
	if deadline > 0 {
		d := time.Duration(deadline - nanotime())
		if d <= 0 {
			return false
		}
		if *tm == nil {
			*tm = time.NewTimer(d)
		} else {
			(*tm).Reset(d)
		}
		tc = (*tm).C
	}
	*waits = true
	p.l.mu.Unlock()
	ok := true
	select {
	case <-ch:
	case <-tc:
		ok = false
	}
	if tc != nil && ok && !(*tm).Stop() {
		select {
		case <-(*tm).C:
		default:
		}
	}
	p.l.mu.Lock()
	*waits = false
	return ok
}

func (p *h2pipe) setReadDeadline(at int64)  { p.rdl = at }
func (p *h2pipe) setWriteDeadline(at int64) { p.wdl = at }

func (p *h2pipe) interrupt() {
	p.l.mu.Lock()
	p.intr = true
	p.signal()
	p.l.mu.Unlock()
}

// read reads the peer's message.
func (p *h2pipe) read(b []byte, mode readMode) (int, error) {
	l := p.l
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if len(p.pend) > 0 {
			n := copy(b, p.pend)
			p.pend = p.pend[:copy(p.pend, p.pend[n:])]
			p.nread += int64(n)
			given, k := 0, 0
			for ; k < len(p.credits) && p.credits[k].end <= p.nread; k++ {
				given += p.credits[k].n
			}
			if k > 0 {
				p.credits = p.credits[:copy(p.credits, p.credits[k:])]
				l.c.Consumed(p.st, given)
				l.flushLocked()
			}
			return n, nil
		}
		switch {
		case p.err != nil:
			return 0, p.err
		case p.ended:
			return 0, io.EOF
		case mode == readNoWait:
			return 0, errWouldBlock
		}
		if !p.wait(p.rdl) {
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// write sends our message's bytes as frames, waiting for flow-control
// windows and for the output to drain.
func (p *h2pipe) write(b []byte) error { return p.send(b, 0) }

// writeFramed is write for body bytes that lie in a buffer after
// h2.FrameHeaderLen bytes it may overwrite (f is the buffer from there
// on): each DATA frame is written to the socket from where its bytes
// lie, its header in the room in front of them (h2.Conn.DataInPlace),
// instead of being copied into the output. Such a stream waits for its
// turn while another writes, rather than queue a copy.
func (p *h2pipe) writeFramed(f []byte) error { return p.send(f, h2.FrameHeaderLen) }

// send is write for the bytes of f after room bytes (see writeFramed
// for room > 0).
func (p *h2pipe) send(f []byte, room int) error {
	l := p.l
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(f) > room {
		if p.err != nil {
			l.turns.leave(p)
			l.flushLocked() // the others' frames, if nobody else writes them
			return p.err
		}
		if l.werr != nil {
			l.turns.leave(p)
			return l.werr
		}
		inPlace := room > 0 && !l.c.Blocked(p.st)
		blocked := false // a window is closed: onWritable wakes us
		if l.turns.mine(p) && !(inPlace && l.writing) {
			if inPlace && l.c.Pending() > 0 {
				l.flushLocked() // the frames queued before go first
				continue
			}
			if inPlace {
				if n := l.c.DataInPlace(p.st, f); n > 0 {
					frame := f[:room+n]
					f = f[n:]
					if len(f) > room {
						l.turns.rotate(p) // the others' turn first
					} else {
						l.turns.leave(p)
					}
					l.writing = true
					l.mu.Unlock()
					err := l.ep.write(frame, nanotime(), l.wto)
					l.mu.Lock()
					l.wroteOut(err)
					continue
				}
			}
			// Tried even when a window is closed: HEADERS are not
			// flow-controlled (a 431 must get out while another stream
			// has taken the connection's window).
			n, err := l.c.WriteH1(p.st, f[room:])
			f = f[n:]
			blocked = l.c.Blocked(p.st)
			switch {
			case err != nil || len(f) == room || blocked:
				l.turns.leave(p)
			case n > 0:
				l.turns.rotate(p) // out of room: the others' turn first
			default:
				l.turns.join(p) // first in line, when the room comes
			}
			wrote := l.flushLocked()
			if err != nil {
				return err
			}
			if n > 0 || wrote {
				continue // decide again, with what changed meanwhile
			}
		} else {
			l.turns.join(p)
		}
		// Never wait while frames wait to be written and nobody writes
		// them (a stream that left the line for a window, say, had been
		// woken to write them out).
		if l.flushLocked() {
			continue
		}
		// Decided with mu held, which is kept until the wait is armed:
		// whatever wakes us (onWritable, the first in line's turn) comes
		// after, and the signal is kept.
		stalled := blocked && l.c.Pending() == 0
		ok := p.waitWrite(p.wdl)
		if !ok {
			l.turns.leave(p)
			l.flushLocked()
			if stalled && p.err == nil && l.werr == nil && p.stall != nil {
				p.stall()
			}
			return os.ErrDeadlineExceeded
		}
	}
	return nil
}

// The events of a link's connection common to both roles, with l.mu held.

func (l *h2link) onData(st *h2.Stream, b []byte, end bool) {
	if p := pipeOf(st); p != nil {
		p.data(b, end)
	}
}

func (l *h2link) onTrailers(st *h2.Stream, fields []byte) {
	if p := pipeOf(st); p != nil {
		p.trailers(fields)
	}
}

func (l *h2link) onWritable(st *h2.Stream) {
	if st != nil {
		if p := pipeOf(st); p != nil {
			p.signalOut()
		}
		return
	}
	for _, p := range l.pipes.list {
		if p.writeWaits {
			p.signalOut()
		}
	}
}

// h2ResetError is a stream the peer reset, with its code.
type h2ResetError struct{ code h2.ErrCode }

func (e h2ResetError) Error() string { return "h2: stream reset by the peer: " + e.code.String() }

type h2Error string

func (e h2Error) Error() string { return string(e) }

const (
	errH2Closed  = h2Error("h2: connection closed")
	errH2Reset   = h2Error("h2: stream reset")
	errH2Refused = h2Error("h2: stream refused by the server")
	errNoH2      = h2Error("the server did not agree on h2 by ALPN")
)
