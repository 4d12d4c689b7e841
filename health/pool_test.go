package health

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"lbd/config"
)

const withBackup = `
backend "web" {
  health_check {
    rise = 1
    fall = 1
  }
  server "a1" { address = "127.0.0.1:8001" }
  server "a2" { address = "127.0.0.1:8002" }
  server "b1" {
    address = "127.0.0.1:8003"
    backup  = true
  }
}
backend "api" {
  server "x1" { address = "127.0.0.1:8011" }
}
`

// events collects subscriber calls.
type events struct {
	mu  sync.Mutex
	got []string
	ch  chan struct{}
}

func subscribe(p *Pool) *events {
	ev := &events{ch: make(chan struct{}, 100)}
	p.Subscribe(func(b string) {
		ev.mu.Lock()
		ev.got = append(ev.got, b)
		ev.mu.Unlock()
		ev.ch <- struct{}{}
	})
	return ev
}

// wait returns once fn holds, failing after a generous bound; the
// notifier is asynchronous by design.
func (ev *events) wait(t *testing.T, what string, fn func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for !fn() {
		select {
		case <-ev.ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (ev *events) count(b string) int {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	n := 0
	for _, x := range ev.got {
		if x == b {
			n++
		}
	}
	return n
}

func TestUsableServersAndSubscribe(t *testing.T) {
	e := newFakeEnv(t)
	ev := subscribe(e.pool)
	e.apply(withBackup)
	ev.wait(t, "initial notification", func() bool { return ev.count("web") >= 1 && ev.count("api") >= 1 })
	if n := e.pool.UsableServers("web"); n != 2 {
		t.Fatalf("usable %d, want 2 active", n)
	}
	e.script("a1").def = ko4
	e.script("a2").def = ko4
	e.pool.Start()
	n0 := ev.count("web")
	e.clk.Advance(time.Second)
	ev.wait(t, "web change", func() bool { return ev.count("web") > n0 && e.pool.UsableServers("web") == 1 })
	if !e.pool.Get("web", "b1").Usable() || e.pool.Get("web", "a1").Usable() {
		t.Fatal("backup should be the only usable server")
	}
	// Backup drained: nothing left.
	if err := e.pool.SetAdminState("web", "b1", AdminDrain); err != nil {
		t.Fatal(err)
	}
	if n := e.pool.UsableServers("web"); n != 0 {
		t.Fatalf("usable %d, want 0", n)
	}
	ev.wait(t, "no server log", func() bool {
		return strings.Contains(e.logs.String(), "backend web has no server available!")
	})
	if e.pool.UsableServers("nope") != 0 {
		t.Fatal("unknown backend has usable servers")
	}
	if ev.count("api") != 1 {
		t.Fatalf("api notified %d times, want 1 (only at load)", ev.count("api"))
	}
}

func TestAdminStateAndWeight(t *testing.T) {
	e := newFakeEnv(t)
	e.apply(withBackup)
	s := e.pool.Get("web", "a1")
	tests := []struct {
		st         AdminState
		usable     bool
		persistent bool
		state      string
	}{
		{AdminDrain, false, true, "DRAIN"},
		{AdminMaint, false, false, "MAINT"},
		{AdminReady, true, true, "UP"},
	}
	for _, tt := range tests {
		if err := e.pool.SetAdminState("web", "a1", tt.st); err != nil {
			t.Fatal(err)
		}
		if s.Usable() != tt.usable || s.AcceptsPersistent() != tt.persistent || e.state("web", "a1") != tt.state {
			t.Errorf("%v: usable %v persistent %v state %q", tt.st, s.Usable(), s.AcceptsPersistent(), e.state("web", "a1"))
		}
	}
	for _, tt := range []struct{ b, s, want string }{
		{"nope", "a1", `no backend "nope"`},
		{"web", "zz", `no server "zz" in backend "web"`},
	} {
		if err := e.pool.SetAdminState(tt.b, tt.s, AdminMaint); err == nil || err.Error() != tt.want {
			t.Errorf("SetAdminState(%s/%s): %v, want %q", tt.b, tt.s, err, tt.want)
		}
		if err := e.pool.SetWeight(tt.b, tt.s, 1); err == nil || err.Error() != tt.want {
			t.Errorf("SetWeight(%s/%s): %v, want %q", tt.b, tt.s, err, tt.want)
		}
	}
	for _, w := range []int{-1, 257} {
		if err := e.pool.SetWeight("web", "a1", w); err == nil {
			t.Errorf("weight %d accepted", w)
		}
	}
	if err := e.pool.SetWeight("web", "a1", 0); err != nil {
		t.Fatal(err)
	}
	if s.Usable() || e.state("web", "a1") != "DRAIN" || s.EffectiveWeight() != 0 {
		t.Fatalf("weight 0: usable %v state %q", s.Usable(), e.state("web", "a1"))
	}
	if err := e.pool.SetWeight("web", "a1", 42); err != nil {
		t.Fatal(err)
	}
	_ = e.pool.SetAdminState("web", "a2", AdminMaint)

	// Reload: admin state and runtime weight survive...
	e.apply(withBackup)
	if s.Weight() != 42 || e.pool.Get("web", "a2").Admin() != AdminMaint {
		t.Fatalf("after reload: weight %d admin %v", s.Weight(), e.pool.Get("web", "a2").Admin())
	}
	// ...unless the file changes the weight.
	e.apply(strings.Replace(withBackup, `server "a1" { address = "127.0.0.1:8001" }`,
		"server \"a1\" {\n address = \"127.0.0.1:8001\"\n weight = 5\n }", 1))
	if s.Weight() != 5 {
		t.Fatalf("file weight change ignored: %d", s.Weight())
	}
	logs := e.logs.String()
	for _, want := range []string{"Server web/a1 enters drain state", "Server web/a1 is going DOWN for maintenance", "Server web/a1 weight changed from 1 to 0"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestStatusJSON(t *testing.T) {
	e := newFakeEnv(t)
	e.apply(withBackup)
	e.script("a2").def = ko7
	e.pool.Start()
	e.clk.Advance(time.Second)
	e.clk.Advance(3 * time.Second)
	st, err := e.pool.Status("")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(st)
	var generic []map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	if generic[0]["name"] != "web" || generic[1]["name"] != "api" {
		t.Fatalf("backend order: %s", raw)
	}
	srv := generic[0]["servers"].([]any)[1].(map[string]any)
	for _, k := range []string{"name", "address", "state", "weight", "cur_conns", "queue", "check"} {
		if _, ok := srv[k]; !ok {
			t.Errorf("server status lacks %q: %v", k, srv)
		}
	}
	a2 := st[0].Servers[1]
	if a2.State != "DOWN" || a2.Check.Result != codeL7STS || a2.Check.Description != "Layer7 wrong status: 500" ||
		a2.Check.HTTPStatus != 500 || a2.SinceChange != 3 || a2.DownTime != "3s" || int(a2.DownTimeSecs) != 3 ||
		a2.Check.Health != 0 || a2.Check.Rise != 1 || a2.Check.Fall != 1 {
		t.Errorf("a2 status: %+v", a2)
	}
	if _, err := e.pool.Status("nope"); err == nil {
		t.Error("unknown backend accepted")
	}
	if one, _ := e.pool.Status("api"); len(one) != 1 || one[0].Name != "api" {
		t.Errorf("Status(api) = %+v", one)
	}
}

func TestCheckDisabledServerIsUp(t *testing.T) {
	e := newFakeEnv(t)
	e.apply(`backend "web" {
  server "s1" {
    address = "127.0.0.1:8001"
    check   = false
  }
}`)
	e.pool.Start()
	e.clk.Advance(time.Minute)
	if got := e.clk.Pending(); len(got) != 0 {
		t.Fatalf("unchecked server has timers: %v", got)
	}
	st, _ := e.pool.Status("web")
	if s := st[0].Servers[0]; s.State != "UP" || s.Check.Enabled || s.Check.Result != "" {
		t.Fatalf("status %+v", s)
	}
	// Turning checks on: HAProxy start state, then checks begin.
	e.script("s1").def = ko4
	e.apply(`backend "web" {
  server "s1" { address = "127.0.0.1:8001" }
}`)
	e.clk.Advance(0)
	if got := e.state("web", "s1"); got != "DOWN" {
		t.Fatalf("after enabling checks on a dead server: %q", got)
	}
	// And off again: UP, whatever the checks said.
	e.apply(`backend "web" {
  server "s1" {
    address = "127.0.0.1:8001"
    check   = false
  }
}`)
	if got := e.state("web", "s1"); got != "UP" {
		t.Fatalf("after disabling checks: %q", got)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	e := newFakeEnv(t)
	e.apply(withBackup)
	ev := subscribe(e.pool)
	e.pool.Start()
	e.pool.Close()
	e.pool.Close() // idempotent
	if got := e.clk.Pending(); len(got) != 0 {
		t.Fatalf("timers after Close: %v", got)
	}
	if err := e.pool.Apply(mustParse(t, withBackup)); err == nil {
		t.Fatal("Apply after Close accepted")
	}
	_ = ev
}

func TestApplyRefusesBadInputWithoutChange(t *testing.T) {
	e := newFakeEnv(t)
	e.apply(withBackup)
	dupServer := mustParse(t, withBackup)
	dupServer.Backends[0].Servers = append(dupServer.Backends[0].Servers, dupServer.Backends[0].Servers[0])
	dupBackend := mustParse(t, withBackup)
	dupBackend.Backends = append(dupBackend.Backends, dupBackend.Backends[0])
	noCheck := mustParse(t, withBackup)
	noCheck.Backends[1].HealthCheck = nil
	for name, cfg := range map[string]*config.Config{"dup server": dupServer, "dup backend": dupBackend, "no check": noCheck} {
		if err := e.pool.Apply(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if got := e.pool.Backends(); len(got) != 2 || len(e.pool.Servers("web")) != 3 {
		t.Fatalf("pool changed by refused configurations: %v", got)
	}
}

// TestReloadNewServersStartDown: a server added by a reload to a backend
// whose kept servers serve starts DOWN and must prove itself; when the
// reload renames every server, the new ones start UP, or the backend would
// have nothing to serve with until their checks pass.
func TestReloadNewServersStartDown(t *testing.T) {
	e := newFakeEnv(t)
	e.apply(withBackup)
	e.pool.Start()
	if !e.pool.Get("web", "a1").Usable() {
		t.Fatal("a1 not usable after the first start")
	}
	e.apply(strings.Replace(withBackup, `server "a2" { address = "127.0.0.1:8002" }`,
		"server \"a2\" { address = \"127.0.0.1:8002\" }\n  server \"a3\" { address = \"127.0.0.1:8004\" }", 1))
	if e.pool.Get("web", "a3").Usable() {
		t.Error("a server added next to serving ones got traffic before its checks")
	}
	renamed := strings.NewReplacer(`"a1"`, `"n1"`, `"a2"`, `"n2"`, `"b1"`, `"m1"`, `"x1"`, `"y1"`).Replace(withBackup)
	e.apply(renamed)
	for _, key := range [][2]string{{"web", "n1"}, {"web", "n2"}, {"api", "y1"}} {
		if !e.pool.Get(key[0], key[1]).Usable() {
			t.Errorf("%s/%s: renamed servers start DOWN, the backend has none to serve with", key[0], key[1])
		}
	}
}
