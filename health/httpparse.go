package health

import (
	"bytes"
	"errors"
	"io"
	"strconv"
)

// Limits of what an http check accepts from a server. HAProxy's check
// buffer is 16 KiB; we allow more head but still refuse unbounded input.
const (
	maxHeadLine   = 8 << 10  // one status or header line, its LF included
	maxHead       = 32 << 10 // whole response head
	maxInterim    = 8        // 1xx responses skipped before the final one
	bodyKeepLimit = 64 << 10 // body bytes kept for expect_body
)

// protoError is a response that is not valid HTTP/1.x; the check reports
// it as L7RSP with this text.
type protoError string

func (e protoError) Error() string { return string(e) }

// errStopped ends a response early when the caller has seen enough (a
// wrong status needs no body).
var errStopped = errors.New("stopped after head")

// httpParser reads one HTTP/1.x response pushed to it piece by piece, as
// the bytes arrive: the check's event loop feeds it what each read
// returns, so that a check needs neither a goroutine nor a buffered reader
// of its own. How the response is cut into pieces never changes the
// outcome.
//
// 1xx interim responses are skipped (at most maxInterim); the body is
// delimited by Transfer-Encoding: chunked, Content-Length or the end of
// the connection (RFC 9112 section 6.3). With noBody (a HEAD request) the
// head ends the response. After the head of the final response, stop
// (status) may end it early with errStopped. At most keep bytes of the
// body are kept, de-chunked.
//
// A line must end within maxHeadLine bytes; the status and header lines
// of all responses together within maxHead bytes, and so must the chunk
// size lines, chunk ends and trailers of a chunked body.
type httpParser struct {
	noBody bool
	keep   int
	stop   func(status int) bool

	state     parseState
	status    int    // of the last status line read; 0 if it was bad
	reason    []byte // its reason phrase
	err       error  // why the response failed, once state is psDone
	headBytes int    // status and header lines so far, interim included
	lineBytes int    // chunk size, chunk end and trailer lines so far
	interim   int    // interim responses skipped
	fr        framing
	left      int64  // body bytes still to come: Content-Length or chunk
	line      []byte // the start of a line split across pieces
	body      []byte // kept body bytes
}

type parseState uint8

const (
	psStatus    parseState = iota // status line
	psHeader                      // header lines, up to the empty one
	psLength                      // Content-Length body
	psClose                       // body delimited by the end of the connection
	psChunkSize                   // chunk-size line
	psChunkData                   // chunk data
	psChunkEnd                    // the CRLF after chunk data
	psTrailer                     // trailer lines after the last chunk
	psDone                        // complete, or failed (err)
)

// framing is what the headers say about the body.
type framing struct {
	chunked   bool
	length    int64 // -1 when no Content-Length
	untilDone bool  // a transfer coding other than chunked: read to EOF
}

// reset prepares the parser for a new response, keeping its buffers.
func (h *httpParser) reset(noBody bool, keep int, stop func(int) bool) {
	*h = httpParser{
		noBody: noBody, keep: keep, stop: stop,
		reason: h.reason[:0], line: h.line[:0], body: h.body[:0],
	}
}

// done reports whether the response is complete (err nil) or failed.
func (h *httpParser) done() bool { return h.state == psDone }

// feed parses the next bytes of the response. Bytes after its end are
// ignored.
func (h *httpParser) feed(b []byte) {
	for len(b) > 0 && h.state != psDone {
		switch h.state {
		case psLength, psChunkData:
			n := int(min(int64(len(b)), h.left))
			h.keepBody(b[:n])
			b = b[n:]
			h.left -= int64(n)
			if h.left == 0 {
				if h.state == psLength {
					h.finish(nil)
				} else {
					h.state = psChunkEnd
				}
			}
		case psClose:
			h.keepBody(b)
			b = nil
		default:
			var line []byte
			line, b = h.nextLine(b)
			if line != nil {
				h.onLine(line)
			}
		}
	}
}

