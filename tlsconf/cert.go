package tlsconf

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// ExpiryWarning is how close to its expiry a certificate gets a warning
// from `lbd -c` (and a log line at every load).
const ExpiryWarning = 14 * 24 * time.Hour

// Certificate is one certificate chain with its private key, as HAProxy's
// crt loads it from a PEM file: the first CERTIFICATE block is the leaf,
// the next ones its chain, and the key is in the same file or in FILE.key.
// An OCSP response in FILE.ocsp (DER, HAProxy's convention) is stapled.
type Certificate struct {
	// Path is the file the chain came from (the ACME store's file for a
	// certificate obtained by ACME).
	Path string
	// TLS is what crypto/tls serves: chain, key, leaf and OCSP staple.
	TLS *tls.Certificate
	// Names are the names the certificate is selected for: its DNS
	// subjectAltNames in lower case (its CN when it has none), or the SNI
	// filters of its crt-list line.
	Names []string
	// Exclude are a crt-list line's negative filters ("!name").
	Exclude []string
	// KeyType is ECDSA, RSA or Ed25519.
	KeyType string
	// Options are the SSL options of its crt-list line, nil elsewhere.
	Options *EntryOptions
	// OCSPNextUpdate is when the stapled OCSP response expires (zero: none).
	OCSPNextUpdate time.Time
}

// Leaf returns the parsed end-entity certificate.
func (c *Certificate) Leaf() *x509.Certificate { return c.TLS.Leaf }

// Fingerprint is the SHA-256 of the leaf, hex, as `lbctl cert list` shows
// it to tell two certificates for the same names apart.
func (c *Certificate) Fingerprint() string {
	sum := sha256.Sum256(c.TLS.Leaf.Raw)
	return hex.EncodeToString(sum[:])
}

// Problem is what checking a file found: an error refuses the
// configuration, a warning is printed by `lbd -c` and logged at load.
type Problem struct {
	Warning bool
	Message string
}

func (p Problem) String() string {
	if p.Warning {
		return "warning: " + p.Message
	}
	return p.Message
}

// Problems is a list of findings; Err returns the errors among them as one
// error (nil when there are only warnings).
type Problems []Problem

func (ps *Problems) warnf(format string, args ...any) {
	*ps = append(*ps, Problem{Warning: true, Message: fmt.Sprintf(format, args...)})
}

func (ps *Problems) errorf(format string, args ...any) {
	*ps = append(*ps, Problem{Message: fmt.Sprintf(format, args...)})
}

// HasErrors reports whether any problem is an error.
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if !p.Warning {
			return true
		}
	}
	return false
}

// extraExt are the files next to a certificate that are not certificates
// (HAProxy's ssl-load-extra-files): skipped when a directory is loaded.
var extraExt = []string{".key", ".ocsp", ".issuer", ".sctl"}

// LoadCrt loads what one crt names: a PEM file, or every file of a
// directory in name order (hidden files, subdirectories and the extra
// files .key, .ocsp, .issuer and .sctl are skipped), as HAProxy does. The
// certificates come back in load order: the first one of a bind is its
// default certificate.
func LoadCrt(path string, now time.Time) ([]*Certificate, Problems) {
	var ps Problems
	fi, err := os.Stat(path)
	if err != nil {
		ps.errorf("cannot read certificate: %v", err)
		return nil, ps
	}
	if !fi.IsDir() {
		c, p := LoadFile(path, now)
		if c == nil {
			return nil, p
		}
		return []*Certificate{c}, p
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		ps.errorf("cannot read certificate directory: %v", err)
		return nil, ps
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || hasExt(n, extraExt) {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var out []*Certificate
	for _, n := range names {
		c, p := LoadFile(filepath.Join(path, n), now)
		for _, x := range p {
			x.Message = n + ": " + x.Message
			ps = append(ps, x)
		}
		if c != nil {
			out = append(out, c)
		}
	}
	if len(out) == 0 && !ps.HasErrors() {
		ps.errorf("certificate directory %s holds no certificate", path)
	}
	return out, ps
}

func hasExt(name string, exts []string) bool {
	for _, e := range exts {
		if strings.HasSuffix(name, e) {
			return true
		}
	}
	return false
}

// LoadFile loads one PEM file (chain and key, or chain with the key in
// FILE.key) and checks it: the key matches the leaf, each certificate of
// the chain is issued by the next one, nothing has expired (an error) or
// expires within ExpiryWarning (a warning), the leaf names at least one
// host. FILE.ocsp, when present, must be a response for this certificate.
func LoadFile(path string, now time.Time) (*Certificate, Problems) {
	var ps Problems
	raw, err := os.ReadFile(path)
	if err != nil {
		ps.errorf("cannot read certificate: %v", err)
		return nil, ps
	}
	var certPEM, keyPEM bytes.Buffer
	rest := raw
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE":
			pem.Encode(&certPEM, b)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			if keyPEM.Len() > 0 {
				ps.errorf("%s: more than one private key", path)
				return nil, ps
			}
			pem.Encode(&keyPEM, b)
		}
	}
	if certPEM.Len() == 0 {
		ps.errorf("%s: no PEM certificate found", path)
		return nil, ps
	}
	if keyPEM.Len() == 0 {
		k, err := os.ReadFile(path + ".key")
		if err != nil {
			ps.errorf("%s: no private key in the file, and none in %s.key", path, filepath.Base(path))
			return nil, ps
		}
		keyPEM.Write(k)
	}
	pair, err := tls.X509KeyPair(certPEM.Bytes(), keyPEM.Bytes())
	if err != nil {
		ps.errorf("%s: %v", path, strings.TrimPrefix(err.Error(), "tls: "))
		return nil, ps
	}
	c := &Certificate{Path: path, TLS: &pair}
	chain := make([]*x509.Certificate, len(pair.Certificate))
	for i, der := range pair.Certificate {
		if chain[i], err = x509.ParseCertificate(der); err != nil {
			ps.errorf("%s: certificate %d: %v", path, i+1, err)
			return nil, ps
		}
	}
	pair.Leaf = chain[0]
	switch pair.PrivateKey.(type) {
	case *ecdsa.PrivateKey:
		c.KeyType = "ECDSA"
	case *rsa.PrivateKey:
		c.KeyType = "RSA"
	case ed25519.PrivateKey:
		c.KeyType = "Ed25519"
	}
	checkChain(&ps, path, chain, now)
	c.Names = certNames(chain[0])
	if len(c.Names) == 0 && len(chain[0].IPAddresses) == 0 {
		ps.errorf("%s: the certificate names no host (no DNS or IP subjectAltName, no CN)", path)
	} else if len(chain[0].DNSNames) == 0 && len(chain[0].IPAddresses) == 0 {
		ps.warnf("%s: the certificate has no subjectAltName; clients ignore its CN %q", path, chain[0].Subject.CommonName)
	}
	loadOCSP(&ps, c, chain, now)
	if ps.HasErrors() {
		return nil, ps
	}
	return c, ps
}

