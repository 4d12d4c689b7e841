package importer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// pos is where a converted value came from: a line of an input file.
type pos struct {
	file string
	line int
}

func (p pos) String() string {
	if p.file == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", p.file, p.line)
}

// value is an HCL literal of the output.
type value interface {
	hcl() string
}

type strV string
type intV int
type boolV bool
type durV time.Duration
type strListV []string
type intListV []int

func (v strV) hcl() string  { return quote(string(v)) }
func (v intV) hcl() string  { return strconv.Itoa(int(v)) }
func (v boolV) hcl() string { return strconv.FormatBool(bool(v)) }
func (v durV) hcl() string  { return quote(formatDuration(time.Duration(v))) }

func (v strListV) hcl() string {
	parts := make([]string, len(v))
	for i, s := range v {
		parts[i] = quote(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (v intListV) hcl() string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = strconv.Itoa(n)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// formatDuration writes a duration the way people write them in a config
// file ("1m", "1m30s", "250ms", "2h"), which time.Duration.String does not
// ("1m0s").
func formatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	if d%time.Second != 0 {
		if d%time.Millisecond == 0 {
			return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
		}
		return d.String()
	}
	var b strings.Builder
	h, m, s := d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s > 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}

// quote writes s as an HCL quoted string that reads back as exactly s:
// quotes and backslashes escaped, control characters as \n, \t or \uXXXX,
// and the template introducers "${" and "%{" doubled so that the file is
// data, never a template.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			// Invalid UTF-8 cannot be carried over: a run of bad bytes
			// becomes one U+FFFD, as strings.ToValidUTF8 does.
			b.WriteString(`\uFFFD`)
			for i+size < len(s) {
				if r2, s2 := utf8.DecodeRuneInString(s[i+size:]); r2 != utf8.RuneError || s2 != 1 {
					break
				}
				size++
			}
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case (r == '$' || r == '%') && i+1 < len(s) && s[i+1] == '{':
			b.WriteRune(r)
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// commentText makes s safe inside a # comment: one line, valid UTF-8, no
// control characters.
func commentText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029 || r == 0x85 {
			return ' '
		}
		return r
	}, s)
}

// attr is one attribute of an output block.
type attr struct {
	name string
	val  value
	src  pos    // the line it was converted from; zero for a derived value
	note string // trailing comment: why a value is written that nobody wrote
}

// node is one block of the output file.
type node struct {
	typ    string
	labels []string
	src    pos
	lead   []string // comment lines above the block
	attrs  []*attr
	blocks []*node
	order  []string // canonical attribute order; unknown names follow
}

func newNode(typ string, src pos, labels ...string) *node {
	return &node{typ: typ, labels: labels, src: src, order: attrOrder[typ]}
}

// set writes (or replaces) an attribute.
func (n *node) set(name string, v value, src pos, note string) *attr {
	for _, a := range n.attrs {
		if a.name == name {
			a.val, a.src, a.note = v, src, note
			return a
		}
	}
	a := &attr{name: name, val: v, src: src, note: note}
	n.attrs = append(n.attrs, a)
	return a
}

func (n *node) get(name string) *attr {
	for _, a := range n.attrs {
		if a.name == name {
			return a
		}
	}
	return nil
}

func (n *node) del(name string) {
	for i, a := range n.attrs {
		if a.name == name {
			n.attrs = append(n.attrs[:i], n.attrs[i+1:]...)
			return
		}
	}
}

// child returns the first sub-block of that type and labels, creating it
// when create is set.
func (n *node) child(typ string, src pos, create bool, labels ...string) *node {
	for _, c := range n.blocks {
		if c.typ == typ && equalStrings(c.labels, labels) {
			return c
		}
	}
	if !create {
		return nil
	}
	c := newNode(typ, src, labels...)
	n.blocks = append(n.blocks, c)
	return c
}

