package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"lbd/config"
)

// prober runs one check. The real one talks to the server over a socket;
// tests script results.
//
// start begins a check. A check that is over at once (a tcp check to a
// server that answered the connect at once, as loopback ones do) returns
// its result and true; otherwise start returns false and calls done once,
// later, from another goroutine, with the result. track registers the
// check in progress so that stop can abort it (its Close); false means
// the checker was stopped meanwhile.
type prober interface {
	start(ctx context.Context, track func(io.Closer) bool, done func(result)) (result, bool)
}

// probe runs a whole check and waits for its result.
func probe(p prober, ctx context.Context, track func(io.Closer) bool) result {
	ch := make(chan result, 1)
	if r, ok := p.start(ctx, track, func(r result) { ch <- r }); ok {
		return r
	}
	return <-ch
}

// errCheckStopped ends a check whose checker was stopped meanwhile.
var errCheckStopped = errors.New("check stopped")

// netProber checks a server over TCP. Every check has one deadline,
// timeout after its start, for the connect and the whole exchange: a check
// either completes within timeout or fails with L4TOUT/L7TOUT.
//
// What a check sends is rendered once, when the prober is built from the
// backend's settings; the prober's exchange (and, on Linux, its event
// loop record) are reused check after check.
type netProber struct {
	typ     string
	host    string
	port    string                     // the check port if set, else the server's
	target  atomic.Pointer[sockTarget] // dialled, once resolved
	badAddr string                     // why the address cannot be used
	timeout time.Duration
	send    []byte // http request, tcp-check send or agent send
	proxyV  int    // PROXY protocol version checks send first, 0 none (proxyproto.go)
	out     []byte // the PROXY header and send, for one check

	expect       string // tcp-check
	expectB      []byte
	expectStatus []int  // http
	expectBody   string // http
	expectBodyB  []byte
	noBody       bool           // http HEAD
	wrong        func(int) bool // wrongStatus, bound once

	x exchange
	o op // the check in the event loop (Linux)
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
		expectB:      []byte(hc.Expect),
		expectStatus: hc.ExpectStatus,
		expectBody:   hc.ExpectBody,
		expectBodyB:  []byte(hc.ExpectBody),
	}
	p.wrong = p.wrongStatus
	p.x.pr = p
	p.proxyV = sc.CheckProxyVersion(hc)
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

// reresolve forgets the address a host name resolved to, so that the next
// check looks it up again: a reload re-resolves the servers' names, as the
// proxy does when it applies the file, so checks and traffic go to the
// same address.
func (p *netProber) reresolve() {
	if _, err := netip.ParseAddr(p.host); err != nil && p.badAddr == "" {
		p.target.Store(nil)
	}
}

// dialTarget returns the address to dial, resolving the host name once
// (until a reload, see reresolve).
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

// start runs a check: see prober. A host name not resolved yet is
// resolved first, in a goroutine of its own.
func (p *netProber) start(ctx context.Context, track func(io.Closer) bool, done func(result)) (result, bool) {
	deadline := time.Now().Add(p.timeout)
	if t := p.target.Load(); t != nil {
		return p.launch(t, deadline, track, done)
	}
	go func() {
		t, err := p.dialTarget(ctx, deadline)
		if err != nil {
			done(targetFailure(err))
			return
		}
		if r, ok := p.launch(t, deadline, track, done); ok {
			done(r)
		}
	}()
	return result{}, false
}

// runBlocking runs a whole check in the calling goroutine with the
// standard library's blocking sockets: the portable way, and Linux's when
// its event loop cannot start.
func (p *netProber) runBlocking(t *sockTarget, deadline time.Time, track func(io.Closer) bool) result {
	c, r := connect(context.Background(), t, deadline, track)
	if c == nil {
		return r
	}
	return p.converse(c, deadline, true)
}

// targetFailure is a check's result when its target's name cannot be
// resolved.
func targetFailure(err error) result {
	if isTimeout(err) {
		return failed(codeL4TOUT, "")
	}
	return failed(codeL4CON, errText(err))
}

// connect dials t before deadline with the standard library's blocking
// sockets and hands the connection to track (the checker closes it on a
// stop); nil and the check's result when that failed. The connection is
// closed with a RST, as HAProxy closes checks.
func connect(ctx context.Context, t *sockTarget, deadline time.Time, track func(io.Closer) bool) (net.Conn, result) {
	d := net.Dialer{Deadline: deadline, KeepAlive: -1}
	c, err := d.DialContext(ctx, "tcp", t.ap.String())
	if err != nil {
		return nil, ioFailure(err, false, "")
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	if !track(c) {
		c.Close()
		return nil, failed(codeL4CON, errCheckStopped.Error())
	}
	return c, result{}
}

// converse runs a check's exchange over an established connection (plain,
// or TLS for tls.go, which sent the PROXY header before the handshake:
// withProxy false).
func (p *netProber) converse(c net.Conn, deadline time.Time, withProxy bool) result {
	x := &p.x
	x.begin()
	if err := c.SetDeadline(deadline); err != nil {
		return failed(codeSOCKERR, errText(err))
	}
	out := p.send
	if withProxy {
		out = p.connProxyOut(c)
	}
	if len(out) > 0 {
		if _, err := c.Write(out); err != nil {
			return x.sendError(err)
		}
	}
	if r, ok := x.sent(); ok {
		return r
	}
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if r, ok := x.data(buf[:n]); ok {
				return r
			}
		}
		switch {
		case errors.Is(err, io.EOF):
			return x.eof()
		case err != nil:
			return x.readError(err)
		}
	}
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
