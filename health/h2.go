package health

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"lbd/config"
	"lbd/h1"
	"lbd/h2"
	"lbd/tlsconf"
)

// Checks of HTTP/2 servers (proto = "h2"): an http check is the same
// request sent as an HTTP/2 stream (with prior knowledge in clear, by
// ALPN over TLS), judged by the same rules, since package h2 hands the
// response back as HTTP/1.1, which the check's reader parses as any
// server's. A grpc check asks gRPC's health service
// (grpc.health.v1.Health/Check, for grpc_service, "" being the whole
// server): the server passes when it answers grpc-status 0 with the
// status SERVING. Like TLS checks, they run on a goroutine each: the
// HTTP/2 handshake and its frames are a conversation the plain check loop
// does not drive.

// h2Prober runs a server's checks over HTTP/2.
type h2Prober struct {
	*netProber
	cl      *tlsconf.Client // nil: in clear (h2c)
	sni     string
	grpc    bool
	service string
	req     []byte // the request, as HTTP/1.1
}

// usesH2 reports whether a server's checks speak HTTP/2: http and grpc
// checks of a server with proto = "h2".
func usesH2(hc *config.HealthCheck, sc *config.Server) bool {
	return sc.Proto == "h2" && (hc.Type == "http" || hc.Type == "grpc")
}

