package config

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"lbd/sample"
)

// ACL is a named condition, as HAProxy's acl: its matchers must all match
// (each matches when the request's value matches any of its values).
// HAProxy's several acl lines of one name, which it ors, are written as
// several acl blocks combined with "||" where they are used.
type ACL struct {
	Name string
	// IgnoreCase makes every string matcher of the block case-insensitive
	// (HAProxy's -i). Host and server-name matchers always are.
	IgnoreCase bool
	Matchers   []*Matcher

	rng blockRanges
}

// Matcher is one criterion of an acl: a sample and how its value is
// compared with the listed patterns (HAProxy's fetch and -m method).
type Matcher struct {
	// Criterion is the attribute or block as written ("path_beg",
	// "hdr", "sc0_http_req_rate", ...), for messages.
	Criterion string
	// Sample is what is fetched from the request (or connection, or
	// response).
	Sample *sample.Expr
	// Match is the comparison: str, beg, end, sub, dom, dir, reg, len,
	// found, int, ip or bool.
	Match string
	// ListValues: for hdr, url_param and cookie, every occurrence (and
	// every comma-separated value of hdr) is tried, as HAProxy's acl.
	ListValues bool
	// Strings are the patterns of string matches (lower case when
	// IgnoreCase); Regexps those of reg; Prefixes of ip; Ints of int and
	// len; Bool of bool.
	Strings    []string
	Regexps    []*regexp.Regexp
	Prefixes   []netip.Prefix
	Ints       []IntMatch
	Bool       bool
	IgnoreCase bool

	Range hcl.Range
}

// IntMatch is an integer comparison: eq, ge, gt, le, lt against Lo, or a
// range Lo..Hi inclusive (Op "range").
type IntMatch struct {
	Op     string
	Lo, Hi int64
}

// Matches reports whether v satisfies the comparison.
func (m IntMatch) Matches(v int64) bool {
	switch m.Op {
	case "eq":
		return v == m.Lo
	case "ge":
		return v >= m.Lo
	case "gt":
		return v > m.Lo
	case "le":
		return v <= m.Lo
	case "lt":
		return v < m.Lo
	}
	return v >= m.Lo && v <= m.Hi
}

// aclStringFetches are the fetches an acl matches with HAProxy's
// <fetch>_<method> attributes (path_beg, url_reg, host_end...).
var aclStringFetches = map[string]string{
	"path": "path", "url": "url", "query": "query", "host": "host", "base": "base",
	"sni": "ssl_fc_sni",
}

var stringMethods = []string{"beg", "end", "sub", "dom", "dir", "reg", "len"}

var aclSchema = func() *hcl.BodySchema {
	s := &hcl.BodySchema{}
	add := func(n string) { s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: n}) }
	for _, f := range []string{"path", "url", "query", "host", "base", "sni"} {
		add(f)
		for _, m := range stringMethods {
			add(f + "_" + m)
		}
	}
	for _, n := range []string{"method", "src", "src_file", "dst", "dst_port", "src_port", "status", "ignore_case", "http_ver", "ssl_fc", "ssl_c_used", "ssl_c_verify"} {
		add(n)
	}
	for slot := 0; slot < sample.MaxSlots; slot++ {
		for _, c := range sample.Counters {
			add(fmt.Sprintf("sc%d_%s", slot, c))
		}
	}
	for _, c := range sample.Counters {
		add("src_" + c) // the client address's entry in the frontend's table
	}
	for _, b := range []string{"hdr", "fhdr", "cookie", "url_param", "res_hdr", "res_fhdr", "sample"} {
		s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: b, LabelNames: []string{"name"}})
	}
	return s
}()

var subMatchSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "found"}, {Name: "value"}, {Name: "beg"}, {Name: "end"}, {Name: "sub"},
		{Name: "dom"}, {Name: "dir"}, {Name: "reg"}, {Name: "len"}, {Name: "ignore_case"},
	},
}

