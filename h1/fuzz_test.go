package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"testing"
)

// knownLenient explains the requests net/http refuses but lbd forwards, on
// purpose. lbd is a proxy: like HAProxy it treats the request target as
// opaque bytes (visible ASCII) and leaves its URI syntax to the origin
// server, where net/http parses it into a url.URL. Everything else net/http
// refuses, lbd refuses too (the fuzz target below checks it).
func knownLenient(err error) bool {
	msg := err.Error()
	for _, s := range []string{
		"invalid URL escape",          // "/%zz": percent-encoding is the origin's business
		"invalid port",                // absolute-form "http://a:b/": same
		"invalid character",           // url.Parse of an odd absolute-form authority
		"missing protocol scheme",     // "a:/b" style targets net/http reads as scheme-less
		"first path segment in URL",   // relative-looking absolute forms
		"invalid URI for request",     // asterisk-form is valid (RFC 9112 §3.2.4)
		"net/url: invalid control",    // never reached: CTLs are refused earlier
		"invalid userinfo",            // never reached: userinfo is refused earlier
		"malformed HTTP version",      // never reached for accepted versions
		"unsupported protocol scheme", // not a net/http ReadRequest error; kept for clarity
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// forward writes the head a proxy forwards: the request line, the fields
// not dropped, Host and the framing written again from the parse (what the
// proxy's engine does, without its own additions).
func forward(m *Head) []byte {
	out := append([]byte(nil), m.Raw[:m.Target.End]...)
	if m.Minor == 0 {
		out = append(out, " HTTP/1.0\r\n"...)
	} else {
		out = append(out, " HTTP/1.1\r\n"...)
	}
	if h := m.HostField(); h != nil {
		out = append(out, "Host: "...)
		out = append(out, h...)
		out = append(out, "\r\n"...)
	}
	for i := range m.Fields {
		if f := &m.Fields[i]; !f.Drop {
			out = append(out, m.Bytes(f.Name)...)
			out = append(out, ": "...)
			out = append(out, m.Bytes(f.Value)...)
			out = append(out, "\r\n"...)
		}
	}
	out = m.AppendRequestFraming(out)
	return append(out, "\r\n"...)
}

// checkRequest runs the parser on one head and checks its invariants and
// its agreement with net/http.
func checkRequest(t *testing.T, data []byte) {
	end, _ := HeadEnd(data, 0)
	if end < 0 {
		return
	}
	raw := data[:end]
	var m Head
	if m.ParseRequest(raw) != OK {
		return
	}
	in := func(s Span) bool { return s.Off >= 0 && s.Off <= s.End && int(s.End) <= len(raw) }
	for _, s := range []Span{m.Method, m.Target, m.Path, m.Query, m.Authority} {
		if !in(s) {
			t.Fatalf("span %v out of %d", s, len(raw))
		}
	}
	for _, f := range m.Fields {
		if !in(f.Name) || !in(f.Value) {
			t.Fatalf("field span out of range")
		}
		switch f.Kind {
		case KindContentLength, KindTransferEncoding, KindHost:
			if !f.Drop {
				t.Fatalf("framing field or Host would be copied")
			}
		}
	}
	if m.Chunked && m.ContentLength >= 0 {
		t.Fatalf("both chunked and Content-Length accepted")
	}
	if m.Minor == 1 && !ValidHost(m.HostField()) {
		t.Fatalf("HTTP/1.1 request without a valid Host accepted")
	}

	// What a proxy forwards parses again, with the same framing, target
	// and Host.
	out := forward(&m)
	var m2 Head
	if e := m2.ParseRequest(out); e != OK {
		t.Fatalf("forwarded head refused (%v):\n%q\nfrom\n%q", e, out, raw)
	}
	if m2.ContentLength != m.ContentLength || m2.Chunked != m.Chunked || !bytes.Equal(m2.Bytes(m2.Target), m.Bytes(m.Target)) ||
		!bytes.Equal(m2.HostField(), m.HostField()) {
		t.Fatalf("forwarded head changed framing, target or Host:\n%q\nfrom\n%q", out, raw)
	}

	// Differential: whatever net/http refuses as malformed, lbd refuses;
	// and the two read the same framing.
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		if !knownLenient(err) {
			t.Fatalf("net/http refuses (%v) what lbd accepts:\n%q", err, raw)
		}
		return
	}
	chunked := len(req.TransferEncoding) > 0 && req.TransferEncoding[0] == "chunked"
	if chunked != m.Chunked || (!m.Chunked && req.ContentLength != max(m.ContentLength, 0)) {
		t.Fatalf("framing differs from net/http: chunked %v/%v length %d/%d:\n%q", m.Chunked, chunked, m.ContentLength, req.ContentLength, raw)
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
		"GET http://a.example/b HTTP/1.1\r\nHost: x\r\nConnection: close, X-A\r\nX-A: 1\r\n\r\n",
		"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\nCookie: a=b; SERVERID=s1|AAAAA|BBBBB\n\n",
		"POST /public HTTP/1.1\r\nHost: a\r\nContent-Length: 48\r\nConnection: Content-Length\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: Transfer-Encoding, Host\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkRequest(t, data) })
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.0 204\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		"HTTP/1.1 302 Found\r\nSet-Cookie: JSESSIONID=abc; Path=/\r\nLocation: /x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: Content-Length\r\n\r\nok",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		end, _ := HeadEnd(data, 0)
		if end < 0 {
			return
		}
		raw := data[:end]
		var m Head
		if m.ParseResponse(raw) != OK {
			return
		}
		if m.Status < 100 || m.Status > 599 || int(m.Reason.End) > len(raw) {
			t.Fatalf("status %d reason %v", m.Status, m.Reason)
		}
		if m.Chunked && m.ContentLength >= 0 {
			t.Fatalf("both chunked and Content-Length")
		}
		// The framing written for the client parses again to the same
		// framing.
		out := append([]byte(nil), "HTTP/1.1 "...)
		out = append(out, m.Raw[9:m.Reason.End]...)
		out = append(out, "\r\n"...)
		out = m.AppendResponseFraming(out, false, false)
		out = append(out, "\r\n"...)
		var m2 Head
		if e := m2.ParseResponse(out); e != OK {
			t.Fatalf("relayed head refused (%v): %q from %q", e, out, raw)
		}
		fr, n := m.ResponseFraming(false)
		fr2, n2 := m2.ResponseFraming(false)
		if m.Minor == 1 && (fr != fr2 || n != n2) {
			t.Fatalf("relayed framing %d/%d, read %d/%d: %q from %q", fr2, n2, fr, n, out, raw)
		}
		// net/http's client only supports "chunked" alone; lbd relays other
		// transfer codings and reads such bodies until close (RFC 9112
		// §6.3 rule 4), so those differences are expected.
		if _, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil); err != nil &&
			!(m.HasTE && strings.Contains(err.Error(), "transfer encoding")) {
			t.Fatalf("net/http refuses (%v) a response lbd accepts: %q", err, raw)
		}
	})
}

