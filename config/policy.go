package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"lbd/sample"
)

// Policy is a frontend's traffic policy: named conditions and the rules
// that use them, HAProxy's acl, http-request, http-response and
// tcp-request lines.
type Policy struct {
	ACLs []*ACL
	// HTTPRequest rules run in order on every request, before routes.
	HTTPRequest []*Rule
	// HTTPResponse rules run in order on every response from a server.
	HTTPResponse []*Rule
	// TCPConnection rules run when a connection is accepted (after its
	// PROXY protocol header, before TLS and before anything is read).
	TCPConnection []*Rule
	// TCPContent rules run on tcp frontends before a server is chosen,
	// once the client's first bytes are there or InspectDelay passed.
	TCPContent []*Rule
	// InspectDelay is how long tcp_request "content" rules wait for
	// the client's first bytes (HAProxy's tcp-request inspect-delay).
	// Default 0: they run on what is there at once.
	InspectDelay time.Duration
}

// Empty reports whether the policy has no rule.
func (p *Policy) Empty() bool {
	return len(p.HTTPRequest)+len(p.HTTPResponse)+len(p.TCPConnection)+len(p.TCPContent) == 0
}

// ACL returns the acl of that name, or nil.
func (p *Policy) ACL(name string) *ACL {
	for _, a := range p.ACLs {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// decodePolicyBlock reads one acl, http_request, http_response or
// tcp_request block of a frontend; false when blk is none of them.
func (d *decoder) decodePolicyBlock(f *Frontend, blk *hcl.Block) bool {
	p := &f.Policy
	switch blk.Type {
	case "acl":
		a := d.decodeACL(blk)
		if prev := p.ACL(a.Name); prev != nil {
			d.errorf(blk.LabelRanges[0], "duplicate acl %q in frontend %q; the first one is at line %d (write several acl blocks with different names and combine them with ||)", a.Name, f.Name, prev.rng.block.Start.Line)
			return true
		}
		p.ACLs = append(p.ACLs, a)
	case "http_request", "http_response":
		if r := d.decodeRule(blk, blk.Type, f.Timeouts); r != nil {
			if blk.Type == "http_request" {
				p.HTTPRequest = append(p.HTTPRequest, r)
			} else {
				p.HTTPResponse = append(p.HTTPResponse, r)
			}
		}
	case "tcp_request":
		switch blk.Labels[0] {
		case "connection":
			if r := d.decodeRule(blk, "tcp_connection", f.Timeouts); r != nil {
				p.TCPConnection = append(p.TCPConnection, r)
			}
		case "content":
			if r := d.decodeRule(blk, "tcp_content", f.Timeouts); r != nil {
				p.TCPContent = append(p.TCPContent, r)
			}
		default:
			d.errorf(blk.LabelRanges[0], "tcp_request: %q is not \"connection\" or \"content\"", blk.Labels[0])
		}
	default:
		return false
	}
	return true
}

// policyBlocks are the frontend block types of the policy.
var policyBlocks = []hcl.BlockHeaderSchema{
	{Type: "acl", LabelNames: []string{"name"}},
	{Type: "http_request", LabelNames: []string{"action"}},
	{Type: "http_response", LabelNames: []string{"action"}},
	{Type: "tcp_request", LabelNames: []string{"when", "action"}},
}

// decodeRouteCond reads a route's if/unless and a backend written as a
// template (HAProxy's use_backend %[...]).
func (d *decoder) decodeRouteCond(b body, r *Route) {
	r.Cond = d.decodeCondition(b)
	if strings.Contains(r.Backend, "%[") {
		t, err := sample.ParseTemplate(r.Backend)
		if err != nil {
			d.exprError(b.rng.at("backend"), err)
			return
		}
		r.BackendTemplate = t
	}
}

// validatePolicy checks a frontend's policy against the rest of the
// file: names, phases, maps, modes; and warns about unused conditions and
// rules that can never run.
func (d *decoder) validatePolicy(cfg *Config, f *Frontend) {
	p := &f.Policy
	used := map[string]bool{}
	phaseOf := map[string]sample.Phase{}
	for _, a := range p.ACLs {
		ph := sample.Conn
		for _, m := range a.Matchers {
			d.checkMaps(cfg, m.Sample, m.Range)
			d.checkCounter(cfg, f, m.Sample, m.Range)
			if m.Sample.Phase() > ph {
				ph = m.Sample.Phase()
			}
		}
		phaseOf[a.Name] = ph
	}
	cond := func(c *Condition, phase sample.Phase, where string) {
		if c == nil {
			return
		}
		for _, n := range c.Expr.Names() {
			rng := offsetRange(c.Range, &sample.Error{Off: n.Off})
			if sample.IsPredefined(n.Name) {
				if phase == sample.Conn && n.Name != "TRUE" && n.Name != "FALSE" && n.Name != "LOCALHOST" {
					d.errorf(rng, "%s: %s needs an HTTP request, which %s does not have", n.Name, n.Name, where)
				}
				continue
			}
			a := p.ACL(n.Name)
			if a == nil {
				var names []string
				for _, a := range p.ACLs {
					names = append(names, a.Name)
				}
				d.errorf(rng, "unknown acl %q in frontend %q%s", n.Name, f.Name, suggest(n.Name, append(names, sample.Predefined...)))
				continue
			}
			used[n.Name] = true
			if phaseOf[n.Name] > phase {
				d.errorf(rng, "acl %q reads the %s, which %s does not have yet", n.Name, phaseOf[n.Name], where)
			}
		}
	}
	lists := []struct {
		rules []*Rule
		phase sample.Phase
		where string
		mode  Mode // the mode the list needs, "" for both
	}{
		{p.TCPConnection, sample.Conn, "tcp_request \"connection\"", ""},
		{p.TCPContent, sample.Conn, "tcp_request \"content\"", ModeTCP},
		{p.HTTPRequest, sample.Req, "http_request", ModeHTTP},
		{p.HTTPResponse, sample.Resp, "http_response", ModeHTTP},
	}
	for _, l := range lists {
		terminalAt := 0
		for _, r := range l.rules {
			if l.mode != "" && f.Mode != l.mode {
				d.errorf(r.rng.block, "frontend %q: %s needs mode = %q (this frontend is %s)", f.Name, l.where, l.mode, f.Mode)
				break
			}
			if terminalAt > 0 {
				d.warnf(r.rng.block, "this rule is never reached: the %s rule at line %d ends the list for every request", l.where, terminalAt)
			}
			if r.Terminal() && r.Cond == nil && terminalAt == 0 {
				terminalAt = r.rng.block.Start.Line
			}
			cond(r.Cond, l.phase, l.where)
			if r.Phase == "tcp_connection" && r.Cond != nil && condNeedsData(p, r.Cond) && len(f.TLS) == 0 {
				d.errorf(r.Cond.Range, "the TLS server name is read from the client's first bytes: use tcp_request \"content\" (with inspect_delay)")
			}
			for _, t := range r.templates() {
				for _, e := range t.Exprs() {
					d.checkMaps(cfg, e, r.rng.block)
					d.checkCounter(cfg, f, e, r.rng.block)
					if e.Phase() > l.phase {
						d.errorf(r.rng.block, "%s reads the %s, which %s does not have yet", e.Src, e.Phase(), l.where)
					}
					if l.phase == sample.Resp && e.Phase() == sample.Req {
						d.errorf(r.rng.block, "%s reads the request, which http_response values cannot (it may be gone by then); an acl on the request can be used in the rule's condition", e.Src)
					}
				}
			}
			if r.Key != nil {
				d.checkMaps(cfg, r.Key, r.rng.at("key"))
				if r.Key.Phase() > l.phase {
					d.errorf(r.rng.at("key"), "key %s reads the %s, which %s does not have yet", r.Key.Src, r.Key.Phase(), l.where)
				}
			}
			if strings.HasPrefix(r.Action, "track_sc") {
				d.checkTrack(cfg, f, r)
			}
			if (r.Action == "deny" || r.Action == "tarpit") && r.Status == 429 {
				r.RetryAfter = retryAfter(cfg, f, r.Cond)
			}
			if r.Name != "" && r.Action != "del_header" && f.ForwardFor && strings.HasPrefix(strings.ToLower(r.Name), "x-forwarded-") && l.phase == sample.Req {
				d.errorf(r.rng.at("name"), "name: %s is written by forward_for on this frontend", r.Name)
			}
		}
	}
	for _, r := range f.Routes {
		cond(r.Cond, sample.Req, "route")
		if r.BackendTemplate != nil {
			for _, e := range r.BackendTemplate.Exprs() {
				d.checkMaps(cfg, e, r.rng.at("backend"))
				if e.Phase() > sample.Req {
					d.errorf(r.rng.at("backend"), "%s reads the response, which a route does not have", e.Src)
				}
			}
		}
	}
	if f.Mode == ModeTCP && len(p.HTTPRequest) == 0 && p.InspectDelay == 0 {
		for _, r := range p.TCPContent {
			if r.Cond != nil && condNeedsData(p, r.Cond) {
				d.warnf(r.rng.block, "this rule reads the client's first bytes (the TLS server name) but inspect_delay is 0: they are rarely there at once")
				break
			}
		}
	}
	for _, a := range p.ACLs {
		if !used[a.Name] {
			d.warnf(a.rng.block, "acl %q is not used by any rule or route", a.Name)
		}
	}
}

// condNeedsData: the condition reads the ClientHello (req.ssl_sni).
func condNeedsData(p *Policy, c *Condition) bool {
	for _, n := range c.Expr.Names() {
		if a := p.ACL(n.Name); a != nil {
			for _, m := range a.Matchers {
				if id := m.Sample.Fetch.Def.ID; id == sample.FReqSSLSNI || id == sample.FSSLSNI {
					return true
				}
			}
		}
	}
	return false
}

// templates lists a rule's templates.
func (r *Rule) templates() []*sample.Template {
	var out []*sample.Template
	for _, t := range []*sample.Template{r.Body, r.Location, r.Prefix, r.Scheme, r.Value, r.Replace} {
		if t != nil {
			out = append(out, t)
		}
	}
	for _, h := range r.Headers {
		out = append(out, h.Value)
	}
	return out
}

// checkMaps checks that the maps an expression reads exist, and that
// map_ip and map_reg can read their keys.
func (d *decoder) checkMaps(cfg *Config, e *sample.Expr, rng hcl.Range) {
	if e == nil {
		return
	}
	for _, c := range e.Convs {
		if c.Def.ID != sample.CMap {
			continue
		}
		m := cfg.Map(c.Args[0])
		if m == nil {
			var names []string
			for _, m := range cfg.Maps {
				names = append(names, m.Name)
			}
			d.errorf(rng, "%s: unknown map %q%s", c.Def.Name, c.Args[0], suggest(c.Args[0], names))
			continue
		}
		for _, en := range m.Entries {
			switch c.Def.MapMatch {
			case "ip":
				if _, err := parsePrefixOrAddr(en.Key); err != nil {
					d.errorf(rng, "%s(%s): %s:%d: key %q is not an address or CIDR", c.Def.Name, m.Name, m.File, en.Line, en.Key)
					return
				}
			case "reg":
				if _, err := regexp.Compile(en.Key); err != nil {
					d.errorf(rng, "%s(%s): %s:%d: key %q is not a regular expression: %v", c.Def.Name, m.Name, m.File, en.Line, en.Key, err)
					return
				}
			}
		}
	}
}

// routeBackends checks the backends a route names: the static one, or the
// values of the maps a dynamic one reads (a warning: the map may change at
// runtime, and a request whose value names no backend falls through).
func (d *decoder) routeBackends(cfg *Config, f *Frontend, r *Route) {
	if r.BackendTemplate == nil {
		return
	}
	for _, e := range r.BackendTemplate.Exprs() {
		for _, c := range e.Convs {
			m := cfg.Map(firstArg(c.Args))
			if c.Def.ID != sample.CMap || m == nil {
				continue
			}
			if len(c.Args) > 1 && cfg.Backend(c.Args[1]) == nil {
				d.errorf(r.rng.at("backend"), "the default %q of %s is not a backend", c.Args[1], c.Def.Name)
			}
			for _, en := range m.Entries {
				if b := cfg.Backend(en.Value); b == nil {
					d.warnf(r.rng.at("backend"), "map %q: %s:%d: %q is not a backend: requests that get it fall through to the next route", m.Name, m.File, en.Line, en.Value)
				} else if b.Mode != f.Mode {
					d.errorf(r.rng.at("backend"), "map %q: %s:%d: backend %q is mode %s, frontend %q is %s", m.Name, m.File, en.Line, b.Name, b.Mode, f.Name, f.Mode)
				}
			}
		}
	}
}

func firstArg(a []string) string {
	if len(a) == 0 {
		return ""
	}
	return a[0]
}

// String is for messages.
func (c *Condition) String() string {
	if c.Unless {
		return fmt.Sprintf("unless %s", c.Src)
	}
	return fmt.Sprintf("if %s", c.Src)
}

// checkCounter checks a stick counter fetch: the slot it reads is
// tracked by a rule of the frontend (or it names its table).
func (d *decoder) checkCounter(cfg *Config, f *Frontend, e *sample.Expr, rng hcl.Range) {
	if e == nil || e.Fetch.Def.ID != sample.FSC {
		return
	}
	if e.Fetch.Src && e.Fetch.Table == "" {
		// src_<counter> without a table reads the frontend's own.
		if f.StickTable == nil {
			d.errorf(rng, "%s: frontend %q has no stick_table: name one, %s(TABLE)", e.Src, f.Name, e.Fetch.Name)
			return
		}
		e.Fetch.Table = f.Name
	}
	tables := d.trackedTables(f, e.Fetch.Slot)
	if e.Fetch.Table != "" {
		tables = []string{e.Fetch.Table}
	}
	if len(tables) == 0 {
		d.errorf(rng, "%s: no rule of frontend %q tracks sc%d (track_sc%d)", e.Src, f.Name, e.Fetch.Slot, e.Fetch.Slot)
		return
	}
	d.checkTablesStore(cfg, tables, e, rng)
}

// trackedTables lists the tables the frontend's rules track in slot.
func (d *decoder) trackedTables(f *Frontend, slot int) []string {
	var out []string
	p := &f.Policy
	for _, l := range [][]*Rule{p.TCPConnection, p.TCPContent, p.HTTPRequest} {
		for _, r := range l {
			t := r.Table
			if t == "" {
				t = f.Name // the frontend's own (checkTrack)
			}
			if strings.HasPrefix(r.Action, "track_sc") && r.Slot == slot && !contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}
