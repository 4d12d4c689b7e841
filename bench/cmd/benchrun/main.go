// Command benchrun measures lbd against HAProxy, side by side in one run,
// with the protocol of DESIGN.md "Benchmarks": the same nginx backend and
// the same wrk for both; the proxy pinned to CPU 0, wrk and nginx to CPU 1;
// everything on loopback; configurations generated into a temporary
// directory; every process it starts is stopped at the end.
//
// It prints, for L7 (HTTP keep-alive, small responses) and L4 (tcp), the
// requests per second, the p99 latency and the proxy's CPU-seconds per
// 1,000 requests of each proxy and their ratio lbd/HAProxy, then the
// resident memory per connection with N idle keep-alive connections.
//
// Benchmarks are not tests: the figures depend on the machine and on what
// else runs on it; only ratios measured in one run mean something.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

var (
	lbdBin   = flag.String("lbd", "bin/lbd", "lbd binary (takes -f FILE)")
	haproxy  = flag.String("haproxy", "haproxy", "HAProxy binary")
	nginx    = flag.String("nginx", "nginx", "nginx binary")
	wrk      = flag.String("wrk", "wrk", "wrk binary")
	duration = flag.Duration("duration", 10*time.Second, "length of each measured wrk run")
	warmup   = flag.Duration("warmup", 2*time.Second, "wrk run before each measure")
	conns    = flag.Int("conns", 50, "wrk connections")
	idle     = flag.Int("idle", 10000, "idle keep-alive connections for the memory measure (0: skip)")
	rounds   = flag.Int("rounds", 1, "measure each case this many times (HAProxy and lbd alternate), keep the best")
	proxyCPU = flag.String("proxy-cpu", "0", "CPU list for the proxies")
	loadCPU  = flag.String("load-cpu", "1", "CPU list for wrk, nginx, h2load and this program (its flooders and idle connections)")
	keep     = flag.Bool("keep", false, "keep the temporary directory")
	only     = flag.String("only", "", `run only these cases: "core" (L7 and L4 keep-alive), "h2" (the HTTP/2 cases), "policy" (rules, maps, rate limiting), "scale" (memory per connection, one by one and after a burst, active connections, accept rate), "" all`)
	threads  = flag.Int("threads", 1, "HAProxy's nbthread for the main cases; lbd uses the CPUs of -proxy-cpu (give as many)")
	logMode  = flag.String("log", "", `access logs: "" none; "httplog": both proxies send HAProxy's httplog/tcplog lines to a UDP syslog receiver; "json": lbd writes its JSON lines to stderr (a file), HAProxy as with httplog`)
)

type proc struct {
	name string
	cmd  *exec.Cmd
}

type runner struct {
	dir    string
	procs  []*proc
	ports  map[string]string
	maxcon int // HAProxy's maxconn (and lbd's global.maxconn)
}

func main() {
	flag.Parse()
	if err := pinSelf(*loadCPU); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	hard := raiseNoFile()
	r := &runner{ports: map[string]string{}, maxcon: 10000}
	// HAProxy refuses to start unless 2*maxconn plus a few fit in its file
	// descriptor limit; with a hard limit of 20000 (common in containers)
	// that is maxconn 9992.
	if m := (int(hard) - 40) / 2; m < r.maxcon {
		r.maxcon = m
	}
	if *idle > r.maxcon-10 {
		fmt.Fprintf(os.Stderr, "note: open-files hard limit %d caps HAProxy at maxconn %d: measuring %d idle connections instead of %d\n",
			hard, r.maxcon, r.maxcon-10, *idle)
		*idle = r.maxcon - 10
	}
	code := 0
	defer func() { os.Exit(code) }()
	defer r.cleanup()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		r.cleanup()
		os.Exit(130)
	}()
	if err := r.run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		code = 1
	}
}

