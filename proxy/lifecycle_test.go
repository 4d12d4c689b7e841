package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"lbd/stats"
)

const tcpConf = `
defaults {
  mode = "tcp"
  timeouts {
    connect = "300ms"
    tunnel  = "{{tunnel}}"
  }
}
frontend "t" {
  bind = ["{{fe}}"]
  default_backend = "echo"
}
backend "echo" {
  balance = "{{balance}}"
  server "e1" {
    address = "{{e1}}"
    check = false
  }
  server "e2" {
    address = "{{e2}}"
    check = false
  }
}
`

// echoServer echoes with a prefix naming it, and on EOF writes "bye" and
// closes.
func echoServer(t *testing.T, name string) string {
	return rawBackend(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				c.Write([]byte(name + ":" + string(buf[:n])))
			}
			if err != nil {
				c.Write([]byte("bye"))
				return
			}
		}
	})
}

func TestTCPProxyHalfCloseAndLog(t *testing.T) {
	fe := freePort(t)
	r := newRig(t, tcpConf, map[string]string{"fe": fe, "e1": echoServer(t, "e1"), "e2": echoServer(t, "e2"), "tunnel": "5s", "balance": "roundrobin"})
	c, err := net.Dial("tcp", fe)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "hello")
	buf := make([]byte, 8)
	n, _ := io.ReadAtLeast(c, buf, 8)
	name := string(buf[:2])
	if string(buf[:n]) != name+":hello" {
		t.Fatalf("echo %q", buf[:n])
	}
	// Half-close: the server sees EOF, answers, and closes.
	c.(*net.TCPConn).CloseWrite()
	rest, _ := io.ReadAll(c)
	if string(rest) != "bye" {
		t.Fatalf("after half-close: %q", rest)
	}
	l := r.logs.waitFor(t, `"component":"access"`, `"Tt":`)
	for _, want := range []string{`"frontend":"t"`, `"backend":"echo"`, `"server":"` + name + `"`, `"termination_state":"--"`, `"bytes_uploaded":5`, `"bytes_read":11`} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %s: %s", want, l)
		}
	}
}

func TestTCPSourceBalanceAndTunnelTimeout(t *testing.T) {
	fe := freePort(t)
	r := newRig(t, tcpConf, map[string]string{"fe": fe, "e1": echoServer(t, "e1"), "e2": echoServer(t, "e2"), "tunnel": "300ms", "balance": "source"})
	var first string
	for i := 0; i < 4; i++ {
		c, err := net.Dial("tcp", fe)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "x")
		buf := make([]byte, 4)
		io.ReadFull(c, buf)
		if first == "" {
			first = string(buf[:2])
		} else if string(buf[:2]) != first {
			t.Fatalf("source balance moved the client: %q then %q", first, buf[:2])
		}
		// Idle past timeouts.tunnel: the proxy closes both sides.
		start := time.Now()
		rest, _ := io.ReadAll(c)
		if time.Since(start) > 3*time.Second || string(rest) != "" {
			t.Fatalf("tunnel timeout: %q after %v", rest, time.Since(start))
		}
		c.Close()
	}
	r.logs.waitFor(t, `"termination_state":"cD"`)
}

func TestTCPAllDown(t *testing.T) {
	fe := freePort(t)
	r := newRig(t, strings.Replace(tcpConf, "defaults {", "defaults {\n", 1), map[string]string{"fe": fe, "e1": closedPort(t), "e2": closedPort(t), "tunnel": "1s", "balance": "roundrobin"})
	c, err := net.Dial("tcp", fe)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if b, _ := io.ReadAll(c); len(b) != 0 {
		t.Fatalf("got %q", b)
	}
	r.logs.waitFor(t, `"termination_state":"SC"`)
}

func TestFreebindAndBindFailureKeepsOldConfig(t *testing.T) {
	b := backendServer(t, "s1", nil)
	fe := freePort(t)
	vars := map[string]string{"fe": fe, "s1": hostport(b)}
	r := newRig(t, basicHTTP, vars)
	c := dialClient(t, fe)
	c.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, _ := c.read(t, "GET"); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	// A VIP that is not on this host binds (IP_FREEBIND).
	vip := "192.0.2.213:" + strings.Split(freePort(t), ":")[1]
	src2 := strings.Replace(basicHTTP, `bind = ["{{fe}}"]`, `bind = ["{{fe}}", "`+vip+`"]`, 1)
	if err := r.apply(src2, vars); err != nil {
		t.Fatalf("freebind: %v", err)
	}
	// A bind that fails (address in use) refuses the whole config.
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	src3 := strings.Replace(src2, `default_backend = "app"`, `default_backend = "app"
}
frontend "other" {
  bind = ["`+busy.Addr().String()+`"]
  default_backend = "app"`, 1)
	// The refused configuration also moves s1 to a dead address: none of it
	// may leak into what runs.
	bad := map[string]string{"fe": fe, "s1": closedPort(t)}
	if err := r.apply(src3, bad); err == nil {
		t.Fatal("binding a busy address succeeded")
	}
	// The old listener and the kept connection still work.
	c.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, _ := c.read(t, "GET"); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	if resp, _ := httpGet(t, "http://"+fe+"/", nil); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
}

func TestRemovedListenerDrains(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{})
	b := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(arrived)
			<-release
		}
		io.WriteString(w, "ok")
	})
	fe1, fe2 := freePort(t), freePort(t)
	two := strings.Replace(basicHTTP, `bind = ["{{fe}}"]`, `bind = ["{{fe}}", "{{fe2}}"]`, 1)
	vars := map[string]string{"fe": fe1, "fe2": fe2, "s1": hostport(b)}
	r := newRig(t, two, vars)
	idle := dialClient(t, fe2)
	idle.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	idle.read(t, "GET")
	busy := dialClient(t, fe2)
	busy.send(t, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-arrived

	if err := r.apply(basicHTTP, vars); err != nil {
		t.Fatal(err)
	}
	// New connections to the removed address are refused.
	if c, err := net.DialTimeout("tcp", fe2, time.Second); err == nil {
		c.Close()
		t.Fatal("removed listener still accepts")
	}
	// The idle keep-alive connection is closed.
	idle.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := idle.br.ReadByte(); err == nil {
		t.Fatalf("idle connection got data %q instead of closing", n)
	}
	// The busy one finishes its request, told that the connection closes.
	close(release)
	resp, body := busy.read(t, "GET")
	if resp.StatusCode != 200 || body != "ok" || !resp.Close {
		t.Fatalf("in-flight request: %d %q close=%v", resp.StatusCode, body, resp.Close)
	}
}

// TestRemovedListenerTunnelClosedAfterGrace: a tcp session on a removed
// listener has no request to finish; it keeps working during global.grace
// and is closed after it, not left to timeouts.tunnel (1h here).
func TestRemovedListenerTunnelClosedAfterGrace(t *testing.T) {
	fe1, fe2 := freePort(t), freePort(t)
	conf := "global {\n  grace = \"500ms\"\n}\n" + tcpConf
	two := strings.Replace(conf, `bind = ["{{fe}}"]`, `bind = ["{{fe}}", "{{fe2}}"]`, 1)
	e1 := echoServer(t, "e1")
	vars := map[string]string{"fe": fe1, "fe2": fe2, "e1": e1, "e2": e1, "tunnel": "1h", "balance": "roundrobin"}
	r := newRig(t, two, vars)
	c, err := net.Dial("tcp", fe2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echo := func() error {
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("x")); err != nil {
			return err
		}
		buf := make([]byte, 16)
		n, err := c.Read(buf)
		if err == nil && string(buf[:n]) != "e1:x" {
			return fmt.Errorf("echo %q", buf[:n])
		}
		return err
	}
	if err := echo(); err != nil {
		t.Fatal(err)
	}
	if err := r.apply(conf, vars); err != nil {
		t.Fatal(err)
	}
	if err := echo(); err != nil {
		t.Fatalf("the tunnel stopped at the reload, before grace: %v", err)
	}
	// Closed after grace: reads end (EOF or reset) well before the tunnel
	// timeout.
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 16)
	for {
		if _, err := c.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the tunnel of a removed listener outlived grace by 10s")
			}
			break
		}
	}
	r.logs.waitFor(t, "grace period over: closing the removed listener's connections")
}

