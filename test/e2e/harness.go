//go:build linux

package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"lbd/test/syncbuf"
)

// VIP is the virtual address the lab pair shares (deploy/lab/lab.hcl.tmpl).
const VIP = "192.0.2.100"

// Hosts are the lab's hosts, each a network namespace with eth0 on one
// bridge.
var Hosts = []string{"lb1", "lb2", "web1", "web2", "client"}

var hostAddrs = map[string]string{
	"lb1":    "192.0.2.11",
	"lb2":    "192.0.2.12",
	"web1":   "192.0.2.21",
	"web2":   "192.0.2.22",
	"client": "192.0.2.50",
}

// Main is what the package's TestMain runs: it finds the repository,
// removes leftovers of killed earlier runs, tears every live lab down on
// SIGINT/SIGTERM, runs the tests and removes the binaries it built.
func Main(m *testing.M) int {
	root, err := findRepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = root
	dir, err := os.MkdirTemp("", fmt.Sprintf("lbd-e2e-bin%d-", os.Getpid()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	binDir = dir
	defer os.RemoveAll(dir)
	if os.Geteuid() == 0 {
		sweepStale()
	}
	stop := closeLabsOnSignal()
	defer stop()
	return m.Run()
}

var (
	repoRoot string // the checkout, where go.mod says "module lbd"
	binDir   string // where the binaries are built, once per test binary
)

func findRepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module lbd\n")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod of module lbd above %s", wd)
		}
	}
}

// requireRoot skips the test without root, except under CI=true where the
// e2e tests must run and missing root is a failure.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("e2e needs root (network namespaces), and CI=true: run the tests as root")
	}
	t.Skip("e2e needs root (network namespaces)")
}

// --- binaries ---------------------------------------------------------------

// tool is one program the tests run, built from the checkout.
type tool struct {
	name string // file name in binDir
	pkg  string // package directory relative to the repository
	// optional tools may not exist yet in this tree: tests that need them
	// skip; a tool that exists but does not build fails every test that
	// needs a binary.
	optional bool
}

var tools = []tool{
	{"lab-webserver", "deploy/lab/webserver", false},
	{"lab-probe", "deploy/lab/probe", false},
	{"lab-grpc", "test/grpclab", false},
	{"lbd", "cmd/lbd", true},
	{"lbctl", "cmd/lbctl", true},
}

var (
	buildOnce sync.Once
	buildErr  error
	built     = map[string]string{} // name -> path, for tools that exist
)

// buildAll builds every tool once per test binary, in one go build so the
// packages compile in parallel. LBD_E2E_BUILDFLAGS adds go build flags
// (e.g. "-race").
func buildAll() {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	outDir := filepath.Join(binDir, "build")
	args := append([]string{"build", "-o", outDir + "/"}, strings.Fields(os.Getenv("LBD_E2E_BUILDFLAGS"))...)
	var present []tool
	for _, tl := range tools {
		if _, err := os.Stat(filepath.Join(repoRoot, tl.pkg)); err != nil && tl.optional {
			continue
		}
		present = append(present, tl)
		args = append(args, "./"+tl.pkg)
	}
	cmd := exec.Command(goBin, args...)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		return
	}
	// go build names each binary after its package directory.
	for _, tl := range present {
		dst := filepath.Join(binDir, tl.name)
		if err := os.Rename(filepath.Join(outDir, filepath.Base(tl.pkg)), dst); err != nil {
			buildErr = err
			return
		}
		built[tl.name] = dst
	}
}

// Bin returns the path of a built tool (lbd, lbctl, lab-webserver,
// lab-probe). It fails the test if the build failed and skips it if the
// tool does not exist in this tree yet.
func Bin(t testing.TB, name string) string {
	t.Helper()
	buildOnce.Do(buildAll)
	if buildErr != nil {
		t.Fatalf("building the e2e binaries: %v", buildErr)
	}
	p, ok := built[name]
	if !ok {
		for _, tl := range tools {
			if tl.name == name {
				t.Skipf("%s does not exist in this tree yet (no %s/): test skipped until it does", name, tl.pkg)
			}
		}
		t.Fatalf("unknown tool %q", name)
	}
	return p
}

// --- the lab ------------------------------------------------------------------

// Lab is one instance of the deploy/lab topology under its own prefix.
type Lab struct {
	t      *testing.T
	Prefix string
	dir    string   // configs, admin sockets, fail files: short path for sockets
	env    []string // extra lab.sh environment (LAB_SYSTEMD=1)

	mu     sync.Mutex
	procs  []*Proc
	closed bool
}

var (
	labSeq   atomic.Int64
	liveMu   sync.Mutex
	liveLabs = map[*Lab]bool{}
)

