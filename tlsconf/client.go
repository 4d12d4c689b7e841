package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
)

// ClientOptions is TLS to one server (HAProxy's server ... ssl), with
// every default applied.
type ClientOptions struct {
	// Verify checks the server's chain (HAProxy's verify required, the
	// default); false is verify none.
	Verify bool
	// RootCAs is the ca-file; nil means the system's roots.
	RootCAs *x509.CertPool
	// VerifyHost is the name the certificate must carry; "" takes SNI,
	// and without SNI only the chain is checked (HAProxy's behaviour).
	VerifyHost string
	// SNI is the server name sent; "" sends none unless SNIFromClient
	// passes the client's.
	SNI           string
	SNIFromClient bool
	// Cert is the client certificate for mutual TLS (HAProxy's crt).
	Cert       *tls.Certificate
	ALPN       []string
	MinVersion uint16
	MaxVersion uint16
	Ciphers    []uint16
	Curves     []tls.CurveID
	// Reuse keeps TLS sessions to resume (HAProxy's default; no-ssl-reuse
	// turns it off).
	Reuse bool
}

// DefaultClient is the settings of TLS to a server that sets nothing.
func DefaultClient() ClientOptions {
	b := DefaultBind()
	return ClientOptions{Verify: true, MinVersion: b.MinVersion, MaxVersion: b.MaxVersion, Ciphers: b.Ciphers,
		Curves: b.Curves, Reuse: true}
}

// Client makes the tls.Config of connections to one server. Configs per
// SNI value (the client's, passed on) are made once and kept.
type Client struct {
	o     ClientOptions
	base  *tls.Config
	mu    sync.Mutex
	bySNI map[string]*tls.Config
}

// maxSNIConfigs bounds the per-name configurations kept for SNI passed on
// from clients; past it new names get a fresh one each time.
const maxSNIConfigs = 1024

// NewClient builds the TLS settings of connections to a server.
func NewClient(o ClientOptions) *Client {
	conf := &tls.Config{
		MinVersion:       o.MinVersion,
		MaxVersion:       o.MaxVersion,
		CipherSuites:     o.Ciphers,
		CurvePreferences: o.Curves,
		NextProtos:       o.ALPN,
		ServerName:       o.SNI,
		// Verification is done by VerifyConnection below, so that the name
		// checked may differ from the SNI sent, or be absent.
		InsecureSkipVerify: true,
	}
	if o.Cert != nil {
		conf.Certificates = []tls.Certificate{*o.Cert}
	}
	if o.Reuse {
		conf.ClientSessionCache = tls.NewLRUClientSessionCache(64)
	}
	if o.Verify {
		roots, host := o.RootCAs, o.VerifyHost
		conf.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyServer(cs, roots, host)
		}
	}
	return &Client{o: o, base: conf, bySNI: map[string]*tls.Config{}}
}

// verifyServer checks the server's chain against roots and, when a name is
// known (verify host, else the SNI sent), the name.
func verifyServer(cs tls.ConnectionState, roots *x509.CertPool, host string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the server sent no certificate")
	}
	if host == "" {
		host = cs.ServerName
	}
	opts := x509.VerifyOptions{Roots: roots, DNSName: host, Intermediates: x509.NewCertPool()}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
		return fmt.Errorf("server certificate: %w", err)
	}
	return nil
}

// Config returns the configuration of a connection; clientSNI is the name
// the client asked for (used when SNI comes from the client).
func (c *Client) Config(clientSNI string) *tls.Config {
	if !c.o.SNIFromClient || clientSNI == "" {
		return c.base
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if conf, ok := c.bySNI[clientSNI]; ok {
		return conf
	}
	conf := c.base.Clone()
	conf.ServerName = clientSNI
	if len(c.bySNI) < maxSNIConfigs {
		c.bySNI[clientSNI] = conf
	}
	return conf
}

// SNI reports whether the configuration sends the client's SNI (then a
// server connection may only be reused for the same name).
func (c *Client) SNI() bool { return c.o.SNIFromClient }

// Handshake is a helper for callers that do not drive their own sockets (health
// checks): it completes a handshake over an established connection.
func (c *Client) Handshake(conn net.Conn, clientSNI string) (*tls.Conn, error) {
	tc := tls.Client(conn, c.Config(clientSNI))
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	return tc, nil
}
