package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

const h2cConfig = `
defaults {
  mode = "http"
  timeouts {
    connect = "1s"
    client = "3s"
    server = "3s"
    http_keep_alive = "2s"
  }
}
global {
  h2 {
    fe_max_concurrent_streams = 20
  }
}
frontend "web" {
  bind = ["{{fe}}"]
  h2c = true
  forward_for = true
  default_backend = "app"
  route "api" {
    path_prefix = ["/api/"]
    backend = "api"
  }
}
backend "app" {
  server "s1" {
    address = "{{s1}}"
    check = false
  }
}
backend "api" {
  server "s2" {
    address = "{{s2}}"
    check = false
  }
}
`

// h2cClient is Go's HTTP/2 client with prior knowledge over plain TCP.
func h2cClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// echoServer answers with what it got: server name, protocol, method,
// target, some headers and the body.
func h2Echo(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Server", name)
		w.Header().Set("X-Got", fmt.Sprintf("%s %s %s host=%s xff=%s te=%v cl=%d", r.Proto, r.Method, r.RequestURI, r.Host,
			r.Header.Get("X-Forwarded-For"), r.TransferEncoding, r.ContentLength))
		if r.URL.Query().Get("trailer") != "" {
			w.Header().Set("Trailer", "X-Sum")
		}
		w.Write(body)
		if n := r.URL.Query().Get("big"); n != "" {
			k, _ := strconv.Atoi(n)
			w.Write([]byte(strings.Repeat("z", k)))
		}
		if r.URL.Query().Get("trailer") != "" {
			w.Header().Set("X-Sum", strconv.Itoa(len(body)))
		}
	}
}

// TestH2CThroughEngine: an HTTP/2 client (prior knowledge) is served by
// HTTP/1.1 servers through routing, with uploads, large downloads,
// trailers and many streams at once; HTTP/1.1 still works on the same
// bind; each stream has its access-log line.
func TestH2CThroughEngine(t *testing.T) {
	s1 := backendServer(t, "s1", h2Echo("s1"))
	s2 := backendServer(t, "s2", h2Echo("s2"))
	fe := freePort(t)
	r := newRig(t, h2cConfig, map[string]string{"fe": fe, "s1": hostport(s1), "s2": hostport(s2)})
	cl := h2cClient()
	base := "http://" + fe

	resp, err := cl.Get(base + "/a?x=1")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.Header.Get("X-Server") != "s1" ||
		!strings.HasPrefix(resp.Header.Get("X-Got"), "HTTP/1.1 GET /a?x=1 host="+fe+" xff=127.0.0.1") {
		t.Fatalf("proto %s server %q got %q", resp.Proto, resp.Header.Get("X-Server"), resp.Header.Get("X-Got"))
	}
	resp, err = cl.Get(base + "/api/v1")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("X-Server") != "s2" {
		t.Fatalf("route: %q", resp.Header.Get("X-Server"))
	}
	r.logs.waitFor(t, `"request":"GET /api/v1 HTTP/2.0"`, `"backend":"api"`, `"status":200`)

	// Uploads with and without content-length, trailers, a big download.
	body := strings.Repeat("u", 300000)
	req, _ := http.NewRequest("POST", base+"/up?trailer=1&big=2000000", strings.NewReader(body))
	resp, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(got) != len(body)+2000000 || resp.Trailer.Get("X-Sum") != "300000" {
		t.Fatalf("upload/download: %d bytes, %v, trailer %v, got %q", len(got), err, resp.Trailer, resp.Header.Get("X-Got"))
	}
	if !strings.Contains(resp.Header.Get("X-Got"), "cl=300000") {
		t.Fatalf("X-Got %q", resp.Header.Get("X-Got"))
	}
	req, _ = http.NewRequest("POST", base+"/up", io.NopCloser(strings.NewReader(body)))
	req.ContentLength = -1
	resp, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(got) != len(body) || !strings.Contains(resp.Header.Get("X-Got"), "te=[chunked]") {
		t.Fatalf("chunked upload: %d bytes, %q", len(got), resp.Header.Get("X-Got"))
	}

	// Many streams at once.
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			b := strings.Repeat(strconv.Itoa(i%10), 1000*(i%7))
			resp, err := cl.Post(base+"/s/"+strconv.Itoa(i), "text/plain", strings.NewReader(b))
			if err != nil {
				errs <- err
				return
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(got) != b {
				errs <- fmt.Errorf("stream %d: %d bytes back of %d", i, len(got), len(b))
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// HTTP/1.1 on the same bind.
	out := rawRequest(t, fe, "GET /h1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 3*time.Second)
	if statusOf(out) != "200" || !strings.Contains(out, "X-Server: s1") {
		t.Fatalf("HTTP/1.1: %q", out)
	}
}

// TestH2CErrorsAndLimits: a request no backend takes gets the engine's
// error page as an HTTP/2 response; a request smuggling attempt is reset
// before it reaches a server.
func TestH2CErrorsAndLimits(t *testing.T) {
	hits := 0
	var mu sync.Mutex
	s1 := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	})
	fe := freePort(t)
	newRig(t, strings.Replace(h2cConfig, `address = "{{s2}}"`, `address = "127.0.0.1:1"`, 1), map[string]string{"fe": fe, "s1": hostport(s1)})
	cl := h2cClient()
	resp, err := cl.Get("http://" + fe + "/api/x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(b), "503 Service Unavailable") || resp.Header.Get("Connection") != "" {
		t.Fatalf("status %d %q headers %v", resp.StatusCode, b, resp.Header)
	}
}

const h2UpstreamConfig = `
defaults {
  mode = "http"
  timeouts {
    connect = "1s"
    client = "3s"
    server = "3s"
  }
}
frontend "web" {
  bind = ["{{fe}}"]
  h2c = true
  default_backend = "grpc"
}
backend "grpc" {
  proto = "h2"
  server "g1" {
    address = "{{g1}}"
    check = false
  }
}
`

// h2cBackend is an HTTP/2 server with prior knowledge (Go's), counting
// its connections.
func h2cBackend(t *testing.T, h http.Handler) (string, *atomic.Int64) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	srv := &http2.Server{MaxConcurrentStreams: 50}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go srv.ServeConn(c, &http2.ServeConnOpts{Handler: h})
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), &conns
}

