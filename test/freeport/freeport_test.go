package freeport

import (
	"net"
	"strconv"
	"testing"
)

// TestPortsOutsideEphemeral: ports come from below the ephemeral range,
// are free, and never come twice; a listen on port 0 meanwhile gets none
// of them.
func TestPortsOutsideEphemeral(t *testing.T) {
	seen := map[int]bool{}
	for range 300 {
		p := Port(t, "127.0.0.1")
		if p < low || p >= high {
			t.Fatalf("port %d outside [%d, %d)", p, low, high)
		}
		if seen[p] {
			t.Fatalf("port %d given twice", p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d not free: %v", p, err)
		}
		l.Close()
	}
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if seen[p] {
			t.Fatalf("a listen on port 0 got port %d, given out", p)
		}
	}
}

// TestTakenPortSkipped: a port someone listens on is never returned.
func TestTakenPortSkipped(t *testing.T) {
	saved := [2]int{low, high}
	defer func() { low, high = saved[0], saved[1] }()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	low, high = taken, taken+1 // the only candidate is taken
	if p, err := pick("127.0.0.1"); err == nil {
		t.Fatalf("got port %d, which is taken", p)
	}
}
