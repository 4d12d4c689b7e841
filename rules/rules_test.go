package rules

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lbd/config"
	"lbd/h1"
	"lbd/maps"
)

// compileFE parses a whole file whose first frontend holds the policy
// and compiles it, with the file's maps.
func compileFE(t testing.TB, src string, files map[string]string) (*Program, *config.Config) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Parse(filepath.Join(dir, "lbd.hcl"), []byte(src))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, src)
	}
	ms := map[string]*maps.Map{}
	for _, m := range cfg.Maps {
		ms[m.Name] = maps.New(m.Name, m.Entries)
	}
	p, err := Compile(cfg.Frontends[0], Env{Map: func(n string) *maps.Map { return ms[n] }})
	if err != nil {
		t.Fatal(err)
	}
	return p, cfg
}

// frontendWith wraps frontend blocks into a valid file.
func frontendWith(body string) string {
	return `
frontend "web" {
  bind            = ["127.0.0.1:8080"]
  default_backend = "app"
` + body + `
}
backend "app" {
  server "a" { address = "127.0.0.1:9001" }
}
`
}

func parseReq(t testing.TB, raw string) *h1.Head {
	t.Helper()
	var m h1.Head
	if e := m.ParseRequest([]byte(raw)); e != h1.OK {
		t.Fatalf("request %q: %v", raw, e)
	}
	return &m
}

func req(target string, hdrs ...string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: www.example.com\r\n" + strings.Join(hdrs, "\r\n") + map[bool]string{true: "\r\n", false: ""}[len(hdrs) > 0] + "\r\n"
}

