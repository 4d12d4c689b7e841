package proxy

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestStale: an idle server connection is stale once the server sent
// bytes nobody asked for or closed it; the look takes nothing from the
// socket and allocates nothing (it runs before every reuse).
func TestStale(t *testing.T) {
	c, srv := tcpPair(t)
	var x sysio
	if x.stale(c) {
		t.Fatal("a quiet connection is stale")
	}
	if n := testing.AllocsPerRun(100, func() { x.stale(c) }); n != 0 {
		t.Errorf("stale allocates %.1f times a call", n)
	}
	srv.Write([]byte("X"))
	deadline := time.Now().Add(2 * time.Second)
	for !x.stale(c) {
		if time.Now().After(deadline) {
			t.Fatal("a connection with a stray byte is not stale")
		}
		time.Sleep(time.Millisecond)
	}
	b := make([]byte, 1)
	c.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := c.Read(b); n != 1 || b[0] != 'X' {
		t.Fatalf("the peeked byte was taken: %d %q %v", n, b[:n], err)
	}
	if x.stale(c) {
		t.Fatal("stale again once the byte was read")
	}
	srv.Close()
	for !x.stale(c) {
		if time.Now().After(deadline) {
			t.Fatal("a closed connection is not stale")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestNoTCPKeepAlive: neither accepted client connections nor dialled
// server connections carry TCP keep-alive probes (Go's default, four
// system calls a connection; HAProxy's clitcpka and srvtcpka are off by
// default too).
func TestNoTCPKeepAlive(t *testing.T) {
	b := backendServer(t, "s1", nil)
	fe := freePort(t)
	r := newRig(t, basicHTTP, map[string]string{"fe": fe, "s1": hostport(b)})
	cl := dialClient(t, fe)
	cl.send(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, _ := cl.read(t, "GET"); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	// Half a head: the session reads it, holding its connection (an idle
	// one may be parked without it).
	cl.send(t, "GET / HTTP/1.1\r\n")
	time.Sleep(20 * time.Millisecond)
	keepAlive := func(c sockConn) int {
		rc, err := c.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		v := -1
		rc.Control(func(fd uintptr) { v, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE) })
		return v
	}
	var checked int
	r.e.sessMu.Lock()
	for s := range r.e.sessions {
		s.kmu.Lock()
		if c := s.cli.c; c != nil {
			if v := keepAlive(c); v != 0 {
				t.Errorf("a client connection has SO_KEEPALIVE %d", v)
			}
			checked++
		}
		if u := s.x.upc.Load(); u != nil { // kept while the client waits on the goroutine
			if v := keepAlive(u.ep.c); v != 0 {
				t.Errorf("a server connection has SO_KEEPALIVE %d", v)
			}
			checked++
		}
		s.kmu.Unlock()
	}
	r.e.sessMu.Unlock()
	r.e.mu.Lock()
	for _, srv := range r.e.servers {
		srv.idleMu.Lock()
		for _, u := range srv.idle {
			if v := keepAlive(u.ep.c); v != 0 {
				t.Errorf("a server connection has SO_KEEPALIVE %d", v)
			}
			checked++
		}
		srv.idleMu.Unlock()
	}
	r.e.mu.Unlock()
	if checked < 2 {
		t.Fatalf("%d connections checked, want the client's and the server's", checked)
	}
}

// tcpPair is a connected loopback pair: ours and the peer's end.
func tcpPair(t *testing.T) (*net.TCPConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	nc, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	t.Cleanup(func() { nc.Close(); peer.Close() })
	return nc.(*net.TCPConn), peer
}

// TestSendFill: the request written from inside the read reaches the
// server and its answer is read, many times over on one connection (the
// wait for the answer is not bounded by safeWait, so a lost readiness
// would hang here), without allocating; a request bigger than the
// socket buffers is finished by an ordinary write; a write that fails
// is errUnsent with nothing read.
func TestSendFill(t *testing.T) {
	c, peer := tcpPair(t)
	go func() {
		b := make([]byte, 64<<10)
		for {
			n, err := peer.Read(b)
			if err != nil {
				return
			}
			if _, err := peer.Write(b[:n]); err != nil { // echo: the answer is the request
				return
			}
		}
	}()
	ep := &endpoint{c: c}
	req := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	round := func() {
		n, err := ep.sendFill(req, nanotime(), 5*time.Second)
		for err == nil && ep.buffered() < len(req) {
			var m int
			m, err = ep.fill()
			n += m
		}
		if err != nil || string(ep.data()) != string(req) {
			t.Fatalf("sendFill: %d %q %v", n, ep.data(), err)
		}
		ep.consume(ep.buffered())
	}
	for range 1000 {
		round()
	}
	if n := testing.AllocsPerRun(200, round); n != 0 {
		t.Errorf("sendFill allocates %.1f times a request", n)
	}

	// Bigger than what the sockets hold: the rest goes by write.
	big := make([]byte, 8<<20)
	c1, peer1 := tcpPair(t)
	go func() {
		if _, err := io.ReadFull(peer1, make([]byte, len(big))); err == nil {
			peer1.Write([]byte("done"))
		}
	}()
	ep1 := &endpoint{c: c1}
	if n, err := ep1.sendFill(big, nanotime(), 5*time.Second); err != nil || string(ep1.data()) != "done" {
		t.Fatalf("big request: %d %q %v", n, ep1.data(), err)
	}
	ep1.release()

	// Our side can no longer write: the request never left.
	c2, _ := tcpPair(t)
	c2.CloseWrite()
	ep2 := &endpoint{c: c2}
	n, err := ep2.sendFill(req, nanotime(), time.Second)
	var un errUnsent
	if n != 0 || !errors.As(err, &un) {
		t.Fatalf("write after shutdown: %d %v, want errUnsent", n, err)
	}
	ep2.release()
}
