// Package acmeclient obtains and renews certificates from an ACME server
// (RFC 8555; Let's Encrypt, or Pebble in the lab) with
// golang.org/x/crypto/acme, and answers the server's validations: HTTP-01
// (RFC 8555 §8.3) on lbd's plain http binds and TLS-ALPN-01 (RFC 8737) on
// its TLS binds.
//
// A failover pair, and why it works without a channel between the nodes:
// each node orders its own certificate for the configured names, with the
// same ACME account (the account key file is the same on both nodes, as
// the ticket secret is). An HTTP-01 validation reaches whichever node
// holds the VIP, and that node can answer it whoever asked: the answer is
// the token from the URL followed by the account key's thumbprint (RFC
// 8555 §8.1), so it needs no record of the order ("stateless" answering).
// Both nodes therefore get certificates whichever one held the VIP. A
// TLS-ALPN-01 validation names no token, so only the node that ordered
// can answer it: with TLS-ALPN-01 alone, a node completes its order only
// while it holds the VIP (it retries every hour); keep a plain http bind
// with http-01 first (the default) in a pair.
//
// Certificates are kept in the storage directory as HAProxy-style PEM
// files (chain and key, one per certificate, named after its first name),
// loaded again at start, and renewed renew_before their expiry.
package acmeclient

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/acme"

	"lbd/tlsconf"
)

// Config is the acme block.
type Config struct {
	Directory   string
	Email       string
	AccountKey  string
	Storage     string
	CAFile      string
	RenewBefore time.Duration
	Challenges  []string // "http-01", "tls-alpn-01", in order of preference
}

// Manager keeps the certificates of a configuration.
type Manager struct {
	log    zerolog.Logger
	cfg    Config
	client *acme.Client

	mu      sync.Mutex
	want    [][]string                      // name sets to keep certificates for
	certs   map[string]*tlsconf.Certificate // by name set key
	byName  map[string]*tlsconf.Certificate // by DNS name
	alpn    map[string]*tls.Certificate     // pending TLS-ALPN-01 answers, by name
	lastErr map[string]error
	wake    chan struct{}
	now     func() time.Time
}

// New loads (or creates) the account key and the certificates already
// obtained. Nothing talks to the ACME server until Run.
func New(log zerolog.Logger, cfg Config) (*Manager, error) {
	if err := os.MkdirAll(cfg.Storage, 0o700); err != nil {
		return nil, fmt.Errorf("acme storage: %w", err)
	}
	key, err := loadOrCreateKey(cfg.AccountKey)
	if err != nil {
		return nil, fmt.Errorf("acme account key: %w", err)
	}
	hc := http.DefaultClient
	if cfg.CAFile != "" {
		pool, err := tlsconf.PoolFromFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("acme ca_file: %w", err)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
		hc = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	m := &Manager{
		log: log, cfg: cfg,
		client: &acme.Client{Key: key, DirectoryURL: cfg.Directory, HTTPClient: hc, UserAgent: "lbd"},
		certs:  map[string]*tlsconf.Certificate{}, byName: map[string]*tlsconf.Certificate{},
		alpn: map[string]*tls.Certificate{}, lastErr: map[string]error{},
		wake: make(chan struct{}, 1), now: time.Now,
	}
	return m, nil
}

// loadOrCreateKey reads a PEM private key, or makes an ECDSA P-256 one
// (mode 0600) when the file does not exist.
func loadOrCreateKey(path string) (crypto.Signer, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
			return nil, err
		}
		return k, nil
	}
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		return nil, fmt.Errorf("%s: no PEM key", path)
	}
	var k any
	switch b.Type {
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: not a signing key", path)
	}
	return s, nil
}

