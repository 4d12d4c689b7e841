//go:build linux

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildLBD builds cmd/lbd with version set, into path.
func buildLBD(t *testing.T, path, version string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+version, "-o", path, "./cmd/lbd")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

// installBinary replaces path with the file at from, atomically (as an
// install does: the running process keeps its old file).
func installBinary(t *testing.T, from, path string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// streamResult is what a long-lived connection saw.
type streamResult struct {
	exchanges int
	err       error
}

// lineStream keeps one connection from the client to addr busy until stop:
// it writes a line every 50ms and reads it (or PONG) back. After the
// prologue (sent first, its answer read up to a blank line), every
// exchange must succeed: a cut connection is an error.
func lineStream(l *Lab, addr, prologue, line, want string, stop <-chan struct{}) <-chan streamResult {
	res := make(chan streamResult, 1)
	go func() {
		var r streamResult
		defer func() { res <- r }()
		c, err := l.Dial("client", "tcp", addr)
		if err != nil {
			r.err = err
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		if prologue != "" {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, prologue); err != nil {
				r.err = err
				return
			}
			status, err := br.ReadString('\n')
			if err != nil || !strings.Contains(status, " 101 ") {
				r.err = fmt.Errorf("upgrade answered %q (%v)", status, err)
				return
			}
			for {
				h, err := br.ReadString('\n')
				if err != nil {
					r.err = err
					return
				}
				if h == "\r\n" {
					break
				}
			}
		}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			msg := line
			if strings.Contains(line, "%d") {
				msg = fmt.Sprintf(line, i)
			}
			if _, err := io.WriteString(c, msg); err != nil {
				r.err = fmt.Errorf("exchange %d: write: %w", i, err)
				return
			}
			got, err := br.ReadString('\n')
			w := want
			if w == "" {
				w = msg
			}
			if err != nil || strings.TrimRight(got, "\r\n") != strings.TrimRight(w, "\r\n") {
				r.err = fmt.Errorf("exchange %d: got %q (%v), want %q", i, got, err, w)
				return
			}
			r.exchanges++
		}
	}()
	return res
}

