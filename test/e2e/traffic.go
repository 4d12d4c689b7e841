//go:build linux

package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Helpers for the proxy, health and operations tests: a steady client load,
// request spreads, exit codes of lbctl, the detailed server status and the
// stats listener.

// --- steady load -------------------------------------------------------------------

// LoadWorker is one client loop of a Load: GET URL again and again (POST
// with Body when it is set), on one kept-alive connection (KeepAlive) or on
// a new connection per request.
type LoadWorker struct {
	URL       string
	KeepAlive bool
	Body      string
	// Timeout bounds each request (10s when zero).
	Timeout time.Duration
}

// Load is client loops running from a lab host until Stop. Every answer
// must be a 2xx whose body was read whole; anything else is a failure.
// Requests get a generous timeout (10s unless the worker sets one): the
// load measures failures, not speed.
type Load struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	res  LoadResult
}

// LoadResult is what a Load saw.
type LoadResult struct {
	Requests, Failed int
	// KeepAliveDials counts the TCP connections the kept-alive workers
	// opened: one each, unless the proxy closed their connections.
	KeepAliveDials int
	// Servers counts successful answers by X-Server header.
	Servers map[string]int
	// Errors keeps the first few failures, for the test log.
	Errors []string
	// Slowest is the longest request, answered or not.
	Slowest time.Duration
}

func (r LoadResult) String() string {
	return fmt.Sprintf("requests=%d failed=%d keepalive_dials=%d servers=%v slowest=%v errors=%q", r.Requests, r.Failed, r.KeepAliveDials, r.Servers, r.Slowest.Round(time.Millisecond), r.Errors)
}

// StartLoad starts one goroutine per worker, each pausing 2ms between
// requests so that the shared machine keeps some room for the daemon.
func (l *Lab) StartLoad(from string, workers ...LoadWorker) *Load {
	ld := &Load{stop: make(chan struct{}), res: LoadResult{Servers: map[string]int{}}}
	for _, w := range workers {
		var dials atomic.Int64
		dial := l.DialContext(from)
		tr := &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return dial(ctx, network, addr)
			},
			DisableKeepAlives:   !w.KeepAlive,
			MaxIdleConnsPerHost: 1,
		}
		timeout := w.Timeout
		if timeout == 0 {
			timeout = 10 * time.Second
		}
		c := &http.Client{Timeout: timeout, Transport: tr}
		ld.wg.Add(1)
		go func() {
			defer ld.wg.Done()
			defer tr.CloseIdleConnections()
			for {
				t0 := time.Now()
				server, err := loadRequest(c, w)
				took := time.Since(t0)
				ld.mu.Lock()
				ld.res.Requests++
				ld.res.Slowest = max(ld.res.Slowest, took)
				if w.KeepAlive {
					ld.res.KeepAliveDials += int(dials.Swap(0))
				}
				if err != nil {
					ld.res.Failed++
					if len(ld.res.Errors) < 10 {
						ld.res.Errors = append(ld.res.Errors, time.Now().Format("15:04:05.000 ")+w.URL+": "+err.Error())
					}
				} else {
					ld.res.Servers[server]++
				}
				ld.mu.Unlock()
				select {
				case <-ld.stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
			}
		}()
	}
	return ld
}

// loadRequest is meterGet, or a POST of w.Body.
func loadRequest(c *http.Client, w LoadWorker) (string, error) {
	if w.Body == "" {
		return meterGet(c, w.URL)
	}
	return serverOf(c.Post(w.URL, "text/plain", strings.NewReader(w.Body)))
}

// Snapshot is the result so far.
func (ld *Load) Snapshot() LoadResult {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	r := ld.res
	r.Servers = maps.Clone(ld.res.Servers)
	r.Errors = slices.Clone(ld.res.Errors)
	return r
}

// Stop ends the loops (each finishes its request in progress) and returns
// the result.
func (ld *Load) Stop() LoadResult {
	select {
	case <-ld.stop:
	default:
		close(ld.stop)
	}
	ld.wg.Wait()
	return ld.Snapshot()
}

// WaitProgress waits until the load has made n more requests than now
// (failing the test after timeout), so that a step is known to have run
// under load.
func (ld *Load) WaitProgress(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	start := ld.Snapshot().Requests
	Eventually(t, timeout, func() bool { return ld.Snapshot().Requests >= start+n },
		"%d more requests of the load (%s)", n, Lazy(func() string { return ld.Snapshot().String() }))
}

// --- request spreads ---------------------------------------------------------------

