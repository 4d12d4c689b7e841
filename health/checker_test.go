package health

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const oneServer = `
backend "web" {
  health_check {
    interval      = "2s"
    fast_interval = "1s"
    down_interval = "5s"
    timeout       = "500ms"
    rise          = 2
    fall          = 3
  }
  server "s1" { address = "127.0.0.1:8001" }
}
`

var (
	ok4  = pass(codeL4OK, "")
	ko4  = failed(codeL4CON, "Connection refused")
	ko7  = result{code: codeL7STS, info: "500", status: 500}
	tout = failed(codeL4TOUT, "")
)

// TestTimerMachine drives one server through HAProxy's whole cycle on a
// fake clock and checks when each check ran and the state after it.
func TestTimerMachine(t *testing.T) {
	e := newFakeEnv(t)
	e.apply(oneServer)
	sc := e.script("s1")
	if got := e.state("web", "s1"); got != "UP 1/3" {
		t.Fatalf("start state %q, want HAProxy's \"UP 1/3\"", got)
	}
	if st, _ := e.pool.Status("web"); st[0].Servers[0].Check.Result != codeINI {
		t.Fatalf("start result %q, want INI", st[0].Servers[0].Check.Result)
	}
	steps := []struct {
		r     result
		at    time.Duration // since start, when this check must run
		state string
	}{
		{ok4, 0, "UP"}, // first check at once (only server)
		{ko4, 2 * time.Second, "UP 2/3"},
		{ko4, 3 * time.Second, "UP 1/3"}, // fast_interval while going down
		{ko7, 4 * time.Second, "DOWN"},
		{ok4, 9 * time.Second, "DOWN 1/2"}, // down_interval while DOWN
		{tout, 10 * time.Second, "DOWN"},   // fast while going up; reset
		{ok4, 15 * time.Second, "DOWN 1/2"},
		{ok4, 16 * time.Second, "UP"},
		{ok4, 18 * time.Second, "UP"},
	}
	for _, st := range steps {
		sc.push(st.r)
	}
	start := e.clk.Now()
	e.pool.Start()
	for i, st := range steps {
		// Advance to just before the expected time: the check must not
		// have run yet; then to it: it must have.
		target := start.Add(st.at)
		if d := target.Sub(e.clk.Now()) - time.Millisecond; d > 0 {
			e.clk.Advance(d)
		}
		if n := len(sc.runs()); n != i {
			t.Fatalf("step %d: %d checks ran before %v, want %d", i, n, st.at, i)
		}
		e.clk.Advance(target.Sub(e.clk.Now()))
		runs := sc.runs()
		if len(runs) != i+1 || !runs[i].Equal(target) {
			t.Fatalf("step %d: checks at %v, want #%d at %v", i, offsets(runs, start), i, st.at)
		}
		if got := e.state("web", "s1"); got != st.state {
			t.Fatalf("step %d: state %q, want %q", i, got, st.state)
		}
	}
	logs := e.logs.String()
	if n := strings.Count(logs, "is DOWN"); n != 1 {
		t.Errorf("%d DOWN log lines, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs, "Server web/s1 is DOWN, reason: Layer7 wrong status: 500, code: 500") {
		t.Errorf("DOWN line lacks HAProxy's wording:\n%s", logs)
	}
	if n := strings.Count(logs, "is UP"); n != 1 {
		t.Errorf("%d UP log lines, want 1", n)
	}
	st, _ := e.pool.Status("web")
	if got := st[0].Servers[0].DownTransitions; got != 1 {
		t.Errorf("down_transitions %d, want 1", got)
	}
	if got := st[0].Servers[0].Check.Failed; got != 4 {
		t.Errorf("failed checks %d, want 4", got)
	}
}

func offsets(ts []time.Time, start time.Time) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, t := range ts {
		out[i] = t.Sub(start)
	}
	return out
}

// TestNeverAnsweringServerOutAfterFirstCheck: HAProxy's start-up state
// means a dead server gets no traffic after its first check.
func TestNeverAnsweringServerOutAfterFirstCheck(t *testing.T) {
	e := newFakeEnv(t)
	e.apply(oneServer)
	e.script("s1").def = tout
	s := e.pool.Get("web", "s1")
	if !s.Usable() {
		t.Fatal("not usable before the first check")
	}
	e.pool.Start()
	e.clk.Advance(0)
	if s.Usable() {
		t.Fatalf("still usable after a failed first check: %s", e.state("web", "s1"))
	}
}

