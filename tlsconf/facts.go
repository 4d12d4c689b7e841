package tlsconf

import (
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/hex"
	"strings"
	"time"
)

// ClientCert is what servers behind lbd learn about a client certificate,
// in the forms HAProxy's ssl_c_* fetches give them, so that applications
// written for `http-request set-header X-SSL-Client-DN %{+Q}[ssl_c_s_dn]`
// and the like keep working.
type ClientCert struct {
	Used      bool   // ssl_c_used
	Verify    int    // ssl_c_verify: 0 verified (crypto/tls only lets verified certificates through)
	SubjectDN string // ssl_c_s_dn: OpenSSL's one-line form, "/C=FR/O=Example/CN=alice"
	CN        string // ssl_c_s_dn(cn)
	IssuerDN  string // ssl_c_i_dn
	Serial    string // ssl_c_serial,hex: upper-case hex
	SHA1      string // ssl_c_sha1,hex: upper-case hex of the DER
	NotBefore string // ssl_c_notbefore: ASN.1 UTCTime, "YYMMDDhhmmssZ"
	NotAfter  string // ssl_c_notafter
}

// ClientCertOf describes the client certificate of a connection.
func ClientCertOf(cs *tls.ConnectionState) ClientCert {
	if len(cs.PeerCertificates) == 0 {
		return ClientCert{}
	}
	c := cs.PeerCertificates[0]
	sum := sha1.Sum(c.Raw)
	return ClientCert{
		Used:      true,
		SubjectDN: OneLineDN(c.Subject),
		CN:        escape(c.Subject.CommonName),
		IssuerDN:  OneLineDN(c.Issuer),
		Serial:    strings.ToUpper(hex.EncodeToString(c.SerialNumber.Bytes())),
		SHA1:      strings.ToUpper(hex.EncodeToString(sum[:])),
		NotBefore: utcTime(c.NotBefore),
		NotAfter:  utcTime(c.NotAfter),
	}
}

// Header names for the facts, HAProxy users' conventions; lbd removes them
// from clients' requests so that a client cannot claim a certificate.
var ClientCertHeaders = []string{
	"X-SSL", "X-SSL-Client-Used", "X-SSL-Client-Verify", "X-SSL-Client-DN", "X-SSL-Client-CN",
	"X-SSL-Issuer", "X-SSL-Client-Serial", "X-SSL-Client-SHA1", "X-SSL-Client-NotBefore", "X-SSL-Client-NotAfter",
}

// Headers returns the header lines ("Name: value\r\n") for the facts.
func (c ClientCert) Headers() string {
	var b strings.Builder
	line := func(name, v string) {
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(v)
		b.WriteString("\r\n")
	}
	line("X-SSL", "1")
	if !c.Used {
		line("X-SSL-Client-Used", "0")
		return b.String()
	}
	line("X-SSL-Client-Used", "1")
	line("X-SSL-Client-Verify", "0")
	line("X-SSL-Client-DN", c.SubjectDN)
	line("X-SSL-Client-CN", c.CN)
	line("X-SSL-Issuer", c.IssuerDN)
	line("X-SSL-Client-Serial", c.Serial)
	line("X-SSL-Client-SHA1", c.SHA1)
	line("X-SSL-Client-NotBefore", c.NotBefore)
	line("X-SSL-Client-NotAfter", c.NotAfter)
	return b.String()
}

// shortNames are OpenSSL's short names of common attribute types.
var shortNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
	"2.5.4.5": "serialNumber", "2.5.4.9": "street", "2.5.4.17": "postalCode", "2.5.4.42": "GN", "2.5.4.4": "SN",
	"1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
}

// OneLineDN writes a name as OpenSSL's X509_NAME_oneline does (HAProxy's
// ssl_c_s_dn): "/TYPE=value" for each attribute in certificate order.
// Control characters and non-ASCII bytes are escaped as "\xHH", so that
// the result is safe in a header.
func OneLineDN(n pkix.Name) string {
	var b strings.Builder
	for _, rdn := range n.ToRDNSequence() {
		for _, atv := range rdn {
			typ := shortNames[atv.Type.String()]
			if typ == "" {
				typ = atv.Type.String()
			}
			b.WriteByte('/')
			b.WriteString(typ)
			b.WriteByte('=')
			v, _ := atv.Value.(string)
			b.WriteString(escape(v))
		}
	}
	return b.String()
}

// escape writes control characters and non-ASCII bytes as "\xHH".
func escape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c >= 0x7f {
			b.WriteString("\\x")
			b.WriteString(strings.ToUpper(hex.EncodeToString([]byte{c})))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func utcTime(t time.Time) string { return t.UTC().Format("060102150405Z") }

// ConnFacts are the TLS facts of a connection for access logs, named after
// HAProxy's ssl_fc_* fetches.
type ConnFacts struct {
	Protocol string // ssl_fc_protocol: "TLSv1.3"
	Cipher   string // ssl_fc_cipher: OpenSSL's name
	SNI      string // ssl_fc_sni
	ALPN     string // ssl_fc_alpn
	Resumed  bool   // ssl_fc_is_resumed
}

// FactsOf describes a connection.
func FactsOf(cs *tls.ConnectionState) ConnFacts {
	return ConnFacts{Protocol: VersionName(cs.Version), Cipher: SuiteName(cs.CipherSuite), SNI: cs.ServerName,
		ALPN: cs.NegotiatedProtocol, Resumed: cs.DidResume}
}
