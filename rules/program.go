package rules

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"lbd/config"
	"lbd/sample"
)

// Action is what a rule does.
type Action uint8

// Actions.
const (
	Allow Action = iota
	Deny
	Tarpit
	Return
	Redirect
	SetHeader
	AddHeader
	DelHeader
	ReplaceHeader
	ReplaceValue
	SetPath
	SetQuery
	SetMethod
	SetURI
	ReplacePath
	ReplaceURI
	SetLogLevel
	SetStatus
	Track
	Accept
	Reject
)

var actionByName = map[string]Action{
	"allow": Allow, "deny": Deny, "tarpit": Tarpit, "return": Return, "redirect": Redirect,
	"set_header": SetHeader, "add_header": AddHeader, "del_header": DelHeader,
	"replace_header": ReplaceHeader, "replace_value": ReplaceValue, "set_path": SetPath,
	"set_query": SetQuery, "set_method": SetMethod, "set_uri": SetURI, "replace_path": ReplacePath,
	"replace_uri": ReplaceURI, "set_log_level": SetLogLevel, "set_status": SetStatus,
	"track_sc0": Track, "track_sc1": Track, "track_sc2": Track, "accept": Accept, "reject": Reject,
}

// Terminal reports whether the action ends the rule list.
func (a Action) Terminal() bool {
	switch a {
	case Allow, Deny, Tarpit, Return, Redirect, Accept, Reject:
		return true
	}
	return false
}

// Rule is a compiled rule.
type Rule struct {
	Action Action
	Line   int // where it is written, for logs
	cond   *cond

	// responses (deny, return, tarpit)
	Status      int
	contentType []byte
	body        *tmpl
	bodyFile    []byte
	headers     []hdrTmpl
	// hasCacheControl: the rule's headers set Cache-Control.
	hasCacheControl bool
	reason          []byte
	Delay           time.Duration

	// redirect
	location, prefix, scheme *tmpl
	code                     int
	dropQuery, appendSlash   bool

	// edits
	name   []byte
	isHost bool
	value  *tmpl
	re     *regexp.Regexp
	repl   *tmpl

	// LogLevel: -1 silent, else a zerolog level (0 debug .. 3 error).
	LogLevel int8

	// Track: the slot, the table (as Env.Table returned it) and the key.
	Slot  int
	Table any
	key   *expr

	retryAfter time.Duration

	// What the rule reads (its condition, its values) and changes, and
	// the acls whose cached results its edit makes stale (reads.go).
	condReads, valReads, writes reads
	invalidates                 uint64
}

type hdrTmpl struct {
	name  []byte
	value *tmpl
}

// Route is a compiled route: its condition, legacy host and path_prefix
// criteria, and its backend (a name, or a template naming one).
type Route struct {
	Name     string
	Backend  string // static name; "" when dynamic
	cond     *cond
	hosts    [][]byte
	prefixes [][]byte
	backend  *tmpl
}

// Program is a frontend's compiled policy.
type Program struct {
	acls       []acl
	Request    []Rule
	Response   []Rule
	TCPConn    []Rule
	TCPContent []Rule
	Routes     []Route
	// InspectDelay bounds the wait for client bytes of TCPContent rules.
	InspectDelay time.Duration
	// respReq are the request acls response rules use: evaluated with
	// the request (before its buffer may be reused), read in the
	// response phase.
	respReq uint64
	// TrackSlots: which slots some rule tracks (bit per slot).
	TrackSlots uint8
	// NeedsHello: tcp content rules read the TLS ClientHello.
	NeedsHello bool
}

// Compile builds a frontend's program. The configuration was validated:
// errors here come from the environment (a map or table missing).
func Compile(f *config.Frontend, env Env) (*Program, error) {
	p := &Program{InspectDelay: f.Policy.InspectDelay}
	names := map[string]int{}
	for i, a := range f.Policy.ACLs {
		ca := acl{name: a.Name}
		for _, m := range a.Matchers {
			cm, err := compileMatcher(m, env)
			if err != nil {
				return nil, fmt.Errorf("acl %q: %w", a.Name, err)
			}
			if m.Sample.Phase() == sample.Resp {
				ca.resp = true
			}
			if id := m.Sample.Fetch.Def.ID; (id == sample.FReqSSLSNI || id == sample.FSSLSNI) && f.Mode == config.ModeTCP {
				p.NeedsHello = true
			}
			ca.ms = append(ca.ms, cm)
			ca.reads.expr(cm.x)
		}
		p.acls = append(p.acls, ca)
		names[a.Name] = i
	}
	var err error
	lists := []struct {
		src []*config.Rule
		dst *[]Rule
	}{
		{f.Policy.HTTPRequest, &p.Request}, {f.Policy.HTTPResponse, &p.Response},
		{f.Policy.TCPConnection, &p.TCPConn}, {f.Policy.TCPContent, &p.TCPContent},
	}
	for _, l := range lists {
		for _, r := range l.src {
			cr, e := compileRule(r, names, env)
			if e != nil {
				return nil, fmt.Errorf("%s %q at line %d: %w", r.Phase, r.Action, r.Line(), e)
			}
			if cr.Action == Track {
				p.TrackSlots |= 1 << cr.Slot
			}
			*l.dst = append(*l.dst, cr)
		}
	}
	for i := range p.Response {
		if c := p.Response[i].cond; c != nil {
			p.markReqACLs(c)
		}
	}
	p.prepareReads(p.Request)
	p.prepareReads(p.Response)
	for _, r := range f.Routes {
		cr := Route{Name: r.Name, Backend: r.Backend}
		if r.Cond != nil {
			cr.cond = compileCondition(r.Cond, names)
		}
		for _, h := range r.Host {
			cr.hosts = append(cr.hosts, []byte(h))
		}
		for _, pp := range r.PathPrefix {
			cr.prefixes = append(cr.prefixes, []byte(pp))
		}
		if r.BackendTemplate != nil {
			cr.Backend = ""
			if cr.backend, err = compileTemplate(r.BackendTemplate, env); err != nil {
				return nil, fmt.Errorf("route %q: %w", r.Name, err)
			}
		}
		p.Routes = append(p.Routes, cr)
	}
	return p, nil
}

