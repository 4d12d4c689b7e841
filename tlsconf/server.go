package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// BindOptions is one TLS bind's settings with every default applied.
type BindOptions struct {
	// Certs in load order; the first one is the default certificate (for
	// clients without SNI or with a name nothing else matches).
	Certs []*Certificate
	// StrictSNI refuses handshakes whose server name matches no
	// certificate, instead of serving the default (HAProxy's strict-sni).
	StrictSNI  bool
	ALPN       []string
	MinVersion uint16
	MaxVersion uint16
	Ciphers    []uint16 // TLS 1.0-1.2 suites
	Curves     []tls.CurveID
	// Verify is the client certificate policy: none, optional or required.
	Verify    string
	ClientCAs *x509.CertPool
	CRLs      *CRLSet
	// Tickets: stateless session tickets (true) or the stateful cache.
	Tickets bool
	// Dynamic, when set, is asked first for a certificate (ACME): nil
	// lets the configured certificates answer.
	Dynamic func(*tls.ClientHelloInfo) *tls.Certificate
}

// DefaultBind is the settings of a bind that sets nothing.
func DefaultBind() BindOptions {
	ids, _, _ := ParseCiphers(DefaultCiphers)
	var curves []tls.CurveID
	for _, n := range DefaultCurves {
		c, _ := ParseCurve(n)
		curves = append(curves, c)
	}
	return BindOptions{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, Ciphers: ids, Curves: curves,
		Verify: "none", Tickets: true}
}

// Server is the TLS side of one bind: the *tls.Config handed to
// crypto/tls, which picks a certificate (and the settings of its crt-list
// line) for each ClientHello. It is immutable: a reload builds a new one,
// and handshakes in progress finish with the one they started with.
type Server struct {
	conf    *tls.Config
	entries []*entry
	exact   map[string][]*entry
	wild    map[string][]*entry // "example.com" for "*.example.com"
	def     []*entry            // the default certificate and its other key types
	strict  bool
	dynamic func(*tls.ClientHelloInfo) *tls.Certificate
	// Challenge, when set, answers ACME TLS-ALPN-01 validations (RFC 8737):
	// handshakes offering only "acme-tls/1".
	challenge atomic.Pointer[func(*tls.ClientHelloInfo) (*tls.Certificate, error)]
}

type entry struct {
	cert *Certificate
	conf *tls.Config
}

// ErrNoCertificate is a strict_sni refusal.
var ErrNoCertificate = errors.New("no certificate for this server name (strict_sni)")

// NewServer builds a bind's TLS configuration.
func NewServer(o BindOptions, sess *Sessions) (*Server, error) {
	if len(o.Certs) == 0 && o.Dynamic == nil {
		return nil, errors.New("a TLS bind needs at least one certificate")
	}
	base := &tls.Config{
		MinVersion:                  o.MinVersion,
		MaxVersion:                  o.MaxVersion,
		CipherSuites:                o.Ciphers,
		CurvePreferences:            o.Curves,
		NextProtos:                  o.ALPN,
		DynamicRecordSizingDisabled: true, // full 16 KiB records, as HAProxy (tune.ssl.maxrecord 0)
	}
	setClientAuth(base, o.Verify, o.ClientCAs, o.CRLs)
	sess.install(base, o.Tickets)
	s := &Server{exact: map[string][]*entry{}, wild: map[string][]*entry{}, strict: o.StrictSNI, dynamic: o.Dynamic}
	for _, c := range o.Certs {
		e := &entry{cert: c, conf: entryConfig(base, c)}
		s.entries = append(s.entries, e)
		for _, n := range c.Names {
			if rest, ok := strings.CutPrefix(n, "*."); ok {
				s.wild[rest] = append(s.wild[rest], e)
			} else {
				s.exact[n] = append(s.exact[n], e)
			}
		}
	}
	if len(s.entries) > 0 {
		first := s.entries[0]
		for _, e := range s.entries {
			if e == first || slices.Equal(e.cert.Names, first.cert.Names) && e.cert.KeyType != first.cert.KeyType {
				s.def = append(s.def, e)
			}
		}
	}
	conf := base.Clone()
	conf.GetConfigForClient = s.configFor
	s.conf = conf
	return s, nil
}

