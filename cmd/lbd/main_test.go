package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunFlags(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.hcl")
	bad := filepath.Join(dir, "bad.hcl")
	os.WriteFile(good, []byte(testConfig), 0o644)
	os.WriteFile(bad, []byte("global {\n  grace = 5\n}\n"), 0o644)
	cases := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"check valid", []string{"-c", "-f", good}, 0, "configuration is valid", ""},
		{"check invalid", []string{"-c", "-f", bad}, 1, "", bad + `:2:11: grace: a duration string such as "2s" is required, got a number`},
		{"check missing file", []string{"-c", "-f", filepath.Join(dir, "none.hcl")}, 1, "", "cannot read configuration"},
		{"version", []string{"--version"}, 0, "lbd ", ""},
		{"unknown flag", []string{"--nope"}, 1, "", "flag provided but not defined"},
		{"extra argument", []string{"-f", good, "extra"}, 1, "", `unexpected argument "extra"`},
		{"empty file name", []string{"-c", "-f", ""}, 1, "", "lbd: -f needs a path"},
		{"empty socket path", []string{"-f", good, "--socket", ""}, 1, "", "lbd: --socket needs a path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), tc.inStdout) || !strings.Contains(errb.String(), tc.inStderr) {
				t.Errorf("stdout %q stderr %q", out.String(), errb.String())
			}
		})
	}
}

const testConfig = `
global {
  log_level = "debug"
  grace     = "1s"
}
frontend "web" {
  bind            = ["127.0.0.1:18930"]
  default_backend = "app"
}
backend "app" {
  server "a" {
    address = "127.0.0.1:9"
    check   = false
  }
}
`

// buildTools builds lbd and lbctl once for the process tests.
func buildTools(t *testing.T) (lbd, lbctl string) {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{"lbd", "lbctl"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, p), "lbd/cmd/"+p)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", p, err, out)
		}
	}
	return filepath.Join(dir, "lbd"), filepath.Join(dir, "lbctl")
}

// TestDaemonLifecycle runs the real binaries: start, status through lbctl,
// a refused reload (lbctl and SIGHUP) that keeps the running configuration,
// a good reload, and a clean stop.
func TestDaemonLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	lbd, lbctl := buildTools(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "lbd.hcl")
	sock := filepath.Join(dir, "admin.sock")
	cfg := strings.Replace(testConfig, "127.0.0.1:18930", "127.0.0.1:18931", 1)
	os.WriteFile(cfgPath, []byte(cfg), 0o644)

	var logs bytes.Buffer
	daemon := exec.Command(lbd, "-f", cfgPath, "--socket", sock)
	daemon.Stderr = &logs
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- daemon.Wait() }()
	t.Cleanup(func() {
		daemon.Process.Kill()
		if t.Failed() {
			t.Logf("lbd log:\n%s", logs.String())
		}
	})

	ctl := func(args ...string) (string, int) {
		out, err := exec.Command(lbctl, append([]string{"--socket", sock}, args...)...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, code := ctl("info"); code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("admin socket never answered")
		}
		time.Sleep(50 * time.Millisecond)
	}

	out, code := ctl("--json", "backend", "status")
	var backends []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &backends) != nil || len(backends) != 1 || backends[0]["name"] != "app" {
		t.Fatalf("backend status (%d): %s", code, out)
	}
	server := backends[0]["servers"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "address", "state", "weight", "cur_conns", "queue", "check"} {
		if _, ok := server[k]; !ok {
			t.Errorf("server JSON lacks %q: %v", k, server)
		}
	}

	// A broken file: lbctl reload prints the diagnostics and exits 1.
	os.WriteFile(cfgPath, []byte(cfg+"\nbackend \"b\" {\n  balance = \"fastest\"\n}\n"), 0o644)
	out, code = ctl("reload")
	if code != 1 || !strings.Contains(out, cfgPath+":18:13: balance") {
		t.Fatalf("bad reload: exit %d\n%s", code, out)
	}
	daemon.Process.Signal(syscall.SIGHUP)
	out, code = ctl("backend", "status", "app")
	if code != 0 || !strings.Contains(out, "127.0.0.1:9") {
		t.Fatalf("after refused reloads (%d): %s", code, out)
	}
	if _, code := ctl("backend", "status", "b"); code != 1 {
		t.Fatal("a refused reload leaked a backend")
	}
	if out, _ := ctl("info"); !strings.Contains(out, "2 (2 refused)") || !strings.Contains(out, "REFUSED") {
		t.Fatalf("info after refused reloads:\n%s", out)
	}

	// A good file is applied.
	os.WriteFile(cfgPath, []byte(strings.Replace(cfg, `server "a"`, `server "z"`, 1)), 0o644)
	if out, code := ctl("reload"); code != 0 {
		t.Fatalf("good reload: %d %s", code, out)
	}
	if out, _ := ctl("backend", "status"); !strings.Contains(out, " z ") {
		t.Fatalf("reload not applied: %s", out)
	}

	// log_level follows a reload (a bad request is logged at debug level
	// before, not after); a new log_format is reported as waiting for a
	// restart.
	badRequest := func() {
		c, err := net.Dial("tcp", "127.0.0.1:18931")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("NOT HTTP\r\n\r\n"))
		io.ReadAll(c) // the 400, then the close
	}
	badRequest()
	quiet := strings.Replace(strings.Replace(cfg, `server "a"`, `server "z"`, 1), `log_level = "debug"`, "log_level = \"warn\"\n  log_format = \"console\"", 1)
	os.WriteFile(cfgPath, []byte(quiet), 0o644)
	if out, code := ctl("reload"); code != 0 {
		t.Fatalf("log level reload: %d %s", code, out)
	}
	badRequest()

	daemon.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("lbd exit: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("lbd did not stop on SIGTERM")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Error("admin socket left behind")
	}
	if !strings.Contains(logs.String(), "reload refused") {
		t.Errorf("refused reload not logged:\n%s", logs.String())
	}
	if n := strings.Count(logs.String(), `"bad request"`); n != 1 {
		t.Errorf("bad requests logged at debug level: %d, want 1 (before log_level = warn only)", n)
	}
	if !strings.Contains(logs.String(), "log_format changes at the next restart") {
		t.Error("a changed log_format was not reported")
	}
}