// TestReloadUnderLoadLosesNothing runs 20 reloads while keep-alive clients
// send requests without pause; every request must succeed.
func TestReloadUnderLoadLosesNothing(t *testing.T) {
	s1 := hostport(backendServer(t, "s1", nil))
	s2 := hostport(backendServer(t, "s2", nil))
	fe := freePort(t)
	conf := `
frontend "web" {
  bind = ["{{fe}}"]
  default_backend = "app"
  {{route}}
}
backend "app" {
  balance = "{{balance}}"
  server "s1" {
    address = "{{s1}}"
    weight = {{w}}
    check = false
  }
  server "s2" {
    address = "{{s2}}"
    check = false
  }
}
backend "other" {
  server "s2" {
    address = "{{s2}}"
    check = false
  }
}
`
	vars := map[string]string{"fe": fe, "s1": s1, "s2": s2, "w": "1", "balance": "roundrobin", "route": ""}
	r := newRig(t, conf, vars)
	hs1 := r.server("app", "s1")

	var ok, failed atomic.Int64
	var errs sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			defer tr.CloseIdleConnections()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := cl.Get(fmt.Sprintf("http://%s/w%d/%d", fe, w, i))
				if err != nil {
					failed.Add(1)
					errs.Store(err.Error(), true)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "hello from") {
					failed.Add(1)
					errs.Store(fmt.Sprintf("%d %q", resp.StatusCode, body), true)
					continue
				}
				ok.Add(1)
			}
		}(w)
	}
	for i := 0; i < 20; i++ {
		time.Sleep(50 * time.Millisecond)
		vars["w"] = fmt.Sprint(1 + i%3)
		vars["balance"] = []string{"roundrobin", "leastconn", "random"}[i%3]
		vars["route"] = []string{"", `route "r" {
    path_prefix = ["/w0/"]
    backend = "other"
  }`}[i%2]
		if err := r.apply(conf, vars); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		var list []string
		errs.Range(func(k, _ any) bool { list = append(list, k.(string)); return true })
		t.Fatalf("%d of %d requests failed across reloads: %v", failed.Load(), ok.Load()+failed.Load(), list)
	}
	if ok.Load() < 100 {
		t.Fatalf("only %d requests", ok.Load())
	}
	if r.server("app", "s1") != hs1 || hs1.Counters.TotalConns.Load() == 0 {
		t.Fatal("server state did not survive reloads")
	}
	t.Logf("%d requests over 20 reloads", ok.Load())
}

