package health

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/config"
)

// testServer accepts loopback connections and hands each to handle.
type testServer struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	reqs []string // first request line/bytes seen, for assertions
}

func startServer(t *testing.T, handle func(c net.Conn, ts *testServer)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{ln: ln}
	ts.wg.Add(1)
	go func() {
		defer ts.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ts.wg.Add(1)
			go func() {
				defer ts.wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				handle(c, ts)
			}()
		}
	}()
	t.Cleanup(ts.close)
	return ts
}

func (ts *testServer) close() {
	ts.ln.Close()
	ts.wg.Wait()
}

func (ts *testServer) addr() string { return ts.ln.Addr().String() }

func (ts *testServer) record(s string) {
	ts.mu.Lock()
	ts.reqs = append(ts.reqs, s)
	ts.mu.Unlock()
}

// readHead reads a request head and records it.
func readHead(c net.Conn, ts *testServer) {
	br := bufio.NewReader(c)
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil || line == "\r\n" {
			break
		}
	}
	ts.record(b.String())
}

func reply(resp string) func(net.Conn, *testServer) {
	return func(c net.Conn, ts *testServer) {
		readHead(c, ts)
		_, _ = io.WriteString(c, resp)
	}
}

func hang(c net.Conn, ts *testServer) {
	_, _ = io.Copy(io.Discard, c) // until the checker gives up
}

func refusedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// fullBacklogAddr returns a listener whose accept queue is full, so that
// new connects get no SYN-ACK and time out (Linux drops the SYN).
func fullBacklogAddr(t *testing.T) string {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	a := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	// Fill the queue: connections that are never accepted.
	for range 3 {
		c, err := net.DialTimeout("tcp", a, 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	return a
}

func runProbe(t *testing.T, hc *config.HealthCheck, addr string) result {
	t.Helper()
	full := *hc
	if full.Timeout == 0 {
		full.Timeout = 300 * time.Millisecond
	}
	if full.Method == "" {
		full.Method, full.Path = "GET", "/"
	}
	if full.ExpectStatus == nil {
		full.ExpectStatus = []int{200}
	}
	pr := newNetProber(&full, &config.Server{Name: "s", Address: addr})
	var conn io.Closer
	r := probe(pr, context.Background(), func(c io.Closer) bool { conn = c; return true })
	if conn != nil {
		conn.Close()
	}
	return r
}

func TestProbes(t *testing.T) {
	http200 := startServer(t, reply("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nhealthy"))
	http500 := startServer(t, reply("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"))
	chunked := startServer(t, reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nstat\r\n6;x=y\r\nus: ok\r\n0\r\nX-T: 1\r\n\r\n"))
	untilClose := startServer(t, reply("HTTP/1.0 200 OK\r\n\r\nall good until close"))
	truncated := startServer(t, reply("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"))
	garbage := startServer(t, reply("SSH-2.0-OpenSSH_9.6\r\n"))
	slowBody := startServer(t, func(c net.Conn, ts *testServer) {
		readHead(c, ts)
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
		_, _ = io.Copy(io.Discard, c)
	})
	interim := startServer(t, reply("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"))
	hung := startServer(t, hang)
	closer := startServer(t, func(c net.Conn, ts *testServer) {})
	pong := startServer(t, func(c net.Conn, ts *testServer) {
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c, buf); err == nil && string(buf) == "PING\n" {
			_, _ = io.WriteString(c, "+PO")
			time.Sleep(10 * time.Millisecond)
			_, _ = io.WriteString(c, "NG\r\n")
		}
		_, _ = io.Copy(io.Discard, c)
	})
	banner := startServer(t, func(c net.Conn, ts *testServer) { _, _ = io.WriteString(c, "220 smtp ready\r\n") })
	agentUp := startServer(t, func(c net.Conn, ts *testServer) { _, _ = io.WriteString(c, "up 75%\n") })
	agentDown := startServer(t, func(c net.Conn, ts *testServer) { _, _ = io.WriteString(c, "down # disk full\n") })
	agentNoEOL := startServer(t, func(c net.Conn, ts *testServer) { _, _ = io.WriteString(c, "drain") })
	agentSend := startServer(t, func(c net.Conn, ts *testServer) {
		line, _ := bufio.NewReader(c).ReadString('\n')
		ts.record(line)
		_, _ = io.WriteString(c, "ready\n")
	})
	refused := refusedAddr(t)

	tests := []struct {
		name   string
		hc     config.HealthCheck
		addr   string
		ok     bool
		code   string
		desc   string // exact, or prefix when it ends with "*"
		status int
	}{
		{"tcp ok", config.HealthCheck{Type: "tcp"}, hung.addr(), true, codeL4OK, "Layer4 check passed", 0},
		{"tcp refused", config.HealthCheck{Type: "tcp"}, refused, false, codeL4CON, "Layer4 connection problem: Connection refused", 0},
		{"http 200", config.HealthCheck{Type: "http"}, http200.addr(), true, codeL7OK, "Layer7 check passed", 200},
		{"http 500", config.HealthCheck{Type: "http"}, http500.addr(), false, codeL7STS, "Layer7 wrong status: 500", 500},
		{"http 500 expected", config.HealthCheck{Type: "http", ExpectStatus: []int{200, 500}}, http500.addr(), true, codeL7OK, "Layer7 check passed", 500},
		{"http body match", config.HealthCheck{Type: "http", ExpectBody: "health"}, http200.addr(), true, codeL7OK, "Layer7 check passed", 200},
		{"http body mismatch", config.HealthCheck{Type: "http", ExpectBody: "sick"}, http200.addr(), false, codeL7RSP, "Layer7 invalid response: HTTP content check did not match", 200},
		{"http chunked body", config.HealthCheck{Type: "http", ExpectBody: "status: ok"}, chunked.addr(), true, codeL7OK, "Layer7 check passed", 200},
		{"http body until close", config.HealthCheck{Type: "http", ExpectBody: "until close"}, untilClose.addr(), true, codeL7OK, "Layer7 check passed", 200},
		{"http truncated", config.HealthCheck{Type: "http"}, truncated.addr(), false, codeL7RSP, "Layer7 invalid response: connection closed by the server before a complete answer", 200},
		{"http incomplete body times out", config.HealthCheck{Type: "http"}, slowBody.addr(), false, codeL7TOUT, "Layer7 timeout", 200},
		{"http garbage", config.HealthCheck{Type: "http"}, garbage.addr(), false, codeL7RSP, "Layer7 invalid response: bad status line*", 0},
		{"http interim then 204", config.HealthCheck{Type: "http", ExpectStatus: []int{204}}, interim.addr(), true, codeL7OK, "Layer7 check passed", 204},
		{"http hang", config.HealthCheck{Type: "http"}, hung.addr(), false, codeL7TOUT, "Layer7 timeout", 0},
		// The request may hit the closed socket (RST: SOCKERR) or read EOF.
		{"http closed at once", config.HealthCheck{Type: "http"}, closer.addr(), false, "", "*", 0},
		{"http refused", config.HealthCheck{Type: "http"}, refused, false, codeL4CON, "Layer4 connection problem: Connection refused", 0},
		{"tcp-check ping pong", config.HealthCheck{Type: "tcp-check", Send: "PING\n", Expect: "PONG"}, pong.addr(), true, codeL7OK, "Layer7 check passed", 0},
		{"tcp-check expect banner", config.HealthCheck{Type: "tcp-check", Expect: "220 "}, banner.addr(), true, codeL7OK, "Layer7 check passed", 0},
		{"tcp-check mismatch", config.HealthCheck{Type: "tcp-check", Expect: "PONG"}, banner.addr(), false, codeL7RSP, "Layer7 invalid response: TCPCHK did not match content 'PONG' at step 2", 0},
		{"tcp-check empty", config.HealthCheck{Type: "tcp-check", Send: "PING\n", Expect: "PONG"}, closer.addr(), false, codeL7RSP, "*", 0},
		{"tcp-check hang", config.HealthCheck{Type: "tcp-check", Send: "PING\n", Expect: "PONG"}, hung.addr(), false, codeL7TOUT, "Layer7 timeout: at step 3 of tcp-check (expect string 'PONG')", 0},
		{"agent up", config.HealthCheck{Type: "agent"}, agentUp.addr(), true, codeL7OK, "Layer7 check passed: via agent : up", 0},
		{"agent down", config.HealthCheck{Type: "agent"}, agentDown.addr(), false, codeL7STS, "Layer7 wrong status: via agent : down (disk full)", 0},
		{"agent line ended by close", config.HealthCheck{Type: "agent"}, agentNoEOL.addr(), true, codeL7OK, "Layer7 check passed", 0},
		{"agent send", config.HealthCheck{Type: "agent", Send: "hello\n"}, agentSend.addr(), true, codeL7OK, "Layer7 check passed", 0},
		{"agent silent close", config.HealthCheck{Type: "agent"}, closer.addr(), false, codeL7RSP, "Layer7 invalid response: empty reply from agent", 0},
		{"agent hang", config.HealthCheck{Type: "agent"}, hung.addr(), false, codeL7TOUT, "Layer7 timeout", 0},
		{"agent refused", config.HealthCheck{Type: "agent"}, refused, false, codeL4CON, "Layer4 connection problem: Connection refused", 0},
		{"unresolvable host", config.HealthCheck{Type: "tcp"}, "no-such-host.invalid:80", false, codeL4CON, "Layer4 connection problem: *", 0},
	}
	t.Run("table", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r := runProbe(t, &tt.hc, tt.addr)
				if tt.code == "" && !r.ok && (r.code == codeSOCKERR || r.code == codeL7RSP) {
					return
				}
				if r.ok != tt.ok || r.code != tt.code || r.status != tt.status {
					t.Fatalf("got ok=%v code=%s status=%d (%q), want ok=%v code=%s status=%d",
						r.ok, r.code, r.status, r.desc(), tt.ok, tt.code, tt.status)
				}
				if p, prefix := strings.CutSuffix(tt.desc, "*"); prefix && !strings.HasPrefix(r.desc(), p) || !prefix && r.desc() != tt.desc {
					t.Fatalf("desc %q, want %q", r.desc(), tt.desc)
				}
			})
		}
	})
	t.Run("http request", func(t *testing.T) {
		hc := config.HealthCheck{Type: "http", Method: "HEAD", Path: "/healthz?full=1", Host: "app.example"}
		srv := startServer(t, reply("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"))
		if r := runProbe(t, &hc, srv.addr()); !r.ok {
			t.Fatalf("HEAD with Content-Length and no body: %s", r.desc())
		}
		srv.close()
		want := "HEAD /healthz?full=1 HTTP/1.1\r\nHost: app.example\r\n"
		if got := srv.reqs[0]; !strings.HasPrefix(got, want) || !strings.Contains(got, "\r\nConnection: close\r\n") {
			t.Fatalf("request %q, want HTTP/1.1 with Host and Connection: close", got)
		}
	})
	t.Run("agent send bytes", func(t *testing.T) {
		agentSend.close()
		if len(agentSend.reqs) == 0 || agentSend.reqs[0] != "hello\n" {
			t.Fatalf("agent got %q", agentSend.reqs)
		}
	})
}

