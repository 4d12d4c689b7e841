package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const timeoutsHTTP = `
defaults {
  timeouts {
    connect      = "300ms"
    client       = "5s"
    server       = "300ms"
    http_request = "300ms"
    queue        = "300ms"
  }
}
frontend "web" {
  bind = ["{{fe}}"]
  default_backend = "app"
}
backend "app" {
  server "s1" {
    address = "{{s1}}"
    maxconn = 1
    check = false
  }
}
`

func TestTimeout408OnSlowHead(t *testing.T) {
	b := backendServer(t, "s1", nil)
	fe := freePort(t)
	r := newRig(t, timeoutsHTTP, map[string]string{"fe": fe, "s1": hostport(b)})
	for _, partial := range []string{"GET / HTTP/1.1\r\nHost: a\r\n", ""} {
		got := rawRequest(t, fe, partial, 5*time.Second)
		if statusOf(got) != "408" {
			t.Fatalf("partial %q: got %q", partial, got)
		}
	}
	r.logs.waitFor(t, `"status":408`, `"termination_state":"cR"`)
}

// TestTimeout408OnSlowSecondHead: on a kept connection, a request whose
// head came whole sets no deadline of its own (readRequest), and the next
// head that comes in pieces still gets http_request's 408, not the
// keep-alive wait's or the client timeout's.
func TestTimeout408OnSlowSecondHead(t *testing.T) {
	b := backendServer(t, "s1", nil)
	fe := freePort(t)
	newRig(t, timeoutsHTTP, map[string]string{"fe": fe, "s1": hostport(b)})
	c, err := net.Dial("tcp", fe)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for range 3 {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("kept request: %v %v", resp, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	start := time.Now()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 408 {
		t.Fatalf("slow second head: %v %v", resp, err)
	}
	// http_request is 300 ms, the client timeout 5 s; the hand-off wait
	// before it ended about 100 ms after the last response.
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Fatalf("408 after %v, want about 300 ms", d)
	}
}

func TestTimeout504OnSlowServer(t *testing.T) {
	release := make(chan struct{})
	b := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	})
	defer close(release)
	fe := freePort(t)
	r := newRig(t, timeoutsHTTP, map[string]string{"fe": fe, "s1": hostport(b)})
	resp, _ := httpGet(t, "http://"+fe+"/slow", nil)
	if resp.StatusCode != 504 {
		t.Fatalf("got %d", resp.StatusCode)
	}
	r.logs.waitFor(t, `"status":504`, `"termination_state":"sH"`, `"server":"s1"`)
}

func TestQueueTimeout503AndQueueing(t *testing.T) {
	release := make(chan struct{})
	var inFlight, maxInFlight atomic.Int32
	b := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
		}
		if r.URL.Path == "/block" {
			<-release
		}
		io.WriteString(w, "ok")
	})
	fe := freePort(t)
	r := newRig(t, strings.Replace(timeoutsHTTP, `server       = "300ms"`, `server = "10s"`, 1), map[string]string{"fe": fe, "s1": hostport(b)})

	// One request holds the only slot; the next waits past timeouts.queue.
	done := make(chan int, 1)
	go func() {
		resp, _ := httpGet(t, "http://"+fe+"/block", nil)
		done <- resp.StatusCode
	}()
	waitUntil(t, func() bool { return r.server("app", "s1").Counters.CurConns.Load() == 1 })
	resp, _ := httpGet(t, "http://"+fe+"/queued", nil)
	if resp.StatusCode != 503 {
		t.Fatalf("queued request: %d", resp.StatusCode)
	}
	r.logs.waitFor(t, `"status":503`, `"termination_state":"sQ"`)
	close(release)
	if st := <-done; st != 200 {
		t.Fatalf("blocking request: %d", st)
	}

	// With a longer queue timeout, concurrent requests all succeed one at
	// a time: the server never sees two at once.
	r.apply(strings.Replace(strings.Replace(timeoutsHTTP, `queue        = "300ms"`, `queue = "10s"`, 1), `server       = "300ms"`, `server = "10s"`, 1),
		map[string]string{"fe": fe, "s1": hostport(b)})
	var wg sync.WaitGroup
	var fails atomic.Int32
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := httpGet(t, "http://"+fe+"/q", nil)
			if resp.StatusCode != 200 || body != "ok" {
				fails.Add(1)
			}
		}()
	}
	wg.Wait()
	if fails.Load() != 0 || maxInFlight.Load() != 1 {
		t.Fatalf("fails=%d max concurrent at server=%d (maxconn 1)", fails.Load(), maxInFlight.Load())
	}
	if m := r.server("app", "s1").Counters.MaxConns.Load(); m != 1 {
		t.Fatalf("MaxConns %d", m)
	}
}