// eof tells the parser that the server closed the connection.
func (h *httpParser) eof() {
	switch h.state {
	case psDone:
	case psClose:
		h.finish(nil)
	case psStatus:
		if h.headBytes == 0 && len(h.line) == 0 {
			h.finish(protoError("empty response"))
		} else {
			h.finish(io.ErrUnexpectedEOF)
		}
	default:
		h.finish(io.ErrUnexpectedEOF)
	}
}

func (h *httpParser) finish(err error) {
	h.state, h.err = psDone, err
}

func (h *httpParser) keepBody(b []byte) {
	if room := h.keep - len(h.body); room > 0 {
		h.body = append(h.body, b[:min(len(b), room)]...)
	}
}

// nextLine returns the next complete line (LF included) and the bytes
// after it, or nil when b ends inside a line (kept for the next piece) or
// the line is too long (the parser then failed).
func (h *httpParser) nextLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		if len(h.line)+len(b) >= maxHeadLine {
			h.finish(protoError("header line too long"))
			return nil, nil
		}
		h.line = append(h.line, b...)
		return nil, nil
	}
	if len(h.line)+i+1 > maxHeadLine {
		h.finish(protoError("header line too long"))
		return nil, nil
	}
	if len(h.line) == 0 {
		return b[:i+1], b[i+1:]
	}
	// The line is used before the next piece is appended: the carry
	// buffer can be emptied now.
	line = append(h.line, b[:i+1]...)
	h.line = line[:0]
	return line, b[i+1:]
}

func (h *httpParser) onLine(line []byte) {
	switch h.state {
	case psStatus, psHeader:
		h.headBytes += len(line)
		if h.headBytes > maxHead {
			h.finish(protoError("response head too large"))
			return
		}
		if h.state == psStatus {
			h.onStatusLine(line)
		} else {
			h.onHeaderLine(trimEOL(line))
		}
	default:
		h.lineBytes += len(line)
		if h.lineBytes > maxHead {
			h.finish(protoError("response head too large"))
			return
		}
		h.onChunkLine(trimEOL(line))
	}
}

func (h *httpParser) onStatusLine(line []byte) {
	code, reason, err := parseStatusLineBytes(line)
	h.status = code
	if err != nil {
		h.finish(err)
		return
	}
	h.reason = append(h.reason[:0], reason...)
	h.fr = framing{length: -1}
	h.state = psHeader
}

func (h *httpParser) onHeaderLine(line []byte) {
	if len(line) == 0 {
		h.endOfHead()
		return
	}
	if line[0] == ' ' || line[0] == '\t' {
		h.finish(protoError("obsolete header folding"))
		return
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !isTokenBytes(line[:colon]) {
		h.finish(protoError("bad header line " + quoteShort(line)))
		return
	}
	name, value := line[:colon], bytes.Trim(line[colon+1:], " \t")
	switch {
	case asciiEqualFold(name, "content-length"):
		n, err := parseContentLength(value)
		if err != nil {
			h.finish(err)
			return
		}
		if h.fr.length >= 0 && h.fr.length != n {
			h.finish(protoError("conflicting Content-Length"))
			return
		}
		h.fr.length = n
	case asciiEqualFold(name, "transfer-encoding"):
		// The last coding decides (RFC 9112 section 6.3): chunked ends
		// the body itself, any other reads to the close.
		last := value
		if i := bytes.LastIndexByte(value, ','); i >= 0 {
			last = value[i+1:]
		}
		if asciiEqualFold(bytes.Trim(last, " \t"), "chunked") {
			h.fr.chunked, h.fr.untilDone = true, false
		} else {
			h.fr.chunked, h.fr.untilDone = false, true
		}
	}
}

// endOfHead decides what follows a head: another response after an
// interim one, the body, or nothing.
func (h *httpParser) endOfHead() {
	if h.status < 200 && h.status != 101 {
		if h.interim >= maxInterim {
			h.finish(protoError("too many interim responses"))
			return
		}
		h.interim++
		h.state = psStatus
		return
	}
	switch {
	case h.stop != nil && h.stop(h.status):
		h.finish(errStopped)
	case h.noBody || h.status < 200 || h.status == 204 || h.status == 304:
		h.finish(nil)
	case h.fr.chunked:
		h.state = psChunkSize
	case h.fr.untilDone || h.fr.length < 0:
		h.state = psClose
	case h.fr.length == 0:
		h.finish(nil)
	default:
		h.left, h.state = h.fr.length, psLength
	}
}

// onChunkLine reads the lines of a chunked body (RFC 9112 section 7.1).
func (h *httpParser) onChunkLine(line []byte) {
	switch h.state {
	case psChunkSize:
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions are ignored
		}
		size, ok := parseChunkSize(bytes.TrimRight(line, " \t"))
		switch {
		case !ok:
			h.finish(protoError("bad chunk size"))
		case size == 0:
			h.state = psTrailer
		default:
			h.left, h.state = size, psChunkData
		}
	case psChunkEnd:
		if len(line) != 0 {
			h.finish(protoError("missing CRLF after chunk data"))
			return
		}
		h.state = psChunkSize
	case psTrailer:
		if len(line) == 0 {
			h.finish(nil)
		}
	}
}