func (d *decoder) decodeACL(blk *hcl.Block) *ACL {
	a := &ACL{Name: blk.Labels[0]}
	if !validRuleName(a.Name) {
		d.errorf(blk.LabelRanges[0], "acl name %q: letters, digits, \"_\", \".\", \":\" and \"-\" only", a.Name)
	}
	if sample.IsPredefined(a.Name) {
		d.errorf(blk.LabelRanges[0], "acl %q is predefined (HAProxy's %s)", a.Name, a.Name)
	}
	c := d.content(blk, aclSchema)
	b := d.body(c, blk.DefRange, &a.rng)
	b.boolean("ignore_case", &a.IgnoreCase)
	// Attributes in the order written, for stable evaluation order.
	for _, at := range sortedAttrs(c.Attributes) {
		name := at.Name
		if name == "ignore_case" {
			continue
		}
		m := d.decodeACLAttr(b, name, a.IgnoreCase)
		if m != nil {
			m.Range = at.Expr.Range()
			a.Matchers = append(a.Matchers, m)
		}
	}
	for _, sub := range c.Blocks {
		if m := d.decodeSubMatcher(sub, a.IgnoreCase); m != nil {
			a.Matchers = append(a.Matchers, m)
		}
	}
	if len(a.Matchers) == 0 && !d.diags.HasErrors() {
		d.errorf(blk.DefRange, "acl %q has no criterion (path_beg, host, src, hdr \"NAME\" {...}, ...)", a.Name)
	}
	return a
}

func validRuleName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.:-", c) >= 0) {
			return false
		}
	}
	return true
}

func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && before(out[j].Range, out[j-1].Range); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func before(a, b hcl.Range) bool {
	if a.Start.Line != b.Start.Line {
		return a.Start.Line < b.Start.Line
	}
	return a.Start.Column < b.Start.Column
}

func mustExpr(s string) *sample.Expr {
	e, err := sample.ParseExpr(s)
	if err != nil {
		panic(s + ": " + err.Error())
	}
	return e
}

