package proxy

import (
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
