package config

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lbd/test/pki"
)

// TestTLSParseTable is the contract of the TLS blocks: each snippet is a
// whole file ({{D}} is a directory holding good.pem, rsa.pem, soon.pem,
// expired.pem, ca.pem, crl.pem, short.secret and secret), want lists its
// diagnostics as "LINE:COL: text" (a prefix of the message is enough),
// warn its warnings.
func TestTLSParseTable(t *testing.T) {
	dir := t.TempDir()
	ca := pki.NewCA("Test CA")
	ca.Issue(pki.Options{}, "www.example.com").Write(filepath.Join(dir, "good.pem"))
	ca.Issue(pki.Options{KeyType: pki.RSA}, "www.example.com").Write(filepath.Join(dir, "rsa.pem"))
	ca.Issue(pki.Options{NotAfter: time.Now().Add(72 * time.Hour)}, "soon.example.com").Write(filepath.Join(dir, "soon.pem"))
	ca.Issue(pki.Options{NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}, "old.example.com").Write(filepath.Join(dir, "expired.pem"))
	ca.WriteCA(filepath.Join(dir, "ca.pem"))
	os.WriteFile(filepath.Join(dir, "crl.pem"), ca.CRL(time.Now().Add(30*24*time.Hour)), 0o644)
	os.WriteFile(filepath.Join(dir, "short.secret"), []byte("tooshort"), 0o600)
	os.WriteFile(filepath.Join(dir, "secret"), []byte(strings.Repeat("s", 44)), 0o600)

	const be = "backend \"app\" {\n  server \"a\" { address = \"127.0.0.1:9001\" }\n}\n"
	fe := func(tlsBody string) string {
		return "frontend \"web\" {\n  bind = [\"127.0.0.1:8080\"]\n  default_backend = \"app\"\n  tls {\n" + tlsBody + "  }\n}\n" + be
	}
	cases := []struct {
		name string
		src  string
		want []string
		warn []string
	}{
		{name: "valid", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt  = [\"{{D}}/good.pem\", \"{{D}}/rsa.pem\"]\n")},
		{name: "tls-only frontend", src: "frontend \"web\" {\n  default_backend = \"app\"\n  tls {\n    bind = [\":443\"]\n    crt = [\"{{D}}/good.pem\"]\n  }\n}\n" + be},
		{name: "no certificate", src: fe("    bind = [\"127.0.0.1:8443\"]\n"), want: []string{"4:3: tls: crt, crt_list or acme is required"}},
		{name: "tls bind missing", src: fe("    crt = [\"{{D}}/good.pem\"]\n"), want: []string{`4:7: Missing required argument: The argument "bind" is required`}},
		{name: "missing file", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt  = [\"{{D}}/nope.pem\", \"{{D}}/good.pem\"]\n"), want: []string{"6:13: crt: cannot read certificate"}},
		{name: "expired", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt  = [\"{{D}}/expired.pem\"]\n"), want: []string{"6:13: crt: {{D}}/expired.pem: the certificate expired on"}},
		{name: "expires soon", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt  = [\"{{D}}/soon.pem\"]\n"), warn: []string{"6:13: warning: crt: {{D}}/soon.pem: the certificate expires on"}},
		{name: "bad version", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    min_version = \"SSLv3\"\n"), want: []string{"7:19: min_version: SSLv3 is not supported"}},
		{name: "min above max", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    min_version = \"TLSv1.3\"\n    max_version = \"TLSv1.2\"\n"), want: []string{"7:19: min_version TLSv1.3 is above max_version TLSv1.2"}},
		{name: "old versions warn", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    min_version = \"TLSv1.0\"\n"), warn: []string{"7:19: warning: min_version TLSv1.0: TLS 1.0 and 1.1 are deprecated"}},
		{name: "unknown cipher", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    ciphers = \"ECDHE+AESGCM:FOO\"\n"), want: []string{`7:15: ciphers: unknown cipher or cipher keyword "FOO"`}},
		{name: "TLS 1.3 suite in ciphers", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    ciphers = \"TLS_AES_128_GCM_SHA256\"\n"), want: []string{"7:15: ciphers: TLS_AES_128_GCM_SHA256 is a TLS 1.3 suite"}},
		{name: "weak cipher warns", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    ciphers = \"ECDHE+AESGCM:AES128-SHA:DHE-RSA-AES128-GCM-SHA256\"\n"),
			warn: []string{"7:15: warning: ciphers: cipher DHE-RSA-AES128-GCM-SHA256 is not implemented by crypto/tls", "7:15: warning: ciphers: AES128-SHA are not AEAD"}},
		{name: "unknown curve", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    curves = [\"X25519\", \"ffdhe2048\"]\n"), want: []string{`7:25: curves: "ffdhe2048" is not a key-exchange group`}},
		{name: "h2 on http", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    alpn = [\"h2\", \"http/1.1\"]\n")},
		{name: "h3 on http", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    alpn = [\"h3\", \"http/1.1\"]\n"), want: []string{`7:12: alpn: "h3": an http frontend speaks "h2" and "http/1.1"`}},
		{name: "verify needs ca_file", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    verify = \"required\"\n"), want: []string{`7:14: verify "required" needs ca_file`}},
		{name: "verify bad value", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    verify = \"yes\"\n"), want: []string{`7:14: verify: "yes" is not one of "none", "optional", "required"`}},
		{name: "ca_file without verify", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    ca_file = \"{{D}}/ca.pem\"\n"), want: []string{`7:15: ca_file: verify = "none" checks no client certificate`}},
		{name: "client certificates", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    verify = \"optional\"\n    ca_file = \"{{D}}/ca.pem\"\n    crl_file = \"{{D}}/crl.pem\"\n    client_cert_headers = true\n")},
		{name: "crl file missing", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    verify = \"optional\"\n    ca_file = \"{{D}}/ca.pem\"\n    crl_file = \"{{D}}/nope.pem\"\n"), want: []string{"9:16: crl_file: cannot read CRL file"}},
		{name: "hsts options need max age", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    hsts_preload = true\n"), want: []string{"7:20: hsts_preload needs hsts_max_age"}},
		{name: "client_cert_headers without verify", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    client_cert_headers = true\n"), want: []string{"7:27: client_cert_headers: verify = \"none\""}},
		{name: "hsts in tcp", src: "defaults {\n  mode = \"tcp\"\n}\n" + fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    hsts_max_age = \"1h\"\n"), want: []string{`10:20: hsts_max_age needs mode = "http"`}},
		{name: "h2 in tcp is fine", src: "defaults {\n  mode = \"tcp\"\n}\n" + fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    alpn = [\"h2\"]\n")},
		{name: "tls bind on a plain bind's address", src: fe("    bind = [\"127.0.0.1:8080\"]\n    crt = [\"{{D}}/good.pem\"]\n"), want: []string{`5:13: frontend "web": 127.0.0.1:8080 is already bound by frontend "web" (line 2)`}},
		{name: "unknown attribute", src: fe("    bind = [\"127.0.0.1:8443\"]\n    crt = [\"{{D}}/good.pem\"]\n    ssl = true\n"), want: []string{`7:5: Unsupported argument`}},
		{name: "global defaults", src: "global {\n  ssl_default_bind {\n    min_version = \"TLSv1.3\"\n    ciphers = \"NOPE\"\n  }\n}\n", want: []string{`4:15: ciphers: unknown cipher or cipher keyword "NOPE"`}},
		{name: "ticket secret too short", src: "global {\n  tls_ticket_secret = \"{{D}}/short.secret\"\n}\n", want: []string{"2:23: tls_ticket_secret: {{D}}/short.secret holds 8 bytes"}},
		{name: "ticket settings", src: "global {\n  tls_ticket_secret = \"{{D}}/secret\"\n  tls_ticket_rotate = \"1h\"\n  tls_session_cache = 1000\n  tls_session_lifetime = \"10m\"\n}\n"},
		{name: "server tls", src: "backend \"app\" {\n  tls {\n    ca_file = \"{{D}}/ca.pem\"\n    sni = \"www.example.com\"\n    crt = \"{{D}}/good.pem\"\n    alpn = [\"http/1.1\"]\n  }\n  health_check {\n    tls = true\n  }\n  server \"a\" {\n    address = \"127.0.0.1:443\"\n    tls {\n      verify_host = \"a.example.com\"\n    }\n  }\n  server \"b\" {\n    address = \"127.0.0.1:80\"\n    tls {\n      enabled = false\n    }\n  }\n}\n"},
		{name: "server tls errors", src: "backend \"app\" {\n  tls {\n    verify = \"optional\"\n    sni = \"192.0.2.1\"\n    enabled = true\n  }\n  server \"a\" {\n    address = \"127.0.0.1:443\"\n    tls {\n      sni = \"x.example.com\"\n      sni_from_client = true\n      verify = \"none\"\n      ca_file = \"{{D}}/ca.pem\"\n    }\n  }\n}\n",
			want: []string{`3:14: verify: "optional" is not one of "none", "required"`, `4:11: sni: "192.0.2.1" is not a host name`, `5:15: enabled: only in a server's tls block`, `11:25: sni_from_client: sni already sets a fixed name`, `12:16: verify = "none" checks nothing`}},
		{name: "acme", src: "acme {\n  directory = \"https://acme.example/dir\"\n  email = \"ops@example.com\"\n  storage = \"acme\"\n}\n" + fe("    bind = [\"127.0.0.1:8443\"]\n    acme = [\"www.example.com\", \"example.com\"]\n")},
		{name: "acme names without an acme block", src: fe("    bind = [\"127.0.0.1:8443\"]\n    acme = [\"www.example.com\"]\n"), want: []string{"6:12: acme: names to obtain by ACME need an acme block"}},
		{name: "acme bad names", src: "acme {\n  directory = \"https://acme.example/dir\"\n}\n" + fe("    bind = [\"127.0.0.1:8443\"]\n    acme = [\"*.example.com\", \"192.0.2.1\", \"localhost\"]\n"),
			want: []string{`9:13: acme: "*.example.com": wildcard certificates need DNS-01`, `9:30: acme: "192.0.2.1" is not a DNS name`, `9:43: acme: "localhost" is not a DNS name`}},
		{name: "acme block errors", src: "acme {\n  directory = \"http://acme.example/dir\"\n  email = \"nobody\"\n  challenges = [\"dns-01\"]\n}\nacme {\n  directory = \"https://x.example/\"\n}\n",
			want: []string{`2:15: directory: "http://acme.example/dir" is not an https:// URL`, `3:11: email: "nobody" is not an e-mail address`, `4:17: challenges: "dns-01" is not`, `6:1: duplicate acme block`}},
		{name: "health check tls type", src: "backend \"app\" {\n  health_check {\n    tls = \"yes\"\n  }\n}\n", want: []string{"3:11: tls: true or false is required, got a string"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.ReplaceAll(c.src, "{{D}}", dir)
			path := filepath.Join(dir, "lbd.hcl")
			cfg, err := Parse(path, []byte(src))
			var got []string
			if err != nil {
				var diags Diagnostics
				if !errors.As(err, &diags) {
					t.Fatalf("error %v is not Diagnostics", err)
				}
				for _, d := range diags {
					got = append(got, d.String())
				}
			}
			check := func(kind string, got, want []string) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s:\n got  %q\n want %q", kind, got, want)
				}
				for i := range want {
					w := path + ":" + strings.ReplaceAll(want[i], "{{D}}", dir)
					if !strings.HasPrefix(got[i], w) {
						t.Errorf("%s %d:\n got  %s\n want %s", kind, i, got[i], w)
					}
				}
			}
			check("errors", got, c.want)
			if err == nil {
				var warns []string
				for _, w := range cfg.Warnings {
					warns = append(warns, w.String())
				}
				check("warnings", warns, c.warn)
			}
		})
	}
}

