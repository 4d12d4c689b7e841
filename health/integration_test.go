package health

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/test/syncbuf"
)

// killable is a loopback server that can be killed (listener and live
// connections closed) like a crashed process.
type killable struct {
	*testServer
	mu    sync.Mutex
	conns []net.Conn
}

func startKillable(t *testing.T, handle func(net.Conn, *testServer)) *killable {
	k := &killable{}
	k.testServer = startServer(t, func(c net.Conn, ts *testServer) {
		k.mu.Lock()
		k.conns = append(k.conns, c)
		k.mu.Unlock()
		handle(c, ts)
	})
	return k
}

func (k *killable) kill() {
	k.ln.Close()
	k.mu.Lock()
	for _, c := range k.conns {
		c.Close()
	}
	k.mu.Unlock()
}

// waitFor polls cond up to a generous bound; the machine is shared, so
// nothing here asserts a tight timing.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func realPool(t *testing.T, hcl string) (*Pool, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	p := NewPool(zerolog.New(logs))
	if err := p.Apply(mustParse(t, hcl)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	p.Start()
	return p, logs
}

func checkResult(p *Pool, b, s string) (string, string) {
	st, _ := p.Status(b)
	for _, x := range st[0].Servers {
		if x.Name == s {
			return x.Check.Result, x.Check.Description
		}
	}
	return "", ""
}

func TestLoopbackHTTPChecks(t *testing.T) {
	ok := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	good := startKillable(t, reply(ok))
	victim := startKillable(t, reply(ok))
	sick := startServer(t, reply("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"))
	hung := startServer(t, hang)

	const interval = 100 * time.Millisecond
	hcl := fmt.Sprintf(`backend "web" {
  health_check {
    type          = "http"
    path          = "/health"
    interval      = "100ms"
    fast_interval = "50ms"
    down_interval = "200ms"
    timeout       = "150ms"
    rise          = 2
    fall          = 3
  }
  server "good"   { address = %q }
  server "victim" { address = %q }
  server "sick"   { address = %q }
  server "hung"   { address = %q }
}`, good.addr(), victim.addr(), sick.addr(), hung.addr())
	p, logs := realPool(t, hcl)
	ev := subscribe(p)

	get := func(n string) *Server { return p.Get("web", n) }
	waitFor(t, "sick and hung DOWN", func() bool { return !get("sick").Up() && !get("hung").Up() })
	if code, desc := checkResult(p, "web", "sick"); code != codeL7STS || desc != "Layer7 wrong status: 500" {
		t.Errorf("sick: %s %q", code, desc)
	}
	if code, desc := checkResult(p, "web", "hung"); code != codeL7TOUT || desc != "Layer7 timeout" {
		t.Errorf("hung: %s %q", code, desc)
	}
	waitFor(t, "good and victim fully UP", func() bool {
		st, _ := p.Status("web")
		return st[0].Servers[0].State == "UP" && st[0].Servers[1].State == "UP"
	})
	if n := p.UsableServers("web"); n != 2 {
		t.Fatalf("usable %d, want 2", n)
	}

	// Kill a server: it must stop being usable within fall checks (the
	// first failure within interval, the others at fast_interval, each
	// bounded by timeout). The bound asserted is generous; the figure is
	// logged.
	victim.kill()
	took := waitFor(t, "victim DOWN", func() bool { return !get("victim").Usable() })
	t.Logf("killed server unusable after %v (interval %v, fall 3)", took, interval)
	if code, desc := checkResult(p, "web", "victim"); code != codeL4CON || desc != "Layer4 connection problem: Connection refused" {
		t.Errorf("victim: %s %q", code, desc)
	}
	ev.wait(t, "usable count 1 notified", func() bool { return p.UsableServers("web") == 1 })

	// MAINT takes the healthy one out; checks keep running.
	if err := p.SetAdminState("web", "good", AdminMaint); err != nil {
		t.Fatal(err)
	}
	if get("good").Usable() || get("good").AcceptsPersistent() {
		t.Fatal("MAINT server usable")
	}
	before := statusOf(p, "good").Check.Checks
	waitFor(t, "checks in MAINT", func() bool { return statusOf(p, "good").Check.Checks > before+1 })

	// The server comes back on the same port: UP after rise checks.
	ln, err := net.Listen("tcp", victim.addr())
	if err != nil {
		t.Skipf("port of the killed server was taken meanwhile: %v", err)
	}
	back := &testServer{ln: ln}
	back.wg.Add(1)
	go func() {
		defer back.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			readHead(c, back)
			_, _ = io.WriteString(c, ok)
			c.Close()
		}
	}()
	t.Cleanup(back.close)
	waitFor(t, "victim back UP", func() bool { return get("victim").Usable() })

	out := logs.String()
	for _, name := range []string{"victim", "sick", "hung"} {
		if n := strings.Count(out, "Server web/"+name+" is DOWN"); n != 1 {
			t.Errorf("%s: %d DOWN log lines, want exactly 1", name, n)
		}
	}
	if n := strings.Count(out, "Server web/victim is UP"); n != 1 {
		t.Errorf("victim: %d UP log lines, want 1", n)
	}
	if !strings.Contains(out, `"event":"server_down"`) || !strings.Contains(out, `"reason":"Layer4 connection problem: Connection refused"`) {
		t.Errorf("structured fields missing:\n%s", out)
	}
	if statusOf(p, "victim").DownTransitions != 1 {
		t.Errorf("victim down_transitions %d", statusOf(p, "victim").DownTransitions)
	}
}

