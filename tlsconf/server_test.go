package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lbd/test/pki"
)

// site is a bind with ECDSA and RSA certificates for www.example.com, a
// wildcard *.example.org, and a default cert for default.example.net.
type site struct {
	ca    *pki.CA
	certs []*Certificate
	roots *x509.CertPool
}

func newSite(t *testing.T) *site {
	t.Helper()
	ca := pki.NewCA("Root")
	dir := t.TempDir()
	var certs []*Certificate
	for i, l := range []*pki.Leaf{
		ca.Issue(pki.Options{}, "default.example.net"),
		ca.Issue(pki.Options{KeyType: pki.RSA}, "www.example.com"),
		ca.Issue(pki.Options{}, "www.example.com"),
		ca.Issue(pki.Options{}, "*.example.org"),
		ca.Issue(pki.Options{KeyType: pki.RSA}, "default.example.net"),
	} {
		c, ps := LoadFile(l.Write(filepath.Join(dir, string(rune('a'+i))+".pem")), time.Now())
		if c == nil {
			t.Fatal(ps)
		}
		certs = append(certs, c)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	return &site{ca: ca, certs: certs, roots: roots}
}

// serve runs a TLS server over loopback for conf; each accepted
// connection completes its handshake and reports its state.
func serve(t *testing.T, conf *tls.Config) (addr string, states chan tls.ConnectionState) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	states = make(chan tls.ConnectionState, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := tls.Server(c, conf)
				tc.SetDeadline(time.Now().Add(5 * time.Second))
				if err := tc.Handshake(); err != nil {
					return
				}
				st := tc.ConnectionState()
				tc.Write([]byte("x")) // let TLS 1.3 tickets out before the close
				buf := make([]byte, 1)
				tc.Read(buf)
				states <- st
			}()
		}
	}()
	return ln.Addr().String(), states
}

func dial(addr string, conf *tls.Config) (tls.ConnectionState, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, conf)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	buf := make([]byte, 1)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(buf); err != nil { // reads the tickets too
		return tls.ConnectionState{}, err
	}
	c.Write([]byte("y"))
	return c.ConnectionState(), nil
}

// TestSelect is certificate selection by SNI and by what the client
// supports, through real handshakes.
func TestSelect(t *testing.T) {
	s := newSite(t)
	o := DefaultBind()
	o.Certs = s.certs
	srv, err := NewServer(o, NewSessions())
	if err != nil {
		t.Fatal(err)
	}
	o.StrictSNI = true
	strict, _ := NewServer(o, NewSessions())
	rsaOnly := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	cases := []struct {
		name    string
		srv     *Server
		sni     string
		tls12   []uint16 // restricts the client to TLS 1.2 with these suites
		wantCN  string
		wantKey string
		wantErr bool
	}{
		{name: "exact, ECDSA preferred", srv: srv, sni: "www.example.com", wantCN: "www.example.com", wantKey: "ECDSA"},
		{name: "exact, RSA for an RSA-only client", srv: srv, sni: "www.example.com", tls12: rsaOnly, wantCN: "www.example.com", wantKey: "RSA"},
		{name: "case and trailing dot", srv: srv, sni: "WWW.Example.COM", wantCN: "www.example.com"},
		{name: "wildcard", srv: srv, sni: "api.example.org", wantCN: "*.example.org"},
		{name: "wildcard is one label deep", srv: srv, sni: "a.b.example.org", wantCN: "default.example.net"},
		{name: "unknown name gets the default", srv: srv, sni: "nope.example.com", wantCN: "default.example.net", wantKey: "ECDSA"},
		{name: "default for an RSA-only client", srv: srv, sni: "", tls12: rsaOnly, wantCN: "default.example.net", wantKey: "RSA"},
		{name: "strict_sni refuses an unknown name", srv: strict, sni: "nope.example.com", wantErr: true},
		{name: "strict_sni refuses no SNI", srv: strict, sni: "", wantErr: true},
		{name: "strict_sni serves a known name", srv: strict, sni: "www.example.com", wantCN: "www.example.com"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr, _ := serve(t, c.srv.Config())
			conf := &tls.Config{ServerName: c.sni, InsecureSkipVerify: true}
			if c.tls12 != nil {
				conf.MaxVersion, conf.CipherSuites = tls.VersionTLS12, c.tls12
			}
			st, err := dial(addr, conf)
			if c.wantErr {
				if err == nil {
					t.Fatalf("handshake succeeded with %s", st.PeerCertificates[0].Subject.CommonName)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			leaf := st.PeerCertificates[0]
			if leaf.Subject.CommonName != c.wantCN {
				t.Errorf("got %s, want %s", leaf.Subject.CommonName, c.wantCN)
			}
			if c.wantKey != "" && leaf.PublicKeyAlgorithm.String() != c.wantKey {
				t.Errorf("key %s, want %s", leaf.PublicKeyAlgorithm, c.wantKey)
			}
		})
	}
}

func TestVersionsALPNDefaults(t *testing.T) {
	s := newSite(t)
	o := DefaultBind()
	o.Certs = s.certs[:1]
	o.ALPN = []string{"http/1.1"}
	srv, _ := NewServer(o, NewSessions())
	addr, _ := serve(t, srv.Config())
	if _, err := dial(addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}); err == nil {
		t.Error("TLS 1.1 accepted by default")
	}
	if _, err := dial(addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}); err == nil {
		t.Error("a CBC suite accepted by default")
	}
	st, err := dial(addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil || st.NegotiatedProtocol != "http/1.1" || st.Version != tls.VersionTLS13 {
		t.Errorf("ALPN %q version %x err %v", st.NegotiatedProtocol, st.Version, err)
	}
}

