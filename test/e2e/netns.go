//go:build linux

package e2e

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// InNetns runs fn on an OS thread that has entered host's network
// namespace. Sockets fn creates belong to that namespace for their whole
// life and may be used from any goroutine afterwards; fn should only create
// sockets (and look up interfaces), not start goroutines that expect to be
// in the namespace.
func (l *Lab) InNetns(host string, fn func() error) error {
	ns, err := l.nsName(host)
	if err != nil {
		return err
	}
	return inNetns(ns, fn)
}

// inNetns is InNetns by namespace name, for labs with their own hosts.
func inNetns(ns string, fn func() error) error {
	target, err := openNetns(ns)
	if err != nil {
		return err
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// The thread stays locked: the runtime discards it when this
			// goroutine ends rather than reuse it in the wrong namespace.
			errc <- fmt.Errorf("setns back from %s: %w", ns, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

func openNetns(ns string) (*os.File, error) {
	var firstErr error
	for _, dir := range []string{"/run/netns", "/var/run/netns"} {
		f, err := os.Open(filepath.Join(dir, ns))
		if err == nil {
			return f, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, fmt.Errorf("network namespace %s: %w", ns, firstErr)
}

// DialContext returns a dial function whose sockets live in host's
// namespace, for http.Transport and friends.
func (l *Lab) DialContext(host string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := l.InNetns(host, func() error {
			var d net.Dialer
			var err error
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

// Dial connects from host's namespace, giving up after 5s.
func (l *Lab) Dial(host, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return l.DialContext(host)(ctx, network, addr)
}

// HTTPClient is an HTTP client whose connections start in host's
// namespace. It keeps connections alive like any client; it never uses a
// proxy from the environment.
func (l *Lab) HTTPClient(host string, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:         l.DialContext(host),
			MaxIdleConnsPerHost: 16,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// HTTPGet fetches url from host's namespace on a new connection with a 5s
// timeout and returns the status code and body.
func (l *Lab) HTTPGet(from, url string) (code int, body string, err error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, body, err := l.HTTPDo(from, req)
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, body, nil
}

// HTTPDo sends req from host's namespace on a new connection with a 5s
// timeout and returns the response (body already read and closed) and
// its body.
func (l *Lab) HTTPDo(from string, req *http.Request) (*http.Response, string, error) {
	c := &http.Client{
		Timeout:       5 * time.Second,
		Transport:     &http.Transport{DialContext: l.DialContext(from), DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp, string(b), fmt.Errorf("reading the body of %s: %w", req.URL, err)
	}
	return resp, string(b), nil
}

// --- availability meter ----------------------------------------------------------

// Meter measures availability as a client sees it: one GET per interval,
// each on a new connection, recording failures and the longest time
// between two successful answers (what the demo's lab-probe reports too).
type Meter struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	res  MeterResult
}

// MeterResult is what a Meter saw.
type MeterResult struct {
	Requests, OK, Failed int
	// LongestGap is the longest time between two consecutive successful
	// answers (counting the start and the stop as answers).
	LongestGap time.Duration
	// Servers counts successful answers by X-Server header.
	Servers map[string]int
	// Errors keeps the first few errors seen, for the test log.
	Errors []string
}

// StartMeter starts measuring GET url from host every interval, with a
// per-request timeout of max(interval, 500ms). Stop ends it.
func (l *Lab) StartMeter(from, url string, interval time.Duration) *Meter {
	m := &Meter{stop: make(chan struct{}), done: make(chan struct{}), res: MeterResult{Servers: map[string]int{}}}
	timeout := max(interval, 500*time.Millisecond)
	client := &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{DialContext: l.DialContext(from), DisableKeepAlives: true},
	}
	go func() {
		defer close(m.done)
		lastOK := time.Now()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			server, err := meterGet(client, url)
			now := time.Now()
			m.mu.Lock()
			m.res.Requests++
			if err != nil {
				m.res.Failed++
				if len(m.res.Errors) < 10 {
					m.res.Errors = append(m.res.Errors, now.Format("15:04:05.000 ")+err.Error())
				}
			} else {
				m.res.OK++
				m.res.Servers[server]++
				m.res.LongestGap = max(m.res.LongestGap, now.Sub(lastOK))
				lastOK = now
			}
			m.mu.Unlock()
			select {
			case <-m.stop:
				m.mu.Lock()
				m.res.LongestGap = max(m.res.LongestGap, time.Since(lastOK))
				m.mu.Unlock()
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

func meterGet(c *http.Client, url string) (string, error) {
	return serverOf(c.Get(url))
}

// serverOf reads a whole response and returns the backend that served
// it (its X-Server header); a status other than 2xx is an error.
func serverOf(resp *http.Response, err error) (string, error) {
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return "", err
	}
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return resp.Header.Get("X-Server"), nil
}

// Stop ends the measurement and returns the result.
func (m *Meter) Stop() MeterResult {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
	return m.Snapshot()
}

// Snapshot is the result so far.
func (m *Meter) Snapshot() MeterResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.res
	r.Servers = maps.Clone(m.res.Servers)
	r.Errors = slices.Clone(m.res.Errors)
	return r
}

func (r MeterResult) String() string {
	return fmt.Sprintf("requests=%d ok=%d failed=%d longest_gap=%v servers=%v errors=%q",
		r.Requests, r.OK, r.Failed, r.LongestGap.Round(time.Millisecond), r.Servers, r.Errors)
}