func TestFirstChecksSpread(t *testing.T) {
	e := newFakeEnv(t)
	var b strings.Builder
	b.WriteString(`backend "web" {
  health_check {
    interval      = "2s"
    fast_interval = "1s"
  }
`)
	for i := range 4 {
		fmt.Fprintf(&b, "  server \"p%d\" { address = \"127.0.0.1:%d\" }\n", i, 9000+i)
	}
	b.WriteString("  server \"nochk\" {\n address = \"127.0.0.1:9999\"\n check = false\n }\n}\n")
	e.apply(b.String())
	e.pool.Start()
	// Servers start at health = rise: not stable, so fast_interval (1s)
	// is spread over the four checked servers.
	want := []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond}
	var got []time.Duration
	for i := range 4 {
		d, _ := e.dueIn("web", fmt.Sprintf("p%d", i))
		got = append(got, d)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || e.scheduled() != 4 {
		t.Fatalf("first checks due in %v (%d scheduled), want %v", got, e.scheduled(), want)
	}
}

func TestReloadAddsPendingServer(t *testing.T) {
	e := newFakeEnv(t)
	e.apply(oneServer)
	e.pool.Start()
	e.clk.Advance(0) // s1 checked: UP
	two := strings.Replace(oneServer, `server "s1" { address = "127.0.0.1:8001" }`,
		`server "s1" { address = "127.0.0.1:8001" }
  server "s2" { address = "127.0.0.1:8002" }`, 1)
	e.apply(two)
	s2 := e.pool.Get("web", "s2")
	if s2.Usable() || e.state("web", "s2") != "DOWN" {
		t.Fatalf("new server in a serving backend: state %q usable %v, want DOWN until checked",
			e.state("web", "s2"), s2.Usable())
	}
	if n := e.pool.UsableServers("web"); n != 1 {
		t.Fatalf("UsableServers %d, want 1", n)
	}
	// Its first check runs within fast_interval (spread: position 1 of 2),
	// then rise = 2 successes at fast_interval bring it UP.
	e.clk.Advance(500 * time.Millisecond)
	if got := e.state("web", "s2"); got != "DOWN 1/2" {
		t.Fatalf("after first check: %q", got)
	}
	e.clk.Advance(time.Second)
	if !s2.Usable() {
		t.Fatalf("after rise checks: %q", e.state("web", "s2"))
	}
}

func TestReloadKeepsOrRestartsChecker(t *testing.T) {
	e := newFakeEnv(t)
	e.apply(oneServer)
	sc := e.script("s1")
	e.pool.Start()
	e.clk.Advance(0)
	sc.push(ko4) // UP 2/3
	e.clk.Advance(2 * time.Second)
	s := e.pool.Get("web", "s1")
	ch := s.chk.Load()

	// Same settings (only a comment differs): checker, counter, history kept.
	e.apply(oneServer + "\n# reloaded\n")
	if s2 := e.pool.Get("web", "s1"); s2 != s || s.chk.Load() != ch {
		t.Fatal("reload with the same settings replaced the server or its checker")
	}
	if got := e.state("web", "s1"); got != "UP 2/3" {
		t.Fatalf("state after reload %q, want UP 2/3 kept", got)
	}
	if got, ok := e.dueIn("web", "s1"); !ok || got != time.Second || e.scheduled() != 1 {
		t.Fatalf("next check after reload in %v, want the kept checker's 1s", got)
	}

	// Changed rise/fall: a new checker, state kept (UP, fully).
	e.apply(strings.Replace(oneServer, "fall          = 3", "fall          = 5", 1))
	if s.chk.Load() == ch {
		t.Fatal("check settings changed but checker kept")
	}
	if got := e.state("web", "s1"); got != "UP" {
		t.Fatalf("state after restart %q, want UP", got)
	}
	if n := e.scheduled(); n != 1 {
		t.Fatalf("%d checks scheduled, want exactly one (old checker stopped)", n)
	}
	runs := len(sc.runs())
	// Removal stops checks.
	e.apply(`backend "web" {
  server "other" { address = "127.0.0.1:8009" }
}`)
	e.clk.Advance(10 * time.Second)
	if got := len(sc.runs()); got != runs {
		t.Fatalf("removed server still checked: %d runs, was %d", got, runs)
	}
	if e.pool.Get("web", "s1") != nil {
		t.Fatal("removed server still in pool")
	}
}