func (r *runner) run() error {
	for _, b := range []*string{haproxy, nginx, wrk, lbdBin} {
		p, err := exec.LookPath(*b)
		if err != nil {
			return fmt.Errorf("%s not found (apt-get install -y haproxy nginx wrk; make build): %w", *b, err)
		}
		*b = p
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return fmt.Errorf("taskset not found (util-linux): %w", err)
	}
	dir, err := os.MkdirTemp("", "lbd-bench-")
	if err != nil {
		return err
	}
	r.dir = dir
	for _, k := range []string{"nginx", "hap_http", "hap_tcp", "lbd_http", "lbd_tcp"} {
		r.ports[k] = freePort()
	}
	var syslogLines *syslogCount
	switch *logMode {
	case "":
	case "httplog", "json":
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer pc.Close()
		r.ports["syslog"] = pc.LocalAddr().String()
		syslogLines = receiveSyslog(pc)
	default:
		return fmt.Errorf("-log %q: want \"\", \"httplog\" or \"json\"", *logMode)
	}
	if err := r.writeConfigs(); err != nil {
		return err
	}
	if err := r.start("nginx", *loadCPU, *nginx, "-c", r.path("nginx.conf"), "-p", dir); err != nil {
		return err
	}
	if err := r.start("haproxy", *proxyCPU, *haproxy, "-f", r.path("haproxy.cfg"), "-db"); err != nil {
		return err
	}
	if err := r.start("lbd", *proxyCPU, *lbdBin, "-f", r.path("lbd.hcl")); err != nil {
		return err
	}
	for _, p := range []string{"nginx", "hap_http", "hap_tcp", "lbd_http", "lbd_tcp"} {
		if err := waitPort(r.ports[p], 10*time.Second); err != nil {
			return fmt.Errorf("%s did not come up: %w (logs in %s)", p, err, dir)
		}
	}
	fmt.Printf("lbd vs HAProxy: wrk -t1 -c%d -d%s --latency, proxy on CPU %s (HAProxy nbthread %d), wrk+nginx on CPU %s\n",
		*conns, *duration, *proxyCPU, *threads, *loadCPU)
	fmt.Printf("HAProxy: %s; lbd: %s; work dir %s\n", version(*haproxy, "-v"), *lbdBin, dir)
	if *logMode != "" {
		lbdLog := "httplog/tcplog lines to the UDP syslog receiver"
		if *logMode == "json" {
			lbdLog = "JSON lines on stderr (a file)"
		}
		fmt.Printf("access logs: HAProxy httplog/tcplog lines to the UDP syslog receiver %s; lbd %s\n", r.ports["syslog"], lbdLog)
	}
	fmt.Println()
	if *only == "h2" {
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "case\tmetric\tHAProxy\tlbd\tlbd/HAProxy\t")
		err := r.runH2(tw)
		tw.Flush()
		return err
	} else if *only == "policy" {
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "case\tmetric\tHAProxy\tlbd\tlbd/HAProxy\t")
		err := r.runPolicy(tw) // policy.go
		tw.Flush()
		return err
	} else if *only == "scale" {
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "case\tmetric\tHAProxy\tlbd\tlbd/HAProxy\t")
		err := r.runScale(tw) // scale.go
		tw.Flush()
		return err
	} else if *only != "" && *only != "core" {
		return fmt.Errorf("-only %q: want \"core\", \"h2\", \"policy\", \"scale\" or nothing", *only)
	}

	type row struct {
		name     string
		hap, lbd result
	}
	var rows []row
	for _, c := range []struct{ name, hap, lbd string }{
		{"L7 http keep-alive", "hap_http", "lbd_http"},
		{"L4 tcp", "hap_tcp", "lbd_tcp"},
	} {
		var best row
		best.name = c.name
		for i := 0; i < *rounds; i++ {
			h, err := r.measure("haproxy", r.ports[c.hap])
			if err != nil {
				return err
			}
			l, err := r.measure("lbd", r.ports[c.lbd])
			if err != nil {
				return err
			}
			if h.rps > best.hap.rps {
				best.hap = h
			}
			if l.rps > best.lbd.rps {
				best.lbd = l
			}
		}
		rows = append(rows, best)
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\tmetric\tHAProxy\tlbd\tlbd/HAProxy\t")
	for _, rw := range rows {
		fmt.Fprintf(tw, "%s\treq/s\t%.0f\t%.0f\t%.2f\t\n", rw.name, rw.hap.rps, rw.lbd.rps, rw.lbd.rps/rw.hap.rps)
		fmt.Fprintf(tw, "\tp99 ms\t%.2f\t%.2f\t%.2f\t\n", rw.hap.p99ms, rw.lbd.p99ms, rw.lbd.p99ms/rw.hap.p99ms)
		fmt.Fprintf(tw, "\tCPU s/1k req\t%.4f\t%.4f\t%.2f\t\n", rw.hap.cpuPer1k, rw.lbd.cpuPer1k, rw.lbd.cpuPer1k/rw.hap.cpuPer1k)
		if rw.hap.errors+rw.lbd.errors > 0 {
			fmt.Fprintf(tw, "\terrors\t%d\t%d\t\t\n", rw.hap.errors, rw.lbd.errors)
		}
	}
	if *only == "core" {
		tw.Flush()
		return nil
	}
	if err := r.runScale(tw); err != nil { // scale.go
		return err
	}
	if err := r.runTLS(tw); err != nil { // tls.go
		return err
	}
	if err := r.runH2(tw); err != nil { // h2.go
		return err
	}
	if err := r.runPolicy(tw); err != nil { // policy.go
		return err
	}
	tw.Flush()
	if syslogLines != nil {
		fmt.Printf("\nsyslog receiver: %s lines\n", syslogLines)
	}
	return nil
}

