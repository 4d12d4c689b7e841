//go:build linux

package vrrp

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/test/syncbuf"
)

// TestLabCapabilities runs a speaker as user nobody with only
// CAP_NET_ADMIN and CAP_NET_RAW (as the systemd unit would), in node b:
// it must win the election, add the VIP, and hand over on SIGTERM.
func TestLabCapabilities(t *testing.T) {
	l := newLab(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	na, nb := l.node("a", 1), l.node("b", 2)
	sa := na.speaker(nil)
	if err := sa.Apply(labConfig(100, nil)); err != nil {
		t.Fatal(err)
	}

	// The test binary, where nobody may run it.
	dir, err := os.MkdirTemp("", l.prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "vrrp.test")
	if err := copyFile(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var out syncbuf.Buffer
	cmd := exec.Command("ip", "netns", "exec", nb.ns, "setpriv",
		"--reuid=65534", "--regid=65534", "--clear-groups",
		"--inh-caps=-all,+net_admin,+net_raw", "--ambient-caps=-all,+net_admin,+net_raw",
		"--bounding-set=-all,+net_admin,+net_raw",
		bin, "-test.run=^TestCapsHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "LBD_VRRP_CAPS_HELPER=1")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("helper output:\n%s", out.String())
		}
	}()
	waitFor(t, 15*time.Second, "the unprivileged speaker MASTER with the VIP", func() bool {
		return strings.Contains(out.String(), "state MASTER") && nb.hasAddr(labVIP) && stateOf(sa, "VI_1") == "BACKUP"
	})
	if !strings.Contains(out.String(), "euid 65534 ") {
		t.Fatalf("helper did not run as nobody")
	}
	_ = cmd.Process.Signal(syscall.SIGTERM) // setpriv and ip exec: the signal reaches the test binary
	waitFor(t, 10*time.Second, "handover to a", func() bool { return stateOf(sa, "VI_1") == "MASTER" && na.hasAddr(labVIP) })
	if err := cmd.Wait(); err != nil {
		t.Errorf("helper: %v", err)
	}
	if nb.hasAddr(labVIP) {
		t.Error("the unprivileged speaker left the VIP behind")
	}
}

// TestCapsHelper is the child of TestLabCapabilities.
func TestCapsHelper(t *testing.T) {
	if os.Getenv("LBD_VRRP_CAPS_HELPER") == "" {
		t.Skip("helper process of TestLabCapabilities")
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	fmt.Printf("euid %d \n", os.Geteuid())
	s := New(zerolog.New(os.Stdout), nil)
	if err := s.Apply(labConfig(200, nil)); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case <-sig:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			return
		case <-tick.C:
			fmt.Printf("state %s\n", stateOf(s, "VI_1"))
		case <-deadline:
			t.Fatal("no SIGTERM")
		}
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