// NewLab builds the lab topology under a unique prefix and registers its
// teardown with t.Cleanup (it runs also when the test fails or panics).
// Without root the test is skipped, under CI=true it fails.
func NewLab(t *testing.T) *Lab {
	t.Helper()
	l, out, err := newLab(t, nil)
	if err != nil {
		t.Fatalf("lab up: %v\n%s", err, out)
	}
	return l
}

// newLab is NewLab with extra lab.sh environment; it returns lab.sh up's
// failure instead of failing the test (the lab is torn down at cleanup
// either way).
func newLab(t *testing.T, env []string) (*Lab, string, error) {
	t.Helper()
	requireRoot(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("e2e needs iproute2 (ip)")
	}
	Bin(t, "lab-webserver") // build now, before the clock of any test step runs
	prefix := fmt.Sprintf("e2e%dn%d", os.Getpid(), labSeq.Add(1))
	dir, err := os.MkdirTemp("", "lbd-e2e-"+prefix+"-")
	if err != nil {
		t.Fatal(err)
	}
	l := &Lab{t: t, Prefix: prefix, dir: dir, env: env}
	liveMu.Lock()
	liveLabs[l] = true
	liveMu.Unlock()
	t.Cleanup(l.Close)
	out, err := l.script("up")
	return l, out, err
}

// script runs deploy/lab/lab.sh with this lab's prefix.
func (l *Lab) script(args ...string) (string, error) {
	return runLabScript(l.Prefix, filepath.Join(l.dir, "run"), l.env, args...)
}

func runLabScript(prefix, rundir string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(repoRoot, "deploy/lab/lab.sh")}, args...)...)
	cmd.Env = append(append(os.Environ(), "LAB_PREFIX="+prefix, "LAB_RUNDIR="+rundir), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Close stops every process the lab started, removes the namespaces and
// checks that nothing with the prefix is left. It runs at cleanup; tests
// may call it earlier (e.g. to check the teardown). Calling it again does
// nothing.
func (l *Lab) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	procs := l.procs
	l.mu.Unlock()

	for _, p := range procs {
		p.Kill()
	}
	if l.t.Failed() {
		l.dumpState(procs)
	}
	if out, err := l.script("down"); err != nil {
		l.t.Errorf("lab down: %v\n%s", err, out)
	}
	if left := Leftovers(l.Prefix); len(left) > 0 {
		l.t.Errorf("lab %s left behind: %v", l.Prefix, left)
	}
	os.RemoveAll(l.dir)
	liveMu.Lock()
	delete(liveLabs, l)
	liveMu.Unlock()
}

// dumpState logs what a failed test's lab looked like: every process's
// output and the lb nodes' addresses.
func (l *Lab) dumpState(procs []*Proc) {
	for _, p := range procs {
		l.t.Logf("--- output of %s (%s) ---\n%s", p.Name, p.exitString(), tail(p.Output(), 32<<10))
	}
	for _, h := range []string{"lb1", "lb2"} {
		out, _ := l.Exec(h, "ip", "-4", "-o", "addr", "show", "dev", "eth0")
		l.t.Logf("--- %s addresses ---\n%s", h, out)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "[...]\n" + s[len(s)-n:]
}

// NS is the network namespace name of a lab host ("br" is the bridge's).
func (l *Lab) NS(host string) string {
	ns, err := l.nsName(host)
	if err != nil {
		l.t.Fatal(err)
	}
	return ns
}

// nsName is NS for code off the test goroutine, where t.Fatal must not run.
func (l *Lab) nsName(host string) (string, error) {
	if _, ok := hostAddrs[host]; !ok && host != "br" {
		return "", fmt.Errorf("unknown lab host %q (hosts: %v)", host, Hosts)
	}
	return l.Prefix + "-" + host, nil
}

// Addr is a lab host's address, e.g. Addr("lb1") == "192.0.2.11".
func (l *Lab) Addr(host string) string {
	a, ok := hostAddrs[host]
	if !ok {
		l.t.Fatalf("unknown lab host %q (hosts: %v)", host, Hosts)
	}
	return a
}

// Dir is a directory private to this lab, removed at cleanup.
func (l *Lab) Dir() string { return l.dir }

// Exec runs a command inside a host's namespace and returns its combined
// output. It gives up after a minute.
func (l *Lab) Exec(host string, args ...string) (string, error) {
	ns, err := l.nsName(host)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s in %s: %w", strings.Join(args, " "), host, err)
	}
	return string(out), nil
}

