// Command lab-probe is the lab's client-side availability meter: it sends one
// request per interval, each on a new connection, and when it stops it
// reports how many failed and the longest time the client went without a
// successful answer. The demo runs it in the client namespace around a
// failover to measure what a user of the VIP would have seen.
//
//	lab-probe -url http://192.0.2.100/ -interval 20ms -duration 10s
//	lab-probe -tcp 192.0.2.100:9000            (PING -> PONG per connection)
//
// It runs until -duration has passed or it gets SIGINT/SIGTERM, printing each
// change between "serving" and "failing" as it happens, then one summary
// line of key=value pairs:
//
//	summary requests=N ok=N failed=N longest_gap=DURATION servers=web1:N,web2:N
//
// longest_gap is the longest time between two consecutive successful
// answers (or between the start and the first success, or the last success
// and the end), measured at completion: with nothing failing it is about
// one interval plus one round trip.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	url := flag.String("url", "", "HTTP URL to GET (success: a 2xx answer)")
	tcpAddr := flag.String("tcp", "", "TCP address to send PING to (success: PONG)")
	interval := flag.Duration("interval", 20*time.Millisecond, "time between request starts")
	timeout := flag.Duration("timeout", 250*time.Millisecond, "per-request timeout")
	duration := flag.Duration("duration", 0, "stop after this long (0: until SIGINT/SIGTERM)")
	quiet := flag.Bool("quiet", false, "print only the summary")
	flag.Parse()
	if (*url == "") == (*tcpAddr == "") || *interval <= 0 || *timeout <= 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: lab-probe (-url URL | -tcp HOST:PORT) [-interval D] [-timeout D] [-duration D] [-quiet]")
		os.Exit(2)
	}
	var try func(context.Context) (string, error)
	if *url != "" {
		try = httpTry(*url, *timeout)
	} else {
		try = tcpTry(*tcpAddr, *timeout)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	out := io.Writer(os.Stdout)
	if *quiet {
		out = io.Discard
	}
	st := probe(ctx, try, *interval, out)
	fmt.Println(st.summary())
}

// stats is what one probe run saw.
type stats struct {
	requests, ok, failed int
	longestGap           time.Duration
	gapEnd               time.Time // when the longest gap ended
	servers              map[string]int
	errors               map[string]int
}

func (s *stats) summary() string {
	return fmt.Sprintf("summary requests=%d ok=%d failed=%d longest_gap=%s servers=%s errors=%s",
		s.requests, s.ok, s.failed, s.longestGap.Round(time.Millisecond), counts(s.servers), counts(s.errors))
}

// counts renders a map as "a:1,b:2" in key order, or "-" when empty.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%d", strings.NewReplacer(",", ";", ":", ";", " ", "_").Replace(k), m[k])
	}
	return b.String()
}

// probe calls try once per interval until ctx ends, sequentially (a slow
// answer delays the next request rather than piling them up).
func probe(ctx context.Context, try func(context.Context) (string, error), interval time.Duration, out io.Writer) *stats {
	st := &stats{servers: map[string]int{}, errors: map[string]int{}}
	start := time.Now()
	lastOK := start
	failing := false
	var failSince time.Time
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for ctx.Err() == nil {
		server, err := try(ctx)
		now := time.Now()
		if ctx.Err() != nil && err != nil {
			break // cut short by the stop, not a failure of the service
		}
		st.requests++
		if err != nil {
			st.failed++
			st.errors[classify(err)]++
			if !failing {
				failing, failSince = true, now
				fmt.Fprintf(out, "%s FAIL %v\n", now.Format("15:04:05.000"), err)
			}
		} else {
			st.ok++
			st.servers[server]++
			if gap := now.Sub(lastOK); gap > st.longestGap {
				st.longestGap, st.gapEnd = gap, now
			}
			if failing {
				failing = false
				fmt.Fprintf(out, "%s OK   %s again after %s without service (failing for %s)\n", now.Format("15:04:05.000"),
					server, now.Sub(lastOK).Round(time.Millisecond), now.Sub(failSince).Round(time.Millisecond))
			}
			lastOK = now
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	if gap := time.Since(lastOK); st.requests > 0 && gap > st.longestGap {
		st.longestGap, st.gapEnd = gap, time.Now()
	}
	return st
}

// classify shortens an error to a stable category for the summary.
func classify(err error) string {
	s := err.Error()
	for _, k := range []string{"connection refused", "connection reset", "no route to host", "timeout", "deadline exceeded", "EOF", "status"} {
		if strings.Contains(s, k) {
			if k == "deadline exceeded" {
				return "timeout"
			}
			return k
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "other"
}

// httpTry GETs url on a fresh connection; the server's name is X-Server.
func httpTry(url string, timeout time.Duration) func(context.Context) (string, error) {
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:             nil,
			DisableKeepAlives: true,
		},
	}
	return func(ctx context.Context) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "", err
		}
		resp, err := client.Do(req)
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
		name := resp.Header.Get("X-Server")
		if name == "" {
			name = "?"
		}
		return name, nil
	}
}

// tcpTry connects to addr, asks NAME and PING, and expects the lab
// server's answers.
func tcpTry(addr string, timeout time.Duration) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		d := net.Dialer{Timeout: timeout}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return "", err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(timeout))
		if _, err := io.WriteString(c, "NAME\r\nPING\r\n"); err != nil {
			return "", err
		}
		br := bufio.NewReader(c)
		name, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		pong, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		if pong != "PONG\r\n" {
			return "", fmt.Errorf("unexpected answer %q to PING", pong)
		}
		return strings.TrimSpace(name), nil
	}
}
