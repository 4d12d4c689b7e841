package tlsconf

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
)

// suite is one TLS 1.0-1.2 cipher suite crypto/tls implements, with the
// attributes OpenSSL's cipher-string aliases select on.
type suite struct {
	id      uint16
	openssl string // OpenSSL's name
	kx      string // kECDHE or kRSA
	auth    string // aECDSA or aRSA
	enc     string // AESGCM128, AESGCM256, CHACHA20, AES128, AES256, 3DES, RC4
	mac     string // AEAD, SHA1, SHA256, SHA384
	tls12   bool   // only in TLS 1.2
}

var suites = []suite{
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256", "kECDHE", "aECDSA", "AESGCM128", "AEAD", true},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256", "kECDHE", "aRSA", "AESGCM128", "AEAD", true},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384", "kECDHE", "aECDSA", "AESGCM256", "AEAD", true},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384", "kECDHE", "aRSA", "AESGCM256", "AEAD", true},
	{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305", "kECDHE", "aECDSA", "CHACHA20", "AEAD", true},
	{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305", "kECDHE", "aRSA", "CHACHA20", "AEAD", true},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE-ECDSA-AES128-SHA256", "kECDHE", "aECDSA", "AES128", "SHA256", true},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE-RSA-AES128-SHA256", "kECDHE", "aRSA", "AES128", "SHA256", true},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE-ECDSA-AES128-SHA", "kECDHE", "aECDSA", "AES128", "SHA1", false},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE-RSA-AES128-SHA", "kECDHE", "aRSA", "AES128", "SHA1", false},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE-ECDSA-AES256-SHA", "kECDHE", "aECDSA", "AES256", "SHA1", false},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE-RSA-AES256-SHA", "kECDHE", "aRSA", "AES256", "SHA1", false},
	{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, "AES128-GCM-SHA256", "kRSA", "aRSA", "AESGCM128", "AEAD", true},
	{tls.TLS_RSA_WITH_AES_256_GCM_SHA384, "AES256-GCM-SHA384", "kRSA", "aRSA", "AESGCM256", "AEAD", true},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA256, "AES128-SHA256", "kRSA", "aRSA", "AES128", "SHA256", true},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA, "AES128-SHA", "kRSA", "aRSA", "AES128", "SHA1", false},
	{tls.TLS_RSA_WITH_AES_256_CBC_SHA, "AES256-SHA", "kRSA", "aRSA", "AES256", "SHA1", false},
	{tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, "ECDHE-RSA-DES-CBC3-SHA", "kECDHE", "aRSA", "3DES", "SHA1", false},
	{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, "DES-CBC3-SHA", "kRSA", "aRSA", "3DES", "SHA1", false},
	{tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, "ECDHE-ECDSA-RC4-SHA", "kECDHE", "aECDSA", "RC4", "SHA1", false},
	{tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, "ECDHE-RSA-RC4-SHA", "kECDHE", "aRSA", "RC4", "SHA1", false},
	{tls.TLS_RSA_WITH_RC4_128_SHA, "RC4-SHA", "kRSA", "aRSA", "RC4", "SHA1", false},
}

// DefaultCiphers is the TLS 1.2 cipher string of Mozilla's "intermediate"
// profile without its DHE suites, which crypto/tls does not implement.
const DefaultCiphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" +
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" +
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

// unsupported are suites OpenSSL knows and real configurations name, but
// crypto/tls does not implement: a cipher string may list them (they are
// skipped, with a warning), as long as something else remains.
var unsupported = map[string]bool{
	"DHE-RSA-AES128-GCM-SHA256": true, "DHE-RSA-AES256-GCM-SHA384": true, "DHE-RSA-CHACHA20-POLY1305": true,
	"DHE-RSA-AES128-SHA256": true, "DHE-RSA-AES256-SHA256": true, "DHE-RSA-AES128-SHA": true, "DHE-RSA-AES256-SHA": true,
	"DHE-DSS-AES128-GCM-SHA256": true, "DHE-DSS-AES256-GCM-SHA384": true, "DHE-DSS-AES128-SHA": true, "DHE-DSS-AES256-SHA": true,
	"ECDHE-ECDSA-AES256-SHA384": true, "ECDHE-RSA-AES256-SHA384": true, "AES256-SHA256": true,
	"ECDHE-ECDSA-AES128-CCM": true, "ECDHE-ECDSA-AES256-CCM": true, "ECDHE-ECDSA-AES128-CCM8": true, "ECDHE-ECDSA-AES256-CCM8": true,
	"ECDHE-ECDSA-CAMELLIA128-SHA256": true, "ECDHE-RSA-CAMELLIA128-SHA256": true, "CAMELLIA128-SHA": true, "CAMELLIA256-SHA": true,
	"EDH-RSA-DES-CBC3-SHA": true, "SEED-SHA": true, "IDEA-CBC-SHA": true,
}