// writeFile writes atomically with mode 0600.
func writeFile(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func setKey(names []string) string { return strings.Join(names, ",") }

// fileName is where a name set's certificate is kept.
func (m *Manager) fileName(names []string) string {
	n := strings.ReplaceAll(names[0], "*", "_wildcard_")
	return filepath.Join(m.cfg.Storage, n+".pem")
}

// Want sets the name sets to keep certificates for (first start and every
// reload) and loads those already in storage; Run obtains the others.
func (m *Manager) Want(sets [][]string) {
	m.mu.Lock()
	m.want = nil
	m.byName = map[string]*tlsconf.Certificate{}
	for _, s := range sets {
		s = append([]string(nil), s...)
		for i := range s {
			s[i] = strings.ToLower(s[i])
		}
		m.want = append(m.want, s)
		k := setKey(s)
		if m.certs[k] == nil {
			if c, ps := tlsconf.LoadFile(m.fileName(s), m.now()); c != nil && coversAll(c, s) {
				m.certs[k] = c
			} else if len(ps) > 0 && !errors.Is(fileErr(m.fileName(s)), os.ErrNotExist) {
				m.log.Warn().Str("certificate", m.fileName(s)).Strs("problems", problemStrings(ps)).Msg("acme: stored certificate not usable; obtaining a new one")
			}
		}
		if c := m.certs[k]; c != nil {
			for _, n := range s {
				m.byName[n] = c
			}
		}
	}
	m.mu.Unlock()
	m.kick()
}

func fileErr(path string) error { _, err := os.Stat(path); return err }

func problemStrings(ps tlsconf.Problems) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func coversAll(c *tlsconf.Certificate, names []string) bool {
	for _, n := range names {
		if !slices.Contains(c.Names, n) {
			return false
		}
	}
	return true
}

func (m *Manager) kick() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Certificate returns the obtained certificate for a handshake's server
// name, or nil (tlsconf.BindOptions.Dynamic).
func (m *Manager) Certificate(hello *tls.ClientHelloInfo) *tls.Certificate {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.byName[name]; c != nil {
		return c.TLS
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if c := m.byName["*"+name[i:]]; c != nil {
			return c.TLS
		}
	}
	return nil
}

// Certificates lists the certificates obtained (lbctl cert list).
func (m *Manager) Certificates() []*tlsconf.Certificate {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*tlsconf.Certificate
	for _, s := range m.want {
		if c := m.certs[setKey(s)]; c != nil {
			out = append(out, c)
		}
	}
	return out
}

// HTTP01Prefix is the path of HTTP-01 validations (RFC 8555 §8.3).
const HTTP01Prefix = "/.well-known/acme-challenge/"

// HTTP01 answers an HTTP-01 validation request for path: the key
// authorization of the token in the path, for any token (see the package
// doc for why that is safe and what it gives a pair). ok is false for a
// path that is not a validation.
func (m *Manager) HTTP01(path string) (body string, ok bool) {
	token, found := strings.CutPrefix(path, HTTP01Prefix)
	if !found || !validToken(token) {
		return "", false
	}
	ka, err := m.client.HTTP01ChallengeResponse(token)
	if err != nil {
		return "", false
	}
	return ka, true
}

// validToken: base64url characters only (RFC 8555 §8.3), 16 to 256 long.
func validToken(t string) bool {
	if len(t) < 16 || len(t) > 256 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// TLSALPN01 answers a TLS-ALPN-01 validation handshake
// (tlsconf.Server.SetChallenge) for a name with a pending challenge.
func (m *Manager) TLSALPN01(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.alpn[strings.ToLower(hello.ServerName)]; c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("acme: no TLS-ALPN-01 challenge pending for %q", hello.ServerName)
}

// Run obtains missing certificates and renews expiring ones until ctx
// ends: at once, after every Want, and every hour. Failures are logged
// and retried at the next round.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		m.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-t.C:
		}
	}
}

// round obtains what is missing or due for renewal.
func (m *Manager) round(ctx context.Context) {
	m.mu.Lock()
	var due [][]string
	for _, s := range m.want {
		c := m.certs[setKey(s)]
		if c == nil || c.Leaf().NotAfter.Sub(m.now()) < m.cfg.RenewBefore {
			due = append(due, s)
		}
	}
	m.mu.Unlock()
	for _, s := range due {
		if ctx.Err() != nil {
			return
		}
		start := time.Now()
		err := m.Obtain(ctx, s)
		m.mu.Lock()
		m.lastErr[setKey(s)] = err
		m.mu.Unlock()
		if err != nil {
			m.log.Error().Err(err).Strs("names", s).Msg("acme: certificate not obtained; retrying within the hour")
			continue
		}
		m.log.Info().Strs("names", s).Dur("took", time.Since(start)).Str("file", m.fileName(s)).Msg("acme: certificate obtained")
	}
}

