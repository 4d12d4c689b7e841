package proxy

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/health"
)

// fastBackend answers every request head with a fixed small response.
func fastBackend(b testing.TB) string {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nhello world\n")
	return rawBackend(b, func(c net.Conn) {
		buf := make([]byte, 16384)
		have := 0
		for {
			n, err := c.Read(buf[have:])
			if err != nil {
				return
			}
			have += n
			for {
				i := bytes.Index(buf[:have], []byte("\r\n\r\n"))
				if i < 0 {
					break
				}
				c.Write(resp)
				copy(buf, buf[i+4:have])
				have -= i + 4
			}
		}
	})
}

// BenchmarkProxyKeepAlive measures one small request through the HTTP
// path on a kept client connection: the allocation count is the data
// path's (the client and server here are part of the measure).
func BenchmarkProxyKeepAlive(b *testing.B) {
	benchKeptRequests(b, basicHTTP, [][]byte{[]byte("GET /bench HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\n\r\n")})
}

// benchKeptRequests sends reqs in turn on one kept connection through a
// frontend of src to fastBackend, each once before the clock starts (the
// entries they track exist then). Besides ns/op it reports cpu-ns/op,
// the process's CPU time per request (client and server included): on a
// machine shared with other work the wall time moves with their load,
// the CPU time much less.
func benchKeptRequests(b *testing.B, src string, reqs [][]byte) {
	c, err := net.Dial("tcp", benchEngine(b, src))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	want := len("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nhello world\n")
	buf := make([]byte, 4096)
	send := func(req []byte) {
		c.Write(req)
		if _, err := io.ReadAtLeast(c, buf, want); err != nil {
			b.Fatal(err)
		}
		if string(buf[:12]) != "HTTP/1.1 200" {
			b.Fatalf("%q", buf[:12])
		}
	}
	for _, req := range reqs {
		send(req)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		send(reqs[i%len(reqs)])
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// benchEngine runs an engine with the frontend {{fe}} of src in front of
// fastBackend ({{s1}}) until the benchmark ends; it returns {{fe}}.
func benchEngine(b *testing.B, src string) string {
	srv := fastBackend(b)
	fe := freePort(b)
	cfg := parse(b, src, map[string]string{"fe": fe, "s1": srv})
	pool := health.NewPool(zerolog.Nop())
	pool.Apply(cfg)
	e := New(zerolog.Nop(), pool)
	if err := e.Apply(cfg); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Shutdown(context.Background()) })
	return fe
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestAccessLogNoAlloc: writing an access line allocates nothing.
func TestAccessLogNoAlloc(t *testing.T) {
	e := New(zerolog.New(io.Discard), health.NewPool(zerolog.Nop()))
	defer e.Shutdown(t.Context())
	st := &frontendState{name: "web", lim: newLimiter(0)}
	s := &session{e: e, fe: &frontend{name: "web", st: st}, fst: st, peer: netip.MustParseAddrPort("192.0.2.1:5555")}
	s.x.session = s
	tx := getTxn()
	tx.reqLine = append(tx.reqLine, "GET / HTTP/1.1"...)
	tx.status = 200
	tx.tIdle, tx.tFirst, tx.tHead, tx.tEnd = 1, 2, 3, 4
	x := s.begin(s.fe)
	allocs := testing.AllocsPerRun(100, func() { x.logHTTP(tx) })
	if allocs != 0 {
		t.Fatalf("%v allocations per access line", allocs)
	}
}
