package h1

import "bytes"

// Character classes and case-insensitive comparisons of RFC 9110 §5.6,
// without allocation.

// StripPort returns the host of "host[:port]", keeping IPv6 brackets.
func StripPort(h []byte) []byte {
	if len(h) > 0 && h[0] == '[' {
		if i := bytes.IndexByte(h, ']'); i > 0 {
			return h[:i+1]
		}
		return h
	}
	if i := bytes.IndexByte(h, ':'); i >= 0 {
		return h[:i]
	}
	return h
}

// ValidHost reports whether h is a non-empty authority made of the
// characters of RFC 3986 reg-name, IP-literal and port (no userinfo), as
// net/http's httpguts.ValidHostHeader accepts.
func ValidHost(h []byte) bool {
	if len(h) == 0 {
		return false
	}
	for _, c := range h {
		if !hostChar[c] {
			return false
		}
	}
	return true
}

var hostChar = charTable("-._~!$&'()*+,;=:[]%")

// tokenChar marks tchar of RFC 9110 §5.6.2.
var tokenChar = charTable("!#$%&'*+-.^_`|~")

// charTable marks letters, digits and the given ASCII characters.
func charTable(extra string) (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range extra {
		t[c] = true
	}
	return t
}

// IsTokenChar reports whether c is a tchar.
func IsTokenChar(c byte) bool { return tokenChar[c] }

// IsToken reports whether b is a non-empty token.
func IsToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenChar[c] {
			return false
		}
	}
	return true
}

// validValue reports whether b holds only field-value characters: visible
// ASCII, obs-text, SP and HTAB (no CTL, no DEL).
func validValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// EqFold compares b with the lower-case ASCII string s, ignoring b's case.
func EqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// EqFoldBytes compares a and b ignoring ASCII case.
func EqFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// HasPrefixFold reports whether b starts with the lower-case string s,
// ignoring b's case.
func HasPrefixFold(b []byte, s string) bool {
	return len(b) >= len(s) && EqFold(b[:len(s)], s)
}

// trimOWS removes optional whitespace (SP, HTAB) around b.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// ForEachToken calls f for each comma-separated element of v, trimmed of
// OWS (empty elements included), until f returns false. Elements share v's
// memory.
func ForEachToken(v []byte, f func([]byte) bool) {
	if len(v) == 0 {
		return
	}
	for {
		i := bytes.IndexByte(v, ',')
		if i < 0 {
			f(trimOWS(v))
			return
		}
		if !f(trimOWS(v[:i])) {
			return
		}
		v = v[i+1:]
	}
}