// syslogCount counts the datagrams a UDP syslog receiver got, by tag.
type syslogCount struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *syslogCount) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("haproxy %d, lbd %d, other %d", c.n["haproxy"], c.n["lbd"], c.n["other"])
}

// receiveSyslog reads and counts the datagrams sent to pc until it closes;
// the tag is the 4th word of an RFC 3164 line ("<PRI>Mmm dd hh:mm:ss TAG[PID]:").
func receiveSyslog(pc net.PacketConn) *syslogCount {
	c := &syslogCount{n: map[string]int{}}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			tag := "other"
			if f := strings.Fields(string(buf[:min(n, 80)])); len(f) > 3 {
				if t, _, _ := strings.Cut(f[3], "["); t == "haproxy" || t == "lbd" {
					tag = t
				}
			}
			c.mu.Lock()
			c.n[tag]++
			c.mu.Unlock()
		}
	}()
	return c
}

type result struct {
	rps      float64
	p99ms    float64
	requests float64
	cpuPer1k float64
	errors   int
}

var (
	reRPS  = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reReqs = regexp.MustCompile(`(\d+) requests in`)
	reP99  = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)`)
	reErr  = regexp.MustCompile(`(?:Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+))|(?:Non-2xx or 3xx responses: (\d+))`)
)

// measure runs wrk against port after a warm-up and reads the proxy's CPU
// time around the measured run.
func (r *runner) measure(name, port string) (result, error) {
	return r.measureWith(name, "http://"+port+"/", nil)
}

// measureWith is measure for any URL, with extra wrk arguments.
func (r *runner) measureWith(name, url string, extra []string) (result, error) {
	if _, err := r.wrk(url, *warmup, extra...); err != nil {
		return result{}, err
	}
	pid := r.pid(name)
	c0, err := cpuSeconds(pid)
	if err != nil {
		return result{}, err
	}
	out, err := r.wrk(url, *duration, extra...)
	if err != nil {
		return result{}, err
	}
	c1, err := cpuSeconds(pid)
	if err != nil {
		return result{}, err
	}
	fmt.Fprintf(os.Stderr, "== %s %s\n%s", name, url, out)
	var res result
	if m := reRPS.FindStringSubmatch(out); m != nil {
		res.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := reReqs.FindStringSubmatch(out); m != nil {
		res.requests, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := reP99.FindStringSubmatch(out); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		switch m[2] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		res.p99ms = v
	}
	for _, m := range reErr.FindAllStringSubmatch(out, -1) {
		for _, g := range m[1:] {
			n, _ := strconv.Atoi(g)
			res.errors += n
		}
	}
	if res.requests == 0 {
		return res, fmt.Errorf("%s: wrk made no requests:\n%s", name, out)
	}
	res.cpuPer1k = (c1 - c0) / res.requests * 1000
	return res, nil
}

func (r *runner) wrk(url string, d time.Duration, extra ...string) (string, error) {
	secs := int(d.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	args := append([]string{"-c", *loadCPU, *wrk, "-t1", "-c" + strconv.Itoa(*conns),
		"-d" + strconv.Itoa(secs) + "s", "--latency"}, extra...)
	cmd := exec.Command("taskset", append(args, url)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("wrk: %w: %s", err, out)
	}
	return string(out), nil
}

type memResult struct {
	n          int
	perConnKiB float64
}

// idleMemory opens n keep-alive connections to port, makes one request on
// each, and reports the proxy's resident memory growth per connection
// while they sit idle.
func (r *runner) idleMemory(name, port string, n int) (memResult, error) {
	return r.idleMemoryDial(name, n, func() (net.Conn, error) { return net.DialTimeout("tcp", port, 2*time.Second) })
}

// idleMemoryDial is idleMemory with connections made by dial.
func (r *runner) idleMemoryDial(name string, n int, dial func() (net.Conn, error)) (memResult, error) {
	pid := r.pid(name)
	time.Sleep(time.Second)
	before, err := rssKiB(pid)
	if err != nil {
		return memResult{}, err
	}
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
		time.Sleep(2 * time.Second) // let the proxy close its side
	}()
	req := []byte("GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
	buf := make([]byte, 4096)
	for i := 0; i < n; i++ {
		c, err := dial()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: connection %d: %v\n", name, i, err)
			break
		}
		if _, done := c.(idleConn); !done { // an HTTP/2 one made its request (h2.go)
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write(req); err != nil {
				c.Close()
				break
			}
			if _, err := readResponse(c, buf); err != nil {
				fmt.Fprintf(os.Stderr, "%s: response %d: %v\n", name, i, err)
				c.Close()
				break
			}
			c.SetDeadline(time.Time{})
		}
		held = append(held, c)
	}
	time.Sleep(5 * time.Second)
	after, err := rssKiB(pid)
	if err != nil {
		return memResult{}, err
	}
	if len(held) == 0 {
		return memResult{}, fmt.Errorf("%s: no idle connection could be opened", name)
	}
	fmt.Fprintf(os.Stderr, "== %s idle: RSS %d KiB -> %d KiB with %d connections\n", name, before, after, len(held))
	return memResult{n: len(held), perConnKiB: float64(after-before) / float64(len(held))}, nil
}

// readResponse reads one small response with a Content-Length.
func readResponse(c net.Conn, buf []byte) (int, error) {
	have := 0
	for {
		n, err := c.Read(buf[have:])
		have += n
		if i := strings.Index(string(buf[:have]), "\r\n\r\n"); i >= 0 {
			head := strings.ToLower(string(buf[:i]))
			if k := strings.Index(head, "content-length:"); k >= 0 {
				v := strings.TrimSpace(strings.SplitN(head[k+15:], "\r\n", 2)[0])
				cl, _ := strconv.Atoi(v)
				if have >= i+4+cl {
					return have, nil
				}
			}
		}
		if err != nil {
			return have, err
		}
		if have == len(buf) {
			return have, fmt.Errorf("response too large")
		}
	}
}

func (r *runner) path(name string) string { return filepath.Join(r.dir, name) }

func (r *runner) start(name, cpus, bin string, args ...string) error {
	logf, err := os.Create(r.path(name + ".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command("taskset", append([]string{"-c", cpus, bin}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	r.procs = append(r.procs, &proc{name: name, cmd: cmd})
	return nil
}

// pid is the process id of the named proxy (taskset execs it in place).
func (r *runner) pid(name string) int {
	for _, p := range r.procs {
		if p.name == name {
			return p.cmd.Process.Pid
		}
	}
	return 0
}

func (r *runner) cleanup() {
	for _, p := range r.procs {
		if p.cmd.Process != nil {
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range r.procs {
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Until(deadline)):
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	r.procs = nil
	if r.dir != "" && !*keep {
		os.RemoveAll(r.dir)
	}
}

func (r *runner) writeConfigs() error {
	ng := fmt.Sprintf(`worker_processes 1;
