package rules

import (
	"bytes"
	"net/netip"

	"lbd/config"
	"lbd/h1"
	"lbd/sample"
)

// matcher is one compiled criterion of an acl.
type matcher struct {
	x     *expr
	match string
	list  bool // try every occurrence (hdr, cookie, url_param)
	icase bool

	strs  [][]byte
	set   map[string]struct{} // exact matches when there are many
	res   []fastRegexp
	pfx   []netip.Prefix
	ints  []config.IntMatch
	boolv bool
}

// setThreshold: past this many exact patterns a map replaces the scan.
const setThreshold = 8

func compileMatcher(m *config.Matcher, env Env) (*matcher, error) {
	x, err := compileExpr(m.Sample, env)
	if err != nil {
		return nil, err
	}
	c := &matcher{x: x, match: m.Match, list: m.ListValues, icase: m.IgnoreCase,
		pfx: m.Prefixes, ints: m.Ints, boolv: m.Bool}
	for _, re := range m.Regexps {
		c.res = append(c.res, newFastRegexp(re))
	}
	for _, s := range m.Strings {
		c.strs = append(c.strs, []byte(s))
	}
	if m.Match == "str" && len(m.Strings) > setThreshold {
		c.set = make(map[string]struct{}, len(m.Strings))
		for _, s := range m.Strings {
			c.set[s] = struct{}{}
		}
	}
	return c, nil
}

// eval reports whether the request matches: for list samples, whether any
// occurrence does.
func (m *matcher) eval(c *Ctx) bool {
	if m.list && len(m.x.convs) == 0 {
		return m.evalList(c)
	}
	v := m.x.eval(c)
	if m.match == "found" {
		return v.ok
	}
	if !v.ok {
		return false
	}
	return m.test(c, v)
}

func (m *matcher) evalList(c *Ctx) bool {
	f := &m.x.f
	switch f.id {
	case sample.FHdr, sample.FFHdr, sample.FResHdr, sample.FResFHdr:
		h := c.Req
		if f.id == sample.FResHdr || f.id == sample.FResFHdr {
			h = c.Resp
		}
		if h == nil {
			return false
		}
		var it hdrIter
		it.init(h, f.name, f.id == sample.FFHdr || f.id == sample.FResFHdr)
		for it.next() {
			if m.match == "found" || m.test(c, strValue(it.val, true)) {
				return true
			}
		}
	case sample.FCook:
		if c.Req == nil {
			return false
		}
		var it cookieIter
		it.init(c.Req, f.name)
		for it.next() {
			if m.match == "found" || m.test(c, strValue(it.val, true)) {
				return true
			}
		}
	case sample.FURLParam:
		if c.Req == nil {
			return false
		}
		var it paramIter
		it.init(c.Req, f.name)
		for it.next() {
			if m.match == "found" || m.test(c, strValue(it.val, true)) {
				return true
			}
		}
	}
	return false
}

// test compares one value with the patterns.
func (m *matcher) test(c *Ctx, v value) bool {
	switch m.match {
	case "found":
		return true
	case "bool":
		return (v.i != 0) == m.boolv
	case "int":
		n := v.i
		if v.typ == sample.Str {
			var ok bool
			if n, ok = atoi(v.b); !ok {
				return false
			}
		}
		for _, im := range m.ints {
			if im.Matches(n) {
				return true
			}
		}
		return false
	case "ip":
		a := v.ip
		if v.typ != sample.IP {
			var err error
			if a, err = netip.ParseAddr(string(v.b)); err != nil {
				return false
			}
			a = a.Unmap()
		}
		for _, p := range m.pfx {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	b := asBytes(c, v)
	switch m.match {
	case "len":
		for _, im := range m.ints {
			if im.Matches(int64(len(b))) {
				return true
			}
		}
		return false
	case "reg":
		for i := range m.res {
			if m.res[i].Match(b) {
				return true
			}
		}
		return false
	}
	if m.set != nil {
		if m.icase {
			b = lowerInto(c, b)
		}
		_, ok := m.set[string(b)]
		return ok
	}
	for _, p := range m.strs {
		if matchString(m.match, b, p, m.icase) {
			return true
		}
	}
	return false
}

func lowerInto(c *Ctx, b []byte) []byte {
	out := c.grow(len(b))
	for i, ch := range b {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		out[i] = ch
	}
	return out // not kept: only read before the next grow
}

// matchString applies HAProxy's string match methods (the patterns are
// lower case when icase).
func matchString(method string, s, p []byte, icase bool) bool {
	switch method {
	case "str":
		return len(s) == len(p) && eq(s, p, icase)
	case "beg":
		return len(s) >= len(p) && eq(s[:len(p)], p, icase)
	case "end":
		return len(s) >= len(p) && eq(s[len(s)-len(p):], p, icase)
	case "sub":
		if !icase {
			return bytes.Contains(s, p)
		}
		for i := 0; i+len(p) <= len(s); i++ {
			if eq(s[i:i+len(p)], p, true) {
				return true
			}
		}
		return false
	case "dir":
		return matchWord(s, p, icase, "/?")
	case "dom":
		return matchWord(s, p, icase, "/?.:")
	}
	return false
}

func eq(s, p []byte, icase bool) bool {
	if !icase {
		return bytes.Equal(s, p)
	}
	return h1.EqFoldBytes(s, p)
}

func isDelimIn(c byte, delims string) bool {
	for i := 0; i < len(delims); i++ {
		if delims[i] == c {
			return true
		}
	}
	return false
}

// matchWord is HAProxy's match_word: the pattern, stripped of delimiters
// at both ends, appears in s starting after a delimiter (or at the start)
// and ending before one (or at the end).
func matchWord(s, p []byte, icase bool, delims string) bool {
	for len(p) > 0 && isDelimIn(p[0], delims) {
		p = p[1:]
	}
	for len(p) > 0 && isDelimIn(p[len(p)-1], delims) {
		p = p[:len(p)-1]
	}
	if len(p) == 0 || len(p) > len(s) {
		return false
	}
	may := true
	for i := 0; i+len(p) <= len(s); i++ {
		if isDelimIn(s[i], delims) {
			may = true
			continue
		}
		if !may {
			continue
		}
		if eq(s[i:i+len(p)], p, icase) && (i+len(p) == len(s) || isDelimIn(s[i+len(p)], delims)) {
			return true
		}
		may = false
	}
	return false
}

func atoi(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}
