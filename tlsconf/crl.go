package tlsconf

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"time"
)

// CRLSet is the certificate revocation lists of a crl-file (PEM "X509 CRL"
// blocks, or one DER list). As HAProxy (OpenSSL's CRL_CHECK and
// CRL_CHECK_ALL flags), every certificate of a client's chain below the
// root must be covered by a current CRL of its issuer: a chain with a
// missing or expired CRL is refused, not let through (RFC 5280 §6.3).
type CRLSet struct {
	lists []*x509.RevocationList
}

// LoadCRLs reads a crl-file. An expired list, or one expiring within
// ExpiryWarning, is a warning: from its nextUpdate on, client
// certificates it covers are refused until a fresh list is loaded.
func LoadCRLs(path string, now time.Time) (*CRLSet, Problems) {
	var ps Problems
	raw, err := os.ReadFile(path)
	if err != nil {
		ps.errorf("cannot read CRL file: %v", err)
		return nil, ps
	}
	set := &CRLSet{}
	rest := raw
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "X509 CRL" {
			continue
		}
		l, err := x509.ParseRevocationList(b.Bytes)
		if err != nil {
			ps.errorf("%s: %v", path, err)
			return nil, ps
		}
		set.lists = append(set.lists, l)
	}
	if len(set.lists) == 0 {
		l, err := x509.ParseRevocationList(raw)
		if err != nil {
			ps.errorf("%s: no PEM or DER CRL found", path)
			return nil, ps
		}
		set.lists = append(set.lists, l)
	}
	for _, l := range set.lists {
		switch {
		case !l.NextUpdate.IsZero() && now.After(l.NextUpdate):
			ps.warnf("%s: the CRL of %s expired on %s: client certificates it covers are refused until it is renewed",
				path, l.Issuer, l.NextUpdate.UTC().Format(time.RFC3339))
		case !l.NextUpdate.IsZero() && l.NextUpdate.Sub(now) < ExpiryWarning:
			ps.warnf("%s: the CRL of %s expires on %s", path, l.Issuer, l.NextUpdate.UTC().Format(time.RFC3339))
		}
	}
	return set, ps
}

// Check verifies a verified chain (leaf first, root last) against the
// lists.
func (s *CRLSet) Check(chain []*x509.Certificate, now time.Time) error {
	for i := 0; i+1 < len(chain); i++ {
		cert, issuer := chain[i], chain[i+1]
		var crl *x509.RevocationList
		for _, l := range s.lists {
			if l.CheckSignatureFrom(issuer) == nil {
				crl = l
				break
			}
		}
		if crl == nil {
			return fmt.Errorf("no CRL of %s, the issuer of %s", issuer.Subject, cert.Subject)
		}
		if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
			return fmt.Errorf("the CRL of %s expired on %s", issuer.Subject, crl.NextUpdate.UTC().Format(time.RFC3339))
		}
		for _, r := range crl.RevokedCertificateEntries {
			if r.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				return fmt.Errorf("certificate %s (serial %s) is revoked", cert.Subject, cert.SerialNumber)
			}
		}
	}
	return nil
}
