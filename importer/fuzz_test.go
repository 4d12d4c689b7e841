package importer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"lbd/config"
)

// addFiles adds the test files matching pattern to the fuzz corpus.
func addFiles(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// checkOutput is what holds for any input: the output is HCL (every
// string escaped), lbd's schema knows every block and attribute it writes
// with the right type (only cross-block checks may fail, for what the
// input itself gets wrong), and every note points into the input.
func checkOutput(t *testing.T, name string, in []byte, r *Result) {
	t.Helper()
	if _, diags := hclsyntax.ParseConfig(r.HCL, "out.hcl", hcl.InitialPos); diags.HasErrors() {
		t.Fatalf("output is not HCL: %v\n%s", diags, r.HCL)
	}
	if _, err := config.Parse("out.hcl", r.HCL); err != nil {
		for _, bad := range []string{"Unsupported argument", "Unsupported block type", "is required, got", "Missing required argument", "Extraneous label", "Missing name for"} {
			if strings.Contains(err.Error(), bad) {
				t.Fatalf("output does not follow lbd's schema: %v\n%s", err, r.HCL)
			}
		}
	}
	lines := strings.Count(string(in), "\n") + 1
	for _, n := range r.Notes {
		if n.File != name || n.Line < 0 || n.Line > lines {
			t.Fatalf("note outside the input (%d lines): %v", lines, n)
		}
		if !utf8.ValidString(n.String()) {
			t.Fatalf("note is not UTF-8: %q", n.String())
		}
	}
}

// FuzzHAProxy converts arbitrary haproxy.cfg files.
func FuzzHAProxy(f *testing.F) {
	addFiles(f, "testdata/seeds/*.cfg")
	addFiles(f, "testdata/debian/haproxy/*.cfg")
	f.Add([]byte("frontend a\n bind :80\n default_backend \"b\\x22${x}\"\nbackend b\"\n server s 1.2.3.4:5 check cookie \"%{x}\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Convert(Options{HAProxy: &Source{Name: "h.cfg", Data: data}})
		if err != nil {
			return
		}
		checkOutput(t, "h.cfg", data, r)
	})
}

// FuzzKeepalived converts arbitrary keepalived.conf files (includes and
// scripts are not read).
func FuzzKeepalived(f *testing.F) {
	addFiles(f, "testdata/seeds/*.conf")
	addFiles(f, "testdata/debian/keepalived/*")
	f.Add([]byte("vrrp_instance \"V\\\"I\" {\n interface \"e${x}\"\n virtual_router_id 1\n virtual_ipaddress { 192.0.2.1 }\n track_script {\n c weight 5\n }\n}\nvrrp_script c {\n script \"sh -c 'curl http://127.0.0.1:8080/'\"\n}\n"))
	f.Add([]byte("{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{}"))
	f.Add([]byte("global_defs {\n vrrp_version 3\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n advert_int 0.125\n use_vmac vrrp1\n vmac_xmit_base\n virtual_ipaddress {\n 2001:db8::1/64\n 192.0.2.1\n }\n}\nvrrp_sync_group G {\n group {\n A\n B\n }\n notify_master \"/x y\" root\n global_tracking\n}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Convert(Options{Keepalived: &Source{Name: "k.conf", Data: data}})
		if err != nil {
			return
		}
		checkOutput(t, "k.conf", data, r)
	})
}

// FuzzQuote: any string written as an HCL literal reads back unchanged,
// but for what every HCL string goes through: invalid UTF-8 becomes
// U+FFFD, and cty normalizes strings to NFC.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "a", `"\`, "${x}", "%{x}", "$${x}", "$", "%", "\x00\x7f\u2028", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		src := []byte("a = " + quote(s) + "\n")
		file, diags := hclsyntax.ParseConfig(src, "q.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%q -> %s: %v", s, src, diags)
		}
		attrs, _ := file.Body.JustAttributes()
		v, diags := attrs["a"].Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("%q -> %s: %v", s, src, diags)
		}
		if want := cty.NormalizeString(strings.ToValidUTF8(s, "\uFFFD")); v.AsString() != want {
			t.Fatalf("%q -> %s -> %q", s, src, v.AsString())
		}
	})
}