func TestClientCertificates(t *testing.T) {
	s := newSite(t)
	dir := t.TempDir()
	clients := pki.NewCA("Clients")
	good := clients.Issue(pki.Options{Client: true}, "alice")
	bad := clients.Issue(pki.Options{Client: true}, "mallory")
	stranger := pki.NewCA("Other").Issue(pki.Options{Client: true}, "eve")
	crlPath := filepath.Join(dir, "crl.pem")
	os.WriteFile(crlPath, clients.CRL(time.Now().Add(time.Hour), bad.Cert), 0o644)
	crls, ps := LoadCRLs(crlPath, time.Now())
	if ps.HasErrors() {
		t.Fatal(ps)
	}
	pool := x509.NewCertPool()
	pool.AddCert(clients.Cert)
	keypair := func(l *pki.Leaf) []tls.Certificate {
		c, err := tls.X509KeyPair(l.PEM(), l.PEM())
		if err != nil {
			t.Fatal(err)
		}
		c.Leaf = l.Cert
		return []tls.Certificate{c}
	}
	cases := []struct {
		verify string
		crl    bool
		cert   []tls.Certificate
		ok     bool
	}{
		{"required", true, keypair(good), true},
		{"required", true, nil, false},
		{"required", true, keypair(bad), false}, // revoked
		{"required", false, keypair(bad), true},
		{"required", true, keypair(stranger), false},
		{"optional", true, nil, true},
		{"optional", true, keypair(good), true},
		// A client sends no certificate from a CA the server does not name.
		{"optional", true, keypair(stranger), true},
		{"none", false, keypair(stranger), true},
	}
	for _, c := range cases {
		o := DefaultBind()
		o.Certs = s.certs[:1]
		o.Verify, o.ClientCAs = c.verify, pool
		if c.crl {
			o.CRLs = crls
		}
		srv, _ := NewServer(o, NewSessions())
		addr, states := serve(t, srv.Config())
		_, err := dial(addr, &tls.Config{InsecureSkipVerify: true, Certificates: c.cert})
		if (err == nil) != c.ok {
			t.Errorf("verify %s crl %v cert %v: err %v, want ok=%v", c.verify, c.crl, c.cert != nil, err, c.ok)
		}
		if err == nil && c.cert != nil && c.verify != "none" && c.cert[0].Leaf.Issuer.CommonName == "Clients" {
			st := <-states
			if len(st.VerifiedChains) == 0 {
				t.Errorf("verify %s: no verified chain on the server", c.verify)
			}
		}
	}
}

