package h2

import (
	"bytes"
	"errors"
	"sync"

	"golang.org/x/net/http2"

	"lbd/h1"
)

// WriteH1 reads the HTTP/1.1 message that lbd's engine writes for a
// stream (the response to a client in the server role, the request to a
// server in the client role) and sends it as HTTP/2: its head as HEADERS
// (CONTINUATION when it does not fit a frame), its body as DATA within
// the flow-control windows, the trailer section of a chunked body as
// trailing HEADERS. The head is parsed by package h1, so that framing,
// hop-by-hop and connection fields are what h1 says they are; the body is
// read in the framing the head declares.

// ErrStreamClosed is returned by WriteH1 for a stream that is gone.
var ErrStreamClosed = errors.New("h2: stream closed")

// errH1 is a message from the engine that is not HTTP/1.1 as it writes
// it; the stream is reset.
var errH1 = errors.New("h2: malformed HTTP/1.1 message from the engine")

// Writer states.
const (
	wHead      uint8 = iota // the head, or interim heads
	wBody                   // Content-Length or close-delimited body
	wChunkSize              // a chunk-size line
	wChunkLF                // the LF ending a chunk-size line
	wChunkData              // chunk data
	wChunkEnd               // the CRLF after chunk data
	wTrailers               // the trailer section
	wDone
)

// maxH1Head bounds a head or trailer section assembled from pieces.
const maxH1Head = 64 << 10

// h1Writer is WriteH1's state for one stream.
type h1Writer struct {
	state  uint8
	close  bool   // wBody: delimited by the end of the message (FinishH1)
	remain int64  // wBody: bytes left; chunks: bytes left in the chunk
	digits int    // chunk-size digits read
	acc    []byte // a head or trailer section arriving in pieces
}

var headPool = sync.Pool{New: func() any { return new(h1.Head) }}

// WriteH1 sends what it can of p, the next bytes of st's HTTP/1.1
// message, and returns how many bytes it consumed: fewer than len(p) when
// a flow-control window is closed (Handler.Writable says when it opens)
// or the output holds OutLimit bytes (write it out, then call again).
func (c *Conn) WriteH1(st *Stream, p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if st.closed {
		return 0, ErrStreamClosed
	}
	n := 0
	for n < len(p) {
		w := &st.w
		var k int
		var err error
		switch w.state {
		case wHead:
			k, err = c.writeHead(st, p[n:])
		case wBody:
			b := p[n:]
			if !w.close && int64(len(b)) > w.remain {
				b = b[:w.remain]
			}
			last := !w.close && int64(len(b)) == w.remain
			k = c.sendData(st, b, last)
			if !w.close {
				w.remain -= int64(k)
				if w.remain == 0 {
					w.state = wDone
				}
			}
		case wChunkSize, wChunkLF, wChunkEnd:
			k, err = w.chunkFraming(p[n:])
		case wChunkData:
			b := p[n:]
			if int64(len(b)) > w.remain {
				b = b[:w.remain]
			}
			k = c.sendData(st, b, false)
			if w.remain -= int64(k); w.remain == 0 {
				w.state = wChunkEnd
				w.digits = 0
			}
		case wTrailers:
			k, err = c.writeTrailers(st, p[n:])
		default:
			err = errH1 // bytes after the end of the message
		}
		if err != nil {
			c.Reset(st, ErrCodeInternal)
			return n, err
		}
		if k == 0 {
			break // blocked
		}
		n += k
		if st.closed && n < len(p) {
			return n, ErrStreamClosed
		}
	}
	if st.closed && st.ID == 0 {
		return n, ErrStreamClosed // refused before its HEADERS (takeID)
	}
	return n, nil
}

// Blocked reports whether st cannot send DATA for want of window.
func (c *Conn) Blocked(st *Stream) bool { return st.sendWindow <= 0 || c.sendWindow <= 0 }

// FinishH1 ends st's message once the engine is done with it: a body
// delimited by the end of the message gets its END_STREAM; a message cut
// short (ok false, or not complete) resets the stream, so that the peer
// never takes a truncated message for a whole one.
func (c *Conn) FinishH1(st *Stream, ok bool) {
	if st.closed || st.outEnded || c.err != nil {
		return
	}
	w := &st.w
	if ok && w.state == wBody && w.close {
		c.sendData(st, nil, true)
		return
	}
	code := ErrCodeInternal
	if c.role == RoleClient {
		code = ErrCodeCancel
	}
	c.Reset(st, code)
}