func TestSlowStartRamp(t *testing.T) {
	e := newFakeEnv(t)
	e.apply(`backend "web" {
  health_check {
    rise = 1
    fall = 1
  }
  server "s1" {
    address   = "127.0.0.1:8001"
    weight    = 100
    maxconn   = 1000
    slowstart = "10s"
  }
}`)
	s := e.pool.Get("web", "s1")
	if s.EffectiveWeight() != 100 || s.EffectiveMaxConn() != 1000 {
		t.Fatalf("no slow start at process start: w=%d m=%d", s.EffectiveWeight(), s.EffectiveMaxConn())
	}
	sc := e.script("s1")
	sc.push(ko4, ok4)
	e.pool.Start()
	e.clk.Advance(0) // DOWN
	if s.Up() {
		t.Fatal("not down")
	}
	e.clk.Advance(5 * time.Second) // down_interval: check passes, UP
	if !s.Up() {
		t.Fatal("not up")
	}
	tests := []struct {
		after   time.Duration
		w, mc   int
		percent int
	}{
		{0, 1, 1, 1},
		{time.Second, 10, 100, 10},
		{5 * time.Second, 50, 500, 50},
		{9*time.Second + 500*time.Millisecond, 95, 950, 95},
		{10 * time.Second, 100, 1000, 0},
		{20 * time.Second, 100, 1000, 0},
	}
	start := e.clk.Now()
	for _, tt := range tests {
		e.clk.Advance(start.Add(tt.after).Sub(e.clk.Now()))
		if w, mc := s.EffectiveWeight(), s.EffectiveMaxConn(); w != tt.w || mc != tt.mc {
			t.Errorf("after %v: weight %d maxconn %d, want %d %d", tt.after, w, mc, tt.w, tt.mc)
		}
		st, _ := e.pool.Status("web")
		if got := st[0].Servers[0].Throttle; got != tt.percent {
			t.Errorf("after %v: throttle %d, want %d", tt.after, got, tt.percent)
		}
	}
	// Leaving MAINT ramps too.
	if err := e.pool.SetAdminState("web", "s1", AdminMaint); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.SetAdminState("web", "s1", AdminReady); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(2 * time.Second)
	if w := s.EffectiveWeight(); w != 20 {
		t.Errorf("2s after leaving MAINT: weight %d, want 20", w)
	}
}

