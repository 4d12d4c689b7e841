package importer

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"lbd/sample"
)

// The traffic policy: acl lines, http-request, http-response and
// tcp-request rules, use_backend conditions lbd's routes cannot express
// with host and path_prefix, and the map files the rules read. acl lines
// become acl blocks (one per line: HAProxy ors the lines of one name, so a
// name with several lines becomes NAME_1, NAME_2... and "(NAME_1 ||
// NAME_2)" where it is used), rules become http_request/http_response/
// tcp_request blocks in order, and only the acls the rules use are
// written.

// policyConv accumulates a proxy's rules until the section is read.
type policyConv struct {
	rules []*node           // http_request, http_response, tcp_request blocks in order
	lines []*srcLine        // the line of each rule
	used  map[string]bool   // acls the converted rules and routes use
	anon  []*aclBlock       // anonymous acls { ... }
	maps  map[string]string // map file -> map name
}

// aclBlock is one converted acl line.
type aclBlock struct {
	name string
	node *node
	why  string // not convertible, because...
	line *srcLine
}

// aclCriterion converts "FETCH [flags] [--] VALUES..." into one acl
// block's content.
func aclCriterion(name string, words []string, l *srcLine) *aclBlock {
	a := &aclBlock{name: name, line: l, node: newNode("acl", l.pos, name)}
	if len(words) == 0 {
		a.why = "an acl needs a criterion"
		return a
	}
	fetch, rest := words[0], words[1:]
	match, icase, file := "", false, ""
	for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
		switch rest[0] {
		case "-i":
			icase = true
		case "-m":
			if len(rest) < 2 {
				a.why = "-m expects a match method"
				return a
			}
			match = rest[1]
			rest = rest[1:]
		case "-f":
			if len(rest) < 2 {
				a.why = "-f expects a file"
				return a
			}
			file = rest[1]
			rest = rest[1:]
		case "--":
			rest = rest[1:]
			goto values
		default:
			a.why = fmt.Sprintf("acl flag %q is not convertible", rest[0])
			return a
		}
		rest = rest[1:]
	}
values:
	values := joinIntOps(rest)
	if len(values) == 0 && file == "" && match == "" {
		// A boolean fetch alone (ssl_fc) matches when true.
		if e, err := sample.ParseExpr(fetch); err == nil && e.Out() == sample.Bool {
			sb := newNode("sample", l.pos, fetch)
			sb.set("value", rawV("[true]"), l.pos, "")
			a.node.blocks = append(a.node.blocks, sb)
			return a
		}
	}
	if len(values) == 0 && file == "" && match != "found" {
		a.why = "an acl without values matches nothing"
		return a
	}
	target, method, why := criterionTarget(fetch, match)
	if why != "" {
		a.why = why
		return a
	}
	if file != "" {
		if target.attr != "src" || len(values) > 0 {
			a.why = "lbd reads pattern files for src only (src_file); write the values in the acl"
			return a
		}
		a.node.set("src_file", strV(file), l.pos, "")
		return a
	}
	if icase && !target.caseless {
		a.node.set("ignore_case", boolV(true), l.pos, "HAProxy's -i")
	}
	if target.block == "" {
		attr := target.attr
		if method != "str" && method != "" && method != "ip" && method != "int" {
			attr += "_" + method
		}
		a.node.set(attr, strListV(values), l.pos, target.note)
		return a
	}
	sb := newNode(target.block, l.pos, target.label)
	switch method {
	case "found":
		sb.set("found", boolV(true), l.pos, "")
	case "str", "int", "ip", "":
		sb.set("value", strListV(values), l.pos, "")
	default:
		sb.set(method, strListV(values), l.pos, "")
	}
	a.node.blocks = append(a.node.blocks, sb)
	return a
}

// joinIntOps turns HAProxy's "gt 10" (two words) into one pattern.
func joinIntOps(w []string) []string {
	var out []string
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case "eq", "ge", "gt", "le", "lt":
			if i+1 < len(w) {
				out = append(out, w[i]+" "+w[i+1])
				i++
				continue
			}
		}
		out = append(out, w[i])
	}
	return out
}

// critTarget is where a criterion goes in lbd's acl block: a top-level
// attribute (attr, with _beg... suffixes), or a labeled sub-block.
type critTarget struct {
	attr         string
	block, label string
	caseless     bool // lbd compares it without case anyway
	note         string
}

// stringFetches: fetches matched with lbd's <name>_<method> attributes.
var stringFetches = map[string]string{"path": "path", "url": "url", "base": "base", "query": "query"}

// criterionTarget maps a fetch (with HAProxy's suffix forms, hdr_beg(X)
// for hdr(X) -m beg) and a match method to lbd's criterion.
func criterionTarget(fetch, match string) (critTarget, string, string) {
	name, arg := fetch, ""
	if i := strings.IndexByte(fetch, '('); i > 0 && strings.HasSuffix(fetch, ")") {
		name, arg = fetch[:i], fetch[i+1:len(fetch)-1]
	}
	// Stick counters first: sc0_http_req_cnt is not hdr_cnt's form.
	if c, ok := counterCriterion(name, arg); ok {
		return critTarget{attr: c}, "int", ""
	}
	if e, err := sample.ParseExpr(fetch); err == nil && e.Fetch.Def.ID == sample.FSC {
		return critTarget{block: "sample", label: fetch}, "", ""
	}
	base, suffix := name, ""
	for _, s := range []string{"_beg", "_end", "_sub", "_dir", "_dom", "_reg", "_len", "_cnt", "_found"} {
		if strings.HasSuffix(name, s) && name != "src_port" {
			base, suffix = strings.TrimSuffix(name, s), s[1:]
			break
		}
	}
	method := match
	if method == "" {
		method = suffix
	}
	if suffix == "cnt" {
		return critTarget{block: "sample", label: "req.hdr_cnt(" + arg + ")"}, "int", ""
	}
	if method == "found" && suffix == "found" {
		method = "found"
	}
	switch base {
	case "path", "url", "base", "query":
		if method == "found" {
			return critTarget{}, "", fmt.Sprintf("%s -m found is always true in HTTP", base)
		}
		return critTarget{attr: stringFetches[base]}, defaultStr(method), ""
	case "hdr", "req.hdr", "fhdr", "req.fhdr":
		if arg == "" {
			return critTarget{}, "", "hdr() without a name is not convertible"
		}
		if strings.Contains(arg, ",") {
			return critTarget{}, "", "hdr() with an occurrence is not convertible in an acl"
		}
		if strings.EqualFold(arg, "host") && (base == "hdr" || base == "req.hdr") && method != "found" && method != "len" {
			return critTarget{attr: "host", caseless: true, note: "lbd compares the host without its port and without case"}, defaultStr(method), ""
		}
		blk := "hdr"
		if strings.HasSuffix(base, "fhdr") {
			blk = "fhdr"
		}
		return critTarget{block: blk, label: arg}, defaultStr(method), ""
	case "cook", "req.cook":
		if arg == "" {
			return critTarget{}, "", "cook() without a name is not convertible"
		}
		return critTarget{block: "cookie", label: arg}, defaultStr(method), ""
	case "urlp", "url_param":
		if arg == "" || strings.Contains(arg, ",") {
			return critTarget{}, "", "url_param() needs exactly a name"
		}
		return critTarget{block: "url_param", label: arg}, defaultStr(method), ""
	case "res.hdr", "shdr":
		return critTarget{block: "res_hdr", label: arg}, defaultStr(method), ""
	case "src", "dst":
		if method != "" && method != "ip" {
			return critTarget{}, "", fmt.Sprintf("%s -m %s is not convertible", base, method)
		}
		return critTarget{attr: base}, "ip", ""
	case "src_port", "dst_port", "status":
		return critTarget{attr: base}, "int", ""
	case "method":
		return critTarget{attr: "method"}, "str", ""
	case "req.ver", "req_ver":
		return critTarget{attr: "http_ver"}, "str", ""
	case "ssl_fc_sni", "req.ssl_sni", "req_ssl_sni":
		return critTarget{attr: "sni", caseless: true}, defaultStr(method), ""
	}
	// Anything lbd's sample language knows, as a sample block.
	if e, err := sample.ParseExpr(fetch); err == nil {
		m := defaultStr(method)
		if e.Out() != sample.Str {
			m = ""
		}
		return critTarget{block: "sample", label: fetch}, m, ""
	}
	return critTarget{}, "", fmt.Sprintf("criterion %q is not convertible", fetch)
}

func defaultStr(m string) string {
	if m == "" {
		return "str"
	}
	return m
}

// counterCriterion maps sc0_http_req_rate and sc_http_req_rate(0) to
// lbd's sc0_http_req_rate, and src_http_req_rate (the proxy's own table)
// to src_http_req_rate. With a table argument they are sample blocks.
func counterCriterion(name, arg string) (string, bool) {
	if c, ok := strings.CutPrefix(name, "src_"); ok && sample.CounterIndex(c) >= 0 && arg == "" {
		return name, true
	}
	for s := 0; s < 3; s++ {
		if c, ok := strings.CutPrefix(name, fmt.Sprintf("sc%d_", s)); ok && sample.CounterIndex(c) >= 0 && arg == "" {
			return name, true
		}
	}
	if c, ok := strings.CutPrefix(name, "sc_"); ok && sample.CounterIndex(c) >= 0 {
		if n, err := strconv.Atoi(arg); err == nil && n >= 0 && n < 3 {
			return fmt.Sprintf("sc%d_%s", n, c), true
		}
	}
	return "", false
}

// condition converts HAProxy's "if|unless WORDS" to lbd's condition
// text, declaring anonymous acls and marking the named ones used. kw is
// "if" or "unless".
func (pc *policyConv) condition(p *proxy, words []string, l *srcLine) (text string, why string) {
	var out []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		neg := ""
		if w == "!" && i+1 < len(words) {
			neg, w = "!", words[i+1]
			i++
		} else if strings.HasPrefix(w, "!") {
			neg, w = "!", w[1:]
		}
		switch {
		case w == "||" || w == "or":
			out = append(out, "||")
		case w == "{":
			j := i + 1
			for j < len(words) && words[j] != "}" {
				j++
			}
			if j >= len(words) {
				return "", "unclosed { in the condition"
			}
			name := fmt.Sprintf("anon_%d", len(pc.anon)+1)
			a := aclCriterion(name, words[i+1:j], l)
			if a.why != "" {
				return "", a.why
			}
			pc.anon = append(pc.anon, a)
			out = append(out, neg+name)
			i = j
		case sample.IsPredefined(w):
			out = append(out, neg+w)
		default:
			a := p.acls[w]
			if a == nil {
				return "", fmt.Sprintf("acl %q is not defined in this section", w)
			}
			if why := a.generalWhy(); why != "" {
				return "", fmt.Sprintf("acl %q (line %d): %s", w, a.line.line, why)
			}
			pc.used[w] = true
			if len(a.lines) > 1 {
				var alts []string
				for k := range a.lines {
					alts = append(alts, fmt.Sprintf("%s_%d", w, k+1))
				}
				out = append(out, neg+"("+strings.Join(alts, " || ")+")")
			} else {
				out = append(out, neg+w)
			}
		}
	}
	if len(out) == 0 {
		return "", "a condition is required after if/unless"
	}
	return strings.Join(out, " "), ""
}

// generalWhy says why one of the acl's lines cannot become an acl block.
func (a *acl) generalWhy() string {
	for _, b := range a.general() {
		if b.why != "" {
			return b.why
		}
	}
	return ""
}

// general converts the acl's lines to acl blocks.
func (a *acl) general() []*aclBlock {
	var out []*aclBlock
	for k, ln := range a.lines {
		name := a.name
		if len(a.lines) > 1 {
			name = fmt.Sprintf("%s_%d", a.name, k+1)
		}
		out = append(out, aclCriterion(name, ln.words, ln.l))
	}
	return out
}

// ruleCond reads the "if|unless ..." at the end of a rule's words: the
// words before it, and the condition attribute to write.
func (pc *policyConv) ruleCond(c *hctx, words []string) (args []string, kw, cond string, ok bool) {
	for i, w := range words {
		if w == "if" || w == "unless" {
			text, why := pc.condition(c.p, words[i+1:], c.l)
			if why != "" {
				c.notConverted("%s", why)
				return nil, "", "", false
			}
			return words[:i], w, text, true
		}
	}
	return words, "", "", true
}