func (n *node) delChild(c *node) {
	for i, b := range n.blocks {
		if b == c {
			n.blocks = append(n.blocks[:i], n.blocks[i+1:]...)
			return
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// attrOrder is the canonical order of each block's attributes in the
// output, lbd's schema order (config/), so that two conversions of
// equivalent files read alike whatever the order of their lines. An
// attribute not listed here is written after these, in the order it was
// set.
var attrOrder = map[string][]string{
	"global":                  {"maxconn", "admin_socket", "log_level", "log_format", "log_tag", "grace"},
	"defaults":                {"mode"},
	"timeouts":                {"connect", "client", "server", "http_request", "http_keep_alive", "queue", "tunnel"},
	"frontend":                {"bind", "mode", "maxconn", "default_backend", "forward_for", "trusted_proxies", "redirect_https", "log_format"},
	"tls":                     {"bind", "crt", "crt_list", "strict_sni", "alpn", "min_version", "max_version", "ciphers", "curves", "verify", "ca_file", "crl_file", "tickets", "enabled", "verify_host", "sni", "sni_from_client", "reuse"},
	"route":                   {"host", "path_prefix", "if", "unless", "backend"},
	"http_request":            {"if", "unless", "status", "content_type", "body", "file", "headers", "location", "prefix", "scheme", "code", "drop_query", "append_slash", "name", "value", "regex", "replace", "level", "key", "table"},
	"http_response":           {"if", "unless", "status", "reason", "content_type", "body", "file", "headers", "name", "value", "regex", "replace", "level"},
	"tcp_request":             {"if", "unless", "key", "table"},
	"map":                     {"file"},
	"peers":                   {"bind", "peer", "secret_file"},
	"stick_table":             {"type", "len", "size", "expire", "store", "peers"},
	"error_file":              {"status", "path"},
	"backend":                 {"mode", "balance", "hash_key", "hash_type", "retries", "observe", "error_limit"},
	"cookie":                  {"mode", "indirect", "nocache", "httponly", "secure", "maxidle", "maxlife"},
	"health_check":            {"type", "port", "method", "path", "host", "expect_status", "expect_body", "send", "expect", "interval", "fast_interval", "down_interval", "timeout", "rise", "fall"},
	"server":                  {"address", "weight", "maxconn", "backup", "cookie", "slowstart", "check", "send_proxy", "check_send_proxy"},
	"accept_proxy":            {"from", "timeout"},
	"stats":                   {"bind", "uri", "refresh"},
	"auth":                    {"user", "password"},
	"log":                     {"facility", "level", "min_level", "format", "len"},
	"vrrp_script":             {"script", "interval", "timeout", "fall", "rise", "weight"},
	"vrrp_instance":           {"interface", "state", "virtual_router_id", "priority", "version", "advert_int", "preempt", "preempt_delay", "auth_pass", "virtual_ipaddress", "unicast_src", "unicast_peers", "use_vmac", "vmac_xmit_base", "garp_master_delay", "garp_master_repeat", "garp_master_refresh", "track_script", "track_interface", "notify_master", "notify_backup", "notify_fault", "notify"},
	"track_backend":           {"min_up", "weight"},
	"vrrp_sync_group":         {"group", "notify_master", "notify_backup", "notify_fault", "notify", "sync_group_tracking_weight"},
	"capture_request_header":  {"len"},
	"capture_response_header": {"len"},
}

// blockRank orders the top-level blocks of the output.
var blockRank = map[string]int{
	"global": 0, "map": 1, "peers": 1, "defaults": 2, "frontend": 3, "backend": 4, "stats": 5,
	"vrrp_script": 6, "vrrp_instance": 7, "vrrp_sync_group": 8,
}

func (n *node) sortedAttrs() []*attr {
	rank := func(name string) int {
		for i, o := range n.order {
			if o == name {
				return i
			}
		}
		return len(n.order)
	}
	out := append([]*attr(nil), n.attrs...)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i].name) < rank(out[j].name) })
	return out
}

