package proxy

import (
	"io"
	"os"
	"time"

	"lbd/h2"
)

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
	// The channels hold no wake-up here (waitOn takes the one that came
	// as its wait timed out): not touching them spares a stream that
	// never waited two cache misses (0.7% of a small HTTP/2 request).
	*p = h2pipe{wake: p.wake, wakeOut: p.wakeOut, timer: p.timer, outTimer: p.outTimer,
		pend: pend, credits: p.credits[:0], owner: p.owner}
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
	if !ok && len(ch) > 0 {
		// Signalled as the wait timed out, before mu was taken back: the
		// wake-up is ours (signals are sent with mu held and only while
		// *waits), and the state changed: not a timeout.
		<-ch
		ok = true
	}
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
					f = p.sendFrame(f, n, room)
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

// sendFrame writes the DATA frame that DataInPlace built at the start of
// f (room bytes of header, n of payload) to the socket and returns the
// rest of f; with l.mu held, released while the socket is written.
func (p *h2pipe) sendFrame(f []byte, n, room int) []byte {
	l := p.l
	frame, rest := f[:room+n], f[n:]
	if len(rest) > room {
		l.turns.rotate(p) // the others' turn first
	} else {
		l.turns.leave(p)
	}
	l.writing = true
	l.mu.Unlock()
	err := l.ep.write(frame, nanotime(), l.wto)
	l.mu.Lock()
	l.wroteOut(err)
	return rest
}
