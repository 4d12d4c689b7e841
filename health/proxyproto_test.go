package health

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"lbd/config"
	"lbd/proxyproto"
)

// TestChecksSendProxy: checks of a server that wants the PROXY protocol
// start with the header, in the event loop and in the blocking path:
// v2 LOCAL, v1 with the check connection's own addresses. A server that
// refuses connections without it passes such checks and fails the others.
func TestChecksSendProxy(t *testing.T) {
	got := make(chan string, 8)
	srv := startServer(t, func(c net.Conn, ts *testServer) {
		br := bufio.NewReader(c)
		c.SetDeadline(time.Now().Add(2 * time.Second))
		b, _ := br.Peek(16)
		var h proxyproto.Header
		var n int
		var err error
		for k := 1; k <= len(b); k++ {
			if h, n, err = proxyproto.Parse(b[:k]); err != proxyproto.ErrIncomplete {
				break
			}
		}
		if err == proxyproto.ErrIncomplete && len(b) > 0 && b[0] == 'P' {
			line, _ := br.Peek(bytesUntilLF(br))
			h, n, err = proxyproto.Parse(line)
		}
		if err != nil {
			got <- "no header"
			return // closed: the server refuses it
		}
		br.Discard(n)
		switch {
		case h.Version == 2 && h.Command == proxyproto.Local:
			got <- "v2 local"
		case h.Version == 1 && h.HasAddrs() && h.Src.Addr() == h.Dst.Addr() && h.Dst.Addr().IsLoopback():
			got <- "v1 own addresses"
		default:
			got <- "unexpected"
		}
		line, _ := br.ReadString('\n')
		if strings.HasPrefix(line, "GET ") {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		}
	})
	yes, no := true, false
	for _, tc := range []struct {
		name string
		typ  string
		sc   config.Server
		hc   config.HealthCheck
		want string
		ok   bool
	}{
		{"http v2", "http", config.Server{SendProxy: "v2"}, config.HealthCheck{}, "v2 local", true},
		{"http v1", "http", config.Server{SendProxy: "v1"}, config.HealthCheck{}, "v1 own addresses", true},
		{"tcp forced v1", "tcp", config.Server{CheckSendProxy: &yes}, config.HealthCheck{}, "v1 own addresses", true},
		{"http turned off", "http", config.Server{SendProxy: "v2", CheckSendProxy: &no}, config.HealthCheck{}, "no header", false},
	} {
		hc := tc.hc
		hc.Type, hc.Timeout, hc.Method, hc.Path, hc.ExpectStatus = tc.typ, time.Second, "GET", "/", []int{200}
		sc := tc.sc
		sc.Name, sc.Address = "s", srv.addr()
		for _, blocking := range []bool{false, true} {
			pr := newNetProber(&hc, &sc)
			var r result
			if blocking {
				r = pr.runBlocking(pr.target.Load(), time.Now().Add(time.Second), func(io.Closer) bool { return true })
			} else {
				r = probe(pr, context.Background(), func(io.Closer) bool { return true })
			}
			if w := <-got; w != tc.want {
				t.Errorf("%s (blocking %v): server saw %q, want %q", tc.name, blocking, w, tc.want)
			}
			if r.ok != tc.ok {
				t.Errorf("%s (blocking %v): check ok=%v %s, want %v", tc.name, blocking, r.ok, r.desc(), tc.ok)
			}
		}
	}
	// No PROXY when the check goes to another port (HAProxy's rule).
	if v := (&config.Server{SendProxy: "v2"}).CheckProxyVersion(&config.HealthCheck{Port: 8080}); v != 0 {
		t.Errorf("check port set: version %d, want 0", v)
	}
}

func bytesUntilLF(br *bufio.Reader) int {
	for n := 16; n <= proxyproto.MaxV1; n++ {
		b, err := br.Peek(n)
		if err != nil || b[n-1] == '\n' {
			return len(b)
		}
	}
	return proxyproto.MaxV1
}