// lineComments are the comments of one input line: the whole-line
// comments just above it and its trailing comment. They are written with
// the first value converted from the line, so that what the author wrote
// about a setting stays next to it.
type lineComments struct {
	lead  []string
	trail string
	used  bool
}

// comments maps input lines to their comments.
type comments map[pos]*lineComments

func (cs comments) add(p pos, lead []string, trail string) {
	if len(lead) == 0 && trail == "" {
		return
	}
	cs[p] = &lineComments{lead: lead, trail: trail}
}

// take returns the comments of a line the first time it is asked.
func (cs comments) take(p pos) *lineComments {
	c := cs[p]
	if c == nil || c.used {
		return nil
	}
	c.used = true
	return c
}

// write appends the block at the given indentation.
func (n *node) write(b *strings.Builder, indent string, cs comments) {
	for _, c := range n.lead {
		b.WriteString(indent + "# " + commentText(c) + "\n")
	}
	b.WriteString(indent + n.typ)
	for _, l := range n.labels {
		b.WriteString(" " + quote(l))
	}
	if len(n.attrs) == 0 && len(n.blocks) == 0 {
		b.WriteString(" {}\n")
		return
	}
	b.WriteString(" {\n")
	in := indent + "  "
	attrs := n.sortedAttrs()
	width := 0
	valWidth := 0
	for _, a := range attrs {
		width = max(width, len(a.name))
		valWidth = max(valWidth, len(a.val.hcl()))
	}
	for _, a := range attrs {
		src := cs.take(a.src)
		if src != nil {
			for _, l := range src.lead {
				b.WriteString(in + "# " + commentText(l) + "\n")
			}
		}
		line := in + a.name + strings.Repeat(" ", width-len(a.name)) + " = " + a.val.hcl()
		c := a.comment()
		if src != nil && src.trail != "" {
			c += " # " + src.trail
		}
		if c != "" {
			pad := 1
			if valWidth <= 40 {
				pad = valWidth - len(a.val.hcl()) + 1
			}
			line += strings.Repeat(" ", pad) + "# " + commentText(c)
		}
		b.WriteString(line + "\n")
	}
	for i, c := range n.blocks {
		if i > 0 || len(attrs) > 0 {
			b.WriteString("\n")
		}
		c.write(b, in, cs)
	}
	b.WriteString(indent + "}\n")
}

func (a *attr) comment() string {
	s := a.src.String()
	switch {
	case s != "" && a.note != "":
		return s + ": " + a.note
	case s != "":
		return s
	}
	return a.note
}

// document is the output file: top-level blocks, written in blockRank
// order (configuration order within a type).
type document struct {
	blocks   []*node
	comments comments
}

// find returns the first top-level block of that type, or nil.
func (d *document) find(typ string) *node {
	for _, b := range d.blocks {
		if b.typ == typ {
			return b
		}
	}
	return nil
}

// block returns the single block of that type (global, defaults, stats),
// creating it.
func (d *document) block(typ string, src pos) *node {
	if b := d.find(typ); b != nil {
		return b
	}
	b := newNode(typ, src)
	d.blocks = append(d.blocks, b)
	return b
}

func (d *document) add(n *node) { d.blocks = append(d.blocks, n) }

// render writes the file: the header comment lines, then the blocks.
func (d *document) render(header []string) []byte {
	var b strings.Builder
	for _, h := range header {
		b.WriteString("# " + commentText(h) + "\n")
	}
	blocks := append([]*node(nil), d.blocks...)
	sort.SliceStable(blocks, func(i, j int) bool {
		ri, ok := blockRank[blocks[i].typ]
		if !ok {
			ri = len(blockRank)
		}
		rj, ok := blockRank[blocks[j].typ]
		if !ok {
			rj = len(blockRank)
		}
		return ri < rj
	})
	for _, n := range blocks {
		if n.typ == "global" && len(n.attrs) == 0 && len(n.blocks) == 0 {
			continue
		}
		b.WriteString("\n")
		n.write(&b, "", d.comments)
	}
	return []byte(b.String())
}
