package main

// The scale cases (issue "Scale"): what many clients cost each proxy.
//
//   - idle keep-alive connections opened one after the other (main.go's
//     idleMemory);
//   - every one of those connections sending a request each second: errors
//     and p99 latency;
//   - the accept rate: wrk with "Connection: close", one new connection
//     per request;
//   - the same number of idle connections arriving at once: every client
//     connects, then all send their request together, as after a failover
//     when every client reconnects to the new master; resident memory per
//     connection measured 5 s and -burst-wait after the burst, on freshly
//     started proxies (as the backup that becomes master). Last: the
//     burst leaves each proxy with thousands of server connections that
//     nginx counts against its limit.

import (
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

var (
	burstWait  = flag.Duration("burst-wait", 60*time.Second, "how long after a burst of requests the last memory sample is taken")
	activeTime = flag.Duration("active", 20*time.Second, "length of the run where every idle connection sends a request each second (0: skip)")
)

// runScale measures both proxies with the idle connection count of -idle.
func (r *runner) runScale(tw *tabwriter.Writer) error {
	if *idle <= 0 {
		return nil
	}
	h, err := r.idleMemory("haproxy", r.ports["hap_http"], *idle)
	if err != nil {
		return err
	}
	l, err := r.idleMemory("lbd", r.ports["lbd_http"], *idle)
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "idle keep-alive conns, one by one\tconns held\t%d\t%d\t\t\n", h.n, l.n)
	fmt.Fprintf(tw, "\tRSS KiB/conn\t%.2f\t%.2f\t%.2f\t\n", h.perConnKiB, l.perConnKiB, l.perConnKiB/h.perConnKiB)
	fmt.Fprintf(tw, "\t100k conns MiB\t%.0f\t%.0f\t\t\n", h.perConnKiB*100000/1024, l.perConnKiB*100000/1024)

	if *activeTime > 0 {
		ha, err := r.activeConns("haproxy", r.ports["hap_http"], *idle)
		if err != nil {
			return err
		}
		la, err := r.activeConns("lbd", r.ports["lbd_http"], *idle)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "conns sending 1 req/s\trequests\t%d\t%d\t\t\n", ha.requests, la.requests)
		fmt.Fprintf(tw, "\terrors\t%d\t%d\t\t\n", ha.errors, la.errors)
		fmt.Fprintf(tw, "\tp99 ms\t%.2f\t%.2f\t%.2f\t\n", ha.p99ms, la.p99ms, la.p99ms/ha.p99ms)
		fmt.Fprintf(tw, "\tp99 ms from %s on\t%.2f\t%.2f\t%.2f\t\n", activeSettle, ha.p99SteadyMs, la.p99SteadyMs, la.p99SteadyMs/ha.p99SteadyMs)
		fmt.Fprintf(tw, "\tCPU s/1k req\t%.4f\t%.4f\t%.2f\t\n", ha.cpuPer1k, la.cpuPer1k, la.cpuPer1k/ha.cpuPer1k)
		fmt.Fprintf(tw, "\tRSS KiB/conn, peak\t%.2f\t%.2f\t%.2f\t\n", ha.peakKiB, la.peakKiB, la.peakKiB/ha.peakKiB)
		fmt.Fprintf(tw, "\tRSS KiB/conn, end\t%.2f\t%.2f\t%.2f\t\n", ha.endKiB, la.endKiB, la.endKiB/ha.endKiB)
	}

	connClose := []string{"-H", "Connection: close"}
	hc, err := r.measureWith("haproxy", "http://"+r.ports["hap_http"]+"/", connClose)
	if err != nil {
		return err
	}
	lc, err := r.measureWith("lbd", "http://"+r.ports["lbd_http"]+"/", connClose)
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "new connection per request\tconns/s\t%.0f\t%.0f\t%.2f\t\n", hc.rps, lc.rps, lc.rps/hc.rps)
	fmt.Fprintf(tw, "\tp99 ms\t%.2f\t%.2f\t%.2f\t\n", hc.p99ms, lc.p99ms, lc.p99ms/hc.p99ms)
	fmt.Fprintf(tw, "\tCPU s/1k conns\t%.4f\t%.4f\t%.2f\t\n", hc.cpuPer1k, lc.cpuPer1k, lc.cpuPer1k/hc.cpuPer1k)
	if hc.errors+lc.errors > 0 {
		fmt.Fprintf(tw, "\terrors\t%d\t%d\t\t\n", hc.errors, lc.errors)
	}
	// Fresh processes, as the backup that becomes master after a failover,
	// whose pools and heap no earlier case has grown.
	if err := r.restartProxies(); err != nil {
		return err
	}
	hb, err := r.burstMemory("haproxy", r.ports["hap_http"], *idle)
	if err != nil {
		return err
	}
	lb, err := r.burstMemory("lbd", r.ports["lbd_http"], *idle)
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "idle conns after a burst\tconns held\t%d\t%d\t\t\n", hb.n, lb.n)
	fmt.Fprintf(tw, "\tRSS KiB/conn 5s\t%.2f\t%.2f\t%.2f\t\n", hb.at5, lb.at5, lb.at5/hb.at5)
	w := burstWait.String()
	fmt.Fprintf(tw, "\tRSS KiB/conn %s\t%.2f\t%.2f\t%.2f\t\n", w, hb.atEnd, lb.atEnd, lb.atEnd/hb.atEnd)
	fmt.Fprintf(tw, "\t100k conns MiB %s\t%.0f\t%.0f\t\t\n", w, hb.atEnd*100000/1024, lb.atEnd*100000/1024)

	return nil
}

