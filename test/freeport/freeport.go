// Package freeport gives tests loopback ports that nothing listens on and
// that the kernel will not hand to anyone else while the test runs.
//
// The usual trick (listen on port 0, read the port, close, give the
// number to the code under test) races with every other bind on the
// machine: the port is back in the kernel's ephemeral range the moment
// it is closed, and the next listen on port 0, in this test or in another
// package's test binary running at the same time, may get it. CI saw it:
// a TLS passthrough test's three backends were opened after its frontend
// port was chosen, one of them got that port, the engine's bind failed,
// and the client talked to the backend directly. Here ports come from
// below the ephemeral range (/proc/sys/net/ipv4/ip_local_port_range, RFC
// 6335 §6 for the ranges), which neither listens on port 0 nor outgoing
// connections ever use, at random, checked free by a bind, and never
// given twice by one process.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	given = map[int]bool{}
	low   = 10000 // the range this package draws from: [low, high)
	high  = ephemeralStart()
)

// ephemeralStart is the first port of the kernel's ephemeral range
// (32768 on Linux by default, 49152 elsewhere per RFC 6335).
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11000 {
				return n
			}
		}
	}
	return 32768
}

// Addr returns host:port for a free port of host ("127.0.0.1", "::1").
func Addr(t testing.TB, host string) string {
	t.Helper()
	return net.JoinHostPort(host, strconv.Itoa(Port(t, host)))
}

// Loopback is Addr(t, "127.0.0.1").
func Loopback(t testing.TB) string {
	t.Helper()
	return Addr(t, "127.0.0.1")
}

// Port returns a port of host that is free now, below the ephemeral
// range, and not returned before by this process.
func Port(t testing.TB, host string) int {
	t.Helper()
	p, err := pick(host)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pick tries random ports until one binds.
func pick(host string) (int, error) {
	mu.Lock()
	defer mu.Unlock()
	var last error
	for range 200 {
		p := low + rand.IntN(high-low)
		if given[p] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			last = err
			continue
		}
		l.Close()
		given[p] = true
		return p, nil
	}
	return 0, fmt.Errorf("freeport: no free port of %s in [%d, %d): %v", host, low, high, last)
}
