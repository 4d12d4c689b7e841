package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestClientCertFacts(t *testing.T) {
	c := &x509.Certificate{
		Raw:          []byte("der"),
		SerialNumber: big.NewInt(0x1a2b),
		Subject:      pkix.Name{Country: []string{"FR"}, Organization: []string{"Example"}, CommonName: "alice\r\nX-Evil: 1"},
		Issuer:       pkix.Name{CommonName: "Clients CA"},
		NotBefore:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		NotAfter:     time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	// pkix.Name keeps parsed attributes in Names; ToRDNSequence uses the
	// fields when Names is empty.
	f := ClientCertOf(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}})
	if f.SubjectDN != `/C=FR/O=Example/CN=alice\x0D\x0AX-Evil: 1` || f.IssuerDN != "/CN=Clients CA" {
		t.Errorf("DN %q issuer %q", f.SubjectDN, f.IssuerDN)
	}
	if f.Serial != "1A2B" || f.NotBefore != "260102030405Z" || f.NotAfter != "270102030405Z" || len(f.SHA1) != 40 {
		t.Errorf("facts %+v", f)
	}
	h := f.Headers()
	if !strings.Contains(h, "X-SSL-Client-DN: /C=FR/O=Example/CN=alice\\x0D\\x0AX-Evil: 1\r\n") || strings.Count(h, "\r\n") != 10 {
		t.Errorf("headers:\n%s", h)
	}
	none := ClientCertOf(&tls.ConnectionState{}).Headers()
	if none != "X-SSL: 1\r\nX-SSL-Client-Used: 0\r\n" {
		t.Errorf("no certificate: %q", none)
	}
	cf := FactsOf(&tls.ConnectionState{Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, ServerName: "x", DidResume: true})
	if cf.Protocol != "TLSv1.2" || cf.Cipher != "ECDHE-RSA-AES128-GCM-SHA256" || !cf.Resumed {
		t.Errorf("conn facts %+v", cf)
	}
	if FactsOf(&tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}).Cipher != "TLS_AES_128_GCM_SHA256" {
		t.Error("TLS 1.3 suite name")
	}
}
