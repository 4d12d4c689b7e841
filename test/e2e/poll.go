package e2e

import (
	"fmt"
	"testing"
	"time"
)

// PollInterval is how often Poll and Eventually look.
const PollInterval = 50 * time.Millisecond

// Poll calls cond every PollInterval until it returns true (result true)
// or timeout passes (false). cond runs at least once.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(PollInterval)
	}
}

// Lazy is a format argument computed when the message is printed: pass
// Lazy(func() string {...}) to Eventually to show the last observed value.
type Lazy func() string

func (f Lazy) String() string { return f() }

// Eventually fails the test unless cond becomes true within timeout. what
// and args describe the awaited condition in the failure message (see
// Lazy). Be generous with timeouts: the machine is shared.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, what string, args ...any) {
	t.Helper()
	start := time.Now()
	if Poll(timeout, cond) {
		return
	}
	t.Fatalf("timed out after %v waiting for %s", time.Since(start).Round(time.Millisecond), fmt.Sprintf(what, args...))
}
