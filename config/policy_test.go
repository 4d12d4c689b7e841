package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fe wraps frontend body lines in a valid file; the body starts at line 4.
func feWith(body string) string {
	return "frontend \"web\" {\n  bind = [\"127.0.0.1:8080\"]\n  default_backend = \"app\"\n" + body + "}\nbackend \"app\" {\n  server \"a\" { address = \"127.0.0.1:9001\" }\n}\nbackend \"tcpbe\" {\n  mode = \"tcp\"\n  server \"a\" { address = \"127.0.0.1:9002\" }\n}\n"
}

func TestPolicyConfig(t *testing.T) {
	runDiagCases(t, []diagCase{
		{name: "acl and rule", src: feWith("  acl \"a\" {\n    path_beg = [\"/a\"]\n  }\n  http_request \"deny\" {\n    if = \"a\"\n  }\n")},
		{name: "unused acl warns", src: feWith("  acl \"a\" {\n    path_beg = [\"/a\"]\n  }\n"), want: []string{`4:3: warning: acl "a" is not used`}},
		{name: "unknown acl with suggestion", src: feWith("  acl \"admin\" {\n    path_beg = [\"/a\"]\n  }\n  http_request \"deny\" {\n    if = \"admim || !x\"\n  }\n"),
			want: []string{`8:11: unknown acl "admim" in frontend "web" (did you mean "admin"?)`, `8:21: unknown acl "x"`}},
		{name: "condition syntax at its column", src: feWith("  http_request \"deny\" {\n    if = \"a &&\"\n  }\n"), want: []string{`5:15: a condition name is missing`}},
		{name: "duplicate acl", src: feWith("  acl \"a\" {\n    path = [\"/\"]\n  }\n  acl \"a\" {\n    path = [\"/\"]\n  }\n  http_request \"deny\" {\n    if = \"a\"\n  }\n"), want: []string{`7:7: duplicate acl "a"`}},
		{name: "unknown action", src: feWith("  http_request \"drop\" {}\n"), want: []string{`4:16: http_request: unknown action "drop"`}},
		{name: "unknown attribute of an action", src: feWith("  http_request \"deny\" {\n    code = 403\n  }\n"), want: []string{`5:5: Unsupported argument`}},
		{name: "rule after terminal warns", src: feWith("  http_request \"deny\" {}\n  http_request \"set_header\" {\n    name = \"X\"\n    value = \"1\"\n  }\n"), want: []string{`5:3: warning: this rule is never reached: the http_request rule at line 4`}},
		{name: "framing header refused", src: feWith("  http_request \"del_header\" {\n    name = \"Content-Length\"\n  }\n"), want: []string{`5:12: name: Content-Length cannot be set`}},
		{name: "transfer-encoding refused", src: feWith("  http_response \"set_header\" {\n    name = \"transfer-encoding\"\n    value = \"chunked\"\n  }\n"), want: []string{`5:12: name: transfer-encoding cannot be set`}},
		{name: "hop-by-hop refused", src: feWith("  http_request \"add_header\" {\n    name = \"Connection\"\n    value = \"close\"\n  }\n"), want: []string{`5:12: name: Connection cannot be set`}},
		{name: "host only set", src: feWith("  http_request \"del_header\" {\n    name = \"Host\"\n  }\n"), want: []string{`5:12: name: Host can only be replaced`}},
		{name: "CRLF in a value", src: feWith("  http_request \"set_header\" {\n    name = \"X\"\n    value = \"a\\r\\nInjected: 1\"\n  }\n"), want: []string{`6:13: value: control character`}},
		{name: "bad template", src: feWith("  http_request \"set_header\" {\n    name = \"X\"\n    value = \"%[nosuch]\"\n  }\n"), want: []string{`6:16: unknown sample fetch "nosuch"`}},
		{name: "bad regex", src: feWith("  acl \"a\" {\n    path_reg = [\"(a\"]\n  }\n  http_request \"deny\" {\n    if = \"a\"\n  }\n"), want: []string{`5:16: path_reg: "(a" is not a regular expression lbd accepts (RE2`}},
		{name: "no back-references", src: feWith("  acl \"a\" {\n    path_reg = [\"(a)\\\\1\"]\n  }\n  http_request \"deny\" {\n    if = \"a\"\n  }\n"), want: []string{`5:16: path_reg:`}},
		{name: "replace refs a missing group", src: feWith("  http_request \"replace_path\" {\n    regex = \"^/a\"\n    replace = \"/b\\\\1\"\n  }\n"), want: []string{`6:15: replace: \1 refers to a group`}},
		{name: "response fetch in a request rule", src: feWith("  acl \"e\" {\n    status = [500]\n  }\n  http_request \"deny\" {\n    if = \"e\"\n  }\n"), want: []string{`8:11: acl "e" reads the response`}},
		{name: "request fetch in a response value", src: feWith("  http_response \"set_header\" {\n    name = \"X\"\n    value = \"%[path]\"\n  }\n"), want: []string{`4:3: path reads the request, which http_response values cannot`}},
		{name: "http rule on tcp frontend", src: "frontend \"t\" {\n  bind = [\"127.0.0.1:8081\"]\n  mode = \"tcp\"\n  default_backend = \"tcpbe\"\n  http_request \"deny\" {}\n}\nbackend \"tcpbe\" {\n  mode = \"tcp\"\n  server \"a\" { address = \"127.0.0.1:9002\" }\n}\n",
			want: []string{`5:3: frontend "t": http_request needs mode = "http"`}},
		{name: "tcp content on http frontend", src: feWith("  tcp_request \"content\" \"reject\" {}\n"), want: []string{`4:3: frontend "web": tcp_request "content" needs mode = "tcp"`}},
		{name: "tcp_request bad phase", src: feWith("  tcp_request \"session\" \"reject\" {}\n"), want: []string{`4:15: tcp_request: "session" is not "connection" or "content"`}},
		{name: "sni in a connection rule", src: "frontend \"t\" {\n  bind = [\"127.0.0.1:8081\"]\n  mode = \"tcp\"\n  default_backend = \"tcpbe\"\n  acl \"s\" {\n    sni = [\"a.example\"]\n  }\n  tcp_request \"connection\" \"reject\" {\n    if = \"s\"\n  }\n}\nbackend \"tcpbe\" {\n  mode = \"tcp\"\n  server \"a\" { address = \"127.0.0.1:9002\" }\n}\n",
			want: []string{`9:10: the TLS server name is read from the client's first bytes`}},
		{name: "redirect needs one target", src: feWith("  http_request \"redirect\" {\n    code = 301\n  }\n"), want: []string{`4:3: redirect: exactly one of location, prefix or scheme`}},
		{name: "redirect code", src: feWith("  http_request \"redirect\" {\n    scheme = \"https\"\n    code = 304\n  }\n"), want: []string{`6:12: code: 304 is not one of`}},
		{name: "if and unless", src: feWith("  http_request \"deny\" {\n    if = \"TRUE\"\n    unless = \"FALSE\"\n  }\n"), want: []string{`6:14: a rule has if or unless, not both`}},
		{name: "predefined acl name refused", src: feWith("  acl \"TRUE\" {\n    path = [\"/\"]\n  }\n"), want: []string{`4:7: acl "TRUE" is predefined`}},
		{name: "acl without criterion", src: feWith("  acl \"a\" {}\n  http_request \"deny\" {\n    if = \"a\"\n  }\n"), want: []string{`4:3: acl "a" has no criterion`}},
		{name: "int match syntax", src: feWith("  acl \"a\" {\n    dst_port = [\"above 10\"]\n  }\n  http_request \"deny\" {\n    if = \"a\"\n  }\n"), want: []string{`5:16: dst_port: "above 10": the operator is eq, ge, gt, le or lt`}},
		{name: "two comparisons in a sub-block", src: feWith("  acl \"a\" {\n    hdr \"X\" {\n      found = true\n      value = [\"1\"]\n    }\n  }\n  http_request \"deny\" {\n    if = \"a\"\n  }\n"), want: []string{`7:15: hdr "X": one comparison per block`}},
		{name: "unknown map", src: feWith("  http_request \"set_header\" {\n    name = \"X\"\n    value = \"%[path,map(nomap)]\"\n  }\n"), want: []string{`4:3: map: unknown map "nomap"`}},
		{name: "forward_for owns X-Forwarded-For", src: "frontend \"web\" {\n  bind = [\"127.0.0.1:8080\"]\n  default_backend = \"app\"\n  forward_for = true\n  http_request \"set_header\" {\n    name = \"X-Forwarded-For\"\n    value = \"1\"\n  }\n}\nbackend \"app\" {\n  server \"a\" { address = \"127.0.0.1:9001\" }\n}\n",
			want: []string{`6:12: name: X-Forwarded-For is written by forward_for`}},
		{name: "route with condition", src: feWith("  acl \"a\" {\n    path_beg = [\"/a\"]\n  }\n  route \"r\" {\n    if = \"a\"\n    backend = \"app\"\n  }\n")},
	})
}

func TestMapConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hosts.map"), []byte("a.example app\nb.example nosuch\nbad\x01key v\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "ok.map"), []byte("a.example app\nb.example nosuch\n"), 0o644)
	src := "map \"hosts\" {\n  file = \"hosts.map\"\n}\n" + feWith("  route \"r\" {\n    backend = \"%[req.hdr(host),map(hosts)]\"\n  }\n")
	_, err := Parse(filepath.Join(dir, "lbd.hcl"), []byte(src))
	if err == nil || !strings.Contains(err.Error(), "hosts.map:3: ") {
		t.Errorf("bad map line: %v", err)
	}
	src = "map \"hosts\" {\n  file = \"ok.map\"\n}\n" + feWith("  route \"r\" {\n    backend = \"%[req.hdr(host),map(hosts)]\"\n  }\n")
	cfg, err := Parse(filepath.Join(dir, "lbd.hcl"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].Message, `"nosuch" is not a backend`) {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
	if len(cfg.Maps[0].Entries) != 2 || cfg.Frontends[0].Routes[0].BackendTemplate == nil {
		t.Errorf("%+v", cfg.Maps[0])
	}
	src = "map \"hosts\" {\n  file = \"ok.map\"\n}\n" + feWith("  http_request \"set_header\" {\n    name = \"X\"\n    value = \"%[src,map_ip(hosts)]\"\n  }\n")
	if _, err := Parse(filepath.Join(dir, "lbd.hcl"), []byte(src)); err == nil || !strings.Contains(err.Error(), `key "a.example" is not an address`) {
		t.Errorf("map_ip over names: %v", err)
	}
}