// writeHead takes a head from the start of b (after what came before in
// pieces) and sends it. It consumes the head's bytes only, or all of b
// when the head is not complete yet.
func (c *Conn) writeHead(st *Stream, b []byte) (int, error) {
	w := &st.w
	src, prior := b, len(w.acc)
	if prior > 0 {
		src = append(w.acc, b...)
	}
	end, _ := h1.HeadEnd(src, 0)
	if end < 0 {
		if len(src) > maxH1Head {
			return 0, errH1
		}
		w.acc = append(w.acc[:0], src...)
		return len(b), nil
	}
	m := headPool.Get().(*h1.Head)
	defer func() { m.Clear(); headPool.Put(m) }()
	var e h1.Err
	if c.role == RoleServer {
		e = m.ParseResponse(src[:end])
	} else {
		e = m.ParseRequest(src[:end])
	}
	w.acc = w.acc[:0]
	if e != h1.OK {
		return 0, errH1
	}
	if c.role == RoleServer {
		if err := c.sendResponseHead(st, m); err != nil {
			return 0, err
		}
	} else {
		c.sendRequestHead(st, m)
	}
	return end - prior, nil
}

func (c *Conn) sendResponseHead(st *Stream, m *h1.Head) error {
	if m.Status < 200 {
		if m.Status == 101 {
			return errH1 // no protocol switch in HTTP/2 (RFC 9113 §8.6)
		}
		c.writeBlock(st, c.encodeResponse(m, h1.FramingNone, 0), false)
		return nil
	}
	fr, n := m.ResponseFraming(st.isHead)
	c.startBody(st, fr, n)
	c.writeBlock(st, c.encodeResponse(m, fr, n), fr == h1.FramingNone)
	return nil
}

func (c *Conn) sendRequestHead(st *Stream, m *h1.Head) {
	fr, n := m.RequestFraming()
	st.isHead = m.IsHead
	c.startBody(st, fr, n)
	c.writeBlock(st, c.encodeRequest(m, fr), fr == h1.FramingNone)
}

// startBody sets the writer up for the body the head declares.
func (c *Conn) startBody(st *Stream, fr h1.Framing, n int64) {
	w := &st.w
	switch fr {
	case h1.FramingNone:
		w.state = wDone
	case h1.FramingLength:
		w.state, w.remain = wBody, n
	case h1.FramingClose:
		w.state, w.close = wBody, true
	case h1.FramingChunked:
		w.state, w.digits, w.remain = wChunkSize, 0, 0
	}
}

// chunkFraming reads the framing bytes of a chunked body: size lines
// (hexadecimal digits, then CRLF: the engine writes nothing else) and the
// CRLF after each chunk's data.
func (w *h1Writer) chunkFraming(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		ch := b[n]
		switch w.state {
		case wChunkSize:
			if ch == '\r' && w.digits > 0 {
				w.state = wChunkLF
				break
			}
			d := unhex(ch)
			if d < 0 || w.digits == 15 {
				return 0, errH1
			}
			w.remain = w.remain<<4 | int64(d)
			w.digits++
		case wChunkLF:
			if ch != '\n' {
				return 0, errH1
			}
			n++
			if w.remain == 0 {
				w.state = wTrailers
				w.acc = w.acc[:0]
			} else {
				w.state = wChunkData
			}
			return n, nil
		case wChunkEnd:
			if w.digits == 0 && ch == '\r' {
				w.digits = 1
				break
			}
			if w.digits == 1 && ch == '\n' {
				n++
				w.state, w.digits, w.remain = wChunkSize, 0, 0
				return n, nil
			}
			return 0, errH1
		default:
			return n, nil
		}
		n++
	}
	return n, nil
}

// writeTrailers takes the trailer section (field lines, then an empty
// line) and ends the stream with it: trailing HEADERS, or an empty DATA
// frame when there are none.
func (c *Conn) writeTrailers(st *Stream, b []byte) (int, error) {
	w := &st.w
	prior := len(w.acc)
	src := append(w.acc, b...)
	end := -1
	if len(src) >= 2 && src[0] == '\r' && src[1] == '\n' {
		end = 2
	} else if i := bytes.Index(src, crlfcrlf); i >= 0 {
		end = i + 4
	}
	if end < 0 {
		if len(src) > h1.MaxTrailerBytes+4 {
			return 0, errH1
		}
		w.acc = src
		return len(b), nil
	}
	w.acc = src[:0]
	if end == 2 {
		c.sendData(st, nil, true)
	} else {
		c.writeBlock(st, c.encodeTrailers(src[:end-2]), true)
	}
	w.state = wDone
	return end - prior, nil
}

