package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"lbd/h1"
)

// pump is a minimal caller of a Conn over a socket, for interop tests: one
// goroutine reads and feeds, the streams' goroutines write through
// WriteH1 and wait for windows; one lock serializes them.
type pump struct {
	mu    sync.Mutex
	cond  *sync.Cond
	c     *Conn
	nc    net.Conn
	dead  bool
	onReq func(p *pump, st *Stream, q *Request)
	// per stream: the HTTP/1.1 message received (head, framed body)
	msgs map[*Stream]*bytes.Buffer
	done map[*Stream]bool
	resp map[*Stream][]*Response
}

func newPump(nc net.Conn, role Role, cfg Config) *pump {
	p := &pump{nc: nc, msgs: map[*Stream]*bytes.Buffer{}, done: map[*Stream]bool{}, resp: map[*Stream][]*Response{}}
	p.cond = sync.NewCond(&p.mu)
	p.c = NewConn(role, cfg, (*pumpHandler)(p))
	return p
}

type pumpHandler pump

func (h *pumpHandler) Request(st *Stream, q *Request) {
	p := (*pump)(h)
	b := &bytes.Buffer{}
	b.Write(q.Head)
	p.msgs[st] = b
	if q.EndStream {
		p.done[st] = true
	}
	go p.onReq(p, st, &Request{Head: append([]byte(nil), q.Head...), EndStream: q.EndStream, Chunked: q.Chunked, Status: q.Status})
}

func (h *pumpHandler) Response(st *Stream, r *Response) {
	p := (*pump)(h)
	cp := *r
	cp.Head = append([]byte(nil), r.Head...)
	p.resp[st] = append(p.resp[st], &cp)
	if !r.Interim {
		b := &bytes.Buffer{}
		b.Write(r.Head)
		p.msgs[st] = b
	}
	if r.EndStream {
		p.done[st] = true
	}
	p.cond.Broadcast()
}

func (h *pumpHandler) Data(st *Stream, d []byte, end bool) {
	p := (*pump)(h)
	b := p.msgs[st]
	if st.chunked {
		b.Write(AppendChunk(nil, d))
		if end {
			b.Write(AppendLastChunk(nil, nil))
		}
	} else {
		b.Write(d)
	}
	p.c.Consumed(st, len(d))
	if end {
		p.done[st] = true
	}
	p.cond.Broadcast()
}

func (h *pumpHandler) Trailers(st *Stream, f []byte) {
	p := (*pump)(h)
	if st.chunked {
		p.msgs[st].Write(AppendLastChunk(nil, f))
	}
	p.done[st] = true
	p.cond.Broadcast()
}

func (h *pumpHandler) Reset(st *Stream, code ErrCode, remote bool) {
	p := (*pump)(h)
	p.done[st] = true
	p.cond.Broadcast()
}
func (h *pumpHandler) Writable(st *Stream)         { (*pump)(h).cond.Broadcast() }
func (h *pumpHandler) Refused(id uint32, s string) {}

// flushLocked writes the output; called with mu held.
func (p *pump) flushLocked() {
	if b := p.c.Output(nil); len(b) > 0 {
		if _, err := p.nc.Write(b); err != nil {
			p.dead = true
		}
	}
}

func (p *pump) run() {
	p.mu.Lock()
	p.flushLocked()
	p.mu.Unlock()
	buf := make([]byte, 1<<16)
	have := 0
	for {
		n, err := p.nc.Read(buf[have:])
		have += n
		p.mu.Lock()
		k, ferr := p.c.Feed(buf[:have])
		copy(buf, buf[k:have])
		have -= k
		p.flushLocked()
		if err != nil || ferr != nil {
			p.dead = true
		}
		p.cond.Broadcast()
		p.mu.Unlock()
		if err != nil || ferr != nil {
			p.nc.Close()
			return
		}
	}
}

// write sends msg on st, waiting for windows as needed.
func (p *pump) write(st *Stream, msg []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(msg) > 0 {
		n, err := p.c.WriteH1(st, msg)
		msg = msg[n:]
		p.flushLocked()
		if err != nil {
			return err
		}
		if n == 0 {
			if p.dead {
				return io.ErrClosedPipe
			}
			p.cond.Wait()
		}
	}
	return nil
}

