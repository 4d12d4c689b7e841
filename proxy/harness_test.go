package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"lbd/test/freeport"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/config"
	"lbd/health"
)

// freePort returns a loopback port nobody listens on, that no listen on
// port 0 can take meanwhile (package freeport).
func freePort(t testing.TB) string { return freeport.Loopback(t) }

// logBuf collects log lines for assertions.
type logBuf struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, string(p))
	return len(p), nil
}

// find returns the first access line containing all of subs.
func (b *logBuf) find(subs ...string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
outer:
	for _, l := range b.lines {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue outer
			}
		}
		return l
	}
	return ""
}

// waitFor polls find until a line matches or the time is up.
func (b *logBuf) waitFor(t testing.TB, subs ...string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if l := b.find(subs...); l != "" {
			return l
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t.Fatalf("no log line with %q; got:\n%s", subs, strings.Join(b.lines, ""))
	return ""
}

type rig struct {
	t    testing.TB
	e    *Engine
	pool *health.Pool
	logs *logBuf
	cfg  *config.Config
}

// parse builds a config from HCL text, replacing {{name}} placeholders.
func parse(t testing.TB, src string, vars map[string]string) *config.Config {
	t.Helper()
	for k, v := range vars {
		src = strings.ReplaceAll(src, "{{"+k+"}}", v)
	}
	dir := t.TempDir()
	path := dir + "/lbd.hcl"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, src)
	}
	return cfg
}

func newRig(t testing.TB, src string, vars map[string]string) *rig {
	t.Helper()
	logs := &logBuf{}
	log := zerolog.New(logs).Level(zerolog.DebugLevel)
	pool := health.NewPool(log)
	r := &rig{t: t, pool: pool, logs: logs}
	r.e = New(log, pool)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		r.e.Shutdown(ctx)
	})
	// A refused first configuration (a port taken, say) fails the test
	// here: a test that went on would talk to whatever holds the port.
	if err := r.apply(src, vars); err != nil {
		t.Fatalf("first configuration refused: %v", err)
	}
	return r
}

func (r *rig) apply(src string, vars map[string]string) error {
	r.t.Helper()
	cfg := parse(r.t, src, vars)
	if err := r.pool.Apply(cfg); err != nil {
		r.t.Fatal(err)
	}
	r.cfg = cfg
	if err := r.e.Apply(cfg); err != nil {
		return err
	}
	return nil
}

func (r *rig) server(backend, name string) *health.Server { return r.pool.Get(backend, name) }

// backendServer is an httptest server that answers with its name.
func backendServer(t testing.TB, name string, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Server", name)
			io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "hello from %s\n", name)
		}
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func hostport(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

// rawRequest writes req on a new connection and returns everything read
// until the server closes or the timeout.
func rawRequest(t testing.TB, addr, req string, timeout time.Duration) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

// client is a raw keep-alive connection reading responses with net/http.
type client struct {
	c  net.Conn
	br *bufio.Reader
}

func dialClient(t testing.TB, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{c: c, br: bufio.NewReader(c)}
}

func (c *client) send(t testing.TB, s string) {
	t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		t.Fatal(err)
	}
}

// read reads one response; method is the request's (HEAD has no body).
func (c *client) read(t testing.TB, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	resp.Body.Close()
	return resp, string(b)
}

// httpGet does a GET through the proxy with a fresh client.
func httpGet(t testing.TB, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

const basicHTTP = `
defaults {
  mode = "http"
  timeouts {
    connect = "1s"
    client = "5s"
    server = "5s"
  }
}
frontend "web" {
  bind = ["{{fe}}"]
  default_backend = "app"
}
backend "app" {
  server "s1" {
    address = "{{s1}}"
    check = false
  }
}
`

// rawBackend serves each connection with h on a loopback listener.
func rawBackend(t testing.TB, h func(c net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				h(c)
			}()
		}
	}()
	return l.Addr().String()
}

// closedPort returns an address that refuses connections.
func closedPort(t testing.TB) string { return freePort(t) }

func statusOf(resp string) string {
	if len(resp) < 12 {
		return resp
	}
	return resp[9:12]
}

// parkUnsupported: without the parker idle connections keep a goroutine.
var parkUnsupported = runtime.GOOS != "linux"

// TestMain runs the suite with reads that wait for readability first
// (skipReads), which production enables only with one P, so that those
// paths and their fallbacks are exercised whatever GOMAXPROCS is.
func TestMain(m *testing.M) {
	if canSkipRead {
		skipReads.Store(skipAlways)
	}
	os.Exit(m.Run())
}
