//go:build linux

package e2e

import (
	"os"
	"runtime"
	"testing"
)

// The main goroutine keeps the process's first thread to itself: the
// goroutines that enter a lab's network namespace (InNetns) then never run
// on it. `ip netns pids`, which lab.sh uses to stop what runs in a lab,
// looks at each process's first thread only: had one of them entered a lab
// namespace at that moment, the test binary itself would have been stopped.
func init() { runtime.LockOSThread() }

func TestMain(m *testing.M) { os.Exit(Main(m)) }
