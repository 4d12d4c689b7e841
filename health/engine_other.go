//go:build !linux

package health

import (
	"io"
	"time"

	"lbd/clock"
)

// op is Linux's event-loop record of a check; elsewhere a check runs on a
// goroutine of its own with blocking sockets.
type op struct{}

func (p *netProber) launch(t *sockTarget, deadline time.Time, track func(io.Closer) bool, done func(result)) (result, bool) {
	go func() { done(p.runBlocking(t, deadline, track)) }()
	return result{}, false
}

// schedClock is the clock of a pool's scheduler.
func schedClock() clock.Clock { return clock.Real{} }