// wait waits for st's message to be complete and returns it.
func (p *pump) wait(st *Stream) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.done[st] && !p.dead {
		p.cond.Wait()
	}
	if b := p.msgs[st]; b != nil {
		return append([]byte(nil), b.Bytes()...)
	}
	return nil
}

// readBody reads an HTTP/1.1 message's body in the framing its head
// declares, with h1, as the engine would.
func readBody(t testing.TB, msg []byte, response bool) (h1.Head, string, string) {
	var m h1.Head
	end, _ := h1.HeadEnd(msg, 0)
	if end < 0 {
		t.Fatalf("no head in %q", msg)
	}
	var e h1.Err
	if response {
		e = m.ParseResponse(msg[:end])
	} else {
		e = m.ParseRequest(msg[:end])
	}
	if e != h1.OK {
		t.Fatalf("h1 refuses %q: %v", msg[:end], e)
	}
	rest := msg[end:]
	if !m.Chunked {
		return m, string(rest), ""
	}
	var cs h1.Chunked
	body, n, err := cs.Transcode(nil, rest, true)
	if err != nil || !cs.Done() || n != len(rest) {
		t.Fatalf("chunked body %q: %v done %v", rest, err, cs.Done())
	}
	framed, _, _ := (&h1.Chunked{}).Transcode(nil, rest, false)
	start := 3
	if !bytes.HasPrefix(framed, []byte("0\r\n")) {
		start = bytes.LastIndex(framed, []byte("\r\n0\r\n")) + 5
	}
	tr := string(framed[start : len(framed)-2])
	return m, string(body), tr
}

// serveH2C runs pumps in the server role on a loopback listener.
func serveH2C(t *testing.T, cfg Config, onReq func(p *pump, st *Stream, q *Request)) string {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			p := newPump(nc, RoleServer, cfg)
			p.onReq = onReq
			go p.run()
		}
	}()
	return ln.Addr().String()
}

func h2cClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return net.Dial(network, addr)
		},
	}}
}

// echo answers every request with what it received: method, target,
// headers and body, and the request's trailers as response trailers.
func echo(t *testing.T) func(p *pump, st *Stream, q *Request) {
	return func(p *pump, st *Stream, q *Request) {
		msg := p.wait(st)
		m, body, tr := readBody(t, msg, false)
		var hdr bytes.Buffer
		for i := range m.Fields {
			f := &m.Fields[i]
			fmt.Fprintf(&hdr, "%s=%s;", m.Bytes(f.Name), m.Bytes(f.Value))
		}
		out := fmt.Sprintf("HTTP/1.1 200 OK\r\nX-Req: %s %s\r\nX-Headers: %s\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n",
			m.Bytes(m.Method), m.Bytes(m.Target), hdr.String())
		resp := []byte(out)
		for b := []byte(body); len(b) > 0; {
			k := min(len(b), 7000)
			resp = AppendChunk(resp, b[:k])
			b = b[k:]
		}
		resp = AppendLastChunk(resp, []byte(strings.ReplaceAll(tr, "x-trace", "x-echo")))
		if err := p.write(st, resp); err != nil {
			t.Errorf("write: %v", err)
		}
		p.mu.Lock()
		p.c.Release(st)
		p.flushLocked()
		p.mu.Unlock()
	}
}

