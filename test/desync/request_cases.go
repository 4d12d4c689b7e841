package desync

import (
	"fmt"
	"strings"
)

// want is what must happen to one message of a case.
type want struct {
	kind   outcome
	status int // refused: the status (0: any 4xx/5xx)
	// forwarded: what the origin must read.
	method, target, host string
	body                 string
	trailers             map[string]string // trailer -> value; "" means absent
	absent               []string          // header fields the origin must not see
}

type outcome uint8

const (
	forwarded outcome = iota // the origin reads it as described
	refused                  // the client gets an error, the origin nothing
	either                   // one or the other (mutation families)
	cut                      // the client stops mid-message: no response needed, the origin gets nothing whole
)

// reqCase is a request-side case: the client sends raw in one write (and
// closes its sending side with eof); the messages in it fare as msgs say,
// in order.
type reqCase struct {
	name string
	raw  string
	msgs []want
	eof  bool
}

func fwd(method, target, host, body string) want {
	return want{kind: forwarded, method: method, target: target, host: host, body: body}
}

func rej(status int) want { return want{kind: refused, status: status} }

func may(method, target, host, body string) want {
	w := fwd(method, target, host, body)
	w.kind = either
	return w
}

func (w want) without(fields ...string) want { w.absent = append(w.absent, fields...); return w }

func (w want) withTrailers(kv ...string) want {
	w.trailers = map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		w.trailers[kv[i]] = kv[i+1]
	}
	return w
}

const (
	chunkedHello = "5\r\nhello\r\n0\r\n\r\n"
	postCL       = "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
	postChunked  = "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedHello
)