// tls13Names are TLS 1.3 suites: they belong to HAProxy's "ciphersuites",
// which crypto/tls does not let one restrict.
var tls13Names = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"}

// match reports whether s is selected by one alias of OpenSSL's cipher
// string syntax; known is false for a word that is neither an alias nor a
// suite name.
func (s suite) match(word string) (matched, known bool) {
	switch word {
	case "ALL": // DEFAULT is handled by selectSuites
		return true, true
	case "COMPLEMENTOFDEFAULT", "COMPLEMENTOFALL":
		return false, true
	case "HIGH":
		return s.enc != "3DES" && s.enc != "RC4", true
	case "MEDIUM":
		return s.enc == "3DES", true
	case "LOW", "EXPORT", "EXP", "eNULL", "NULL", "aNULL", "ADH", "AECDH", "DSS", "aDSS", "DH", "EDH", "DHE", "kDHE", "kEDH",
		"PSK", "kPSK", "SRP", "CAMELLIA", "ARIA", "SEED", "IDEA", "GOST", "AESCCM", "AESCCM8", "DES", "MD5", "SSLv2", "kDH", "aDH":
		return false, true
	case "kRSA", "RSA":
		return s.kx == "kRSA", true
	case "aRSA":
		return s.auth == "aRSA", true
	case "kECDHE", "kEECDH", "ECDHE", "EECDH", "ECDH", "kECDH":
		return s.kx == "kECDHE", true
	case "aECDSA", "ECDSA":
		return s.auth == "aECDSA", true
	case "AES":
		return strings.HasPrefix(s.enc, "AES"), true
	case "AES128":
		return s.enc == "AES128" || s.enc == "AESGCM128", true
	case "AES256":
		return s.enc == "AES256" || s.enc == "AESGCM256", true
	case "AESGCM":
		return strings.HasPrefix(s.enc, "AESGCM"), true
	case "CHACHA20":
		return s.enc == "CHACHA20", true
	case "3DES":
		return s.enc == "3DES", true
	case "RC4":
		return s.enc == "RC4", true
	case "SHA1", "SHA":
		return s.mac == "SHA1", true
	case "SHA256":
		return s.mac == "SHA256" || s.mac == "AEAD" && s.enc != "AESGCM256", true
	case "SHA384":
		return s.enc == "AESGCM256", true
	case "TLSv1.2":
		return s.tls12, true
	case "TLSv1", "TLSv1.0", "SSLv3":
		return !s.tls12, true
	}
	if isSuiteName(word) {
		return word == s.openssl || word == tls.CipherSuiteName(s.id), true
	}
	return false, false
}

// isSuiteName reports whether w names one of suites (OpenSSL or IANA name).
func isSuiteName(w string) bool {
	for _, s := range suites {
		if w == s.openssl || w == tls.CipherSuiteName(s.id) {
			return true
		}
	}
	return false
}

// isDefault is crypto/tls's own secure set: what OpenSSL's DEFAULT keyword
// stands for here.
func (s suite) isDefault() bool {
	for _, c := range tls.CipherSuites() {
		if c.ID == s.id {
			return true
		}
	}
	return false
}

// ParseCiphers evaluates an OpenSSL cipher string ("ECDHE+AESGCM:!aNULL",
// HAProxy's "ciphers") to the TLS 1.0-1.2 suites crypto/tls implements.
// Suites OpenSSL has but crypto/tls lacks (DHE, CCM, CAMELLIA) are skipped
// and reported in warnings; an unknown word, a TLS 1.3 suite name or a
// string that selects nothing is an error.
func ParseCiphers(s string) (ids []uint16, warnings []string, err error) {
	active := map[uint16]bool{}
	killed := map[uint16]bool{}
	words := strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' })
	if len(words) == 0 {
		return nil, nil, fmt.Errorf("empty cipher string")
	}
	for _, w := range words {
		op := byte(0)
		if w[0] == '!' || w[0] == '-' || w[0] == '+' {
			op, w = w[0], w[1:]
		}
		if w == "" {
			return nil, nil, fmt.Errorf("cipher string: a lone %q", string(op))
		}
		if strings.HasPrefix(w, "@") { // @STRENGTH, @SECLEVEL=n: ordering and policy, nothing to select
			continue
		}
		if slices.Contains(tls13Names, w) {
			return nil, nil, fmt.Errorf("%s is a TLS 1.3 suite: lbd always offers the three TLS 1.3 AEAD suites (crypto/tls); ciphers lists TLS 1.2 suites only", w)
		}
		if unsupported[w] {
			if op == 0 {
				warnings = append(warnings, fmt.Sprintf("cipher %s is not implemented by crypto/tls: skipped", w))
			}
			continue
		}
		sel, err := selectSuites(w)
		if err != nil {
			return nil, nil, err
		}
		for _, id := range sel {
			switch op {
			case 0:
				if !killed[id] {
					active[id] = true
				}
			case '-':
				delete(active, id)
			case '!':
				delete(active, id)
				killed[id] = true
			case '+': // moves to the end: crypto/tls orders suites itself
			}
		}
	}
	for _, su := range suites {
		if active[su.id] {
			ids = append(ids, su.id)
		}
	}
	if len(ids) == 0 {
		return nil, warnings, fmt.Errorf("cipher string %q selects no suite lbd implements", s)
	}
	return ids, warnings, nil
}

