package health

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"lbd/config"
)

// TestChecksLeaveNoTimeWait checks that a check's connection ends with a
// RST, as HAProxy ends them: no TIME_WAIT is left on either side, however
// the check went. The server answers, reads until the checker closes,
// then closes too; an orderly close would leave a TIME_WAIT behind.
func TestChecksLeaveNoTimeWait(t *testing.T) {
	tests := []struct {
		name   string
		hc     config.HealthCheck
		answer string
		ok     bool
	}{
		{"http passed", config.HealthCheck{Type: "http"}, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true},
		{"http wrong status", config.HealthCheck{Type: "http"}, "HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy", false},
		{"http until close", config.HealthCheck{Type: "http"}, "HTTP/1.0 200 OK\r\n\r\nok", true},
		{"http timeout", config.HealthCheck{Type: "http", Timeout: 100 * time.Millisecond}, "HTTP/1.1 200 OK\r\n", false},
		{"tcp-check expect", config.HealthCheck{Type: "tcp-check", Send: "PING\r\n", Expect: "PONG"}, "+PONG\r\n", true},
		{"tcp-check send only", config.HealthCheck{Type: "tcp-check", Send: "PING\r\n"}, "", true},
		{"agent", config.HealthCheck{Type: "agent"}, "up\n", true},
		{"tcp", config.HealthCheck{Type: "tcp"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan struct{})
			var checker string // the checker's address, as the server saw it
			srv := startServer(t, func(c net.Conn, ts *testServer) {
				defer close(done)
				checker = c.RemoteAddr().String()
				if tt.hc.Type == "http" {
					readHead(c, ts)
				}
				_, _ = io.WriteString(c, tt.answer)
				if strings.HasPrefix(tt.answer, "HTTP/1.0") {
					return // the end of the body is the close
				}
				_, _ = io.Copy(io.Discard, c) // until the checker's close
			})
			if r := runProbe(t, &tt.hc, srv.addr()); r.ok != tt.ok {
				t.Fatalf("check: %s %q", r.code, r.desc())
			}
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("the checker did not close its connection")
			}
			_, port, _ := net.SplitHostPort(srv.addr())
			_, from, _ := net.SplitHostPort(checker)
			deadline := time.Now().Add(2 * time.Second)
			for {
				n := timeWaits(t, port, from)
				if n == 0 {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d connection(s) to port %s in TIME_WAIT: not closed with a RST", n, port)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// timeWaits counts the IPv4 TCP sockets in TIME_WAIT between port and
// from, either way round (/proc/net/tcp: addresses as HEX:PORT, state 06).
// Both ports: a socket of another test in TIME_WAIT may have had the
// server's port as its own before the server bound it.
func timeWaits(t *testing.T, port, from string) int {
	hex := func(port string) string {
		var p int
		fmt.Sscan(port, &p)
		return fmt.Sprintf(":%04X", p)
	}
	a, b := hex(port), hex(from)
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		t.Skipf("no /proc/net/tcp: %v", err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 3 && fs[3] == "06" && (strings.HasSuffix(fs[1], a) && strings.HasSuffix(fs[2], b) || strings.HasSuffix(fs[1], b) && strings.HasSuffix(fs[2], a)) {
			n++
		}
	}
	return n
}
