package proxy

import (
	"runtime"
	"sync"
	"time"
)

// workerPool runs functions on goroutines kept from earlier ones. A new
// goroutine starts with a small stack that serving one request grows
// several times over (runtime.newstack and copystack took ~6% of the CPU
// of a connection carrying one request, profiled under a flood of
// connection-per-request clients); a kept goroutine has the stack its
// last job grew, until a GC finds it mostly unused and halves it.
//
// Sessions start on sessionWorkers when accepted and when a parked
// keep-alive connection wakes (a client sending a request every few
// seconds does each time); HTTP/2 streams run on streamWorkers, so that
// busy connections do not pay for a goroutine start at every request.
//
// The newest idle worker takes the next job (its stack and cache lines
// are the warmest); at most max wait, past that a worker that finishes
// exits, so a burst leaves no crowd of idle goroutines behind, and those
// idle for idleFor are retired by one timer that runs while any waits, so
// that a worker's wait is a plain receive on its own channel, with no
// timer to arm and stop at each job.
type workerPool struct {
	mu       sync.Mutex
	idle     []idleWorker // oldest first
	retiring bool         // retire is scheduled
	max      int
	idleFor  time.Duration
	retireFn func() // p.retire, bound once
}

type idleWorker struct {
	jobs  chan func() // nil: retire
	since int64       // unix nanoseconds
}

func newWorkerPool(max int, idleFor time.Duration) *workerPool {
	p := &workerPool{max: max, idleFor: idleFor}
	p.retireFn = p.retire
	return p
}

// workerIdle is how long a kept goroutine waits for a job.
const workerIdle = 10 * time.Second

var (
	// sessionWorkers is shared by every engine of the process.
	sessionWorkers = newWorkerPool(8*runtime.GOMAXPROCS(0), workerIdle)
	// streamWorkers run HTTP/2 client streams (many at once per
	// connection, hence more kept).
	streamWorkers = newWorkerPool(1024, workerIdle)
)

// run runs f on an idle worker, or on a new goroutine when none waits.
func (p *workerPool) run(f func()) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = idleWorker{}
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.jobs <- f
		return
	}
	p.mu.Unlock()
	go p.work(f)
}

func (p *workerPool) work(f func()) {
	jobs := make(chan func(), 1)
	for f != nil {
		f()
		f = nil // nothing of the last job stays reachable while idle
		p.mu.Lock()
		if len(p.idle) >= p.max {
			p.mu.Unlock()
			return
		}
		p.idle = append(p.idle, idleWorker{jobs: jobs, since: nanotime()})
		if !p.retiring {
			p.retiring = true
			time.AfterFunc(p.idleFor, p.retireFn)
		}
		p.mu.Unlock()
		f = <-jobs
	}
}

// retire ends the workers idle for idleFor, and comes back while others
// wait. The idle list is in the order workers went idle (a worker taken
// is the newest), so the retired are its start.
func (p *workerPool) retire() {
	p.mu.Lock()
	cut := nanotime() - int64(p.idleFor)
	var old []idleWorker
	p.idle, old = idleSince(p.idle, cut)
	p.retiring = len(p.idle) > 0
	if p.retiring {
		time.AfterFunc(time.Duration(p.idle[0].since-cut), p.retireFn)
	}
	p.mu.Unlock()
	for _, w := range old {
		w.jobs <- nil
	}
}

// idleCount is how many workers wait.
func (p *workerPool) idleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// idleSince splits idle into the workers idle since after cut, kept in
// place, and a copy of those idle since cut or before.
func idleSince(idle []idleWorker, cut int64) (kept, old []idleWorker) {
	k := 0
	for k < len(idle) && idle[k].since <= cut {
		k++
	}
	old = append(old, idle[:k]...)
	n := copy(idle, idle[k:])
	clear(idle[n:])
	return idle[:n], old
}
