package importer

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"lbd/test/pki"
)

// tlsFileRe finds the TLS files a conversion names under /etc/ssl/, and
// relRe the certificates it names by a relative path (Debian's examples).
var (
	tlsFileRe = regexp.MustCompile(`"/etc/ssl/([^"]*)"`)
	relRe     = regexp.MustCompile(`"([A-Za-z0-9_.-]+\.pem)"`)
)

// withTestCerts makes the files an output names under /etc/ssl/ (which
// lbd -c reads) in a directory of the test, and points the output there:
// a CA for *ca*.pem, a CRL for *crl*, a directory of one certificate for a
// name ending in "/", a certificate and key otherwise.
func withTestCerts(t *testing.T, src []byte) []byte {
	t.Helper()
	names := tlsFileRe.FindAllSubmatch(src, -1)
	rel := relRe.FindAllSubmatch(src, -1)
	if len(names)+len(rel) == 0 {
		return src
	}
	dir := t.TempDir()
	for _, m := range rel {
		names = append(names, m)
		src = []byte(strings.ReplaceAll(string(src), `"`+string(m[1])+`"`, `"/etc/ssl/`+string(m[1])+`"`))
	}
	ca := pki.NewCA("Import Test CA")
	for _, m := range names {
		name := string(m[1])
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		switch {
		case strings.HasSuffix(name, "/") || name == "":
			os.MkdirAll(p, 0o755)
			ca.Issue(pki.Options{}, "www.example.com").Write(filepath.Join(p, "site.pem"))
		case strings.Contains(name, "ticket"):
			os.WriteFile(p, []byte(strings.Repeat("k", 48)), 0o600)
		case strings.Contains(name, "crl"):
			os.WriteFile(p, ca.CRL(time.Now().Add(30*24*time.Hour)), 0o644)
		case strings.Contains(name, "ca"):
			ca.WriteCA(p)
		default:
			ca.Issue(pki.Options{}, "www.example.com").Write(p)
		}
	}
	return []byte(strings.ReplaceAll(string(src), `"/etc/ssl/`, `"`+dir+`/`))
}
