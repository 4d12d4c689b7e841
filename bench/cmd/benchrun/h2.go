package main

// The HTTP/2 cases (issue 15): lbd and HAProxy terminate TLS with ALPN h2
// in front of the same nginx (HTTP/1.1 behind, as a browser's requests
// are served), measured by the same h2load (nghttp2-client): 50 clients
// with 10 streams each, small responses and 100 KiB responses; then the
// resident memory per idle HTTP/2 connection (TLS, one request each,
// then idle). h2load reports no percentiles: p99 comes from its per-
// request log (--log-file).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

var (
	h2Cases   = flag.Bool("h2", true, "run the HTTP/2 cases (needs h2load)")
	h2load    = flag.String("h2load", "h2load", "h2load binary (Debian's nghttp2-client)")
	h2Clients = flag.Int("h2-clients", 50, "h2load clients")
	h2Streams = flag.Int("h2-streams", 10, "h2load streams at once per client")
	h2Idle    = flag.Int("h2-idle", 2000, "idle HTTP/2 connections for the memory measure (0: skip)")
)

func (r *runner) runH2(tw *tabwriter.Writer) error {
	if !*h2Cases {
		return nil
	}
	if p, err := exec.LookPath(*h2load); err != nil {
		fmt.Fprintf(tw, "HTTP/2 cases skipped\t%s not found (apt-get install -y nghttp2-client)\t\t\t\t\n", *h2load)
		return nil
	} else {
		*h2load = p
	}
	for _, k := range []string{"nginx_h2", "hap_h2", "lbd_h2"} {
		r.ports[k] = freePort()
	}
	if err := r.writeH2Configs(); err != nil {
		return err
	}
	if err := r.start("nginx_h2", *loadCPU, *nginx, "-c", r.path("nginx-h2.conf"), "-p", r.dir); err != nil {
		return err
	}
	if err := r.start("haproxy_h2", *proxyCPU, *haproxy, "-f", r.path("haproxy-h2.cfg"), "-db"); err != nil {
		return err
	}
	if err := r.start("lbd_h2", *proxyCPU, *lbdBin, "-f", r.path("lbd-h2.hcl")); err != nil {
		return err
	}
	for _, p := range []string{"nginx_h2", "hap_h2", "lbd_h2"} {
		if err := waitPort(r.ports[p], 10*time.Second); err != nil {
			return fmt.Errorf("%s did not come up: %w (logs in %s)", p, err, r.dir)
		}
	}
	// Before the table (tw is flushed at the end).
	fmt.Printf("HTTP/2: h2load -t1 -c%d -m%d -D %s, TLS 1.3 ALPN h2, proxy on CPU %s, h2load+nginx on CPU %s\n",
		*h2Clients, *h2Streams, *duration, *proxyCPU, *loadCPU)
	// Memory first, on processes that have served nothing yet.
	var idleRows []string
	if *h2Idle > 0 {
		n := min(*h2Idle, r.maxcon-10)
		h, err := r.idleMemoryDial("haproxy_h2", n, func() (net.Conn, error) { return dialH2Idle(r.ports["hap_h2"]) })
		if err != nil {
			return err
		}
		l, err := r.idleMemoryDial("lbd_h2", n, func() (net.Conn, error) { return dialH2Idle(r.ports["lbd_h2"]) })
		if err != nil {
			return err
		}
		idleRows = append(idleRows, fmt.Sprintf("idle HTTP/2 conns (TLS)\tconns held\t%d\t%d\t\t\n", h.n, l.n),
			fmt.Sprintf("\tRSS KiB/conn\t%.2f\t%.2f\t%.2f\t\n", h.perConnKiB, l.perConnKiB, l.perConnKiB/h.perConnKiB))
	}
	for _, c := range []struct{ name, path string }{
		{fmt.Sprintf("HTTP/2 TLS %dx%d small", *h2Clients, *h2Streams), "/"},
		{fmt.Sprintf("HTTP/2 TLS %dx%d 100 KiB", *h2Clients, *h2Streams), "/100k"},
	} {
		var hap, lb result
		for i := 0; i < *rounds; i++ {
			h, err := r.measureH2("haproxy_h2", "https://"+r.ports["hap_h2"]+c.path)
			if err != nil {
				return err
			}
			l, err := r.measureH2("lbd_h2", "https://"+r.ports["lbd_h2"]+c.path)
			if err != nil {
				return err
			}
			if h.rps > hap.rps {
				hap = h
			}
			if l.rps > lb.rps {
				lb = l
			}
		}
		fmt.Fprintf(tw, "%s\treq/s\t%.0f\t%.0f\t%.2f\t\n", c.name, hap.rps, lb.rps, lb.rps/hap.rps)
		fmt.Fprintf(tw, "\tp99 ms\t%.2f\t%.2f\t%.2f\t\n", hap.p99ms, lb.p99ms, lb.p99ms/hap.p99ms)
		fmt.Fprintf(tw, "\tCPU s/1k req\t%.4f\t%.4f\t%.2f\t\n", hap.cpuPer1k, lb.cpuPer1k, lb.cpuPer1k/hap.cpuPer1k)
		if hap.errors+lb.errors > 0 {
			fmt.Fprintf(tw, "\tfailed requests\t%d\t%d\t\t\n", hap.errors, lb.errors)
		}
	}
	for _, row := range idleRows {
		fmt.Fprint(tw, row)
	}
	return nil
}