// TestResumption: tickets made by one node resume on another that reads
// the same secret (the pair after a failover), not on one with another
// secret; the stateful cache resumes on its own node only; a manual
// rotation keeps tickets under the old secret.
func TestResumption(t *testing.T) {
	s := newSite(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte(strings.Repeat("k", 48)), 0o600)
	other := filepath.Join(dir, "other")
	os.WriteFile(other, []byte(strings.Repeat("z", 48)), 0o600)
	node := func(file string, tickets bool) *Server {
		sess := NewSessions()
		if err := sess.Configure(file, time.Hour, 100, time.Minute); err != nil {
			t.Fatal(err)
		}
		o := DefaultBind()
		o.Certs, o.Tickets = s.certs[:1], tickets
		srv, _ := NewServer(o, sess)
		return srv
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		name := VersionName(v)
		a, b, c := node(secret, true), node(secret, true), node(other, true)
		addrA, _ := serve(t, a.Config())
		addrB, _ := serve(t, b.Config())
		addrC, _ := serve(t, c.Config())
		conf := &tls.Config{InsecureSkipVerify: true, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(4), ServerName: "default.example.net"}
		if st, err := dial(addrA, conf); err != nil || st.DidResume {
			t.Fatalf("%s: first %v %v", name, st.DidResume, err)
		}
		if st, err := dial(addrB, conf); err != nil || !st.DidResume {
			t.Errorf("%s: the peer with the same secret did not resume (%v)", name, err)
		}
		if st, err := dial(addrC, conf); err != nil || st.DidResume {
			t.Errorf("%s: a node with another secret resumed (%v)", name, err)
		}

		// Stateful: resumes on the same node, not on another.
		d, e := node("", false), node("", false)
		addrD, _ := serve(t, d.Config())
		addrE, _ := serve(t, e.Config())
		conf2 := &tls.Config{InsecureSkipVerify: true, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(4), ServerName: "default.example.net"}
		dial(addrD, conf2)
		if st, err := dial(addrD, conf2); err != nil || !st.DidResume {
			t.Errorf("%s: stateful session not resumed on its node (%v)", name, err)
		}
		if st, err := dial(addrE, conf2); err != nil || st.DidResume {
			t.Errorf("%s: stateful session resumed on another node (%v)", name, err)
		}
	}

	// Manual rotation: a new secret is written; old tickets still resume.
	sess := NewSessions()
	sess.Configure(secret, time.Hour, 10, time.Minute)
	o := DefaultBind()
	o.Certs = s.certs[:1]
	srv, _ := NewServer(o, sess)
	addr, _ := serve(t, srv.Config())
	conf := &tls.Config{InsecureSkipVerify: true, ClientSessionCache: tls.NewLRUClientSessionCache(4), ServerName: "x"}
	dial(addr, conf)
	before := sess.Status().KeyName
	if err := sess.Rotate(); err != nil {
		t.Fatal(err)
	}
	if sess.Status().KeyName == before {
		t.Error("rotation kept the key")
	}
	if raw, _ := os.ReadFile(secret); strings.Repeat("k", 48) == string(raw) {
		t.Error("rotation did not write the secret file")
	}
	if st, err := dial(addr, conf); err != nil || !st.DidResume {
		t.Errorf("a ticket from before the rotation did not resume (%v)", err)
	}
	fresh := &tls.Config{InsecureSkipVerify: true, ClientSessionCache: tls.NewLRUClientSessionCache(4), ServerName: "x"}
	dial(addr, fresh)
	peer := node(secret, true) // the peer after copying the new file and reloading
	paddr, _ := serve(t, peer.Config())
	if st, err := dial(paddr, fresh); err != nil || !st.DidResume {
		t.Errorf("the peer with the rotated secret did not resume (%v)", err)
	}
}

// Keys rotate by themselves with the period: a ticket is accepted for two
// to three periods, then refused.
func TestTicketPeriods(t *testing.T) {
	now := time.Unix(1_000_000_000, 0)
	s := NewSessions()
	s.now = func() time.Time { return now }
	s.Configure("", time.Hour, 10, time.Minute)
	tk := s.Seal([]byte("state"))
	for _, c := range []struct {
		after time.Duration
		ok    bool
	}{{0, true}, {time.Hour, true}, {2 * time.Hour, true}, {3 * time.Hour, false}} {
		now = time.Unix(1_000_000_000, 0).Add(c.after)
		_, err := s.Open(tk)
		if (err == nil) != c.ok {
			t.Errorf("after %s: %v, want ok=%v", c.after, err, c.ok)
		}
	}
	if _, err := s.Open([]byte("short")); !errors.Is(err, errNoKey) {
		t.Error("garbage ticket opened")
	}
}

func TestClientVerify(t *testing.T) {
	s := newSite(t)
	o := DefaultBind()
	o.Certs = s.certs[:3]
	srv, _ := NewServer(o, NewSessions())
	addr, _ := serve(t, srv.Config())
	cases := []struct {
		name string
		o    func(*ClientOptions)
		ok   bool
		sni  string
	}{
		{"verify against the CA, name from sni", func(c *ClientOptions) { c.RootCAs = s.roots; c.SNI = "www.example.com" }, true, "www.example.com"},
		{"wrong verify_host", func(c *ClientOptions) {
			c.RootCAs = s.roots
			c.SNI = "www.example.com"
			c.VerifyHost = "evil.example.com"
		}, false, ""},
		{"system roots refuse a private CA", func(c *ClientOptions) { c.SNI = "www.example.com" }, false, ""},
		{"verify none", func(c *ClientOptions) { c.Verify = false }, true, ""},
		{"chain only without a name", func(c *ClientOptions) { c.RootCAs = s.roots }, true, ""},
		{"sni from the client", func(c *ClientOptions) { c.RootCAs = s.roots; c.SNIFromClient = true }, true, "www.example.com"},
	}
	for _, c := range cases {
		o := DefaultClient()
		c.o(&o)
		cl := NewClient(o)
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		tc, err := cl.Handshake(conn, "www.example.com")
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok=%v", c.name, err, c.ok)
		}
		if err == nil && c.sni != "" && tc.ConnectionState().PeerCertificates[0].Subject.CommonName != c.sni {
			t.Errorf("%s: served %s", c.name, tc.ConnectionState().PeerCertificates[0].Subject.CommonName)
		}
		conn.Close()
	}
}
