package desync

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one request as the origin read it with net/http.
type Request struct {
	Conn    int // which origin connection, in accept order
	Method  string
	Target  string
	Host    string
	Header  http.Header
	Body    []byte
	Trailer http.Header
	Raw     []byte // the request's bytes as received
}

// HostFields returns the values of the Host fields of the request's head,
// as received (net/http folds an absolute-form target into Host).
func (r *Request) HostFields() []string {
	head := r.Raw
	if i := strings.Index(string(head), "\r\n\r\n"); i >= 0 {
		head = head[:i]
	}
	var hs []string
	for _, line := range strings.Split(string(head), "\r\n")[1:] {
		if name, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(name, "host") {
			hs = append(hs, strings.TrimSpace(v))
		}
	}
	return hs
}

// Reply is what the origin sends for one request: Raw bytes (nil: the
// default response, which names the request), and whether it then closes
// the connection.
type Reply struct {
	Raw   []byte
	Close bool
	// Late is sent after a pause, when nobody asked for anything.
	Late []byte
}

// Origin is a raw HTTP/1.1 server for tests. It records every byte each
// connection sends it, reads requests with net/http's parser, and answers
// each with Respond (nil: the default response).
type Origin struct {
	Addr    string
	Respond func(*Request) Reply

	l     net.Listener
	mu    sync.Mutex
	conns []*originConn
	reqs  []*Request
	last  time.Time // last byte received
}

type originConn struct {
	raw    []byte // every byte received
	parsed int    // bytes net/http consumed as whole requests
	err    error  // why reading stopped, other than a clean EOF
	closed bool
}

// recorder appends what a connection reads to its record.
type recorder struct {
	o  *Origin
	c  net.Conn
	oc *originConn
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.c.Read(p)
	if n > 0 {
		r.o.mu.Lock()
		r.oc.raw = append(r.oc.raw, p[:n]...)
		r.o.last = time.Now()
		r.o.mu.Unlock()
	}
	return n, err
}

// StartOrigin listens on loopback until the test ends.
func StartOrigin(t testing.TB) *Origin {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &Origin{Addr: l.Addr().String(), l: l}
	t.Cleanup(func() { l.Close() })
	go o.serve()
	return o
}

func (o *Origin) serve() {
	for {
		c, err := o.l.Accept()
		if err != nil {
			return
		}
		o.mu.Lock()
		oc := &originConn{}
		o.conns = append(o.conns, oc)
		id := len(o.conns) - 1
		o.mu.Unlock()
		go o.handle(c, oc, id)
	}
}

// counting wraps the recorder so that the bytes net/http has consumed are
// known: bufio reads ahead, so parsed is measured from Buffered.
func (o *Origin) handle(c net.Conn, oc *originConn, id int) {
	defer func() {
		c.Close()
		o.mu.Lock()
		oc.closed = true
		o.mu.Unlock()
	}()
	br := bufio.NewReader(&recorder{o: o, c: c, oc: oc})
	for {
		o.mu.Lock()
		start := oc.parsed
		o.mu.Unlock()
		req, err := http.ReadRequest(br)
		if err != nil {
			o.stop(oc, br, err)
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			o.stop(oc, br, fmt.Errorf("body: %w", err))
			return
		}
		r := &Request{Conn: id, Method: req.Method, Target: req.RequestURI, Host: req.Host,
			Header: req.Header, Body: body, Trailer: req.Trailer}
		o.mu.Lock()
		oc.parsed = len(oc.raw) - br.Buffered()
		r.Raw = append([]byte(nil), oc.raw[start:oc.parsed]...)
		o.reqs = append(o.reqs, r)
		respond := o.Respond
		o.mu.Unlock()
		reply := Reply{}
		if respond != nil {
			reply = respond(r)
		}
		if reply.Raw == nil {
			reply.Raw = defaultReply(r)
		}
		if _, err := c.Write(reply.Raw); err != nil || reply.Close {
			return
		}
		if reply.Late != nil {
			time.Sleep(lateWait)
			if _, err := c.Write(reply.Late); err != nil {
				return
			}
		}
	}
}

func (o *Origin) stop(oc *originConn, br *bufio.Reader, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if errors.Is(err, io.EOF) && len(oc.raw)-br.Buffered() == oc.parsed && br.Buffered() == 0 {
		return // a clean close between requests
	}
	oc.err = err
}

// defaultReply names the request in its body, so that a client can tell
// its own response from another's.
func defaultReply(r *Request) []byte {
	body := "origin:" + r.Method + " " + r.Target
	return []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Origin-Conn: %d\r\n\r\n%s", len(body), r.Conn, body))
}

// Settle waits until the origin has received nothing for a moment, so
// that what lbd forwards is all there before it is judged.
func (o *Origin) Settle() {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		o.mu.Lock()
		quiet := time.Since(o.last) > 30*time.Millisecond
		o.mu.Unlock()
		if quiet {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Snapshot is what the origin has received so far.
type Snapshot struct {
	Requests []*Request
	// Problems: bytes net/http could not read as requests, per
	// connection (a malformed or unfinished request).
	Problems []string
}

// Snapshot returns the requests received since from (an index into all
// requests) and every connection's leftover bytes.
func (o *Origin) Snapshot(from int) Snapshot { return o.SnapshotSince(from, 0, "") }

// SnapshotSince is Snapshot with the requests since from and the leftover
// bytes of the connections since fromConn whose bytes contain mark (""
// matches all): lbd's X-Forwarded-For names the client, so a test that
// gives each client its own address tells its exchanges apart.
func (o *Origin) SnapshotSince(from, fromConn int, mark string) Snapshot {
	o.mu.Lock()
	defer o.mu.Unlock()
	var s Snapshot
	for _, r := range o.reqs[min(from, len(o.reqs)):] {
		if strings.Contains(string(r.Raw), mark) {
			s.Requests = append(s.Requests, r)
		}
	}
	for i, oc := range o.conns {
		if i < fromConn || !strings.Contains(string(oc.raw[oc.parsed:]), mark) {
			continue
		}
		if oc.err != nil || len(oc.raw) > oc.parsed && oc.closed {
			s.Problems = append(s.Problems, fmt.Sprintf("origin conn %d: %v, unread %q", i, oc.err, clip(oc.raw[oc.parsed:])))
		}
	}
	return s
}

// Pending reports bytes received but not (yet) read as a whole request on
// a connection still open, on connections whose unread bytes contain mark.
func (o *Origin) Pending(mark string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var p []string
	for i, oc := range o.conns {
		if !oc.closed && oc.err == nil && len(oc.raw) > oc.parsed && strings.Contains(string(oc.raw[oc.parsed:]), mark) {
			p = append(p, fmt.Sprintf("origin conn %d: unread %q", i, clip(oc.raw[oc.parsed:])))
		}
	}
	return p
}

// Count is the number of requests and of connections received so far.
func (o *Origin) Count() (reqs, conns int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.reqs), len(o.conns)
}

func clip(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// describe is a one-line view of a request for failure messages.
func (r *Request) describe() string {
	return fmt.Sprintf("%s %s Host=%q body=%q (conn %d)", r.Method, r.Target, r.Host, clip(r.Body), r.Conn)
}

// targets lists requests for failure messages.
func targets(rs []*Request) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString("\n\t" + r.describe())
	}
	return b.String()
}
