package proxy

import (
	"io"
	"testing"
	"time"
)

// TestResumedConn: a parked connection wrapped again (reattach) does what
// a session asks of its net.Conn: raw reads and writes with deadlines,
// its two addresses, a half close.
func TestResumedConn(t *testing.T) {
	c, peer := tcpPair(t)
	local, remote := c.LocalAddr().String(), c.RemoteAddr().String()
	s := &session{cli: endpoint{c: c}}
	if err := s.cli.sys.init(c); err != nil {
		t.Fatal(err)
	}
	fd := s.detach()
	if fd < 0 {
		t.Fatal("detach gave no descriptor")
	}
	s.parkFD = fd
	if err := s.reattach(); err != nil {
		t.Fatal(err)
	}
	rc, ok := s.cli.c.(resumedConn)
	if !ok {
		t.Fatalf("reattached as %T", s.cli.c)
	}
	defer rc.Close()
	if got := rc.LocalAddr().String(); got != local {
		t.Errorf("LocalAddr %s, want %s", got, local)
	}
	if got := rc.RemoteAddr().String(); got != remote {
		t.Errorf("RemoteAddr %s, want %s", got, remote)
	}
	if err := s.cli.write([]byte("ping"), nanotime(), time.Second); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if _, err := io.ReadFull(peer, b); err != nil || string(b) != "ping" {
		t.Fatalf("peer read %q %v", b, err)
	}
	s.cli.armRead(nanotime(), 50*time.Millisecond)
	if _, err := s.cli.fill(); !isTimeout(err) {
		t.Fatalf("a read past its deadline: %v, want a timeout", err)
	}
	peer.Write([]byte("pong"))
	s.cli.armRead(nanotime(), time.Second)
	if _, err := s.cli.fill(); err != nil || string(s.cli.data()) != "pong" {
		t.Fatalf("read %q %v", s.cli.data(), err)
	}
	s.cli.release()
	if err := rc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	peer.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := peer.Read(b); n != 0 || err != io.EOF {
		t.Fatalf("after CloseWrite the peer read %d %v, want EOF", n, err)
	}
}