func FuzzChunked(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("1;a=b\r\nx\r\n0\r\nT: v\r\n\r\n"))
	f.Add([]byte("0005 \r\nhello\r\n0\r\nContent-Length: 1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var a Chunked
		out, n, err := a.Transcode(nil, data, false)
		if n > len(data) || len(out) > n {
			t.Fatalf("consumed %d of %d, wrote %d", n, len(data), len(out))
		}
		if err != nil && !errors.Is(err, ErrChunked) {
			t.Fatalf("error %v does not wrap ErrChunked", err)
		}
		// Any split of the input gives the same result.
		var b Chunked
		k := len(data) / 2
		out1, n1, err1 := b.Transcode(nil, data[:k], false)
		var out2 []byte
		var n2 int
		var err2 error
		if err1 == nil && !b.Done() {
			out2, n2, err2 = b.Transcode(out1, data[n1:], false)
			n2 += n1
		} else {
			out2, n2, err2 = out1, n1, err1
		}
		if (err == nil) != (err2 == nil) || (err == nil && (n != n2 || !bytes.Equal(out, out2))) || a.Done() != b.Done() {
			t.Fatalf("split transcode differs: %d %q %v vs %d %q %v", n, out, err, n2, out2, err2)
		}
		if err != nil || !a.Done() {
			return
		}
		// The output is canonical: transcoding it again changes nothing.
		var c Chunked
		again, m, err := c.Transcode(nil, out, false)
		if err != nil || m != len(out) || !c.Done() || !bytes.Equal(again, out) {
			t.Fatalf("re-framed %q transcodes to %q (%v)", out, again, err)
		}
		// net/http's chunked reader reads the same data from it.
		var d Chunked
		data1, _, _ := d.Transcode(nil, data, true)
		ref, rerr := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(out)))
		if rerr != nil || !bytes.Equal(ref, data1) {
			t.Fatalf("net/http reads %q (%v), lbd %q", ref, rerr, data1)
		}
	})
}