func TestShutdownGraceful(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{})
	b := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(arrived)
			<-release
		}
		io.WriteString(w, "done")
	})
	fe := freePort(t)
	r := newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": hostport(b)})
	idle := dialClient(t, fe)
	idle.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	idle.read(t, "GET")
	busy := dialClient(t, fe)
	busy.send(t, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-arrived

	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- r.e.Shutdown(ctx)
	}()
	idle.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := idle.br.ReadByte(); err == nil {
		t.Fatal("idle connection not closed on shutdown")
	}
	waitUntil(t, func() bool {
		c, err := net.DialTimeout("tcp", fe, 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	close(release)
	resp, body := busy.read(t, "GET")
	if resp.StatusCode != 200 || body != "done" || !resp.Close {
		t.Fatalf("in-flight request: %d %q close=%v", resp.StatusCode, body, resp.Close)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestShutdownGraceExpires(t *testing.T) {
	b := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * time.Second)
	})
	fe := freePort(t)
	r := newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": hostport(b)})
	c := dialClient(t, fe)
	c.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	waitUntil(t, func() bool { return r.server("app", "s1").Counters.CurConns.Load() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := r.e.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown returned nil with a request still running")
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("Shutdown took %v", time.Since(start))
	}
	c.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.br.ReadByte(); err == nil {
		t.Fatal("connection still open after the grace period")
	}
	r.logs.waitFor(t, `"termination_state":"K`)
}

func TestFrontendMaxConnWaitsInBacklog(t *testing.T) {
	b := backendServer(t, "s1", nil)
	fe := freePort(t)
	src := strings.Replace(basicHTTP, `default_backend = "app"`, "default_backend = \"app\"\n  maxconn = 1", 1)
	newRig(t, src, map[string]string{"fe": fe, "s1": hostport(b)})
	first := dialClient(t, fe)
	first.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	first.read(t, "GET")
	// The second connection is not accepted while the first is open.
	second := dialClient(t, fe)
	second.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	second.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := second.br.ReadByte(); err == nil {
		t.Fatal("second connection served beyond maxconn")
	}
	first.c.Close()
	second.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, _ := second.read(t, "GET"); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
}

// TestWaitingConnectionGetsReloadedFrontend: a tcp connection that waited
// in the backlog (frontend maxconn) while a reload changed the frontend's
// default_backend goes to the new backend, as a connection arriving after
// the reload does.
func TestWaitingConnectionGetsReloadedFrontend(t *testing.T) {
	const conf = `
defaults {
  mode = "tcp"
}
frontend "t" {
  bind = ["{{fe}}"]
  maxconn = 1
  default_backend = "{{to}}"
}
backend "one" {
  server "e1" {
    address = "{{e1}}"
    check = false
  }
}
backend "two" {
  server "e2" {
    address = "{{e2}}"
    check = false
  }
}
`
	fe := freePort(t)
	vars := map[string]string{"fe": fe, "e1": echoServer(t, "e1"), "e2": echoServer(t, "e2"), "to": "one"}
	r := newRig(t, conf, vars)
	echo := func(c net.Conn) string {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("x"))
		buf := make([]byte, 16)
		n, _ := c.Read(buf)
		return string(buf[:n])
	}
	first, err := net.Dial("tcp", fe)
	if err != nil {
		t.Fatal(err)
	}
	if got := echo(first); got != "e1:x" {
		t.Fatalf("first connection: %q", got)
	}
	second, err := net.Dial("tcp", fe) // waits: maxconn 1
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	time.Sleep(100 * time.Millisecond)
	vars["to"] = "two"
	if err := r.apply(conf, vars); err != nil {
		t.Fatal(err)
	}
	first.Close()
	if got := echo(second); got != "e2:x" {
		t.Fatalf("the connection that waited across the reload: %q, want the new backend's e2:x", got)
	}
}

func TestDeadKeptConnectionRetried(t *testing.T) {
	// A server that closes after each response without saying so.
	srv := rawBackend(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		c.Read(buf)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	fe := freePort(t)
	r := newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": srv})
	c := dialClient(t, fe)
	for i := 0; i < 5; i++ {
		c.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp, body := c.read(t, "GET"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("#%d: %d %q", i, resp.StatusCode, body)
		}
		time.Sleep(20 * time.Millisecond) // let the close arrive
	}
	if n := r.server("app", "s1").Counters.RespErrors.Load(); n != 0 {
		t.Fatalf("%d response errors", n)
	}
}

// TestPassiveObservation: with observe = "layer7", error_limit bad
// responses in a row take the server out (HAProxy's on-error mark-down).
func TestPassiveObservation(t *testing.T) {
	b := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(503)
		}
	})
	fe := freePort(t)
	src := strings.Replace(strings.Replace(basicHTTP, `backend "app" {`, `backend "app" {
  observe = "layer7"
  error_limit = 3`, 1), "check = false", "check = true", 1)
	r := newRig(t, src, map[string]string{"fe": fe, "s1": hostport(b)})
	s1 := r.server("app", "s1")
	for _, path := range []string{"/fail", "/fail", "/ok", "/fail", "/fail"} {
		httpGet(t, "http://"+fe+path, nil)
	}
	if !s1.Up() {
		t.Fatal("a success in between must reset the error count")
	}
	httpGet(t, "http://"+fe+"/fail", nil)
	waitUntil(t, func() bool { return !s1.Up() })
	if resp, _ := httpGet(t, "http://"+fe+"/ok", nil); resp.StatusCode != 503 {
		t.Fatalf("server marked DOWN still served: %d", resp.StatusCode)
	}
}

