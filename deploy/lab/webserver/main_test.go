package main

import (
	"bufio"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startServer runs a lab server on loopback and returns its HTTP base URL
// and TCP address.
func startServer(t *testing.T, failFile string) (*server, string, string) {
	t.Helper()
	s := &server{name: "web9", failFile: failFile, log: log.New(io.Discard, "", 0)}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.serve(ctx, []net.Listener{hl}, []net.Listener{tl}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	return s, "http://" + hl.Addr().String(), tl.Addr().String()
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Test", "yes")
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func TestHTTP(t *testing.T) {
	_, base, _ := startServer(t, "")
	tests := []struct {
		path     string
		wantCode int
		wantBody string // exact, unless wantSub
		wantSub  []string
	}{
		{path: "/", wantCode: 200, wantBody: "web9\n"},
		{path: "/anything/else?x=1", wantCode: 200, wantBody: "web9\n"},
		{path: "/headers", wantCode: 200, wantSub: []string{"Host: 127.0.0.1:", "X-Test: yes\n", "User-Agent: "}},
		{path: "/whoami", wantCode: 200, wantSub: []string{"server=web9\n", "listener=127.0.0.1:", "remote=127.0.0.1:", "uri=/whoami\n"}},
		{path: "/health", wantCode: 200, wantBody: "ok\n"},
		{path: "/slow?ms=30", wantCode: 200, wantBody: "web9\n"},
		{path: "/slow?ms=-1", wantCode: 400, wantSub: []string{"ms must be"}},
		{path: "/slow?ms=abc", wantCode: 400, wantSub: []string{"ms must be"}},
		{path: "/status?code=503", wantCode: 503, wantBody: "web9 503\n"},
		{path: "/status?code=700", wantCode: 400, wantSub: []string{"code must be"}},
		{path: "/bytes?n=100000", wantCode: 200, wantBody: strings.Repeat("x", 100000)},
		{path: "/bytes?n=0", wantCode: 200, wantBody: ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			code, hdr, body := get(t, base+tt.path)
			if code != tt.wantCode {
				t.Errorf("status %d, want %d (body %q)", code, tt.wantCode, body)
			}
			if got := hdr.Get("X-Server"); got != "web9" {
				t.Errorf("X-Server %q, want web9", got)
			}
			if got := hdr.Get("X-Listener"); !strings.HasPrefix(got, "127.0.0.1:") {
				t.Errorf("X-Listener %q", got)
			}
			if tt.wantSub == nil && body != tt.wantBody {
				t.Errorf("body %.80q, want %.80q", body, tt.wantBody)
			}
			for _, sub := range tt.wantSub {
				if !strings.Contains(body, sub) {
					t.Errorf("body %q lacks %q", body, sub)
				}
			}
		})
	}
}

func TestSlowWaits(t *testing.T) {
	_, base, _ := startServer(t, "")
	start := time.Now()
	get(t, base+"/slow?ms=200")
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("/slow?ms=200 answered after %v", d)
	}
}

func TestHealthToggles(t *testing.T) {
	failFile := filepath.Join(t.TempDir(), "fail")
	_, base, _ := startServer(t, failFile)
	steps := []struct {
		do       func()
		wantCode int
	}{
		{func() {}, 200},
		{func() { get(t, base+"/admin/fail") }, 500},
		{func() { get(t, base+"/admin/ok") }, 200},
		{func() {
			if err := os.WriteFile(failFile, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}, 500},
		{func() { get(t, base+"/admin/ok") }, 500}, // the file still says fail
		{func() { os.Remove(failFile) }, 200},
	}
	for i, st := range steps {
		st.do()
		if code, _, body := get(t, base+"/health"); code != st.wantCode {
			t.Fatalf("step %d: /health %d %q, want %d", i, code, body, st.wantCode)
		}
	}
}

func TestTCPLines(t *testing.T) {
	_, _, addr := startServer(t, "")
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	tests := []struct{ send, want string }{
		{"PING\r\n", "PONG\r\n"},
		{"PING\n", "PONG\r\n"},
		{"NAME\r\n", "web9\r\n"},
		{"hello world\r\n", "hello world\r\n"},
		{"ping\n", "ping\n"},
		{strings.Repeat("y", 10000) + "\n", strings.Repeat("y", 10000) + "\n"},
	}
	for _, tt := range tests {
		if _, err := io.WriteString(c, tt.send); err != nil {
			t.Fatal(err)
		}
		got, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %.20q: %v", tt.send, err)
		}
		if got != tt.want {
			t.Errorf("sent %.20q got %.20q want %.20q", tt.send, got, tt.want)
		}
	}
}

func TestTCPLineTooLong(t *testing.T) {
	_, _, addr := startServer(t, "")
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go io.WriteString(c, strings.Repeat("z", maxLine+8192))
	// The server gives up on the line and closes: the read ends without a
	// reply instead of buffering without bound.
	b, _ := io.ReadAll(c)
	if len(b) != 0 {
		t.Errorf("got %d bytes back for an over-long line", len(b))
	}
}

func TestRunRejectsBadAddress(t *testing.T) {
	s := &server{name: "x", log: log.New(io.Discard, "", 0)}
	err := s.run(context.Background(), []string{"127.0.0.1:0"}, []string{"not-an-address"})
	if err == nil || !strings.Contains(err.Error(), "tcp listen") {
		t.Fatalf("run with a bad address: %v", err)
	}
}
