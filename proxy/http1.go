package proxy

// This file is the zero-allocation HTTP/1.x head parser (RFC 9112). It works
// on a head already known to be complete (see headEnd): one pass over the
// bytes fills a reused msgHead with offsets into the caller's buffer, so
// nothing is copied and nothing allocated. It is strict the way HAProxy is:
// what a smuggling attack needs (bare CR, obs-fold, spaces before the colon,
// conflicting framing) is refused rather than repaired.

// maxHeaders is the most header fields a head may carry; HAProxy's default
// (tune.http.maxhdr) is 101.
const maxHeaders = 100

// maxConnTokens bounds the tokens of Connection headers; each names a header
// that must be stripped, so more than this is refused instead of ignored.
const maxConnTokens = 16

// span is a [off,end) range in msgHead.raw.
type span struct{ off, end int32 }

func (s span) len() int { return int(s.end - s.off) }

// hdrKind identifies the header fields the proxy acts on.
type hdrKind uint8

const (
	hOther hdrKind = iota
	hContentLength
	hTransferEncoding
	hConnection
	hKeepAlive
	hProxyConnection
	hTE
	hTrailer
	hUpgrade
	hHost
	hExpect
	hCookie
	hSetCookie
	hXForwardedFor
	hXForwardedProto
	hXForwardedHost
)

// hdr is one header field: name and value (without surrounding whitespace).
type hdr struct {
	name, value span
	kind        hdrKind
	drop        bool // hop-by-hop or otherwise not forwarded
}

// parseErr is why a head was refused; it maps to a status code.
type parseErr uint8

const (
	errNone           parseErr = iota
	errBadRequestLine          // 400
	errBadVersion              // 505 (request) / 502 (response)
	errBadHeader               // 400: invalid name or value character, obs-fold
	errTooManyHeaders          // 400
	errBadContentLen           // 400: invalid or conflicting Content-Length
	errBadTransferEnc          // 400: not chunked, on HTTP/1.0, or with Content-Length
	errBadHost                 // 400: missing on HTTP/1.1, repeated or invalid
	errBadStatusLine           // 502: response status line
	errTooManyConnTok          // 400
	errURITooLong              // 414: request line alone exceeds the buffer
	errHeadTooLarge            // 431: head exceeds the buffer
	errMethodNotImpl           // 501: CONNECT
)

var parseErrText = [...]string{
	errNone:           "",
	errBadRequestLine: "bad request line",
	errBadVersion:     "unsupported HTTP version",
	errBadHeader:      "invalid header field",
	errTooManyHeaders: "too many header fields",
	errBadContentLen:  "invalid or conflicting Content-Length",
	errBadTransferEnc: "invalid Transfer-Encoding",
	errBadHost:        "missing, repeated or invalid Host",
	errBadStatusLine:  "bad status line",
	errTooManyConnTok: "too many Connection tokens",
	errURITooLong:     "request line too long",
	errHeadTooLarge:   "header section too large",
	errMethodNotImpl:  "method not implemented",
}

func (e parseErr) String() string { return parseErrText[e] }

// status is the HTTP status a client gets for a refused request head.
func (e parseErr) status() int {
	switch e {
	case errBadVersion:
		return 505
	case errURITooLong:
		return 414
	case errHeadTooLarge:
		return 431
	case errMethodNotImpl:
		return 501
	}
	return 400
}

// msgHead is a parsed request or response head. It is reused between
// messages; reset clears it without freeing the header array.
type msgHead struct {
	raw []byte // the head bytes, start line through the blank line

	// Request line.
	method, target span
	path           span // target without scheme://authority (origin form)
	query          span // after '?', empty when none
	authority      span // host of an absolute-form target
	isHead         bool // method HEAD: the response has no body
	idempotent     bool // RFC 9110 §9.2.2: may be replayed on a dead connection

	// Status line.
	status int
	reason span

	minor uint8 // HTTP/1.minor

	hdrs []hdr

	// Framing and connection management, from the fields.
	contentLength int64 // -1 when absent
	chunked       bool  // Transfer-Encoding ends with chunked
	hasTE         bool
	connClose     bool
	connKeepAlive bool
	connUpgrade   bool
	connTokens    [maxConnTokens]span
	nConnTokens   int
	upgrade       int // index in hdrs of Upgrade, -1 when absent
	host          int // index in hdrs of Host, -1 when absent
	expect100     bool
	ambiguous     bool // response had Transfer-Encoding and Content-Length
}