// TestTCPBulkBothWays streams megabytes each way at once: the directions
// turn to splice(2) and half-close still ends the tunnel cleanly.
func TestTCPBulkBothWays(t *testing.T) {
	echo := rawBackend(t, func(c net.Conn) { io.Copy(c, c) })
	fe := freePort(t)
	r := newRig(t, tcpConf, map[string]string{"fe": fe, "e1": echo, "e2": echo, "tunnel": "5s", "balance": "roundrobin"})
	before := spliced.Load()
	c, err := net.Dial("tcp", fe)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	payload := make([]byte, 24<<20)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	go func() {
		c.Write(payload)
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil || len(got) != len(payload) || string(got) != string(payload) {
		t.Fatalf("echoed %d of %d bytes, equal=%v, err=%v", len(got), len(payload), string(got) == string(payload), err)
	}
	r.logs.waitFor(t, `"termination_state":"--"`, fmt.Sprintf(`"bytes_read":%d`, len(payload)))
	if canSplice && spliced.Load() == before {
		t.Fatal("bulk transfer never switched to splice")
	}
}

func TestStatsCounters(t *testing.T) {
	b := backendServer(t, "s1", nil)
	fe := freePort(t)
	r := newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": hostport(b)})
	for i := 0; i < 3; i++ {
		httpGet(t, "http://"+fe+"/", nil)
	}
	rawRequest(t, fe, "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 5*time.Second) // 400
	var fs []stats.Frontend
	var bs []stats.Backend
	waitUntil(t, func() bool {
		fs, bs = r.e.Stats()
		return len(fs) == 1 && fs[0].ErrReq == 1 && len(bs) == 1 && bs[0].Responses.C2xx == 3
	})
	f := fs[0]
	if f.Name != "web" || f.Mode != "http" || f.Status != "OPEN" || f.Requests != 3 || f.TotalConns != 4 ||
		f.Responses.C2xx != 3 || f.Responses.C4xx != 1 || f.BytesIn == 0 || f.BytesOut == 0 || f.MaxConns < 1 {
		t.Fatalf("frontend stats %+v", f)
	}
	if b := bs[0]; b.Name != "app" || b.Algo != "roundrobin" || b.TotalConns != 3 || b.CurConns != 0 || b.BytesOut == 0 {
		t.Fatalf("backend stats %+v", b)
	}
	if c := &r.server("app", "s1").Counters; c.Responses.Load().C2xx != 3 || c.BytesOut.Load() == 0 || c.TotalConns.Load() != 3 {
		t.Fatalf("server counters 2xx=%d out=%d total=%d", c.Responses.Load().C2xx, c.BytesOut.Load(), c.TotalConns.Load())
	}
}

// TestParkedKeepAlive: a connection idle past the hand-over time is parked
// without a goroutine, then served again, timed out, or drained.
func TestParkedKeepAlive(t *testing.T) {
	r, fe := keepAliveRig(t, "30s", "2500ms", "")
	c := dialClient(t, fe)
	short := dialClient(t, fe)
	for _, cl := range []*client{c, short} {
		cl.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		cl.read(t, "GET")
	}
	waitUntil(t, func() bool { return r.e.parker.count() == 2 || parkUnsupported })
	if n := parkedHoldingConn(r.e); n != 0 {
		t.Fatalf("%d parked sessions still hold their net.Conn", n)
	}
	// Served again from the parked state.
	c.send(t, "GET /again HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, body := c.read(t, "GET"); resp.StatusCode != 200 || body != "hello from s1\n" {
		t.Fatalf("after parking: %d %q", resp.StatusCode, body)
	}
	// The other one hits http_keep_alive while parked and is closed.
	short.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := short.br.ReadByte(); err == nil {
		t.Fatal("parked connection not closed at its keep-alive timeout")
	}
	// A parked connection is closed by a shutdown at once.
	d := dialClient(t, fe)
	d.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	d.read(t, "GET")
	waitUntil(t, func() bool { return r.e.parker.count() >= 1 || parkUnsupported })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := r.e.Shutdown(ctx); err != nil || time.Since(start) > 2*time.Second {
		t.Fatalf("Shutdown: %v after %v", err, time.Since(start))
	}
	d.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := d.br.ReadByte(); err == nil {
		t.Fatal("parked connection survived shutdown")
	}
}

// TestSteadyClientStaysUnparked: a client that comes back at a steady
// pace, slower than the hand-over time, is parked once; from then on it
// waits on its goroutine between requests (parking and resuming at each
// request cost ~100 µs of CPU), and is parked again only once idle longer
// than twice its pace.
func TestSteadyClientStaysUnparked(t *testing.T) {
	if parkUnsupported {
		t.Skip("no parker on this platform")
	}
	r, fe := keepAliveRig(t, "30s", "20s", "")
	c := dialClient(t, fe)
	c.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	c.read(t, "GET")
	answered := time.Now()
	waitUntil(t, func() bool { return r.e.parker.count() == 1 })
	// Back after 700 ms: resumed from the parker, it now waits 1.4 s.
	time.Sleep(time.Until(answered.Add(700 * time.Millisecond)))
	c.send(t, "GET /again HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, _ := c.read(t, "GET"); resp.StatusCode != 200 {
		t.Fatalf("after parking: %d", resp.StatusCode)
	}
	answered = time.Now()
	time.Sleep(500 * time.Millisecond) // five hand-over times
	if n := r.e.parker.count(); n != 0 && time.Since(answered) < 1200*time.Millisecond {
		t.Fatalf("a client with a 700 ms pace parked again %v after its answer", time.Since(answered))
	}
	waitUntil(t, func() bool { return r.e.parker.count() == 1 }) // idle past 1.4 s
	c.send(t, "GET /third HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, _ := c.read(t, "GET"); resp.StatusCode != 200 {
		t.Fatalf("after parking again: %d", resp.StatusCode)
	}
}

// TestThinkingClientLendsServerConn: a client quiet past safeWait after
// its response (and not parked yet) lends its server connection to the
// next request of another client; a client back within safeWait reuses
// its own without a look, and such a connection is lent to nobody.
func TestThinkingClientLendsServerConn(t *testing.T) {
	srv := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Peer", r.RemoteAddr) // lbd's end of the server connection
	})
	fe := freePort(t)
	newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": hostport(srv)})
	get := func(c *client) string {
		t.Helper()
		c.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, _ := c.read(t, "GET")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp.Header.Get("X-Peer")
	}
	const think = 70 * time.Millisecond // past safeWait, before idleHandoff parks
	a, b := dialClient(t, fe), dialClient(t, fe)
	first := get(a)
	time.Sleep(think)
	if other := get(b); other != first {
		t.Errorf("another client got server connection %s while %s, of a thinking client, was idle", other, first)
	}
	if again := get(b); again != first {
		t.Fatalf("a client back at once changed server connection: %s then %s", first, again)
	}
	time.Sleep(think)
	if got := get(a); got == first {
		t.Errorf("server connection %s, reused unchecked by one client, went to another", got)
	}
}

