package h1

import "bytes"

// MaxFields is the most header fields a head may carry, and the most
// trailer fields a chunked body may end with; HAProxy's default
// (tune.http.maxhdr) is 101.
const MaxFields = 100

// maxConnTokens bounds the tokens of Connection fields; each names a field
// that must be stripped, so more than this is refused instead of ignored.
const maxConnTokens = 16

// Span is a [Off,End) range in Head.Raw.
type Span struct{ Off, End int32 }

// Len is the length of the span.
func (s Span) Len() int { return int(s.End - s.Off) }

// Kind identifies the header fields the codec or the proxy act on.
type Kind uint8

// Field kinds, by name.
const (
	KindOther Kind = iota
	KindContentLength
	KindTransferEncoding
	KindConnection
	KindKeepAlive
	KindProxyConnection
	KindTE
	KindTrailer
	KindUpgrade
	KindHost
	KindExpect
	KindCookie
	KindSetCookie
	KindXForwardedFor
	KindXForwardedProto
	KindXForwardedHost
)

// Field is one header field: name and value (without surrounding
// whitespace).
type Field struct {
	Name, Value Span
	Kind        Kind
	// Drop marks a field that is not forwarded as received: hop-by-hop
	// fields (RFC 9110 §7.6.1), fields named by Connection, and the fields
	// the forwarder writes itself from the parse (Content-Length,
	// Transfer-Encoding, Host).
	Drop bool
}

// Err is why a head was refused; it maps to a status code.
type Err uint8

// The reasons a head is refused.
const (
	OK                Err = iota
	ErrBadRequestLine     // 400
	ErrBadVersion         // 505 (request) / 502 (response)
	ErrBadHeader          // 400: invalid name or value character, obs-fold
	ErrTooManyHeaders     // 400
	ErrBadContentLen      // 400: invalid or conflicting Content-Length
	ErrBadTransferEnc     // 400: not chunked, on HTTP/1.0, or with Content-Length
	ErrBadHost            // 400: missing on HTTP/1.1, repeated, empty or invalid
	ErrBadStatusLine      // 502: response status line
	ErrTooManyConnTok     // 400
	ErrURITooLong         // 414: request line alone exceeds the buffer
	ErrHeadTooLarge       // 431: head exceeds the buffer
	ErrMethodNotImpl      // 501: CONNECT
)

var errText = [...]string{
	OK:                "",
	ErrBadRequestLine: "bad request line",
	ErrBadVersion:     "unsupported HTTP version",
	ErrBadHeader:      "invalid header field",
	ErrTooManyHeaders: "too many header fields",
	ErrBadContentLen:  "invalid or conflicting Content-Length",
	ErrBadTransferEnc: "invalid Transfer-Encoding",
	ErrBadHost:        "missing, repeated or invalid Host",
	ErrBadStatusLine:  "bad status line",
	ErrTooManyConnTok: "too many Connection tokens",
	ErrURITooLong:     "request line too long",
	ErrHeadTooLarge:   "header section too large",
	ErrMethodNotImpl:  "method not implemented",
}

func (e Err) String() string { return errText[e] }

func (e Err) Error() string { return errText[e] }

// Status is the HTTP status a client gets for a refused request head.
func (e Err) Status() int {
	switch e {
	case ErrBadVersion:
		return 505
	case ErrURITooLong:
		return 414
	case ErrHeadTooLarge:
		return 431
	case ErrMethodNotImpl:
		return 501
	}
	return 400
}

// Head is a parsed request or response head. It is reused between
// messages; its field array is kept across Parse calls.
type Head struct {
	Raw []byte // the head bytes, start line through the blank line

	// Request line.
	Method, Target Span
	Path           Span // target without scheme://authority (origin form)
	Query          Span // after '?', empty when none
	Authority      Span // host[:port] of an absolute-form target
	IsHead         bool // method HEAD: the response has no body
	Idempotent     bool // RFC 9110 §9.2.2: may be replayed on a dead connection

	// Status line.
	Status int
	Reason Span

	Minor uint8 // HTTP/1.Minor

	Fields []Field

	// Framing and connection management, from the fields.
	ContentLength int64 // -1 when absent
	Chunked       bool  // the body is chunked (the last transfer coding)
	HasTE         bool  // Transfer-Encoding present
	ConnClose     bool
	ConnKeepAlive bool
	ConnUpgrade   bool
	Expect100     bool
	// Ambiguous: a response had both Transfer-Encoding and Content-Length;
	// the connection it came on must not be reused (RFC 9112 §6.3).
	Ambiguous bool
	Host      int // index in Fields of Host, -1 when absent
	Upgrade   int // index in Fields of the first Upgrade, -1 when absent

	connTokens  [maxConnTokens]Span
	nConnTokens int
	nTE         int // Transfer-Encoding fields
}

