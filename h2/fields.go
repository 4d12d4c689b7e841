package h2

import (
	"lbd/h1"
)

// message collects the decoded fields of one header block, checks them
// by RFC 9113 §8.2 and §8.3, and writes them as HTTP/1.1: field lines as
// they come, the start line and the framing once the block is complete.
// It is reused from block to block.
type message struct {
	max      uint32
	size     uint32 // the header list's size as RFC 9113 §6.5.2 counts it
	n        int
	tooLarge bool
	bad      string // the first problem; the rest of the block is only decoded
	regular  bool   // a regular field was seen: no pseudo-header after it

	method, scheme, path, authority, status []byte
	pseudo                                  [5]bool

	host          []byte
	hasHost       bool
	hasCookie     bool
	hasTrailer    bool // a trailer field announces trailers (RFC 9110 §6.6.2)
	contentLength int64
	isHead        bool
	chunked       bool // a response whose body is to be passed on as chunks
	cookie        []byte
	lines         []byte // regular fields, as HTTP/1.1 field lines
	out           []byte // the assembled head or trailer section
}

const (
	pMethod = iota
	pScheme
	pPath
	pAuthority
	pStatus
)

func (m *message) reset(max uint32) {
	*m = message{
		max: max, contentLength: -1,
		method: m.method[:0], scheme: m.scheme[:0], path: m.path[:0], authority: m.authority[:0], status: m.status[:0],
		host: m.host[:0], cookie: m.cookie[:0], lines: m.lines[:0], out: m.out[:0],
	}
}

// field takes one decoded field.
func (m *message) field(name, value string) {
	m.size += uint32(len(name) + len(value) + 32)
	m.n++
	if m.size > m.max || m.n > h1.MaxFields {
		m.tooLarge = true
	}
	if m.tooLarge || m.bad != "" {
		return
	}
	if len(name) > 0 && name[0] == ':' {
		m.pseudoField(name, value)
		return
	}
	m.regular = true
	if !validName(name) {
		m.bad = "invalid field name (uppercase or not a token)"
		return
	}
	if !validFieldValue(value) {
		m.bad = "invalid value of " + name + " (CR, LF, NUL or surrounding whitespace)"
		return
	}
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		// RFC 9113 §8.2.2: connection-specific fields make it malformed.
		m.bad = "connection-specific field " + name
		return
	case "te":
		if value != "trailers" {
			m.bad = "te other than trailers"
			return
		}
	case "content-length":
		n, ok := parseLength(value)
		if !ok || m.contentLength >= 0 && m.contentLength != n {
			m.bad = "invalid or conflicting content-length"
			return
		}
		m.contentLength = n
		return // written again from the parse
	case "host":
		if m.hasHost {
			m.bad = "repeated host"
			return
		}
		m.hasHost = true
		m.host = append(m.host, value...)
		return
	case "trailer":
		m.hasTrailer = true
	case "cookie":
		// RFC 9113 §8.2.3: crumbs are joined for HTTP/1.1.
		if m.hasCookie {
			m.cookie = append(m.cookie, "; "...)
		}
		m.hasCookie = true
		m.cookie = append(m.cookie, value...)
		return
	}
	m.lines = append(m.lines, name...)
	m.lines = append(m.lines, ": "...)
	m.lines = append(m.lines, value...)
	m.lines = append(m.lines, "\r\n"...)
}

func (m *message) pseudoField(name, value string) {
	if m.regular {
		m.bad = "pseudo-header field after a regular field"
		return
	}
	var k int
	var dst *[]byte
	switch name {
	case ":method":
		k, dst = pMethod, &m.method
	case ":scheme":
		k, dst = pScheme, &m.scheme
	case ":path":
		k, dst = pPath, &m.path
	case ":authority":
		k, dst = pAuthority, &m.authority
	case ":status":
		k, dst = pStatus, &m.status
	default:
		m.bad = "unknown pseudo-header field " + name
		return
	}
	if m.pseudo[k] {
		m.bad = "repeated " + name
		return
	}
	if !validFieldValue(value) {
		m.bad = "invalid value of " + name
		return
	}
	m.pseudo[k] = true
	*dst = append(*dst, value...)
}