// entryConfig is the configuration of handshakes that select c: the
// bind's, with c as the only certificate and its crt-list options.
func entryConfig(base *tls.Config, c *Certificate) *tls.Config {
	conf := base.Clone()
	conf.Certificates = []tls.Certificate{*c.TLS}
	if o := c.Options; o != nil {
		if o.ALPN != nil {
			conf.NextProtos = o.ALPN
		}
		if o.MinVersion != 0 {
			conf.MinVersion = o.MinVersion
		}
		if o.MaxVersion != 0 {
			conf.MaxVersion = o.MaxVersion
		}
		if o.Ciphers != nil {
			conf.CipherSuites = o.Ciphers
		}
		if o.Curves != nil {
			conf.CurvePreferences = o.Curves
		}
		if o.Verify != "" {
			setClientAuth(conf, o.Verify, o.ClientCAs, o.CRLs)
		}
	}
	return conf
}

// setClientAuth applies a verify policy (HAProxy's verify none|optional|
// required): optional asks for a certificate and verifies one if given.
func setClientAuth(conf *tls.Config, verify string, cas *x509.CertPool, crls *CRLSet) {
	conf.ClientCAs = cas
	conf.VerifyPeerCertificate = nil
	switch verify {
	case "optional":
		conf.ClientAuth = tls.VerifyClientCertIfGiven
	case "required":
		conf.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		conf.ClientAuth = tls.NoClientCert
		return
	}
	if crls != nil {
		conf.VerifyPeerCertificate = func(_ [][]byte, chains [][]*x509.Certificate) error {
			if len(chains) == 0 {
				return nil
			}
			var err error
			for _, ch := range chains {
				if err = crls.Check(ch, time.Now()); err == nil {
					return nil
				}
			}
			return err
		}
	}
}

// Config is what crypto/tls serves the bind with.
func (s *Server) Config() *tls.Config { return s.conf }

// SetChallenge installs (or with nil removes) the ACME TLS-ALPN-01
// responder.
func (s *Server) SetChallenge(f func(*tls.ClientHelloInfo) (*tls.Certificate, error)) {
	if f == nil {
		s.challenge.Store(nil)
		return
	}
	s.challenge.Store(&f)
}

// acmeALPN is the protocol of TLS-ALPN-01 validations (RFC 8737 §6.2).
const acmeALPN = "acme-tls/1"

func (s *Server) configFor(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	if len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acmeALPN {
		if f := s.challenge.Load(); f != nil {
			cert, err := (*f)(hello)
			if err != nil {
				return nil, err
			}
			return &tls.Config{Certificates: []tls.Certificate{*cert}, NextProtos: []string{acmeALPN},
				MinVersion: tls.VersionTLS12}, nil
		}
	}
	if s.dynamic != nil {
		if cert := s.dynamic(hello); cert != nil {
			conf := s.conf.Clone()
			conf.GetConfigForClient = nil
			conf.Certificates = []tls.Certificate{*cert}
			return conf, nil
		}
	}
	e := s.selectEntry(hello)
	if e == nil {
		return nil, ErrNoCertificate
	}
	return e.conf, nil
}

// Select returns the certificate entry for a ClientHello: an exact name,
// else a wildcard one label deep (RFC 6125 §6.4.3), else the default
// (unless strict). Among certificates for the same name, the first the
// client can use wins, ECDSA before RSA (HAProxy's preference); a client
// that can use none gets the first, and fails its handshake. nil: none
// (strict_sni).
func (s *Server) Select(hello *tls.ClientHelloInfo) *Certificate {
	if e := s.selectEntry(hello); e != nil {
		return e.cert
	}
	return nil
}

func (s *Server) selectEntry(hello *tls.ClientHelloInfo) *entry {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name != "" {
		if e := pick(hello, s.exact[name], name); e != nil {
			return e
		}
		if i := strings.IndexByte(name, '.'); i > 0 {
			if e := pick(hello, s.wild[name[i+1:]], name); e != nil {
				return e
			}
		}
	}
	if s.strict {
		return nil
	}
	return pick(hello, s.def, "")
}

func pick(hello *tls.ClientHelloInfo, es []*entry, name string) *entry {
	var first, fallback *entry
	for _, e := range es {
		if name != "" && slices.Contains(e.cert.Exclude, name) {
			continue
		}
		if first == nil {
			first = e
		}
		if hello.SupportsCertificate(e.cert.TLS) != nil {
			continue
		}
		if e.cert.KeyType == "ECDSA" {
			return e
		}
		if fallback == nil {
			fallback = e
		}
	}
	if fallback != nil {
		return fallback
	}
	return first
}

// Certificates lists the bind's certificates in load order.
func (s *Server) Certificates() []*Certificate {
	out := make([]*Certificate, len(s.entries))
	for i, e := range s.entries {
		out[i] = e.cert
	}
	return out
}

func (s *Server) String() string {
	return fmt.Sprintf("tls bind with %d certificates", len(s.entries))
}