// selectSuites returns the suites one word selects: a name, an alias, or
// aliases joined by "+" (all of them must match).
func selectSuites(w string) ([]uint16, error) {
	parts := strings.Split(w, "+")
	var out []uint16
	for _, su := range suites {
		all := true
		for _, p := range parts {
			var m, known bool
			if p == "DEFAULT" {
				m, known = su.isDefault(), true
			} else {
				m, known = su.match(p)
			}
			if !known {
				if unsupported[p] {
					m = false
				} else {
					return nil, fmt.Errorf("unknown cipher or cipher keyword %q", p)
				}
			}
			all = all && m
		}
		if all {
			out = append(out, su.id)
		}
	}
	return out, nil
}

// InsecureSuites lists the suites of ids that are not AEAD (CBC, 3DES,
// RC4) or lack forward secrecy (RSA key exchange): a configuration that
// asks for them gets them, with a warning.
func InsecureSuites(ids []uint16) []string {
	var out []string
	for _, su := range suites {
		if slices.Contains(ids, su.id) && (su.mac != "AEAD" || su.kx == "kRSA") {
			out = append(out, su.openssl)
		}
	}
	return out
}

// SuiteName returns OpenSSL's name of a TLS 1.2 suite, or the IANA name of
// a TLS 1.3 one (OpenSSL uses those), as access logs and HAProxy's
// ssl_fc_cipher show them.
func SuiteName(id uint16) string {
	for _, su := range suites {
		if su.id == id {
			return su.openssl
		}
	}
	return tls.CipherSuiteName(id)
}

// Versions, by HAProxy's ssl-min-ver/ssl-max-ver names.
var versions = map[string]uint16{
	"TLSv1.0": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11,
	"TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13,
}

// ParseVersion turns "TLSv1.2" into tls.VersionTLS12.
func ParseVersion(s string) (uint16, error) {
	if v, ok := versions[s]; ok {
		return v, nil
	}
	if s == "SSLv3" {
		return 0, fmt.Errorf("SSLv3 is not supported (RFC 7568)")
	}
	return 0, fmt.Errorf("%q is not one of \"TLSv1.0\", \"TLSv1.1\", \"TLSv1.2\", \"TLSv1.3\"", s)
}

// VersionName is the inverse of ParseVersion ("TLSv1.3"), the form of
// HAProxy's ssl_fc_protocol.
func VersionName(v uint16) string {
	for n, x := range versions {
		if x == v {
			return n
		}
	}
	return fmt.Sprintf("0x%04x", v)
}

// Groups by the names OpenSSL and Go give them.
var groups = map[string]tls.CurveID{
	"X25519": tls.X25519, "x25519": tls.X25519,
	"P-256": tls.CurveP256, "prime256v1": tls.CurveP256, "secp256r1": tls.CurveP256,
	"P-384": tls.CurveP384, "secp384r1": tls.CurveP384,
	"P-521": tls.CurveP521, "secp521r1": tls.CurveP521,
	"X25519MLKEM768":     tls.X25519MLKEM768,
	"SecP256r1MLKEM768":  tls.SecP256r1MLKEM768,
	"SecP384r1MLKEM1024": tls.SecP384r1MLKEM1024,
}

// DefaultCurves is Mozilla's intermediate list behind the hybrid
// post-quantum group modern clients offer.
var DefaultCurves = []string{"X25519MLKEM768", "X25519", "P-256", "P-384"}

// ParseCurve turns a group name ("X25519", "prime256v1") into its ID.
func ParseCurve(s string) (tls.CurveID, error) {
	if c, ok := groups[s]; ok {
		return c, nil
	}
	return 0, fmt.Errorf("%q is not a key-exchange group lbd implements (X25519, P-256, P-384, P-521, X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024)", s)
}

// CurveName is the group's name as logs show it.
func CurveName(c tls.CurveID) string { return c.String() }
