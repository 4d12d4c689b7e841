package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/health"
)

// lineSink collects text access lines, as logsink.Set does.
type lineSink struct {
	mu    sync.Mutex
	lines []string
}

func (s *lineSink) Access(line []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, string(line))
}

func (s *lineSink) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		got := append([]string(nil), s.lines...)
		s.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) < n {
				t.Fatalf("%d access lines, want %d: %q", len(got), n, got)
			}
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type discardSink struct{}

func (discardSink) Access([]byte) {}

// textRig is a rig whose engine sends text access lines to a lineSink.
func textRig(t *testing.T, src string, vars map[string]string) (*rig, *lineSink) {
	t.Helper()
	logs := &logBuf{}
	log := zerolog.New(logs)
	pool := health.NewPool(log)
	r := &rig{t: t, pool: pool, logs: logs}
	r.e = New(log, pool)
	sink := &lineSink{}
	r.e.SetAccessOutput(sink)
	if err := r.apply(src, vars); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		r.e.Shutdown(ctx)
	})
	return r, sink
}

// rawRequests sends requests on one connection and reads as many
// responses (each Content-Length framed).
func rawRequests(t *testing.T, addr string, reqs ...string) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	var heads []string
	for _, req := range reqs {
		io.WriteString(c, req)
		var head strings.Builder
		n := 0
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("response: %v", err)
			}
			head.WriteString(l)
			if strings.HasPrefix(strings.ToLower(l), "content-length:") {
				fmt.Sscan(strings.TrimSpace(l[15:]), &n)
			}
			if l == "\r\n" {
				break
			}
		}
		io.CopyN(io.Discard, br, int64(n))
		heads = append(heads, head.String())
	}
	return heads
}

const httplogConfig = `
defaults {
  mode = "http"
  timeouts {
    connect = "1s"
    client  = "5s"
    server  = "5s"
  }
}
frontend "web" {
  bind            = ["{{fe}}"]
  default_backend = "app"
  log_format      = "httplog"
  capture_request_header "Host" {
    len = 64
  }
  capture_request_header "User-Agent" {
    len = 5
  }
  capture_response_header "Content-Type" {
    len = 10
  }
}
frontend "custom" {
  bind            = ["{{fe2}}"]
  default_backend = "app"
  log_format      = "%fi:%fp %si:%sp %HM %HP [%HQ] %ST %%{+Q}hrl"
  capture_request_header "X-Id" {}
}
frontend "quiet" {
  bind            = ["{{fe3}}"]
  default_backend = "app"
  log_format      = "httplog"
  access_log      = false
}
backend "app" {
  cookie "SRV" {
    maxidle = "0s"
    maxlife = "0s"
  }
  server "s1" {
    address = "{{s1}}"
    check   = false
  }
}
`

