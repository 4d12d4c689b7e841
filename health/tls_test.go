package health

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lbd/config"
	"lbd/test/pki"
	"lbd/tlsconf"
)

// tlsServer answers HTTP/1.1 200 over TLS with a certificate for
// app.example.com.
func tlsServer(t *testing.T, ca *pki.CA) string {
	t.Helper()
	leaf := ca.Issue(pki.Options{}, "app.example.com")
	cert, err := tls.X509KeyPair(leaf.PEM(), leaf.PEM())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(2 * time.Second))
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			}()
		}
	}()
	return ln.Addr().String()
}

func TestTLSChecks(t *testing.T) {
	ca := pki.NewCA("Servers")
	addr := tlsServer(t, ca)
	plain := startServer(t, reply("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")).ln.Addr().String()
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	serverTLS := func(f func(*tlsconf.ClientOptions)) *config.ServerTLS {
		o := tlsconf.DefaultClient()
		o.RootCAs, o.SNI = roots, "app.example.com"
		if f != nil {
			f(&o)
		}
		return &config.ServerTLS{Options: o}
	}
	yes, no := true, false
	cases := []struct {
		name string
		typ  string
		tls  *bool
		stls *config.ServerTLS
		addr string
		code string
		info string
	}{
		{"http over TLS", "http", nil, serverTLS(nil), addr, codeL7OK, ""},
		{"tcp over TLS is the handshake", "tcp", nil, serverTLS(nil), addr, codeL6OK, ""},
		{"unknown CA", "http", nil, serverTLS(func(o *tlsconf.ClientOptions) { o.RootCAs = x509.NewCertPool() }), addr, codeL6RSP, "unknown authority"},
		{"wrong name", "http", nil, serverTLS(func(o *tlsconf.ClientOptions) { o.VerifyHost = "other.example.com" }), addr, codeL6RSP, "other.example.com"},
		{"verify none", "http", nil, serverTLS(func(o *tlsconf.ClientOptions) { o.Verify, o.RootCAs = false, nil }), addr, codeL7OK, ""},
		{"TLS to a plain server that waits for a request", "http", nil, serverTLS(nil), plain, codeL6TOUT, ""},
		{"check-ssl on a plain-traffic server", "http", &yes, nil, addr, codeL6RSP, "unknown authority"}, // system roots
		{"tls = false checks in clear", "http", &no, serverTLS(nil), plain, codeL7OK, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hc := &config.HealthCheck{Type: c.typ, Method: "GET", Path: "/", ExpectStatus: []int{200}, Timeout: 500 * time.Millisecond, TLS: c.tls}
			sc := &config.Server{Name: "s", Address: c.addr, TLS: c.stls}
			pr := newProber(hc, sc)
			var conn io.Closer
			r := probe(pr, context.Background(), func(cl io.Closer) bool { conn = cl; return true })
			if conn != nil {
				conn.Close()
			}
			if r.code != c.code || !strings.Contains(r.info, c.info) {
				t.Errorf("result %s %q, want %s %q", r.code, r.info, c.code, c.info)
			}
			if want := c.code == codeL7OK || c.code == codeL6OK; r.ok != want {
				t.Errorf("ok %v", r.ok)
			}
		})
	}
}

// A reload rebuilds the checker of a TLS server (new CA files apply).
func TestTLSCheckerRebuilt(t *testing.T) {
	dir := t.TempDir()
	ca := pki.NewCA("CA")
	ca.WriteCA(filepath.Join(dir, "ca.pem"))
	src := `backend "b" {
  tls {
    ca_file = "ca.pem"
  }
  server "s" { address = "127.0.0.1:1" }
}
`
	a, err := config.Parse(filepath.Join(dir, "a.hcl"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	hc, sc := a.Backends[0].HealthCheck, a.Backends[0].Servers[0]
	if !usesTLS(hc, sc) {
		t.Fatal("a server of a tls backend is not checked over TLS")
	}
	if _, ok := newProber(hc, sc).(*tlsProber); !ok {
		t.Fatal("no TLS prober")
	}
}

var _ net.Conn = (*tls.Conn)(nil)
