package main

import "testing"

func TestTrimDue(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		name                        string
		allocated, live, held, kept uint64
		want                        bool
	}{
		{"after a burst, quiet", 0, 12 * mb, 70 * mb, 0, true},
		{"under load", 50 * mb, 12 * mb, 70 * mb, 0, false},
		{"small slack", 0, 12 * mb, 15 * mb, 0, false},
		{"slack under a quarter of a big heap", 0, 400 * mb, 480 * mb, 0, false},
		{"slack over a quarter of a big heap", 0, 400 * mb, 520 * mb, 0, true},
		{"nothing held", 0, 0, 0, 0, false},
		{"what the last trim could not return", 0, 12 * mb, 30 * mb, 29 * mb, false},
		{"grown since the last trim", 0, 12 * mb, 40 * mb, 29 * mb, true},
	} {
		if got := trimDue(c.allocated, c.live, c.held, c.kept); got != c.want {
			t.Errorf("%s: trimDue = %v, want %v", c.name, got, c.want)
		}
	}
}