// TestTextAccessLog: HAProxy's httplog with captured headers in braces
// and the persistence cookie's state in %tsc, a custom format, and a
// frontend that does not log.
func TestTextAccessLog(t *testing.T) {
	b := backendServer(t, "s1", nil)
	fe, fe2, fe3 := freePort(t), freePort(t), freePort(t)
	_, sink := textRig(t, httplogConfig, map[string]string{"fe": fe, "fe2": fe2, "fe3": fe3, "s1": hostport(b)})

	heads := rawRequests(t, fe,
		"GET /x HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/8.0\r\n\r\n",
		"GET /y?a=1 HTTP/1.1\r\nHost: www.example.com\r\nCookie: SRV=s1\r\n\r\n")
	if !strings.Contains(heads[0], "Set-Cookie: SRV=s1") {
		t.Fatalf("no cookie inserted: %q", heads[0])
	}
	lines := sink.wait(t, 2)
	// 127.0.0.1:54321 [06/Dec/2026:22:09:44.182] web app/s1 0/0/0/1/1 200 130 - - --NI 1/1/0/1/0 0/0 {www.example.com|curl/} {text/plain} "GET /x HTTP/1.1"
	httplog := regexp.MustCompile(`^127\.0\.0\.1:\d+ \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] web app/s1 \d+/\d+/\d+/\d+/\d+ 200 \d+ - - --(..) \d+/\d+/\d+/\d+/0 0/0 \{([^}]*)\} \{([^}]*)\} "(.*)"$`)
	for i, want := range []struct{ ck, req, resp, line string }{
		{"NI", "www.example.com|curl/", "text/plain", "GET /x HTTP/1.1"},
		{"VN", "www.example.com|", "text/plain", "GET /y?a=1 HTTP/1.1"},
	} {
		m := httplog.FindStringSubmatch(lines[i])
		if m == nil {
			t.Fatalf("line %d is not httplog: %q", i, lines[i])
		}
		if got := [4]string{m[1], m[2], m[3], m[4]}; got != [4]string{want.ck, want.req, want.resp, want.line} {
			t.Errorf("line %d: cookie state, request captures, response captures, request = %q, want %q\n%s", i, got, want, lines[i])
		}
	}

	rawRequests(t, fe2, "POST /p/q?z=9 HTTP/1.1\r\nHost: h\r\nX-Id: a\"b\r\nContent-Length: 0\r\n\r\n")
	lines = sink.wait(t, 3)
	want := fmt.Sprintf(`%s %s POST /p/q [?z=9] 200 "a#22b"`, fe2, hostport(b))
	if lines[2] != want {
		t.Errorf("custom format:\n got  %q\n want %q", lines[2], want)
	}

	rawRequests(t, fe3, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	rawRequests(t, fe2, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if lines = sink.wait(t, 4); len(lines) != 4 || !strings.Contains(lines[3], " GET / [] 200 ") {
		t.Errorf("access_log = false logged, or the next line is missing: %q", lines[3:])
	}
}

// TestCaptureNoAlloc: capturing headers and writing a text line allocate
// nothing once the transaction's buffers exist.
func TestCaptureNoAlloc(t *testing.T) {
	b := backendServer(t, "s1", nil)
	fe, fe2, fe3 := freePort(t), freePort(t), freePort(t)
	r, _ := textRig(t, httplogConfig, map[string]string{"fe": fe, "fe2": fe2, "fe3": fe3, "s1": hostport(b)})
	r.e.mu.Lock()
	front := r.e.listeners[fe].fe.Load()
	r.e.mu.Unlock()
	s := &session{e: r.e, fe: front, fst: front.st}
	s.x.session = s
	x := s.begin(front)
	tx := getTxn()
	defer putTxn(tx)
	raw := []byte("GET / HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/8.0\r\n\r\n")
	if e := tx.req.ParseRequest(raw); e != 0 {
		t.Fatal(e)
	}
	tx.reqLine = append(tx.reqLine[:0], "GET / HTTP/1.1"...)
	tx.status = 200
	tx.tIdle, tx.tFirst, tx.tHead, tx.tEnd = 1, 2, 3, 4
	x.captureRequest(tx)
	r.e.accessOut = discardSink{} // the lineSink's copies would count
	if n := testing.AllocsPerRun(100, func() { x.captureRequest(tx); x.logHTTP(tx) }); n != 0 {
		t.Errorf("%v allocations per request", n)
	}
}

// TestTLSTextAccessLog: %sslv and %sslc of a TLS request, "-" for a
// request in clear on the same frontend.
func TestTLSTextAccessLog(t *testing.T) {
	f := newTLSFiles(t)
	b := backendServer(t, "s1", nil)
	fe, fe2 := freePort(t), freePort(t)
	conf := `
defaults {
  mode = "http"
}
frontend "web" {
  bind            = ["{{fe2}}"]
  default_backend = "app"
  log_format      = "%ft %sslv %sslc %ST %%{+Q}r"
  tls {
    bind = ["{{fe}}"]
    crt  = ["{{dir}}/site.pem"]
  }
}
backend "app" {
  server "s1" {
    address = "{{s1}}"
    check   = false
  }
}
`
	_, sink := textRig(t, conf, map[string]string{"fe": fe, "fe2": fe2, "dir": f.dir, "s1": hostport(b)})
	c, err := tls.Dial("tcp", fe, f.client("www.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /s HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n")
	io.Copy(io.Discard, c)
	rawRequests(t, fe2, "GET /p HTTP/1.1\r\nHost: h\r\n\r\n")
	lines := sink.wait(t, 2)
	tlsLine := regexp.MustCompile(`^web~ TLSv1\.3 TLS_[A-Z0-9_]+ 200 "GET /s HTTP/1\.1"$`)
	if !tlsLine.MatchString(lines[0]) {
		t.Errorf("TLS request: %q", lines[0])
	}
	if want := `web - - 200 "GET /p HTTP/1.1"`; lines[1] != want {
		t.Errorf("request in clear:\n got  %q\n want %q", lines[1], want)
	}
}

// TestH2TextAccessLog: an HTTP/2 stream's line carries its own request
// line, captures and the client connection's addresses.
func TestH2TextAccessLog(t *testing.T) {
	b := backendServer(t, "s1", nil)
	fe := freePort(t)
	conf := `
defaults {
  mode = "http"
}
frontend "web" {
  bind            = ["{{fe}}"]
  h2c             = true
  default_backend = "app"
  log_format      = "%fi:%fp %ft %b/%s %ST %hr %hs %%{+Q}r"
  capture_request_header "Host" {}
  capture_response_header "X-Server" {}
}
backend "app" {
  server "s1" {
    address = "{{s1}}"
    check   = false
  }
}
`
	_, sink := textRig(t, conf, map[string]string{"fe": fe, "s1": hostport(b)})
	resp, err := h2cClient().Get("http://" + fe + "/h2path?x=1")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Fatalf("%s %d, want HTTP/2 200", resp.Proto, resp.StatusCode)
	}
	want := fmt.Sprintf(`%s web app/s1 200 {%s} {s1} "GET /h2path?x=1 HTTP/2.0"`, fe, fe)
	if got := sink.wait(t, 1)[0]; got != want {
		t.Errorf("\n got  %q\n want %q", got, want)
	}
}
