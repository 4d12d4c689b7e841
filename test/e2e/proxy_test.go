//go:build linux

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestProxyThroughDaemon: issue 3 through lbd with a config file, on one
// lab (subtests in order, each leaves the configuration as it found it).
func TestProxyThroughDaemon(t *testing.T) {
	a := newAppliance(t)
	lb := a.lbd
	base := applianceConfig(t, a.Lab)

	// 20 reloads in a row, half by lbctl and half by SIGHUP, each with a
	// change (web2's weight, a route and a frontend added or removed),
	// under a steady load of kept-alive and new connections, GETs and
	// POSTs with a body, slow requests in flight across the reloads, and
	// a tcp session: not one request fails, and no connection is cut.
	t.Run("reloads under load", func(t *testing.T) {
		load := a.StartLoad("client",
			LoadWorker{URL: "http://" + VIP + "/", KeepAlive: true},
			LoadWorker{URL: a.nodeURL("/api/x"), KeepAlive: true},
			LoadWorker{URL: a.nodeURL("/slow?ms=150"), KeepAlive: true},
			LoadWorker{URL: "http://" + VIP + "/"},
			LoadWorker{URL: a.nodeURL("/api/y")},
			LoadWorker{URL: a.nodeURL("/form"), KeepAlive: true, Body: strings.Repeat("field=value&", 1000)},
		)
		load.WaitProgress(t, 20, 10*time.Second)
		// A tcp session open across every reload.
		tcp := dialLines(t, a.Lab, VIP+":9000")
		defer tcp.Close()
		applied0, _ := lb.ReloadsLogged()
		// web/web1's counters and check count, sampled after each reload:
		// they survive reloads, so they never go down.
		var totals, checks []int
		sample := func() {
			s := lb.Server(t, "web", "web1")
			totals, checks = append(totals, s.TotalConns), append(checks, s.Check.Checks)
		}
		sample()
		for i := 1; i <= 20; i++ {
			lb.WriteConfig(reloadVariant(t, base, i))
			if i%2 == 0 {
				lb.MustCtl(t, "reload")
			} else if err := lb.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			Eventually(t, 10*time.Second, func() bool { applied, _ := lb.ReloadsLogged(); return applied == applied0+i },
				"reload %d to be applied (lbd logs \"reload: configuration applied\")", i)
			load.WaitProgress(t, 10, 10*time.Second)
			sample()
		}
		for i := 1; i < len(totals); i++ {
			if totals[i] < totals[i-1] || checks[i] < checks[i-1] {
				t.Errorf("web/web1's counters went down across reload %d: total_conns %v, checks %v", i, totals, checks)
				break
			}
		}
		r := load.Stop()
		t.Logf("FIGURE load across 20 reloads: %s", r)
		if r.Failed != 0 {
			t.Errorf("requests failed across the reloads: %s", r)
		}
		if r.KeepAliveDials != 4 {
			t.Errorf("kept-alive connections were cut: 4 kept-alive clients opened %d connections", r.KeepAliveDials)
		}
		if r.Servers["web1"] == 0 || r.Servers["web2"] == 0 {
			t.Errorf("the load did not reach both servers: %s", r)
		}
		if got, err := tcp.ask("PING"); err != nil || got != "PONG" {
			t.Errorf("the tcp session opened before the reloads: PING -> %q %v", got, err)
		}
		// Variant 20 has frontend "extra" on :8082; the base has not.
		extra := "http://" + a.Addr(node) + ":8082/"
		if code, _, err := a.HTTPGet("client", extra); err != nil || code != 200 {
			t.Errorf("frontend extra added by a reload: %d %v", code, err)
		}
		// The last variant (20) routes /api/ to backend "api" (web1:8080)
		// and gives web2 weight 1+20%3 = 3.
		for range 4 {
			resp, _, err := a.HTTPDo("client", mustGet(t, a.nodeURL("/api/z")))
			if err != nil || resp.Header.Get("X-Listener") != "192.0.2.21:8080" {
				t.Fatalf("/api/ after the reloads: %v %v, want backend api (web1:8080)", err, resp)
			}
		}
		if s := lb.Server(t, "web", "web2"); s.RuntimeWeight != 3 {
			t.Errorf("web2's weight after the reloads: %d, want 3 from the file", s.RuntimeWeight)
		}
		lb.WriteConfig(base)
		lb.MustCtl(t, "reload")
		if _, _, err := a.HTTPGet("client", extra); err == nil {
			t.Errorf("frontend extra still answers after a reload removed it")
		}
	})

	// A reload that removes a listener lets the request in flight on it
	// finish, then closes that connection; the address refuses new ones.
	t.Run("removed listener drains", func(t *testing.T) {
		lb.WriteConfig(reloadVariant(t, base, 2))
		lb.MustCtl(t, "reload")
		extra := "http://" + a.Addr(node) + ":8082"
		c := a.HTTPClient("client", 10*time.Second)
		defer c.CloseIdleConnections()
		if _, err := meterGet(c, extra+"/"); err != nil {
			t.Fatalf("frontend extra: %v", err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := meterGet(c, extra+"/slow?ms=1500")
			done <- err
		}()
		Eventually(t, 5*time.Second, func() bool { return inFlight(lb, "web") > 0 }, "the slow request to reach a server")
		lb.WriteConfig(base)
		lb.MustCtl(t, "reload")
		if err := <-done; err != nil {
			t.Errorf("the request in flight on a listener removed by a reload: %v", err)
		}
		if _, err := a.Dial("client", "tcp", a.Addr(node)+":8082"); err == nil {
			t.Errorf("the removed listener still accepts connections")
		}
		// The kept-alive connection was closed after that response, as
		// HAProxy's old process does: the client's next request has to
		// dial, and is refused.
		if _, err := meterGet(c, extra+"/"); err == nil {
			t.Errorf("a kept-alive connection of a removed listener still serves new requests")
		}
	})

	// An invalid file is refused, by lbctl (exit 1, FILE:LINE:COL
	// diagnostics) and by SIGHUP, while clients keep being served by the
	// running configuration.
	t.Run("refused reload", func(t *testing.T) {
		load := a.StartLoad("client", LoadWorker{URL: a.nodeURL("/"), KeepAlive: true}, LoadWorker{URL: a.nodeURL("/")})
		load.WaitProgress(t, 10, 10*time.Second)
		applied0, refused0 := lb.ReloadsLogged()
		// Invalid (an unknown algorithm), and with a route that would
		// show if any of it were applied.
		lb.WriteConfig(replaceOnce(t, reloadVariant(t, base, 2), `balance = "roundrobin"
  cookie "SERVERID"`, `balance = "roundrobin-ish"
  cookie "SERVERID"`))
		stdout, stderr, code := lb.CtlExit("reload")
		diag := regexp.MustCompile(regexp.QuoteMeta(lb.Config) + `:\d+:\d+: .*balance`)
		if code != 1 || !diag.MatchString(stdout+stderr) {
			t.Errorf("lbctl reload of an invalid file: exit %d, want 1 with %s:LINE:COL: ... balance ...:\n%s%s", code, lb.Config, stdout, stderr)
		}
		if err := lb.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		Eventually(t, 10*time.Second, func() bool { _, refused := lb.ReloadsLogged(); return refused == refused0+2 },
			"lbd to log two refused reloads")
		load.WaitProgress(t, 20, 10*time.Second)
		if lb.Exited() {
			t.Fatalf("lbd exited after SIGHUP with an invalid file:\n%s", lb.Output())
		}
		if applied, _ := lb.ReloadsLogged(); applied != applied0 {
			t.Errorf("lbd logged %d applied reloads of an invalid file", applied-applied0)
		}
		if got := a.Spread(t, "client", a.nodeURL("/api/"), 10, nil); got["web1"] == 0 || got["web2"] == 0 {
			t.Errorf("after the refused reloads, 10 requests for /api/ went to %v, want both servers of backend web (no route)", got)
		}
		if r := load.Stop(); r.Failed != 0 {
			t.Errorf("requests failed around the refused reloads: %s", r)
		}
		lb.WriteConfig(base)
		lb.MustCtl(t, "reload")
	})

	// Cookie insert through the VIP: the first answer sets SERVERID, every
	// later request with it goes to the same server, which never sees the
	// cookie (indirect).
	t.Run("cookie persistence", func(t *testing.T) {
		url := "http://" + VIP + "/"
		for _, srv := range []string{"web1", "web2"} {
			cookie := serverCookie(t, a.Lab, url, srv)
			if got := a.Spread(t, "client", url, 10, http.Header{"Cookie": {cookie}}); got[srv] != 10 {
				t.Errorf("10 requests with %q went to %v, want all to %s", cookie, got, srv)
			}
			req := mustGet(t, "http://"+VIP+"/headers")
			req.Header.Set("Cookie", cookie+"; theme=dark")
			resp, body, err := a.HTTPDo("client", req)
			if err != nil || resp.Header.Get("X-Server") != srv || strings.Contains(body, "SERVERID") || !strings.Contains(body, "theme=dark") {
				t.Errorf("/headers with %q: %v, server %q, body:\n%s\nwant %s, the application's cookie kept and SERVERID removed", cookie, err, resp.Header.Get("X-Server"), body, srv)
			}
		}
	})

	// The tcp frontend on the VIP: the line protocol goes through, new
	// connections alternate between the servers, and a client's half-close
	// reaches the server (which answers, then closes).
	t.Run("tcp frontend", func(t *testing.T) {
		seen := map[string]int{}
		for range 6 {
			c := dialLines(t, a.Lab, VIP+":9000")
			if got, err := c.ask("PING"); err != nil || got != "PONG" {
				t.Fatalf("PING through VIP:9000: %q %v", got, err)
			}
			io.WriteString(c, "NAME\r\n")
			c.CloseWrite()
			rest, err := io.ReadAll(c.r)
			c.Close()
			if err != nil {
				t.Fatalf("after the half-close: %q %v", rest, err)
			}
			seen[strings.TrimSpace(string(rest))]++
		}
		if seen["web1"] != 3 || seen["web2"] != 3 {
			t.Errorf("6 tcp connections went to %v, want 3 each (roundrobin)", seen)
		}
	})

	// SIGTERM: a request in flight finishes, the VIP is removed, lbd exits 0
	// (last: it stops the lab's daemon). The request goes to the node's own
	// address: the VIP leaves first, and what becomes of a connection on a
	// VIP that moves is VRRP's business (vrrp_test.go).
	t.Run("graceful stop", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			code, _, err := a.HTTPGet("client", a.nodeURL("/slow?ms=1000"))
			if err == nil && code != 200 {
				err = fmt.Errorf("status %d", code)
			}
			done <- err
		}()
		Eventually(t, 5*time.Second, func() bool { return inFlight(lb, "web") > 0 }, "the slow request to reach a server")
		if err := lb.Stop(syscall.SIGTERM); err != nil {
			t.Errorf("lbd after SIGTERM: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("the request in flight at SIGTERM: %v", err)
		}
		if a.HasAddr(node, VIP) {
			t.Errorf("lbd stopped but %s still has the VIP", node)
		}
	})
}