func TestHandoffFor(t *testing.T) {
	for _, c := range []struct{ idle, want time.Duration }{
		{0, idleHandoff},
		{30 * time.Millisecond, idleHandoff},
		{idleHandoff, 2 * idleHandoff},
		{time.Second, 2 * time.Second},
		{2 * time.Second, 4 * time.Second},
		{3 * time.Second, maxHandoff},
		{maxHandoff, maxHandoff},
		{maxHandoff + time.Millisecond, idleHandoff}, // an idle client: parked soon again
		{time.Hour, idleHandoff},
	} {
		if got := handoffFor(c.idle); got != c.want {
			t.Errorf("handoffFor(%v) = %v, want %v", c.idle, got, c.want)
		}
	}
}

// keepAliveRig is basicHTTP in front of one backend server, with the
// client and http_keep_alive timeouts given and the frontend lines extra
// added; it returns the rig and the frontend's address.
func keepAliveRig(tb testing.TB, client, keepAlive, extra string) (*rig, string) {
	srv := backendServer(tb, "s1", nil)
	fe := freePort(tb)
	src := strings.Replace(basicHTTP, `client = "5s"`, `client = "`+client+`"
    http_keep_alive = "`+keepAlive+`"`, 1)
	if extra != "" {
		src = strings.Replace(src, `default_backend = "app"`, `default_backend = "app"
  `+extra, 1)
	}
	return newRig(tb, src, map[string]string{"fe": fe, "s1": hostport(srv)}), fe
}

func TestGlobalMaxConnAcrossFrontends(t *testing.T) {
	b := backendServer(t, "s1", nil)
	fe1, fe2 := freePort(t), freePort(t)
	src := "global {\n  maxconn = 1\n}\n" + basicHTTP + `
frontend "other" {
  bind = ["{{fe2}}"]
  default_backend = "app"
}
`
	newRig(t, src, map[string]string{"fe": fe1, "fe2": fe2, "s1": hostport(b)})
	first := dialClient(t, fe1)
	first.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	first.read(t, "GET")
	second := dialClient(t, fe2)
	second.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	second.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := second.br.ReadByte(); err == nil {
		t.Fatal("second frontend served beyond global maxconn")
	}
	first.c.Close()
	second.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, _ := second.read(t, "GET"); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
}