// newH2Prober makes the prober of an http or grpc check of an HTTP/2
// server.
func newH2Prober(np *netProber, hc *config.HealthCheck, sc *config.Server, cl *tlsconf.Client) *h2Prober {
	p := &h2Prober{netProber: np, cl: cl, sni: hc.Host, grpc: hc.Type == "grpc", service: hc.GRPCService}
	p.typ = "http" // the response is judged as an http check's
	if p.grpc {
		host := hc.Host
		if host == "" {
			host = sc.Address
		}
		body := grpcHealthRequest(hc.GRPCService)
		p.req = []byte("POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: " + host +
			"\r\nContent-Type: application/grpc\r\nTE: trailers\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + string(body))
		p.expectStatus = []int{200}
		p.expectBody, p.expectBodyB = "", nil
	} else {
		p.req = np.send
	}
	return p
}

func itoa(n int) string {
	var b [20]byte
	return string(appendUint(b[:0], uint64(n)))
}

func appendUint(b []byte, n uint64) []byte {
	var t [20]byte
	i := len(t)
	for {
		i--
		t[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(b, t[i:]...)
}

// grpcHealthRequest is a gRPC message (RFC-less: the gRPC wire format, a
// flag byte and a 4-byte length before the protobuf) holding
// HealthCheckRequest{service}.
func grpcHealthRequest(service string) []byte {
	var pb []byte
	if service != "" {
		pb = append(pb, 0x0a) // field 1, length-delimited
		pb = appendVarint(pb, uint64(len(service)))
		pb = append(pb, service...)
	}
	msg := []byte{0, byte(len(pb) >> 24), byte(len(pb) >> 16), byte(len(pb) >> 8), byte(len(pb))}
	return append(msg, pb...)
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func (p *h2Prober) start(ctx context.Context, track func(io.Closer) bool, done func(result)) (result, bool) {
	go func() { done(p.run(ctx, track)) }()
	return result{}, false
}

func (p *h2Prober) run(ctx context.Context, track func(io.Closer) bool) result {
	deadline := time.Now().Add(p.timeout)
	t, err := p.dialTarget(ctx, deadline)
	if err != nil {
		return targetFailure(err)
	}
	c, r := connect(ctx, t, deadline, track)
	if c == nil {
		return r
	}
	defer c.Close()
	c.SetDeadline(deadline)
	if p.proxyV != 0 {
		out := p.connProxyOut(c)
		if _, err := c.Write(out[:len(out)-len(p.send)]); err != nil {
			return p.x.sendError(err)
		}
	}
	conn := c
	if p.cl != nil {
		tc, err := p.cl.Handshake(c, p.sni)
		if err != nil {
			if errors.Is(err, errCheckStopped) || isTimeout(err) {
				return failed(codeL6TOUT, "")
			}
			return failed(codeL6RSP, errText(err))
		}
		if tc.ConnectionState().NegotiatedProtocol != "h2" {
			return failed(codeL6RSP, "the server did not agree on h2 by ALPN")
		}
		conn = tc
	}
	return p.converse(conn)
}

// h2Check is the check's one stream, as HTTP/1.1 bytes.
type h2Check struct {
	msg   []byte
	done  bool
	reset bool
}

func (h *h2Check) Request(*h2.Stream, *h2.Request) {}

func (h *h2Check) Response(st *h2.Stream, r *h2.Response) {
	if !r.Interim {
		h.msg = append(h.msg, r.Head...)
	}
	h.done = h.done || r.EndStream
}

func (h *h2Check) Data(st *h2.Stream, b []byte, end bool) {
	if st.Chunked() {
		h.msg = h2.AppendChunk(h.msg, b)
		if end {
			h.msg = h2.AppendLastChunk(h.msg, nil)
		}
	} else {
		h.msg = append(h.msg, b...)
	}
	h.done = h.done || end
}

func (h *h2Check) Trailers(st *h2.Stream, f []byte) {
	if st.Chunked() {
		h.msg = h2.AppendLastChunk(h.msg, f)
	}
	h.done = true
}

func (h *h2Check) Reset(*h2.Stream, h2.ErrCode, bool) { h.reset = true }
func (h *h2Check) Writable(*h2.Stream)                {}
func (h *h2Check) Refused(uint32, string)             {}

// converse sends the check's request on a stream and judges the answer.
func (p *h2Prober) converse(c net.Conn) result {
	x := &p.x
	x.begin()
	var h h2Check
	conn := h2.NewConn(h2.RoleClient, h2.Config{}, &h)
	conn.SetTLS(p.cl != nil)
	st := conn.OpenStream()
	if _, err := conn.WriteH1(st, p.req); err != nil {
		return failed(codeL7RSP, "cannot send the check over HTTP/2: "+err.Error())
	}
	buf := make([]byte, 32<<10)
	have, fed := 0, 0
	for {
		if out := conn.Output(nil); len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return x.sendError(err)
			}
		}
		if !p.grpc && len(h.msg) > fed {
			r, ok := x.data(h.msg[fed:])
			fed = len(h.msg)
			if ok {
				return r
			}
		}
		if h.done || h.reset {
			break
		}
		n, err := c.Read(buf[have:])
		have += n
		k, ferr := conn.Feed(buf[:have])
		have = copy(buf, buf[k:have])
		if ferr != nil {
			return failed(codeL7RSP, "HTTP/2: "+ferr.Error())
		}
		if err != nil && !h.done && !h.reset {
			if errors.Is(err, io.EOF) {
				return failed(codeL7RSP, "connection closed by the server before a complete answer")
			}
			return x.readError(err)
		}
	}
	if h.reset && !h.done {
		return failed(codeL7RSP, "the server reset the check's stream")
	}
	if p.grpc {
		return grpcResult(h.msg)
	}
	return x.eof()
}

// grpcResult judges a gRPC health answer: HTTP 200, grpc-status 0 (in the
// trailers, or the headers of a trailers-only answer) and a
// HealthCheckResponse whose status is SERVING (1).
func grpcResult(msg []byte) result {
	var m h1.Head
	end, _ := h1.HeadEnd(msg, 0)
	if end < 0 || m.ParseResponse(msg[:end]) != h1.OK {
		return failed(codeL7RSP, "invalid gRPC answer")
	}
	if m.Status != 200 {
		r := failed(codeL7STS, "HTTP status "+itoa(m.Status))
		r.status = m.Status
		return r
	}
	fields := string(msg[:end])
	body := msg[end:]
	if m.Chunked {
		var cs h1.Chunked
		framed, _, err := cs.Transcode(nil, body, false)
		if err != nil || !cs.Done() {
			return failed(codeL7RSP, "invalid gRPC answer body")
		}
		var dc h1.Chunked
		data, _, _ := dc.Transcode(nil, body, true)
		if i := bytes.LastIndex(framed, []byte("\r\n0\r\n")); i >= 0 {
			fields += string(framed[i+5:])
		} else if bytes.HasPrefix(framed, []byte("0\r\n")) {
			fields += string(framed[3:])
		}
		body = data
	}
	st := grpcField(fields, "grpc-status")
	if st != "0" {
		msg := grpcField(fields, "grpc-message")
		if st == "" {
			st = "none"
		}
		return failed(codeL7STS, "grpc-status "+st+" "+msg)
	}
	switch serving(body) {
	case 1:
		return pass(codeL7OK, "SERVING")
	case 0:
		return failed(codeL7STS, "UNKNOWN")
	case 2:
		return failed(codeL7STS, "NOT_SERVING")
	case 3:
		return failed(codeL7STS, "SERVICE_UNKNOWN")
	}
	return failed(codeL7RSP, "invalid HealthCheckResponse")
}

// grpcField finds a field's value among HTTP/1.1 field lines.
func grpcField(lines, name string) string {
	for _, l := range strings.Split(lines, "\r\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// serving reads HealthCheckResponse.status from one gRPC message; -1 when
// the message is not one.
func serving(b []byte) int {
	if len(b) < 5 || b[0] != 0 {
		return -1
	}
	n := int(b[1])<<24 | int(b[2])<<16 | int(b[3])<<8 | int(b[4])
	pb := b[5:]
	if len(pb) < n {
		return -1
	}
	pb = pb[:n]
	status := 0 // absent: the default, UNKNOWN
	for len(pb) > 0 {
		key, k := varint(pb)
		if k == 0 {
			return -1
		}
		pb = pb[k:]
		switch key & 7 {
		case 0:
			v, k := varint(pb)
			if k == 0 {
				return -1
			}
			pb = pb[k:]
			if key>>3 == 1 {
				status = int(v)
			}
		case 2:
			l, k := varint(pb)
			if k == 0 || uint64(len(pb)-k) < l {
				return -1
			}
			pb = pb[k+int(l):]
		default:
			return -1
		}
	}
	return status
}

func varint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}