func (m *msgHead) reset(raw []byte) {
	hdrs := m.hdrs[:0]
	*m = msgHead{raw: raw, hdrs: hdrs, contentLength: -1, upgrade: -1, host: -1}
	if m.hdrs == nil {
		m.hdrs = make([]hdr, 0, maxHeaders)
	}
}

// b returns the bytes of s.
func (m *msgHead) b(s span) []byte { return m.raw[s.off:s.end] }

// hostValue is the authority the request is for: the absolute-form
// target's, else the Host field's; without port.
func (m *msgHead) hostValue() []byte {
	var h []byte
	if m.authority.end > m.authority.off {
		h = m.b(m.authority)
	} else if m.host >= 0 {
		h = m.b(m.hdrs[m.host].value)
	}
	return stripPort(h)
}

// keepAlive reports whether the sender of this head wants the connection
// kept open after the message (RFC 9112 §9.3).
func (m *msgHead) keepAlive() bool {
	if m.connClose {
		return false
	}
	if m.minor == 0 {
		return m.connKeepAlive
	}
	return true
}

// headEnd finds the end of a head in b: the index just past the empty line,
// or -1 when more bytes are needed. Lines may end in CRLF or a bare LF.
// from is where an earlier call stopped, so that a head arriving in pieces
// is scanned once; the caller passes back the returned next.
func headEnd(b []byte, from int) (end, next int) {
	i := from
	for {
		j := indexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		// i is the start of a line; an empty line ends the head.
		if i < len(b) && b[i] == '\n' {
			return i + 1, i + 1
		}
		if i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
			return i + 2, i + 2
		}
		if i >= len(b) || (i+1 == len(b) && b[i] == '\r') {
			// The line start is not decidable yet: resume from the LF.
			return -1, i - 1
		}
	}
	n := len(b) - 1
	if n < from {
		n = from
	}
	return -1, n
}

// skipLeadingCRLF returns how many empty lines (CRLF or LF) start b. A
// server ignores them before a request line (RFC 9112 §2.2); they follow
// some clients' POST bodies.
func skipLeadingCRLF(b []byte) int {
	i := 0
	for i < len(b) {
		if b[i] == '\n' {
			i++
		} else if b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			i += 2
		} else {
			break
		}
	}
	return i
}

// nextLine returns the end of the line starting at i (without its CR LF) and
// the start of the next one. ok is false when the line holds a bare CR.
func nextLine(b []byte, i int) (end, next int, ok bool) {
	j := indexByte(b[i:], '\n')
	if j < 0 {
		return len(b), len(b), false
	}
	end, next = i+j, i+j+1
	if end > i && b[end-1] == '\r' {
		end--
	}
	return end, next, true
}

// parseRequest parses a complete request head (as delimited by headEnd).
func (m *msgHead) parseRequest(raw []byte) parseErr {
	m.reset(raw)
	end, next, ok := nextLine(raw, 0)
	if !ok {
		return errBadRequestLine
	}
	if e := m.parseRequestLine(raw[:end]); e != errNone {
		return e
	}
	if e := m.parseFields(next); e != errNone {
		return e
	}
	return m.checkRequest()
}

