package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// Go's runtime keeps the heap a burst of traffic grew: after ten thousand
// clients reconnect at once (a failover), every request's buffers and
// stacks are garbage a moment later, but no collection runs while nothing
// is allocated, and the pages stay with the process, and its resident
// memory with them, for minutes (measured: 8.4 KiB per idle connection
// 60 s after a burst of 9,000, against 1.2 KiB when they come one by one;
// HAProxy keeps its grown pools too: 5-8.6 KiB after the same burst).
//
// trimMemory looks every trimEvery at how much was allocated and how much
// CPU the process used since its last look: when it has gone quiet (less
// than trimQuiet and trimQuietCPU) and its heap holds more than trimMin
// and a quarter beyond what the last collection found live, it gives the
// rest back (debug.FreeOSMemory: a collection, then every free page
// released). Under load it does nothing: the heap is in use, and pages
// released would be faulted in again at once.
//
// Allocations alone do not tell load: lbd serves from pools, and 9,970
// clients sending a request a second each allocated less than trimQuiet
// in trimEvery, so the heap those requests use was collected twice and
// released every few seconds under them (150 ms collections on the one
// CPU serving them, and every page faulted in again: p99 118 ms against
// HAProxy's 28). A process that used trimQuietCPU is not quiet.
//
// What the last collection found live is stale when none ran since the
// last look: a collection at the height of a burst finds nearly the whole
// heap live (every client's buffers in use), and with nothing allocated
// after, no other runs for minutes (Go forces one every two). The
// criterion above then never held, and in about half the bench's bursts
// lbd kept 14 KiB per connection 60 s after, instead of 2. Without a
// fresh collection, the heap's growth since the last trim is what counts.
const (
	trimEvery = 2 * time.Second
	trimQuiet = 4 << 20 // bytes allocated in trimEvery
	trimMin   = 4 << 20
	// trimQuietCPU: CPU time used in trimEvery (5% of one CPU).
	trimQuietCPU = 100 * time.Millisecond
)

// trimSamples: three counters, then what the heap holds (summed).
var trimSamples = []metrics.Sample{
	{Name: "/gc/heap/allocs:bytes"},              // allocated so far
	{Name: "/gc/heap/live:bytes"},                // live at the last collection
	{Name: "/gc/cycles/total:gc-cycles"},         // collections so far
	{Name: "/memory/classes/heap/objects:bytes"}, // live and garbage not yet swept
	{Name: "/memory/classes/heap/unused:bytes"},  // free room in spans in use
	{Name: "/memory/classes/heap/free:bytes"},    // free pages not yet released
	{Name: "/memory/classes/heap/stacks:bytes"},  // goroutine stacks
}

// trimDue reports whether memory should be given back: allocated is what
// was allocated since the last look and cpu the CPU time used since, live
// what the last collection found live, held what the heap holds now and
// kept what it held right after the last trim (room that trimming cannot
// return, as free space in spans still in use, is not asked for again and
// again); stale says no collection ran since the last look, so live may
// be a burst's.
func trimDue(allocated uint64, cpu time.Duration, live, held, kept uint64, stale bool) bool {
	if allocated >= trimQuiet || cpu >= trimQuietCPU {
		return false
	}
	if stale {
		return held > kept+trimMin
	}
	floor := max(live, kept)
	return held > floor+trimMin && held > floor+live/4
}

func trimMemory(log zerolog.Logger, stop <-chan struct{}) {
	t := time.NewTicker(trimEvery)
	defer t.Stop()
	read := func() (allocs, live, held, gcs uint64) {
		metrics.Read(trimSamples)
		for _, s := range trimSamples[3:] {
			held += s.Value.Uint64()
		}
		return trimSamples[0].Value.Uint64(), trimSamples[1].Value.Uint64(), held, trimSamples[2].Value.Uint64()
	}
	last, _, _, lastGCs := read()
	lastCPU := cpuTime()
	var kept uint64
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		allocs, live, held, gcs := read()
		allocated := allocs - last
		stale := gcs == lastGCs
		cpu := cpuTime()
		used := cpu - lastCPU
		last, lastGCs, lastCPU = allocs, gcs, cpu
		if !trimDue(allocated, used, live, held, kept, stale) {
			continue
		}
		// Two collections: buffers put back in a sync.Pool after the
		// burst are live for one more (the pool's victim cache).
		runtime.GC()
		debug.FreeOSMemory()
		last, _, kept, lastGCs = read()
		lastCPU = cpuTime() // the collections' own CPU is not load
		log.Debug().Uint64("held_bytes", held).Uint64("kept_bytes", kept).Msg("returned free heap memory to the system")
	}
}

// cpuTime is the CPU time the process has used, user and system; 0 when
// it cannot be read (then only allocations tell load).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