// register makes sure the account exists (RFC 8555 §7.3); an existing one
// is fine.
func (m *Manager) register(ctx context.Context) error {
	acct := &acme.Account{}
	if m.cfg.Email != "" {
		acct.Contact = []string{"mailto:" + m.cfg.Email}
	}
	_, err := m.client.Register(ctx, acct, acme.AcceptTOS)
	if err == nil || errors.Is(err, acme.ErrAccountAlreadyExists) {
		return nil
	}
	return fmt.Errorf("register: %w", err)
}

// Obtain orders a certificate for names, answers its validations, and
// stores and installs it.
func (m *Manager) Obtain(ctx context.Context, names []string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := m.register(ctx); err != nil {
		return err
	}
	order, err := m.client.AuthorizeOrder(ctx, acme.DomainIDs(names...))
	if err != nil {
		return fmt.Errorf("order: %w", err)
	}
	for _, u := range order.AuthzURLs {
		if err := m.authorize(ctx, u); err != nil {
			return err
		}
	}
	orderURL := order.URI // responses to POST-as-GET carry no Location: keep it
	if order, err = m.client.WaitOrder(ctx, orderURL); err != nil {
		return fmt.Errorf("order: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: names}, key)
	if err != nil {
		return err
	}
	ders, _, err := m.client.CreateOrderCert(ctx, order.FinalizeURL, csr, true)
	if err != nil {
		// A server that finalizes asynchronously without a Location header
		// (Pebble) leaves x/crypto/acme without the order's URL: wait on
		// the one we have, then fetch the certificate.
		o, werr := m.client.WaitOrder(ctx, orderURL)
		if werr != nil || o.CertURL == "" {
			return fmt.Errorf("finalize: %w", err)
		}
		if ders, err = m.client.FetchCert(ctx, o.CertURL, true); err != nil {
			return fmt.Errorf("fetch certificate: %w", err)
		}
	}
	var out []byte
	for _, d := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})...)
	path := m.fileName(names)
	if err := writeFile(path, out); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	c, ps := tlsconf.LoadFile(path, m.now())
	if c == nil {
		return fmt.Errorf("the certificate obtained does not load: %v", problemStrings(ps))
	}
	m.mu.Lock()
	m.certs[setKey(names)] = c
	for _, n := range names {
		m.byName[n] = c
	}
	m.mu.Unlock()
	return nil
}

// authorize completes one authorization with the preferred challenge.
func (m *Manager) authorize(ctx context.Context, url string) error {
	z, err := m.client.GetAuthorization(ctx, url)
	if err != nil {
		return fmt.Errorf("authorization: %w", err)
	}
	if z.Status == acme.StatusValid {
		return nil
	}
	var chal *acme.Challenge
	for _, typ := range m.cfg.Challenges {
		for _, c := range z.Challenges {
			if c.Type == typ {
				chal = c
				break
			}
		}
		if chal != nil {
			break
		}
	}
	if chal == nil {
		return fmt.Errorf("%s: the ACME server offers no challenge among %v", z.Identifier.Value, m.cfg.Challenges)
	}
	name := strings.ToLower(z.Identifier.Value)
	if chal.Type == "tls-alpn-01" {
		cert, err := m.client.TLSALPN01ChallengeCert(chal.Token, z.Identifier.Value)
		if err != nil {
			return err
		}
		m.mu.Lock()
		m.alpn[name] = &cert
		m.mu.Unlock()
		defer func() {
			m.mu.Lock()
			delete(m.alpn, name)
			m.mu.Unlock()
		}()
	}
	if _, err := m.client.Accept(ctx, chal); err != nil {
		return fmt.Errorf("%s: accept %s: %w", name, chal.Type, err)
	}
	if _, err := m.client.WaitAuthorization(ctx, z.URI); err != nil {
		return fmt.Errorf("%s: %s validation: %w", name, chal.Type, err)
	}
	return nil
}

// Status is one name set's state, for logs and lbctl.
type Status struct {
	Names    []string  `json:"names"`
	NotAfter time.Time `json:"not_after,omitzero"`
	Error    string    `json:"last_error,omitempty"`
}

// Statuses lists every name set wanted.
func (m *Manager) Statuses() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Status
	for _, s := range m.want {
		st := Status{Names: s}
		if c := m.certs[setKey(s)]; c != nil {
			st.NotAfter = c.Leaf().NotAfter
		}
		if err := m.lastErr[setKey(s)]; err != nil {
			st.Error = err.Error()
		}
		out = append(out, st)
	}
	return out
}
