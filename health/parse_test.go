package health

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestParseStatusLine(t *testing.T) {
	tests := []struct {
		line   string
		code   int
		reason string
		bad    bool
	}{
		{"HTTP/1.1 200 OK\r\n", 200, "OK", false},
		{"HTTP/1.0 503 Service Unavailable\n", 503, "Service Unavailable", false},
		{"HTTP/1.1 204 \r\n", 204, "", false},
		{"HTTP/1.1 204\r\n", 204, "", false},
		{"HTTP/1.1 404 Not\tFound", 404, "Not\tFound", false},
		{"HTTP/2 200 OK", 0, "", true},
		{"HTTP/1.1 20 OK", 0, "", true},
		{"HTTP/1.1 2000 OK", 0, "", true},
		{"HTTP/1.1 099 Low", 0, "", true},
		{"HTTP/1.1  200 OK", 0, "", true},
		{"http/1.1 200 OK", 0, "", true},
		{"HTTP/1.1 200 O\x00K", 0, "", true},
		{"", 0, "", true},
		{"SSH-2.0-OpenSSH", 0, "", true},
	}
	for _, tt := range tests {
		code, reason, err := parseStatusLine([]byte(tt.line))
		if (err != nil) != tt.bad || code != tt.code || reason != tt.reason {
			t.Errorf("%q: got %d %q %v", tt.line, code, reason, err)
		}
	}
}