// reloadVariant is the base config with change i of the reload test: web2's
// weight cycles 2, 3, 1; the route /api/ -> backend "api" and frontend
// "extra" (:8082 -> backend "web") come and go.
func reloadVariant(t testing.TB, base string, i int) string {
	t.Helper()
	c := replaceOnce(t, base, `  server "web2" {
    address = "192.0.2.22:80"
  }`, fmt.Sprintf(`  server "web2" {
    address = "192.0.2.22:80"
    weight  = %d
  }`, 1+i%3))
	if i%2 == 0 {
		c = replaceOnce(t, c, `  default_backend = "web"
`, `  default_backend = "web"
  route "api" {
    path_prefix = ["/api/"]
    backend     = "api"
  }
`)
		c += `
frontend "extra" {
  bind            = ["0.0.0.0:8082"]
  default_backend = "web"
}
`
	}
	return c
}

// lineConn is a connection to the lab's line protocol (PING -> PONG, NAME
// -> the server's name).
type lineConn struct {
	*net.TCPConn
	r *bufio.Reader
}

// dialLines connects from the client, with a 30s deadline for the whole
// conversation.
func dialLines(t *testing.T, l *Lab, addr string) *lineConn {
	t.Helper()
	c, err := l.Dial("client", "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from the client: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &lineConn{TCPConn: c.(*net.TCPConn), r: bufio.NewReader(c)}
}

// ask sends one line and returns the answer without its line end.
func (c *lineConn) ask(line string) (string, error) {
	if _, err := io.WriteString(c, line+"\r\n"); err != nil {
		return "", err
	}
	got, err := c.r.ReadString('\n')
	return strings.TrimRight(got, "\r\n"), err
}

// inFlight is the number of connections lbd has open to backend's servers.
func inFlight(d *LBD, backend string) int {
	bs, err := d.BackendStatus()
	if err != nil {
		return 0
	}
	n := 0
	for _, b := range bs {
		if b.Name == backend {
			for _, s := range b.Servers {
				n += s.CurConns
			}
		}
	}
	return n
}
