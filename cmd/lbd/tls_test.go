package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lbd/test/pki"
)

// lbd -c on certificates: an expired one is an error, one close to its
// expiry a warning on stderr with the file valid.
func TestCheckCertificates(t *testing.T) {
	dir := t.TempDir()
	ca := pki.NewCA("CA")
	ca.Issue(pki.Options{NotAfter: time.Now().Add(5 * 24 * time.Hour)}, "soon.example.com").Write(filepath.Join(dir, "soon.pem"))
	ca.Issue(pki.Options{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}, "old.example.com").Write(filepath.Join(dir, "old.pem"))
	conf := func(crt string) string {
		p := filepath.Join(dir, crt+".hcl")
		os.WriteFile(p, []byte(`frontend "web" {
  default_backend = "app"
  tls {
    bind = ["127.0.0.1:18443"]
    crt  = ["`+crt+`.pem"]
  }
}
backend "app" {
  server "a" { address = "127.0.0.1:9001" }
}
`), 0o644)
		return p
	}
	soon, old := conf("soon"), conf("old")
	var out, errb bytes.Buffer
	if code := run([]string{"-c", "-f", soon}, &out, &errb); code != 0 || !strings.Contains(out.String(), "configuration is valid") ||
		!strings.Contains(errb.String(), soon+":5:13: warning: crt: "+filepath.Join(dir, "soon.pem")+": the certificate expires on") {
		t.Errorf("soon: exit %d stdout %q stderr %q", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"-c", "-f", old}, &out, &errb); code != 1 || out.Len() != 0 ||
		!strings.Contains(errb.String(), old+":5:13: crt: "+filepath.Join(dir, "old.pem")+": the certificate expired on") {
		t.Errorf("old: exit %d stdout %q stderr %q", code, out.String(), errb.String())
	}
}