func TestAgentDirectives(t *testing.T) {
	e := newFakeEnv(t)
	e.apply(`backend "web" {
  health_check {
    type = "agent"
    port = 9999
    rise = 2
    fall = 3
  }
  server "s1" {
    address = "127.0.0.1:8001"
    weight  = 40
  }
}`)
	s := e.pool.Get("web", "s1")
	sc := e.script("s1")
	e.pool.Start()
	steps := []struct {
		reply  string
		state  string
		weight int
		mc     int
		usable bool
	}{
		{"up\n", "UP", 40, 0, true},
		{"50%\n", "UP", 20, 0, true},
		{"weight:7 maxconn:30\n", "UP", 7, 30, true},
		{"drain\n", "DRAIN", 7, 30, false},
		{"down # disk full\n", "DOWN", 7, 30, false},
		{"ready,up,100%\n", "UP", 40, 30, true},
		{"maint\n", "MAINT", 40, 30, false},
		{"ready\n", "UP", 40, 30, true},
		{"0%\n", "DRAIN", 0, 30, false},
	}
	for i, st := range steps {
		sc.push(agentResult([]byte(st.reply)))
		if i == 0 {
			e.clk.Advance(0)
		} else {
			e.clk.Advance(e.clk.Pending()[0])
		}
		if got := e.state("web", "s1"); got != st.state || s.Weight() != st.weight ||
			s.EffectiveMaxConn() != st.mc || s.Usable() != st.usable {
			t.Fatalf("after %q: state %q weight %d maxconn %d usable %v; want %q %d %d %v",
				st.reply, got, s.Weight(), s.EffectiveMaxConn(), s.Usable(), st.state, st.weight, st.mc, st.usable)
		}
	}
	if !strings.Contains(e.logs.String(), "Layer7 wrong status: via agent : down (disk full)") {
		t.Errorf("agent down reason not logged:\n%s", e.logs.String())
	}
	// The operator's MAINT is not lifted by the agent's "ready".
	if err := e.pool.SetAdminState("web", "s1", AdminMaint); err != nil {
		t.Fatal(err)
	}
	sc.push(agentResult([]byte("ready 100%\n")))
	e.clk.Advance(e.clk.Pending()[0])
	if got := e.state("web", "s1"); got != "MAINT" {
		t.Fatalf("agent ready lifted operator MAINT: %q", got)
	}
	// Switching the check away from agent forgets what the agent said.
	if err := e.pool.SetAdminState("web", "s1", AdminReady); err != nil {
		t.Fatal(err)
	}
	sc.push(agentResult([]byte("drain 50%\n")))
	e.clk.Advance(e.clk.Pending()[0])
	e.apply(`backend "web" {
  server "s1" {
    address = "127.0.0.1:8001"
    weight  = 40
  }
}`)
	if s.AgentAdmin() != AdminReady || s.Weight() != 40 || s.EffectiveMaxConn() != 0 {
		t.Fatalf("agent state survived leaving agent checks: admin %v weight %d maxconn %d",
			s.AgentAdmin(), s.Weight(), s.EffectiveMaxConn())
	}
}

func TestObserveMarksDown(t *testing.T) {
	e := newFakeEnv(t)
	e.apply(`backend "web" {
  observe     = "layer7"
  error_limit = 3
  health_check {
    interval      = "10s"
    fast_interval = "1s"
  }
  server "s1" { address = "127.0.0.1:8001" }
}`)
	s := e.pool.Get("web", "s1")
	e.pool.Start()
	e.clk.Advance(0) // UP, next check in 10s

	s.ObserveHTTPStatus(500)
	s.ObserveHTTPStatus(502)
	s.ObserveL4(true, "")    // ignored with layer7
	s.ObserveHTTPStatus(404) // fine: resets
	s.ObserveHTTPStatus(503)
	s.ObserveL4(false, "Connection refused")
	if !s.Up() {
		t.Fatal("down before error_limit consecutive errors")
	}
	s.ObserveL7(false, "Read timeout")
	if s.Up() {
		t.Fatal("still up after error_limit consecutive errors")
	}
	if !strings.Contains(e.logs.String(), "reason: Health analyze: Detected 3 consecutive errors, last one was: Read timeout") {
		t.Errorf("HANA reason missing:\n%s", e.logs.String())
	}
	// The next check was moved to fast_interval.
	if got, _ := e.dueIn("web", "s1"); got != time.Second {
		t.Fatalf("next check in %v, want 1s", got)
	}
	e.clk.Advance(time.Second)
	e.clk.Advance(time.Second)
	if !s.Up() {
		t.Fatalf("not back UP after rise checks: %s", e.state("web", "s1"))
	}
	st, _ := e.pool.Status("web")
	if st[0].Servers[0].Check.ObserveFailures != 1 {
		t.Errorf("observe_failures %d", st[0].Servers[0].Check.ObserveFailures)
	}
}

func TestObserveOffOrUnchecked(t *testing.T) {
	e := newFakeEnv(t)
	e.apply(`backend "a" {
  server "s1" { address = "127.0.0.1:8001" }
}
backend "b" {
  observe = "layer4"
  error_limit = 1
  server "s2" {
    address = "127.0.0.1:8002"
    check = false
  }
}`)
	for _, s := range []*Server{e.pool.Get("a", "s1"), e.pool.Get("b", "s2")} {
		for range 20 {
			s.ObserveL4(false, "Connection refused")
			s.Observe(false, "x")
		}
		if !s.Up() {
			t.Errorf("%s marked down without observe/check", s.Key())
		}
	}
}