// decodeACLAttr reads one criterion attribute of an acl block.
func (d *decoder) decodeACLAttr(b body, name string, icase bool) *Matcher {
	m := &Matcher{Criterion: name, IgnoreCase: icase}
	fetch, method, _ := strings.Cut(name, "_")
	if f, ok := aclStringFetches[fetch]; ok && (method == "" || contains(stringMethods, method)) && !strings.Contains(method, "_") {
		m.Sample = mustExpr(f)
		m.Match = method
		if method == "" {
			m.Match = "str"
		}
		if fetch == "host" || fetch == "sni" {
			m.IgnoreCase = true // host names
		}
		d.matchValues(b, name, m)
		return m
	}
	switch name {
	case "method":
		m.Sample, m.Match = mustExpr("method"), "str"
		m.IgnoreCase = false // methods are case-sensitive (RFC 9110 §9.1)
		d.matchValues(b, name, m)
	case "http_ver":
		m.Sample, m.Match = mustExpr("req.ver"), "str"
		d.matchValues(b, name, m)
	case "src", "dst":
		m.Sample, m.Match = mustExpr(name), "ip"
		d.matchValues(b, name, m)
	case "src_file":
		m.Sample, m.Match = mustExpr("src"), "ip"
		var path string
		b.str(name, &path)
		if path != "" {
			m.Prefixes = d.readCIDRFile(b.rng.at(name), path)
		}
	case "dst_port", "src_port", "status", "ssl_c_verify":
		m.Sample, m.Match = mustExpr(name), "int"
		d.matchValues(b, name, m)
	case "ssl_fc", "ssl_c_used":
		// ssl_fc = true: the connection is TLS terminated by lbd;
		// ssl_c_used = true: the client sent a certificate (verified, or
		// the handshake would have failed).
		m.Sample, m.Match = mustExpr(name), "bool"
		d.matchValues(b, name, m)
	default:
		// scN_<counter>
		e, err := sample.ParseExpr(name)
		if err != nil || e.Fetch.Def.ID != sample.FSC {
			d.errorf(b.rng.at(name), "%s: not an acl criterion", name)
			return nil
		}
		m.Sample, m.Match = e, "int"
		d.matchValues(b, name, m)
	}
	return m
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// decodeSubMatcher reads hdr "NAME" {...} and its siblings.
func (d *decoder) decodeSubMatcher(blk *hcl.Block, icase bool) *Matcher {
	label := blk.Labels[0]
	m := &Matcher{Criterion: blk.Type, IgnoreCase: icase, Range: blk.DefRange}
	var src string
	switch blk.Type {
	case "hdr":
		src, m.ListValues = "req.hdr("+quoteArg(label)+")", true
	case "fhdr":
		src, m.ListValues = "req.fhdr("+quoteArg(label)+")", true
	case "res_hdr":
		src, m.ListValues = "res.hdr("+quoteArg(label)+")", true
	case "res_fhdr":
		src, m.ListValues = "res.fhdr("+quoteArg(label)+")", true
	case "cookie":
		src, m.ListValues = "req.cook("+quoteArg(label)+")", true
	case "url_param":
		src, m.ListValues = "url_param("+quoteArg(label)+")", true
	case "sample":
		src = label
	}
	e, err := sample.ParseExpr(src)
	if err != nil {
		if blk.Type == "sample" {
			d.exprError(blk.LabelRanges[0], err)
		} else {
			d.errorf(blk.LabelRanges[0], "%s: %q is not a valid name", blk.Type, label)
		}
		return nil
	}
	m.Sample = e
	if blk.Type == "hdr" && strings.EqualFold(label, "host") {
		d.warnf(blk.LabelRanges[0], "hdr \"Host\" compares the field with its port and as written; the host attributes (host, host_end, host_reg...) compare the host name without port, ignoring case")
	}
	var rng blockRanges
	c := d.content(blk, subMatchSchema)
	b := d.body(c, blk.DefRange, &rng)
	b.boolean("ignore_case", &m.IgnoreCase)
	n := 0
	for _, at := range sortedAttrs(c.Attributes) {
		if at.Name == "ignore_case" {
			continue
		}
		n++
		if n > 1 {
			d.errorf(at.Expr.Range(), "%s %q: one comparison per block (write another block for another one; they are and-ed)", blk.Type, label)
			continue
		}
		switch at.Name {
		case "found":
			m.Match = "found"
			b.boolean("found", &m.Bool)
			if !m.Bool {
				d.errorf(at.Expr.Range(), "found = false: negate the acl where it is used (!name) instead")
			}
		case "value":
			switch e.Out() {
			case sample.Int:
				m.Match = "int"
			case sample.IP:
				m.Match = "ip"
			case sample.Bool:
				m.Match = "bool"
			default:
				m.Match = "str"
			}
			d.matchValues(b, "value", m)
		default:
			if e.Out() != sample.Str {
				d.errorf(at.Expr.Range(), "%s: %s matches strings, this sample is %s (use value)", at.Name, at.Name, e.Out())
				continue
			}
			m.Match = at.Name
			d.matchValues(b, at.Name, m)
		}
	}
	if n == 0 {
		d.errorf(blk.DefRange, "%s %q: a comparison is required (found, value, beg, end, sub, dom, dir, reg or len)", blk.Type, label)
		return nil
	}
	return m
}

func quoteArg(s string) string {
	if strings.ContainsAny(s, ",()\"\\ ]") {
		return strconv.Quote(s)
	}
	return s
}

// matchValues reads the patterns of attribute name for m.Match: a string
// or a list (numbers for int matches, CIDRs for ip, regexes for reg).
func (d *decoder) matchValues(b body, name string, m *Matcher) {
	v, rng, ok := b.value(name)
	if !ok {
		return
	}
	var elems []cty.Value
	t := v.Type()
	switch {
	case t.IsTupleType() || t.IsListType() || t.IsSetType():
		elems = v.AsValueSlice()
	default:
		elems = []cty.Value{v}
	}
	if len(elems) == 0 {
		d.errorf(rng, "%s: at least one value is required", name)
		return
	}
	for i, e := range elems {
		er := b.elemRange(name, i)
		if len(elems) == 1 {
			er = rng
		}
		if e.IsNull() {
			d.errorf(er, "%s: a value is required", name)
			return
		}
		var s string
		switch {
		case e.Type() == cty.String:
			s = e.AsString()
		case e.Type() == cty.Number && (m.Match == "int" || m.Match == "len"):
			bf := e.AsBigFloat()
			n, _ := bf.Int64()
			s = strconv.FormatInt(n, 10)
		case e.Type() == cty.Bool && m.Match == "bool":
			m.Bool = e.True()
			continue
		default:
			d.errorf(er, "%s: a string is required, got %s", name, typeName(e.Type()))
			return
		}
		d.addPattern(er, name, m, s)
	}
}

func (d *decoder) addPattern(rng hcl.Range, name string, m *Matcher, s string) {
	switch m.Match {
	case "reg":
		src := s
		if m.IgnoreCase {
			src = "(?i)" + s
		}
		re, err := regexp.Compile(src)
		if err != nil {
			d.errorf(rng, "%s: %q is not a regular expression lbd accepts (RE2 syntax: no back-references or look-around): %v", name, s, err)
			return
		}
		m.Regexps = append(m.Regexps, re)
	case "ip":
		p, err := parsePrefixOrAddr(s)
		if err != nil {
			d.errorf(rng, "%s: %q is not an address or CIDR", name, s)
			return
		}
		m.Prefixes = append(m.Prefixes, p)
	case "int", "len":
		im, err := parseIntMatch(s)
		if err != nil {
			d.errorf(rng, "%s: %v", name, err)
			return
		}
		m.Ints = append(m.Ints, im)
	case "bool":
		d.errorf(rng, "%s: true or false is required", name)
	default:
		if strings.ContainsAny(s, "\r\n\x00") {
			d.errorf(rng, "%s: %q holds CR, LF or NUL, which no request carries", name, s)
			return
		}
		if m.Match == "str" && m.Criterion == "method" && !isToken(s) {
			d.errorf(rng, "method: %q is not a method name", s)
			return
		}
		if m.IgnoreCase {
			s = strings.ToLower(s)
		}
		m.Strings = append(m.Strings, s)
	}
}

func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseIntMatch reads HAProxy's integer patterns: "N", "eq N", "gt N",
// "ge N", "lt N", "le N", or a range "LO:HI" (either side may be empty).
func parseIntMatch(s string) (IntMatch, error) {
	s = strings.TrimSpace(s)
	op, rest, found := strings.Cut(s, " ")
	if found {
		switch op {
		case "eq", "ge", "gt", "le", "lt":
			n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			if err != nil {
				return IntMatch{}, fmt.Errorf("%q: a number is expected after %s", s, op)
			}
			return IntMatch{Op: op, Lo: n}, nil
		}
		return IntMatch{}, fmt.Errorf("%q: the operator is eq, ge, gt, le or lt", s)
	}
	if lo, hi, ok := strings.Cut(s, ":"); ok {
		m := IntMatch{Op: "range", Lo: math.MinInt64, Hi: math.MaxInt64}
		var err error
		if lo != "" {
			if m.Lo, err = strconv.ParseInt(lo, 10, 64); err != nil {
				return IntMatch{}, fmt.Errorf("%q is not a range LO:HI", s)
			}
		}
		if hi != "" {
			if m.Hi, err = strconv.ParseInt(hi, 10, 64); err != nil {
				return IntMatch{}, fmt.Errorf("%q is not a range LO:HI", s)
			}
		}
		return m, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return IntMatch{}, fmt.Errorf("%q is not a number, a comparison (gt 100) or a range (10:20)", s)
	}
	return IntMatch{Op: "eq", Lo: n}, nil
}

// readCIDRFile reads a file of addresses and CIDRs, one per line, with
// #-comments and blank lines (HAProxy's -f pattern files), relative to
// the configuration's directory. A bad line is reported with its number.
func (d *decoder) readCIDRFile(rng hcl.Range, path string) []netip.Prefix {
	p := path
	if !filepath.IsAbs(p) {
		p = filepath.Join(d.dir, p)
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		d.errorf(rng, "src_file: %v", err)
		return nil
	}
	var out []netip.Prefix
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		pf, err := parsePrefixOrAddr(line)
		if err != nil {
			d.errorf(rng, "src_file: %s:%d: %q is not an address or CIDR", path, n, line)
			continue
		}
		out = append(out, pf)
	}
	if len(out) == 0 {
		d.warnf(rng, "src_file: %s lists no address: the criterion never matches", path)
	}
	return out
}

// exprError reports a sample syntax error at its column in rng.
func (d *decoder) exprError(rng hcl.Range, err error) {
	d.errorf(offsetRange(rng, err), "%v", err)
}

// offsetRange moves rng's start to the column of a sample.Error's offset
// inside a one-line quoted string.
func offsetRange(rng hcl.Range, err error) hcl.Range {
	se, ok := err.(*sample.Error)
	if !ok || rng.Start.Line != rng.End.Line {
		return rng
	}
	r := rng
	r.Start.Column += 1 + se.Off
	r.Start.Byte += 1 + se.Off
	if r.Start.Column > r.End.Column {
		return rng
	}
	return r
}