func (p *proxy) policy() *policyConv {
	if p.pol == nil {
		p.pol = &policyConv{used: map[string]bool{}, maps: map[string]string{}}
	}
	return p.pol
}

// template converts an HAProxy log-format value to lbd's: %[...]
// expressions (with map files named by map blocks) and %%; other %
// variables are not convertible.
func (pc *policyConv) template(hc *hapConv, s string) (string, string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' {
			b.WriteString("%%")
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '[' {
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return "", "unterminated %[ in a value"
			}
			expr, why := pc.expr(hc, s[i+2:i+j])
			if why != "" {
				return "", why
			}
			b.WriteString("%[" + expr + "]")
			i += j
			continue
		}
		return "", fmt.Sprintf("log-format variable %q is not convertible (lbd's values take %%[fetch] expressions)", s[i:min(len(s), i+3)])
	}
	return b.String(), ""
}

// expr converts a sample expression: map converters name a file in
// HAProxy and a map block in lbd.
func (pc *policyConv) expr(hc *hapConv, s string) (string, string) {
	parts := splitConverters(s)
	for k := 1; k < len(parts); k++ {
		c := parts[k]
		if !strings.HasPrefix(c, "map") {
			continue
		}
		open := strings.IndexByte(c, '(')
		if open < 0 || !strings.HasSuffix(c, ")") {
			return "", fmt.Sprintf("converter %q: a map needs a file", c)
		}
		args := strings.SplitN(c[open+1:len(c)-1], ",", 2)
		name := hc.mapName(pc, args[0])
		args[0] = name
		parts[k] = c[:open+1] + strings.Join(args, ",") + ")"
	}
	out := strings.Join(parts, ",")
	if _, err := sample.ParseExpr(out); err != nil {
		return "", fmt.Sprintf("expression %q: %v", s, err)
	}
	return out, ""
}

// splitConverters splits "fetch(a,b),conv(c),conv" at the top-level commas.
func splitConverters(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// mapName returns the map block for a map file, declaring it once.
func (hc *hapConv) mapName(pc *policyConv, file string) string {
	if hc.mapFiles == nil {
		hc.mapFiles = map[string]string{}
	}
	if n, ok := hc.mapFiles[file]; ok {
		return n
	}
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	name := sanitizeName(base)
	used := map[string]bool{}
	for _, n := range hc.mapFiles {
		used[n] = true
	}
	for k := 2; used[name]; k++ {
		name = fmt.Sprintf("%s_%d", sanitizeName(base), k)
	}
	hc.mapFiles[file] = name
	mb := newNode("map", pos{}, name)
	mb.set("file", strV(file), pos{}, "")
	hc.doc.add(mb)
	return name
}

func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "map"
	}
	return b.String()
}

// finishPolicy writes the acls the rules and routes use (in definition
// order), then the rules, into the frontend.
func (hc *hapConv) finishPolicy(p *proxy) {
	pc := p.pol
	if pc == nil || p.fe == nil {
		return
	}
	for _, name := range p.aclOrder {
		if !pc.used[name] {
			continue
		}
		for _, b := range p.acls[name].general() {
			p.fe.blocks = append(p.fe.blocks, b.node)
		}
	}
	for _, a := range pc.anon {
		p.fe.blocks = append(p.fe.blocks, a.node)
	}
	for i, r := range pc.rules {
		if r.typ == "tcp_request" && r.labels[0] == "content" && p.mode.v == "http" {
			l := pc.lines[i]
			hc.ns.add(l.pos, NotConverted, l.text(), "lbd runs tcp_request content rules on tcp frontends only; on an http frontend write an http_request rule")
			continue
		}
		p.fe.blocks = append(p.fe.blocks, r)
	}
	if p.mode.v == "http" {
		p.fe.del("inspect_delay")
	}
}

// rawV is an HCL expression written as is.
type rawV string

func (v rawV) hcl() string { return string(v) }