var crlfcrlf = []byte("\r\n\r\n")

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// sendData sends what the windows and the output limit allow of p as
// DATA frames; end sets END_STREAM on the frame that carries p's last
// byte (an empty frame when p is empty, which nothing blocks). It returns
// the bytes sent.
func (c *Conn) sendData(st *Stream, p []byte, end bool) int {
	if st.closed || st.outEnded {
		return 0
	}
	n := len(p)
	if n > 0 {
		avail := min(st.sendWindow, c.sendWindow)
		room := c.OutLimit - len(c.out) - frameHeaderLen
		if avail <= 0 || room <= 0 {
			return 0
		}
		n = int(min(int64(n), avail, int64(room)))
	} else if !end {
		return 0
	}
	frames := int64(0)
	for off := 0; off < n || n == 0 && frames == 0; {
		k := min(n-off, int(c.peerMaxFrame))
		var flags http2.Flags
		if end && off+k == len(p) {
			flags = http2.FlagDataEndStream
		}
		c.out = append(c.out, byte(k>>16), byte(k>>8), byte(k), byte(http2.FrameData), byte(flags),
			byte(st.ID>>24), byte(st.ID>>16), byte(st.ID>>8), byte(st.ID))
		c.out = append(c.out, p[off:off+k]...)
		off += k
		frames++
	}
	st.sendWindow -= int64(n)
	c.sendWindow -= int64(n)
	c.earnControl(frames * ctlPerData)
	if end && n == len(p) {
		c.ended(st)
	}
	return n
}

// FrameHeaderLen is the room DataInPlace needs in front of the bytes it
// sends: a frame's header (RFC 9113 §4.1).
const FrameHeaderLen = frameHeaderLen

// DataInPlace is WriteH1 for the next bytes of a body (Content-Length or
// delimited by the end of the message) that lie in the caller's buffer
// after FrameHeaderLen bytes it may overwrite: f is the buffer from that
// room on, f[FrameHeaderLen:] the body's bytes. It writes the header of
// one DATA frame into f's first FrameHeaderLen bytes and returns the
// frame's payload length n; the caller writes f[:FrameHeaderLen+n] to the
// connection as the next bytes after what it wrote before, and the rest
// of the body goes the same way from f[n:] (the room in front of it is
// bytes written already). The body is then sent without the copy into
// the output that WriteH1 makes (half of all the bytes copied for a large
// response, in profiles). It returns 0 when the frame cannot go this way:
// frames wait in the output (they go first), the stream is not in such a
// body, a window is closed; WriteH1 then does what is right.
func (c *Conn) DataInPlace(st *Stream, f []byte) int {
	w := &st.w
	if c.err != nil || st.closed || st.outEnded || w.state != wBody || len(c.out) > 0 || len(f) <= frameHeaderLen {
		return 0
	}
	n := int64(len(f) - frameHeaderLen)
	if !w.close {
		n = min(n, w.remain)
	}
	n = min(n, st.sendWindow, c.sendWindow, int64(c.peerMaxFrame))
	if n <= 0 {
		return 0
	}
	end := !w.close && n == w.remain
	var flags http2.Flags
	if end {
		flags = http2.FlagDataEndStream
	}
	f[0], f[1], f[2], f[3], f[4] = byte(n>>16), byte(n>>8), byte(n), byte(http2.FrameData), byte(flags)
	f[5], f[6], f[7], f[8] = byte(st.ID>>24), byte(st.ID>>16), byte(st.ID>>8), byte(st.ID)
	st.sendWindow -= n
	c.sendWindow -= n
	c.earnControl(ctlPerData)
	if !w.close {
		w.remain -= n
	}
	if end {
		c.ended(st)
	}
	return int(n)
}

// ended records that our side of st ended.
func (c *Conn) ended(st *Stream) {
	st.outEnded = true
	st.w.state = wDone
	if st.inEnded {
		c.closeStream(st, ErrCodeNo, false)
	}
}

// writeBlock sends a header block: HEADERS, then CONTINUATION frames
// when it is larger than the peer's frame size.
func (c *Conn) writeBlock(st *Stream, block []byte, end bool) {
	if !c.takeID(st) {
		return
	}
	f := c.framer()
	max := int(c.peerMaxFrame)
	first := block
	if len(first) > max {
		first = first[:max]
	}
	f.WriteHeaders(http2.HeadersFrameParam{StreamID: st.ID, BlockFragment: first, EndStream: end, EndHeaders: len(first) == len(block)})
	for rest := block[len(first):]; len(rest) > 0; {
		k := min(len(rest), max)
		f.WriteContinuation(st.ID, k == len(rest), rest[:k])
		rest = rest[k:]
	}
	st.replied = true
	if end {
		c.ended(st)
	}
}

