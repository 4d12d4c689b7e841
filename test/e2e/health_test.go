//go:build linux

package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHealthThroughDaemon: issue 4 as a user sees it, through lbd and
// lbctl on one lab (the subtests run in order and each leaves every server
// UP and READY).
func TestHealthThroughDaemon(t *testing.T) {
	a := newAppliance(t)
	lb := a.lbd
	url := a.nodeURL("/")

	// A killed server is marked DOWN within fall x interval (plus slack
	// for a shared machine), with HAProxy's Layer4 reason; no client
	// request fails meanwhile (retries, then redispatch), and once it is
	// DOWN every request goes to web1. Restarted, it is UP again after
	// rise checks and takes traffic.
	t.Run("killed server", func(t *testing.T) {
		load := a.StartLoad("client", LoadWorker{URL: url}, LoadWorker{URL: url, KeepAlive: true})
		load.WaitProgress(t, 10, 10*time.Second)
		t0 := time.Now()
		if err := a.webs["web2"].Stop(syscall.SIGTERM); err != nil {
			t.Fatalf("stopping web2: %v", err)
		}
		s := lb.WaitFullState(t, "web", "web2", "DOWN", checkFall*checkInterval+5*time.Second)
		t.Logf("FIGURE web2 DOWN %v after its webserver stopped (fall x interval = %v)", time.Since(t0).Round(time.Millisecond), checkFall*checkInterval)
		if s.Check.Result != "L4CON" || !strings.HasPrefix(s.Check.Description, "Layer4 connection problem") {
			t.Errorf("web2's last check: %s %q, want L4CON \"Layer4 connection problem: ...\"", s.Check.Result, s.Check.Description)
		}
		if got := a.Spread(t, "client", url, 10, nil); got["web1"] != 10 {
			t.Errorf("with web2 DOWN, 10 requests went to %v", got)
		}
		if r := load.Stop(); r.Failed != 0 || r.Servers["web1"] == 0 {
			t.Errorf("clients while web2 died: %s", r)
		}

		a.webs["web2"] = a.StartWeb("web2")
		s = lb.WaitFullState(t, "web", "web2", "UP", 15*time.Second)
		if s.Check.Result != "L7OK" {
			t.Errorf("web2's last check after the restart: %s %q, want L7OK", s.Check.Result, s.Check.Description)
		}
		if got := a.Spread(t, "client", url, 10, nil); got["web2"] == 0 {
			t.Errorf("web2 is UP again but 10 requests went to %v", got)
		}
	})

	// A server whose host vanishes (its link goes down: connects time out
	// instead of being refused): DOWN with "Layer4 timeout", and again no
	// client request fails; back when the link is.
	//
	// A request written to web2 on a kept connection just before or after
	// the link went down (until the checks mark it DOWN) waits for its
	// answer, as with HAProxy: nothing tells a proxy that a host has gone,
	// and a request may have reached it. TCP retransmits it once the link
	// is back, by exponential backoff: up to about twice the time the link
	// was down, over 10s on a loaded machine. The clients wait as long as
	// lbd's server timeout (30s): a failure is then lbd's, not the
	// client's patience.
	t.Run("unreachable server", func(t *testing.T) {
		patient := 35 * time.Second
		load := a.StartLoad("client", LoadWorker{URL: url, Timeout: patient}, LoadWorker{URL: url, KeepAlive: true, Timeout: patient})
		load.WaitProgress(t, 10, 10*time.Second)
		if out, err := a.Exec("web2", "ip", "link", "set", "eth0", "down"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		s := lb.WaitFullState(t, "web", "web2", "DOWN", 15*time.Second)
		if s.Check.Result != "L4TOUT" || !strings.HasPrefix(s.Check.Description, "Layer4 timeout") {
			t.Errorf("web2's last check: %s %q, want L4TOUT \"Layer4 timeout\"", s.Check.Result, s.Check.Description)
		}
		// New requests are served (by web1) while web2 is away. Not the
		// load's progress: each of its two workers may be waiting for an
		// answer from web2 until the link is back (CI saw both at once).
		if got := a.Spread(t, "client", url, 10, nil); got["web1"] != 10 {
			t.Errorf("with web2 unreachable and DOWN, 10 requests went to %v", got)
		}
		if out, err := a.Exec("web2", "ip", "link", "set", "eth0", "up"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		lb.WaitFullState(t, "web", "web2", "UP", 20*time.Second)
		r := load.Stop()
		if r.Failed != 0 {
			t.Errorf("clients while web2 was unreachable: %s", r)
		}
		t.Logf("FIGURE while web2 was unreachable: %s", r)
		lb.WaitFullState(t, "bk", "spare", "UP", 20*time.Second) // the backup subtest needs it
	})

	// /health answering 500: DOWN with "Layer7 wrong status", no traffic;
	// healthy again: UP.
	t.Run("health 500", func(t *testing.T) {
		a.SetWebHealth("web2", false)
		s := lb.WaitFullState(t, "web", "web2", "DOWN", checkFall*checkInterval+5*time.Second)
		if s.Check.Result != "L7STS" || !strings.HasPrefix(s.Check.Description, "Layer7 wrong status") {
			t.Errorf("web2's last check: %s %q, want L7STS \"Layer7 wrong status: 500\"", s.Check.Result, s.Check.Description)
		}
		if got := a.Spread(t, "client", url, 10, nil); got["web1"] != 10 {
			t.Errorf("with web2 DOWN, 10 requests went to %v", got)
		}
		a.SetWebHealth("web2", true)
		lb.WaitFullState(t, "web", "web2", "UP", 15*time.Second)
	})

	// A check that gets no complete answer within its timeout fails with
	// "Layer7 timeout" (a server that hangs: /slow answers after 3s).
	t.Run("hanging check", func(t *testing.T) {
		base := applianceConfig(t, a.Lab)
		lb.WriteConfig(replaceOnce(t, base, `    path          = "/health"
    interval      = "500ms"
    fast_interval = "500ms"
    down_interval = "500ms"
  }
  server "web1" {
    address = "192.0.2.21:8080"`, `    path          = "/slow?ms=3000"
    timeout       = "300ms"
    interval      = "500ms"
    fast_interval = "500ms"
    down_interval = "500ms"
  }
  server "web1" {
    address = "192.0.2.21:8080"`))
		lb.MustCtl(t, "reload")
		s := lb.WaitFullState(t, "api", "web1", "DOWN", 3*(300*time.Millisecond+checkInterval)+5*time.Second)
		if s.Check.Result != "L7TOUT" || !strings.HasPrefix(s.Check.Description, "Layer7 timeout") {
			t.Errorf("api/web1's last check: %s %q, want L7TOUT \"Layer7 timeout\"", s.Check.Result, s.Check.Description)
		}
		lb.WriteConfig(base)
		lb.MustCtl(t, "reload")
		lb.WaitFullState(t, "api", "web1", "UP", 15*time.Second)
	})

	// maint: nothing reaches web1 (its own log shows none of the
	// requests), its checks keep running; ready restores it.
	t.Run("maint", func(t *testing.T) {
		cookie := serverCookie(t, a.Lab, url, "web1")
		// A kept-alive client pinned to web1 before the maint.
		kept := a.HTTPClient("client", 10*time.Second)
		defer kept.CloseIdleConnections()
		path := "-before"
		keptGet := func() string {
			req := mustGet(t, a.nodeURL("/maint-probe"+path))
			req.Header.Set("Cookie", cookie)
			resp, err := kept.Do(req)
			if err != nil {
				t.Fatalf("kept-alive client: %v", err)
			}
			resp.Body.Close()
			return resp.Header.Get("X-Server")
		}
		if got := keptGet(); got != "web1" {
			t.Fatalf("kept-alive client with web1's cookie went to %q", got)
		}
		path = ""
		lb.MustCtl(t, "server", "state", "web/web1", "maint")
		s := lb.Server(t, "web", "web1")
		if s.State != "MAINT" || s.Admin != "MAINT" {
			t.Fatalf("after maint: state %q admin %q", s.State, s.Admin)
		}
		before := s.Check.Checks
		got := a.Spread(t, "client", a.nodeURL("/maint-probe"), 20, nil)
		if got["web2"] != 20 {
			t.Errorf("with web1 in MAINT, 20 requests went to %v", got)
		}
		// A cookie naming a server in MAINT is ignored, on new and on
		// kept-alive connections.
		got = a.Spread(t, "client", a.nodeURL("/maint-probe"), 4, http.Header{"Cookie": {cookie}})
		if got["web2"] != 4 {
			t.Errorf("with web1 in MAINT, 4 requests with its cookie went to %v", got)
		}
		for range 4 {
			if got := keptGet(); got != "web2" {
				t.Errorf("with web1 in MAINT, the kept-alive client with its cookie went to %q", got)
			}
		}
		if strings.Contains(a.webs["web1"].Output(), `"GET /maint-probe"`) {
			t.Errorf("a request reached web1 in MAINT:\n%s", a.webs["web1"].Output())
		}
		Eventually(t, 10*time.Second, func() bool { return lb.Server(t, "web", "web1").Check.Checks > before+1 },
			"web1's checks to keep running in MAINT (%d before)", before)
		lb.MustCtl(t, "server", "state", "web/web1", "ready")
		lb.WaitFullState(t, "web", "web1", "UP", 10*time.Second)
		if got := a.Spread(t, "client", url, 10, nil); got["web1"] == 0 {
			t.Errorf("web1 READY again but 10 requests went to %v", got)
		}
	})

	// drain: a client whose cookie names web1 stays on web1; new clients
	// go to web2 only.
	t.Run("drain", func(t *testing.T) {
		cookie := serverCookie(t, a.Lab, url, "web1")
		lb.MustCtl(t, "server", "state", "web/web1", "drain")
		if s := lb.Server(t, "web", "web1"); s.State != "DRAIN" || s.Admin != "DRAIN" {
			t.Fatalf("after drain: state %q admin %q", s.State, s.Admin)
		}
		if got := a.Spread(t, "client", url, 10, http.Header{"Cookie": {cookie}}); got["web1"] != 10 {
			t.Errorf("with web1 draining, 10 requests with its cookie %q went to %v", cookie, got)
		}
		if got := a.Spread(t, "client", url, 10, nil); got["web2"] != 10 {
			t.Errorf("with web1 draining, 10 new clients went to %v", got)
		}
		lb.MustCtl(t, "server", "state", "web/web1", "ready")
		lb.WaitFullState(t, "web", "web1", "UP", 10*time.Second)
	})

	// weight 3:1 gives web1 about three quarters of new clients.
	t.Run("weight", func(t *testing.T) {
		if got := a.Spread(t, "client", url, 20, nil); got["web1"] < 6 || got["web2"] < 6 {
			t.Errorf("weights 1:1: 20 requests went to %v", got)
		}
		lb.MustCtl(t, "server", "weight", "web/web1", "3")
		if s := lb.Server(t, "web", "web1"); s.Weight != 3 || s.RuntimeWeight != 3 {
			t.Errorf("after weight 3: weight %d runtime_weight %d", s.Weight, s.RuntimeWeight)
		}
		got := a.Spread(t, "client", url, 40, nil)
		if got["web1"] < 25 || got["web1"] > 35 {
			t.Errorf("weights 3:1: 40 requests went to %v, want about 30 to web1", got)
		}
		// Weight 0 drains.
		lb.MustCtl(t, "server", "weight", "web/web1", "0")
		if s := lb.Server(t, "web", "web1"); s.State != "DRAIN" {
			t.Errorf("web1 at weight 0 is %q, want DRAIN", s.State)
		}
		if got := a.Spread(t, "client", url, 10, nil); got["web2"] != 10 {
			t.Errorf("web1 at weight 0: 10 requests went to %v", got)
		}
		lb.MustCtl(t, "server", "weight", "web/web1", "1")
		lb.WaitFullState(t, "web", "web1", "UP", 5*time.Second)
	})

	// What the operator set survives a reload, by lbctl and by SIGHUP.
	t.Run("admin state survives reload", func(t *testing.T) {
		lb.MustCtl(t, "server", "state", "web/web1", "maint")
		lb.MustCtl(t, "server", "weight", "web/web2", "7")
		reloads := lb.Info(t).Reloads
		lb.MustCtl(t, "reload")
		if err := lb.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		Eventually(t, 10*time.Second, func() bool { return lb.Info(t).Reloads == reloads+2 },
			"two more reloads than %d", reloads)
		if s := lb.Server(t, "web", "web1"); s.State != "MAINT" || s.Admin != "MAINT" {
			t.Errorf("after the reloads web1 is %q, admin %q; want MAINT", s.State, s.Admin)
		}
		if s := lb.Server(t, "web", "web2"); s.RuntimeWeight != 7 {
			t.Errorf("after the reloads web2's runtime weight is %d, want 7", s.RuntimeWeight)
		}
		if got := a.Spread(t, "client", url, 10, nil); got["web2"] != 10 {
			t.Errorf("web1 in MAINT after the reloads, but 10 requests went to %v", got)
		}
		// A weight changed in the file wins over the runtime one; the
		// admin state stays.
		lb.WriteConfig(reloadVariant(t, applianceConfig(t, a.Lab), 1))
		lb.MustCtl(t, "reload")
		if s := lb.Server(t, "web", "web2"); s.RuntimeWeight != 2 {
			t.Errorf("after a reload with weight 2 for web2 in the file, its weight is %d", s.RuntimeWeight)
		}
		if s := lb.Server(t, "web", "web1"); s.State != "MAINT" {
			t.Errorf("after the third reload web1 is %q, want MAINT", s.State)
		}
		lb.WriteConfig(applianceConfig(t, a.Lab))
		lb.MustCtl(t, "reload")
		lb.MustCtl(t, "server", "state", "web/web1", "ready")
		lb.MustCtl(t, "server", "weight", "web/web2", "1")
		lb.WaitFullState(t, "web", "web1", "UP", 10*time.Second)
	})

	// A server added by a reload to a serving backend starts DOWN and gets
	// traffic only once its checks pass; removed again, it gets none.
	t.Run("server added by reload", func(t *testing.T) {
		base := applianceConfig(t, a.Lab)
		lb.WriteConfig(replaceOnce(t, base, `  server "web2" {
    address = "192.0.2.22:80"
  }`, `  server "web2" {
    address = "192.0.2.22:80"
  }
  server "web3" {
    address = "192.0.2.22:8080"
  }`))
		lb.MustCtl(t, "reload")
		if s := lb.Server(t, "web", "web3"); !strings.HasPrefix(s.State, "DOWN") {
			t.Errorf("web3 right after the reload that added it: %q, want DOWN until rise checks pass", s.State)
		}
		for {
			s := lb.Server(t, "web", "web3")
			if s.State == "UP" {
				break
			}
			if !strings.HasPrefix(s.State, "DOWN") {
				t.Fatalf("web3 is %q", s.State)
			}
			resp, _, err := a.HTTPDo("client", mustGet(t, url))
			if err != nil {
				t.Fatal(err)
			}
			if l := resp.Header.Get("X-Listener"); l == "192.0.2.22:8080" && strings.HasPrefix(lb.Server(t, "web", "web3").State, "DOWN") {
				t.Fatalf("a request reached web3 while it was DOWN")
			}
		}
		listeners := map[string]int{}
		for range 9 {
			resp, _, err := a.HTTPDo("client", mustGet(t, url))
			if err != nil {
				t.Fatal(err)
			}
			listeners[resp.Header.Get("X-Listener")]++
		}
		if listeners["192.0.2.22:8080"] != 3 {
			t.Errorf("9 requests with web3 UP went to %v, want 3 each", listeners)
		}
		lb.WriteConfig(base)
		lb.MustCtl(t, "reload")
		if got := a.Spread(t, "client", url, 6, nil); got["web1"] != 3 || got["web2"] != 3 {
			t.Errorf("with web3 removed, 6 requests went to %v", got)
		}
		if _, err := lb.server("web", "web3"); err == nil {
			t.Errorf("web3 still listed after the reload that removed it")
		}
	})

	// Backend "bk": main DOWN -> the backup takes the traffic; backup
	// DOWN too -> 503 with the frontend's error_file.
	t.Run("backup then 503", func(t *testing.T) {
		bk := "http://" + a.Addr(node) + ":8081/"
		if got := a.Spread(t, "client", bk, 6, nil); got["web1"] != 6 {
			t.Errorf("bk with main UP: 6 requests went to %v, want all to main (web1)", got)
		}
		a.SetWebHealth("web1", false)
		lb.WaitFullState(t, "bk", "main", "DOWN", checkFall*checkInterval+5*time.Second)
		if got := a.Spread(t, "client", bk, 6, nil); got["web2"] != 6 {
			t.Errorf("bk with main DOWN: 6 requests went to %v, want all to the backup (web2)", got)
		}
		a.SetWebHealth("web2", false)
		lb.WaitFullState(t, "bk", "spare", "DOWN", checkFall*checkInterval+5*time.Second)
		code, body, err := a.HTTPGet("client", bk)
		if err != nil || code != 503 || body != "bk: no server is left.\n" {
			t.Errorf("bk with every server DOWN: %d %q %v; want 503 with the error_file", code, body, err)
		}
		a.SetWebHealth("web1", true)
		a.SetWebHealth("web2", true)
		a.waitAllUp(t)
		if got := a.Spread(t, "client", bk, 6, nil); got["web1"] != 6 {
			t.Errorf("bk with main UP again: 6 requests went to %v", got)
		}
	})
}

// serverCookie asks url from the client until server answers and returns
// the persistence cookie it was given ("SERVERID=..."), as a browser keeps
// it.
func serverCookie(t *testing.T, l *Lab, url, server string) string {
	t.Helper()
	var last string
	for range 10 {
		resp, _, err := l.HTTPDo("client", mustGet(t, url))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range resp.Cookies() {
			if c.Name == "SERVERID" && resp.Header.Get("X-Server") == server {
				return c.Name + "=" + c.Value
			}
		}
		last = fmt.Sprint(resp.Header)
	}
	t.Fatalf("no SERVERID cookie for %s in 10 answers of %s (last header %s)", server, url, last)
	return ""
}
