// Command healthcheck measures what lbd's active health checks cost: N
// servers on loopback checked every interval, CPU time of the checking
// process (getrusage) over a measurement window, as a percentage of one
// core and in microseconds per check. With -haproxy it runs the same
// servers and checks under HAProxy (Debian's package) in the same run and
// prints the ratio. Check types: tcp (connect), http (GET / answered 200),
// tcp-check (send PING, expect PONG) and agent (the agent answers "up";
// the servers then listen on 1,000 loopback addresses with one port, the
// agent's).
//
// The servers run in a child process (this binary with -serve) so that
// their CPU is not counted. Typical use:
//
//	go run ./bench/healthcheck -n 1000 -interval 1s -duration 30s -type tcp -haproxy
//
// This is a benchmark, not a test: it prints figures and asserts nothing
// except that every check passed.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"lbd/config"
	"lbd/health"
)

func main() {
	var (
		n        = flag.Int("n", 1000, "number of servers")
		interval = flag.Duration("interval", time.Second, "check interval")
		duration = flag.Duration("duration", 30*time.Second, "measurement window")
		warmup   = flag.Duration("warmup", 3*time.Second, "time before measuring (first checks are spread over fast_interval)")
		typ      = flag.String("type", "tcp", "check type: tcp, http, tcp-check or agent")
		serve    = flag.Bool("serve", false, "internal: run the servers")
		haproxy  = flag.String("haproxy", "", "also measure this HAProxy binary (e.g. /usr/sbin/haproxy)")
		cpuprof  = flag.String("cpuprofile", "", "write a CPU profile of the measurement window")
	)
	flag.Parse()
	profile = *cpuprof
	switch *typ {
	case "tcp", "http", "tcp-check", "agent":
	default:
		fatal(fmt.Errorf("-type must be tcp, http, tcp-check or agent"))
	}
	if *serve {
		runServers(*n, *typ)
		return
	}
	addrs, stop, err := startServers(*n, *typ)
	if err != nil {
		fatal(err)
	}
	defer stop()
	fail := func(err error) { // os.Exit skips the deferred stop
		stop()
		fatal(err)
	}

	fmt.Printf("health checks: %d servers, type %s, interval %v, window %v, GOMAXPROCS %d\n",
		*n, *typ, *interval, *duration, runtime.GOMAXPROCS(0))
	l, err := measureLBD(addrs, *typ, *interval, *warmup, *duration)
	if err != nil {
		fail(err)
	}
	l.print("lbd")
	if *haproxy != "" {
		h, err := measureHAProxy(*haproxy, addrs, *typ, *interval, *warmup, *duration)
		if err != nil {
			fail(err)
		}
		h.print("haproxy")
		if h.cpu > 0 {
			fmt.Printf("ratio lbd/haproxy CPU: %.2f\n", l.cpu.Seconds()/h.cpu.Seconds())
		}
	}
}

var profile string

type figures struct {
	cpu    time.Duration
	wall   time.Duration
	checks uint64 // checks completed in the window; 0 when unknown
	up     int
	total  int
}

func (f figures) print(who string) {
	pct := 100 * f.cpu.Seconds() / f.wall.Seconds()
	fmt.Printf("%-8s CPU %.3fs over %.1fs = %.2f%% of one core", who, f.cpu.Seconds(), f.wall.Seconds(), pct)
	if f.checks > 0 {
		fmt.Printf(", %d checks (%.0f/s), %.1f µs CPU per check", f.checks,
			float64(f.checks)/f.wall.Seconds(), float64(f.cpu.Microseconds())/float64(f.checks))
	}
	if f.total > 0 {
		fmt.Printf(", %d/%d servers UP", f.up, f.total)
	}
	fmt.Println()
}

func measureLBD(addrs []string, typ string, interval, warmup, window time.Duration) (figures, error) {
	cfg, err := config.Parse("bench.hcl", []byte(lbdConfig(addrs, typ, interval)))
	if err != nil {
		return figures{}, err
	}
	pool := health.NewPool(zerolog.Nop())
	if err := pool.Apply(cfg); err != nil {
		return figures{}, err
	}
	pool.Start()
	defer pool.Close()
	time.Sleep(warmup)

	if profile != "" {
		pf, err := os.Create(profile)
		if err != nil {
			return figures{}, err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return figures{}, err
		}
		defer pf.Close()
	}
	checks0 := totalChecks(pool)
	cpu0, wall0 := selfCPU(), time.Now()
	time.Sleep(window)
	cpu1, wall1 := selfCPU(), time.Now()
	if profile != "" {
		pprof.StopCPUProfile()
	}
	checks1 := totalChecks(pool)

	f := figures{cpu: cpu1 - cpu0, wall: wall1.Sub(wall0), checks: checks1 - checks0, total: len(addrs)}
	st, _ := pool.Status("")
	for _, s := range st[0].Servers {
		if s.State == "UP" {
			f.up++
		}
	}
	if f.up != f.total {
		return f, fmt.Errorf("only %d of %d servers UP: checks are failing", f.up, f.total)
	}
	return f, nil
}