type burstResult struct {
	n          int
	at5, atEnd float64 // KiB per connection
}

// dialAll opens n connections to port without a request; it stops at the
// first failure.
func dialAll(name, port string, n int) []net.Conn {
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", port, 2*time.Second)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: connection %d: %v\n", name, i, err)
			break
		}
		conns = append(conns, c)
	}
	return conns
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
	time.Sleep(5 * time.Second) // let the proxy close its side (both are at maxconn)
}

// oneRequest sends a request on c and reads its response.
func oneRequest(c net.Conn, buf []byte) error {
	req := []byte("GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(req); err != nil {
		return err
	}
	_, err := readResponse(c, buf)
	return err
}

// burstMemory connects n clients, then has all of them send a request at
// once, and samples the proxy's resident memory 5 s and -burst-wait after
// the last response.
func (r *runner) burstMemory(name, port string, n int) (burstResult, error) {
	pid := r.pid(name)
	time.Sleep(time.Second)
	before, err := rssKiB(pid)
	if err != nil {
		return burstResult{}, err
	}
	conns := dialAll(name, port, n)
	defer closeAll(conns)
	if len(conns) == 0 {
		return burstResult{}, fmt.Errorf("%s: no connection could be opened", name)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	start := make(chan struct{})
	for _, c := range conns {
		wg.Go(func() {
			buf := make([]byte, 4096)
			<-start
			if oneRequest(c, buf) != nil {
				mu.Lock()
				failed++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "%s burst: %d of %d requests failed\n", name, failed, len(conns))
	}
	t0 := time.Now()
	sample := func(after time.Duration) (float64, error) {
		time.Sleep(time.Until(t0.Add(after)))
		rss, err := rssKiB(pid)
		fmt.Fprintf(os.Stderr, "== %s burst: RSS %d KiB -> %d KiB %s after, %d connections\n", name, before, rss, after, len(conns))
		return float64(rss-before) / float64(len(conns)), err
	}
	res := burstResult{n: len(conns)}
	if res.at5, err = sample(5 * time.Second); err != nil {
		return res, err
	}
	res.atEnd, err = sample(max(*burstWait, 5*time.Second))
	return res, err
}

type activeResult struct {
	requests, errors int
	p99ms            float64 // over the whole run
	p99SteadyMs      float64 // over the requests sent activeSettle or later after the start
	cpuPer1k         float64 // the proxy's CPU seconds per 1,000 requests
	// RSS growth over the proxy's before the dials, per connection: the
	// most sampled (every 500 ms) and the last sample (the steady state)
	peakKiB, endKiB float64
}

// activeSettle is the start of the active run left out of its steady
// p99: the first request of every connection, which a proxy may serve
// differently from the next ones (lbd resumes each connection from its
// parker once, after the idle wait between the dials and the start).
// The whole run's p99 is reported too.
const activeSettle = 5 * time.Second

// activeConns keeps n connections each sending a request every second,
// spread over the second, for -active, and reports the errors and the
// p99 latency.
func (r *runner) activeConns(name, port string, n int) (activeResult, error) {
	pid := r.pid(name)
	rss0, err := rssKiB(pid)
	if err != nil {
		return activeResult{}, err
	}
	conns := dialAll(name, port, n)
	defer closeAll(conns)
	if len(conns) == 0 {
		return activeResult{}, fmt.Errorf("%s: no connection could be opened", name)
	}
	var mu sync.Mutex
	var res activeResult
	var lat, steady []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	t0 := time.Now().Add(time.Second)
	end := t0.Add(*activeTime)
	cpu0, err := cpuSeconds(pid)
	if err != nil {
		return res, err
	}
	var peak, last int
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for time.Now().Before(end) {
			time.Sleep(500 * time.Millisecond)
			if k, err := rssKiB(pid); err == nil {
				peak, last = max(peak, k), k
			}
		}
	}()
	for i, c := range conns {
		offset := time.Duration(i) * time.Second / time.Duration(len(conns))
		wg.Go(func() {
			buf := make([]byte, 4096)
			mine := make([]time.Duration, 0, int(*activeTime/time.Second)+1)
			settled := 0 // mine[settled:] were sent activeSettle or later
			errs := 0
			for next := t0.Add(offset); next.Before(end); next = next.Add(time.Second) {
				time.Sleep(time.Until(next))
				s := time.Now()
				if s.Sub(t0) < activeSettle {
					settled = len(mine) + 1
				}
				if err := oneRequest(c, buf); err != nil {
					errs++
					if errs == 1 {
						mu.Lock()
						if res.errors == 0 && firstErr == nil {
							firstErr = fmt.Errorf("connection %d at %s: %w", i, time.Since(t0).Round(time.Millisecond), err)
						}
						mu.Unlock()
					}
					break // the connection is gone
				}
				mine = append(mine, time.Since(s))
			}
			mu.Lock()
			lat = append(lat, mine...)
			steady = append(steady, mine[min(settled, len(mine)):]...)
			res.errors += errs
			mu.Unlock()
		})
	}
	wg.Wait()
	<-sampled
	res.peakKiB = float64(peak-rss0) / float64(len(conns))
	res.endKiB = float64(last-rss0) / float64(len(conns))
	cpu1, err := cpuSeconds(pid)
	if err != nil {
		return res, err
	}
	res.requests = len(lat) + res.errors
	res.p99ms, res.p99SteadyMs = p99ms(lat), p99ms(steady)
	if len(lat) > 0 {
		res.cpuPer1k = (cpu1 - cpu0) * 1000 / float64(len(lat))
	}
	fmt.Fprintf(os.Stderr, "== %s active: %d connections, %d requests, %d errors, p99 %.2f ms, from %s on %.2f ms, CPU s/1k %.4f, RSS KiB/conn peak %.2f end %.2f\n",
		name, len(conns), res.requests, res.errors, res.p99ms, activeSettle, res.p99SteadyMs, res.cpuPer1k, res.peakKiB, res.endKiB)
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "== %s active: first error: %v\n", name, firstErr)
	}
	return res, nil
}

// p99ms is the 99th percentile of d (sorted in place) in milliseconds, 0
// when d is empty.
func p99ms(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[len(d)*99/100]) / float64(time.Millisecond)
}

// restartProxies stops HAProxy and lbd and starts them again with the same
// configuration (nginx keeps running).
func (r *runner) restartProxies() error {
	keep := r.procs[:0]
	for _, p := range r.procs {
		if p.name != "haproxy" && p.name != "lbd" {
			keep = append(keep, p)
			continue
		}
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	r.procs = keep
	if err := r.start("haproxy", *proxyCPU, *haproxy, "-f", r.path("haproxy.cfg"), "-db"); err != nil {
		return err
	}
	if err := r.start("lbd", *proxyCPU, *lbdBin, "-f", r.path("lbd.hcl")); err != nil {
		return err
	}
	for _, p := range []string{"hap_http", "lbd_http"} {
		if err := waitPort(r.ports[p], 10*time.Second); err != nil {
			return fmt.Errorf("%s did not come back: %w", p, err)
		}
	}
	return nil
}