func waitUntil(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const twoServers = `
defaults {
  timeouts {
    connect = "100ms"
    server  = "2s"
  }
}
frontend "web" {
  bind = ["{{fe}}"]
  default_backend = "app"
}
backend "app" {
  retries = {{retries}}
  server "s1" {
    address = "{{s1}}"
    check = false
  }
  server "s2" {
    address = "{{s2}}"
    check = false
  }
}
`

func TestRetriesThenRedispatch(t *testing.T) {
	b := backendServer(t, "s2", nil)
	dead := closedPort(t)
	fe := freePort(t)
	r := newRig(t, twoServers, map[string]string{"fe": fe, "s1": dead, "s2": hostport(b), "retries": "2"})
	// Round robin starts with s1, which refuses: one retry on s1, then the
	// last retry goes to s2.
	for i := 0; i < 4; i++ {
		resp, body := httpGet(t, "http://"+fe+"/", nil)
		if resp.StatusCode != 200 || body != "hello from s2\n" {
			t.Fatalf("#%d: %d %q", i, resp.StatusCode, body)
		}
	}
	s1 := r.server("app", "s1")
	if s1.Counters.ConnErrors.Load() == 0 || s1.Counters.Redispatch.Load() == 0 || s1.Counters.Retries.Load() == 0 {
		t.Fatalf("s1 counters: errors=%d retries=%d redispatch=%d", s1.Counters.ConnErrors.Load(), s1.Counters.Retries.Load(), s1.Counters.Redispatch.Load())
	}
	// The slot is given back just after the response is sent.
	waitUntil(t, func() bool {
		return s1.Counters.CurConns.Load() == 0 && r.server("app", "s2").Counters.CurConns.Load() == 0
	})
	r.logs.waitFor(t, `"server":"s2"`, `"retries":2`, `"status":200`)
}

func TestAllServersDown503(t *testing.T) {
	fe := freePort(t)
	r := newRig(t, twoServers, map[string]string{"fe": fe, "s1": closedPort(t), "s2": closedPort(t), "retries": "1"})
	resp, body := httpGet(t, "http://"+fe+"/", nil)
	if resp.StatusCode != 503 || !strings.Contains(body, "No server is available") {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	r.logs.waitFor(t, `"status":503`, `"termination_state":"SC"`)
}

func TestConnectTimeout(t *testing.T) {
	// A listener whose backlog is full drops further SYNs: connects hang.
	addr := fullBacklogListener(t)
	fe := freePort(t)
	r := newRig(t, twoServers, map[string]string{"fe": fe, "s1": addr, "s2": addr, "retries": "0"})
	resp, _ := httpGet(t, "http://"+fe+"/", nil)
	if resp.StatusCode != 503 {
		t.Fatalf("got %d", resp.StatusCode)
	}
	r.logs.waitFor(t, `"status":503`, `"termination_state":"sC"`)
}

func TestNoUsableServer503(t *testing.T) {
	fe := freePort(t)
	src := strings.Replace(basicHTTP, "check = false", "check = false\n    weight = 0", 1)
	r := newRig(t, src, map[string]string{"fe": fe, "s1": closedPort(t)})
	resp, _ := httpGet(t, "http://"+fe+"/", nil)
	if resp.StatusCode != 503 {
		t.Fatalf("got %d", resp.StatusCode)
	}
	r.logs.waitFor(t, `"status":503`, `"server":"<NOSRV>"`, `"termination_state":"SC"`)
}

func TestStrictHTTPRejections(t *testing.T) {
	var hits atomic.Int32
	b := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	fe := freePort(t)
	r := newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": hostport(b)})
	tests := []struct {
		name, req, status string
	}{
		{"cl+te", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
		{"two cl", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "400"},
		{"te on 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
		{"te gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "400"},
		{"space before colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n", "400"},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", "400"},
		{"ctl in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01c\r\n\r\n", "400"},
		{"no host", "GET / HTTP/1.1\r\n\r\n", "400"},
		{"bad uri char", "GET /a\"b<c> HTTP/1.1\r\nHost: a\r\n\r\n", ""},
		{"uri too long", "GET /" + strings.Repeat("a", bufSize+10) + " HTTP/1.1\r\nHost: a\r\n\r\n", "414"},
		{"head too large", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 1000)+"\r\n", 17) + "\r\n", "431"},
		{"http/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "505"},
		{"connect", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", "501"},
	}
	for _, tc := range tests {
		if tc.status == "" {
			continue // visible ASCII targets are forwarded, as HAProxy does
		}
		got := rawRequest(t, fe, tc.req, 5*time.Second)
		if statusOf(got) != tc.status {
			t.Errorf("%s: got %q, want %s", tc.name, firstLine(got), tc.status)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("%d refused requests reached the server", hits.Load())
	}
	r.logs.waitFor(t, `"status":400`, `"termination_state":"PR"`)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func TestHopByHopStrippedAndConnectionTokens(t *testing.T) {
	got := make(chan http.Header, 1)
	b := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-Hop", "x")
		w.Header().Set("Connection", "X-Hop")
	})
	fe := freePort(t)
	newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": hostport(b)})
	c := dialClient(t, fe)
	c.send(t, "GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Private\r\nX-Private: secret\r\nKeep-Alive: 300\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nX-End: 1\r\n\r\n")
	resp, _ := c.read(t, "GET")
	h := <-got
	for _, k := range []string{"X-Private", "Keep-Alive", "Proxy-Connection", "Te", "Connection"} {
		if h.Get(k) != "" {
			t.Errorf("server got hop-by-hop %s: %q", k, h.Get(k))
		}
	}
	if h.Get("X-End") != "1" {
		t.Error("end-to-end field lost")
	}
	if resp.Header.Get("X-Hop") != "" || resp.Header.Get("Keep-Alive") != "" {
		t.Errorf("client got hop-by-hop fields: %v", resp.Header)
	}
}

func TestNoBodyResponses(t *testing.T) {
	b := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.Header().Set("ETag", `"x"`)
			w.WriteHeader(304)
		default:
			w.Header().Set("Content-Length", "11")
			io.WriteString(w, "hello world")
		}
	})
	fe := freePort(t)
	newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": hostport(b)})
	c := dialClient(t, fe)
	c.send(t, "HEAD /x HTTP/1.1\r\nHost: a\r\n\r\nGET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /304 HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	for _, want := range []struct {
		method string
		status int
		body   string
	}{{"HEAD", 200, ""}, {"GET", 204, ""}, {"GET", 304, ""}, {"GET", 200, "hello world"}} {
		resp, body := c.read(t, want.method)
		if resp.StatusCode != want.status || body != want.body {
			t.Fatalf("%s: got %d %q, want %d %q", want.method, resp.StatusCode, body, want.status, want.body)
		}
		if want.method == "HEAD" && resp.ContentLength != 11 {
			t.Fatalf("HEAD lost Content-Length: %d", resp.ContentLength)
		}
	}
}

func TestExpect100Continue(t *testing.T) {
	b := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %s", body)
	})
	fe := freePort(t)
	newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": hostport(b)})
	c := dialClient(t, fe)
	c.send(t, "PUT /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	line, err := c.br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("no 100 Continue: %q %v", line, err)
	}
	if blank, _ := c.br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("interim response not empty: %q", blank)
	}
	c.send(t, "hello")
	resp, body := c.read(t, "PUT")
	if resp.StatusCode != 200 || body != "got hello" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	// The connection is still usable.
	c.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, _ := c.read(t, "GET"); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
}