func (m *Head) reset(raw []byte) {
	f := m.Fields[:0]
	*m = Head{Raw: raw, Fields: f, ContentLength: -1, Upgrade: -1, Host: -1}
	if m.Fields == nil {
		m.Fields = make([]Field, 0, MaxFields)
	}
}

// Clear forgets the head's bytes (so a pooled Head keeps no buffer alive)
// but keeps its field array.
func (m *Head) Clear() {
	f := m.Fields[:0]
	*m = Head{Fields: f}
}

// Bytes returns the bytes of s.
func (m *Head) Bytes(s Span) []byte { return m.Raw[s.Off:s.End] }

// Len is the length of the parsed head.
func (m *Head) Len() int { return len(m.Raw) }

// HostField is the authority the request is for, with its port: the
// absolute-form target's (RFC 9112 §3.2.2: it replaces Host), else the Host
// field's. This is the Host the forwarder writes.
func (m *Head) HostField() []byte {
	if m.Authority.End > m.Authority.Off {
		return m.Bytes(m.Authority)
	}
	if m.Host >= 0 {
		return m.Bytes(m.Fields[m.Host].Value)
	}
	return nil
}

// HostValue is HostField without its port.
func (m *Head) HostValue() []byte { return StripPort(m.HostField()) }

// KeepAlive reports whether the sender of this head wants the connection
// kept open after the message (RFC 9112 §9.3).
func (m *Head) KeepAlive() bool {
	if m.ConnClose {
		return false
	}
	if m.Minor == 0 {
		return m.ConnKeepAlive
	}
	return true
}

