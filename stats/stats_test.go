package stats

import (
	"sync"
	"testing"
)

func TestResponseCounter(t *testing.T) {
	var r ResponseCounter
	for _, st := range []int{100, 199, 200, 204, 299, 301, 304, 400, 429, 499, 500, 503, 599, 0, 99, 600, 999, -1} {
		r.Count(st)
	}
	want := Responses{C1xx: 2, C2xx: 3, C3xx: 2, C4xx: 3, C5xx: 3, Other: 5}
	if got := r.Load(); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestResponseCounterConcurrent(t *testing.T) {
	var r ResponseCounter
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				r.Count(200)
			}
		}()
	}
	wg.Wait()
	if got := r.Load().C2xx; got != 8000 {
		t.Fatalf("2xx %d, want 8000", got)
	}
}

func TestBackendStatus(t *testing.T) {
	cases := []struct {
		servers  []Server
		status   string
		act, bck int
	}{
		{nil, "DOWN", 0, 0},
		{[]Server{{Status: "UP"}}, "UP", 1, 0},
		{[]Server{{Status: "DOWN"}, {Status: "MAINT"}}, "DOWN", 0, 0},
		// In transition: "UP 1/3" is still up, "DOWN 1/2" still down.
		{[]Server{{Status: "UP 1/3"}, {Status: "DOWN 1/2"}}, "UP", 1, 0},
		{[]Server{{Status: "DRAIN"}, {Status: "UP", Backup: true}}, "UP", 1, 1},
		{[]Server{{Status: "DOWN"}, {Status: "UP", Backup: true}}, "UP", 0, 1},
	}
	for i, tc := range cases {
		b := Backend{Servers: tc.servers}
		act, bck := b.UpCounts()
		if b.Status() != tc.status || act != tc.act || bck != tc.bck {
			t.Errorf("case %d: %s %d/%d, want %s %d/%d", i, b.Status(), act, bck, tc.status, tc.act, tc.bck)
		}
	}
}