// checkChain checks order and validity dates of a chain as served.
func checkChain(ps *Problems, path string, chain []*x509.Certificate, now time.Time) {
	for i := 0; i+1 < len(chain); i++ {
		if err := chain[i].CheckSignatureFrom(chain[i+1]); err != nil {
			ps.errorf("%s: chain out of order: certificate %d (%s) is not issued by certificate %d (%s); list the leaf first, then each issuer",
				path, i+1, chain[i].Subject, i+2, chain[i+1].Subject)
			return
		}
	}
	for i, x := range chain {
		what := "the certificate"
		if i > 0 {
			what = fmt.Sprintf("chain certificate %d (%s)", i+1, x.Subject)
		}
		switch {
		case now.After(x.NotAfter):
			ps.errorf("%s: %s expired on %s", path, what, x.NotAfter.UTC().Format(time.RFC3339))
		case x.NotAfter.Sub(now) < ExpiryWarning:
			ps.warnf("%s: %s expires on %s (in %d days)", path, what, x.NotAfter.UTC().Format(time.RFC3339),
				int(math.Round(x.NotAfter.Sub(now).Hours()/24)))
		}
		if now.Before(x.NotBefore) {
			ps.warnf("%s: %s is not valid before %s", path, what, x.NotBefore.UTC().Format(time.RFC3339))
		}
	}
}

// certNames returns the DNS names a leaf serves, lower case: its DNS
// subjectAltNames, or its CN when it has no subjectAltName at all.
func certNames(leaf *x509.Certificate) []string {
	var out []string
	for _, n := range leaf.DNSNames {
		out = append(out, strings.ToLower(n))
	}
	if len(out) == 0 && len(leaf.IPAddresses) == 0 && leaf.Subject.CommonName != "" && !strings.ContainsAny(leaf.Subject.CommonName, " /") {
		out = append(out, strings.ToLower(leaf.Subject.CommonName))
	}
	return out
}

// loadOCSP staples FILE.ocsp when it exists: it must answer for this
// certificate (an error otherwise); a revoked status is an error, an
// expired response a warning (not stapled: clients would refuse it).
func loadOCSP(ps *Problems, c *Certificate, chain []*x509.Certificate, now time.Time) {
	der, err := os.ReadFile(c.Path + ".ocsp")
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		ps.errorf("%s.ocsp: %v", c.Path, err)
		return
	}
	var issuer *x509.Certificate
	if len(chain) > 1 {
		issuer = chain[1]
	} else if raw, err := os.ReadFile(c.Path + ".issuer"); err == nil {
		if b, _ := pem.Decode(raw); b != nil {
			issuer, _ = x509.ParseCertificate(b.Bytes)
		}
	}
	resp, err := ocsp.ParseResponseForCert(der, chain[0], issuer)
	if err != nil {
		ps.errorf("%s.ocsp: not an OCSP response for this certificate: %v", c.Path, err)
		return
	}
	switch resp.Status {
	case ocsp.Revoked:
		ps.errorf("%s.ocsp: the OCSP response says the certificate was revoked on %s", c.Path, resp.RevokedAt.UTC().Format(time.RFC3339))
		return
	case ocsp.Unknown:
		ps.warnf("%s.ocsp: the OCSP responder does not know the certificate; not stapled", c.Path)
		return
	}
	if !resp.NextUpdate.IsZero() && now.After(resp.NextUpdate) {
		ps.warnf("%s.ocsp: the OCSP response expired on %s; not stapled (renew it, then reload)", c.Path, resp.NextUpdate.UTC().Format(time.RFC3339))
		return
	}
	c.TLS.OCSPStaple = der
	c.OCSPNextUpdate = resp.NextUpdate
}

// PoolFromFile reads a PEM bundle of CA certificates (ca-file).
func PoolFromFile(path string) (*x509.CertPool, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(raw) {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return pool, nil
}