func lbdConfig(addrs []string, typ string, interval time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "backend \"bench\" {\n  mode = \"tcp\"\n  health_check {\n    type = %q\n", typ)
	switch typ {
	case "tcp-check":
		b.WriteString("    send = \"PING\\r\\n\"\n    expect = \"PONG\"\n")
	case "agent":
		_, port, _ := net.SplitHostPort(addrs[0])
		fmt.Fprintf(&b, "    port = %s\n", port)
	}
	fmt.Fprintf(&b, "    interval = %q\n    fast_interval = %q\n    down_interval = %q\n    timeout = \"1s\"\n  }\n",
		interval.String(), interval.String(), interval.String())
	for i, a := range addrs {
		fmt.Fprintf(&b, "  server \"s%d\" {\n    address = %q\n  }\n", i, a)
	}
	b.WriteString("}\n")
	return b.String()
}

func totalChecks(p *health.Pool) uint64 {
	st, _ := p.Status("")
	var n uint64
	for _, b := range st {
		for _, s := range b.Servers {
			n += s.Check.Checks
		}
	}
	return n
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureHAProxy runs HAProxy with the same servers and checks and reads
// its CPU time from /proc. HAProxy gets no frontend: it only checks.
func measureHAProxy(bin string, addrs []string, typ string, interval, warmup, window time.Duration) (figures, error) {
	dir, err := os.MkdirTemp("", "lbd-bench-hc-")
	if err != nil {
		return figures{}, err
	}
	defer os.RemoveAll(dir)
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	// HAProxy refuses to run without a listener: one on a free loopback
	// port, which nothing connects to.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return figures{}, err
	}
	port := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	var b strings.Builder
	sock := filepath.Join(dir, "haproxy.sock")
	b.WriteString("global\n  maxconn 4000\n  stats socket " + sock + "\n\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n  timeout check 1s\n\n")
	fmt.Fprintf(&b, "frontend idle\n  bind 127.0.0.1:%d\n  default_backend bench\n\nbackend bench\n", port)
	switch typ {
	case "http":
		b.WriteString("  option httpchk\n  http-check send meth GET uri / ver HTTP/1.1 hdr Host bench hdr Connection close\n  http-check expect status 200\n")
	case "tcp-check":
		b.WriteString("  option tcp-check\n  tcp-check send PING\\r\\n\n  tcp-check expect string PONG\n")
	}
	ms := interval.Milliseconds()
	for i, a := range addrs {
		if typ == "agent" {
			// The agent alone, as lbd's agent type: no regular check.
			_, port, _ := net.SplitHostPort(a)
			fmt.Fprintf(&b, "  server s%d %s agent-check agent-port %s agent-inter %d\n", i, a, port, ms)
			continue
		}
		fmt.Fprintf(&b, "  server s%d %s check inter %d fastinter %d downinter %d rise 2 fall 3\n", i, a, ms, ms, ms)
	}
	if err := os.WriteFile(cfgPath, []byte(b.String()), 0o644); err != nil {
		return figures{}, err
	}
	cmd := exec.Command(bin, "-db", "-f", cfgPath)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return figures{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	select {
	case err := <-exited:
		exited <- err
		return figures{}, fmt.Errorf("haproxy exited: %v: %s", err, stderr.String())
	case <-time.After(warmup):
	}
	cpu0, err := procCPU(cmd.Process.Pid)
	if err != nil {
		return figures{}, err
	}
	wall0 := time.Now()
	time.Sleep(window)
	cpu1, err := procCPU(cmd.Process.Pid)
	if err != nil {
		return figures{}, err
	}
	f := figures{cpu: cpu1 - cpu0, wall: time.Since(wall0), total: len(addrs)}
	select {
	case err := <-exited:
		exited <- err
		return f, fmt.Errorf("haproxy exited during the run: %v: %s", err, stderr.String())
	default:
	}
	var others map[string]int
	if f.up, others, err = haproxyUp(sock, typ == "agent"); err != nil {
		return f, err
	}
	if f.up != f.total {
		f.print("haproxy")
		return f, fmt.Errorf("haproxy: only %d of %d servers UP; the others: %v", f.up, f.total, others)
	}
	return f, nil
}

// haproxyUp counts the servers HAProxy reports UP ("show stat"), or, with
// agent, those whose last agent check passed.
func haproxyUp(sock string, agent bool) (int, map[string]int, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	if _, err := io.WriteString(c, "show stat\n"); err != nil {
		return 0, nil, err
	}
	raw, err := io.ReadAll(c)
	if err != nil {
		return 0, nil, err
	}
	others := map[string]int{}
	up, col, want := 0, -1, "UP"
	if agent {
		want = "L7OK"
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Split(line, ",")
		if strings.HasPrefix(line, "# ") { // the header names the columns
			for i, name := range f {
				if name == "status" && !agent || name == "agent_status" && agent {
					col = i
				}
			}
			continue
		}
		if col >= 0 && len(f) > col && f[0] == "bench" && f[1] != "BACKEND" && f[1] != "FRONTEND" {
			if strings.HasPrefix(f[col], want) {
				up++
			} else {
				others[f[col]]++
			}
		}
	}
	return up, others, nil
}

// procCPU reads utime+stime of a process from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("bad /proc stat")
	}
	f := strings.Fields(s[i+1:])
	// Fields after ")" start at field 3 (state); utime and stime are
	// fields 14 and 15.
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bad /proc stat")
	}
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz, nil
}