// TestServerInterop: Go's HTTP/2 client against the server role: GET,
// uploads with and without a length, trailers both ways, a download much
// larger than every window, many streams at once.
func TestServerInterop(t *testing.T) {
	addr := serveH2C(t, Config{InitialWindowSize: 30000}, echo(t))
	cl := h2cClient()
	base := "http://" + addr

	resp, err := cl.Get(base + "/a/b?c=d")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := resp.Header.Get("X-Req"); got != "GET /a/b?c=d" || !strings.Contains(resp.Header.Get("X-Headers"), "host="+addr) {
		t.Fatalf("X-Req %q X-Headers %q", got, resp.Header.Get("X-Headers"))
	}

	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	for _, withLen := range []bool{true, false} {
		req, _ := http.NewRequest("POST", base+"/up", strings.NewReader(big))
		if !withLen {
			req, _ = http.NewRequest("POST", base+"/up", io.NopCloser(strings.NewReader(big)))
			req.ContentLength = -1
			req.Trailer = http.Header{"X-Trace": nil}
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if !withLen {
			req.Trailer.Set("X-Trace", "t1") // too late: Go sends what was set before the body ends
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(got) != big {
			t.Fatalf("withLen %v: echo of %d bytes: %d bytes, %v", withLen, len(big), len(got), err)
		}
		h := resp.Header.Get("X-Headers")
		if withLen != strings.Contains(h, "content-length=") || withLen == strings.Contains(h, "transfer-encoding=chunked") {
			t.Fatalf("withLen %v: headers %q", withLen, h)
		}
	}

	// Request trailers become chunked trailers; response trailers come back.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", base+"/tr", pr)
	req.Trailer = http.Header{"X-Trace": nil}
	go func() {
		pw.Write([]byte("abc"))
		req.Trailer.Set("X-Trace", "t42")
		pw.Close()
	}()
	resp, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "abc" || resp.Trailer.Get("X-Echo") != "t42" {
		t.Fatalf("body %q trailers %v", got, resp.Trailer)
	}

	// Many streams at once on one connection.
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := strings.Repeat(strconv.Itoa(i), 5000)
			resp, err := cl.Post(base+"/s"+strconv.Itoa(i), "text/plain", strings.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(got) != body || resp.Header.Get("X-Req") != "POST /s"+strconv.Itoa(i) {
				errs <- fmt.Errorf("stream %d: got %d bytes, %q", i, len(got), resp.Header.Get("X-Req"))
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestClientInterop: the client role against Go's HTTP/2 server: the
// HTTP/1.1 requests the engine would write come out as HTTP/2 requests,
// the responses (streamed, with trailers as gRPC sends them) come back
// as HTTP/1.1 that h1 reads.
func TestClientInterop(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv := &http2.Server{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Trailer", "Grpc-Status")
		w.Header().Set("X-Got", fmt.Sprintf("%s %s %s %s te=%s len=%d", r.Method, r.Host, r.URL.RequestURI(), r.Proto, r.Header.Get("Te"), len(body)))
		w.WriteHeader(200)
		for i := 0; i < 3; i++ {
			w.Write(body)
			w.(http.Flusher).Flush()
		}
		w.Header().Set("Grpc-Status", "0")
	})
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go srv.ServeConn(nc, &http2.ServeConnOpts{Handler: handler})
		}
	}()
	nc, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	p := newPump(nc, RoleClient, Config{})
	go p.run()

	open := func() *Stream {
		p.mu.Lock()
		defer p.mu.Unlock()
		for !p.c.CanOpen() {
			p.cond.Wait()
		}
		return p.c.OpenStream()
	}
	cases := []struct {
		req      string
		wantGot  string
		wantBody string
	}{
		{"GET /x?y HTTP/1.1\r\nHost: svc.example\r\nTE: trailers\r\nConnection: TE\r\n\r\n", "GET svc.example /x?y HTTP/2.0 te=trailers len=0", ""},
		{"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", "POST a /up HTTP/2.0 te= len=3", "abcabcabc"},
		{"POST /ch HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n1\r\n!\r\n0\r\nx-t: 1\r\n\r\n", "POST a /ch HTTP/2.0 te= len=3", "hi!hi!hi!"},
	}
	for _, tc := range cases {
		st := open()
		if err := p.write(st, []byte(tc.req)); err != nil {
			t.Fatal(err)
		}
		msg := p.wait(st)
		m, body, tr := readBody(t, msg, true)
		var got string
		for i := range m.Fields {
			if string(m.Bytes(m.Fields[i].Name)) == "x-got" {
				got = string(m.Bytes(m.Fields[i].Value))
			}
		}
		if m.Status != 200 || got != tc.wantGot || body != tc.wantBody || !strings.Contains(tr, "grpc-status: 0") {
			t.Fatalf("%q:\nstatus %d x-got %q body %q trailers %q\nmessage %q", tc.req, m.Status, got, body, tr, msg)
		}
		p.mu.Lock()
		p.c.Release(st)
		p.mu.Unlock()
	}
}
