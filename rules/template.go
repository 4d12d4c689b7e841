package rules

import (
	"lbd/sample"
)

// tmpl is a compiled template.
type tmpl struct {
	parts  []tpart
	static []byte // the whole text when there is no expression
	isStat bool
}

type tpart struct {
	lit []byte
	x   *expr
	ref int // regex back-reference, -1 when none
}

func compileTemplate(t *sample.Template, env Env) (*tmpl, error) {
	if t == nil {
		return nil, nil
	}
	c := &tmpl{isStat: t.Static()}
	if c.isStat {
		c.static = []byte(t.Text())
	}
	for _, p := range t.Parts {
		tp := tpart{lit: []byte(p.Lit), ref: p.Ref}
		if p.Expr != nil {
			x, err := compileExpr(p.Expr, env)
			if err != nil {
				return nil, err
			}
			tp.x = x
		}
		c.parts = append(c.parts, tp)
	}
	return c, nil
}

// appendTo renders the template; src and sub are the subject and the
// submatch indexes of a regex for back-references (nil otherwise).
func (t *tmpl) appendTo(out []byte, c *Ctx, src []byte, sub []int) []byte {
	if t.isStat {
		return append(out, t.static...)
	}
	for i := range t.parts {
		p := &t.parts[i]
		switch {
		case p.x != nil:
			out = appendValue(out, p.x.eval(c))
		case p.ref >= 0:
			if 2*p.ref+1 < len(sub) && sub[2*p.ref] >= 0 {
				out = append(out, src[sub[2*p.ref]:sub[2*p.ref+1]]...)
			}
		default:
			out = append(out, p.lit...)
		}
	}
	return out
}

// safeValue reports whether b may be written in a header value or a
// request line: no CR, LF, NUL or other control character but HTAB. A
// value built from the request (or a map) that is not is refused, so
// that no rule can split a header or inject one.
func safeValue(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
