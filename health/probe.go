package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"lbd/config"
)

// prober runs one check. The real one talks to the server over a socket;
// tests script results.
//
// start begins a check and either finishes it at once (nil continuation:
// a tcp check to a server that answered the connect at once, as loopback
// ones do) or returns the continuation that waits for the rest; the
// scheduler runs continuations in their own goroutine. track registers
// the connection so that stop can abort it; false means stopped.
type prober interface {
	start(ctx context.Context, track func(io.Closer) bool) (result, func() result)
}

// probe runs a whole check in the calling goroutine.
func probe(p prober, ctx context.Context, track func(io.Closer) bool) result {
	r, cont := p.start(ctx, track)
	if cont != nil {
		r = cont()
	}
	return r
}

// checkConn is the connection of a check: reads and writes bounded by the
// check's deadline.
type checkConn interface {
	io.ReadWriteCloser
	SetDeadline(time.Time) error
}

// errCheckStopped ends a check whose checker was stopped meanwhile.
var errCheckStopped = errors.New("check stopped")

// netProber checks a server over TCP. Every check has one deadline,
// timeout after its start, set on the dial and on the connection: a check
// either completes within timeout or fails with L4TOUT/L7TOUT.
type netProber struct {
	typ     string
	host    string
	port    string                     // the check port if set, else the server's
	target  atomic.Pointer[sockTarget] // dialled, once resolved
	badAddr string                     // why the address cannot be used
	timeout time.Duration
	send    []byte // http request, tcp-check send or agent send

	expect       string // tcp-check
	expectStatus []int  // http
	expectBody   string // http
	noBody       bool   // http HEAD
}

// newNetProber builds the prober of a server from its backend's check
// settings. A host name in the address is resolved on the first check and
// kept (config resolves names once at load time too); a failed resolution
// is a failed check (L4CON) and is retried on the next one.
func newNetProber(hc *config.HealthCheck, sc *config.Server) *netProber {
	host, port, err := net.SplitHostPort(sc.Address)
	if hc.Port != 0 {
		port = strconv.Itoa(hc.Port)
	}
	p := &netProber{
		typ:          hc.Type,
		host:         host,
		port:         port,
		timeout:      hc.Timeout,
		expect:       hc.Expect,
		expectStatus: hc.ExpectStatus,
		expectBody:   hc.ExpectBody,
	}
	if err != nil {
		p.badAddr = err.Error()
	} else if ap, err := netip.ParseAddrPort(net.JoinHostPort(host, port)); err == nil {
		p.target.Store(newSockTarget(ap))
	} else if _, err := netip.ParseAddr(host); err == nil {
		p.badAddr = "bad port " + strconv.Quote(port)
	}
	switch hc.Type {
	case "http":
		h := hc.Host
		if h == "" {
			h = sc.Address
		}
		p.send = []byte(hc.Method + " " + hc.Path + " HTTP/1.1\r\nHost: " + h +
			"\r\nUser-Agent: lbd-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n")
		p.noBody = hc.Method == "HEAD"
	case "tcp-check", "agent":
		p.send = []byte(hc.Send)
	}
	return p
}

// dialTarget returns the address to dial, resolving the host name once.
func (p *netProber) dialTarget(ctx context.Context, deadline time.Time) (*sockTarget, error) {
	if t := p.target.Load(); t != nil {
		return t, nil
	}
	if p.badAddr != "" {
		return nil, errors.New(p.badAddr)
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", p.host)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("no address for %s", p.host)
	}
	port, err := strconv.ParseUint(p.port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("bad port %q", p.port)
	}
	t := newSockTarget(netip.AddrPortFrom(ips[0], uint16(port)))
	p.target.Store(t)
	return t, nil
}

func (p *netProber) start(ctx context.Context, track func(io.Closer) bool) (result, func() result) {
	deadline := time.Now().Add(p.timeout)
	t := p.target.Load()
	if t == nil { // a name still to resolve: all of it in the continuation
		return result{}, func() result {
			t, err := p.dialTarget(ctx, deadline)
			if err != nil {
				if isTimeout(err) {
					return failed(codeL4TOUT, "")
				}
				return failed(codeL4CON, errText(err))
			}
			conn, pending, sent, err := dialFast(t, p.typ != "tcp", p.send)
			return p.finish(t, conn, pending, sent, err, deadline, track)
		}
	}
	conn, pending, sent, err := dialFast(t, p.typ != "tcp", p.send)
	if err == nil && conn == nil && !pending {
		return pass(codeL4OK, ""), nil // tcp check, connected at once
	}
	if err != nil {
		return ioFailure(err, false, ""), nil
	}
	return result{}, func() result { return p.finish(t, conn, pending, sent, nil, deadline, track) }
}