// TestUpgradeUnderLoad replaces the master's binary and runs lbctl
// upgrade while clients use the VIP in every way: new connections, kept
// connections, a tcp stream and a WebSocket. Nothing may fail or be cut,
// the VIP must never leave the master, the peer must never become
// master, and the runtime state (a drained server, a stick table's
// entries) must survive.
func TestUpgradeUnderLoad(t *testing.T) {
	t.Parallel()
	l := NewLab(t)
	l.StartWeb("web1")
	l.StartWeb("web2")
	bin := filepath.Join(l.Dir(), "lbd")
	installBinary(t, Bin(t, "lbd"), bin)
	// The old process keeps its connections for global.grace: 10s, longer
	// than the long connections below last after the upgrade.
	cfg := strings.Replace(LabConfig("lb1"), `grace      = "2s"`, `grace      = "10s"`, 1)
	if cfg == LabConfig("lb1") {
		t.Fatal("no grace line to change in the lab config")
	}
	// A stick table counting each client's requests: the upgrade hands
	// its entries over.
	tracked := strings.Replace(cfg, "  forward_for     = true\n", `  forward_for     = true
  stick_table {
    type   = "ip"
    size   = "100k"
    expire = "10m"
    store  = ["http_req_rate(1m)", "http_req_cnt"]
  }
  http_request "track_sc0" {}
`, 1)
	if tracked == cfg {
		t.Fatal("lab config: the web frontend's forward_for line moved")
	}
	cfg = tracked
	if out, err := l.Exec("client", "ip", "addr", "add", "192.0.2.51/24", "dev", "eth0"); err != nil {
		t.Fatalf("second client address: %v %s", err, out)
	}
	lb1 := l.StartLBDBinary("lb1", cfg, bin)
	lb2 := l.StartLBD("lb2", LabConfig("lb2"))
	lb1.WaitInstanceState(t, "VI_1", "MASTER", 10*time.Second)
	lb2.WaitInstanceState(t, "VI_1", "BACKUP", 10*time.Second)
	Eventually(t, 10*time.Second, func() bool { return lb1.ServerState("web", "web2") == "UP" }, "web2 UP on lb1")
	if _, err := lb1.Ctl("server", "state", "web/web1", "drain"); err != nil {
		t.Fatal(err)
	}
	var before struct{ PID int }
	if err := lb1.CtlJSON(&before, "info"); err != nil {
		t.Fatal(err)
	}
	lb2Transitions := transitions(t, lb2)
	// 192.0.2.51 sends 7 requests before the upgrade, none after.
	for i := 0; i < 7; i++ {
		if code, _, err := getFrom(l, "client", "192.0.2.51", "http://"+VIP+"/"); err != nil || code != 200 {
			t.Fatalf("request %d from 192.0.2.51: %d %v", i, code, err)
		}
	}
	if n := tableCount(lb1, "192.0.2.51"); n != 7 {
		t.Fatalf("before the upgrade the table counts %d requests from 192.0.2.51, want 7", n)
	}

	newBin := filepath.Join(l.Dir(), "lbd.new")
	buildLBD(t, newBin, "e2e-upgraded")
	installBinary(t, newBin, bin)

	load := l.StartLoad("client",
		LoadWorker{URL: "http://" + VIP + "/"},
		LoadWorker{URL: "http://" + VIP + "/", KeepAlive: true},
		LoadWorker{URL: "http://" + VIP + "/slow?ms=300", KeepAlive: true},
		LoadWorker{URL: "http://" + VIP + "/", Body: strings.Repeat("b", 20000)},
	)
	stop := make(chan struct{})
	var stopOnce sync.Once
	stopAll := func() { stopOnce.Do(func() { close(stop); load.Stop() }) }
	t.Cleanup(stopAll)
	tcp := lineStream(l, VIP+":9000", "", "PING\n", "PONG", stop)
	ws := lineStream(l, VIP+":80",
		"GET /ws HTTP/1.1\r\nHost: "+VIP+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"frame %d\n", "", stop)
	var vipLost []string
	var mu sync.Mutex
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if !l.HasAddr("lb1", VIP) {
				mu.Lock()
				vipLost = append(vipLost, time.Now().Format("15:04:05.000"))
				mu.Unlock()
			}
		}
	}()
	load.WaitProgress(t, 50, 10*time.Second)

	out, err := lb1.Ctl("upgrade")
	if err != nil {
		t.Fatalf("lbctl upgrade: %v\n%s", err, out)
	}
	t.Logf("lbctl upgrade: %s", strings.TrimSpace(out))
	m := regexp.MustCompile(`pid (\d+) \(.*\) -> pid (\d+) \(e2e-upgraded\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("lbctl upgrade did not report the new pid and version: %q", out)
	}
	// The long connections go on through the old process, the new
	// requests through the new one; then the clients are done.
	load.WaitProgress(t, 100, 10*time.Second)
	time.Sleep(2 * time.Second)
	if lb1.Exited() {
		t.Error("the old process exited while it still had connections")
	}
	stopAll()
	<-watchDone
	res := load.Stop()
	// Its last connection gone, the old process exits, before grace ends.
	select {
	case <-lb1.Done():
		if code := lb1.ExitCode(); code != 0 {
			t.Errorf("the old process exited with %d", code)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("the old process did not exit once its connections ended")
	}
	tcpRes, wsRes := <-tcp, <-ws
	t.Logf("load: %s; tcp stream: %d exchanges (%v); websocket: %d exchanges (%v)", res, tcpRes.exchanges, tcpRes.err, wsRes.exchanges, wsRes.err)
	if res.Failed != 0 {
		t.Errorf("%d requests failed", res.Failed)
	}
	if tcpRes.err != nil || wsRes.err != nil {
		t.Errorf("a long connection was cut: tcp %v, websocket %v", tcpRes.err, wsRes.err)
	}
	if len(vipLost) > 0 {
		t.Errorf("the VIP left lb1 at %v", vipLost)
	}
	if got := transitions(t, lb2); got != lb2Transitions {
		t.Errorf("lb2 changed state during the upgrade (%d transitions, %d before)", got, lb2Transitions)
	}
	var after struct {
		PID     int
		Version string
	}
	if err := lb1.CtlJSON(&after, "info"); err != nil {
		t.Fatal(err)
	}
	if after.Version != "e2e-upgraded" || after.PID == before.PID || fmt.Sprint(after.PID) != m[2] {
		t.Errorf("after the upgrade lbctl reaches pid %d version %q", after.PID, after.Version)
	}
	if st := lb1.InstanceState("VI_1"); st != "MASTER" {
		t.Errorf("lb1 is %s after the upgrade", st)
	}
	if st := lb1.ServerState("web", "web1"); st != "DRAIN" {
		t.Errorf("web1 is %s after the upgrade, it was drained", st)
	}
	if st := lb1.ServerState("web", "web2"); st != "UP" {
		t.Errorf("web2 is %s after the upgrade", st)
	}
	if n := tableCount(lb1, "192.0.2.51"); n != 7 {
		t.Errorf("after the upgrade the table counts %d requests from 192.0.2.51, want the 7 counted before it", n)
	}
}

// transitions is VI_1's state transition count on d.
func transitions(t *testing.T, d *LBD) uint64 {
	t.Helper()
	out, _, err := d.ctl("--json", "vip", "status")
	if err != nil {
		t.Fatal(err)
	}
	var st []struct {
		Name     string
		Counters struct{ Transitions uint64 }
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Name == "VI_1" {
			return s.Counters.Transitions
		}
	}
	t.Fatal("no VI_1")
	return 0
}
