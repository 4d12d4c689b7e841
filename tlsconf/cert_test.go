package tlsconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"lbd/test/pki"
)

func write(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadFile is the `lbd -c` contract for one certificate file: what is
// an error, what a warning, and what loads cleanly.
func TestLoadFile(t *testing.T) {
	ca := pki.NewCA("Test Root")
	inter := ca.Intermediate("Test Intermediate")
	now := time.Now()
	dir := t.TempDir()
	good := inter.Issue(pki.Options{}, "www.example.com", "example.com")
	rsa := inter.Issue(pki.Options{KeyType: pki.RSA}, "www.example.com")
	other := ca.Issue(pki.Options{}, "other.example.com")
	expired := ca.Issue(pki.Options{NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)}, "old.example.com")
	soon := ca.Issue(pki.Options{NotAfter: now.Add(3 * 24 * time.Hour)}, "soon.example.com")
	noSAN := ca.Issue(pki.Options{NoSAN: true}, "cn.example.com")
	noName := ca.Issue(pki.Options{NoSAN: true, CN: "Some Person"})

	misordered := append(append(pki.CertPEM(inter.Cert), pki.CertPEM(good.Cert)...), pki.KeyPEM(good.Key)...)
	wrongKey := append(pki.CertPEM(good.Cert), pki.KeyPEM(other.Key)...)
	split := write(t, dir, "split.pem", pki.CertPEM(other.Cert))
	write(t, dir, "split.pem.key", pki.KeyPEM(other.Key))
	withOCSP := good.Write(filepath.Join(dir, "ocsp.pem"))
	write(t, dir, "ocsp.pem.ocsp", good.OCSP(ocsp.Good, now.Add(24*time.Hour)))
	revoked := good.Write(filepath.Join(dir, "revoked.pem"))
	write(t, dir, "revoked.pem.ocsp", good.OCSP(ocsp.Revoked, now.Add(24*time.Hour)))
	staleOCSP := good.Write(filepath.Join(dir, "stale.pem"))
	write(t, dir, "stale.pem.ocsp", good.OCSP(ocsp.Good, now.Add(-time.Minute)))
	foreignOCSP := other.Write(filepath.Join(dir, "foreign.pem"))
	write(t, dir, "foreign.pem.ocsp", good.OCSP(ocsp.Good, now.Add(24*time.Hour)))

	cases := []struct {
		name   string
		path   string
		err    string // substring of an error; "" = loads
		warn   string // substring of a warning
		names  []string
		key    string
		staple bool
	}{
		{name: "chain and key", path: good.Write(filepath.Join(dir, "good.pem")), names: []string{"www.example.com", "example.com"}, key: "ECDSA"},
		{name: "RSA", path: rsa.Write(filepath.Join(dir, "rsa.pem")), names: []string{"www.example.com"}, key: "RSA"},
		{name: "key in FILE.key", path: split, names: []string{"other.example.com"}, key: "ECDSA"},
		{name: "no key", path: write(t, dir, "nokey.pem", pki.CertPEM(good.Cert)), err: "no private key in the file, and none in nokey.pem.key"},
		{name: "key does not match", path: write(t, dir, "wrong.pem", wrongKey), err: "private key does not match public key"},
		{name: "chain out of order", path: write(t, dir, "order.pem", misordered), err: "private key does not match"},
		{name: "not PEM", path: write(t, dir, "junk.pem", []byte("hello")), err: "no PEM certificate found"},
		{name: "expired", path: expired.Write(filepath.Join(dir, "expired.pem")), err: "the certificate expired on"},
		{name: "expires soon", path: soon.Write(filepath.Join(dir, "soon.pem")), warn: "expires on", names: []string{"soon.example.com"}},
		{name: "CN only", path: noSAN.Write(filepath.Join(dir, "cn.pem")), warn: "no subjectAltName", names: []string{"cn.example.com"}},
		{name: "no name", path: noName.Write(filepath.Join(dir, "noname.pem")), err: "names no host"},
		{name: "OCSP stapled", path: withOCSP, staple: true, names: []string{"www.example.com", "example.com"}},
		{name: "OCSP revoked", path: revoked, err: "revoked"},
		{name: "OCSP expired", path: staleOCSP, warn: "OCSP response expired", names: []string{"www.example.com", "example.com"}},
		{name: "OCSP of another certificate", path: foreignOCSP, err: "not an OCSP response for this certificate"},
		{name: "missing", path: filepath.Join(dir, "nope.pem"), err: "cannot read certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cert, ps := LoadFile(c.path, now)
			var errs, warns []string
			for _, p := range ps {
				if p.Warning {
					warns = append(warns, p.Message)
				} else {
					errs = append(errs, p.Message)
				}
			}
			if c.err != "" {
				if cert != nil || len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), c.err) {
					t.Fatalf("errors %q, want %q", errs, c.err)
				}
				return
			}
			if cert == nil || len(errs) > 0 {
				t.Fatalf("not loaded: %q", errs)
			}
			if c.warn != "" && !strings.Contains(strings.Join(warns, "\n"), c.warn) {
				t.Errorf("warnings %q, want %q", warns, c.warn)
			}
			if c.warn == "" && len(warns) > 0 {
				t.Errorf("unexpected warnings %q", warns)
			}
			if c.names != nil && strings.Join(cert.Names, ",") != strings.Join(c.names, ",") {
				t.Errorf("names %v, want %v", cert.Names, c.names)
			}
			if c.key != "" && cert.KeyType != c.key {
				t.Errorf("key type %s, want %s", cert.KeyType, c.key)
			}
			if (cert.TLS.OCSPStaple != nil) != c.staple {
				t.Errorf("stapled %v, want %v", cert.TLS.OCSPStaple != nil, c.staple)
			}
		})
	}
}

