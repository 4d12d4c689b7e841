package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// quietRig: frontend "web" on 127.0.0.1 (standing for a VIP) and on
// 127.0.0.2 (another address), frontend "raw" in tcp mode on 127.0.0.1,
// both to a backend whose /slow waits for release.
func quietRig(t *testing.T) (r *rig, vipFE, otherFE, tcpFE string, arrived chan string, release chan struct{}) {
	t.Helper()
	arrived = make(chan string, 16)
	release = make(chan struct{})
	b := backendServer(t, "s1", func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/slow" {
			arrived <- req.Host
			<-release
		}
		io.WriteString(w, "ok")
	})
	p1, p2, p3 := freePort(t), freePort(t), freePort(t)
	vipFE = p1
	otherFE = strings.Replace(p2, "127.0.0.1", "127.0.0.2", 1)
	tcpFE = p3
	src := basicHTTP + `
frontend "raw" {
  mode = "tcp"
  bind = ["{{tcp}}"]
  default_backend = "rawbe"
}
backend "rawbe" {
  mode = "tcp"
  server "s1" {
    address = "{{s1}}"
    check = false
  }
}
`
	src = strings.Replace(src, `bind = ["{{fe}}"]`, `bind = ["{{fe}}", "{{fe2}}"]`, 1)
	r = newRig(t, src, map[string]string{"fe": vipFE, "fe2": otherFE, "tcp": tcpFE, "s1": hostport(b)})
	return r, vipFE, otherFE, tcpFE, arrived, release
}

var loopVIP = []netip.Addr{netip.MustParseAddr("127.0.0.1")}

// waitQuiet runs WaitQuiet in the background.
func waitQuiet(e *Engine, d time.Duration) chan error {
	ch := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		ch <- e.WaitQuiet(ctx, loopVIP)
	}()
	return ch
}

func TestWaitQuietWaitsForRequestInProgress(t *testing.T) {
	r, vipFE, otherFE, _, arrived, release := quietRig(t)
	// Busy on another address: does not count.
	other := dialClient(t, otherFE)
	other.send(t, "GET /slow HTTP/1.1\r\nHost: other\r\n\r\n")
	<-arrived
	// Busy on the VIP: counts until its response is out.
	busy := dialClient(t, vipFE)
	busy.send(t, "GET /slow HTTP/1.1\r\nHost: vip\r\n\r\n")
	<-arrived
	// Idle keep-alive on the VIP: closed by the wait, does not count.
	idle := dialClient(t, vipFE)
	idle.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	idle.read(t, "GET")

	done := waitQuiet(r.e, 10*time.Second)
	idle.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := idle.br.ReadByte(); err == nil || errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		t.Fatalf("the idle keep-alive connection on the VIP was not closed: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("WaitQuiet returned %v with a request in progress", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	resp, body := busy.read(t, "GET")
	if resp.StatusCode != 200 || body != "ok" || !resp.Close {
		t.Errorf("the request in progress: %d %q close=%v, want 200 with Connection: close", resp.StatusCode, body, resp.Close)
	}
	start := time.Now()
	if err := <-done; err != nil {
		t.Fatalf("WaitQuiet: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("WaitQuiet returned %s after the last request ended", d)
	}
	// The other address's keep-alive connection is untouched.
	if resp, _ := other.read(t, "GET"); resp.Close {
		t.Error("a connection to another address was told to close")
	}
}

func TestWaitQuietBoundedByContext(t *testing.T) {
	r, vipFE, _, _, arrived, release := quietRig(t)
	defer close(release)
	busy := dialClient(t, vipFE)
	busy.send(t, "GET /slow HTTP/1.1\r\nHost: vip\r\n\r\n")
	<-arrived
	start := time.Now()
	err := <-waitQuiet(r.e, 200*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitQuiet with a request that never ends: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %s", d)
	}
	r.e.sessMu.Lock()
	n := len(r.e.quietWaiters)
	r.e.sessMu.Unlock()
	if n != 0 {
		t.Errorf("%d waiters left registered", n)
	}
}

func TestWaitQuietIdleAddress(t *testing.T) {
	r, _, _, _, _, _ := quietRig(t)
	start := time.Now()
	if err := <-waitQuiet(r.e, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// Nothing came: it waited quietPreferEnd for a connection to come and
	// go, then took the quiet moment.
	if d := time.Since(start); d < quietPreferEnd || d > 2*time.Second {
		t.Errorf("WaitQuiet on an idle address returned after %s, want about %s", d, quietPreferEnd)
	}
}

// TestWaitQuietPrefersJustAfterEnd: a wait that starts quiet and sees a
// request come within quietPreferEnd returns right after it ended, even
// past quietPreferEnd: for a client that polls, that is the moment it is
// least likely to be sending again.
func TestWaitQuietPrefersJustAfterEnd(t *testing.T) {
	r, vipFE, _, _, arrived, release := quietRig(t)
	done := waitQuiet(r.e, 10*time.Second)
	busy := dialClient(t, vipFE)
	busy.send(t, "GET /slow HTTP/1.1\r\nHost: vip\r\n\r\n")
	<-arrived
	select {
	case err := <-done:
		// Only if the request came after quietPreferEnd (a slow machine).
		t.Logf("WaitQuiet returned %v before the request arrived", err)
		close(release)
		return
	case <-time.After(3 * quietPreferEnd):
	}
	close(release)
	busy.read(t, "GET")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestWaitQuietTunnels(t *testing.T) {
	r, _, _, tcpFE, _, _ := quietRig(t)
	// An established tcp-mode tunnel with nothing moving is not held
	// back for: a long-lived connection is cut by any move.
	c, err := net.Dial("tcp", tcpFE)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1024)
	if n, err := c.Read(buf); err != nil || !strings.Contains(string(buf[:n]), "200 OK") {
		t.Fatalf("through the tunnel: %q %v", buf[:n], err)
	}
	time.Sleep(2 * quietTunnelIdle)
	start := time.Now()
	if err := <-waitQuiet(r.e, 5*time.Second); err != nil {
		t.Fatalf("WaitQuiet with an idle tunnel: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %s", d)
	}
}

func TestWaitQuietFreshConnection(t *testing.T) {
	r, vipFE, _, _, _, _ := quietRig(t)
	// Connected, no request yet: busy for quietFresh, then not (a
	// preconnect); it stays open and is served if its request comes.
	c := dialClient(t, vipFE)
	waitUntil(t, func() bool { return r.e.sessionCount() == 1 })
	start := time.Now()
	if err := <-waitQuiet(r.e, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %s", d)
	}
	c.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, body := c.read(t, "GET"); resp.StatusCode != 200 || body != "ok" || !resp.Close {
		t.Errorf("the late request: %d %q close=%v", resp.StatusCode, body, resp.Close)
	}
}
