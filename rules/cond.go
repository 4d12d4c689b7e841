package rules

import (
	"net/netip"

	"lbd/sample"
)

// acl is a compiled acl block: all its matchers must match.
type acl struct {
	name  string
	ms    []*matcher
	resp  bool  // reads the response
	reads reads // what of the message it reads
}

// cond is a compiled condition: a tree over acls and predefined acls.
type cond struct {
	op   sample.Op
	acl  int // OpName: index in Program.acls, or -1 for a predefined one
	pre  predefined
	meth int  // preMeth: index in methodKeys
	not  bool // unless
	kids []cond
}

type predefined uint8

const (
	preTrue predefined = iota
	preFalse
	preLocalhost
	preHTTP
	preHTTP10
	preHTTP11
	preContent
	preURLAbs
	preURLSlash
	preURLStar
	preMeth // method in preMethod
)

var predefinedIDs = map[string]predefined{
	"TRUE": preTrue, "FALSE": preFalse, "LOCALHOST": preLocalhost, "HTTP": preHTTP,
	"HTTP_1.0": preHTTP10, "HTTP_1.1": preHTTP11, "HTTP_CONTENT": preContent,
	"HTTP_URL_ABS": preURLAbs, "HTTP_URL_SLASH": preURLSlash, "HTTP_URL_STAR": preURLStar,
}

// evalACL evaluates acl i, once per request (until a rewrite).
func (p *Program) evalACL(c *Ctx, i int) bool {
	if i < 64 {
		bit := uint64(1) << i
		if c.done&bit != 0 {
			return c.val&bit != 0
		}
		if c.reqDone&bit != 0 && c.Resp != nil {
			return c.reqVal&bit != 0
		}
		r := p.acls[i].eval(c)
		c.done |= bit
		if r {
			c.val |= bit
		}
		return r
	}
	return p.acls[i].eval(c)
}

func (a *acl) eval(c *Ctx) bool {
	for _, m := range a.ms {
		if !m.eval(c) {
			return false
		}
	}
	return true
}

func (p *Program) evalCond(c *Ctx, k *cond) bool {
	r := p.evalNode(c, k)
	return r != k.not
}

func (p *Program) evalNode(c *Ctx, k *cond) bool {
	switch k.op {
	case sample.OpName:
		if k.acl >= 0 {
			return p.evalACL(c, k.acl)
		}
		return evalPredefined(c, k)
	case sample.OpNot:
		return !p.evalNode(c, &k.kids[0])
	case sample.OpAnd:
		for i := range k.kids {
			if !p.evalNode(c, &k.kids[i]) {
				return false
			}
		}
		return true
	case sample.OpOr:
		for i := range k.kids {
			if p.evalNode(c, &k.kids[i]) {
				return true
			}
		}
		return false
	}
	return false
}

// methodNames for METH_* (HAProxy's METH_GET matches GET and HEAD).
var methodNames = map[string][]string{
	"METH_CONNECT": {"CONNECT"}, "METH_DELETE": {"DELETE"}, "METH_GET": {"GET", "HEAD"},
	"METH_HEAD": {"HEAD"}, "METH_OPTIONS": {"OPTIONS"}, "METH_POST": {"POST"},
	"METH_PUT": {"PUT"}, "METH_TRACE": {"TRACE"},
}

var loopback4 = netip.MustParsePrefix("127.0.0.0/8")

func evalPredefined(c *Ctx, k *cond) bool {
	req := c.Req
	switch k.pre {
	case preTrue:
		return true
	case preFalse:
		return false
	case preLocalhost:
		a := c.Src.Addr()
		return loopback4.Contains(a) || a == netip.IPv6Loopback()
	}
	if req == nil {
		return false
	}
	switch k.pre {
	case preHTTP:
		return true
	case preHTTP10:
		return req.Minor == 0
	case preHTTP11:
		return req.Minor == 1
	case preContent:
		return req.ContentLength > 0 || req.Chunked
	case preURLAbs:
		return req.Authority.End > req.Authority.Off
	case preURLSlash:
		t := req.Bytes(req.Target)
		return len(t) > 0 && t[0] == '/'
	case preURLStar:
		t := req.Bytes(req.Target)
		return len(t) == 1 && t[0] == '*'
	case preMeth:
		m := req.Bytes(req.Method)
		for _, n := range methodNames[methodKeys[k.meth]] {
			if string(m) == n {
				return true
			}
		}
	}
	return false
}

var methodKeys = []string{"METH_CONNECT", "METH_DELETE", "METH_GET", "METH_HEAD", "METH_OPTIONS", "METH_POST", "METH_PUT", "METH_TRACE"}

// compileCond turns a parsed condition into a cond; acls maps names to
// indexes.
func compileCond(s *sample.Cond, acls map[string]int) cond {
	switch s.Op {
	case sample.OpName:
		if i, ok := acls[s.Name]; ok {
			return cond{op: sample.OpName, acl: i}
		}
		if pre, ok := predefinedIDs[s.Name]; ok {
			return cond{op: sample.OpName, acl: -1, pre: pre}
		}
		for i, m := range methodKeys {
			if m == s.Name {
				return cond{op: sample.OpName, acl: -1, pre: preMeth, meth: i}
			}
		}
		return cond{op: sample.OpName, acl: -1, pre: preFalse}
	default:
		c := cond{op: s.Op}
		for _, k := range s.Kids {
			c.kids = append(c.kids, compileCond(k, acls))
		}
		return c
	}
}
