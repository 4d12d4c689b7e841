package rules

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"unsafe"

	"lbd/maps"
	"lbd/sample"
)

// Env gives the compiler the runtime objects a policy reads by name.
type Env struct {
	// Map returns the map of that name (nil if none).
	Map func(name string) *maps.Map
	// Table returns the stick table of that name (nil if none), as the
	// Counters implementation knows it.
	Table func(name string) any
}

// expr is a compiled sample expression.
type expr struct {
	src   string
	f     fetch
	convs []conv
}

type conv struct {
	id     sample.ConvID
	m      *maps.Map
	kind   maps.Kind
	def    []byte
	hasDef bool
	field  int
	delims string
	mask4  int
	mask6  int
}

func compileExpr(e *sample.Expr, env Env) (*expr, error) {
	x := &expr{src: e.Src, f: compileFetch(&e.Fetch, env.Table)}
	if e.Fetch.Def.ID == sample.FSC && e.Fetch.Table != "" && x.f.table == nil {
		return nil, fmt.Errorf("%s: unknown stick table %q", e.Src, e.Fetch.Table)
	}
	for _, c := range e.Convs {
		cv := conv{id: c.Def.ID}
		switch c.Def.ID {
		case sample.CMap:
			if env.Map != nil {
				cv.m = env.Map(c.Args[0])
			}
			if cv.m == nil {
				return nil, fmt.Errorf("%s: unknown map %q", e.Src, c.Args[0])
			}
			k, _ := maps.KindOf(c.Def.MapMatch)
			if err := cv.m.Use(k); err != nil {
				return nil, err
			}
			cv.kind = k
			if len(c.Args) > 1 {
				cv.def, cv.hasDef = []byte(c.Args[1]), true
			}
		case sample.CField:
			cv.field, _ = strconv.Atoi(c.Args[0])
			cv.delims = c.Args[1]
		case sample.CIPMask:
			cv.mask4, _ = strconv.Atoi(c.Args[0])
			cv.mask6 = 128
			if len(c.Args) > 1 {
				cv.mask6, _ = strconv.Atoi(c.Args[1])
			}
		}
		x.convs = append(x.convs, cv)
	}
	return x, nil
}

// eval computes the expression's value.
func (x *expr) eval(c *Ctx) value {
	v := x.f.get(c)
	for i := range x.convs {
		if !v.ok {
			return v
		}
		v = x.convs[i].apply(c, v)
	}
	return v
}

func (cv *conv) apply(c *Ctx, v value) value {
	switch cv.id {
	case sample.CLower, sample.CUpper:
		b := asBytes(c, v)
		out := c.grow(len(b))
		for i, ch := range b {
			if cv.id == sample.CLower && ch >= 'A' && ch <= 'Z' {
				ch += 'a' - 'A'
			} else if cv.id == sample.CUpper && ch >= 'a' && ch <= 'z' {
				ch -= 'a' - 'A'
			}
			out[i] = ch
		}
		return strValue(c.keep(len(b)), true)
	case sample.CHostOnly:
		b := asBytes(c, v)
		return strValue(hostOnly(b), true)
	case sample.CField:
		return strValue(field(asBytes(c, v), cv.field, cv.delims))
	case sample.CIPMask:
		if v.typ != sample.IP {
			return value{typ: sample.IP}
		}
		bits := cv.mask4
		if v.ip.Is6() {
			bits = cv.mask6
		}
		p, err := v.ip.Prefix(bits)
		if err != nil {
			return value{typ: sample.IP}
		}
		return ipValue(p.Addr())
	case sample.CMap:
		var s string
		var ok bool
		if cv.kind == maps.IP {
			a := v.ip
			if v.typ != sample.IP {
				a, _ = netip.ParseAddr(string(asBytes(c, v)))
			}
			s, ok = cv.m.LookupAddr(a)
		} else {
			s, ok = cv.m.Lookup(cv.kind, asBytes(c, v))
		}
		if !ok {
			if cv.hasDef {
				return strValue(cv.def, true)
			}
			return value{typ: sample.Str}
		}
		return strValue(unsafe.Slice(unsafe.StringData(s), len(s)), true)
	}
	return v
}

// asBytes renders a value as text (in the workspace for numbers and
// addresses).
func asBytes(c *Ctx, v value) []byte {
	switch v.typ {
	case sample.Str:
		return v.b
	case sample.Int, sample.Bool:
		b := strconv.AppendInt(c.grow(20)[:0], v.i, 10)
		return c.keep(len(b))
	case sample.IP:
		b := v.ip.AppendTo(c.grow(46)[:0])
		return c.keep(len(b))
	}
	return nil
}

// appendValue appends a value as text to out.
func appendValue(out []byte, v value) []byte {
	if !v.ok {
		return out
	}
	switch v.typ {
	case sample.Str:
		return append(out, v.b...)
	case sample.Int, sample.Bool:
		return strconv.AppendInt(out, v.i, 10)
	case sample.IP:
		return v.ip.AppendTo(out)
	}
	return out
}

// hostOnly strips a port from host[:port] or [v6]:port.
func hostOnly(b []byte) []byte {
	if len(b) > 0 && b[0] == '[' {
		if i := bytes.IndexByte(b, ']'); i > 0 {
			return b[1:i]
		}
		return b
	}
	if i := bytes.LastIndexByte(b, ':'); i >= 0 && bytes.IndexByte(b[:i], ':') < 0 {
		return b[:i]
	}
	return b
}

// field is HAProxy's field(index,delimiters): the index-th field (from 1;
// negative from the end).
func field(b []byte, idx int, delims string) ([]byte, bool) {
	if idx > 0 {
		for n := 1; ; n++ {
			i := bytes.IndexAny(b, delims)
			if n == idx {
				if i < 0 {
					return b, true
				}
				return b[:i], true
			}
			if i < 0 {
				return nil, false
			}
			b = b[i+1:]
		}
	}
	for n := -1; ; n-- {
		i := bytes.LastIndexAny(b, delims)
		if n == idx {
			return b[i+1:], true
		}
		if i < 0 {
			return nil, false
		}
		b = b[:i]
	}
}
