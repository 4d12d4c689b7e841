package vrrp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/config"
)

func TestRunCommand(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		args    []string
		timeout time.Duration
		ok      bool
		detail  string
		output  string
	}{
		{"success", []string{"/bin/echo", "hello", "world"}, 5 * time.Second, true, "exit status 0", "hello world\n"},
		{"failure", []string{"/bin/sh", "-c", "echo oops >&2; exit 3"}, 5 * time.Second, false, "exit status 3", "oops\n"},
		{"missing", []string{filepath.Join(dir, "nope")}, 5 * time.Second, false, "no such file", ""},
		// The timeout kills the whole process group: the shell and its sleep.
		{"timeout", []string{"/bin/sh", "-c", "sleep 30; echo never"}, 200 * time.Millisecond, false, "timed out after 200ms (killed)", ""},
		// No shell unless asked: the semicolon is an argument.
		{"no shell", []string{"/bin/echo", "a;", "b"}, 5 * time.Second, true, "exit status 0", "a; b\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res := runCommand(context.Background(), tc.args, tc.timeout)
			if res.ok != tc.ok || !strings.Contains(res.detail, tc.detail) || string(res.output) != tc.output {
				t.Errorf("got ok=%v detail=%q output=%q", res.ok, res.detail, res.output)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %s", took)
			}
		})
	}
}

func TestLimitedBuffer(t *testing.T) {
	var l limitedBuffer
	_, _ = l.Write([]byte(strings.Repeat("x", maxOutput-1)))
	_, _ = l.Write([]byte("yz"))
	if got := l.bytes(); len(got) != maxOutput+3 || !strings.HasSuffix(string(got), "y...") {
		t.Errorf("kept %d bytes ending %q", len(got), got[len(got)-5:])
	}
}

// TestScriptRunnerRiseFallAndNoOverlap runs a real script that is slower
// than its interval: runs never overlap, and the state follows rise/fall.
func TestScriptRunnerRiseFallAndNoOverlap(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "ok")
	lock := filepath.Join(dir, "running")
	// Fails if another run is in progress (mkdir is atomic), else sleeps
	// past the interval and reports whether the flag file exists.
	overlap := filepath.Join(dir, "overlap")
	script := `mkdir "$1" 2>/dev/null || { touch "$3"; exit 99; }; sleep 0.15; rmdir "$1"; test -e "$2"`
	cfg := &config.VRRPScript{Name: "chk", Args: []string{"/bin/sh", "-c", script, "sh", lock, flag, overlap},
		Interval: 50 * time.Millisecond, Timeout: 2 * time.Second, Rise: 2, Fall: 2}
	var changes atomic.Int32
	r := startScript(cfg, zerolog.New(zerolog.NewTestWriter(t)), func() { changes.Add(1) }, nil)
	defer r.stop()

	waitState := func(ok bool) {
		t.Helper()
		waitFor(t, 10*time.Second, "script state", func() bool {
			known, got, _ := r.status()
			return known && got == ok
		})
	}
	waitState(false)
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitState(true)
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	waitState(false)
	if n := changes.Load(); n != 3 {
		t.Errorf("%d state changes, want 3 (first result, OK, KO)", n)
	}
	if _, err := os.Stat(overlap); err == nil {
		t.Error("two runs of the script overlapped")
	}
}

func TestScriptTimeoutIsFailure(t *testing.T) {
	cfg := &config.VRRPScript{Name: "slow", Args: []string{"/bin/sleep", "10"},
		Interval: 100 * time.Millisecond, Timeout: 100 * time.Millisecond, Rise: 1, Fall: 1}
	r := startScript(cfg, zerolog.Nop(), func() {}, nil)
	defer r.stop()
	waitFor(t, 5*time.Second, "a result", func() bool { k, _, _ := r.status(); return k })
	if _, ok, detail := r.status(); ok || !strings.Contains(detail, "timed out") {
		t.Errorf("ok=%v detail=%q", ok, detail)
	}
}

func TestNotifyQueueRunsInOrder(t *testing.T) {
	out := filepath.Join(t.TempDir(), "log")
	q := newNotifyQueue(zerolog.New(zerolog.NewTestWriter(t)))
	for _, st := range []string{"BACKUP", "MASTER", "FAULT"} {
		q.push([]string{"/bin/sh", "-c", `echo "$*" >> "$0"`, out, "INSTANCE", "VI_1", st, "100"})
	}
	q.close()
	q.push([]string{"/bin/false"}) // after close: ignored, no panic
	select {
	case <-q.done:
	case <-time.After(10 * time.Second):
		t.Fatal("queue did not drain")
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := "INSTANCE VI_1 BACKUP 100\nINSTANCE VI_1 MASTER 100\nINSTANCE VI_1 FAULT 100\n"
	if string(b) != want {
		t.Errorf("notify log %q, want %q", b, want)
	}
}