// TestH2Upstream: HTTP/2 and HTTP/1.1 clients through lbd to an HTTP/2
// server: trailers (as gRPC sends them), streaming both ways, and the
// requests of many clients on few server connections.
func TestH2Upstream(t *testing.T) {
	g1, conns := h2cBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
		w.Header().Set("X-Got", fmt.Sprintf("%s %s %s host=%s te=%s", r.Proto, r.Method, r.RequestURI, r.Host, r.Header.Get("Te")))
		w.WriteHeader(200)
		fl := w.(http.Flusher)
		buf := make([]byte, 1024)
		total := 0
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				total += n
				w.Write(buf[:n]) // echo as it comes: streaming both ways
				fl.Flush()
			}
			if err != nil {
				break
			}
		}
		w.Header().Set("Grpc-Status", "0")
		w.Header().Set("Grpc-Message", "got "+strconv.Itoa(total))
	}))
	fe := freePort(t)
	r := newRig(t, h2UpstreamConfig, map[string]string{"fe": fe, "g1": g1})
	cl := h2cClient()

	// Streaming: each message is echoed before the next is sent.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", "http://"+fe+"/pkg.Svc/Stream", pr)
	req.Header.Set("Te", "trailers")
	req.Header.Set("Content-Type", "application/grpc")
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := cl.Do(req)
		if err != nil {
			t.Error(err)
			done <- nil
			return
		}
		done <- resp
	}()
	pw.Write([]byte("ping-1"))
	resp := <-done
	if resp == nil {
		t.FailNow()
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "ping-1" {
		t.Fatalf("first echo %q %v", buf, err)
	}
	pw.Write([]byte("ping-2"))
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "ping-2" {
		t.Fatalf("second echo %q %v", buf, err)
	}
	pw.Close()
	rest, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(rest) != 0 || resp.Trailer.Get("Grpc-Status") != "0" || resp.Trailer.Get("Grpc-Message") != "got 12" {
		t.Fatalf("rest %q trailers %v", rest, resp.Trailer)
	}
	if got := resp.Header.Get("X-Got"); got != "HTTP/2.0 POST /pkg.Svc/Stream host="+fe+" te=trailers" {
		t.Fatalf("the server got %q", got)
	}
	r.logs.waitFor(t, `"request":"POST /pkg.Svc/Stream HTTP/2.0"`, `"server":"g1"`, `"status":200`)

	// An HTTP/1.1 client: chunked response with the trailers.
	out := rawRequest(t, fe, "POST /h1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc", 3*time.Second)
	if statusOf(out) != "200" || !strings.Contains(out, "3\r\nabc\r\n") || !strings.Contains(out, "\r\nGrpc-Status: 0\r\n") && !strings.Contains(out, "\r\ngrpc-status: 0\r\n") {
		t.Fatalf("HTTP/1.1 client: %q", out)
	}

	// Many clients, few server connections.
	before := conns.Load()
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := h2cClient() // a connection of its own
			b := strings.Repeat("x", 100*i)
			resp, err := c.Post("http://"+fe+"/c", "text/plain", strings.NewReader(b))
			if err != nil {
				errs <- err
				return
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(got) != b || resp.Trailer.Get("Grpc-Status") != "0" {
				errs <- fmt.Errorf("client %d: %d bytes, trailers %v", i, len(got), resp.Trailer)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := conns.Load() - before; n > 4 {
		t.Errorf("60 clients took %d server connections", n)
	}
}

// TestH2Parked: an idle HTTP/2 connection is parked (without a goroutine
// or its net.Conn) and serves its next stream from there, on the same
// connection.
func TestH2Parked(t *testing.T) {
	if parkUnsupported {
		t.Skip("no parker on this system")
	}
	s1 := backendServer(t, "s1", h2Echo("s1"))
	fe := freePort(t)
	r := newRig(t, h2cConfig, map[string]string{"fe": fe, "s1": hostport(s1), "s2": hostport(s1)})
	cl := h2cClient()
	for i := 0; i < 3; i++ {
		resp, err := cl.Get("http://" + fe + "/a")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
			t.Fatalf("request %d: %s %d", i, resp.Proto, resp.StatusCode)
		}
		waitUntil(t, func() bool { return r.e.parker.count() == 1 })
		if n := parkedHoldingConn(r.e); n != 0 {
			t.Fatalf("%d parked sessions still hold their net.Conn", n)
		}
	}
	if n := r.e.actconn.Load(); n != 1 {
		t.Fatalf("%d client connections, want the one reused", n)
	}
}

// TestH2OwnServerConnections: an HTTP/2 client's streams reuse the server
// connections its earlier streams used, and a server answering one of
// them twice (the second answer late, after any peek) cannot reach
// another client once this one has left.
func TestH2OwnServerConnections(t *testing.T) {
	srv := numberedBackend(t)
	fe := freePort(t)
	newRig(t, h2cConfig, map[string]string{"fe": fe, "s1": srv, "s2": srv})
	get := func(cl *http.Client, path string) string {
		t.Helper()
		resp, err := cl.Get("http://" + fe + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	a := h2cClient()
	conns := map[string]bool{}
	for _, path := range []string{"/1", "/2", "/3", "/4"} {
		conns[strings.SplitN(get(a, path), "-", 2)[0]] = true
	}
	// A stream's connection is kept once the stream has ended, which may
	// be after its client has its answer and sends the next request.
	if len(conns) > 2 {
		t.Errorf("4 streams one after the other used %d server connections", len(conns))
	}
	time.Sleep(20 * time.Millisecond) // the last stream has kept its connection
	double := get(a, "/double")
	if !conns[strings.SplitN(double, "-", 2)[0]] {
		t.Fatalf("/double: %q, want a connection an earlier stream used", double)
	}
	used := strings.SplitN(double, "-", 2)[0] + "-"
	a.CloseIdleConnections() // the second answer to /double is still to come
	time.Sleep(50 * time.Millisecond)
	b := h2cClient()
	for i := 0; i < 3; i++ {
		if body := get(b, "/"); strings.HasPrefix(body, used) || body == "later" {
			t.Fatalf("another client got %q: an answer from the connection that answered %q to the client that left", body, double)
		}
	}
}

// TestH2UpstreamResetMidUpload: an HTTP/2 server that resets a stream
// while the client is still sending its body (a gRPC server whose
// deadline expired) gets the client's stream reset with its code, not an
// error page: lbd's own interrupt of the upload is no client timeout.
func TestH2UpstreamResetMidUpload(t *testing.T) {
	g1, _ := h2cBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 6)
		io.ReadFull(r.Body, buf)
		panic(http.ErrAbortHandler) // RST_STREAM INTERNAL_ERROR
	}))
	fe := freePort(t)
	r := newRig(t, h2UpstreamConfig, map[string]string{"fe": fe, "g1": g1})
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("POST", "http://"+fe+"/pkg.Svc/FullDuplex", pr)
	req.Header.Set("Content-Type", "application/grpc")
	go pw.Write([]byte("ping-1"))
	resp, err := h2cClient().Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("got a response, %d %q, want the stream reset", resp.StatusCode, b)
	}
	var se http2.StreamError
	if !errors.As(err, &se) || se.Code != http2.ErrCodeInternal {
		t.Fatalf("got %v, want the server's INTERNAL_ERROR reset", err)
	}
	r.logs.waitFor(t, `"request":"POST /pkg.Svc/FullDuplex HTTP/2.0"`, `"termination_state":"SH"`)
}
