package h2

import "lbd/h1"

// The HPACK encoder (RFC 7541). Like HAProxy's (src/hpack-enc.c), it names
// fields by the static table and writes values as plain octets, without
// Huffman coding; and it never adds to the peer's dynamic table. A field
// whose name and value are a static table entry (§A) is one indexed byte
// (§6.1: `:status 200`, `:method GET`); any other is a literal without
// indexing (§6.2.2) that names the static entry of its name when there is
// one, with its value as plain octets (§5.2, H = 0). Nothing is kept
// between header blocks, so an idle connection holds no table for its
// peer, and a field costs one lookup of its name and a copy: no search of
// a dynamic table, no Huffman pass (golang.org/x/net/http2/hpack's general
// encoder, used before, took about 1.5% of an HTTP/2 request's CPU in
// profiles, most of it in its two table searches and Huffman coding). The
// price is the few bytes a field that Huffman coding would have saved on
// the wire.

// appendField appends the representation of name: value to b. name must
// be lower case already, unless lower is set (then it is lowered as it is
// copied: HTTP/2 field names are lower case, §8.2.1 of RFC 9113).
func appendField(b, name, value []byte, lower bool) []byte {
	if i := staticPair(name, value); i != 0 {
		return appendInt(b, 0x80, 7, uint64(i)) // §6.1
	}
	if i := staticName(name, lower); i != 0 {
		b = appendInt(b, 0x00, 4, uint64(i)) // §6.2.2, indexed name
	} else {
		b = append(b, 0x00) // §6.2.2, new name
		b = appendInt(b, 0x00, 7, uint64(len(name)))
		if lower {
			b = appendLower(b, name)
		} else {
			b = append(b, name...)
		}
	}
	return appendString(b, value)
}

// appendString appends a string literal without Huffman coding (§5.2).
func appendString(b, s []byte) []byte {
	b = appendInt(b, 0x00, 7, uint64(len(s)))
	return append(b, s...)
}

// appendInt appends v as an integer with an n-bit prefix (§5.1); first
// holds the representation's bits above the prefix.
func appendInt(b []byte, first byte, n uint, v uint64) []byte {
	max := uint64(1)<<n - 1
	if v < max {
		return append(b, first|byte(v))
	}
	b = append(b, first|byte(max))
	v -= max
	for v >= 128 {
		b = append(b, byte(v&0x7f)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendLower(b, s []byte) []byte {
	for _, ch := range s {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		b = append(b, ch)
	}
	return b
}

// staticPair is the static table's index of name: value, 0 when the pair
// is not there. Only the pairs a proxy writes are looked for: statuses,
// methods, schemes and the root path.
func staticPair(name, value []byte) int {
	if len(name) == 0 || name[0] != ':' {
		return 0
	}
	switch string(name) {
	case ":method":
		switch string(value) {
		case "GET":
			return 2
		case "POST":
			return 3
		}
	case ":path":
		switch string(value) {
		case "/":
			return 4
		case "/index.html":
			return 5
		}
	case ":scheme":
		switch string(value) {
		case "http":
			return 6
		case "https":
			return 7
		}
	case ":status":
		switch string(value) {
		case "200":
			return 8
		case "204":
			return 9
		case "206":
			return 10
		case "304":
			return 11
		case "400":
			return 12
		case "404":
			return 13
		case "500":
			return 14
		}
	}
	return 0
}

// staticName is the index of the static table's first entry named name
// (§A), 0 when none is. With lower, name may have upper-case letters. The
// names of name's length are compared in turn (at most 6, most differing
// at the first byte), as HAProxy does: a hashed map cost more (0.9% of an
// HTTP/2 request's CPU, profiled).
func staticName(name []byte, lower bool) int {
	if len(name) > maxStaticName {
		return 0
	}
	for _, e := range staticByLen[len(name)] {
		if lower && h1.EqFold(name, e.name) || !lower && string(name) == e.name {
			return e.index
		}
	}
	return 0
}

// maxStaticName is the longest name in the static table
// ("access-control-allow-origin").
const maxStaticName = 27

type staticEntry struct {
	name  string
	index int
}

// staticByLen lists the static table's names by length, each once, with
// the index of its first entry.
var staticByLen = func() (t [maxStaticName + 1][]staticEntry) {
	for i, n := range staticTable {
		if i > 0 && staticTable[i-1] == n {
			continue // :method GET, :method POST...: the first index names both
		}
		t[len(n)] = append(t[len(n)], staticEntry{n, i + 1})
	}
	return t
}()

// staticTable holds the names of RFC 7541 Appendix A, index 1 first.
var staticTable = [...]string{
	":authority", ":method", ":method", ":path", ":path", ":scheme", ":scheme",
	":status", ":status", ":status", ":status", ":status", ":status", ":status",
	"accept-charset", "accept-encoding", "accept-language", "accept-ranges",
	"accept", "access-control-allow-origin", "age", "allow", "authorization",
	"cache-control", "content-disposition", "content-encoding",
	"content-language", "content-length", "content-location", "content-range",
	"content-type", "cookie", "date", "etag", "expect", "expires", "from",
	"host", "if-match", "if-modified-since", "if-none-match", "if-range",
	"if-unmodified-since", "last-modified", "link", "location",
	"max-forwards", "proxy-authenticate", "proxy-authorization", "range",
	"referer", "refresh", "retry-after", "server", "set-cookie",
	"strict-transport-security", "transfer-encoding", "user-agent", "vary",
	"via", "www-authenticate",
}
