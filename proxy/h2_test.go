package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
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
