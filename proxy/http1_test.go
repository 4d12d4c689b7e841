package proxy

import (
	"strings"
	"testing"
)

func TestParseRequestTable(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  parseErr
		// checks on success
		method, target, path, query, host string
		minor                             uint8
		cl                                int64
		chunked, close, keepAlive, upg    bool
		expect100                         bool
	}{
		{name: "simple", in: "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\n\r\n",
			method: "GET", target: "/a?b=c", path: "/a", query: "b=c", host: "example.com", minor: 1, cl: -1},
		{name: "bare LF", in: "GET / HTTP/1.1\nHost: a\n\n", method: "GET", path: "/", host: "a", minor: 1, cl: -1},
		{name: "absolute form", in: "GET http://Example.com:8080/x?y HTTP/1.1\r\nHost: other\r\n\r\n",
			method: "GET", target: "http://Example.com:8080/x?y", path: "/x", query: "y", host: "Example.com", minor: 1, cl: -1},
		{name: "asterisk", in: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", method: "OPTIONS", path: "*", host: "a", minor: 1, cl: -1},
		{name: "http/1.0 no host", in: "GET / HTTP/1.0\r\n\r\n", method: "GET", path: "/", minor: 0, cl: -1},
		{name: "http/1.0 keep-alive", in: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", path: "/", minor: 0, cl: -1, keepAlive: true},
		{name: "later minor is 1.1", in: "GET / HTTP/1.7\r\nHost: a\r\n\r\n", path: "/", host: "a", minor: 1, cl: -1},
		{name: "content-length", in: "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", method: "POST", path: "/p", host: "a", minor: 1, cl: 12},
		{name: "same content-length twice", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n", path: "/", host: "a", minor: 1, cl: 3},
		{name: "chunked", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", path: "/", host: "a", minor: 1, cl: -1, chunked: true},
		{name: "connection close", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", path: "/", host: "a", minor: 1, cl: -1, close: true},
		{name: "upgrade", in: "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n", path: "/ws", host: "a", minor: 1, cl: -1, upg: true},
		{name: "expect", in: "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n", path: "/", host: "a", minor: 1, cl: 1, expect100: true},
		{name: "ows trimmed", in: "GET / HTTP/1.1\r\nHost: \t a \t\r\n\r\n", path: "/", host: "a", minor: 1, cl: -1},
		{name: "obs-text value", in: "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n", path: "/", host: "a", minor: 1, cl: -1},

		{name: "no host on 1.1", in: "GET / HTTP/1.1\r\n\r\n", err: errBadHost},
		{name: "two hosts", in: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", err: errBadHost},
		{name: "bad host char", in: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", err: errBadHost},
		{name: "cl and te", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", err: errBadTransferEnc},
		{name: "te on 1.0", in: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", err: errBadTransferEnc},
		{name: "te not chunked", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", err: errBadTransferEnc},
		{name: "te gzip chunked", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", err: errBadTransferEnc},
		{name: "te chunked twice", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", err: errBadTransferEnc},
		{name: "te chunked then identity", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", err: errBadTransferEnc},
		{name: "differing cl", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", err: errBadContentLen},
		{name: "cl list", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n", err: errBadContentLen},
		{name: "negative cl", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", err: errBadContentLen},
		{name: "plus cl", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", err: errBadContentLen},
		{name: "empty cl", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", err: errBadContentLen},
		{name: "huge cl", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", err: errBadContentLen},
		{name: "space before colon", in: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", err: errBadHeader},
		{name: "space in name", in: "GET / HTTP/1.1\r\nHost: a\r\nX Y: z\r\n\r\n", err: errBadHeader},
		{name: "empty name", in: "GET / HTTP/1.1\r\nHost: a\r\n: z\r\n\r\n", err: errBadHeader},
		{name: "no colon", in: "GET / HTTP/1.1\r\nHost: a\r\nXYZ\r\n\r\n", err: errBadHeader},
		{name: "obs-fold", in: "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", err: errBadHeader},
		{name: "NUL in value", in: "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", err: errBadHeader},
		{name: "bare CR in value", in: "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", err: errBadHeader},
		{name: "DEL in value", in: "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", err: errBadHeader},
		{name: "bad connection token", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: a b\r\n\r\n", err: errBadHeader},
		{name: "double space", in: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", err: errBadRequestLine},
		{name: "trailing space", in: "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", err: errBadRequestLine},
		{name: "space in uri", in: "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", err: errBadRequestLine},
		{name: "tab separator", in: "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", err: errBadRequestLine},
		{name: "ctl in uri", in: "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", err: errBadRequestLine},
		{name: "non-ascii uri", in: "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", err: errBadRequestLine},
		{name: "relative uri", in: "GET foo HTTP/1.1\r\nHost: a\r\n\r\n", err: errBadRequestLine},
		{name: "lower-case version", in: "GET / http/1.1\r\nHost: a\r\n\r\n", err: errBadRequestLine},
		{name: "http/0.9", in: "GET /\r\n\r\n", err: errBadRequestLine},
		{name: "http/2.0", in: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", err: errBadVersion},
		{name: "bad method", in: "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", err: errBadRequestLine},
		{name: "connect", in: "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", err: errMethodNotImpl},
		{name: "too many fields", in: "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", maxHeaders) + "\r\n", err: errTooManyHeaders},
	}
	var m msgHead
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(tc.in)
			end, _ := headEnd(raw, 0)
			if end != len(raw) {
				t.Fatalf("headEnd = %d, want %d", end, len(raw))
			}
			err := m.parseRequest(raw)
			if err != tc.err {
				t.Fatalf("err = %v (%d), want %v (%d)", err, err, tc.err, tc.err)
			}
			if err != errNone {
				return
			}
			check := func(what, got, want string) {
				if want != "" && got != want {
					t.Errorf("%s = %q, want %q", what, got, want)
				}
			}
			check("method", string(m.b(m.method)), tc.method)
			check("target", string(m.b(m.target)), tc.target)
			check("path", string(m.b(m.path)), tc.path)
			check("query", string(m.b(m.query)), tc.query)
			check("host", string(m.hostValue()), tc.host)
			if m.minor != tc.minor || m.contentLength != tc.cl || m.chunked != tc.chunked ||
				m.connClose != tc.close || m.connUpgrade != tc.upg || m.expect100 != tc.expect100 {
				t.Errorf("minor=%d cl=%d chunked=%v close=%v upgrade=%v expect=%v", m.minor, m.contentLength, m.chunked, m.connClose, m.connUpgrade, m.expect100)
			}
			if tc.keepAlive != (m.minor == 0 && m.keepAlive()) && m.minor == 0 {
				t.Errorf("keepAlive = %v", m.keepAlive())
			}
		})
	}
}

func TestHopByHopFieldsDropped(t *testing.T) {
	in := "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Secret\r\nKeep-Alive: 5\r\nProxy-Connection: x\r\nTE: trailers\r\nTrailer: y\r\nUpgrade: h2c\r\nX-Secret: 1\r\nX-Kept: 2\r\n\r\n"
	var m msgHead
	if e := m.parseRequest([]byte(in)); e != errNone {
		t.Fatal(e)
	}
	var kept []string
	for i := range m.hdrs {
		if !m.hdrs[i].drop {
			kept = append(kept, string(m.b(m.hdrs[i].name)))
		}
	}
	if strings.Join(kept, ",") != "Host,X-Kept" {
		t.Fatalf("kept %v", kept)
	}
}

func TestParseResponseTable(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		err     parseErr
		status  int
		reason  string
		minor   uint8
		cl      int64
		chunked bool
		keep    bool
	}{
		{name: "ok", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", status: 200, reason: "OK", minor: 1, cl: 5, keep: true},
		{name: "no reason", in: "HTTP/1.1 204\r\n\r\n", status: 204, minor: 1, cl: -1, keep: true},
		{name: "empty reason", in: "HTTP/1.1 404 \r\n\r\n", status: 404, minor: 1, cl: -1, keep: true},
		{name: "1.0", in: "HTTP/1.0 200 OK\r\n\r\n", status: 200, reason: "OK", minor: 0, cl: -1},
		{name: "1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", status: 200, reason: "OK", cl: 0, keep: true},
		{name: "te wins over cl", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", status: 200, reason: "OK", minor: 1, cl: -1, chunked: true, keep: true},
		{name: "te gzip means close", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", status: 200, reason: "OK", minor: 1, cl: -1, keep: true},
		{name: "close", in: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", status: 200, reason: "OK", minor: 1, cl: -1},
		{name: "100", in: "HTTP/1.1 100 Continue\r\n\r\n", status: 100, reason: "Continue", minor: 1, cl: -1, keep: true},
		{name: "status 099", in: "HTTP/1.1 099 X\r\n\r\n", err: errBadStatusLine},
		{name: "status 600", in: "HTTP/1.1 600 X\r\n\r\n", err: errBadStatusLine},
		{name: "status letters", in: "HTTP/1.1 2x0 X\r\n\r\n", err: errBadStatusLine},
		{name: "no space", in: "HTTP/1.1 200OK\r\n\r\n", err: errBadStatusLine},
		{name: "http/2", in: "HTTP/2.0 200 OK\r\n\r\n", err: errBadStatusLine},
		{name: "junk", in: "hello\r\n\r\n", err: errBadStatusLine},
		{name: "bad field", in: "HTTP/1.1 200 OK\r\nX : y\r\n\r\n", err: errBadHeader},
		{name: "differing cl", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", err: errBadContentLen},
	}
	var m msgHead
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := m.parseResponse([]byte(tc.in))
			if err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != errNone {
				return
			}
			if m.status != tc.status || string(m.b(m.reason)) != tc.reason || m.minor != tc.minor ||
				m.contentLength != tc.cl || m.chunked != tc.chunked || m.keepAlive() != tc.keep {
				t.Fatalf("status=%d reason=%q minor=%d cl=%d chunked=%v keep=%v", m.status, m.b(m.reason), m.minor, m.contentLength, m.chunked, m.keepAlive())
			}
		})
	}
}

// TestHeadEndIncremental feeds heads byte by byte, as a slow client would,
// and checks that the end is found exactly once, at the right place.
func TestHeadEndIncremental(t *testing.T) {
	for _, h := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
		"GET / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nA: b\r\nC: d\n\r\n",
	} {
		body := "BODY"
		in := []byte(h + body)
		scan := 0
		found := -1
		for n := 1; n <= len(in); n++ {
			end, next := headEnd(in[:n], scan)
			if end > 0 {
				found = end
				break
			}
			if next < scan {
				t.Fatalf("%q: scan went back from %d to %d", h, scan, next)
			}
			scan = next
		}
		if found != len(h) {
			t.Errorf("%q: end %d, want %d", h, found, len(h))
		}
	}
}

func TestSkipLeadingCRLF(t *testing.T) {
	for in, want := range map[string]int{"": 0, "\r\n": 2, "\n\r\nG": 3, "\r": 0, "\r\nGET": 2, "G": 0} {
		if got := skipLeadingCRLF([]byte(in)); got != want {
			t.Errorf("%q: %d, want %d", in, got, want)
		}
	}
}

func TestChunkScanner(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int // bytes belonging to the body
		done bool
		bad  bool
		data string // data bytes, for the step-by-step decoder
	}{
		{name: "simple", in: "5\r\nhello\r\n0\r\n\r\nNEXT", n: 15, done: true, data: "hello"},
		{name: "two chunks", in: "2\r\nhe\r\n3;ext=1\r\nllo\r\n0\r\n\r\n", n: 26, done: true, data: "hello"},
		{name: "hex upper", in: "A\r\n0123456789\r\n0\r\n\r\n", n: 20, done: true, data: "0123456789"},
		{name: "trailers", in: "1\r\nx\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\nZ", n: 25, done: true, data: "x"},
		{name: "partial", in: "5\r\nhel", n: 6, data: "hel"},
		{name: "partial final", in: "0\r\n", n: 3},
		{name: "bare LF", in: "5\nhello\r\n", bad: true},
		{name: "no size", in: "\r\n", bad: true},
		{name: "bad hex", in: "g\r\n", bad: true},
		{name: "missing CRLF after data", in: "1\r\nxy", bad: true},
		{name: "overflow", in: strings.Repeat("f", 16) + "\r\n", bad: true},
		{name: "ctl in ext", in: "1;\x01\r\n", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c chunkScanner
			n, err := c.scan([]byte(tc.in))
			if tc.bad {
				if err == nil {
					t.Fatalf("accepted: n=%d", n)
				}
				return
			}
			if err != nil || n != tc.n || c.done() != tc.done {
				t.Fatalf("n=%d done=%v err=%v, want n=%d done=%v", n, c.done(), err, tc.n, tc.done)
			}
			// Byte by byte, collecting data, must agree.
			var d chunkScanner
			var data []byte
			in := []byte(tc.in)
			pos := 0
			for pos < len(in) && !d.done() {
				k, isData, err := d.step(in[pos : pos+1])
				if err != nil {
					t.Fatal(err)
				}
				if isData {
					data = append(data, in[pos:pos+k]...)
				}
				pos += k
			}
			if pos != tc.n || string(data) != tc.data {
				t.Fatalf("stepwise: consumed %d data %q", pos, data)
			}
		})
	}
}

// TestParseRequestNoAlloc holds the parser to its promise.
func TestParseRequestNoAlloc(t *testing.T) {
	raw := []byte("GET /index.html?x=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: test\r\nAccept: */*\r\nConnection: keep-alive, X-Foo\r\nCookie: a=b; SERVERID=s1\r\nContent-Length: 0\r\n\r\n")
	var m msgHead
	m.parseRequest(raw)
	allocs := testing.AllocsPerRun(100, func() {
		if e := m.parseRequest(raw); e != errNone {
			t.Fatal(e)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per parse", allocs)
	}
}

func BenchmarkParseRequest(b *testing.B) {
	raw := []byte("GET /index.html?x=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\nCookie: a=b; SERVERID=s1\r\n\r\n")
	var m msgHead
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		headEnd(raw, 0)
		m.parseRequest(raw)
	}
}
