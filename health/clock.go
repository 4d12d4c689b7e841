package health

import "time"

// clock is the time source of the checkers. The real one uses runtime
// timers; tests drive the whole state machine with a fake one, without
// sleeping.
type clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine (real clock) or from
	// Advance (fake clock) once d has elapsed.
	AfterFunc(d time.Duration, f func()) stopper
}

// stopper cancels a pending AfterFunc; it reports whether it did.
type stopper interface{ Stop() bool }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }
