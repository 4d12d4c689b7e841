package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMayWait: when a read may wait for readability before trying, in
// each of the three modes (see skipReads).
func TestMayWait(t *testing.T) {
	const now = int64(1_000_000_000)
	clock := func() int64 { return now }
	const us = time.Microsecond
	cases := []struct {
		name         string
		mode         int32
		busy, noSkip bool
		turn         time.Duration // the peer's shortest answer
		wroteAgo     time.Duration // -1: no write awaits an answer
		want         bool
	}{
		{"one P", skipAlways, false, false, 0, -1, true},
		{"one P, busy socket", skipAlways, true, false, 0, 0, false},
		{"one P, readiness lost once", skipAlways, false, true, 0, 0, false},
		{"several Ps, write began just now", skipAfterWrite, false, false, 20 * us, us, true},
		{"several Ps, write began at this instant", skipAfterWrite, false, false, 20 * us, 0, true},
		{"several Ps, half the peer's answer time gone", skipAfterWrite, false, false, 20 * us, 10 * us, false},
		{"several Ps, write began long ago", skipAfterWrite, false, false, 20 * us, time.Millisecond, false},
		{"several Ps, the peer never answered", skipAfterWrite, false, false, 0, 0, false},
		{"several Ps, no write awaits an answer", skipAfterWrite, false, false, 20 * us, -1, false},
		{"several Ps, busy socket", skipAfterWrite, true, false, 20 * us, 0, false},
		{"several Ps, readiness lost once", skipAfterWrite, false, true, 20 * us, 0, false},
		{"never", skipNever, false, false, 20 * us, 0, false},
	}
	for _, tc := range cases {
		ep := endpoint{busy: tc.busy, noSkip: tc.noSkip}
		ep.turn.Store(int64(tc.turn))
		var wrote int64
		if tc.wroteAgo >= 0 {
			wrote = now - int64(tc.wroteAgo)
		}
		if got := ep.mayWaitIn(tc.mode, clock, wrote); got != tc.want {
			t.Errorf("%s: mayWait %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestAnswered: with several Ps an endpoint learns the shortest time its
// peer took to answer a write; with one P it learns nothing (it needs
// nothing).
func TestAnswered(t *testing.T) {
	defer skipReads.Store(skipReads.Load())
	skipReads.Store(skipAfterWrite)
	var ep endpoint
	if ep.answered(0); ep.turn.Load() != 0 {
		t.Fatalf("bytes answering no write: turn %d", ep.turn.Load())
	}
	for _, ago := range []time.Duration{300 * time.Microsecond, 50 * time.Microsecond, 5 * time.Millisecond} {
		ep.answered(nanotime() - int64(ago))
	}
	if turn := ep.turn.Load(); turn < int64(50*time.Microsecond) || turn > int64(40*time.Millisecond) {
		t.Errorf("turn %v, want the shortest answer (50µs, and the time the test took)", time.Duration(turn))
	}
	short := ep.turn.Load()
	if ep.answered(nanotime()); ep.turn.Load() >= short {
		t.Errorf("an answer at once did not shorten turn (%v)", time.Duration(ep.turn.Load()))
	}
	skipReads.Store(skipAlways)
	one := endpoint{}
	one.answered(nanotime() - int64(time.Millisecond))
	if one.turn.Load() != 0 {
		t.Errorf("with one P turn became %v", time.Duration(one.turn.Load()))
	}
}

// TestKeepAliveWithSeveralPs: keep-alive exchanges through an http
// frontend (client and kept server connections) and a tcp one (a tunnel),
// with reads waiting first only after writes (skipAfterWrite, production's
// mode with several Ps), each answer whole and in order, without stalls.
// Not parallel: it sets the process-wide mode.
func TestKeepAliveWithSeveralPs(t *testing.T) {
	if !canSkipRead {
		t.Skip("reads always try first here")
	}
	defer skipReads.Store(skipReads.Load())
	skipReads.Store(skipAfterWrite)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))

	b := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) })
	for _, conf := range []string{basicHTTP, strings.Replace(basicHTTP, `mode = "http"`, `mode = "tcp"`, 1)} {
		fe := freePort(t)
		newRig(t, conf, map[string]string{"fe": fe, "s1": hostport(b)})
		if err := keepAliveClients(fe, 4, 100); err != nil {
			t.Error(err)
		}
	}
}

// keepAliveClients runs clients that each send requests GETs on one
// connection, one at a time, and checks every answer.
func keepAliveClients(addr string, clients, requests int) error {
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- fmt.Errorf("client %d: %v", c, err)
				return
			}
			defer nc.Close()
			br := bufio.NewReader(nc)
			for i := 0; i < requests; i++ {
				path := fmt.Sprintf("/c%d/r%d", c, i)
				nc.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", path); err != nil {
					errs <- fmt.Errorf("client %d request %d: %v", c, i, err)
					return
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					errs <- fmt.Errorf("client %d request %d: %v", c, i, err)
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || string(body) != path {
					errs <- fmt.Errorf("client %d request %d: %v %d %q", c, i, err, resp.StatusCode, body)
					return
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	// A wait that lost its readiness still ends, after safeWait: were the
	// waits after writes losing theirs, 400 requests would take 8 s.
	if d := time.Since(start); d > time.Duration(clients*requests)*safeWait/2 {
		return fmt.Errorf("%d requests took %v: reads that waited first stalled", clients*requests, d)
	}
	return nil
}

// TestWaitDeadline: a bounded wait lasts at least safeWait and less than
// safeWait+waitGrid, and the waits begun within one grid step share their
// deadline (readDeadline then leaves the poller's timer alone).
func TestWaitDeadline(t *testing.T) {
	g := int64(waitGrid)
	base := int64(1_700_000_000_000_000_000) - int64(safeWait)
	base -= base % g // base+safeWait is on the grid
	for _, now := range []int64{base, base + 1, base + g/2, base + g - 1, base + g, base + 7*g + 3} {
		dl := waitDeadline(now)
		if wait := dl - now; wait < int64(safeWait) || wait > int64(safeWait)+g {
			t.Errorf("now %d: wait %v, want [%v, %v]", now, time.Duration(wait), safeWait, safeWait+waitGrid)
		}
		if dl%g != 0 {
			t.Errorf("now %d: deadline %d off the grid", now, dl)
		}
	}
	if a, b := waitDeadline(base+1), waitDeadline(base+g-1); a != b {
		t.Errorf("waits begun within one step: deadlines %d and %d", a, b)
	}
	if a, b := waitDeadline(base+g-1), waitDeadline(base+g+1); a == b {
		t.Errorf("waits a step apart share deadline %d", a)
	}
}

func TestOnGrid(t *testing.T) {
	for _, tc := range []struct {
		at   int64
		grid time.Duration
		want int64
	}{
		{0, 16, 0}, {1, 16, 16}, {15, 16, 16}, {16, 16, 16}, {17, 16, 32},
		{1_700_000_000_000_000_001, time.Millisecond, 1_700_000_000_001_000_000},
	} {
		if got := onGrid(tc.at, tc.grid); got != tc.want {
			t.Errorf("onGrid(%d, %v) = %d, want %d", tc.at, tc.grid, got, tc.want)
		}
	}
}