// TestLogTargets runs the daemon with a syslog target on a UDP socket the
// test reads: its own log lines arrive framed as RFC 3164 with lbd's tag,
// and a reload that removes the target stops them.
func TestLogTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	lbd, lbctl := buildTools(t)
	recv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "lbd.hcl")
	sock := filepath.Join(dir, "admin.sock")
	cfg := strings.Replace(testConfig, "127.0.0.1:18930", "127.0.0.1:18932", 1)
	withLog := strings.Replace(cfg, "global {", "global {\n  log_tag = \"lbdtest\"\n  log \"udp@"+recv.LocalAddr().String()+"\" {\n    facility = \"local3\"\n  }", 1)
	os.WriteFile(cfgPath, []byte(withLog), 0o644)
	daemon := exec.Command(lbd, "-f", cfgPath, "--socket", sock)
	var logs bytes.Buffer
	daemon.Stderr = &logs
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		daemon.Process.Kill()
		daemon.Wait()
		if t.Failed() {
			t.Logf("lbd log:\n%s", logs.String())
		}
	})
	recv.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	started := false
	for !started {
		n, _, err := recv.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no \"lbd started\" line on the log target: %v", err)
		}
		line := string(buf[:n])
		// local3.info = 19*8+6 = 158
		if !strings.HasPrefix(line, "<158>") || !strings.Contains(line, " lbdtest[") || !strings.HasSuffix(line, "\n") {
			t.Fatalf("not an RFC 3164 line at local3.info from lbdtest: %q", line)
		}
		started = strings.Contains(line, `"message":"lbd started"`)
	}
	// A reload without the target: nothing more arrives.
	os.WriteFile(cfgPath, []byte(cfg), 0o644)
	if out, err := exec.Command(lbctl, "--socket", sock, "reload").CombinedOutput(); err != nil {
		t.Fatalf("reload: %v %s", err, out)
	}
	for {
		recv.SetReadDeadline(time.Now().Add(time.Second))
		n, _, err := recv.ReadFrom(buf)
		if err != nil {
			break // silent for a second: the target is gone
		}
		if strings.Contains(string(buf[:n]), "reload: configuration applied") {
			t.Fatalf("a line after the reload that removed the target: %q", buf[:n])
		}
	}
}