// Spread sends n GETs to url from host, each on a new connection (so each
// is balanced anew), with the given extra headers, and counts the answers
// by X-Server. Any failure or non-200 answer fails the test.
func (l *Lab) Spread(t testing.TB, from, url string, n int, header http.Header) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := range n {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, vs := range header {
			req.Header[k] = vs
		}
		resp, body, err := l.HTTPDo(from, req)
		if err != nil || resp.StatusCode != 200 {
			code := 0
			if resp != nil {
				code = resp.StatusCode
			}
			t.Fatalf("request %d of %d to %s: %d %q %v (so far %v)", i+1, n, url, code, body, err, got)
		}
		got[resp.Header.Get("X-Server")]++
	}
	return got
}

// --- lbctl ------------------------------------------------------------------------------

// CtlExit runs `lbctl --socket SOCK args...` and returns its output streams
// and exit code (-1 if it did not run to an exit).
func (d *LBD) CtlExit(args ...string) (stdout, stderr string, code int) {
	stdout, stderr, err := d.ctl(args...)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return stdout, stderr, 0
	case errors.As(err, &ee):
		return stdout, stderr, ee.ExitCode()
	}
	return stdout, stderr + err.Error(), -1
}

// MustCtl runs lbctl and fails the test unless it exits 0.
func (d *LBD) MustCtl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := d.Ctl(args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", d.Node, err, out)
	}
	return out
}

// Info is `lbctl --json info`.
type Info struct {
	Config  string `json:"config"`
	PID     int    `json:"pid"`
	Reloads int    `json:"reloads"`
}

// Info returns `lbctl --json info`, failing the test on error.
func (d *LBD) Info(t testing.TB) Info {
	t.Helper()
	var in Info
	if err := d.CtlJSON(&in, "info"); err != nil {
		t.Fatalf("%s: %v", d.Node, err)
	}
	return in
}

// ReloadsLogged counts the reloads lbd logged as applied and as refused
// (its "reload: configuration applied" and "reload refused" lines): unlike
// Info().Reloads, which counts attempts, they tell what became of each.
func (d *LBD) ReloadsLogged() (applied, refused int) {
	out := d.Output()
	return strings.Count(out, "reload: configuration applied"), strings.Count(out, "reload refused")
}

// ServerDetail is one server of `lbctl --json backend status` with the
// fields beyond DESIGN.md's minimum that the health tests look at.
type ServerDetail struct {
	Name          string `json:"name"`
	State         string `json:"state"`
	Admin         string `json:"admin"`
	Weight        int    `json:"weight"`
	RuntimeWeight int    `json:"runtime_weight"`
	Backup        bool   `json:"backup"`
	TotalConns    int    `json:"total_conns"`
	Check         struct {
		Result      string `json:"result"`
		Description string `json:"description"`
		Checks      int    `json:"checks"`
		Failed      int    `json:"failed"`
	} `json:"check"`
}

// Server returns backend/server from `lbctl --json backend status
// BACKEND`, failing the test if lbctl fails or the server is not listed.
func (d *LBD) Server(t testing.TB, backend, server string) ServerDetail {
	t.Helper()
	s, err := d.server(backend, server)
	if err != nil {
		t.Fatalf("%s: %v", d.Node, err)
	}
	return s
}

func (d *LBD) server(backend, server string) (ServerDetail, error) {
	var bs []struct {
		Name    string         `json:"name"`
		Servers []ServerDetail `json:"servers"`
	}
	if err := d.CtlJSON(&bs, "backend", "status", backend); err != nil {
		return ServerDetail{}, err
	}
	for _, b := range bs {
		for _, s := range b.Servers {
			if b.Name == backend && s.Name == server {
				return s, nil
			}
		}
	}
	return ServerDetail{}, fmt.Errorf("no server %s/%s in backend status %+v", backend, server, bs)
}

// WaitFullState waits until backend/server's state is exactly state (e.g.
// "UP", not "UP 1/2": the transition is over).
func (d *LBD) WaitFullState(t testing.TB, backend, server, state string, timeout time.Duration) ServerDetail {
	t.Helper()
	var last ServerDetail
	Eventually(t, timeout, func() bool {
		s, err := d.server(backend, server)
		last = s
		return err == nil && s.State == state
	}, "%s: server %s/%s to be %q (last: %s)", d.Node, backend, server, state, Lazy(func() string { return fmt.Sprintf("%+v", last) }))
	return last
}

// --- the stats listener -------------------------------------------------------------------

// StatsGet fetches path from the stats listener of node (port 8404 of the
// lab config) from the client, with basic auth unless user is "", and
// returns the response (body read) and the body.
func (l *Lab) StatsGet(t testing.TB, node, path, user, password string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+l.Addr(node)+":8404"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, body, err := l.HTTPDo("client", req)
	if err != nil {
		t.Fatalf("GET %s from the client: %v", req.URL, err)
	}
	return resp, body
}
