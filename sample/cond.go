package sample

import "strings"

// Op is a node of a condition.
type Op uint8

// Condition operators.
const (
	OpName Op = iota // a named condition
	OpNot
	OpAnd
	OpOr
)

// Cond is a parsed condition expression.
type Cond struct {
	Op   Op
	Name string // OpName
	Off  int    // OpName: where the name is written
	Kids []*Cond
}

// Names lists the names the condition uses, with their offsets.
func (c *Cond) Names() []*Cond {
	if c.Op == OpName {
		return []*Cond{c}
	}
	var out []*Cond
	for _, k := range c.Kids {
		out = append(out, k.Names()...)
	}
	return out
}

// Predefined are HAProxy's predefined ACLs lbd knows. Their meaning is
// given by package rules.
var Predefined = []string{
	"TRUE", "FALSE", "LOCALHOST", "HTTP", "HTTP_1.0", "HTTP_1.1",
	"HTTP_CONTENT", "HTTP_URL_ABS", "HTTP_URL_SLASH", "HTTP_URL_STAR",
	"METH_CONNECT", "METH_DELETE", "METH_GET", "METH_HEAD", "METH_OPTIONS",
	"METH_POST", "METH_PUT", "METH_TRACE",
}

// IsPredefined reports whether name is one of Predefined.
func IsPredefined(name string) bool {
	for _, p := range Predefined {
		if p == name {
			return true
		}
	}
	return false
}

type condParser struct {
	s   string
	i   int
	tok string // current token: a name, "!", "&&", "||", "(", ")" or "" at the end
	off int
}

// ParseCond parses a condition: names, "!", "&&", "||" (or "or"),
// parentheses; juxtaposed names are and-ed, as in HAProxy.
func ParseCond(s string) (*Cond, error) {
	p := &condParser{s: s}
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok == "" {
		return nil, errAt(0, "empty condition")
	}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.tok != "" {
		return nil, errAt(p.off, "unexpected %q", p.tok)
	}
	return c, nil
}

func (p *condParser) next() error {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
	p.off = p.i
	if p.i >= len(p.s) {
		p.tok = ""
		return nil
	}
	rest := p.s[p.i:]
	switch {
	case strings.HasPrefix(rest, "&&"), strings.HasPrefix(rest, "||"):
		p.tok = rest[:2]
		p.i += 2
		return nil
	case rest[0] == '!' || rest[0] == '(' || rest[0] == ')':
		p.tok = rest[:1]
		p.i++
		return nil
	case rest[0] == '{':
		return errAt(p.i, "anonymous conditions { ... } are written as acl blocks in lbd")
	}
	j := p.i
	for j < len(p.s) && (isAlnum(p.s[j]) || strings.IndexByte("_.:-", p.s[j]) >= 0) {
		j++
	}
	if j == p.i {
		return errAt(p.i, "unexpected %q in the condition", p.s[p.i:p.i+1])
	}
	p.tok = p.s[p.i:j]
	p.i = j
	return nil
}

func (p *condParser) or() (*Cond, error) {
	c, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.tok == "||" || p.tok == "or" {
		if err := p.next(); err != nil {
			return nil, err
		}
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		c = join(OpOr, c, r)
	}
	return c, nil
}

func (p *condParser) and() (*Cond, error) {
	c, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		switch p.tok {
		case "&&":
			if err := p.next(); err != nil {
				return nil, err
			}
		case "", ")", "||", "or":
			return c, nil
		}
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		c = join(OpAnd, c, r)
	}
}

func (p *condParser) unary() (*Cond, error) {
	switch p.tok {
	case "!":
		if err := p.next(); err != nil {
			return nil, err
		}
		k, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &Cond{Op: OpNot, Kids: []*Cond{k}}, nil
	case "(":
		open := p.off
		if err := p.next(); err != nil {
			return nil, err
		}
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.tok != ")" {
			return nil, errAt(open, "'(' without its ')'")
		}
		return c, p.next()
	case "":
		return nil, errAt(p.off, "a condition name is missing at the end")
	case ")", "&&", "||", "or":
		return nil, errAt(p.off, "a condition name is expected before %q", p.tok)
	}
	c := &Cond{Op: OpName, Name: p.tok, Off: p.off}
	return c, p.next()
}

func join(op Op, a, b *Cond) *Cond {
	if a.Op == op {
		a.Kids = append(a.Kids, b)
		return a
	}
	return &Cond{Op: op, Kids: []*Cond{a, b}}
}