// markReqACLs notes the request acls a response condition reads.
func (p *Program) markReqACLs(c *cond) {
	if c.op == sample.OpName {
		if c.acl >= 0 && c.acl < 64 && !p.acls[c.acl].resp {
			p.respReq |= 1 << c.acl
		}
		return
	}
	for i := range c.kids {
		p.markReqACLs(&c.kids[i])
	}
}

func compileCondition(c *config.Condition, names map[string]int) *cond {
	k := compileCond(c.Expr, names)
	k.not = c.Unless
	return &k
}

func compileRule(r *config.Rule, names map[string]int, env Env) (Rule, error) {
	cr := Rule{Action: actionByName[r.Action], Line: r.Line(), Status: r.Status, Delay: r.Delay,
		code: r.Code, dropQuery: r.DropQuery, appendSlash: r.AppendSlash, re: r.Regex, Slot: r.Slot,
		retryAfter: r.RetryAfter}
	if r.Cond != nil {
		cr.cond = compileCondition(r.Cond, names)
	}
	var err error
	for _, t := range []struct {
		src *sample.Template
		dst **tmpl
	}{{r.Body, &cr.body}, {r.Location, &cr.location}, {r.Prefix, &cr.prefix}, {r.Scheme, &cr.scheme}, {r.Value, &cr.value}, {r.Replace, &cr.repl}} {
		if *t.dst, err = compileTemplate(t.src, env); err != nil {
			return cr, err
		}
	}
	for _, h := range r.Headers {
		v, err := compileTemplate(h.Value, env)
		if err != nil {
			return cr, err
		}
		cr.headers = append(cr.headers, hdrTmpl{name: []byte(h.Name), value: v})
		cr.hasCacheControl = cr.hasCacheControl || strings.EqualFold(h.Name, "cache-control")
	}
	cr.contentType = []byte(r.ContentType)
	cr.bodyFile = r.BodyFile
	cr.reason = []byte(r.Reason)
	cr.name = []byte(r.Name)
	cr.isHost = strings.EqualFold(r.Name, "host")
	switch r.Level {
	case "silent":
		cr.LogLevel = -1
	case "emerg", "alert", "crit", "err":
		cr.LogLevel = 3
	case "warning":
		cr.LogLevel = 2
	case "notice", "info":
		cr.LogLevel = 1
	case "debug":
		cr.LogLevel = 0
	}
	if cr.Action == Track {
		if env.Table != nil {
			cr.Table = env.Table(r.Table)
		}
		if cr.Table == nil {
			return cr, fmt.Errorf("unknown stick table %q", r.Table)
		}
		if cr.key, err = compileExpr(r.Key, env); err != nil {
			return cr, err
		}
	}
	return cr, nil
}

// Applies reports whether the rule's condition holds.
func (p *Program) Applies(c *Ctx, r *Rule) bool {
	return r.cond == nil || p.evalCond(c, r.cond)
}

// SaveRequestACLs evaluates, while the request is at hand, the request
// acls response rules read.
func (p *Program) SaveRequestACLs(c *Ctx) {
	for m := p.respReq; m != 0; m &= m - 1 {
		i := trailingZeros(m)
		bit := uint64(1) << i
		c.reqDone |= bit
		if p.evalACL(c, i) {
			c.reqVal |= bit
		}
	}
}

func trailingZeros(m uint64) int {
	n := 0
	for m&1 == 0 {
		m >>= 1
		n++
	}
	return n
}

// TrackKey evaluates a Track rule's key: an address (16 bytes, IPv4
// mapped, isAddr true) when the key is one, else its text, appended to
// buf. ok is false when the request has no such value.
func (r *Rule) TrackKey(c *Ctx, buf []byte) (key []byte, isAddr, ok bool) {
	v := r.key.eval(c)
	if !v.ok {
		return buf, false, false
	}
	if v.typ == sample.IP {
		a := v.ip.As16()
		return append(buf, a[:]...), true, true
	}
	return appendValue(buf, v), false, true
}

// CodeOf is a redirect's status code.
func (r *Rule) CodeOf() int { return r.code }

// RetryAfter is what a 429 deny says in Retry-After: the longest period
// of the rate counters its condition compares (a client limited by a
// rate over 10s may try again in 10s); 0 when it reads none.
func (r *Rule) RetryAfter() time.Duration { return r.retryAfter }