// requestHead checks a request's pseudo-header fields (RFC 9113 §8.3.1)
// and writes the HTTP/1.1 head; it returns why the request is malformed,
// "" when it is not.
func (m *message) requestHead(endStream bool) string {
	switch {
	case m.bad != "":
		return m.bad
	case m.pseudo[pStatus]:
		return ":status in a request"
	case !m.pseudo[pMethod] || !h1.IsToken(m.method):
		return "missing or invalid :method"
	}
	connect := string(m.method) == "CONNECT"
	if connect {
		// Plain CONNECT (RFC 9113 §8.5) has only :method and :authority;
		// lbd refuses it (501) as it does for HTTP/1.1.
		if m.pseudo[pScheme] || m.pseudo[pPath] || !m.pseudo[pAuthority] {
			return "CONNECT with :scheme or :path, or without :authority"
		}
	} else {
		switch {
		case !m.pseudo[pScheme] || !m.pseudo[pPath]:
			return "missing :scheme or :path"
		case string(m.scheme) != "http" && string(m.scheme) != "https":
			return "unsupported :scheme"
		case !validPath(m.path, string(m.method) == "OPTIONS"):
			return "invalid :path"
		}
	}
	if m.pseudo[pAuthority] && !h1.ValidHost(m.authority) {
		return "invalid :authority"
	}
	if m.pseudo[pAuthority] && m.hasHost && !h1.EqFoldBytes(m.authority, m.host) {
		// RFC 9113 §8.3.1: they must name the same origin.
		return ":authority and host disagree"
	}
	if endStream && m.contentLength > 0 {
		return "content-length without DATA"
	}
	m.isHead = string(m.method) == "HEAD"
	o := append(m.out[:0], m.method...)
	o = append(o, ' ')
	if connect {
		o = append(o, m.authority...)
	} else {
		o = append(o, m.path...)
	}
	o = append(o, " HTTP/1.1\r\n"...)
	switch {
	case m.pseudo[pAuthority]:
		o = appendLine(o, "host", m.authority)
	case m.hasHost:
		o = appendLine(o, "host", m.host)
	}
	o = append(o, m.lines...)
	if m.hasCookie {
		o = appendLine(o, "cookie", m.cookie)
	}
	switch {
	case m.contentLength >= 0:
		o = append(o, "content-length: "...)
		o = appendUint(o, m.contentLength)
		o = append(o, "\r\n"...)
	case !endStream:
		o = append(o, "transfer-encoding: chunked\r\n"...)
	}
	m.out = append(o, "\r\n"...)
	return ""
}

// trailers checks trailer fields and writes them as field lines.
func (m *message) trailers() string {
	switch {
	case m.bad != "":
		return m.bad
	case m.tooLarge:
		return "trailer section too large"
	case m.pseudo != [5]bool{}:
		return "pseudo-header field in trailers"
	}
	o := append(m.out[:0], m.lines...)
	if m.hasCookie {
		o = appendLine(o, "cookie", m.cookie)
	}
	if m.hasHost {
		o = appendLine(o, "host", m.host)
	}
	m.out = o
	return ""
}

func appendLine(o []byte, name string, v []byte) []byte {
	o = append(o, name...)
	o = append(o, ": "...)
	o = append(o, v...)
	return append(o, "\r\n"...)
}

func appendUint(o []byte, n int64) []byte {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(o, b[i:]...)
}

// validName: a token in lower case (RFC 9113 §8.2, §8.2.1).
func validName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c >= 'A' && c <= 'Z' || !h1.IsTokenChar(c) {
			return false
		}
	}
	return true
}

// validFieldValue: no NUL, CR or LF, no whitespace at either end (RFC
// 9113 §8.2.1). Other control characters are left to the HTTP/1.1 parser,
// which refuses them.
func validFieldValue(v string) bool {
	if v == "" {
		return true
	}
	if c := v[0]; c == ' ' || c == '\t' {
		return false
	}
	if c := v[len(v)-1]; c == ' ' || c == '\t' {
		return false
	}
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case 0, '\r', '\n':
			return false
		}
	}
	return true
}

// validPath: origin form ("/..."), or "*" for OPTIONS; visible ASCII only
// (the HTTP/1.1 request line cannot carry anything else).
func validPath(p []byte, options bool) bool {
	if len(p) == 0 {
		return false
	}
	if len(p) == 1 && p[0] == '*' {
		return options
	}
	if p[0] != '/' {
		return false
	}
	for _, c := range p {
		if c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// parseLength reads a content-length: digits only, at most 18.
func parseLength(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return -1, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return -1, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
