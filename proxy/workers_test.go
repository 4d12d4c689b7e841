package proxy

import (
	"sync"
	"testing"
	"time"
)

// TestWorkerPool: every function runs, at most max workers stay idle
// after a burst, and an idle worker takes the next function.
func TestWorkerPool(t *testing.T) {
	p := newWorkerPool(2)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		p.run(func() { <-release; wg.Done() })
	}
	close(release)
	wg.Wait()
	waitIdle := func(want int32) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); p.idle.Load() != want; {
			if time.Now().After(end) {
				t.Fatalf("idle workers: %d, want %d", p.idle.Load(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitIdle(2)
	ran := make(chan struct{})
	hold := make(chan struct{})
	p.run(func() { close(ran); <-hold })
	<-ran
	waitIdle(1) // taken by an idle worker, not a new goroutine
	close(hold)
	waitIdle(2)
}