// parseChunkSize reads 1 to 15 hexadecimal digits (15 fit in an int64).
func parseChunkSize(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

// parseStatusLine parses "HTTP/1.x NNN reason" (the line ending removed or
// not). RFC 9112 section 4: status-line = HTTP-version SP status-code SP
// [reason-phrase]; a missing SP before an empty reason is tolerated.
func parseStatusLine(line []byte) (code int, reason string, err error) {
	code, r, err := parseStatusLineBytes(line)
	return code, string(r), err
}

// parseStatusLineBytes is parseStatusLine with the reason phrase as a
// slice of line, so that a check's steady state allocates nothing.
func parseStatusLineBytes(line []byte) (code int, reason []byte, err error) {
	line = trimEOL(line)
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[7] < '0' || line[7] > '9' || line[8] != ' ' {
		return 0, nil, protoError("bad status line " + quoteShort(line))
	}
	c := line[9:12]
	for _, d := range c {
		if d < '0' || d > '9' {
			return 0, nil, protoError("bad status code " + quoteShort(line))
		}
	}
	code = int(c[0]-'0')*100 + int(c[1]-'0')*10 + int(c[2]-'0')
	if code < 100 {
		return 0, nil, protoError("bad status code " + quoteShort(line))
	}
	rest := line[12:]
	if len(rest) > 0 {
		if rest[0] != ' ' {
			return 0, nil, protoError("bad status line " + quoteShort(line))
		}
		rest = rest[1:]
	}
	for _, b := range rest {
		if b < 0x20 && b != '\t' || b == 0x7f {
			return 0, nil, protoError("control character in reason phrase")
		}
	}
	return code, rest, nil
}

// parseContentLength accepts one decimal value or a list of identical ones
// ("5, 5"), as RFC 9110 section 8.6 allows.
func parseContentLength(v []byte) (int64, error) {
	n := int64(-1)
	for {
		part, more := v, false
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v, more = v[:i], v[i+1:], true
		}
		part = bytes.Trim(part, " \t")
		if len(part) == 0 || len(part) > 18 {
			return 0, protoError("bad Content-Length")
		}
		var m int64
		for _, d := range part {
			if d < '0' || d > '9' {
				return 0, protoError("bad Content-Length")
			}
			m = m*10 + int64(d-'0')
		}
		if n >= 0 && m != n {
			return 0, protoError("conflicting Content-Length")
		}
		n = m
		if !more {
			return n, nil
		}
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

func isTokenBytes(b []byte) bool {
	for _, c := range b {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		switch c {
		case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
			continue
		}
		return false
	}
	return len(b) > 0
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// quoteShort quotes at most 64 bytes of b for an error message.
func quoteShort(b []byte) string {
	if len(b) > 64 {
		return strconv.Quote(string(b[:64])) + "..."
	}
	return strconv.Quote(string(b))
}
