package proxy

import (
	"sync"
	"testing"
	"time"
)

// TestWorkerPool: every function runs, at most max workers stay idle
// after a burst, and an idle worker takes the next function.
func TestWorkerPool(t *testing.T) {
	p := newWorkerPool(2, time.Hour)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		p.run(func() { <-release; wg.Done() })
	}
	close(release)
	wg.Wait()
	waitIdle := func(want int) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); p.idleCount() != want; {
			if time.Now().After(end) {
				t.Fatalf("idle workers: %d, want %d", p.idleCount(), want)
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

// TestWorkerPoolRetires: workers idle for idleFor end (all of them, in
// the rounds of the retiring timer), and the pool works on afterwards.
func TestWorkerPoolRetires(t *testing.T) {
	p := newWorkerPool(8, 30*time.Millisecond)
	var wg sync.WaitGroup
	release := make(chan struct{})
	for i := 0; i < 5; i++ {
		wg.Add(1)
		p.run(func() { <-release; wg.Done() })
	}
	close(release)
	wg.Wait()
	for end := time.Now().Add(5 * time.Second); p.idleCount() != 5; {
		if time.Now().After(end) {
			t.Fatalf("idle workers after the burst: %d, want 5", p.idleCount())
		}
		time.Sleep(time.Millisecond)
	}
	for end := time.Now().Add(5 * time.Second); p.idleCount() != 0; {
		if time.Now().After(end) {
			t.Fatalf("idle workers long after idleFor: %d, want 0", p.idleCount())
		}
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan struct{})
	p.run(func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a job after the retirement did not run")
	}
}

// TestIdleSince: the workers idle since the cut or before are retired,
// the others kept in their order, and the list's tail holds no worker
// any more.
func TestIdleSince(t *testing.T) {
	ch := func() chan func() { return make(chan func(), 1) }
	for _, tc := range []struct {
		name       string
		since      []int64
		cut        int64
		kept, gone int
	}{
		{"none idle", nil, 10, 0, 0},
		{"all recent", []int64{11, 12, 13}, 10, 3, 0},
		{"all old", []int64{1, 2, 10}, 10, 0, 3},
		{"the oldest", []int64{1, 5, 11, 20}, 10, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var idle []idleWorker
			for _, s := range tc.since {
				idle = append(idle, idleWorker{jobs: ch(), since: s})
			}
			full := idle[:len(idle):len(idle)]
			kept, old := idleSince(idle, tc.cut)
			if len(kept) != tc.kept || len(old) != tc.gone {
				t.Fatalf("kept %d retired %d, want %d and %d", len(kept), len(old), tc.kept, tc.gone)
			}
			for i, w := range kept {
				if w.since != tc.since[tc.gone+i] || w.jobs == nil {
					t.Errorf("kept[%d] = %d, want %d", i, w.since, tc.since[tc.gone+i])
				}
			}
			for i, w := range old {
				if w.since != tc.since[i] || w.jobs == nil {
					t.Errorf("retired[%d] = %d, want %d", i, w.since, tc.since[i])
				}
			}
			for _, w := range full[len(kept):] {
				if w.jobs != nil {
					t.Error("a retired worker is still referenced past the list's end")
				}
			}
		})
	}
}
