package sample

import (
	"strings"
	"testing"
)

func TestParseExpr(t *testing.T) {
	tests := []struct {
		src   string
		fetch FetchID
		convs int
		out   Type
		err   string
		off   int
	}{
		{src: "src", fetch: FSrc, out: IP},
		{src: "req.hdr(host),lower,map(hosts,web)", fetch: FHdr, convs: 2, out: Str},
		{src: "hdr(X-Forwarded-For,-1)", fetch: FHdr, out: Str},
		{src: "src,ipmask(24),map_ip(nets)", fetch: FSrc, convs: 2, out: Str},
		{src: "sc_http_req_rate(0)", fetch: FSC, out: Int},
		{src: "sc1_conn_cur", fetch: FSC, out: Int},
		{src: "sc_http_req_rate(2,per_ip)", fetch: FSC, out: Int},
		{src: `str("a,b)c")`, fetch: FStr, out: Str},
		{src: "url_param(debug)", fetch: FURLParam, out: Str},
		{src: "path,field(2,/)", fetch: FPath, convs: 1, out: Str},
		{src: "", err: "a sample fetch is expected"},
		{src: "nosuch", err: `unknown sample fetch "nosuch"`},
		{src: "hdrr(x)", err: `did you mean "hdr"?`},
		{src: "req.hdr", err: "takes 1 to 2 arguments"},
		{src: "src(1)", err: "takes no argument"},
		{src: "req.hdr(host),nosuch", err: `unknown converter "nosuch"`, off: 14},
		{src: "req.hdr(host),map", err: "map takes 1 to 2 arguments", off: 14},
		{src: "req.hdr(host", err: "missing ')'", off: 12},
		{src: "req.hdr(a b)", err: "unexpected \" \"", off: 9},
		{src: "path,ipmask(24)", err: "needs an address", off: 5},
		{src: "sc_http_req_rate(3)", err: "slot is 0, 1 or 2"},
		{src: "sc_nosuch(0)", err: "unknown sample fetch"},
		{src: "req.hdr(h o)", err: "unexpected"},
		{src: "src x", err: "unexpected", off: 3},
		{src: "req.hdr(bad name)", err: "unexpected"},
		{src: "req.cook(a;b)", err: "not a valid name"},
	}
	for _, tc := range tests {
		e, err := ParseExpr(tc.src)
		if tc.err != "" {
			se, ok := err.(*Error)
			if !ok || !strings.Contains(se.Msg, tc.err) {
				t.Errorf("%q: got %v, want %q", tc.src, err, tc.err)
			} else if tc.off != 0 && se.Off != tc.off {
				t.Errorf("%q: offset %d, want %d", tc.src, se.Off, tc.off)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		if e.Fetch.Def.ID != tc.fetch || len(e.Convs) != tc.convs || e.Out() != tc.out {
			t.Errorf("%q: fetch %v convs %d out %v", tc.src, e.Fetch.Def.ID, len(e.Convs), e.Out())
		}
	}
	e, _ := ParseExpr("sc_http_req_rate(2,per_ip)")
	if e.Fetch.Slot != 2 || e.Fetch.Table != "per_ip" || e.Fetch.Counter != "http_req_rate" {
		t.Errorf("%+v", e.Fetch)
	}
	e, _ = ParseExpr("sc1_conn_cur")
	if e.Fetch.Slot != 1 || e.Fetch.Counter != "conn_cur" {
		t.Errorf("%+v", e.Fetch)
	}
	e, _ = ParseExpr(`str("a,b)c")`)
	if e.Fetch.Args[0] != "a,b)c" {
		t.Errorf("quoted arg %q", e.Fetch.Args[0])
	}
}

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		src    string
		parts  int
		static bool
		err    string
		off    int
	}{
		{src: "plain text", parts: 1, static: true},
		{src: "", parts: 0, static: true},
		{src: "100%%", parts: 1, static: true},
		{src: "https://%[req.hdr(host)]%[path]", parts: 3},
		{src: "%[src]", parts: 1},
		{src: "50%", err: "%%%%", off: 2},
		{src: "%{+Q}[src]", err: "%%%%", off: 0},
		{src: "a %[src", err: "missing ']'", off: 7},
		{src: "a %[nosuch]", err: "unknown sample fetch", off: 4},
	}
	for _, tc := range tests {
		tp, err := ParseTemplate(tc.src)
		if tc.err != "" {
			se, ok := err.(*Error)
			if !ok || !strings.Contains(se.Msg, strings.ReplaceAll(tc.err, "%%", "%")) || se.Off != tc.off {
				t.Errorf("%q: got %v (off %v), want %q at %d", tc.src, err, se, tc.err, tc.off)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		if len(tp.Parts) != tc.parts || tp.Static() != tc.static {
			t.Errorf("%q: %d parts static=%v", tc.src, len(tp.Parts), tp.Static())
		}
	}
	tp, _ := ParseTemplate("100%%")
	if tp.Text() != "100%" {
		t.Errorf("%%%% -> %q", tp.Text())
	}
	r, err := ParseReplacement(`/new/\1/\\x/%[path]`)
	if err != nil || r.MaxRef() != 1 || len(r.Parts) != 4 {
		t.Errorf("replacement: %+v %v", r, err)
	}
}

// condString renders a condition for comparison.
func condString(c *Cond) string {
	switch c.Op {
	case OpName:
		return c.Name
	case OpNot:
		return "!" + condString(c.Kids[0])
	}
	op := " && "
	if c.Op == OpOr {
		op = " || "
	}
	var parts []string
	for _, k := range c.Kids {
		parts = append(parts, condString(k))
	}
	return "(" + strings.Join(parts, op) + ")"
}

func TestParseCond(t *testing.T) {
	tests := []struct{ src, want, err string }{
		{src: "a", want: "a"},
		{src: "a && b", want: "(a && b)"},
		{src: "a b", want: "(a && b)"},
		{src: "a || b && c", want: "(a || (b && c))"},
		{src: "a b or c", want: "((a && b) || c)"},
		{src: "!a || !(b c)", want: "(!a || !(b && c))"},
		{src: "HTTP_1.1 METH_GET", want: "(HTTP_1.1 && METH_GET)"},
		{src: "a||b||c", want: "(a || b || c)"},
		{src: "", err: "empty"},
		{src: "a &&", err: "missing at the end"},
		{src: "(a", err: "without its ')'"},
		{src: "a )", err: "unexpected"},
		{src: "{ path_beg /x }", err: "acl blocks"},
		{src: "a && || b", err: "expected before"},
		{src: "a $ b", err: "unexpected"},
	}
	for _, tc := range tests {
		c, err := ParseCond(tc.src)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: got %v, want %q", tc.src, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		if got := condString(c); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.src, got, tc.want)
		}
	}
	c, _ := ParseCond("aa  !bb")
	names := c.Names()
	if len(names) != 2 || names[0].Off != 0 || names[1].Off != 5 {
		t.Errorf("name offsets: %+v %+v", names[0], names[1])
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"src", "req.hdr(host),lower,map(h,d)", `str("x\"y")`, "%[src] x %%", "a b || !(c)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if e, err := ParseExpr(s); err == nil && e.Src != s {
			t.Fatalf("expr src %q of %q", e.Src, s)
		}
		if _, err := ParseTemplate(s); err != nil {
			if se, ok := err.(*Error); !ok || se.Off < 0 || se.Off > len(s) {
				t.Fatalf("template error %v", err)
			}
		}
		if c, err := ParseCond(s); err == nil {
			for _, n := range c.Names() {
				if n.Off < 0 || n.Off+len(n.Name) > len(s) || s[n.Off:n.Off+len(n.Name)] != n.Name {
					t.Fatalf("name %q at %d in %q", n.Name, n.Off, s)
				}
			}
		}
	})
}
