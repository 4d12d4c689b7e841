package proxy

import (
	"runtime"
	"sync/atomic"
)

// workerPool runs sessions on goroutines kept from earlier ones. A new
// goroutine starts with a small stack that serving one request grows
// several times over (runtime.newstack and copystack took ~6% of the CPU
// of a connection carrying one request, profiled under a flood of
// connection-per-request clients); a kept goroutine has the stack its
// last session grew, until a GC finds it mostly unused and halves it.
// Sessions start here when accepted and when a parked keep-alive
// connection wakes, which a client sending a request every few seconds
// does each time.
//
// At most max workers wait for work; past that a worker that finishes
// exits, so a burst leaves no crowd of idle goroutines behind.
type workerPool struct {
	ready chan func()
	idle  atomic.Int32
	max   int32
}

func newWorkerPool(max int) *workerPool {
	return &workerPool{ready: make(chan func()), max: int32(max)}
}

// sessionWorkers is shared by every engine of the process.
var sessionWorkers = newWorkerPool(8 * runtime.GOMAXPROCS(0))

// run runs f on an idle worker, or on a new goroutine when none waits.
func (p *workerPool) run(f func()) {
	select {
	case p.ready <- f:
	default:
		go p.work(f)
	}
}

func (p *workerPool) work(f func()) {
	for {
		f()
		f = nil // nothing of the last session stays reachable while idle
		if p.idle.Add(1) > p.max {
			p.idle.Add(-1)
			return
		}
		f = <-p.ready
		p.idle.Add(-1)
	}
}