var (
	reH2RPS  = regexp.MustCompile(`finished in [0-9.]+\w*, ([0-9.]+) req/s`)
	reH2Reqs = regexp.MustCompile(`requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
)

// measureH2 runs h2load against url after a warm-up and reads the
// proxy's CPU time around the measured run.
func (r *runner) measureH2(name, url string) (result, error) {
	if _, err := r.runH2load(url, *warmup, ""); err != nil {
		return result{}, err
	}
	logPath := r.path("h2load-" + name + ".log")
	pid := r.pid(name)
	c0, err := cpuSeconds(pid)
	if err != nil {
		return result{}, err
	}
	out, err := r.runH2load(url, *duration, logPath)
	if err != nil {
		return result{}, err
	}
	c1, err := cpuSeconds(pid)
	if err != nil {
		return result{}, err
	}
	fmt.Fprintf(os.Stderr, "== %s %s (h2load)\n%s", name, url, out)
	var res result
	if m := reH2RPS.FindStringSubmatch(out); m != nil {
		res.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := reH2Reqs.FindStringSubmatch(out); m != nil {
		res.requests, _ = strconv.ParseFloat(m[3], 64)
		for _, g := range m[4:] {
			n, _ := strconv.Atoi(g)
			res.errors += n
		}
	}
	if res.requests == 0 {
		return res, fmt.Errorf("%s: h2load made no request:\n%s", name, out)
	}
	res.p99ms, err = p99FromLog(logPath)
	if err != nil {
		return res, err
	}
	os.Remove(logPath)
	res.cpuPer1k = (c1 - c0) / res.requests * 1000
	return res, nil
}

const h2loadGrace = time.Minute

func (r *runner) runH2load(url string, d time.Duration, logPath string) (string, error) {
	secs := max(int(d.Round(time.Second)/time.Second), 1)
	args := []string{"-c", *loadCPU, *h2load, "-t1", "-c" + strconv.Itoa(*h2Clients), "-m" + strconv.Itoa(*h2Streams),
		"-D", strconv.Itoa(secs)}
	if logPath != "" {
		args = append(args, "--log-file="+logPath)
	}
	// On a loaded machine h2load (Debian's 1.52) was once seen going on
	// for minutes past its -D, ten of its clients still asking for
	// 100 KiB responses as fast as it could read them: bound it.
	ctx, cancel := context.WithTimeout(context.Background(), d+h2loadGrace)
	defer cancel()
	out, err := exec.CommandContext(ctx, "taskset", append(args, url)...).CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("h2load %s: still running %s after its %s run, killed (a machine too busy to measure?)", url, h2loadGrace, d)
	}
	if err != nil {
		return string(out), fmt.Errorf("h2load: %w: %s", err, out)
	}
	return string(out), nil
}

// p99FromLog reads h2load's per-request log (start time, status,
// duration in microseconds, tab-separated) and returns the 99th
// percentile of the durations, in milliseconds.
func p99FromLog(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var d []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 3 {
			continue
		}
		v, err := strconv.ParseFloat(fs[2], 64)
		if err == nil {
			d = append(d, v)
		}
	}
	if len(d) == 0 {
		return 0, fmt.Errorf("h2load log %s: no request", path)
	}
	sort.Float64s(d)
	return d[len(d)*99/100] / 1000, nil
}

// dialH2Idle opens a TLS connection with ALPN h2, makes one request on it
// and leaves it idle.
func dialH2Idle(addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 2 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "bench.example", NextProtos: []string{"h2"}})
	if err != nil {
		return nil, err
	}
	if c.ConnectionState().NegotiatedProtocol != "h2" {
		c.Close()
		return nil, fmt.Errorf("ALPN: %q, not h2", c.ConnectionState().NegotiatedProtocol)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fr := http2.NewFramer(c, c)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "bench.example"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	c.Write([]byte(http2.ClientPreface))
	fr.WriteSettings()
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			c.Close()
			return nil, err
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.DataFrame:
			if f.StreamEnded() {
				c.SetDeadline(time.Time{})
				return idleConn{c}, nil
			}
		case *http2.HeadersFrame:
			if f.StreamEnded() {
				c.SetDeadline(time.Time{})
				return idleConn{c}, nil
			}
		case *http2.GoAwayFrame:
			c.Close()
			return nil, fmt.Errorf("GOAWAY %v", f.ErrCode)
		}
	}
}

// idleConn is a connection whose request is done: idleMemoryDial's own
// request and response reading are skipped for it.
type idleConn struct{ net.Conn }

func (r *runner) writeH2Configs() error {
	if err := writeSelfSigned(r.path("h2.pem"), mustECDSA()); err != nil {
		return err
	}
	if err := os.WriteFile(r.path("100k"), []byte(strings.Repeat("x", 100*1024)), 0o644); err != nil {
		return err
	}
	ng := fmt.Sprintf(`worker_processes 1;
daemon off;
master_process off;
worker_rlimit_nofile 20000;
pid %[1]s/nginx-h2.pid;
error_log %[1]s/nginx-h2.err warn;
events { worker_connections 19000; }
http {
  access_log off;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s;
  uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {
    listen %[2]s;
    location = / { return 200 "hello world\n"; }
    location = /100k { root %[1]s; default_type text/plain; }
  }
}
`, r.dir, r.ports["nginx_h2"])
	hap := fmt.Sprintf(`global
  maxconn %d
  nbthread 1
  ssl-default-bind-curves X25519:P-256:P-384
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
  timeout http-keep-alive 60s
frontend h2
  bind %s ssl crt %s ssl-min-ver TLSv1.3 alpn h2,http/1.1
  default_backend be
backend be
  server n1 %s
`, r.maxcon, r.ports["hap_h2"], r.path("h2.pem"), r.ports["nginx_h2"])
	lbd := fmt.Sprintf(`global {
  maxconn      = %d
  log_level    = "warn"
  admin_socket = "%s/admin-h2.sock"
}
defaults {
  mode = "http"
  timeouts {
    connect         = "5s"
    client          = "60s"
    server          = "60s"
    http_request    = "10s"
    http_keep_alive = "60s"
  }
}
frontend "h2" {
  default_backend = "be"
  tls {
    bind        = [%q]
    crt         = [%q]
    min_version = "TLSv1.3"
  }
}
backend "be" {
  server "n1" {
    address = "%s"
    check   = false
  }
}
`, r.maxcon, r.dir, r.ports["lbd_h2"], r.path("h2.pem"), r.ports["nginx_h2"])
	for name, body := range map[string]string{"nginx-h2.conf": ng, "haproxy-h2.cfg": hap, "lbd-h2.hcl": lbd} {
		if err := os.WriteFile(r.path(name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}
