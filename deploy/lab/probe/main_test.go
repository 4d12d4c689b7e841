package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestProbeCountsAndGap(t *testing.T) {
	tests := []struct {
		name       string
		failFrom   int // calls [failFrom, failTo) fail
		failTo     int
		calls      int
		wantFailed int
	}{
		{"all ok", 0, 0, 20, 0},
		{"outage in the middle", 5, 12, 20, 7},
		{"outage at the end", 15, 20, 20, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			try := func(context.Context) (string, error) {
				i := int(n.Add(1)) - 1
				if i >= tt.calls {
					// Stopping mid-request is not a failure of the
					// service: probe must not count this one.
					cancel()
					return "", context.Canceled
				}
				if i >= tt.failFrom && i < tt.failTo {
					return "", errors.New("dial tcp: connection refused")
				}
				return []string{"a", "b"}[i%2], nil
			}
			var out strings.Builder
			st := probe(ctx, try, 5*time.Millisecond, &out)
			if st.requests != tt.calls || st.failed != tt.wantFailed || st.ok != tt.calls-tt.wantFailed {
				t.Fatalf("requests=%d ok=%d failed=%d, want %d/%d/%d", st.requests, st.ok, st.failed,
					tt.calls, tt.calls-tt.wantFailed, tt.wantFailed)
			}
			// An outage of k failed calls spaced 5ms apart lasts at least
			// about k*5ms; allow scheduling slack downwards only a little.
			if minGap := time.Duration(tt.wantFailed) * 4 * time.Millisecond; st.longestGap < minGap {
				t.Errorf("longest gap %v, want >= %v", st.longestGap, minGap)
			}
			if tt.wantFailed > 0 {
				if st.errors["connection refused"] != tt.wantFailed {
					t.Errorf("errors %v", st.errors)
				}
				if !strings.Contains(out.String(), "FAIL") {
					t.Errorf("no FAIL line in %q", out.String())
				}
			}
			if s := st.summary(); !strings.Contains(s, "failed="+strconv.Itoa(tt.wantFailed)+" ") {
				t.Errorf("summary %q", s)
			}
		})
	}
}

func TestHTTPTry(t *testing.T) {
	var fail atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Server", "web1")
		if fail.Load() {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	try := httpTry(srv.URL, 5*time.Second)
	if name, err := try(context.Background()); err != nil || name != "web1" {
		t.Fatalf("try: %q %v", name, err)
	}
	fail.Store(true)
	if _, err := try(context.Background()); err == nil || classify(err) != "status" {
		t.Fatalf("503 should fail as status, got %v", err)
	}
}

func TestTCPTry(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					switch line {
					case "NAME\r\n":
						io.WriteString(c, "web2\r\n")
					case "PING\r\n":
						io.WriteString(c, "PONG\r\n")
					}
				}
			}()
		}
	}()
	try := tcpTry(l.Addr().String(), 5*time.Second)
	if name, err := try(context.Background()); err != nil || name != "web2" {
		t.Fatalf("try: %q %v", name, err)
	}
	addr := l.Addr().String()
	l.Close()
	if _, err := tcpTry(addr, time.Second)(context.Background()); err == nil {
		t.Fatal("try against a closed port succeeded")
	}
}

func TestCounts(t *testing.T) {
	tests := []struct {
		in   map[string]int
		want string
	}{
		{nil, "-"},
		{map[string]int{"web2": 3, "web1": 4}, "web1:4,web2:3"},
		{map[string]int{"connection refused": 1}, "connection_refused:1"},
	}
	for _, tt := range tests {
		if got := counts(tt.in); got != tt.want {
			t.Errorf("counts(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