func TestReadHTTPResponse(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		noBody bool
		status int
		body   string
		err    string // "" ok, "proto", "eof"
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, 200, "hello", ""},
		{"same content-length twice", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\ncontent-length: 5\r\n\r\nhello", false, 200, "hello", ""},
		{"conflicting content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", false, 200, "", "proto"},
		{"bad content-length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, 200, "", "proto"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false, 200, "abc", ""},
		{"chunked wins over length", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", false, 200, "x", ""},
		{"chunked bad size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, 200, "", "proto"},
		{"chunked missing crlf", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n", false, 200, "", "proto"},
		{"chunked truncated", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", false, 200, "", "eof"},
		{"chunked no last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, 200, "", "eof"},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nrest of it", false, 200, "rest of it", ""},
		{"other coding until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", false, 200, "zz", ""},
		{"head", "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", true, 200, "", ""},
		{"204 no body", "HTTP/1.1 204 No Content\r\nContent-Length: 50\r\n\r\n", false, 204, "", ""},
		{"304 no body", "HTTP/1.1 304 Not Modified\r\n\r\n", false, 304, "", ""},
		{"interim skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, 200, "ok", ""},
		{"too many interim", strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 20), false, 100, "", "proto"},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", false, 200, "ok", ""},
		{"folding", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", false, 200, "", "proto"},
		{"no colon", "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", false, 200, "", "proto"},
		{"space in name", "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", false, 200, "", "proto"},
		{"empty", "", false, 0, "", "proto"},
		{"head truncated", "HTTP/1.1 200 OK\r\nContent-Le", false, 200, "", "eof"},
		{"length truncated", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false, 200, "", "eof"},
		{"huge header line", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 20000) + "\r\n\r\n", false, 200, "", "proto"},
		{"huge head", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: "+strings.Repeat("b", 1000)+"\r\n", 40) + "\r\n", false, 200, "", "proto"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tt.in), maxHeadLine)
			resp, err := readHTTPResponse(r, tt.noBody, 100, nil)
			var pe protoError
			switch tt.err {
			case "":
				if err != nil {
					t.Fatalf("error %v", err)
				}
			case "proto":
				if !errors.As(err, &pe) {
					t.Fatalf("error %v, want a protocol error", err)
				}
			case "eof":
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("error %v, want unexpected EOF", err)
				}
			}
			if resp.status != tt.status || (tt.err == "" && string(resp.body) != tt.body) {
				t.Fatalf("status %d body %q, want %d %q", resp.status, resp.body, tt.status, tt.body)
			}
		})
	}
}

func TestReadHTTPResponseKeepLimit(t *testing.T) {
	body := strings.Repeat("x", 5000) + "NEEDLE"
	in := "HTTP/1.1 200 OK\r\nContent-Length: 5006\r\n\r\n" + body
	resp, err := readHTTPResponse(bufio.NewReader(strings.NewReader(in)), false, 1000, nil)
	if err != nil || len(resp.body) != 1000 {
		t.Fatalf("kept %d bytes, err %v; want 1000, nil", len(resp.body), err)
	}
	resp, err = readHTTPResponse(bufio.NewReader(strings.NewReader(in)), false, 0, nil)
	if err != nil || len(resp.body) != 0 {
		t.Fatalf("keep 0: kept %d, err %v", len(resp.body), err)
	}
	// stop after the head: the body is not needed for a wrong status.
	resp, err = readHTTPResponse(bufio.NewReader(strings.NewReader("HTTP/1.1 500 Oops\r\n\r\n")), false, 0,
		func(code int) bool { return code != 200 })
	if err != errStopped || resp.status != 500 || resp.reason != "Oops" {
		t.Fatalf("stop: %v %d %q", err, resp.status, resp.reason)
	}
}

func TestParseAgentReply(t *testing.T) {
	tests := []struct {
		in   string
		want agentReply
	}{
		{"up\n", agentReply{health: "up", weightPct: -1, weight: -1, maxconn: -1}},
		{"DOWN\r\nignored", agentReply{health: "down", weightPct: -1, weight: -1, maxconn: -1}},
		{"stopped # going away\n", agentReply{health: "stopped", weightPct: -1, weight: -1, maxconn: -1, desc: "going away"}},
		{"ready,75% maxconn:20\n", agentReply{admin: "ready", weightPct: 75, weight: -1, maxconn: 20}},
		{"drain\tfail", agentReply{health: "fail", admin: "drain", weightPct: -1, weight: -1, maxconn: -1}},
		{"maint weight:12", agentReply{admin: "maint", weightPct: -1, weight: 12, maxconn: -1}},
		{"50% 10%", agentReply{weightPct: 10, weight: -1, maxconn: -1}},
		{"weight:300", agentReply{weightPct: -1, weight: -1, maxconn: -1, bad: "weight:300"}},
		{"maxconn:x", agentReply{weightPct: -1, weight: -1, maxconn: -1, bad: "maxconn:x"}},
		{"1x% up", agentReply{health: "up", weightPct: -1, weight: -1, maxconn: -1, bad: "1x%"}},
		{"hello up", agentReply{health: "up", weightPct: -1, weight: -1, maxconn: -1, unknown: "hello"}},
		{"", agentReply{weightPct: -1, weight: -1, maxconn: -1}},
		{"#", agentReply{weightPct: -1, weight: -1, maxconn: -1}},
		{"up #\x01bad\xff", agentReply{health: "up", weightPct: -1, weight: -1, maxconn: -1, desc: "?bad?"}},
	}
	for _, tt := range tests {
		if got := parseAgentReply([]byte(tt.in)); got != tt.want {
			t.Errorf("%q: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
	if w, ok := (agentReply{weightPct: 150, weight: -1}).weightFor(200); !ok || w != 256 {
		t.Errorf("150%% of 200 = %d, want capped 256", w)
	}
	if w, ok := (agentReply{weightPct: 50, weight: -1}).weightFor(3); !ok || w != 1 {
		t.Errorf("50%% of 3 = %d, want 1", w)
	}
	if _, ok := (agentReply{weightPct: -1, weight: -1}).weightFor(3); ok {
		t.Error("no weight word but weightFor says one")
	}
}

func FuzzStatusLine(f *testing.F) {
	for _, s := range []string{"HTTP/1.1 200 OK\r\n", "HTTP/1.0 503 \r\n", "HTTP/1.1 204", "HTTP/2 200", "garbage"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		code, reason, err := parseStatusLine(line)
		if err != nil {
			return
		}
		if code < 100 || code > 999 {
			t.Fatalf("code %d out of range", code)
		}
		if strings.ContainsAny(reason, "\r\n\x00") {
			t.Fatalf("reason %q has control characters", reason)
		}
		if !bytes.HasPrefix(line, []byte("HTTP/1.")) {
			t.Fatalf("accepted %q", line)
		}
	})
}

func FuzzHTTPResponse(f *testing.F) {
	seeds := []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, noBody bool) {
		const keep = 64
		r := bufio.NewReaderSize(bytes.NewReader(data), maxHeadLine)
		resp, err := readHTTPResponse(r, noBody, keep, nil)
		if len(resp.body) > keep {
			t.Fatalf("kept %d > %d body bytes", len(resp.body), keep)
		}
		if err == nil && (resp.status < 100 || resp.status > 999) {
			t.Fatalf("accepted status %d", resp.status)
		}
		var pe protoError
		if err != nil && !errors.As(err, &pe) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("unexpected error kind %T %v", err, err)
		}
	})
}

func FuzzAgentReply(f *testing.F) {
	for _, s := range []string{"up\n", "down # maintenance\n", "ready,75% maxconn:20\r\n", "drain weight:3", "maint", "#", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a := parseAgentReply(data)
		switch a.health {
		case "", "up", "down", "stopped", "fail":
		default:
			t.Fatalf("health %q", a.health)
		}
		switch a.admin {
		case "", "ready", "drain", "maint":
		default:
			t.Fatalf("admin %q", a.admin)
		}
		if a.weight > 256 || a.weight < -1 || a.maxconn < -1 || a.weightPct < -1 {
			t.Fatalf("values out of range: %+v", a)
		}
		if w, ok := a.weightFor(256); ok && (w < 0 || w > 256) {
			t.Fatalf("weight %d", w)
		}
		for _, s := range []string{a.desc, a.unknown, a.bad} {
			for i := 0; i < len(s); i++ {
				if s[i] < 0x20 || s[i] >= 0x7f {
					t.Fatalf("unprintable byte in %q", s)
				}
			}
		}
		r := agentResult(data)
		if r.ok == (r.code == codeL7STS) {
			t.Fatalf("result %+v", r)
		}
	})
}
