package health

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"lbd/h1"
)

// Reply limits: tcp-check's (maxAgentReply bounds an agent's), and the
// body an http check keeps for expect_body.
const (
	bodyKeepLimit = 64 << 10

	// tcpCheckLimit: past this many bytes without the expected string, a
	// tcp-check fails. The reply is read in steps of at most
	// tcpCheckStep bytes, so up to limit+step bytes are searched.
	tcpCheckLimit = 16 << 10
	tcpCheckStep  = 512
)

// exchange is the conversation of one check once connected: it judges
// the bytes that come back and words the result as HAProxy does. It does
// no I/O: the event loop (Linux) or a goroutine (elsewhere) feeds it what
// the socket returned, so that both judge alike. A prober owns one and
// reuses it check after check (a checker runs one check at a time), so
// a check in its steady state allocates nothing.
type exchange struct {
	pr   *netProber
	resp h1.ResponseReader // http
	got  []byte            // tcp-check and agent: the reply so far
}

// begin prepares for a new check.
func (x *exchange) begin() {
	if x.pr.typ == "http" {
		keep := 0
		if x.pr.expectBody != "" {
			keep = bodyKeepLimit
		}
		x.resp.Reset(x.pr.noBody, keep, x.pr.wrong)
	}
	x.got = x.got[:0]
}

// sent is called once the check's bytes (if any) are written: a tcp check
// and a tcp-check without expect are then over.
func (x *exchange) sent() (result, bool) {
	switch {
	case x.pr.typ == "tcp":
		return pass(codeL4OK, ""), true
	case x.pr.typ == "tcp-check" && x.pr.expect == "":
		return pass(codeL7OK, ""), true
	}
	return result{}, false
}

// data judges the bytes received so far; true when the check is over.
func (x *exchange) data(b []byte) (result, bool) {
	switch x.pr.typ {
	case "http":
		x.resp.Feed(b)
		if x.resp.Done() {
			return x.httpResult(), true
		}
	case "tcp-check":
		x.got = append(x.got, b[:min(len(b), tcpCheckLimit+tcpCheckStep-len(x.got))]...)
		if bytes.Contains(x.got, x.pr.expectB) {
			return pass(codeL7OK, ""), true
		}
		if len(x.got) > tcpCheckLimit {
			return failed(codeL7RSP, fmt.Sprintf("TCPCHK did not match content '%s' at step %d", printable(x.pr.expect), x.expectStep())), true
		}
	case "agent":
		// parseAgentReply reads at most maxAgentReply bytes of the line.
		x.got = append(x.got, b[:min(len(b), maxAgentReply-len(x.got))]...)
		if bytes.ContainsAny(x.got, "\r\n") || len(x.got) >= maxAgentReply {
			return agentResult(x.got), true
		}
	}
	return result{}, false
}

// eof judges the end of the connection, the server's close.
func (x *exchange) eof() result {
	switch x.pr.typ {
	case "http":
		x.resp.EOF()
		return x.httpResult()
	case "tcp-check":
		if len(x.got) == 0 {
			return failed(codeL7RSP, fmt.Sprintf("TCPCHK got an empty response at step %d", x.expectStep()))
		}
		return failed(codeL7RSP, fmt.Sprintf("TCPCHK did not match content '%s' at step %d", printable(x.pr.expect), x.expectStep()))
	case "agent":
		if len(x.got) == 0 {
			return failed(codeL7RSP, "empty reply from agent")
		}
		return agentResult(x.got) // a line ended by the close is accepted
	}
	return failed(codeL7RSP, "connection closed by the server before a complete answer")
}

// readError judges a failed read (a reset, or the deadline:
// os.ErrDeadlineExceeded) while waiting for the answer.
func (x *exchange) readError(err error) result {
	switch x.pr.typ {
	case "http":
		r := ioFailure(err, true, "")
		r.status = x.resp.Status
		return r
	case "tcp-check":
		if isTimeout(err) {
			return failed(codeL7TOUT, fmt.Sprintf("at step %d of tcp-check (expect string '%s')", x.expectStep(), printable(x.pr.expect)))
		}
		if len(x.got) == 0 {
			return failed(codeL7RSP, fmt.Sprintf("TCPCHK got an empty response at step %d", x.expectStep()))
		}
	}
	return ioFailure(err, true, "")
}

// sendError judges a failed write of the check's bytes once connected.
func (x *exchange) sendError(err error) result {
	step := ""
	if x.pr.typ == "tcp-check" {
		step = "at step 2 of tcp-check (send)"
	}
	return ioFailure(err, true, step)
}

// expectStep numbers the expect step of HAProxy's implicit tcp-check
// sequence: connect (1), send (2, if any), expect.
func (x *exchange) expectStep() int {
	if len(x.pr.send) > 0 {
		return 3
	}
	return 2
}

func (x *exchange) httpResult() result {
	h := &x.resp
	var r result
	switch err := h.Err; {
	case err == nil:
		r = pass(codeL7OK, "")
		if x.pr.expectBody != "" && !bytes.Contains(h.Body, x.pr.expectBodyB) {
			r = failed(codeL7RSP, "HTTP content check did not match")
		}
	case err == h1.ErrStopped:
		r = failed(codeL7STS, strconv.Itoa(h.Status))
	case errors.Is(err, io.ErrUnexpectedEOF):
		r = ioFailure(err, true, "")
	default:
		// A response the proxy would refuse too (package h1).
		r = failed(codeL7RSP, err.Error())
	}
	r.status = h.Status
	return r
}

// wrongStatus tells the parser to stop after the head of a response whose
// status does not pass (its body is not needed).
func (p *netProber) wrongStatus(code int) bool { return !slices.Contains(p.expectStatus, code) }