daemon off;
master_process off;
worker_rlimit_nofile 20000;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx.err warn;
events { worker_connections 19000; }
http {
  access_log off;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s;
  uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {
    listen %[2]s;
    location / { return 200 "hello world\n"; }
  }
}
`, r.dir, r.ports["nginx"])
	hapLog, hapDef, hapTCP := "", "", ""
	lbdGlobal, lbdHTTP, lbdTCP := `log_level    = "warn"`, "", ""
	if *logMode != "" {
		hapLog = "  log " + r.ports["syslog"] + " local0\n  log-tag haproxy\n"
		hapDef = "  log global\n  option httplog\n"
		hapTCP = "  option tcplog\n"
	}
	switch *logMode {
	case "httplog":
		lbdGlobal += "\n  log \"udp@" + r.ports["syslog"] + "\" {}"
		lbdHTTP = "\n  log_format      = \"httplog\""
		lbdTCP = "\n  log_format      = \"tcplog\""
	case "json":
		lbdGlobal = `log_level    = "info"`
	}
	hap := fmt.Sprintf(`global
  maxconn %[4]d
  nbthread %[8]d
%[5]sdefaults
  mode http
%[7]s  timeout connect 5s
  timeout client 300s
  timeout server 60s
  timeout http-request 10s
  timeout http-keep-alive 300s