// A chain whose intermediates are out of order (but whose leaf comes
// first, so the key matches) is refused with the order explained.
func TestChainOrder(t *testing.T) {
	root := pki.NewCA("Root")
	i1 := root.Intermediate("I1")
	i2 := i1.Intermediate("I2")
	leaf := i2.Issue(pki.Options{}, "a.example.com")
	dir := t.TempDir()
	bad := append(append(append(pki.CertPEM(leaf.Cert), pki.CertPEM(i1.Cert)...), pki.CertPEM(i2.Cert)...), pki.KeyPEM(leaf.Key)...)
	_, ps := LoadFile(write(t, dir, "bad.pem", bad), time.Now())
	if !ps.HasErrors() || !strings.Contains(ps[0].Message, "chain out of order: certificate 1") {
		t.Fatalf("problems %v", ps)
	}
	if c, ps := LoadFile(leaf.Write(filepath.Join(dir, "ok.pem")), time.Now()); c == nil || len(ps) > 0 || len(c.TLS.Certificate) != 3 {
		t.Fatalf("in order: %v %v", c, ps)
	}
}

// A directory loads in name order, skipping the extra files.
func TestLoadCrtDirectory(t *testing.T) {
	ca := pki.NewCA("Root")
	dir := t.TempDir()
	b := ca.Issue(pki.Options{}, "b.example.com")
	a := ca.Issue(pki.Options{}, "a.example.com")
	b.Write(filepath.Join(dir, "20-b.pem"))
	a.Write(filepath.Join(dir, "10-a.pem"))
	write(t, dir, "10-a.pem.ocsp", a.OCSP(ocsp.Good, time.Now().Add(time.Hour)))
	write(t, dir, ".hidden", []byte("x"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	certs, ps := LoadCrt(dir, time.Now())
	if ps.HasErrors() || len(certs) != 2 || certs[0].Names[0] != "a.example.com" || certs[1].Names[0] != "b.example.com" {
		t.Fatalf("certs %v problems %v", certs, ps)
	}
	if certs[0].TLS.OCSPStaple == nil {
		t.Error("OCSP of 10-a.pem not stapled")
	}
	empty := t.TempDir()
	if _, ps := LoadCrt(empty, time.Now()); !ps.HasErrors() {
		t.Error("an empty directory loads")
	}
}

func TestCrtList(t *testing.T) {
	ca := pki.NewCA("Root")
	dir := t.TempDir()
	ca.Issue(pki.Options{}, "a.example.com").Write(filepath.Join(dir, "a.pem"))
	ca.Issue(pki.Options{}, "*.example.org").Write(filepath.Join(dir, "wild.pem"))
	ca.WriteCA(filepath.Join(dir, "ca.pem"))
	list := write(t, dir, "list", []byte(`# comment
a.pem
wild.pem [alpn http/1.1 ssl-min-ver TLSv1.3 verify required ca-file ca.pem] *.example.org !secret.example.org
`))
	certs, ps := LoadCrtList(list, dir, time.Now())
	if ps.HasErrors() || len(certs) != 2 {
		t.Fatalf("certs %d problems %v", len(certs), ps)
	}
	w := certs[1]
	if w.Options == nil || w.Options.MinVersion != 0x0304 || w.Options.Verify != "required" || w.Options.ClientCAs == nil {
		t.Errorf("options %+v", w.Options)
	}
	if w.Names[0] != "*.example.org" || w.Exclude[0] != "secret.example.org" {
		t.Errorf("filters %v %v", w.Names, w.Exclude)
	}
	for _, bad := range []struct{ line, err string }{
		{"a.pem [alpn]", "needs a value"},
		{"a.pem [npn h2]", `crt-list option "npn" is not supported`},
		{"a.pem [verify required]", "verify required needs ca-file"},
		{"a.pem [ssl-min-ver SSLv3]", "SSLv3 is not supported"},
		{"a.pem [alpn http/1.1", "unterminated"},
		{"missing.pem", "cannot read certificate"},
	} {
		p := write(t, dir, "bad", []byte(bad.line+"\n"))
		_, ps := LoadCrtList(p, dir, time.Now())
		if !ps.HasErrors() || !strings.Contains(ps[0].Message, bad.err) || !strings.Contains(ps[0].Message, ":1: ") {
			t.Errorf("%q: problems %v, want %q at line 1", bad.line, ps, bad.err)
		}
	}
}