// requestCases is the request-side table: the audit's findings with their
// bytes, then families (Connection tokens, CL/TE combinations, header and
// chunk syntax, trailers, request lines, Host, pipelining, 100-continue,
// Upgrade, sizes) and byte mutations of the framing fields.
func requestCases() []reqCase {
	var cs []reqCase
	add := func(name, raw string, msgs ...want) { cs = append(cs, reqCase{name: name, raw: raw, msgs: msgs}) }

	// Finding 1: Connection naming a framing field or Host.
	smuggle := "GET /admin-smuggled HTTP/1.1\r\nHost: internal\r\n\r\n"
	add("audit 1: Connection: Content-Length",
		"POST /public HTTP/1.1\r\nHost: a\r\nContent-Length: 48\r\nConnection: Content-Length\r\n\r\n"+smuggle,
		fwd("POST", "/public", "a", smuggle))
	prefix := "GET /attacker-chosen HTTP/1.0\r\nX-Ignore: "
	add("audit 1: poisoned prefix on a kept server connection",
		fmt.Sprintf("POST /public HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\nConnection: Content-Length\r\n\r\n%s", len(prefix), prefix),
		fwd("POST", "/public", "a", prefix))
	for _, conn := range []string{
		"content-length", "CONTENT-LENGTH", "close, Content-Length", "Host, Content-Length",
		"Upgrade, Content-Length", "keep-alive, Content-Length, Host", "Content-Length, Transfer-Encoding",
	} {
		add("audit 1: Connection: "+conn+" (length body)",
			"POST /public HTTP/1.1\r\nHost: a\r\nContent-Length: 48\r\nConnection: "+conn+"\r\n\r\n"+smuggle,
			fwd("POST", "/public", "a", smuggle))
	}
	add("audit 1: the name in a second Connection field",
		"POST /public HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nContent-Length: 48\r\nConnection: Content-Length\r\n\r\n"+smuggle,
		fwd("POST", "/public", "a", smuggle))
	add("audit 1: Connection: Transfer-Encoding on a chunked body",
		"POST /public HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: Transfer-Encoding\r\n\r\n"+chunkedHello,
		fwd("POST", "/public", "a", "hello"))
	add("audit 1: Connection: transfer-encoding, then a smuggled request",
		"POST /public HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: transfer-encoding\r\n\r\n0\r\n\r\n"+smuggle,
		fwd("POST", "/public", "a", ""), fwd("GET", "/admin-smuggled", "internal", ""))
	add("audit 1: Connection: Host (an HTTP/1.1 request without Host)",
		"GET /h HTTP/1.1\r\nHost: a\r\nConnection: Host\r\n\r\n",
		fwd("GET", "/h", "a", ""))
	add("audit 1: Connection: Upgrade, Content-Length with Upgrade",
		"POST /up HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nContent-Length: 48\r\nConnection: Upgrade, Content-Length\r\n\r\n"+smuggle,
		fwd("POST", "/up", "a", smuggle))

	// Finding 2: trailers.
	add("audit 2: a request line as a trailer",
		"POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", rej(400))
	trailerCases := []struct {
		name, trailers string
		w              want
	}{
		{"plain", "X-T: 1\r\n", fwd("POST", "/t", "a", "hello").withTrailers("X-T", "1")},
		{"two", "X-A: 1\r\nX-B: two words\r\n", fwd("POST", "/t", "a", "hello").withTrailers("X-A", "1", "X-B", "two words")},
		{"content-length dropped", "Content-Length: 5\r\nX-T: 1\r\n", fwd("POST", "/t", "a", "hello").withTrailers("X-T", "1", "Content-Length", "")},
		{"transfer-encoding dropped", "Transfer-Encoding: chunked\r\n", fwd("POST", "/t", "a", "hello").withTrailers("Transfer-Encoding", "")},
		{"host dropped", "Host: evil\r\n", fwd("POST", "/t", "a", "hello").withTrailers("Host", "")},
		{"authorization dropped", "Authorization: Basic x\r\n", fwd("POST", "/t", "a", "hello").withTrailers("Authorization", "")},
		{"connection dropped", "Connection: close\r\n", fwd("POST", "/t", "a", "hello").withTrailers("Connection", "")},
		{"space in name", "X Y: z\r\n", rej(400)},
		{"no colon", "nocolon\r\n", rej(400)},
		{"space before colon", "X-T : 1\r\n", rej(400)},
		{"obs-fold", "X-T: 1\r\n folded\r\n", rej(400)},
		{"NUL", "X-T: a\x00b\r\n", rej(400)},
		{"bare CR", "X-T: a\rb\r\n", rej(400)},
		{"bare LF", "X-T: 1\n", rej(400)},
		{"empty name", ": v\r\n", rej(400)},
		{"101 fields", strings.Repeat("X-T: 1\r\n", 101), rej(400)},
		{"20 KB", "X-T: " + strings.Repeat("a", 20000) + "\r\n", rej(400)},
		{"5000 lines", strings.Repeat("a:b\r\n", 5000), rej(400)},
	}
	for _, tc := range trailerCases {
		add("audit 2: trailer "+tc.name, "POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"+tc.trailers+"\r\n", tc.w)
	}

	// Finding 3 and the CL/TE matrix: Transfer-Encoding values, with and
	// without Content-Length.
	teValues := []struct {
		v  string
		ok bool
	}{
		{"chunked", true}, {"Chunked", true}, {"CHUNKED", true}, {" chunked", true}, {"chunked ", true},
		{"\tchunked", true}, {"chunked\t", true},
		{"chunked,", false}, {",chunked", false}, {"chunked, ", false}, {", chunked", false}, {"chunked,,", false},
		{"chunked, chunked", false}, {"gzip, chunked", false}, {"identity", false}, {"identity, chunked", false},
		{"chunked, identity", false}, {"xchunked", false}, {"chunk", false}, {"chunkedx", false}, {"\"chunked\"", false},
		{"chunked;x=1", false}, {"chunked\x0b", false}, {"chunked\x00", false}, {"", false}, {"chunked\r", false},
		{"ch\x00unked", false}, {"chunked\x0c", false},
	}
	for _, te := range teValues {
		raw := "POST /te HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + te.v + "\r\n\r\n" + chunkedHello
		w := rej(400)
		if te.ok {
			w = fwd("POST", "/te", "a", "hello")
		}
		add(fmt.Sprintf("audit 3: Transfer-Encoding %q", te.v), raw, w)
		add(fmt.Sprintf("CL.TE: Transfer-Encoding %q after Content-Length", te.v),
			"POST /te HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: "+te.v+"\r\n\r\n"+chunkedHello, rej(400))
		add(fmt.Sprintf("TE.CL: Transfer-Encoding %q before Content-Length", te.v),
			"POST /te HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "+te.v+"\r\nContent-Length: 3\r\n\r\n"+chunkedHello, rej(400))
	}
	add("two Transfer-Encoding fields", "POST /te HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"+chunkedHello, rej(400))
	add("Transfer-Encoding then identity field", "POST /te HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n"+chunkedHello, rej(400))
	add("Transfer-Encoding on HTTP/1.0", "POST /te HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"+chunkedHello, rej(400))
	add("Transfer_Encoding is another field", "POST /te HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer_Encoding: chunked\r\n\r\nhello",
		fwd("POST", "/te", "a", "hello"))
	for _, name := range []string{"Transfer-Encoding :", " Transfer-Encoding:", "Transfer-Encoding\x00:", "X: y\r\n Transfer-Encoding:", "Transfer-Encoding\r\n:"} {
		add(fmt.Sprintf("obfuscated field name %q with Content-Length", name),
			"POST /te HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"+name+" chunked\r\n\r\nhello", rej(400))
	}
	add("Transfer-Encoding folded onto the next line", "POST /te HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding:\r\n chunked\r\n\r\nhello", rej(400))

	// Content-Length values.
	clValues := []struct {
		v  string
		ok bool
	}{
		{"5", true}, {"05", true}, {"000000000000000000000000000000005", true}, {" 5", true}, {"5 ", true}, {"\t5", true},
		{"+5", false}, {"-5", false}, {"5.0", false}, {"5 5", false}, {"5,5", false}, {"5, 5", false}, {"0x5", false},
		{"5\x00", false}, {"", false}, {"1e1", false}, {"\xd9\xa5", false}, {"1000000000000000000", false},
		{"99999999999999999999", false}, {"5\x0b", false}, {"five", false}, {"5;", false},
	}
	for _, cl := range clValues {
		raw := "POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: " + cl.v + "\r\n\r\nhello"
		w := rej(400)
		if cl.ok {
			w = fwd("POST", "/cl", "a", "hello")
		}
		add(fmt.Sprintf("Content-Length %q", cl.v), raw, w)
	}
	add("two equal Content-Length", "POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", fwd("POST", "/cl", "a", "hello"))
	add("two Content-Length, leading zeros", "POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 005\r\n\r\nhello", fwd("POST", "/cl", "a", "hello"))
	add("two different Content-Length", "POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", rej(400))
	add("Content-Length 0 on POST", "POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", fwd("POST", "/cl", "a", ""))
	add("Content-Length on GET", "GET /cl HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", fwd("GET", "/cl", "a", "hello"))
	add("Content-Length shorter than the body", "POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nhello\r\n\r\n", fwd("POST", "/cl", "a", "hell"), rej(400))
	add("space before colon", "POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello", rej(400))

	// Chunk-size lines.
	sizes := []struct {
		v  string
		ok bool
	}{
		{"5", true}, {"05", true}, {"000000000000000000000005", true}, {"5 ", true}, {"5\t", true}, {"5;a", true},
		{"5;a=b", true}, {"5 ;a", true}, {"5;a=\"b c\"", true}, {"5;", true}, {"5;a;b=c", true},
		{"0x5", false}, {"-5", false}, {"+5", false}, {"5 x", false}, {" 5", false}, {"", false}, {";a", false},
		{"5;\x00", false}, {"fffffffffffffffff", false}, {"5\x00", false}, {"5\x0b", false}, {"5\n", false},
		{"5\r", false}, {"４", false}, {strings.Repeat("0", 5000) + "5", false},
	}
	for _, sz := range sizes {
		raw := "POST /ch HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + sz.v + "\r\nhello\r\n0\r\n\r\n"
		w := rej(400)
		if sz.ok {
			w = fwd("POST", "/ch", "a", "hello")
		}
		add(fmt.Sprintf("chunk size %q", clipName(sz.v)), raw, w)
	}
	chunkBodies := []struct {
		name, body string
		w          want
	}{
		{"two chunks", "2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n", fwd("POST", "/ch", "a", "hello")},
		{"hex letters", "a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n", fwd("POST", "/ch", "a", "01234567890123456789")},
		{"size shorter than data", "4\r\nhello\r\n0\r\n\r\n", rej(400)},
		{"size longer than data", "6\r\nhello\r\n0\r\n\r\n", rej(400)},
		{"LF only after data", "5\r\nhello\n0\r\n\r\n", rej(400)},
		{"no CRLF after data", "5\r\nhello0\r\n\r\n", rej(400)},
		{"bare LF size line", "5\nhello\r\n0\r\n\r\n", rej(400)},
		{"LF-only last chunk", "5\r\nhello\r\n0\n\n", rej(400)},
		{"last chunk extension", "5\r\nhello\r\n0;done=1\r\n\r\n", fwd("POST", "/ch", "a", "hello")},
		{"last chunk with leading zeros", "5\r\nhello\r\n000\r\n\r\n", fwd("POST", "/ch", "a", "hello")},
		{"CR before final LF missing", "5\r\nhello\r\n0\r\n\n", rej(400)},
		{"empty chunk body", "0\r\n\r\n", fwd("POST", "/ch", "a", "")},
		{"smuggled after the last chunk", "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: b\r\n\r\n", fwd("POST", "/ch", "a", "")},
	}
	for _, cb := range chunkBodies {
		msgs := []want{cb.w}
		if strings.Contains(cb.name, "smuggled") {
			msgs = append(msgs, fwd("GET", "/smuggled", "b", ""))
		}
		add("chunked body: "+cb.name, "POST /ch HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"+cb.body, msgs...)
	}

	// Finding 4: absolute-form target and Host.
	add("audit 4: absolute-form with another Host", "GET http://evil/e2 HTTP/1.1\r\nHost: good\r\n\r\n", fwd("GET", "http://evil/e2", "evil", ""))
	add("absolute-form with a port", "GET http://evil:8080/e HTTP/1.1\r\nHost: good\r\n\r\n", fwd("GET", "http://evil:8080/e", "evil:8080", ""))
	add("absolute-form with query", "GET http://evil?x=1 HTTP/1.1\r\nHost: good\r\n\r\n", fwd("GET", "http://evil?x=1", "evil", ""))
	add("absolute-form on HTTP/1.0 without Host", "GET http://evil/e HTTP/1.0\r\n\r\n", fwd("GET", "http://evil/e", "evil", ""))
	add("absolute-form with userinfo", "GET http://user@evil/e HTTP/1.1\r\nHost: good\r\n\r\n", rej(400))
	add("absolute-form empty authority", "GET http:///e HTTP/1.1\r\nHost: good\r\n\r\n", rej(400))
	add("absolute-form bad authority", "GET http://ev il/e HTTP/1.1\r\nHost: good\r\n\r\n", rej(400))

	// Finding 6 and Host.
	add("audit 6: Host with only whitespace", "GET /h HTTP/1.1\r\nHost:  \t \r\n\r\n", rej(400))
	add("audit 6: # in the target", "GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", rej(400))
	add("audit 6: chunk size with many leading zeros", "POST /z HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n000000000000000000000000000000005\r\nhello\r\n0\r\n\r\n", fwd("POST", "/z", "a", "hello"))
	add("audit 6: Content-Length with many leading zeros", "POST /z HTTP/1.1\r\nHost: a\r\nContent-Length: 000000000000000000000000000000005\r\n\r\nhello", fwd("POST", "/z", "a", "hello"))
	add("no Host on HTTP/1.1", "GET /h HTTP/1.1\r\n\r\n", rej(400))
	add("no Host on HTTP/1.0", "GET /h HTTP/1.0\r\n\r\n", fwd("GET", "/h", "", ""))
	add("empty Host", "GET /h HTTP/1.1\r\nHost:\r\n\r\n", rej(400))
	add("two Host fields", "GET /h HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", rej(400))
	add("two Host fields, same value", "GET /h HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", rej(400))
	add("Host with a slash", "GET /h HTTP/1.1\r\nHost: a/b\r\n\r\n", rej(400))
	add("Host with userinfo", "GET /h HTTP/1.1\r\nHost: u@a\r\n\r\n", rej(400))
	add("Host with a space", "GET /h HTTP/1.1\r\nHost: a b\r\n\r\n", rej(400))
	add("Host IPv6 literal", "GET /h HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n", fwd("GET", "/h", "[2001:db8::1]:80", ""))
	add("host field name lower case", "GET /h HTTP/1.1\r\nhost: a\r\n\r\n", fwd("GET", "/h", "a", ""))

	// Request lines.
	lines := []struct {
		line string
		w    want
	}{
		{"GET / HTTP/1.1", fwd("GET", "/", "a", "")},
		{"GET /a?b=c&d HTTP/1.1", fwd("GET", "/a?b=c&d", "a", "")},
		{"OPTIONS * HTTP/1.1", fwd("OPTIONS", "*", "a", "")},
		{"GET * HTTP/1.1", fwd("GET", "*", "a", "")},
		{"PATCH /p HTTP/1.1", fwd("PATCH", "/p", "a", "")},
		{"X-CUSTOM /p HTTP/1.1", fwd("X-CUSTOM", "/p", "a", "")},
		{"GET /p HTTP/1.2", fwd("GET", "/p", "a", "")},
		{"GET  / HTTP/1.1", rej(400)},
		{"GET / HTTP/1.1 ", rej(400)},
		{" GET / HTTP/1.1", rej(400)},
		{"GET\t/ HTTP/1.1", rej(400)},
		{"GET /\t HTTP/1.1", rej(400)},
		{"GET / http/1.1", rej(400)},
		{"GET / HTTP/1.1x", rej(400)},
		{"GET / HTTP/11", rej(400)},
		{"GET / HTTP/2.0", rej(505)},
		{"GET / HTTP/0.9", rej(505)},
		{"GET /", rej(400)},
		{"GET / HTTP/1.1\x00", rej(400)},
		{"G\x00T / HTTP/1.1", rej(400)},
		{"GET /\x01 HTTP/1.1", rej(400)},
		{"GET /\x7f HTTP/1.1", rej(400)},
		{"GET /\xc3\xa9 HTTP/1.1", rej(400)},
		{"GET a HTTP/1.1", rej(400)},
		{"G(T / HTTP/1.1", rej(400)},
		{"CONNECT a:443 HTTP/1.1", rej(501)},
		{"GET /a\rb HTTP/1.1", rej(400)},
	}
	for _, l := range lines {
		add(fmt.Sprintf("request line %q", l.line), l.line+"\r\nHost: a\r\n\r\n", l.w)
	}
	add("leading empty lines", "\r\n\r\nGET /lead HTTP/1.1\r\nHost: a\r\n\r\n", fwd("GET", "/lead", "a", ""))
	add("bare LF line ends", "GET /lf HTTP/1.1\nHost: a\n\n", fwd("GET", "/lf", "a", ""))
	add("bare LF line ends with body", "POST /lf HTTP/1.1\nHost: a\nContent-Length: 5\n\nhello", fwd("POST", "/lf", "a", "hello"))
	add("mixed line ends", "POST /lf HTTP/1.1\r\nHost: a\nContent-Length: 5\r\n\nhello", fwd("POST", "/lf", "a", "hello"))

	// Field syntax: obs-fold, bare CR, NUL and other CTLs.
	fields := []struct {
		name, field string
		ok          bool
	}{
		{"obs-fold space", "X-A: 1\r\n 2", false},
		{"obs-fold tab", "X-A: 1\r\n\t2", false},
		{"obs-fold first line", " X-A: 1", false},
		{"bare CR in value", "X-A: 1\r2", false},
		{"bare CR at end", "X-A: 1\r", false},
		{"NUL in value", "X-A: 1\x002", false},
		{"NUL in name", "X-\x00A: 1", false},
		{"VT in value", "X-A: 1\x0b2", false},
		{"FF in value", "X-A: \x0c", false},
		{"DEL in value", "X-A: \x7f", false},
		{"ESC in value", "X-A: \x1b[0m", false},
		{"space in name", "X A: 1", false},
		{"tab before colon", "X-A\t: 1", false},
		{"no colon", "X-A 1", false},
		{"empty name", ": 1", false},
		{"colon in name", "X:A: 1", true},
		{"empty value", "X-A:", true},
		{"obs-text value", "X-A: caf\xc3\xa9", true},
		{"tab in value", "X-A: a\tb", true},
		{"quotes and commas", "X-A: \"a, b\", c", true},
		{"underscore name", "X_A: 1", true},
		{"high byte in name", "X-\xc3\xa9: 1", false},
	}
	for _, f := range fields {
		raw := "POST /f HTTP/1.1\r\nHost: a\r\n" + f.field + "\r\nContent-Length: 5\r\n\r\nhello"
		w := rej(400)
		if f.ok {
			w = fwd("POST", "/f", "a", "hello")
		}
		add("field "+f.name, raw, w)
	}

	// Pipelining.
	add("pipelined GETs", "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", fwd("GET", "/1", "a", ""), fwd("GET", "/2", "a", ""))
	add("pipelined POST then GET", postCL+"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n", fwd("POST", "/p", "a", "hello"), fwd("GET", "/2", "a", ""))
	add("pipelined chunked then GET", postChunked+"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n", fwd("POST", "/p", "a", "hello"), fwd("GET", "/2", "a", ""))
	add("pipelined chunked with trailers then GET", "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
		fwd("POST", "/p", "a", "hello").withTrailers("X-T", "1"), fwd("GET", "/2", "a", ""))
	add("pipelined three", "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"+postChunked+postCL, fwd("GET", "/1", "a", ""), fwd("POST", "/p", "a", "hello"), fwd("POST", "/p", "a", "hello"))
	add("pipelined GET then garbage", "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nXYZ\r\n\r\n", fwd("GET", "/1", "a", ""), rej(400))
	add("pipelined GET then a bad one", "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", fwd("GET", "/1", "a", ""), rej(400))
	add("Connection: close then another", "GET /1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", fwd("GET", "/1", "a", ""))
	add("HTTP/1.0 then another", "GET /1 HTTP/1.0\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", fwd("GET", "/1", "", ""))
	add("HTTP/1.0 keep-alive then another", "GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", fwd("GET", "/1", "", ""), fwd("GET", "/2", "a", ""))
	add("body then empty lines then GET", postCL+"\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n", fwd("POST", "/p", "a", "hello"), fwd("GET", "/2", "a", ""))

	// 100-continue and Expect.
	add("Expect: 100-continue with a body", "POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello", fwd("POST", "/e", "a", "hello"))
	add("Expect: 100-continue chunked", "POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"+chunkedHello, fwd("POST", "/e", "a", "hello"))
	add("Expect: 100-continue without body", "GET /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", fwd("GET", "/e", "a", ""))

	// Upgrade requests the origin does not accept (it answers 200).
	add("websocket upgrade answered 200", "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n", fwd("GET", "/ws", "a", ""))
	add("h2c upgrade with a body answered 200", "POST /h2c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nContent-Length: 5\r\n\r\nhello", fwd("POST", "/h2c", "a", "hello").without("Http2-Settings"))
	add("Upgrade on HTTP/1.0", "GET /ws HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", fwd("GET", "/ws", "", "").without("Upgrade"))
	add("Upgrade without Connection: upgrade", "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", fwd("GET", "/ws", "a", "").without("Upgrade"))

	// Hop-by-hop and Connection-named fields.
	add("Connection-named field removed", "GET /c HTTP/1.1\r\nHost: a\r\nConnection: X-Secret\r\nX-Secret: 1\r\n\r\n", fwd("GET", "/c", "a", "").without("X-Secret"))
	add("hop-by-hop fields removed", "GET /c HTTP/1.1\r\nHost: a\r\nKeep-Alive: 5\r\nProxy-Connection: x\r\nTE: trailers\r\n\r\n", fwd("GET", "/c", "a", "").without("Keep-Alive", "Proxy-Connection", "Te"))
	add("17 Connection tokens", "GET /c HTTP/1.1\r\nHost: a\r\nConnection: "+strings.Repeat("x,", 17)+"y\r\n\r\n", rej(400))
	add("bad Connection token", "GET /c HTTP/1.1\r\nHost: a\r\nConnection: a b\r\n\r\n", rej(400))

	// Sizes.
	add("head over the buffer", "GET /big HTTP/1.1\r\nHost: a\r\n"+strings.Repeat("X-Big: "+strings.Repeat("b", 100)+"\r\n", 170)+"\r\n", rej(431))
	add("URI over the buffer", "GET /"+strings.Repeat("u", 17000)+" HTTP/1.1\r\nHost: a\r\n\r\n", rej(414))
	add("101 fields", "GET /many HTTP/1.1\r\nHost: a\r\n"+strings.Repeat("X: y\r\n", 100)+"\r\n", rej(400))
	add("100 fields", "GET /many HTTP/1.1\r\n"+strings.Repeat("X: y\r\n", 99)+"Host: a\r\n\r\n", fwd("GET", "/many", "a", ""))
	add("huge chunk size", "POST /ch HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\nhello", want{kind: cut})
	cs[len(cs)-1].eof = true
	add("body cut short", "POST /cut HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello", want{kind: cut})
	cs[len(cs)-1].eof = true
	add("chunked cut before the last chunk", "POST /cut HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", want{kind: cut})
	cs[len(cs)-1].eof = true
	add("chunked cut in the trailers", "POST /cut HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n", want{kind: cut})
	cs[len(cs)-1].eof = true
	add("head cut short", "GET /cut HTTP/1.1\r\nHost: a\r\n", want{kind: cut})
	cs[len(cs)-1].eof = true

	cs = append(cs, mutations()...)
	return cs
}