// HeadEnd finds the end of a head in b: the index just past the empty line,
// or -1 when more bytes are needed. Lines may end in CRLF or a bare LF.
// from is where an earlier call stopped, so that a head arriving in pieces
// is scanned once; the caller passes back the returned next.
func HeadEnd(b []byte, from int) (end, next int) {
	i := from
	for {
		j := bytes.IndexByte(b[i:], '\n')
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

// SkipLeadingCRLF returns how many empty lines (CRLF or LF) start b. A
// server ignores them before a request line (RFC 9112 §2.2); they follow
// some clients' POST bodies.
func SkipLeadingCRLF(b []byte) int {
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
// the start of the next one. ok is false when no LF ends the line.
func nextLine(b []byte, i int) (end, next int, ok bool) {
	j := bytes.IndexByte(b[i:], '\n')
	if j < 0 {
		return len(b), len(b), false
	}
	end, next = i+j, i+j+1
	if end > i && b[end-1] == '\r' {
		end--
	}
	return end, next, true
}

// ParseRequest parses a complete request head (as delimited by HeadEnd).
func (m *Head) ParseRequest(raw []byte) Err {
	m.reset(raw)
	end, next, ok := nextLine(raw, 0)
	if !ok {
		return ErrBadRequestLine
	}
	if e := m.parseRequestLine(raw[:end]); e != OK {
		return e
	}
	if e := m.parseFields(next); e != OK {
		return e
	}
	return m.checkRequest()
}

func (m *Head) parseRequestLine(line []byte) Err {
	// method SP request-target SP HTTP-version, single spaces (RFC 9112 §3).
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return ErrBadRequestLine
	}
	for _, c := range line[:sp1] {
		if !IsTokenChar(c) {
			return ErrBadRequestLine
		}
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return ErrBadRequestLine
	}
	sp2 += sp1 + 1
	for _, c := range line[sp1+1 : sp2] {
		// Visible US-ASCII only: no CTL, space, DEL or non-ASCII; and no
		// fragment, which a client never sends (RFC 9112 §3.2).
		if c <= ' ' || c >= 0x7f || c == '#' {
			return ErrBadRequestLine
		}
	}
	m.Method = Span{0, int32(sp1)}
	m.Target = Span{int32(sp1 + 1), int32(sp2)}
	minor, e := parseVersion(line[sp2+1:])
	if e != OK {
		return e
	}
	m.Minor = minor
	switch string(line[:sp1]) {
	case "GET", "OPTIONS", "TRACE", "PUT", "DELETE":
		m.Idempotent = true
	case "HEAD":
		m.Idempotent, m.IsHead = true, true
	case "CONNECT":
		return ErrMethodNotImpl
	}
	return m.splitTarget()
}

// splitTarget finds the path and query of origin-form and absolute-form
// targets (RFC 9112 §3.2).
func (m *Head) splitTarget() Err {
	t := m.Bytes(m.Target)
	base := m.Target.Off
	switch {
	case t[0] == '/':
		m.Path = m.Target
	case len(t) == 1 && t[0] == '*':
		m.Path = m.Target
		return OK
	default:
		// absolute-form: scheme "://" authority [path]
		k := bytes.Index(t, []byte("://"))
		if k <= 0 {
			return ErrBadRequestLine
		}
		for _, c := range t[:k] {
			if !isAlnum(c) && c != '+' && c != '-' && c != '.' {
				return ErrBadRequestLine
			}
		}
		a := k + 3
		e := a
		for e < len(t) && t[e] != '/' && t[e] != '?' {
			e++
		}
		if !ValidHost(t[a:e]) {
			return ErrBadRequestLine
		}
		m.Authority = Span{base + int32(a), base + int32(e)}
		m.Path = Span{base + int32(e), m.Target.End}
	}
	p := m.Bytes(m.Path)
	if q := bytes.IndexByte(p, '?'); q >= 0 {
		m.Query = Span{m.Path.Off + int32(q) + 1, m.Path.End}
		m.Path.End = m.Path.Off + int32(q)
	}
	return OK
}

// parseVersion reads "HTTP/1.0" or "HTTP/1.1"; other well-formed versions
// are unsupported (505), anything else is malformed.
func parseVersion(v []byte) (uint8, Err) {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' || !isDigit(v[5]) || !isDigit(v[7]) {
		return 0, ErrBadRequestLine
	}
	if v[5] != '1' {
		return 0, ErrBadVersion
	}
	if v[7] == '0' {
		return 0, OK
	}
	return 1, OK // 1.1 and later 1.x minors speak 1.1
}

// ParseResponse parses a complete response head.
func (m *Head) ParseResponse(raw []byte) Err {
	m.reset(raw)
	end, next, ok := nextLine(raw, 0)
	if !ok {
		return ErrBadStatusLine
	}
	if e := m.parseStatusLine(raw[:end]); e != OK {
		return e
	}
	if e := m.parseFields(next); e != OK {
		return e
	}
	return m.checkResponse()
}

// parseStatusLine reads HTTP-version SP 3DIGIT [SP reason-phrase] (RFC 9112
// §4); a missing SP before an empty reason is tolerated.
func (m *Head) parseStatusLine(line []byte) Err {
	if len(line) < 12 || line[8] != ' ' {
		return ErrBadStatusLine
	}
	minor, e := parseVersion(line[:8])
	if e != OK {
		return ErrBadStatusLine
	}
	d := line[9:12]
	if !isDigit(d[0]) || !isDigit(d[1]) || !isDigit(d[2]) || d[0] == '0' || d[0] > '5' {
		return ErrBadStatusLine
	}
	reason := Span{12, 12}
	if len(line) > 12 {
		if line[12] != ' ' || !validValue(line[13:]) {
			return ErrBadStatusLine
		}
		reason = Span{13, int32(len(line))}
	}
	m.Minor = minor
	m.Status = int(d[0]-'0')*100 + int(d[1]-'0')*10 + int(d[2]-'0')
	m.Reason = reason
	return OK
}