// FuzzResponseReader checks that the reader judges a response the same
// whatever pieces it arrives in, and as net/http reads it when it accepts
// it.
func FuzzResponseReader(f *testing.F) {
	seeds := []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y \r\nab",
	}
	for i, s := range seeds {
		f.Add([]byte(s), i%2 == 1, uint64(0x9e3779b97f4a7c15)*uint64(i+1), uint16(200))
	}
	f.Fuzz(func(t *testing.T, data []byte, noBody bool, cuts uint64, want uint16) {
		const keep = 64
		var stop func(int) bool
		if want != 0 {
			stop = func(code int) bool { return code != int(want) }
		}
		whole := read(string(data), noBody, keep, stop, 0)

		var r ResponseReader
		r.Reset(noBody, keep, stop)
		rest := data
		for len(rest) > 0 && !r.Done() {
			n := 1 + int(cuts%17)
			if cuts%5 == 0 {
				n = 1 + int(cuts%9000) // now and then a large piece
			}
			cuts = cuts*6364136223846793005 + 1442695040888963407
			n = min(n, len(rest))
			r.Feed(rest[:n])
			rest = rest[n:]
		}
		if !r.Done() {
			r.EOF()
		}
		if r.Status != whole.Status || !bytes.Equal(r.Body, whole.Body) || !bytes.Equal(r.Reason, whole.Reason) ||
			(r.Err == nil) != (whole.Err == nil) || (r.Err != nil && r.Err.Error() != whole.Err.Error()) {
			t.Fatalf("pieces: %d %q %v; whole: %d %q %v", r.Status, r.Body, r.Err, whole.Status, whole.Body, whole.Err)
		}
		if len(r.Body) > keep {
			t.Fatalf("kept %d > %d body bytes", len(r.Body), keep)
		}
		if r.Err != nil || noBody {
			return
		}
		// net/http reads the same final response (it does not skip 1xx:
		// compare only responses without interim ones).
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), nil)
		if err != nil || resp.StatusCode != r.Status {
			if err == nil && resp.StatusCode < 200 {
				return
			}
			if err != nil && strings.Contains(err.Error(), "transfer encoding") {
				return // codings other than chunked, read to the close
			}
			t.Fatalf("net/http: %v, status %d; lbd %d", err, statusOf(resp), r.Status)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, keep))
		if !bytes.Equal(body, r.Body) && len(resp.TransferEncoding) == 0 {
			t.Fatalf("net/http body %q, lbd %q", body, r.Body)
		}
	})
}

func statusOf(r *http.Response) int {
	if r == nil {
		return 0
	}
	return r.StatusCode
}

// TestDifferentialNetHTTP runs hand-picked smuggling and edge cases through
// both parsers.
func TestDifferentialNetHTTP(t *testing.T) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
		"GET / HTTP/1.1\r\nHo\x00st: a\r\n\r\n",
		"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n",
		"GET / HTTP/1.10\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\x01: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: \x7f\r\n\r\n",
		"GET http://a:99999/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 48\r\nConnection: Content-Length\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n",
		"GET http://evil/e2 HTTP/1.1\r\nHost: good\r\n\r\n",
	} {
		t.Run("", func(t *testing.T) { checkRequest(t, []byte(s)) })
	}
}
