package proxy

import (
	"net"
	"testing"
	"time"
)

// TestStale: an idle server connection is stale once the server sent
// bytes nobody asked for or closed it; the look takes nothing from the
// socket and allocates nothing (it runs before every reuse).
func TestStale(t *testing.T) {
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
	defer nc.Close()
	srv := <-accepted
	defer srv.Close()
	var x sysio
	c := nc.(*net.TCPConn)
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
	nc.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := nc.Read(b); n != 1 || b[0] != 'X' {
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
