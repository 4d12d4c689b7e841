package h1

import (
	"errors"
	"io"
)

// Errors of ResponseReader besides the head's Err and the chunked errors.
var (
	// ErrStopped ends a response early when Stop said the head was enough
	// (a wrong status needs no body).
	ErrStopped = errors.New("stopped after head")
	// ErrEmptyResponse: the server closed without sending a byte.
	ErrEmptyResponse = errors.New("empty response")
	// ErrResponseHeadTooLarge: a head did not fit in MaxHead bytes.
	ErrResponseHeadTooLarge = errors.New("response head too large")
	// ErrTooManyInterim: more than MaxInterim 1xx responses.
	ErrTooManyInterim = errors.New("too many interim responses")
)

// MaxHead is the largest head the reader accepts, as large as a head the
// proxy forwards (its buffer, HAProxy's tune.bufsize).
const MaxHead = 16384

// MaxInterim bounds the 1xx responses skipped before the final one.
const MaxInterim = 8

type readState uint8

const (
	rsHead    readState = iota // gathering a head
	rsLength                   // Content-Length body
	rsClose                    // body delimited by the end of the connection
	rsChunked                  // chunked body
	rsDone                     // complete, or failed (Err)
)

// ResponseReader reads one HTTP/1.x response pushed to it piece by piece,
// as the bytes arrive: the health checks' event loop feeds it what each
// read returns, so that a check needs neither a goroutine nor a buffered
// reader of its own. How the response is cut into pieces never changes the
// outcome. It applies the proxy's rules (Head, Chunked): a response the
// proxy would refuse fails a check too.
//
// 1xx interim responses are skipped (at most MaxInterim). With NoBody (a
// HEAD request) the head ends the response. After the final head, Stop
// (if set) may end it early with ErrStopped. At most Keep bytes of the
// body are kept, de-chunked, in Body.
type ResponseReader struct {
	NoBody bool
	Keep   int
	Stop   func(status int) bool

	// Status and Reason are the last status line's; Status is 0 until a
	// head parsed.
	Status int
	Reason []byte
	// Err is why the response failed, once Done; nil for a complete one.
	Err  error
	Body []byte

	state readState
	head  Head
	buf   []byte // a head, or an incomplete trailer section, so far
	scan  int    // HeadEnd's resume point in buf
	got   bool   // any byte arrived
	// statusSeen: the current head's status line was complete and judged.
	statusSeen bool
	interim    int
	left       int64
	ch         Chunked
	scratch    []byte
}

// Reset prepares r for a new response, keeping its buffers.
func (r *ResponseReader) Reset(noBody bool, keep int, stop func(int) bool) {
	*r = ResponseReader{
		NoBody: noBody, Keep: keep, Stop: stop,
		Reason: r.Reason[:0], Body: r.Body[:0],
		head: Head{Fields: r.head.Fields[:0]}, buf: r.buf[:0], scratch: r.scratch[:0],
	}
}

// Done reports whether the response is complete (Err nil) or failed.
func (r *ResponseReader) Done() bool { return r.state == rsDone }

func (r *ResponseReader) finish(err error) { r.state, r.Err = rsDone, err }

// Feed reads the next bytes of the response. Bytes after its end are
// ignored.
func (r *ResponseReader) Feed(b []byte) {
	if len(b) > 0 {
		r.got = true
	}
	for len(b) > 0 && r.state != rsDone {
		switch r.state {
		case rsHead:
			b = r.feedHead(b)
		case rsLength:
			n := int(min(int64(len(b)), r.left))
			r.keep(b[:n])
			b = b[n:]
			if r.left -= int64(n); r.left == 0 {
				r.finish(nil)
			}
		case rsClose:
			r.keep(b)
			b = nil
		case rsChunked:
			b = r.feedChunked(b)
		}
	}
}

// feedHead gathers a head and, once it is complete, decides what follows.
// It returns the bytes after the head.
func (r *ResponseReader) feedHead(b []byte) []byte {
	room := MaxHead - len(r.buf)
	take := min(len(b), room)
	r.buf = append(r.buf, b[:take]...)
	end, next := HeadEnd(r.buf, r.scan)
	if end < 0 {
		if !r.statusSeen && !r.statusOK() {
			return nil
		}
		r.scan = next
		if len(r.buf) >= MaxHead {
			r.finish(ErrResponseHeadTooLarge)
		}
		return nil
	}
	// Bytes of b past the head: what was appended beyond end, plus what
	// did not fit.
	rest := b[take-(len(r.buf)-end):]
	r.buf = r.buf[:end]
	e := r.head.ParseResponse(r.buf)
	if r.head.Status != 0 && e != ErrBadStatusLine {
		r.Status = r.head.Status
		r.Reason = append(r.Reason[:0], r.head.Bytes(r.head.Reason)...)
	}
	if e != OK {
		r.finish(e)
		return nil
	}
	r.buf, r.scan, r.statusSeen = r.buf[:0], 0, false
	r.afterHead()
	return rest
}

// statusOK judges the status line as soon as it is complete, so that a
// server that is not speaking HTTP fails at once rather than at its
// timeout or close.
func (r *ResponseReader) statusOK() bool {
	end, _, ok := nextLine(r.buf, 0)
	if !ok {
		return true // not complete yet
	}
	r.statusSeen = true
	if e := r.head.parseStatusLine(r.buf[:end]); e != OK {
		r.finish(e)
		return false
	}
	return true
}

// afterHead decides what follows a head: another response after an
// interim one, the body, or nothing.
func (r *ResponseReader) afterHead() {
	h := &r.head
	if h.Status < 200 && h.Status != 101 {
		if r.interim++; r.interim > MaxInterim {
			r.finish(ErrTooManyInterim)
		}
		return // the next head follows
	}
	if r.Stop != nil && r.Stop(h.Status) {
		r.finish(ErrStopped)
		return
	}
	fr, n := h.ResponseFraming(r.NoBody)
	switch fr {
	case FramingNone:
		r.finish(nil)
	case FramingLength:
		r.state, r.left = rsLength, n
	case FramingChunked:
		r.state = rsChunked
		r.ch.Reset()
	case FramingClose:
		r.state = rsClose
	}
}

// feedChunked de-chunks b (after any incomplete trailer bytes kept from
// earlier pieces) and returns what follows the body.
func (r *ResponseReader) feedChunked(b []byte) []byte {
	src := b
	if len(r.buf) > 0 {
		r.buf = append(r.buf, b...)
		src = r.buf
	}
	out, n, err := r.ch.Transcode(r.scratch[:0], src, true)
	r.scratch = out[:0]
	r.keep(out)
	switch {
	case err != nil:
		r.finish(err)
	case r.ch.Done():
		r.finish(nil)
	default:
		// n < len(src) only inside an incomplete trailer section: keep it.
		r.buf = append(r.buf[:0], src[n:]...)
	}
	return nil
}

func (r *ResponseReader) keep(b []byte) {
	if room := r.Keep - len(r.Body); room > 0 {
		r.Body = append(r.Body, b[:min(len(b), room)]...)
	}
}

// EOF tells the reader that the server closed the connection.
func (r *ResponseReader) EOF() {
	switch r.state {
	case rsDone:
	case rsClose:
		r.finish(nil)
	case rsHead:
		if !r.got {
			r.finish(ErrEmptyResponse)
		} else {
			r.finish(io.ErrUnexpectedEOF)
		}
	default:
		r.finish(io.ErrUnexpectedEOF)
	}
}