// startServers runs the servers in a child process and returns their
// addresses.
func startServers(n int, typ string) ([]string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(self, "-serve", "-n", strconv.Itoa(n), "-type", typ)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	sc := bufio.NewScanner(out)
	var addrs []string
	for sc.Scan() {
		line := sc.Text()
		if line == "READY" {
			return addrs, stop, nil
		}
		addrs = append(addrs, line)
	}
	stop()
	return nil, nil, fmt.Errorf("server process ended before READY")
}

// runServers listens on n loopback ports and answers checks: tcp ones
// are accepted and closed once the checker goes away, http ones get a
// 200 with Connection: close, tcp-check ones +PONG after their PING,
// agent ones "up". Agents listen on n loopback addresses with one port.
func runServers(n int, typ string) {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	w := bufio.NewWriter(os.Stdout)
	lns, err := listeners(n, typ == "agent")
	if err != nil {
		fatal(err)
	}
	for _, ln := range lns {
		fmt.Fprintln(w, ln.Addr().String())
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					_ = c.SetDeadline(time.Now().Add(5 * time.Second))
					buf := make([]byte, 1024)
					switch typ {
					case "agent":
						_, _ = io.WriteString(c, "up\n")
						_, _ = c.Read(buf)
						return
					case "tcp-check":
						got := 0
						for !strings.Contains(string(buf[:got]), "PING\r\n") && got < len(buf) {
							m, err := c.Read(buf[got:])
							got += m
							if err != nil {
								return
							}
						}
						_, _ = io.WriteString(c, "+PONG\r\n")
						_, _ = c.Read(buf)
						return
					case "http":
						got := 0
						for !strings.Contains(string(buf[:got]), "\r\n\r\n") && got < len(buf) {
							m, err := c.Read(buf[got:])
							got += m
							if err != nil {
								return
							}
						}
						_, _ = c.Write(resp)
						return
					}
					_, _ = c.Read(buf) // until the checker's close or RST
				}()
			}
		}()
	}
	fmt.Fprintln(w, "READY")
	w.Flush()
	select {}
}

// listeners opens n loopback listeners: on 127.0.0.1 with ports of the
// system's choice, or, with samePort, on n addresses of 127/8 with one
// port.
func listeners(n int, samePort bool) ([]net.Listener, error) {
	var lns []net.Listener
	if !samePort {
		for range n {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return nil, err
			}
			lns = append(lns, ln)
		}
		return lns, nil
	}
	for try := 0; try < 20; try++ {
		first, err := net.Listen("tcp", "127.0.1.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns[:0], first)
		port := first.Addr().(*net.TCPAddr).Port
		for i := 1; i < n; i++ {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.%d.%d:%d", 1+i/250, 1+i%250, port))
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		if len(lns) == n {
			return lns, nil
		}
		for _, ln := range lns {
			ln.Close()
		}
	}
	return nil, errors.New("no port free on all the loopback addresses")
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "healthcheck:", err)
	os.Exit(1)
}
