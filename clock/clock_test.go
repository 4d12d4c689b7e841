package clock

import (
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func TestFakeFiresInOrder(t *testing.T) {
	c := NewFake(t0)
	var got []string
	at := func(name string) func() {
		return func() { got = append(got, name+"@"+c.Now().Sub(t0).String()) }
	}
	c.AfterFunc(2*time.Second, at("b"))
	c.AfterFunc(time.Second, at("a"))
	c.AfterFunc(2*time.Second, at("c")) // same time as b: after it
	stopped := c.AfterFunc(1500*time.Millisecond, at("stopped"))
	c.AfterFunc(5*time.Second, at("later"))
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop: want true once, then false")
	}
	if p := c.Pending(); !slices.Equal(p, []time.Duration{time.Second, 2 * time.Second, 2 * time.Second, 5 * time.Second}) {
		t.Fatalf("pending %v", p)
	}
	c.Advance(3 * time.Second)
	if want := []string{"a@1s", "b@2s", "c@2s"}; !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if c.Now() != t0.Add(3*time.Second) {
		t.Fatalf("now %v", c.Now())
	}
	if p := c.Pending(); !slices.Equal(p, []time.Duration{2 * time.Second}) {
		t.Fatalf("pending %v", p)
	}
}

func TestFakeCallbacksUseTheClock(t *testing.T) {
	c := NewFake(t0)
	var got []time.Duration
	var tick func()
	tick = func() { // a periodic timer re-arming itself
		got = append(got, c.Now().Sub(t0))
		if len(got) < 10 {
			c.AfterFunc(time.Second, tick)
		}
	}
	c.AfterFunc(0, tick)
	fired := 0
	c.OnFire = func() { fired++ }
	var late Timer
	c.AfterFunc(1500*time.Millisecond, func() { late.Stop() })
	late = c.AfterFunc(2*time.Second, func() { t.Error("a stopped timer fired") })
	c.Advance(3 * time.Second)
	if want := []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second}; !slices.Equal(got, want) {
		t.Fatalf("ticks at %v, want %v", got, want)
	}
	if fired != 5 {
		t.Fatalf("OnFire called %d times, want 5", fired)
	}
	if late.Stop() {
		t.Fatal("Stop of a stopped timer said true")
	}
}

func TestRealFires(t *testing.T) {
	var c Clock = Real{}
	done := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the real clock did not fire")
	}
	if tm := c.AfterFunc(time.Hour, func() {}); !tm.Stop() {
		t.Fatal("Stop of a pending real timer said false")
	}
}