frontend fe_http
  bind %[1]s
  default_backend be_http
backend be_http
  server n1 %[3]s
frontend fe_tcp
  mode tcp
%[6]s  bind %[2]s
  default_backend be_tcp
backend be_tcp
  mode tcp
  server n1 %[3]s
`, r.ports["hap_http"], r.ports["hap_tcp"], r.ports["nginx"], r.maxcon, hapLog, hapTCP, hapDef, *threads)
	lbd := fmt.Sprintf(`global {
  maxconn      = %[5]d
  %[6]s
  admin_socket = "%[4]s/admin.sock"
}
defaults {
  mode = "http"
  timeouts {
    connect         = "5s"
    client          = "300s"
    server          = "60s"
    http_request    = "10s"
    http_keep_alive = "300s"
  }
}
frontend "fe_http" {
  bind            = ["%[1]s"]
  default_backend = "be_http"%[7]s
}
backend "be_http" {
  server "n1" {
    address = "%[3]s"
    check   = false
  }
}
frontend "fe_tcp" {
  bind            = ["%[2]s"]
  mode            = "tcp"
  default_backend = "be_tcp"%[8]s
}
backend "be_tcp" {
  mode = "tcp"
  server "n1" {
    address = "%[3]s"
    check   = false
  }
}
`, r.ports["lbd_http"], r.ports["lbd_tcp"], r.ports["nginx"], r.dir, r.maxcon, lbdGlobal, lbdHTTP, lbdTCP)
	for name, body := range map[string]string{"nginx.conf": ng, "haproxy.cfg": hap, "lbd.hcl": lbd} {
		if err := os.WriteFile(r.path(name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func freePort() string {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitPort(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cpuSeconds is the process's user+system CPU time (all threads).
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) start at ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, nil // USER_HZ is 100 on Linux
}

func rssKiB(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "VmRSS:") {
			return strconv.Atoi(strings.Fields(sc.Text())[1])
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}

func version(bin, flag string) string {
	out, _ := exec.Command(bin, flag).CombinedOutput()
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

// raiseNoFile lifts the soft open-files limit to the hard one: the idle
// connection measure holds thousands of sockets, and the children inherit.
func raiseNoFile() uint64 {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil {
		return 1024
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
	return l.Max
}

var _ = io.EOF
