package health

import "time"

// Check times are aligned on a grid, so that checks due at about the
// same time fire together: one wake-up of the process runs a batch of
// checks instead of one wake-up each, and with thousands of servers the
// wake-ups (thread switches) cost more than the checks. The grid is the
// coarsest of gridSteps that is at most a twentieth of the delay, and due
// times are rounded to the nearest grid point: a check runs at most 2.5%
// of its interval early or late, and the average period stays exactly
// the interval.
var gridSteps = []time.Duration{50 * time.Millisecond, 10 * time.Millisecond, 5 * time.Millisecond, time.Millisecond}

// alignDue returns now+d rounded to the nearest point of d's grid.
func alignDue(now time.Time, d time.Duration) time.Time {
	due := now.Add(d)
	for _, g := range gridSteps {
		if g*20 <= d {
			r := time.Duration(due.UnixNano() % int64(g))
			if r < g/2 {
				return due.Add(-r)
			}
			return due.Add(g - r)
		}
	}
	return due
}
