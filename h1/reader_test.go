package h1

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// read feeds in to a reader in pieces of size step (0: all at once), then
// the end of the connection.
func read(in string, noBody bool, keep int, stop func(int) bool, step int) *ResponseReader {
	var r ResponseReader
	r.Reset(noBody, keep, stop)
	b := []byte(in)
	for len(b) > 0 && !r.Done() {
		n := len(b)
		if step > 0 {
			n = min(step, len(b))
		}
		r.Feed(b[:n])
		b = b[n:]
	}
	if !r.Done() {
		r.EOF()
	}
	return &r
}

func TestResponseReader(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		noBody bool
		status int
		body   string
		err    string // "" ok, "proto", "eof"
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, 200, "hello", ""},
		{"same content-length twice", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nhello", false, 200, "hello", ""},
		{"content-length list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello", false, 200, "", "proto"},
		{"conflicting content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", false, 200, "", "proto"},
		{"bad content-length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, 200, "", "proto"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false, 200, "abc", ""},
		{"chunked wins over length", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", false, 200, "x", ""},
		{"chunked trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nstat\r\n6;x=y\r\nus: ok\r\n0\r\nX-T: 1\r\n\r\ntrailing", false, 200, "status: ok", ""},
		{"chunked bad size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, 200, "", "proto"},
		{"chunked missing crlf", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n", false, 200, "", "proto"},
		{"chunked bad trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nGET / HTTP/1.1\r\n\r\n", false, 200, "", "proto"},
		{"chunked truncated", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", false, 200, "", "eof"},
		{"chunked truncated trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n", false, 200, "", "eof"},
		{"chunked no last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, 200, "", "eof"},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nrest of it", false, 200, "rest of it", ""},
		{"other coding until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", false, 200, "zz", ""},
		{"identity coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nzz", false, 200, "", "proto"},
		{"head", "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", true, 200, "", ""},
		{"204 no body", "HTTP/1.1 204 No Content\r\nContent-Length: 50\r\n\r\n", false, 204, "", ""},
		{"304 no body", "HTTP/1.1 304 Not Modified\r\n\r\n", false, 304, "", ""},
		{"interim skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, 200, "ok", ""},
		{"too many interim", strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 20), false, 100, "", "proto"},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", false, 200, "ok", ""},
		{"folding", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", false, 200, "", "proto"},
		{"no colon", "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", false, 200, "", "proto"},
		{"space in name", "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", false, 200, "", "proto"},
		{"bad status line", "SSH-2.0-OpenSSH\r\n\r\n", false, 0, "", "proto"},
		{"empty", "", false, 0, "", "proto"},
		{"head truncated", "HTTP/1.1 200 OK\r\nContent-Le", false, 0, "", "eof"},
		{"length truncated", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false, 200, "", "eof"},
		{"huge header line", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 20000) + "\r\n\r\n", false, 0, "", "proto"},
		{"huge head", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: "+strings.Repeat("b", 1000)+"\r\n", 40) + "\r\n", false, 0, "", "proto"},
	}
	for _, tt := range tests {
		for _, step := range []int{0, 1, 7} {
			r := read(tt.in, tt.noBody, 100, nil, step)
			switch tt.err {
			case "":
				if r.Err != nil {
					t.Fatalf("%s/%d: error %v", tt.name, step, r.Err)
				}
			case "proto":
				if r.Err == nil || errors.Is(r.Err, io.ErrUnexpectedEOF) {
					t.Fatalf("%s/%d: error %v, want a protocol error", tt.name, step, r.Err)
				}
			case "eof":
				if !errors.Is(r.Err, io.ErrUnexpectedEOF) {
					t.Fatalf("%s/%d: error %v, want unexpected EOF", tt.name, step, r.Err)
				}
			}
			if r.Status != tt.status || (tt.err == "" && string(r.Body) != tt.body) {
				t.Fatalf("%s/%d: status %d body %q, want %d %q", tt.name, step, r.Status, r.Body, tt.status, tt.body)
			}
		}
	}
}

func TestResponseReaderKeepAndStop(t *testing.T) {
	body := strings.Repeat("x", 5000) + "NEEDLE"
	in := "HTTP/1.1 200 OK\r\nContent-Length: 5006\r\n\r\n" + body
	if r := read(in, false, 1000, nil, 4096); r.Err != nil || len(r.Body) != 1000 {
		t.Fatalf("kept %d bytes, err %v; want 1000, nil", len(r.Body), r.Err)
	}
	if r := read(in, false, 0, nil, 0); r.Err != nil || len(r.Body) != 0 {
		t.Fatalf("keep 0: kept %d, err %v", len(r.Body), r.Err)
	}
	// Stop after the head: the body is not needed for a wrong status.
	r := read("HTTP/1.1 500 Oops\r\n\r\n", false, 0, func(code int) bool { return code != 200 }, 0)
	if r.Err != ErrStopped || r.Status != 500 || string(r.Reason) != "Oops" {
		t.Fatalf("stop: %v %d %q", r.Err, r.Status, r.Reason)
	}
}

// TestResponseReaderNoAlloc: a check in its steady state allocates
// nothing.
func TestResponseReaderNoAlloc(t *testing.T) {
	in := []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nstat\r\n2\r\nus\r\n0\r\nX: y\r\n\r\n")
	var r ResponseReader
	stop := func(int) bool { return false }
	run := func() {
		r.Reset(false, 64, stop)
		r.Feed(in[:30])
		r.Feed(in[30:70])
		r.Feed(in[70:])
		if r.Err != nil || string(r.Body) != "status" {
			t.Fatalf("%v %q", r.Err, r.Body)
		}
	}
	run()
	if a := testing.AllocsPerRun(100, run); a != 0 {
		t.Fatalf("%v allocations per response", a)
	}
}