// TestStaleKeptConnectionSkipped: a server that answers 408 on a kept
// connection before closing it must not have that 408 taken for the
// answer to a later request.
func TestStaleKeptConnectionSkipped(t *testing.T) {
	var n atomic.Int32
	srv := rawBackend(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		c.Read(buf)
		k := n.Add(1)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nok%02d", k)
		time.Sleep(300 * time.Millisecond) // then its keep-alive times out
		io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
	})
	fe := freePort(t)
	newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": srv})
	for i := 1; i <= 2; i++ {
		resp, body := httpGet(t, "http://"+fe+"/", nil)
		t.Logf("B %d %q", resp.StatusCode, body)
		if resp.StatusCode != 200 || body != fmt.Sprintf("ok%02d", i) {
			t.Fatalf("#%d: %d %q", i, resp.StatusCode, body)
		}
		time.Sleep(1200 * time.Millisecond)
	}
}

// numberedBackend answers each request with "c<connection>-r<request>"
// (5 bytes); to /double it answers a second time 150 ms later, to /stray
// 20 ms later: bytes nobody asked for.
func numberedBackend(t *testing.T) string {
	var conns atomic.Int32
	return rawBackend(t, func(c net.Conn) {
		id := conns.Add(1)
		br := bufio.NewReader(c)
		for n := 1; ; n++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nc%d-r%d", id, n)
			switch req.URL.Path {
			case "/double":
				time.Sleep(150 * time.Millisecond)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nlater")
			case "/stray":
				time.Sleep(20 * time.Millisecond)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray")
			}
		}
	})
}

// TestUncheckedConnectionStaysWithItsClient: a session reuses its own
// server connection for a GET without peeking at it first. A server that
// answers such a request twice (response queue poisoning: the second
// answer comes late, after any peek would have looked) has its second
// answer queued on that connection; once the client leaves, the
// connection must not carry another client's request, whose answer the
// queued one would be. A POST on a session's own connection is peeked at
// first, and stray bytes found there.
func TestUncheckedConnectionStaysWithItsClient(t *testing.T) {
	srv := numberedBackend(t)
	fe := freePort(t)
	newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": srv})

	a := dialClient(t, fe)
	for _, path := range []string{"/warm", "/double"} {
		a.send(t, "GET "+path+" HTTP/1.1\r\nHost: a\r\n\r\n")
		if _, body := a.read(t, "GET"); !strings.HasPrefix(body, "c1-") {
			t.Fatalf("%s: %q, want an answer on the session's first connection", path, body)
		}
	}
	a.c.Close() // the second answer to /double is still to come
	time.Sleep(50 * time.Millisecond)
	for i := 0; i < 3; i++ {
		resp, body := httpGet(t, "http://"+fe+"/", nil)
		if resp.StatusCode != 200 || strings.HasPrefix(body, "c1-") || body == "later" {
			t.Fatalf("another client got %d %q: an answer from the connection of the client that left", resp.StatusCode, body)
		}
	}

	// A POST is not replayed: its session peeks at its own connection.
	p := dialClient(t, fe)
	p.send(t, "GET /stray HTTP/1.1\r\nHost: a\r\n\r\n")
	_, first := p.read(t, "GET")
	time.Sleep(50 * time.Millisecond)
	p.send(t, "POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx")
	if _, body := p.read(t, "POST"); body == "stray" || len(body) < 3 || body[:3] == first[:3] {
		t.Fatalf("POST after stray bytes on its own connection (first answer %q): %q", first, body)
	}
}

// parkedHoldingConn counts the parked sessions that kept their net.Conn
// (a parked connection keeps only a descriptor: park_linux.go).
func parkedHoldingConn(e *Engine) (n int) {
	e.sessMu.Lock()
	defer e.sessMu.Unlock()
	for s := range e.sessions {
		s.kmu.Lock()
		if s.state.Load() == sParked && s.cli.c != nil {
			n++
		}
		s.kmu.Unlock()
	}
	return n
}