// HasAddr reports whether host's eth0 carries addr (e.g. the VIP).
func (l *Lab) HasAddr(host, addr string) bool {
	out, err := l.Exec(host, "ip", "-4", "-o", "addr", "show", "dev", "eth0")
	return err == nil && strings.Contains(out, " "+addr+"/")
}

// VIPHolders lists the lb nodes whose eth0 carries the VIP right now:
// one in a healthy pair, two in a split brain.
func (l *Lab) VIPHolders() []string {
	var hs []string
	for _, h := range []string{"lb1", "lb2"} {
		if l.HasAddr(h, VIP) {
			hs = append(hs, h)
		}
	}
	return hs
}

// --- processes ----------------------------------------------------------------

// Proc is a background process in a lab namespace. Its output is captured;
// the lab kills it at cleanup and logs its output if the test failed.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	done chan struct{}
	err  error // from Wait, valid once done is closed
}

// Start runs args inside host's namespace in the background.
func (l *Lab) Start(host string, args ...string) *Proc {
	l.t.Helper()
	p, err := l.start(host, args...)
	if err != nil {
		l.t.Fatal(err)
	}
	return p
}

func (l *Lab) start(host string, args ...string) (*Proc, error) {
	if len(args) == 0 {
		return nil, errors.New("start: no command")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errors.New("lab is closed")
	}
	ns, err := l.nsName(host)
	if err != nil {
		return nil, err
	}
	p, err := startInNetns(ns, host, args...)
	if err != nil {
		return nil, err
	}
	l.procs = append(l.procs, p)
	return p, nil
}

// startInNetns runs args in the background inside namespace ns; the
// Proc is named host:program.
func startInNetns(ns, host string, args ...string) (*Proc, error) {
	buf := &syncbuf.Buffer{}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	// Our own pipe rather than exec's: Wait then returns when the process
	// exits, not when every holder of the pipe has closed it (an lbd
	// upgraded in place leaves a successor writing there).
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true, // a Ctrl-C of the terminal goes to the tests, which clean up
		// If the test binary dies without cleanup (a -timeout panic), the
		// daemons go with it. `ip netns exec` execs the command in place,
		// so the signal reaches the command itself.
		Pdeathsig: syscall.SIGKILL,
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("start %s in %s: %w", strings.Join(args, " "), host, err)
	}
	go func() {
		io.Copy(buf, r)
		r.Close()
	}()
	p := &Proc{Name: host + ":" + filepath.Base(args[0]), cmd: cmd, out: buf, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id (the command itself: ip netns exec execs it).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig; it fails if the process has exited.
func (p *Proc) Signal(sig os.Signal) error {
	if p.Exited() {
		return fmt.Errorf("%s has exited", p.Name)
	}
	return p.cmd.Process.Signal(sig)
}

// Stop sends sig, waits up to 15s for the process to exit, then kills it.
// It returns what Wait returns.
func (p *Proc) Stop(sig os.Signal) error {
	_ = p.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.Kill()
	}
	return p.Wait()
}

// Kill sends SIGKILL and waits for the exit.
func (p *Proc) Kill() {
	_ = p.Signal(syscall.SIGKILL)
	<-p.done
}

