package main

import (
	"testing"
	"time"
)

func TestTrimDue(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		name                        string
		allocated, live, held, kept uint64
		cpu                         time.Duration
		stale                       bool
		want                        bool
	}{
		{"after a burst, quiet", 0, 12 * mb, 70 * mb, 0, 0, false, true},
		{"under load", 50 * mb, 12 * mb, 70 * mb, 0, 0, false, false},
		{"small slack", 0, 12 * mb, 15 * mb, 0, 0, false, false},
		{"slack under a quarter of a big heap", 0, 400 * mb, 480 * mb, 0, 0, false, false},
		{"slack over a quarter of a big heap", 0, 400 * mb, 520 * mb, 0, 0, false, true},
		{"nothing held", 0, 0, 0, 0, 0, false, false},
		{"what the last trim could not return", 0, 12 * mb, 30 * mb, 29 * mb, 0, false, false},
		{"grown since the last trim", 0, 12 * mb, 40 * mb, 29 * mb, 0, false, true},
		// The last collection ran at a burst's height (the bench:
		// 157 MB live of 165 held, nothing after).
		{"stale live after a burst", 0, 157 * mb, 165 * mb, 0, 0, true, true},
		{"the same with a fresh collection", 0, 157 * mb, 165 * mb, 0, 0, false, false},
		{"stale, under load", 50 * mb, 157 * mb, 165 * mb, 0, 0, true, false},
		// 9,970 clients at a request a second each: under 4 MB
		// allocated in 2 s, 1.3 s of CPU.
		{"busy CPU, few allocations", 3 * mb, 80 * mb, 180 * mb, 0, 1300 * time.Millisecond, false, false},
		{"busy CPU, stale", 3 * mb, 157 * mb, 180 * mb, 0, 1300 * time.Millisecond, true, false},
		{"idle CPU after a burst", 0, 12 * mb, 70 * mb, 0, 20 * time.Millisecond, false, true},
		{"stale, nothing grown since the last trim", 0, 12 * mb, 30 * mb, 29 * mb, 0, true, false},
	} {
		if got := trimDue(c.allocated, c.cpu, c.live, c.held, c.kept, c.stale); got != c.want {
			t.Errorf("%s: trimDue = %v, want %v", c.name, got, c.want)
		}
	}
}
