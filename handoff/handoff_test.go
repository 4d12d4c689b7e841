package handoff

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"lbd/health"
	"lbd/vrrp"
)

// The test binary plays the successor when this is set: TestMain runs
// successor instead of the tests.
const childEnv = "LBD_HANDOFF_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(successor(mode))
	}
	os.Exit(m.Run())
}

// successor is the child's side: read the state, check the inherited
// socket answers, then behave as mode says.
func successor(mode string) int {
	p, err := FromEnv()
	if err != nil || p == nil {
		fmt.Fprintln(os.Stderr, "FromEnv:", p, err)
		return 3
	}
	switch mode {
	case "fail":
		p.Failed(errors.New("cannot load the configuration"))
		return 1
	case "die":
		return 4
	}
	for addr, f := range p.Files(KindFrontend) {
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil || ln.Addr().String() != addr {
			fmt.Fprintln(os.Stderr, "inherited socket:", err)
			return 5
		}
		go func() { // answer one connection: proves the socket works
			c, err := ln.Accept()
			if err == nil {
				io.WriteString(c, "successor\n")
				c.Close()
			}
		}()
	}
	v, err := p.Ready(5 * time.Second)
	if err != nil || len(v) != 1 || v[0].Name != "VI_1" || v[0].State != "MASTER" || len(p.State.Servers) != 1 {
		fmt.Fprintln(os.Stderr, "Ready:", v, err)
		return 6
	}
	if err := p.Done(); err != nil {
		return 7
	}
	time.Sleep(2 * time.Second) // serve the test's connection
	return 0
}

func start(t *testing.T, mode string) (*Successor, net.Listener, error) {
	t.Helper()
	t.Setenv(childEnv, mode)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st := &State{
		Version: "test",
		Sockets: []Socket{{Kind: KindFrontend, Addr: ln.Addr().String()}},
		Servers: []health.ServerHandoff{{Key: "be/s1", Up: true, Admin: "DRAIN", Weight: 3}},
	}
	exe, _ := os.Executable()
	s, err := Start(exe, []string{"-test.run=^$"}, st, []*os.File{f})
	return s, ln, err
}

func TestHandoff(t *testing.T) {
	s, ln, err := start(t, "ok")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitReady(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	// The successor accepts on the socket handed over (the kernel gives
	// the connection to whichever process accepts: stop ours first).
	ln.Close()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendVRRP([]vrrp.InstanceHandoff{{Name: "VI_1", State: "MASTER", VIPsHeld: true}}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	if string(b) != "successor\n" {
		t.Fatalf("the successor answered %q on the inherited socket", b)
	}
	s.Release()
	if err := <-s.exit; err != nil {
		t.Fatalf("successor: %v", err)
	}
}

func TestSuccessorFails(t *testing.T) {
	s, _, err := start(t, "fail")
	if err != nil {
		t.Fatal(err)
	}
	err = s.WaitReady(10 * time.Second)
	if err == nil || !strings.Contains(err.Error(), "cannot load the configuration") {
		t.Fatalf("WaitReady = %v, want the successor's reason", err)
	}
	s.Abort()
}

func TestSuccessorDies(t *testing.T) {
	s, _, err := start(t, "die")
	if err != nil {
		t.Fatal(err)
	}
	err = s.WaitReady(10 * time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit status 4") {
		t.Fatalf("WaitReady = %v, want the exit status", err)
	}
	s.Abort()
}

func TestStartChecksSockets(t *testing.T) {
	if _, err := Start("/bin/true", nil, &State{Sockets: []Socket{{Kind: KindFrontend}}}, nil); err == nil {
		t.Fatal("a socket without a descriptor was accepted")
	}
}

func TestNotASuccessor(t *testing.T) {
	t.Setenv(EnvFD, "")
	if p, err := FromEnv(); p != nil || err != nil {
		t.Fatalf("FromEnv = %v, %v", p, err)
	}
	t.Setenv(EnvFD, "x")
	if _, err := FromEnv(); err == nil {
		t.Fatal("a bad descriptor was accepted")
	}
}