func (m *msgHead) parseRequestLine(line []byte) parseErr {
	// method SP request-target SP HTTP-version, single spaces (RFC 9112 §3).
	sp1 := indexByte(line, ' ')
	if sp1 <= 0 {
		return errBadRequestLine
	}
	for _, c := range line[:sp1] {
		if !isTokenChar(c) {
			return errBadRequestLine
		}
	}
	rest := line[sp1+1:]
	sp2 := indexByte(rest, ' ')
	if sp2 <= 0 {
		return errBadRequestLine
	}
	sp2 += sp1 + 1
	for _, c := range line[sp1+1 : sp2] {
		// Visible US-ASCII only: no CTL, space, DEL or non-ASCII.
		if c <= ' ' || c >= 0x7f {
			return errBadRequestLine
		}
	}
	m.method = span{0, int32(sp1)}
	m.target = span{int32(sp1 + 1), int32(sp2)}
	minor, e := parseVersion(line[sp2+1:])
	if e != errNone {
		return e
	}
	m.minor = minor
	meth := line[:sp1]
	switch string(meth) {
	case "GET", "OPTIONS", "TRACE", "PUT", "DELETE":
		m.idempotent = true
	case "HEAD":
		m.idempotent, m.isHead = true, true
	case "CONNECT":
		return errMethodNotImpl
	}
	return m.splitTarget()
}

// splitTarget finds the path and query of origin-form and absolute-form
// targets (RFC 9112 §3.2).
func (m *msgHead) splitTarget() parseErr {
	t := m.b(m.target)
	base := m.target.off
	switch {
	case t[0] == '/':
		m.path = m.target
	case len(t) == 1 && t[0] == '*':
		m.path = m.target
		return errNone
	default:
		// absolute-form: scheme "://" authority [path]
		k := indexString(t, "://")
		if k <= 0 {
			return errBadRequestLine
		}
		for _, c := range t[:k] {
			if !isAlnum(c) && c != '+' && c != '-' && c != '.' {
				return errBadRequestLine
			}
		}
		a := k + 3
		e := a
		for e < len(t) && t[e] != '/' && t[e] != '?' {
			e++
		}
		if e == a || !validHost(t[a:e]) {
			return errBadRequestLine
		}
		m.authority = span{base + int32(a), base + int32(e)}
		m.path = span{base + int32(e), m.target.end}
	}
	p := m.b(m.path)
	if q := indexByte(p, '?'); q >= 0 {
		m.query = span{m.path.off + int32(q) + 1, m.path.end}
		m.path.end = m.path.off + int32(q)
	}
	return errNone
}

// parseVersion reads "HTTP/1.0" or "HTTP/1.1"; other well-formed versions
// are unsupported (505), anything else is malformed.
func parseVersion(v []byte) (uint8, parseErr) {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' || !isDigit(v[5]) || !isDigit(v[7]) {
		return 0, errBadRequestLine
	}
	if v[5] != '1' {
		return 0, errBadVersion
	}
	if v[7] == '0' {
		return 0, errNone
	}
	return 1, errNone // 1.1 and later 1.x minors speak 1.1
}

// parseResponse parses a complete response head.
func (m *msgHead) parseResponse(raw []byte) parseErr {
	m.reset(raw)
	end, next, ok := nextLine(raw, 0)
	if !ok {
		return errBadStatusLine
	}
	line := raw[:end]
	// HTTP-version SP 3DIGIT [SP reason-phrase] (RFC 9112 §4).
	if len(line) < 12 || line[8] != ' ' {
		return errBadStatusLine
	}
	minor, e := parseVersion(line[:8])
	if e != errNone {
		return errBadStatusLine
	}
	m.minor = minor
	d := line[9:12]
	if !isDigit(d[0]) || !isDigit(d[1]) || !isDigit(d[2]) || d[0] == '0' || d[0] > '5' {
		return errBadStatusLine
	}
	m.status = int(d[0]-'0')*100 + int(d[1]-'0')*10 + int(d[2]-'0')
	if len(line) > 12 {
		if line[12] != ' ' {
			return errBadStatusLine
		}
		for _, c := range line[13:] {
			if (c < ' ' && c != '\t') || c == 0x7f {
				return errBadStatusLine
			}
		}
		m.reason = span{13, int32(len(line))}
	} else {
		m.reason = span{12, 12}
	}
	if e := m.parseFields(next); e != errNone {
		return e
	}
	return m.checkResponse()
}
