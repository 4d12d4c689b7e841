package appliance

import (
	"sync"
	"time"

	"lbd/health"
)

// poolTracker is the VRRP speaker's view of the proxy's health
// (vrrp.BackendTracker) over the server pool: the usable servers of a
// backend. Until the pool reports changes itself, Subscribe polls it.
type poolTracker struct {
	pool  *health.Pool
	every time.Duration
}

func (t poolTracker) UsableServers(backend string) int {
	n := 0
	for _, s := range t.pool.Servers(backend) {
		if s.Usable() {
			n++
		}
	}
	return n
}

// Subscribe calls fn for every backend whose usable count changed since the
// previous look, every t.every.
func (t poolTracker) Subscribe(fn func(backend string)) func() {
	stop := make(chan struct{})
	var once sync.Once
	go func() {
		last := map[string]int{}
		tick := time.NewTicker(t.every)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for _, b := range t.pool.Backends() {
				if n := t.UsableServers(b); n != last[b] {
					last[b] = n
					fn(b)
				}
			}
		}
	}()
	return func() { once.Do(func() { close(stop) }) }
}
