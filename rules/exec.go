package rules

import (
	"bytes"

	"lbd/h1"
)

// Hooks are what a rule list asks of the proxy while it runs: tracking
// a stick counter and changing the request's log level. The proxy
// passes a pointer to its transaction, so calling them costs no
// allocation.
type Hooks interface {
	Track(r *Rule, c *Ctx)
	SetLogLevel(level int8)
}

// Verdict is how a rule list ended: a terminal rule (nil: none applied,
// or an allow), and Refused counts the edits refused for their value.
type Verdict struct {
	Rule    *Rule
	Refused int
}

// RunRequest runs the http_request rules against c.Req: edits are
// applied to it (through ed), tracks and log levels go to h, and the
// first terminal rule that applies ends the run and is returned. An
// error means a rewrite made the request invalid (500).
func (p *Program) RunRequest(c *Ctx, ed *Editor, h Hooks) (Verdict, error) {
	return p.run(c, p.Request, ed, h, false)
}

// RunResponse runs the http_response rules against c.Resp.
func (p *Program) RunResponse(c *Ctx, ed *Editor, h Hooks) (Verdict, error) {
	return p.run(c, p.Response, ed, h, true)
}

func (p *Program) run(c *Ctx, rules []Rule, ed *Editor, h Hooks, resp bool) (Verdict, error) {
	var v Verdict
	m := c.Req
	if resp {
		m = c.Resp
	}
	for i := range rules {
		r := &rules[i]
		c.scratchReset()
		if r.cond != nil {
			if ed.Pending() && r.condReads.touches(&ed.dirty) {
				if err := ed.flush(m); err != nil {
					return v, err
				}
			}
			if !p.evalCond(c, r.cond) {
				continue
			}
		}
		if ed.Pending() && r.valReads.touches(&ed.dirty) {
			if err := ed.flush(m); err != nil {
				return v, err
			}
		}
		switch r.Action {
		case Allow:
			return v, ed.flush(m)
		case Deny, Tarpit, Return, Redirect:
			v.Rule = r
			return v, ed.flush(m)
		case Track:
			h.Track(r, c)
		case SetLogLevel:
			h.SetLogLevel(r.LogLevel)
		default:
			if !ed.apply(r, c, m, resp) {
				v.Refused++
			}
		}
	}
	return v, ed.flush(m)
}

// RunTCP runs tcp_request rules (connection or content): the first
// accept or reject that applies decides (accept when none does).
func (p *Program) RunTCP(c *Ctx, rules []Rule, h Hooks) *Rule {
	for i := range rules {
		r := &rules[i]
		c.scratchReset()
		if r.cond != nil && !p.evalCond(c, r.cond) {
			continue
		}
		switch r.Action {
		case Accept, Reject:
			return r
		case Track:
			h.Track(r, c)
		case SetLogLevel:
			h.SetLogLevel(r.LogLevel)
		}
	}
	return nil
}

// Route finds the first route from index from that applies: its index
// and, for a route whose backend is a template, the backend name it gives
// (nil for a static one). -1 when none applies. A caller that finds no
// backend of that name tries again from the next index.
func (p *Program) Route(c *Ctx, from int) (int, []byte) {
	req := c.Req
	for i := from; i < len(p.Routes); i++ {
		rt := &p.Routes[i]
		if len(rt.hosts) > 0 || len(rt.prefixes) > 0 {
			if !rt.legacyMatch(req) {
				continue
			}
		}
		c.scratchReset()
		if rt.cond != nil && !p.evalCond(c, rt.cond) {
			continue
		}
		if rt.backend == nil {
			return i, nil
		}
		name := rt.backend.appendTo(c.tmp[:0], c, nil, nil)
		c.tmp = name[:0]
		if len(name) == 0 {
			continue
		}
		return i, name
	}
	return -1, nil
}

// legacyMatch is the route block's host and path_prefix: the host is one
// of hosts (case-insensitive, without port) and the path starts with one
// of the prefixes.
func (rt *Route) legacyMatch(req *h1.Head) bool {
	if len(rt.hosts) > 0 {
		host := req.HostValue()
		ok := false
		for _, h := range rt.hosts {
			if h1.EqFoldBytes(host, h) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(rt.prefixes) > 0 {
		path := req.Bytes(req.Path)
		for _, p := range rt.prefixes {
			if bytes.HasPrefix(path, p) {
				return true
			}
		}
		return false
	}
	return true
}

// HasRequestWork reports whether requests run anything besides routes.
func (p *Program) HasRequestWork() bool { return len(p.Request) > 0 || p.respReq != 0 }