func statusOf(p *Pool, name string) ServerStatus {
	st, _ := p.Status("web")
	for _, s := range st[0].Servers {
		if s.Name == name {
			return s
		}
	}
	return ServerStatus{}
}

func TestLoopbackAgentAndTCPCheck(t *testing.T) {
	var reply atomic.Value
	reply.Store("up 100%\n")
	agent := startServer(t, func(c net.Conn, ts *testServer) {
		_, _ = io.WriteString(c, reply.Load().(string))
	})
	redis := startServer(t, func(c net.Conn, ts *testServer) {
		buf := make([]byte, 6)
		if _, err := io.ReadFull(c, buf); err == nil && string(buf) == "PING\r\n" {
			_, _ = io.WriteString(c, "+PONG\r\n")
		}
	})
	_, agentPort, _ := net.SplitHostPort(agent.addr())
	hcl := fmt.Sprintf(`backend "app" {
  health_check {
    type          = "agent"
    port          = %s
    interval      = "50ms"
    fast_interval = "20ms"
    down_interval = "50ms"
    timeout       = "200ms"
  }
  server "app1" {
    address = "127.0.0.1:1"
    weight  = 10
  }
}
backend "cache" {
  mode = "tcp"
  health_check {
    type     = "tcp-check"
    send     = "PING\r\n"
    expect   = "+PONG"
    interval = "50ms"
  }
  server "redis1" { address = %q }
}`, agentPort, redis.addr())
	p, _ := realPool(t, hcl)
	app := p.Get("app", "app1")
	waitFor(t, "agent up", func() bool {
		st, _ := p.Status("app")
		return st[0].Servers[0].State == "UP" && st[0].Servers[0].Check.Checks > 0
	})
	reply.Store("drain 50%\n")
	waitFor(t, "agent drain", func() bool { return app.AgentAdmin() == AdminDrain && app.Weight() == 5 })
	if app.Usable() || !app.AcceptsPersistent() {
		t.Fatal("drained by agent but usable, or persistent refused")
	}
	reply.Store("down # backend maintenance\n")
	waitFor(t, "agent down", func() bool { return !app.Up() })
	reply.Store("ready up maxconn:7\n")
	waitFor(t, "agent ready", func() bool { return app.Usable() && app.EffectiveMaxConn() == 7 })

	waitFor(t, "redis checked", func() bool {
		st, _ := p.Status("cache")
		return st[0].Servers[0].Check.Result == codeL7OK
	})
}
