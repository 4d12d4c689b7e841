package health

import (
	"testing"
)

func TestParseAgentReply(t *testing.T) {
	tests := []struct {
		in   string
		want agentReply
	}{
		{"up\n", agentReply{health: "up", weightPct: -1, weight: -1, maxconn: -1}},
		{"DOWN\r\nignored", agentReply{health: "down", weightPct: -1, weight: -1, maxconn: -1}},
		{"stopped # going away\n", agentReply{health: "stopped", weightPct: -1, weight: -1, maxconn: -1, desc: "going away"}},
		{"ready,75% maxconn:20\n", agentReply{admin: "ready", weightPct: 75, weight: -1, maxconn: 20}},
		{"drain\tfail", agentReply{health: "fail", admin: "drain", weightPct: -1, weight: -1, maxconn: -1}},
		{"maint weight:12", agentReply{admin: "maint", weightPct: -1, weight: 12, maxconn: -1}},
		{"50% 10%", agentReply{weightPct: 10, weight: -1, maxconn: -1}},
		{"weight:300", agentReply{weightPct: -1, weight: -1, maxconn: -1, bad: "weight:300"}},
		{"maxconn:x", agentReply{weightPct: -1, weight: -1, maxconn: -1, bad: "maxconn:x"}},
		{"1x% up", agentReply{health: "up", weightPct: -1, weight: -1, maxconn: -1, bad: "1x%"}},
		{"hello up", agentReply{health: "up", weightPct: -1, weight: -1, maxconn: -1, unknown: "hello"}},
		{"", agentReply{weightPct: -1, weight: -1, maxconn: -1}},
		{"#", agentReply{weightPct: -1, weight: -1, maxconn: -1}},
		{"up #\x01bad\xff", agentReply{health: "up", weightPct: -1, weight: -1, maxconn: -1, desc: "?bad?"}},
	}
	for _, tt := range tests {
		if got := parseAgentReply([]byte(tt.in)); got != tt.want {
			t.Errorf("%q: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
	if w, ok := (agentReply{weightPct: 150, weight: -1}).weightFor(200); !ok || w != 256 {
		t.Errorf("150%% of 200 = %d, want capped 256", w)
	}
	if w, ok := (agentReply{weightPct: 50, weight: -1}).weightFor(3); !ok || w != 1 {
		t.Errorf("50%% of 3 = %d, want 1", w)
	}
	if _, ok := (agentReply{weightPct: -1, weight: -1}).weightFor(3); ok {
		t.Error("no weight word but weightFor says one")
	}
}

func FuzzAgentReply(f *testing.F) {
	for _, s := range []string{"up\n", "down # maintenance\n", "ready,75% maxconn:20\r\n", "drain weight:3", "maint", "#", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a := parseAgentReply(data)
		switch a.health {
		case "", "up", "down", "stopped", "fail":
		default:
			t.Fatalf("health %q", a.health)
		}
		switch a.admin {
		case "", "ready", "drain", "maint":
		default:
			t.Fatalf("admin %q", a.admin)
		}
		if a.weight > 256 || a.weight < -1 || a.maxconn < -1 || a.weightPct < -1 {
			t.Fatalf("values out of range: %+v", a)
		}
		if w, ok := a.weightFor(256); ok && (w < 0 || w > 256) {
			t.Fatalf("weight %d", w)
		}
		for _, s := range []string{a.desc, a.unknown, a.bad} {
			for i := 0; i < len(s); i++ {
				if s[i] < 0x20 || s[i] >= 0x7f {
					t.Fatalf("unprintable byte in %q", s)
				}
			}
		}
		r := agentResult(data)
		if r.ok == (r.code == codeL7STS) {
			t.Fatalf("result %+v", r)
		}
	})
}
