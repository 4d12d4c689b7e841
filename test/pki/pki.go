// Package pki makes certificates for tests: a CA, server and client
// certificates (ECDSA P-256 or RSA-2048), expired or nearly expired ones,
// CRLs and OCSP responses, written as PEM files the way operators keep
// them (chain and key in one file, as HAProxy's crt takes it).
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ocsp"
)

// CA is a certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Issuer, for an intermediate, is the CA that signed it.
	Issuer *CA
}

// Leaf is an issued certificate with its key.
type Leaf struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	CA   *CA
}

var serial atomic.Int64

func nextSerial() *big.Int { return big.NewInt(serial.Add(1) + time.Now().UnixNano()%1_000_000*1000) }

// Key types.
const (
	ECDSA = "ECDSA"
	RSA   = "RSA"
)

func newKey(kind string) crypto.Signer {
	if kind == RSA {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// NewCA makes a self-signed root CA (ECDSA).
func NewCA(name string) *CA {
	key := newKey(ECDSA)
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"lbd test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &CA{Cert: c, Key: key}
}

// Intermediate makes a CA signed by ca.
func (ca *CA) Intermediate(name string) *CA {
	key := newKey(ECDSA)
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"lbd test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(5 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		panic(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &CA{Cert: c, Key: key, Issuer: ca}
}

// Options shape an issued certificate.
type Options struct {
	KeyType   string // ECDSA (default) or RSA
	NotBefore time.Time
	NotAfter  time.Time // default: a year from now
	Client    bool      // a client certificate (ExtKeyUsageClientAuth)
	CN        string    // default: the first name
	NoSAN     bool      // names only in the CN
}

// Issue makes a certificate for names (DNS names or IP addresses).
func (ca *CA) Issue(o Options, names ...string) *Leaf {
	if o.KeyType == "" {
		o.KeyType = ECDSA
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = time.Now().Add(365 * 24 * time.Hour)
	}
	key := newKey(o.KeyType)
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkix.Name{CommonName: o.CN, Organization: []string{"lbd test"}},
		NotBefore:    o.NotBefore,
		NotAfter:     o.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if o.KeyType == RSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if o.Client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	if tmpl.Subject.CommonName == "" && len(names) > 0 {
		tmpl.Subject.CommonName = names[0]
	}
	if !o.NoSAN {
		for _, n := range names {
			if ip := net.ParseIP(n); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, n)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		panic(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &Leaf{Cert: c, Key: key, CA: ca}
}

// CertPEM is a certificate as PEM.
func CertPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// KeyPEM is a private key as PKCS#8 PEM.
func KeyPEM(k crypto.Signer) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// Chain is the leaf and its intermediates (not the root), in order.
func (l *Leaf) Chain() []*x509.Certificate {
	out := []*x509.Certificate{l.Cert}
	for ca := l.CA; ca != nil && ca.Issuer != nil; ca = ca.Issuer {
		out = append(out, ca.Cert)
	}
	return out
}

// PEM is the leaf, its intermediates and its key, HAProxy's crt file.
func (l *Leaf) PEM() []byte {
	var out []byte
	for _, c := range l.Chain() {
		out = append(out, CertPEM(c)...)
	}
	return append(out, KeyPEM(l.Key)...)
}

// Write writes l.PEM() to path.
func (l *Leaf) Write(path string) string {
	must(os.WriteFile(path, l.PEM(), 0o600))
	return path
}

// WriteCA writes the CA certificate (PEM) to path.
func (ca *CA) WriteCA(path string) string {
	must(os.WriteFile(path, CertPEM(ca.Cert), 0o644))
	return path
}

// CRL makes a CRL of ca revoking the given certificates, valid until
// nextUpdate.
func (ca *CA) CRL(nextUpdate time.Time, revoked ...*x509.Certificate) []byte {
	tmpl := &x509.RevocationList{Number: nextSerial(), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: nextUpdate}
	for _, c := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: time.Now().Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// OCSP makes an OCSP response (DER) for l signed by its CA.
func (l *Leaf) OCSP(status int, nextUpdate time.Time) []byte {
	der, err := ocsp.CreateResponse(l.CA.Cert, l.CA.Cert, ocsp.Response{
		Status: status, SerialNumber: l.Cert.SerialNumber,
		ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: nextUpdate,
		RevokedAt: time.Now().Add(-time.Minute),
	}, l.CA.Key)
	if err != nil {
		panic(err)
	}
	return der
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
