package h1

import (
	"strings"
	"testing"
)

func TestParseRequestTable(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  Err
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
		{name: "absolute form wins over Host", in: "GET http://Example.com:8080/x?y HTTP/1.1\r\nHost: other\r\n\r\n",
			method: "GET", target: "http://Example.com:8080/x?y", path: "/x", query: "y", host: "Example.com", minor: 1, cl: -1},
		{name: "asterisk", in: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", method: "OPTIONS", path: "*", host: "a", minor: 1, cl: -1},
		{name: "http/1.0 no host", in: "GET / HTTP/1.0\r\n\r\n", method: "GET", path: "/", minor: 0, cl: -1},
		{name: "http/1.0 keep-alive", in: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", path: "/", minor: 0, cl: -1, keepAlive: true},
		{name: "later minor is 1.1", in: "GET / HTTP/1.7\r\nHost: a\r\n\r\n", path: "/", host: "a", minor: 1, cl: -1},
		{name: "content-length", in: "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", method: "POST", path: "/p", host: "a", minor: 1, cl: 12},
		{name: "content-length leading zeros", in: "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0000000000000000000000000000012\r\n\r\n", path: "/p", host: "a", minor: 1, cl: 12},
		{name: "content-length zero", in: "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 00\r\n\r\n", path: "/p", host: "a", minor: 1, cl: 0},
		{name: "same content-length twice", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n", path: "/", host: "a", minor: 1, cl: 3},
		{name: "chunked", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", path: "/", host: "a", minor: 1, cl: -1, chunked: true},
		{name: "connection close", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", path: "/", host: "a", minor: 1, cl: -1, close: true},
		{name: "upgrade", in: "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n", path: "/ws", host: "a", minor: 1, cl: -1, upg: true},
		{name: "expect", in: "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n", path: "/", host: "a", minor: 1, cl: 1, expect100: true},
		{name: "ows trimmed", in: "GET / HTTP/1.1\r\nHost: \t a \t\r\n\r\n", path: "/", host: "a", minor: 1, cl: -1},
		{name: "obs-text value", in: "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n", path: "/", host: "a", minor: 1, cl: -1},
		{name: "connection names content-length", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 48\r\nConnection: Content-Length\r\n\r\n", path: "/", host: "a", minor: 1, cl: 48},
		{name: "connection names te", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close, transfer-encoding\r\n\r\n", path: "/", host: "a", minor: 1, cl: -1, chunked: true, close: true},
		{name: "connection names host", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: Host\r\n\r\n", path: "/", host: "a", minor: 1, cl: -1},

		{name: "no host on 1.1", in: "GET / HTTP/1.1\r\n\r\n", err: ErrBadHost},
		{name: "two hosts", in: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", err: ErrBadHost},
		{name: "bad host char", in: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", err: ErrBadHost},
		{name: "empty host", in: "GET / HTTP/1.1\r\nHost:\r\n\r\n", err: ErrBadHost},
		{name: "blank host", in: "GET / HTTP/1.1\r\nHost:  \t \r\n\r\n", err: ErrBadHost},
		{name: "userinfo host", in: "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", err: ErrBadHost},
		{name: "cl and te", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", err: ErrBadTransferEnc},
		{name: "te on 1.0", in: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", err: ErrBadTransferEnc},
		{name: "te not chunked", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", err: ErrBadTransferEnc},
		{name: "te gzip chunked", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", err: ErrBadTransferEnc},
		{name: "te chunked twice", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", err: ErrBadTransferEnc},
		{name: "te chunked then identity", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", err: ErrBadTransferEnc},
		{name: "te leading comma", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n", err: ErrBadTransferEnc},
		{name: "te trailing comma", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n", err: ErrBadTransferEnc},
		{name: "te empty", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", err: ErrBadTransferEnc},
		{name: "te xchunked", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", err: ErrBadTransferEnc},
		{name: "te quoted", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", err: ErrBadTransferEnc},
		{name: "te parameter", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", err: ErrBadTransferEnc},
		{name: "differing cl", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", err: ErrBadContentLen},
		{name: "cl list", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n", err: ErrBadContentLen},
		{name: "negative cl", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", err: ErrBadContentLen},
		{name: "plus cl", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", err: ErrBadContentLen},
		{name: "empty cl", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", err: ErrBadContentLen},
		{name: "huge cl", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\n", err: ErrBadContentLen},
		{name: "hex cl", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", err: ErrBadContentLen},
		{name: "space before colon", in: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", err: ErrBadHeader},
		{name: "space in name", in: "GET / HTTP/1.1\r\nHost: a\r\nX Y: z\r\n\r\n", err: ErrBadHeader},
		{name: "empty name", in: "GET / HTTP/1.1\r\nHost: a\r\n: z\r\n\r\n", err: ErrBadHeader},
		{name: "no colon", in: "GET / HTTP/1.1\r\nHost: a\r\nXYZ\r\n\r\n", err: ErrBadHeader},
		{name: "obs-fold", in: "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", err: ErrBadHeader},
		{name: "NUL in value", in: "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", err: ErrBadHeader},
		{name: "bare CR in value", in: "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", err: ErrBadHeader},
		{name: "DEL in value", in: "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", err: ErrBadHeader},
		{name: "bad connection token", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: a b\r\n\r\n", err: ErrBadHeader},
		{name: "double space", in: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", err: ErrBadRequestLine},
		{name: "trailing space", in: "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", err: ErrBadRequestLine},
		{name: "space in uri", in: "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", err: ErrBadRequestLine},
		{name: "fragment in uri", in: "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", err: ErrBadRequestLine},
		{name: "tab separator", in: "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", err: ErrBadRequestLine},
		{name: "ctl in uri", in: "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", err: ErrBadRequestLine},
		{name: "non-ascii uri", in: "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", err: ErrBadRequestLine},
		{name: "relative uri", in: "GET foo HTTP/1.1\r\nHost: a\r\n\r\n", err: ErrBadRequestLine},
		{name: "absolute form empty authority", in: "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", err: ErrBadRequestLine},
		{name: "absolute form userinfo", in: "GET http://u@evil/x HTTP/1.1\r\nHost: a\r\n\r\n", err: ErrBadRequestLine},
		{name: "lower-case version", in: "GET / http/1.1\r\nHost: a\r\n\r\n", err: ErrBadRequestLine},
		{name: "http/0.9", in: "GET /\r\n\r\n", err: ErrBadRequestLine},
		{name: "http/2.0", in: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", err: ErrBadVersion},
		{name: "bad method", in: "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", err: ErrBadRequestLine},
		{name: "connect", in: "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", err: ErrMethodNotImpl},
		{name: "too many fields", in: "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", MaxFields) + "\r\n", err: ErrTooManyHeaders},
		{name: "too many connection tokens", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: " + strings.Repeat("a,", 17) + "b\r\n\r\n", err: ErrTooManyConnTok},
	}
	var m Head
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(tc.in)
			end, _ := HeadEnd(raw, 0)
			if end != len(raw) {
				t.Fatalf("HeadEnd = %d, want %d", end, len(raw))
			}
			err := m.ParseRequest(raw)
			if err != tc.err {
				t.Fatalf("err = %v (%d), want %v (%d)", err, err, tc.err, tc.err)
			}
			if err != OK {
				return
			}
			check := func(what, got, want string) {
				if want != "" && got != want {
					t.Errorf("%s = %q, want %q", what, got, want)
				}
			}
			check("method", string(m.Bytes(m.Method)), tc.method)
			check("target", string(m.Bytes(m.Target)), tc.target)
			check("path", string(m.Bytes(m.Path)), tc.path)
			check("query", string(m.Bytes(m.Query)), tc.query)
			check("host", string(m.HostValue()), tc.host)
			if m.Minor != tc.minor || m.ContentLength != tc.cl || m.Chunked != tc.chunked ||
				m.ConnClose != tc.close || m.ConnUpgrade != tc.upg || m.Expect100 != tc.expect100 {
				t.Errorf("minor=%d cl=%d chunked=%v close=%v upgrade=%v expect=%v", m.Minor, m.ContentLength, m.Chunked, m.ConnClose, m.ConnUpgrade, m.Expect100)
			}
			if m.Minor == 0 && tc.keepAlive != m.KeepAlive() {
				t.Errorf("KeepAlive = %v", m.KeepAlive())
			}
			// Framing fields and Host are never forwarded as received.
			for _, f := range m.Fields {
				switch f.Kind {
				case KindContentLength, KindTransferEncoding, KindHost, KindConnection:
					if !f.Drop {
						t.Errorf("%s not marked Drop", m.Bytes(f.Name))
					}
				}
			}
		})
	}
}

// TestDroppedFields: hop-by-hop fields and those Connection names are not
// forwarded; framing fields and Host are written again by the forwarder.
func TestDroppedFields(t *testing.T) {
	in := "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Secret, Content-Length\r\nKeep-Alive: 5\r\nProxy-Connection: x\r\nTE: trailers\r\nTrailer: y\r\nUpgrade: h2c\r\nX-Secret: 1\r\nX-Kept: 2\r\nContent-Length: 0\r\n\r\n"
	var m Head
	if e := m.ParseRequest([]byte(in)); e != OK {
		t.Fatal(e)
	}
	var kept []string
	for i := range m.Fields {
		if !m.Fields[i].Drop {
			kept = append(kept, string(m.Bytes(m.Fields[i].Name)))
		}
	}
	if strings.Join(kept, ",") != "X-Kept" {
		t.Fatalf("kept %v", kept)
	}
	if m.ContentLength != 0 || string(m.HostField()) != "a" {
		t.Fatalf("cl %d host %q", m.ContentLength, m.HostField())
	}
}

func TestParseResponseTable(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		err       Err
		status    int
		reason    string
		minor     uint8
		cl        int64
		chunked   bool
		keep      bool
		ambiguous bool
	}{
		{name: "ok", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", status: 200, reason: "OK", minor: 1, cl: 5, keep: true},
		{name: "no reason", in: "HTTP/1.1 204\r\n\r\n", status: 204, minor: 1, cl: -1, keep: true},
		{name: "empty reason", in: "HTTP/1.1 404 \r\n\r\n", status: 404, minor: 1, cl: -1, keep: true},
		{name: "1.0", in: "HTTP/1.0 200 OK\r\n\r\n", status: 200, reason: "OK", minor: 0, cl: -1},
		{name: "1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", status: 200, reason: "OK", cl: 0, keep: true},
		{name: "1.0 chunked is read to the close", in: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", status: 200, reason: "OK", cl: -1},
		{name: "te wins over cl", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", status: 200, reason: "OK", minor: 1, cl: -1, chunked: true, keep: true, ambiguous: true},
		{name: "te gzip means close", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", status: 200, reason: "OK", minor: 1, cl: -1, keep: true},
		{name: "te gzip chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: GZIP , chunked\r\n\r\n", status: 200, reason: "OK", minor: 1, cl: -1, chunked: true, keep: true},
		{name: "close", in: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", status: 200, reason: "OK", minor: 1, cl: -1},
		{name: "100", in: "HTTP/1.1 100 Continue\r\n\r\n", status: 100, reason: "Continue", minor: 1, cl: -1, keep: true},
		{name: "host means nothing", in: "HTTP/1.1 200 OK\r\nHost: a\r\nHost: b\r\n\r\n", status: 200, reason: "OK", minor: 1, cl: -1, keep: true},
		{name: "cl leading zeros", in: "HTTP/1.1 200 OK\r\nContent-Length: 0005\r\n\r\n", status: 200, reason: "OK", minor: 1, cl: 5, keep: true},
		{name: "status 099", in: "HTTP/1.1 099 X\r\n\r\n", err: ErrBadStatusLine},
		{name: "status 600", in: "HTTP/1.1 600 X\r\n\r\n", err: ErrBadStatusLine},
		{name: "status letters", in: "HTTP/1.1 2x0 X\r\n\r\n", err: ErrBadStatusLine},
		{name: "no space", in: "HTTP/1.1 200OK\r\n\r\n", err: ErrBadStatusLine},
		{name: "http/2", in: "HTTP/2.0 200 OK\r\n\r\n", err: ErrBadStatusLine},
		{name: "junk", in: "hello\r\n\r\n", err: ErrBadStatusLine},
		{name: "NUL in reason", in: "HTTP/1.1 200 O\x00K\r\n\r\n", err: ErrBadStatusLine},
		{name: "bad field", in: "HTTP/1.1 200 OK\r\nX : y\r\n\r\n", err: ErrBadHeader},
		{name: "differing cl", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", err: ErrBadContentLen},
		{name: "te identity", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n", err: ErrBadTransferEnc},
		{name: "te twice", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", err: ErrBadTransferEnc},
		{name: "te duplicate fields", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", err: ErrBadTransferEnc},
		{name: "te chunked not last", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", err: ErrBadTransferEnc},
		{name: "te chunked chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", err: ErrBadTransferEnc},
		{name: "te leading comma", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: ,chunked\r\n\r\n", err: ErrBadTransferEnc},
	}
	var m Head
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := m.ParseResponse([]byte(tc.in))
			if err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != OK {
				return
			}
			if m.Status != tc.status || string(m.Bytes(m.Reason)) != tc.reason || m.Minor != tc.minor ||
				m.ContentLength != tc.cl || m.Chunked != tc.chunked || m.KeepAlive() != tc.keep || m.Ambiguous != tc.ambiguous {
				t.Fatalf("status=%d reason=%q minor=%d cl=%d chunked=%v keep=%v ambiguous=%v", m.Status, m.Bytes(m.Reason), m.Minor, m.ContentLength, m.Chunked, m.KeepAlive(), m.Ambiguous)
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
		in := []byte(h + "BODY")
		scan := 0
		found := -1
		for n := 1; n <= len(in); n++ {
			end, next := HeadEnd(in[:n], scan)
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
		if got := SkipLeadingCRLF([]byte(in)); got != want {
			t.Errorf("%q: %d, want %d", in, got, want)
		}
	}
}

func TestForEachToken(t *testing.T) {
	for in, want := range map[string]string{
		"":             "",
		"a":            "[a]",
		"a, b":         "[a][b]",
		" a ,\tb ":     "[a][b]",
		",a":           "[][a]",
		"a,":           "[a][]",
		"a,,b":         "[a][][b]",
		"  ":           "[]",
		"chunked , , ": "[chunked][][]",
	} {
		var got string
		ForEachToken([]byte(in), func(t []byte) bool { got += "[" + string(t) + "]"; return true })
		if got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}

func TestFraming(t *testing.T) {
	tests := []struct {
		name    string
		resp    string
		reqHead bool
		dechunk bool
		fr      Framing
		n       int64
		fields  string
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 0012\r\n\r\n", false, false, FramingLength, 12, "Content-Length: 12\r\n"},
		{"zero length", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, false, FramingNone, 0, "Content-Length: 0\r\n"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n", false, false, FramingChunked, -1, "Transfer-Encoding: chunked\r\n"},
		{"chunked to 1.0 client", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, true, FramingChunked, -1, ""},
		{"gzip chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: GZip,chunked\r\n\r\n", false, false, FramingChunked, -1, "Transfer-Encoding: gzip, chunked\r\n"},
		{"gzip until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, false, FramingClose, -1, "Transfer-Encoding: gzip\r\n"},
		{"te and cl", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", false, false, FramingChunked, -1, "Transfer-Encoding: chunked\r\n"},
		{"until close", "HTTP/1.1 200 OK\r\n\r\n", false, false, FramingClose, -1, ""},
		{"1.0 te until close", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, false, FramingClose, -1, ""},
		{"head keeps length", "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", true, false, FramingNone, 0, "Content-Length: 7\r\n"},
		{"head chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, false, FramingNone, 0, ""},
		{"304 keeps length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n", false, false, FramingNone, 0, "Content-Length: 7\r\n"},
		{"204 drops length", "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", false, false, FramingNone, 0, ""},
		{"101 drops te", "HTTP/1.1 101 Switching\r\nTransfer-Encoding: chunked\r\n\r\n", false, false, FramingNone, 0, ""},
		{"connection names length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: Content-Length\r\n\r\n", false, false, FramingLength, 3, "Content-Length: 3\r\n"},
	}
	var m Head
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if e := m.ParseResponse([]byte(tc.resp)); e != OK {
				t.Fatal(e)
			}
			fr, n := m.ResponseFraming(tc.reqHead)
			got := string(m.AppendResponseFraming(nil, tc.reqHead, tc.dechunk))
			if fr != tc.fr || n != tc.n || got != tc.fields {
				t.Fatalf("framing %d %d %q, want %d %d %q", fr, n, got, tc.fr, tc.n, tc.fields)
			}
		})
	}
	for in, want := range map[string]string{
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 000\r\n\r\n":                             "Content-Length: 0\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n":                               "Content-Length: 5\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: CHUNKED\r\n\r\n":                      "Transfer-Encoding: chunked\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n":                                                     "",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: Content-Length\r\n\r\n": "Content-Length: 5\r\n",
	} {
		if e := m.ParseRequest([]byte(in)); e != OK {
			t.Fatal(e)
		}
		if got := string(m.AppendRequestFraming(nil)); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// TestParseRequestNoAlloc holds the parser to its promise.
func TestParseRequestNoAlloc(t *testing.T) {
	raw := []byte("GET /index.html?x=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: test\r\nAccept: */*\r\nConnection: keep-alive, X-Foo\r\nCookie: a=b; SERVERID=s1\r\nContent-Length: 0\r\n\r\n")
	var m Head
	m.ParseRequest(raw)
	allocs := testing.AllocsPerRun(100, func() {
		if e := m.ParseRequest(raw); e != OK {
			t.Fatal(e)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per parse", allocs)
	}
}

func BenchmarkParseRequest(b *testing.B) {
	raw := []byte("GET /index.html?x=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\nCookie: a=b; SERVERID=s1\r\n\r\n")
	var m Head
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		HeadEnd(raw, 0)
		m.ParseRequest(raw)
	}
}
