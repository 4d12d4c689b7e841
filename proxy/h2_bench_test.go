package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

const h2cBenchConfig = `
defaults {
  mode = "http"
  timeouts {
    connect = "1s"
    client = "10s"
    server = "10s"
    http_keep_alive = "10s"
  }
}
frontend "web" {
  bind = ["{{fe}}"]
  h2c = true
  default_backend = "app"
}
backend "app" {
  server "s1" {
    address = "{{s1}}"
    check = false
  }
}
`

// BenchmarkProxyH2 measures small requests of an HTTP/2 client (prior
// knowledge, h2BenchStreams streams at once on one connection) served by
// an HTTP/1.1 server through the engine, as h2load does in the bench: the
// allocation count per request is the HTTP/2 path's (the client reads
// frames by hand and allocates nothing), cpu-ns/op the process's CPU time
// per request (see benchKeptRequests). Profile it with -cpuprofile.
func BenchmarkProxyH2(b *testing.B) {
	fe := benchEngine(b, h2cBenchConfig)
	c, err := net.Dial("tcp", fe)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	cl := newH2BenchClient(c, fe)
	cl.run(b, 1000) // warm up: server connections, pools
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	cl.run(b, b.N)
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

const h2BenchStreams = 10

// h2BenchClient is a minimal HTTP/2 client that keeps h2BenchStreams
// GET requests in flight and counts the streams that end.
type h2BenchClient struct {
	c      net.Conn
	w      *bufio.Writer
	r      *bufio.Reader
	fr     *http2.Framer
	enc    *hpack.Encoder // with a dynamic table, as h2load's
	hb     bytes.Buffer
	fields []hpack.HeaderField
	next   uint32 // next stream identifier
	hdr    [9]byte
	buf    []byte
	recv   int64 // DATA bytes since the last WINDOW_UPDATE
}

func newH2BenchClient(c net.Conn, authority string) *h2BenchClient {
	cl := &h2BenchClient{c: c, w: bufio.NewWriterSize(c, 64<<10), r: bufio.NewReaderSize(c, 64<<10), next: 1, buf: make([]byte, 1<<14)}
	cl.fr = http2.NewFramer(cl.w, nil)
	cl.enc = hpack.NewEncoder(&cl.hb)
	cl.fields = []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":path", Value: "/bench"}, {Name: ":authority", Value: authority}, {Name: "user-agent", Value: "h2load"}}
	cl.w.WriteString(http2.ClientPreface)
	cl.fr.WriteSettings()
	cl.fr.WriteWindowUpdate(0, 1<<30)
	return cl
}

func (cl *h2BenchClient) send() {
	cl.hb.Reset()
	for _, f := range cl.fields {
		cl.enc.WriteField(f)
	}
	cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: cl.next, BlockFragment: cl.hb.Bytes(), EndStream: true, EndHeaders: true})
	cl.next += 2
}

// run makes n requests.
func (cl *h2BenchClient) run(b *testing.B, n int) {
	sent, done := 0, 0
	for ; sent < n && sent < h2BenchStreams; sent++ {
		cl.send()
	}
	for done < n {
		if err := cl.w.Flush(); err != nil {
			b.Fatal(err)
		}
		for {
			ended, err := cl.readFrame()
			if err != nil {
				b.Fatal(err)
			}
			if ended {
				done++
				if sent < n {
					cl.send()
					sent++
				}
			}
			if cl.r.Buffered() == 0 || done == n {
				break
			}
		}
	}
	if err := cl.w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// readFrame reads one frame and answers what must be: it reports whether
// a stream ended.
func (cl *h2BenchClient) readFrame() (bool, error) {
	if _, err := io.ReadFull(cl.r, cl.hdr[:]); err != nil {
		return false, err
	}
	n := int(cl.hdr[0])<<16 | int(cl.hdr[1])<<8 | int(cl.hdr[2])
	typ, flags := http2.FrameType(cl.hdr[3]), http2.Flags(cl.hdr[4])
	if n > len(cl.buf) {
		return false, io.ErrShortBuffer
	}
	p := cl.buf[:n]
	if _, err := io.ReadFull(cl.r, p); err != nil {
		return false, err
	}
	switch typ {
	case http2.FrameData:
		cl.recv += int64(n)
		if cl.recv > 1<<29 {
			cl.fr.WriteWindowUpdate(0, uint32(cl.recv))
			cl.recv = 0
		}
		return flags.Has(http2.FlagDataEndStream), nil
	case http2.FrameHeaders:
		return flags.Has(http2.FlagHeadersEndStream), nil
	case http2.FrameSettings:
		if !flags.Has(http2.FlagSettingsAck) {
			cl.fr.WriteSettingsAck()
		}
	case http2.FramePing:
		if !flags.Has(http2.FlagPingAck) {
			var d [8]byte
			copy(d[:], p)
			cl.fr.WritePing(true, d)
		}
	case http2.FrameGoAway:
		return false, io.ErrUnexpectedEOF
	case http2.FrameRSTStream:
		return false, io.ErrUnexpectedEOF
	}
	return false, nil
}
