package health

import (
	"testing"
	"time"

	"lbd/config"
)

func TestCounterSequences(t *testing.T) {
	hc := &config.HealthCheck{Interval: 2 * time.Second, FastInterval: time.Second, DownInterval: 5 * time.Second}
	type step struct {
		ok       bool
		state    string
		interval time.Duration
		edge     string // "up", "down" or ""
	}
	tests := []struct {
		name  string
		start counter
		steps []step
	}{
		{
			name:  "HAProxy start: one failure takes it down",
			start: counter{health: 2, rise: 2, fall: 3, up: true},
			steps: []step{{false, "DOWN", 5 * time.Second, "down"}},
		},
		{
			name:  "HAProxy start: one success makes it fully up",
			start: counter{health: 2, rise: 2, fall: 3, up: true},
			steps: []step{{true, "UP", 2 * time.Second, ""}},
		},
		{
			name:  "fall 3 from stable up, recover midway",
			start: counter{health: 4, rise: 2, fall: 3, up: true},
			steps: []step{
				{false, "UP 2/3", time.Second, ""},
				{false, "UP 1/3", time.Second, ""},
				{true, "UP", 2 * time.Second, ""},
				{false, "UP 2/3", time.Second, ""},
				{false, "UP 1/3", time.Second, ""},
				{false, "DOWN", 5 * time.Second, "down"},
				{false, "DOWN", 5 * time.Second, ""},
			},
		},
		{
			name:  "rise 2 from down, a failure resets",
			start: counter{health: 0, rise: 2, fall: 3},
			steps: []step{
				{true, "DOWN 1/2", time.Second, ""},
				{false, "DOWN", 5 * time.Second, ""},
				{true, "DOWN 1/2", time.Second, ""},
				{true, "UP", 2 * time.Second, "up"},
			},
		},
		{
			name:  "rise 1 fall 1",
			start: counter{health: 1, rise: 1, fall: 1, up: true},
			steps: []step{
				{true, "UP", 2 * time.Second, ""},
				{false, "DOWN", 5 * time.Second, "down"},
				{true, "UP", 2 * time.Second, "up"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.start
			for i, st := range tt.steps {
				var edge string
				if st.ok {
					if c.pass() {
						edge = "up"
					}
				} else if c.fail() {
					edge = "down"
				}
				if got := c.String(); got != st.state {
					t.Errorf("step %d: state %q, want %q", i, got, st.state)
				}
				if got := c.interval(hc); got != st.interval {
					t.Errorf("step %d: interval %v, want %v", i, got, st.interval)
				}
				if edge != st.edge {
					t.Errorf("step %d: edge %q, want %q", i, edge, st.edge)
				}
				if c.health < 0 || c.health > c.max() {
					t.Fatalf("step %d: health %d out of 0..%d", i, c.health, c.max())
				}
			}
		})
	}
}

func TestCounterForceAndResize(t *testing.T) {
	c := counter{health: 4, rise: 2, fall: 3, up: true}
	if !c.forceDown() || c.String() != "DOWN" {
		t.Fatalf("forceDown: %v", c.String())
	}
	if c.forceDown() {
		t.Fatal("second forceDown reported a transition")
	}
	if !c.forceUp() || c.String() != "UP" {
		t.Fatalf("forceUp: %v", c.String())
	}
	c.resize(5, 5)
	if c.health != 9 || c.String() != "UP" {
		t.Fatalf("resize up: health %d state %s", c.health, c.String())
	}
	c.forceDown()
	c.resize(1, 1)
	if c.health != 0 || c.String() != "DOWN" {
		t.Fatalf("resize down: health %d state %s", c.health, c.String())
	}
}