// mutations inserts bytes a parser might skip, keep or stop at, at five
// places of a framing field (and of Host): whatever lbd does, if it
// forwards the request the origin must read the body the client meant.
func mutations() []reqCase {
	var cs []reqCase
	inserts := []string{"\x00", "\x0b", "\x0c", "\r", " ", "\t", "\xff", "\n"}
	bases := []struct {
		name, before, field, after, tail string
		host                             string
	}{
		{"Content-Length", "POST /m HTTP/1.1\r\nHost: a\r\n", "Content-Length: 5", "\r\n\r\n", "hello", "a"},
		{"Transfer-Encoding", "POST /m HTTP/1.1\r\nHost: a\r\n", "Transfer-Encoding: chunked", "\r\n\r\n", chunkedHello, "a"},
		{"Host", "POST /m HTTP/1.1\r\n", "Host: a", "\r\nContent-Length: 5\r\n\r\n", "hello", "a"},
	}
	for _, b := range bases {
		colon := strings.IndexByte(b.field, ':')
		for _, pos := range []int{0, 3, colon, colon + 1, len(b.field)} {
			for _, ins := range inserts {
				f := b.field[:pos] + ins + b.field[pos:]
				cs = append(cs, reqCase{
					name: fmt.Sprintf("mutation %s: %q at %d", b.name, ins, pos),
					raw:  b.before + f + b.after + b.tail,
					msgs: []want{may("POST", "/m", b.host, "hello")},
				})
			}
		}
	}
	return cs
}

func clipName(s string) string {
	if len(s) > 40 {
		return s[:20] + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return s
}
