package acmeclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/test/pebble"
	"lbd/tlsconf"
)

func newManager(t *testing.T, srv *pebble.Server, dir, keyFile string, challenges ...string) *Manager {
	t.Helper()
	m, err := New(zerolog.Nop(), Config{Directory: srv.Directory, CAFile: srv.CAFile, AccountKey: keyFile,
		Storage: filepath.Join(dir, "store"), RenewBefore: 30 * 24 * time.Hour, Challenges: challenges})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// serveHTTP01 answers HTTP-01 validations on port with m, as lbd's plain
// http binds do.
func serveHTTP01(t *testing.T, port int, m *Manager) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if body, ok := m.HTTP01(r.URL.Path); ok {
			io.WriteString(w, body)
			return
		}
		http.NotFound(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

func verify(t *testing.T, srv *pebble.Server, c *tlsconf.Certificate, name string) {
	t.Helper()
	inter := x509.NewCertPool()
	for _, d := range c.TLS.Certificate[1:] {
		x, _ := x509.ParseCertificate(d)
		inter.AddCert(x)
	}
	if _, err := c.Leaf().Verify(x509.VerifyOptions{Roots: srv.Roots(t), Intermediates: inter, DNSName: name}); err != nil {
		t.Errorf("certificate for %s does not verify against Pebble's root: %v", name, err)
	}
}

// TestHTTP01Pair: two nodes of a pair share the account key; only node A
// holds the "VIP" (answers validations on the HTTP port), yet both get
// certificates, because A answers B's validation without knowing B's
// order. The certificate survives a restart (storage).
func TestHTTP01Pair(t *testing.T) {
	httpPort, tlsPort := pebble.FreePort(t), pebble.FreePort(t)
	srv := pebble.Start(t, httpPort, tlsPort)
	dir := t.TempDir()
	key := filepath.Join(dir, "account.key")
	a := newManager(t, srv, filepath.Join(dir, "a"), key, "http-01", "tls-alpn-01")
	b := newManager(t, srv, filepath.Join(dir, "b"), key, "http-01", "tls-alpn-01")
	serveHTTP01(t, httpPort, a)
	ctx := context.Background()
	names := []string{"www.example.com", "example.com"}
	a.Want([][]string{names})
	b.Want([][]string{names})
	if err := a.Obtain(ctx, names); err != nil {
		t.Fatalf("node A: %v", err)
	}
	if err := b.Obtain(ctx, names); err != nil {
		t.Fatalf("node B, validated through A: %v", err)
	}
	for _, m := range []*Manager{a, b} {
		c := m.Certificate(&tls.ClientHelloInfo{ServerName: "example.com"})
		if c == nil {
			t.Fatal("no certificate served for example.com")
		}
		verify(t, srv, m.Certificates()[0], "www.example.com")
	}
	if a.Certificates()[0].Fingerprint() == b.Certificates()[0].Fingerprint() {
		t.Error("both nodes hold the same certificate: each should have ordered its own")
	}
	// A restart finds the certificate in storage and does not order again.
	a2 := newManager(t, srv, filepath.Join(dir, "a"), key, "http-01")
	a2.Want([][]string{names})
	if c := a2.Certificates(); len(c) != 1 || c[0].Fingerprint() != a.Certificates()[0].Fingerprint() {
		t.Errorf("the stored certificate was not loaded: %v", c)
	}
	// Not a validation: no answer.
	for _, p := range []string{"/", "/.well-known/acme-challenge/", "/.well-known/acme-challenge/a/b", "/.well-known/acme-challenge/short"} {
		if _, ok := a.HTTP01(p); ok {
			t.Errorf("%s answered", p)
		}
	}
}

// TestTLSALPN01 obtains a certificate through a TLS bind that answers
// TLS-ALPN-01 (RFC 8737) with the pending challenge's certificate, while
// serving its own certificate to ordinary handshakes.
func TestTLSALPN01(t *testing.T) {
	httpPort, tlsPort := pebble.FreePort(t), pebble.FreePort(t)
	srv := pebble.Start(t, httpPort, tlsPort)
	dir := t.TempDir()
	m := newManager(t, srv, dir, filepath.Join(dir, "account.key"), "tls-alpn-01")
	o := tlsconf.DefaultBind()
	o.Dynamic = m.Certificate
	bind, err := tlsconf.NewServer(o, tlsconf.NewSessions())
	if err != nil {
		t.Fatal(err)
	}
	bind.SetChallenge(m.TLSALPN01)
	ln, err := tls.Listen("tcp", "127.0.0.1:"+strconv.Itoa(tlsPort), bind.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	m.Want([][]string{{"secure.example.org"}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	deadline := time.Now().Add(60 * time.Second)
	for len(m.Certificates()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no certificate: %+v", m.Statuses())
		}
		time.Sleep(100 * time.Millisecond)
	}
	verify(t, srv, m.Certificates()[0], "secure.example.org")
	// The bind now serves it.
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: "secure.example.org", RootCAs: srv.Roots(t)})
	if err != nil {
		t.Fatalf("handshake with the obtained certificate: %v", err)
	}
	conn.Close()
	if st := m.Statuses(); len(st) != 1 || st[0].Error != "" || st[0].NotAfter.IsZero() {
		t.Errorf("status %+v", st)
	}
}

func TestValidToken(t *testing.T) {
	for tok, ok := range map[string]bool{
		"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0": true,
		"short": false, "has/slash-xxxxxxxxxxxxxxxx": false, "dots.are.not.base64url": false,
		strings.Repeat("a", 300): false,
	} {
		if validToken(tok) != ok {
			t.Errorf("%q: %v", tok, !ok)
		}
	}
}
