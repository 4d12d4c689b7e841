package health

import (
	"encoding/json"
	"testing"
	"time"
)

// TestHandoffRoundTrip: a successor process resumes every server where
// the predecessor left it (through JSON, as package handoff carries it):
// a DOWN server stays DOWN with its history, a drained one stays drained
// with its runtime weight, and only servers with the same checks take the
// check state.
func TestHandoffRoundTrip(t *testing.T) {
	const two = `
backend "web" {
  health_check {
    rise = 2
    fall = 2
  }
  server "s1" { address = "127.0.0.1:8001" }
  server "s2" { address = "127.0.0.1:8002" }
  server "s3" {
    address = "127.0.0.1:8003"
    check   = false
  }
}
`
	old := newFakeEnv(t)
	old.apply(two)
	old.script("s2").def = tout
	old.pool.Start()
	for range 4 {
		old.clk.Advance(time.Second)
	}
	if got := old.state("web", "s2"); got != "DOWN" {
		t.Fatalf("s2 is %q before the handoff", got)
	}
	if err := old.pool.SetAdminState("web", "s1", AdminDrain); err != nil {
		t.Fatal(err)
	}
	if err := old.pool.SetWeight("web", "s3", 7); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(old.pool.Handoff())
	if err != nil {
		t.Fatal(err)
	}
	var hs []ServerHandoff
	if err := json.Unmarshal(b, &hs); err != nil {
		t.Fatal(err)
	}

	succ := newFakeEnv(t)
	succ.apply(two)
	succ.pool.Adopt(hs)
	for _, c := range []struct{ server, state string }{{"s1", "DRAIN"}, {"s2", "DOWN"}, {"s3", "UP"}} {
		if got := succ.state("web", c.server); got != c.state {
			t.Errorf("%s is %q in the successor, want %q", c.server, got, c.state)
		}
	}
	if w := succ.pool.Get("web", "s3").Weight(); w != 7 {
		t.Errorf("s3 weight %d, want the runtime 7", w)
	}
	if succ.pool.Get("web", "s2").Usable() {
		t.Error("the DOWN server is usable in the successor")
	}
	s2 := succ.pool.Get("web", "s2")
	s2.mu.Lock()
	checks, last := s2.check.checks, s2.check.lastResult
	s2.mu.Unlock()
	if checks == 0 || last == "" {
		t.Errorf("s2's check history was not carried: %d checks, last %q", checks, last)
	}
}