// The resolved options carry the inherited defaults and the files loaded.
func TestTLSResolved(t *testing.T) {
	dir := t.TempDir()
	ca := pki.NewCA("Test CA")
	ca.Issue(pki.Options{}, "www.example.com").Write(filepath.Join(dir, "good.pem"))
	ca.WriteCA(filepath.Join(dir, "ca.pem"))
	src := `
global {
  ssl_default_bind {
    min_version = "TLSv1.3"
  }
  ssl_default_server {
    ciphers = "ECDHE+AESGCM"
  }
}
frontend "web" {
  default_backend = "app"
  tls {
    bind = [":8443"]
    crt  = ["good.pem"]
    tickets = false
  }
}
backend "app" {
  tls {
    ca_file = "ca.pem"
  }
  server "a" { address = "127.0.0.1:9001" }
  server "b" {
    address = "127.0.0.1:9002"
    tls {
      sni = "b.example.com"
    }
  }
}
`
	cfg, err := Parse(filepath.Join(dir, "lbd.hcl"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ft := cfg.Frontends[0].TLS[0]
	if ft.Bind[0] != "0.0.0.0:8443" || ft.Options.MinVersion != tls.VersionTLS13 || ft.Options.Tickets || len(ft.Options.Certs) != 1 ||
		len(ft.Options.ALPN) != 2 || ft.Options.ALPN[0] != "h2" || ft.Options.ALPN[1] != "http/1.1" || len(cfg.Frontends[0].Bind) != 0 {
		t.Errorf("bind tls: %+v / %+v", ft, ft.Options)
	}
	a, b := cfg.Backends[0].Servers[0].TLS, cfg.Backends[0].Servers[1].TLS
	if a == nil || b == nil || a.Options.RootCAs == nil || !a.Options.Verify || len(a.Options.Ciphers) != 4 {
		t.Fatalf("server a: %+v", a)
	}
	if b.SNI != "b.example.com" || a.SNI != "" || b.Options.RootCAs == nil || b.Options.SNI != "b.example.com" {
		t.Errorf("server b inherits the backend's block with its own sni: %+v", b)
	}
}