func TestProbeConnectTimeout(t *testing.T) {
	addr := fullBacklogAddr(t)
	start := time.Now()
	r := runProbe(t, &config.HealthCheck{Type: "tcp", Timeout: 200 * time.Millisecond}, addr)
	if r.code != codeL4TOUT || r.desc() != "Layer4 timeout" {
		// Some kernels answer anyway; then there is nothing to test here.
		if r.ok {
			t.Skipf("kernel accepted a connection past the backlog")
		}
		t.Fatalf("got %s %q, want L4TOUT", r.code, r.desc())
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("timeout not enforced: %v", el)
	}
}

func TestProbeStopAbortsCheck(t *testing.T) {
	srv := startServer(t, hang)
	hc := &config.HealthCheck{Type: "http", Method: "GET", Path: "/", ExpectStatus: []int{200}, Timeout: 10 * time.Second}
	pr := newNetProber(hc, &config.Server{Name: "s", Address: srv.addr()})
	p := NewPool(zerolog.Nop())
	defer p.Close()
	ch := newChecker(p, nil, hc, nil, pr)
	done := make(chan result)
	go func() { done <- probe(pr, ch.ctx, ch.track) }()
	for { // wait until connected
		ch.mu.Lock()
		c := ch.conn
		ch.mu.Unlock()
		if c != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ch.stop()
	select {
	case r := <-done:
		if r.ok {
			t.Fatal("aborted check passed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not abort the check in progress")
	}
}

// TestReresolveOnReload: a reload makes a check look a host name up again
// (the proxy re-resolves it too), and keeps an IP address as it is.
func TestReresolveOnReload(t *testing.T) {
	hc := &config.HealthCheck{Type: "tcp", Timeout: time.Second}
	for _, tc := range []struct {
		address string
		forgets bool
	}{
		{"localhost:8080", true},
		{"127.0.0.1:8080", false},
	} {
		p := newNetProber(hc, &config.Server{Address: tc.address})
		p.target.Store(newSockTarget(netip.MustParseAddrPort("127.0.0.2:8080")))
		p.reresolve()
		if forgot := p.target.Load() == nil; forgot != tc.forgets {
			t.Errorf("%s: resolved address forgotten %v, want %v", tc.address, forgot, tc.forgets)
		}
	}
}