func TestEarlyFinalResponseWithoutContinue(t *testing.T) {
	b := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401) // never reads the body
	})
	fe := freePort(t)
	newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": hostport(b)})
	c := dialClient(t, fe)
	c.send(t, "PUT /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n")
	resp, _ := c.read(t, "PUT")
	if resp.StatusCode != 401 {
		t.Fatalf("got %d", resp.StatusCode)
	}
	if !resp.Close {
		t.Fatal("the upload never came: the connection must close")
	}
}

func fullBacklogListener(t testing.TB) string {
	t.Helper()
	addr, cleanup := listenBacklogFull(t)
	t.Cleanup(cleanup)
	return addr
}

var _ = net.Dial

// TestPipelinedRequestArrivingLate: a request sent while the previous one
// is still being served is answered promptly, whether or not the proxy
// missed its arrival.
func TestPipelinedRequestArrivingLate(t *testing.T) {
	b := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(100 * time.Millisecond)
		}
		io.WriteString(w, r.URL.Path)
	})
	fe := freePort(t)
	newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": hostport(b)})
	c := dialClient(t, fe)
	for i := 0; i < 3; i++ {
		c.send(t, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
		time.Sleep(30 * time.Millisecond)
		c.send(t, "GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
		start := time.Now()
		if _, body := c.read(t, "GET"); body != "/slow" {
			t.Fatalf("first: %q", body)
		}
		if _, body := c.read(t, "GET"); body != "/next" {
			t.Fatalf("second: %q", body)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("pipelined pair took %v", d)
		}
	}
}