// field encodes one field; name and value are used in place (the encoder
// keeps nothing: it has no dynamic table).
func (c *Conn) field(name, value []byte) {
	c.encw.b = appendField(c.encw.b, name, value, false)
}

// fieldLower is field for a name that may have upper-case letters.
func (c *Conn) fieldLower(name, value []byte) {
	c.encw.b = appendField(c.encw.b, name, value, true)
}

var statusDigits = func() (t [600][3]byte) {
	for i := 100; i < 600; i++ {
		t[i] = [3]byte{byte('0' + i/100), byte('0' + i/10%10), byte('0' + i%10)}
	}
	return
}()

// encodeFields encodes the fields of m that HTTP/2 carries: all but those
// h1 does not forward (hop-by-hop, framing, Host), with lower-case names.
func (c *Conn) encodeFields(m *h1.Head) {
	for i := range m.Fields {
		f := &m.Fields[i]
		if f.Drop {
			continue
		}
		c.fieldLower(m.Bytes(f.Name), m.Bytes(f.Value))
	}
}

var (
	nameStatus    = []byte(":status")
	nameMethod    = []byte(":method")
	nameScheme    = []byte(":scheme")
	nameAuthority = []byte(":authority")
	namePath      = []byte(":path")
	nameLength    = []byte("content-length")
	nameTE        = []byte("te")
	valTrailers   = []byte("trailers")
)

func (c *Conn) encodeLength(n int64) {
	c.field(nameLength, appendUint(c.digits[:0], n))
}

// encodeResponse encodes a response head.
func (c *Conn) encodeResponse(m *h1.Head, fr h1.Framing, n int64) []byte {
	c.encw.b = c.encw.b[:0]
	c.field(nameStatus, statusDigits[m.Status][:])
	c.encodeFields(m)
	switch {
	case m.Status < 200 || m.Status == 204:
	case fr == h1.FramingLength:
		c.encodeLength(n)
	case m.ContentLength >= 0 && !m.Chunked && (fr == h1.FramingNone):
		c.encodeLength(m.ContentLength) // HEAD, 304, or empty
	}
	return c.encw.b
}

// encodeRequest encodes a request head for a server.
func (c *Conn) encodeRequest(m *h1.Head, fr h1.Framing) []byte {
	c.encw.b = c.encw.b[:0]
	c.field(nameMethod, m.Bytes(m.Method))
	c.field(nameScheme, c.scheme)
	if a := m.HostField(); len(a) > 0 {
		c.field(nameAuthority, a)
	}
	path := m.Bytes(m.Target)
	if m.Authority.End > m.Authority.Off {
		path = m.Raw[m.Path.Off:m.Target.End] // absolute form: path and query
		if len(path) == 0 {
			path = []byte("/")
		}
	}
	c.field(namePath, path)
	c.encodeFields(m)
	for i := range m.Fields {
		if f := &m.Fields[i]; f.Kind == h1.KindTE && hasToken(m.Bytes(f.Value), "trailers") {
			// te is hop-by-hop for HTTP/1.1, but says that the client
			// takes trailers; gRPC servers want it.
			c.field(nameTE, valTrailers)
			break
		}
	}
	if fr == h1.FramingLength || m.ContentLength == 0 {
		c.encodeLength(m.ContentLength)
	}
	return c.encw.b
}

func hasToken(v []byte, t string) bool {
	found := false
	h1.ForEachToken(v, func(x []byte) bool {
		found = h1.EqFold(x, t)
		return !found
	})
	return found
}

// encodeTrailers encodes the field lines of a trailer section.
func (c *Conn) encodeTrailers(lines []byte) []byte {
	c.encw.b = c.encw.b[:0]
	for len(lines) > 0 {
		eol := indexCRLF(lines)
		if eol < 0 {
			break
		}
		line := lines[:eol]
		lines = lines[eol+2:]
		colon := indexByte(line, ':')
		if colon <= 0 {
			continue
		}
		c.fieldLower(line[:colon], trimOWS(line[colon+1:]))
	}
	return c.encw.b
}

func indexCRLF(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return i
		}
	}
	return -1
}

func indexByte(b []byte, ch byte) int {
	for i, x := range b {
		if x == ch {
			return i
		}
	}
	return -1
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