// finish waits for the connection if needed and runs the exchange.
// sent bytes of the request were written already.
func (p *netProber) finish(t *sockTarget, conn checkConn, pending bool, sent int, err error, deadline time.Time, track func(io.Closer) bool) result {
	if err != nil {
		return ioFailure(err, false, "")
	}
	if conn != nil && !track(conn) {
		conn.Close()
		return failed(codeL4CON, errCheckStopped.Error())
	}
	if pending {
		if conn, err = dialWait(t, conn, deadline, p.typ != "tcp", track); err != nil {
			return ioFailure(err, false, "")
		}
	}
	if conn == nil {
		return pass(codeL4OK, "")
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return failed(codeSOCKERR, errText(err))
	}
	if sent < len(p.send) {
		if _, err := conn.Write(p.send[sent:]); err != nil {
			step := ""
			if p.typ == "tcp-check" {
				step = "at step 2 of tcp-check (send)"
			}
			return ioFailure(err, true, step)
		}
	}
	switch p.typ {
	case "http":
		return p.http(conn)
	case "tcp-check":
		return p.tcpCheck(conn)
	case "agent":
		return p.agent(conn)
	}
	return pass(codeL4OK, "")
}

func (p *netProber) http(conn checkConn) result {
	keep := 0
	if p.expectBody != "" {
		keep = bodyKeepLimit
	}
	var h httpParser
	h.reset(p.noBody, keep, func(code int) bool { return !slices.Contains(p.expectStatus, code) })
	buf := make([]byte, 4096)
	for !h.done() {
		n, err := conn.Read(buf)
		h.feed(buf[:n])
		if errors.Is(err, io.EOF) {
			h.eof()
		} else if err != nil && !h.done() {
			r := ioFailure(err, true, "")
			r.status = h.status
			return r
		}
	}
	switch err := h.err; {
	case err == errStopped:
		r := failed(codeL7STS, strconv.Itoa(h.status))
		r.status = h.status
		return r
	case err != nil:
		if pe, ok := err.(protoError); ok {
			r := failed(codeL7RSP, string(pe))
			r.status = h.status
			return r
		}
		r := ioFailure(err, true, "")
		r.status = h.status
		return r
	}
	r := pass(codeL7OK, "")
	r.status = h.status
	if p.expectBody != "" && !bytes.Contains(h.body, []byte(p.expectBody)) {
		r = failed(codeL7RSP, "HTTP content check did not match")
		r.status = h.status
	}
	return r
}

// tcpCheck runs HAProxy's implicit sequence: connect (step 1), send
// (step 2, if any, done by finish), expect (next step, if any).
func (p *netProber) tcpCheck(conn checkConn) result {
	step := 1
	if len(p.send) > 0 {
		step++ // sent by finish
	}
	if p.expect == "" {
		return pass(codeL7OK, "")
	}
	step++
	want := []byte(p.expect)
	buf := make([]byte, 0, 512)
	tmp := make([]byte, 512)
	for {
		n, err := conn.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if bytes.Contains(buf, want) {
			return pass(codeL7OK, "")
		}
		if len(buf) > 16<<10 {
			return failed(codeL7RSP, fmt.Sprintf("TCPCHK did not match content '%s' at step %d", printable(p.expect), step))
		}
		if err != nil {
			if isTimeout(err) {
				return failed(codeL7TOUT, fmt.Sprintf("at step %d of tcp-check (expect string '%s')", step, printable(p.expect)))
			}
			if len(buf) == 0 {
				return failed(codeL7RSP, fmt.Sprintf("TCPCHK got an empty response at step %d", step))
			}
			if errors.Is(err, io.EOF) {
				return failed(codeL7RSP, fmt.Sprintf("TCPCHK did not match content '%s' at step %d", printable(p.expect), step))
			}
			return ioFailure(err, true, "")
		}
	}
}

// agent reads one reply line from a HAProxy-style agent (after `send`,
// HAProxy's agent-send, if set).
func (p *netProber) agent(conn checkConn) result {
	buf := make([]byte, 0, 128)
	tmp := make([]byte, 256)
	for {
		n, err := conn.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if bytes.ContainsAny(buf, "\r\n") || len(buf) >= maxAgentReply {
			break
		}
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(buf) == 0 {
				return failed(codeL7RSP, "empty reply from agent")
			}
			break // a line ended by the close is accepted
		}
		return ioFailure(err, true, "")
	}
	return agentResult(buf)
}

// agentResult turns an agent's reply into a check result: "down",
// "stopped" and "fail" are failures (L7STS), anything else an agent says is
// a pass (it answered), with its directives attached.
func agentResult(buf []byte) result {
	a := parseAgentReply(buf)
	var r result
	switch a.health {
	case "down", "stopped", "fail":
		r = failed(codeL7STS, agentInfo(a))
	default:
		r = pass(codeL7OK, agentInfo(a))
	}
	r.agent = &a
	return r
}

// agentInfo words an agent reply as HAProxy's logs do ("via agent : down
// (maintenance)").
func agentInfo(a agentReply) string {
	var extra string
	switch {
	case a.desc != "":
		extra = a.desc
	case a.unknown != "":
		extra = "unknown word " + a.unknown
	case a.bad != "":
		extra = "bad value " + a.bad
	}
	if a.health == "" {
		if extra == "" {
			return ""
		}
		return "agent warns : " + extra
	}
	if extra != "" {
		return "via agent : " + a.health + " (" + extra + ")"
	}
	return "via agent : " + a.health
}
