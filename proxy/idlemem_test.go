package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
)

// BenchmarkIdleConnHeap measures the Go heap an idle keep-alive client
// connection costs once it is parked (b.N connections, each after one
// request): the part of lbd's memory per connection that the code
// decides; the bench's RSS figure adds the runtime's slack. With
// LBD_HEAPPROFILE=FILE it writes the heap profile of the idle state.
func BenchmarkIdleConnHeap(b *testing.B) {
	b.Run("seq", func(b *testing.B) { idleConnHeap(b, false) })
	b.Run("burst", func(b *testing.B) { idleConnHeap(b, true) })
}

// idleConnHeap: b.N connections make one request each, one after the
// other or (burst) all at once, then idle.
func idleConnHeap(b *testing.B, burst bool) {
	if parkUnsupported {
		b.Skip("no parker on this system")
	}
	r, fe := keepAliveRig(b, "300s", "300s", "access_log = false") // the rig keeps log lines in memory
	conns := make([]net.Conn, 0, b.N)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	if os.Getenv("LBD_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 1
	}
	before := heap()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := net.Dial("tcp", fe)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		if !burst {
			request(b, c)
		}
	}
	if burst {
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Go(func() { request(b, c) })
		}
		wg.Wait()
	}
	b.StopTimer()
	waitUntil(b, func() bool { return r.e.parker.count() == b.N })
	after := heap()
	// The client side of each connection lives in this process too: its
	// net.Conn is measured alone and taken off.
	client := clientConnHeap(b, b.N, heap)
	b.ReportMetric((float64(after)-float64(before))/float64(b.N)-client, "heapB/conn")
	if f := os.Getenv("LBD_HEAPPROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			b.Fatal(err)
		}
		pprof.Lookup("heap").WriteTo(out, 0)
		out.Close()
	}
}

// clientConnHeap is the heap one client net.Conn held open costs (dialled
// to a listener that closes its side at once).
func clientConnHeap(b *testing.B, n int, heap func() uint64) float64 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	before := heap()
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	after := heap()
	for _, c := range conns {
		c.Close()
	}
	return (float64(after) - float64(before)) / float64(n)
}

func request(b *testing.B, c net.Conn) {
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		b.Error(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
}