// Wait waits for the exit and returns its error (nil for exit status 0).
func (p *Proc) Wait() error {
	<-p.done
	return p.err
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitCode is the exit status, or -1 while running or when killed by a
// signal.
func (p *Proc) ExitCode() int {
	if !p.Exited() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *Proc) exitString() string {
	if !p.Exited() {
		return "running"
	}
	return p.cmd.ProcessState.String()
}

// Output is everything the process wrote so far (stdout and stderr).
func (p *Proc) Output() string { return p.out.String() }

// --- backends -------------------------------------------------------------------

// StartWeb runs the lab webserver in web1 or web2 on the standard ports
// (HTTP :80 and :8080, line TCP :9000) and waits until the client reaches
// it. Its health fails while WebFailFile(host) exists or after
// SetWebHealth(host, false).
func (l *Lab) StartWeb(host string) *Proc {
	l.t.Helper()
	if host != "web1" && host != "web2" {
		l.t.Fatalf("StartWeb: %q is not web1 or web2", host)
	}
	a := l.Addr(host)
	p := l.Start(host, Bin(l.t, "lab-webserver"), "-name", host,
		"-http", a+":80", "-http", a+":8080", "-tcp", a+":9000", "-fail-file", l.WebFailFile(host))
	for _, port := range []string{"80", "8080", "9000"} {
		ok := Poll(10*time.Second, func() bool {
			if p.Exited() {
				return true
			}
			c, err := l.Dial("client", "tcp", a+":"+port)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
		if !ok || p.Exited() {
			l.t.Fatalf("%s does not answer on %s:%s (%s):\n%s", host, a, port, p.exitString(), p.Output())
		}
	}
	return p
}

// WebFailFile is the file whose existence makes host's /health answer 500.
func (l *Lab) WebFailFile(host string) string { return filepath.Join(l.dir, host+".fail") }

// SetWebHealth flips host's /health between 200 (ok) and 500 over the
// webserver's admin endpoints.
func (l *Lab) SetWebHealth(host string, ok bool) {
	l.t.Helper()
	path := "/admin/fail"
	if ok {
		path = "/admin/ok"
	}
	if code, body, err := l.HTTPGet("client", "http://"+l.Addr(host)+path); err != nil || code != 200 {
		l.t.Fatalf("SetWebHealth(%s, %v): %d %q %v", host, ok, code, body, err)
	}
}

// --- leftovers ------------------------------------------------------------------

var labNSRe = regexp.MustCompile(`^(e2e(\d+)n\d+)-(br|lb1|lb2|web1|web2|client)$`)

// Leftovers lists what exists with prefix: namespaces and the fallback
// veths lab.sh may create in the root namespace.
func Leftovers(prefix string) []string {
	var left []string
	for _, ns := range listNetns() {
		if strings.HasPrefix(ns, prefix+"-") {
			left = append(left, "netns "+ns)
		}
	}
	sum := md5.Sum([]byte(prefix))
	vethRe := regexp.MustCompile(`^v` + hex.EncodeToString(sum[:])[:6] + `[0-9][ab]$`)
	if out, err := exec.Command("ip", "-o", "link", "show", "type", "veth").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.SplitN(line, ": ", 3)
			if len(f) < 2 {
				continue
			}
			if name, _, _ := strings.Cut(f[1], "@"); vethRe.MatchString(name) {
				left = append(left, "veth "+name)
			}
		}
	}
	return left
}

func listNetns() []string {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return nil
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// sweepStale removes labs and temporary directories of earlier e2e runs
// whose test binary is gone (killed by a -timeout panic or SIGKILL before
// its cleanup ran). Their names carry the pid; a pid that now belongs to
// something other than a test binary counts as gone.
func sweepStale() {
	seen := map[string]bool{}
	for _, ns := range listNetns() {
		m := labNSRe.FindStringSubmatch(ns)
		if m == nil || seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		if pid, _ := strconv.Atoi(m[2]); pid == os.Getpid() || testBinaryAlive(pid) {
			continue
		}
		rundir, err := os.MkdirTemp("", "lbd-e2e-sweep")
		if err != nil {
			continue
		}
		if out, err := runLabScript(m[1], rundir, nil, "down"); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: removing stale lab %s: %v\n%s", m[1], err, out)
		}
		os.RemoveAll(rundir)
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "lbd-e2e-*"))
	for _, d := range dirs {
		m := staleDirRe.FindStringSubmatch(filepath.Base(d))
		if m == nil {
			continue
		}
		if pid, _ := strconv.Atoi(m[1]); pid != os.Getpid() && !testBinaryAlive(pid) {
			os.RemoveAll(d)
		}
	}
}

var staleDirRe = regexp.MustCompile(`^lbd-e2e-(?:bin|e2e)(\d+)[n-]`)

// testBinaryAlive: pid runs a Go test binary (a zombie, killed but not yet
// reaped, does not count).
func testBinaryAlive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...; comm may itself contain ") ".
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open || len(stat) < end+3 {
		return false
	}
	comm, state := string(stat[open+1:end]), stat[end+2]
	return state != 'Z' && state != 'X' && strings.HasSuffix(comm, ".test")
}

// closeLabsOnSignal tears down every live lab when the test binary gets
// SIGINT or SIGTERM (Ctrl-C), which would otherwise skip all cleanups.
func closeLabsOnSignal() (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	quit := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			fmt.Fprintf(os.Stderr, "e2e: %v: removing the labs\n", sig)
			liveMu.Lock()
			labs := make([]*Lab, 0, len(liveLabs))
			for l := range liveLabs {
				labs = append(labs, l)
			}
			liveMu.Unlock()
			for _, l := range labs {
				l.mu.Lock()
				procs := l.procs
				l.mu.Unlock()
				for _, p := range procs {
					_ = p.Signal(syscall.SIGKILL)
				}
				runLabScript(l.Prefix, filepath.Join(l.dir, "run"), l.env, "down")
				os.RemoveAll(l.dir)
			}
			os.RemoveAll(binDir)
			os.Exit(130)
		case <-quit:
		}
	}()
	return func() {
		signal.Stop(ch)
		close(quit)
	}
}