// TestMatchers: every criterion with HAProxy's edge cases. Each case is
// one acl body, a request, and whether it matches.
func TestMatchers(t *testing.T) {
	tests := []struct {
		name string
		acl  string
		req  string
		src  string
		want bool
	}{
		// path
		{"path exact", `path = ["/a"]`, req("/a?x=1"), "", true},
		{"path exact is without the query", `path = ["/a?x=1"]`, req("/a?x=1"), "", false},
		{"path exact case", `path = ["/A"]`, req("/a"), "", false},
		{"path exact ignore_case", "path = [\"/A\"]\nignore_case = true", req("/a"), "", true},
		{"path_beg", `path_beg = ["/api/", "/v2/"]`, req("/v2/x"), "", true},
		{"path_beg no", `path_beg = ["/api/"]`, req("/api"), "", false},
		{"path_end", `path_end = [".php"]`, req("/x/index.php?a=.html"), "", true},
		{"path_end query not part", `path_end = [".html"]`, req("/x/index.php?a=.html"), "", false},
		{"path_sub", `path_sub = ["admin"]`, req("/x/administrator"), "", true},
		{"path_dir", `path_dir = ["img"]`, req("/static/img/a.png"), "", true},
		{"path_dir whole word", `path_dir = ["img"]`, req("/static/images/a.png"), "", false},
		{"path_dom", `path_dom = ["example"]`, req("/a/example.com/b"), "", true},
		{"path_reg", `path_reg = ["^/u/[0-9]+$"]`, req("/u/42"), "", true},
		{"path_reg anchored", `path_reg = ["^/u/[0-9]+$"]`, req("/u/42/x"), "", false},
		{"path_reg ignore_case", "path_reg = [\"^/UP\"]\nignore_case = true", req("/up"), "", true},
		{"path_len", `path_len = ["gt 5"]`, req("/abcdef"), "", true},
		{"path absolute-form", `path = ["/p"]`, "GET http://h.example/p?q HTTP/1.1\r\nHost: h.example\r\n\r\n", "", true},
		{"url has the query", `url = ["/a?x=1"]`, req("/a?x=1"), "", true},
		{"url_beg", `url_beg = ["/a?"]`, req("/a?x=1"), "", true},
		{"query", `query = ["x=1&y=2"]`, req("/a?x=1&y=2"), "", true},
		{"query empty is found", `query_len = [0]`, req("/a?"), "", true},
		{"query none is not found", `query_len = [0]`, req("/a"), "", false},
		// host
		{"host ignores case and port", `host = ["www.example.com"]`, "GET / HTTP/1.1\r\nHost: WWW.Example.COM:8080\r\n\r\n", "", true},
		{"host_end", `host_end = [".example.com"]`, req("/"), "", true},
		{"host_end apex", `host_end = [".example.com"]`, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "", false},
		{"host_dom", `host_dom = ["example.com"]`, "GET / HTTP/1.1\r\nHost: a.b.example.com\r\n\r\n", "", true},
		{"host_reg", `host_reg = ["^(www|api)\\.example\\.com$"]`, req("/"), "", true},
		{"host from absolute-form", `host = ["other.example"]`, "GET http://other.example/ HTTP/1.1\r\nHost: www.example.com\r\n\r\n", "", true},
		{"host http/1.0 without Host", `host_len = [0]`, "GET / HTTP/1.0\r\n\r\n", "", false},
		// method
		{"method", `method = ["POST", "PUT"]`, "PUT / HTTP/1.1\r\nHost: h\r\n\r\n", "", true},
		{"method is case-sensitive", `method = ["get"]`, req("/"), "", false},
		// url_param
		{"url_param found", "url_param \"debug\" {\n found = true\n}", req("/?a=1&debug=0"), "", true},
		{"url_param bare name not found", "url_param \"debug\" {\n found = true\n}", req("/?debug"), "", false},
		{"url_param empty value", "url_param \"debug\" {\n value = [\"\"]\n}", req("/?debug="), "", true},
		{"url_param any occurrence", "url_param \"a\" {\n value = [\"2\"]\n}", req("/?a=1&a=2"), "", true},
		{"url_param semicolon", "url_param \"b\" {\n value = [\"3\"]\n}", req("/?a=1;b=3"), "", true},
		{"url_param name exact", "url_param \"a\" {\n found = true\n}", req("/?aa=1&ba=2"), "", false},
		{"url_param not in path", "url_param \"a\" {\n found = true\n}", req("/a=1"), "", false},
		// headers
		{"hdr found", "hdr \"X-A\" {\n found = true\n}", req("/", "x-a: 1"), "", true},
		{"hdr found empty value", "hdr \"X-A\" {\n found = true\n}", req("/", "X-A:"), "", true},
		{"hdr empty value equals empty", "hdr \"X-A\" {\n value = [\"\"]\n}", req("/", "X-A:   "), "", true},
		{"hdr absent", "hdr \"X-A\" {\n found = true\n}", req("/", "X-B: 1"), "", false},
		{"hdr value case-sensitive", "hdr \"X-A\" {\n value = [\"yes\"]\n}", req("/", "X-A: YES"), "", false},
		{"hdr value ignore_case", "hdr \"X-A\" {\n value = [\"yes\"]\n ignore_case = true\n}", req("/", "X-A: YES"), "", true},
		{"hdr repeated, any occurrence", "hdr \"X-A\" {\n value = [\"b\"]\n}", req("/", "X-A: a", "X-A: b"), "", true},
		{"hdr comma list", "hdr \"X-A\" {\n value = [\"b\"]\n}", req("/", "X-A: a, b ,c"), "", true},
		{"hdr comma in quotes", "hdr \"X-A\" {\n value = [\"\\\"x,y\\\"\"]\n}", req("/", `X-A: "x,y", z`), "", true},
		{"hdr empty list element", "hdr \"X-A\" {\n value = [\"\"]\n}", req("/", "X-A: a,,b"), "", true},
		{"fhdr does not split", "fhdr \"X-A\" {\n value = [\"a, b\"]\n}", req("/", "X-A: a, b"), "", true},
		{"hdr beg", "hdr \"User-Agent\" {\n beg = [\"curl/\"]\n}", req("/", "User-Agent: curl/8.0"), "", true},
		{"hdr reg", "hdr \"User-Agent\" {\n reg = [\"(?i)bot\"]\n}", req("/", "User-Agent: GoogleBot"), "", true},
		{"hdr len", "hdr \"X-A\" {\n len = [\"gt 3\"]\n}", req("/", "X-A: abcd"), "", true},
		// cookies
		{"cookie found", "cookie \"sid\" {\n found = true\n}", req("/", "Cookie: a=1; sid=xyz"), "", true},
		{"cookie value", "cookie \"sid\" {\n value = [\"xyz\"]\n}", req("/", "Cookie: a=1", "Cookie: sid=xyz"), "", true},
		{"cookie name exact", "cookie \"sid\" {\n found = true\n}", req("/", "Cookie: xsid=1; sidx=2"), "", false},
		{"cookie no Cookie", "cookie \"sid\" {\n found = true\n}", req("/"), "", false},
		// addresses
		{"src inline", `src = ["192.0.2.0/24", "2001:db8::/32"]`, req("/"), "192.0.2.9", true},
		{"src v6", `src = ["192.0.2.0/24", "2001:db8::/32"]`, req("/"), "2001:db8::1", true},
		{"src no", `src = ["192.0.2.0/24"]`, req("/"), "198.51.100.1", false},
		{"src mapped", `src = ["192.0.2.0/24"]`, req("/"), "::ffff:192.0.2.9", true},
		{"src_file", `src_file = "nets.lst"`, req("/"), "198.51.100.77", true},
		{"dst_port", `dst_port = [80, "8000:8999"]`, req("/"), "", true},
		// samples
		{"sample hdr_cnt", "sample \"req.hdr_cnt(x-a)\" {\n value = [\"ge 2\"]\n}", req("/", "X-A: 1, 2"), "", true},
		{"sample with converters", "sample \"req.hdr(host),lower,field(1,.)\" {\n value = [\"www\"]\n}", req("/"), "", true},
		{"sample map", "sample \"src,map_ip(nets,none)\" {\n value = [\"office\"]\n}", req("/"), "198.51.100.77", true},
		{"http_ver", `http_ver = ["1.0"]`, "GET / HTTP/1.0\r\n\r\n", "", true},
		// several matchers are and-ed
		{"and", "path_beg = [\"/a\"]\nmethod = [\"GET\"]", req("/a"), "", true},
		{"and fails", "path_beg = [\"/a\"]\nmethod = [\"POST\"]", req("/a"), "", false},
	}
	files := map[string]string{"nets.lst": "# office\n198.51.100.0/24\n", "nets.map": "198.51.100.0/24 office\n"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := frontendWith(fmt.Sprintf("acl \"x\" {\n%s\n}\nhttp_request \"deny\" {\n if = \"x\"\n}\n", tc.acl))
			src = "map \"nets\" {\n file = \"nets.map\"\n}\n" + src
			p, _ := compileFE(t, src, files)
			c := &Ctx{Req: parseReq(t, tc.req), Dst: netip.MustParseAddrPort("192.0.2.100:8080")}
			if tc.src == "" {
				tc.src = "192.0.2.1"
			}
			c.Src = netip.AddrPortFrom(netip.MustParseAddr(tc.src), 1234)
			if got := p.evalACL(c, 0); got != tc.want {
				t.Errorf("matched %v, want %v", got, tc.want)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	src := frontendWith(`
acl "a" {
  path_beg = ["/a"]
}
acl "b" {
  hdr "X-B" {
    found = true
  }
}
http_request "deny" {
  if = "a b"
}
http_request "deny" {
  if = "!a || b"
}
http_request "deny" {
  unless = "a"
}
http_request "deny" {
  if = "METH_GET HTTP_1.1 !HTTP_URL_ABS"
}
http_request "deny" {
  if = "(a || b) && LOCALHOST"
}
`)
	p, _ := compileFE(t, src, nil)
	tests := []struct {
		req  string
		src  string
		want [5]bool
	}{
		{req("/a", "X-B: 1"), "192.0.2.1", [5]bool{true, true, false, true, false}},
		{req("/a"), "127.0.0.1", [5]bool{false, false, false, true, true}},
		{req("/x"), "::1", [5]bool{false, true, true, true, false}},
		{"HEAD http://h/a HTTP/1.1\r\nHost: h\r\n\r\n", "127.0.0.1", [5]bool{false, false, false, false, true}},
	}
	for _, tc := range tests {
		c := &Ctx{Req: parseReq(t, tc.req), Src: netip.AddrPortFrom(netip.MustParseAddr(tc.src), 1)}
		for i := range p.Request {
			if got := p.Applies(c, &p.Request[i]); got != tc.want[i] {
				t.Errorf("%q from %s, rule %d: %v, want %v", tc.req, tc.src, i, got, tc.want[i])
			}
		}
	}
}

type hooks struct {
	tracks int
	level  int8
}

func (h *hooks) Track(*Rule, *Ctx)  { h.tracks++ }
func (h *hooks) SetLogLevel(l int8) { h.level = l }
func (h *hooks) reset()             { *h = hooks{} }
func headerOf(m *h1.Head, name string) []string {
	var out []string
	for i := range m.Fields {
		if h1.EqFold(m.Bytes(m.Fields[i].Name), strings.ToLower(name)) || strings.EqualFold(string(m.Bytes(m.Fields[i].Name)), name) {
			out = append(out, string(m.Bytes(m.Fields[i].Value)))
		}
	}
	return out
}

// TestRewrites: edits in order, each seen by the rules after it, the head
// valid after them; refused values change nothing.
func TestRewrites(t *testing.T) {
	src := frontendWith(`
acl "tagged" {
  hdr "X-Tag" {
    value = ["one"]
  }
}
acl "newpath" {
  path_beg = ["/v2/"]
}
http_request "set_header" {
  name  = "X-Tag"
  value = "one"
}
http_request "add_header" {
  if    = "tagged"
  name  = "X-Seen"
  value = "tag seen"
}
http_request "replace_path" {
  regex   = "^/v1/(.*)$"
  replace = "/v2/\\1"
}
http_request "set_header" {
  if    = "newpath"
  name  = "X-Path"
  value = "%[path]"
}
http_request "del_header" {
  name = "X-Remove"
}
http_request "replace_value" {
  name    = "X-List"
  regex   = "^b(.*)$"
  replace = "B\\1"
}
http_request "replace_header" {
  name    = "X-Whole"
  regex   = "secret=([^;]*)"
  replace = "secret=hidden"
}
http_request "set_query" {
  value = "%[query]&added=1"
}
http_request "set_method" {
  value = "POST"
}
http_request "set_header" {
  name  = "Host"
  value = "internal.example"
}
http_request "set_header" {
  name  = "X-Echo"
  value = "%[req.hdr(x-input)]"
}
`)
	p, _ := compileFE(t, src, nil)
	c := &Ctx{Req: parseReq(t, "GET http://www.example.com/v1/items?q=1 HTTP/1.1\r\nHost: www.example.com\r\nX-Tag: old\r\nX-Remove: 1\r\nX-List: a, b1, b2\r\nX-Whole: a=1; secret=xyz; b=2\r\nX-Input: hello\r\nContent-Length: 0\r\n\r\n")}
	var ed Editor
	var h hooks
	v, err := p.RunRequest(c, &ed, &h)
	if err != nil || v.Rule != nil || v.Refused != 0 {
		t.Fatalf("%+v %v", v, err)
	}
	m := c.Req
	checks := map[string][]string{
		"X-Tag": {"one"}, "X-Seen": {"tag seen"}, "X-Path": {"/v2/items"}, "X-Remove": nil,
		"X-List": {"a,B1,B2"}, "X-Whole": {"secret=hidden"}, "X-Echo": {"hello"},
	}
	for name, want := range checks {
		if got := headerOf(m, name); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if got := string(m.Bytes(m.Method)) + " " + string(m.Bytes(m.Target)); got != "POST /v2/items?q=1&added=1" {
		t.Errorf("request line: %q", got)
	}
	if string(m.HostField()) != "internal.example" || m.ContentLength != 0 {
		t.Errorf("host %q, content-length %d", m.HostField(), m.ContentLength)
	}
}

// TestRefusedValues: a value built from the request or a map that a
// header could not carry is refused; a bad Host is refused; nothing is
// half-applied.
func TestRefusedValues(t *testing.T) {
	src := frontendWith(`
http_request "set_header" {
  name  = "X-From-Map"
  value = "%[req.hdr(x-key),map(vals,)]"
}
http_request "set_header" {
  name  = "Host"
  value = "%[req.hdr(x-host)]"
}
`)
	src = "map \"vals\" {\n file = \"vals.map\"\n}\n" + src
	p, cfg := compileFE(t, src, map[string]string{"vals.map": "ok fine\n"})
	_ = cfg
	c := &Ctx{Req: parseReq(t, "GET / HTTP/1.1\r\nHost: a.example\r\nX-Key: ok\r\nX-Host: bad host\r\n\r\n")}
	var ed Editor
	v, err := p.RunRequest(c, &ed, &hooks{})
	if err != nil || v.Refused != 1 {
		t.Fatalf("%+v %v", v, err)
	}
	if got := headerOf(c.Req, "X-From-Map"); len(got) != 1 || got[0] != "fine" {
		t.Errorf("X-From-Map %q", got)
	}
	if string(c.Req.HostField()) != "a.example" {
		t.Errorf("host changed to %q", c.Req.HostField())
	}
}

func TestRedirects(t *testing.T) {
	tests := []struct {
		rule, req, want string
	}{
		{`scheme = "https"`, req("/a?b=1"), "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://www.example.com/a?b=1\r\ncache-control: no-cache\r\n\r\n"},
		{"scheme = \"https\"\ncode = 301\ndrop_query = true", req("/a?b=1"), "HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: https://www.example.com/a\r\n\r\n"},
		{"prefix = \"https://new.example\"\ncode = 308", req("/a?b=1"), "HTTP/1.1 308 Permanent Redirect\r\ncontent-length: 0\r\nlocation: https://new.example/a?b=1\r\n\r\n"},
		{"prefix = \"/\"\ncode = 301\nappend_slash = true\ndrop_query = true", req("/dir?x"), "HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: /dir/\r\n\r\n"},
		{"location = \"/login?from=%[path]\"\ncode = 303", req("/private"), "HTTP/1.1 303 See Other\r\ncontent-length: 0\r\nlocation: /login?from=/private\r\ncache-control: no-cache\r\n\r\n"},
		{"scheme = \"https\"\ncode = 307", "GET http://h.example:81/p HTTP/1.1\r\nHost: h.example:81\r\n\r\n", "HTTP/1.1 307 Temporary Redirect\r\ncontent-length: 0\r\nlocation: https://h.example:81/p\r\ncache-control: no-cache\r\n\r\n"},
	}
	for _, tc := range tests {
		p, _ := compileFE(t, frontendWith("http_request \"redirect\" {\n"+tc.rule+"\n}\n"), nil)
		c := &Ctx{Req: parseReq(t, tc.req)}
		out, ok := p.Request[0].AppendRedirect(nil, c, false)
		if !ok || string(out) != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.rule, out, tc.want)
		}
	}
}

func TestReplies(t *testing.T) {
	p, _ := compileFE(t, frontendWith(`
http_request "return" {
  status       = 200
  content_type = "application/json"
  body         = "{\"path\":\"%[path]\"}"
  headers      = { "X-A" = "1", "Cache-Control" = "max-age=60" }
}
`), nil)
	c := &Ctx{Req: parseReq(t, req("/x"))}
	out := string(p.Request[0].AppendReply(nil, c, false, nil))
	want := "HTTP/1.1 200 OK\r\ncontent-length: 13\r\ncontent-type: application/json\r\nCache-Control: max-age=60\r\nX-A: 1\r\n\r\n{\"path\":\"/x\"}"
	if out != want {
		t.Errorf("got %q\nwant %q", out, want)
	}
}
