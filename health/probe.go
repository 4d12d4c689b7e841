package health

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"lbd/config"
)

// prober runs one check. The real one talks to the server over a socket;
// tests script results.
type prober interface {
	probe(ctx context.Context, track func(net.Conn) bool) result
}

// netProber checks a server over TCP. Every check has one deadline,
// timeout after its start, set on the dial and on the connection: a check
// either completes within timeout or fails with L4TOUT/L7TOUT.
type netProber struct {
	typ     string
	host    string
	port    string                 // the check port if set, else the server's
	addr    atomic.Pointer[string] // "ip:port" dialled, once resolved
	badAddr string                 // why the address cannot be used
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
	} else if net.ParseIP(host) != nil {
		a := net.JoinHostPort(host, port)
		p.addr.Store(&a)
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

// dialAddr returns the "ip:port" to dial, resolving the host name once.
func (p *netProber) dialAddr(ctx context.Context, deadline time.Time) (string, error) {
	if a := p.addr.Load(); a != nil {
		return *a, nil
	}
	if p.badAddr != "" {
		return "", errors.New(p.badAddr)
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	ips, err := net.DefaultResolver.LookupHost(ctx, p.host)
	if err != nil {
		return "", err
	}
	if len(ips) == 0 {
		return "", fmt.Errorf("no address for %s", p.host)
	}
	a := net.JoinHostPort(ips[0], p.port)
	p.addr.Store(&a)
	return a, nil
}

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, maxHeadLine) }}

func (p *netProber) probe(ctx context.Context, track func(net.Conn) bool) result {
	deadline := time.Now().Add(p.timeout)
	addr, err := p.dialAddr(ctx, deadline)
	if err != nil {
		if isTimeout(err) {
			return failed(codeL4TOUT, "")
		}
		return failed(codeL4CON, errText(err))
	}
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return ioFailure(err, false, "")
	}
	if !track(conn) {
		conn.Close()
		return failed(codeL4CON, "check stopped")
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return failed(codeSOCKERR, errText(err))
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

func (p *netProber) http(conn net.Conn) result {
	if _, err := conn.Write(p.send); err != nil {
		return ioFailure(err, true, "")
	}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(conn)
	defer func() { br.Reset(nil); readerPool.Put(br) }()
	keep := 0
	if p.expectBody != "" {
		keep = bodyKeepLimit
	}
	wrong := func(code int) bool { return !slices.Contains(p.expectStatus, code) }
	resp, err := readHTTPResponse(br, p.noBody, keep, wrong)
	switch {
	case err == errStopped:
		r := failed(codeL7STS, strconv.Itoa(resp.status))
		r.status = resp.status
		return r
	case err != nil:
		if pe, ok := err.(protoError); ok {
			r := failed(codeL7RSP, string(pe))
			r.status = resp.status
			return r
		}
		r := ioFailure(err, true, "")
		r.status = resp.status
		return r
	}
	r := pass(codeL7OK, "")
	r.status = resp.status
	if p.expectBody != "" && !bytes.Contains(resp.body, []byte(p.expectBody)) {
		r = failed(codeL7RSP, "HTTP content check did not match")
		r.status = resp.status
	}
	return r
}

// tcpCheck runs HAProxy's implicit sequence: connect (step 1), send
// (step 2, if any), expect (next step, if any).
func (p *netProber) tcpCheck(conn net.Conn) result {
	step := 1
	if len(p.send) > 0 {
		step++
		if _, err := conn.Write(p.send); err != nil {
			return ioFailure(err, true, fmt.Sprintf("at step %d of tcp-check (send)", step))
		}
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

// agent reads one reply line from a HAProxy-style agent after sending
// `send` (agent-send), if set.
func (p *netProber) agent(conn net.Conn) result {
	if len(p.send) > 0 {
		if _, err := conn.Write(p.send); err != nil {
			return ioFailure(err, true, "")
		}
	}
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
