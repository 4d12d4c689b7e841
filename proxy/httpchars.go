package proxy

// Character classes and case-insensitive comparisons of RFC 9110 §5.6,
// without allocation.

// stripPort returns the host of "host[:port]", keeping IPv6 brackets.
func stripPort(h []byte) []byte {
	if len(h) > 0 && h[0] == '[' {
		if i := indexByte(h, ']'); i > 0 {
			return h[:i+1]
		}
		return h
	}
	if i := indexByte(h, ':'); i >= 0 {
		return h[:i]
	}
	return h
}

// validHost accepts the characters of RFC 3986 reg-name, IP-literal and
// port, as net/http's httpguts.ValidHostHeader does.
func validHost(h []byte) bool {
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

func isTokenChar(c byte) bool { return tokenChar[c] }

func isToken(b []byte) bool {
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

// eqFold compares b with the lower-case ASCII string s, ignoring b's case.
func eqFold(b []byte, s string) bool {
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

func eqFoldBytes(a, b []byte) bool {
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

func hasPrefixFold(b []byte, s string) bool {
	return len(b) >= len(s) && eqFold(b[:len(s)], s)
}
