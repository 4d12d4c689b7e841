package config

import (
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"lbd/tlsconf"
)

// The TLS parts of the schema, with HAProxy's meanings: a frontend's tls
// block is one "bind ... ssl crt ..." line (its addresses terminate TLS),
// a backend's or server's tls block is "server ... ssl ...", and global
// holds the ssl-default-bind-* / ssl-default-server-* settings and the
// session ticket keys. Certificates, CA files and CRLs are read and
// checked when the file is loaded (as error files are), so that `lbd -c`
// and a reload refuse what would fail later, each problem at the line that
// names the file.

// TLSDefaults are HAProxy's ssl-default-bind-* (or -server-*) settings:
// what tls blocks inherit.
type TLSDefaults struct {
	// MinVersion and MaxVersion are "TLSv1.0".."TLSv1.3". Defaults
	// "TLSv1.2" and "TLSv1.3".
	MinVersion string
	MaxVersion string
	// Ciphers is an OpenSSL cipher string for TLS 1.2 and below.
	// Default: Mozilla intermediate's ECDHE AEAD suites.
	Ciphers string
	// Curves are the key-exchange groups. Default X25519MLKEM768, X25519,
	// P-256, P-384.
	Curves []string

	rng blockRanges
}

// BindTLS is a frontend's tls block: addresses that terminate TLS.
type BindTLS struct {
	// Bind lists "ip:port" addresses that terminate TLS (required).
	Bind []string
	// Crt lists PEM files (chain and key) or directories of them, as
	// HAProxy's crt. The first certificate loaded is the default.
	Crt []string
	// CrtList is an HAProxy crt-list file; "" for none.
	CrtList string
	// StrictSNI refuses handshakes whose server name matches no
	// certificate. Default false.
	StrictSNI bool
	// ALPN protocols advertised. Default ["h2", "http/1.1"] in http mode
	// (HTTP/2 for clients that offer it), none in tcp mode.
	ALPN []string
	// MinVersion, MaxVersion, Ciphers, Curves default to
	// global.ssl_default_bind.
	MinVersion string
	MaxVersion string
	Ciphers    string
	Curves     []string
	// Verify is the client certificate policy: none, optional, required.
	// Default "none".
	Verify string
	// CAFile verifies client certificates (required by optional/required).
	CAFile string
	// CRLFile holds CRLs for client certificates. Default "".
	CRLFile string
	// Tickets: stateless session tickets (true, the default) or the
	// stateful session cache (false, HAProxy's no-tls-tickets).
	Tickets bool
	// HandshakeTimeout bounds the TLS handshake. Default 10s.
	HandshakeTimeout time.Duration
	// HSTSMaxAge adds Strict-Transport-Security to responses (http); 0 off.
	HSTSMaxAge            time.Duration
	HSTSIncludeSubdomains bool
	HSTSPreload           bool
	// ClientCertHeaders passes client certificate facts to servers in
	// X-SSL-Client-* headers (http). Default false.
	ClientCertHeaders bool
	// ACME lists names of one certificate obtained by ACME for this bind
	// (needs the acme block). Default none.
	ACME []string

	// Options is the block resolved for tlsconf: defaults applied,
	// certificates, CA file and CRLs loaded.
	Options tlsconf.BindOptions

	rng        blockRanges
	bindRanges map[string]hcl.Range
}

// ServerTLS is TLS to servers: a backend's tls block (every server), with
// a server's own block overriding what it sets.
type ServerTLS struct {
	// Enabled is false in a server block that turns its backend's TLS off
	// (HAProxy's no-ssl). Default true.
	Enabled bool
	// Verify is "required" (default) or "none".
	Verify string
	// CAFile is the trust for the servers' certificates; "" = system roots.
	CAFile string
	// VerifyHost is the name the server's certificate must carry.
	VerifyHost string
	// SNI is the server name sent; SNIFromClient sends the client's.
	SNI           string
	SNIFromClient bool
	// Crt is a client certificate (PEM, chain and key) for mutual TLS.
	Crt string
	// ALPN protocols offered to the server. Default none.
	ALPN []string
	// MinVersion, MaxVersion, Ciphers, Curves default to
	// global.ssl_default_server.
	MinVersion string
	MaxVersion string
	Ciphers    string
	Curves     []string
	// Reuse resumes TLS sessions to the server. Default true.
	Reuse bool

	// Options is the block resolved for tlsconf.
	Options tlsconf.ClientOptions

	rng blockRanges
}

// Tickets are the session-resumption settings of global.
type Tickets struct {
	// SecretFile holds the secret ticket keys are derived from; the same
	// file on both nodes of a pair. "" = a random secret per process.
	SecretFile string
	// Rotate is the key period. Default 12h.
	Rotate time.Duration
	// CacheSize bounds the stateful session cache (tickets = false).
	// Default 20000 (HAProxy's tune.ssl.cachesize).
	CacheSize int
	// Lifetime of a cached session. Default 5m (tune.ssl.lifetime).
	Lifetime time.Duration
}

var tlsDefaultsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "min_version"}, {Name: "max_version"}, {Name: "ciphers"}, {Name: "curves"}},
}

func defaultTLSDefaults() TLSDefaults {
	return TLSDefaults{MinVersion: "TLSv1.2", MaxVersion: "TLSv1.3", Ciphers: tlsconf.DefaultCiphers,
		Curves: append([]string(nil), tlsconf.DefaultCurves...)}
}

func defaultTickets() Tickets {
	return Tickets{Rotate: tlsconf.DefaultTicketPeriod, CacheSize: tlsconf.DefaultCacheSize, Lifetime: tlsconf.DefaultSessionLifetime}
}

// decodeGlobalTLS reads global's TLS attributes and blocks.
func (d *decoder) decodeGlobalTLS(b body, blocks hcl.Blocks, g *Global, dir string) {
	b.str("tls_ticket_secret", &g.Tickets.SecretFile)
	if g.Tickets.SecretFile != "" {
		g.Tickets.SecretFile = absPath(dir, g.Tickets.SecretFile)
		if _, err := tlsconf.ReadSecret(g.Tickets.SecretFile); err != nil {
			d.errorf(b.rng.at("tls_ticket_secret"), "tls_ticket_secret: %v", err)
		}
	}
	b.duration("tls_ticket_rotate", &g.Tickets.Rotate, time.Minute, 30*24*time.Hour)
	b.integer("tls_session_cache", &g.Tickets.CacheSize, 0, 10_000_000)
	b.duration("tls_session_lifetime", &g.Tickets.Lifetime, time.Second, 7*24*time.Hour)
	if blk := d.single(blocks, "ssl_default_bind"); blk != nil {
		d.decodeTLSDefaults(blk, &g.SSLDefaultBind)
	}
	if blk := d.single(blocks, "ssl_default_server"); blk != nil {
		d.decodeTLSDefaults(blk, &g.SSLDefaultServer)
	}
	d.tlsBind, d.tlsServer = g.SSLDefaultBind, g.SSLDefaultServer
}

func (d *decoder) decodeTLSDefaults(blk *hcl.Block, t *TLSDefaults) {
	b := d.body(d.content(blk, tlsDefaultsSchema), blk.DefRange, &t.rng)
	b.str("min_version", &t.MinVersion)
	b.str("max_version", &t.MaxVersion)
	b.str("ciphers", &t.Ciphers)
	b.strList("curves", &t.Curves)
	// Checked here, where they are written; tls blocks check their own.
	var lo, hi uint16
	d.tlsVersions(b, t.MinVersion, t.MaxVersion, &lo, &hi)
	d.tlsCiphers(b, t.Ciphers)
	d.tlsCurves(b, t.Curves)
}

// tlsVersions checks min_version/max_version as written in b.
func (d *decoder) tlsVersions(b body, minV, maxV string, lo, hi *uint16) bool {
	var err error
	ok := true
	if *lo, err = tlsconf.ParseVersion(minV); err != nil {
		d.errorf(b.rng.at("min_version"), "min_version: %v", err)
		ok = false
	}
	if *hi, err = tlsconf.ParseVersion(maxV); err != nil {
		d.errorf(b.rng.at("max_version"), "max_version: %v", err)
		ok = false
	}
	if ok && *lo > *hi {
		d.errorf(b.rng.at("min_version"), "min_version %s is above max_version %s", minV, maxV)
		return false
	}
	if ok && *lo < tls.VersionTLS12 {
		d.warnf(b.rng.at("min_version"), "min_version %s: TLS 1.0 and 1.1 are deprecated (RFC 8996)", minV)
	}
	return ok
}

func (d *decoder) tlsCiphers(b body, s string) []uint16 {
	ids, warns, err := tlsconf.ParseCiphers(s)
	if err != nil {
		d.errorf(b.rng.at("ciphers"), "ciphers: %v", err)
		return nil
	}
	for _, w := range warns {
		d.warnf(b.rng.at("ciphers"), "ciphers: %s", w)
	}
	if weak := tlsconf.InsecureSuites(ids); len(weak) > 0 && b.has("ciphers") {
		d.warnf(b.rng.at("ciphers"), "ciphers: %s are not AEAD or lack forward secrecy", strings.Join(weak, ", "))
	}
	return ids
}

func (d *decoder) tlsCurves(b body, names []string) []tls.CurveID {
	var out []tls.CurveID
	for i, n := range names {
		c, err := tlsconf.ParseCurve(n)
		if err != nil {
			d.errorf(b.elemRange("curves", i), "curves: %v", err)
			continue
		}
		out = append(out, c)
	}
	if b.has("curves") && len(names) == 0 {
		d.errorf(b.rng.at("curves"), "curves: at least one group is required")
	}
	return out
}

// tlsAlgorithms resolves versions, ciphers and curves of a tls block:
// what the block writes is checked where it is written; what it inherits
// was checked where that is written (global), and is only converted.
func (d *decoder) tlsAlgorithms(b body, minV, maxV, ciphers string, curves []string,
	lo, hi *uint16, ids *[]uint16, cs *[]tls.CurveID) {
	quiet := body{d: &decoder{}, attrs: b.attrs, rng: b.rng}
	vb := quiet
	if b.has("min_version") || b.has("max_version") {
		vb = b
	}
	vb.d.tlsVersions(vb, minV, maxV, lo, hi)
	cb := quiet
	if b.has("ciphers") {
		cb = b
	}
	if x := cb.d.tlsCiphers(cb, ciphers); x != nil {
		*ids = x
	}
	kb := quiet
	if b.has("curves") {
		kb = b
	}
	if x := kb.d.tlsCurves(kb, curves); x != nil {
		*cs = x
	}
}

var bindTLSSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "bind", Required: true}, {Name: "crt"}, {Name: "crt_list"}, {Name: "strict_sni"},
		{Name: "alpn"}, {Name: "min_version"}, {Name: "max_version"}, {Name: "ciphers"}, {Name: "curves"},
		{Name: "verify"}, {Name: "ca_file"}, {Name: "crl_file"}, {Name: "tickets"},
		{Name: "handshake_timeout"}, {Name: "hsts_max_age"}, {Name: "hsts_include_subdomains"},
		{Name: "hsts_preload"}, {Name: "client_cert_headers"}, {Name: "acme"},
	},
}

// decodeBindTLS reads a frontend's tls block.
func (d *decoder) decodeBindTLS(blk *hcl.Block, mode Mode, dir string) *BindTLS {
	def := d.tlsBind
	t := &BindTLS{MinVersion: def.MinVersion, MaxVersion: def.MaxVersion, Ciphers: def.Ciphers,
		Curves: def.Curves, Verify: "none", Tickets: true, HandshakeTimeout: 10 * time.Second}
	if mode == ModeHTTP {
		t.ALPN = []string{"h2", "http/1.1"} // HAProxy's alpn h2,http/1.1
	}
	b := d.body(d.content(blk, bindTLSSchema), blk.DefRange, &t.rng)
	var binds []string
	b.strList("bind", &binds)
	if b.has("bind") && binds != nil && len(binds) == 0 {
		d.errorf(t.rng.at("bind"), "bind: at least one address is required")
	}
	t.bindRanges = map[string]hcl.Range{}
	for i, s := range binds {
		ap, err := ParseBind(s)
		if err != nil {
			d.errorf(b.elemRange("bind", i), "bind: %v", err)
			continue
		}
		t.Bind = append(t.Bind, ap.String())
		t.bindRanges[ap.String()] = b.elemRange("bind", i)
	}
	b.strList("crt", &t.Crt)
	b.str("crt_list", &t.CrtList)
	b.boolean("strict_sni", &t.StrictSNI)
	b.strList("alpn", &t.ALPN)
	b.str("min_version", &t.MinVersion)
	b.str("max_version", &t.MaxVersion)
	b.str("ciphers", &t.Ciphers)
	b.strList("curves", &t.Curves)
	b.str("verify", &t.Verify)
	b.oneOf("verify", t.Verify, "none", "optional", "required")
	b.str("ca_file", &t.CAFile)
	b.str("crl_file", &t.CRLFile)
	b.boolean("tickets", &t.Tickets)
	b.duration("handshake_timeout", &t.HandshakeTimeout, 10*time.Millisecond, time.Hour)
	b.duration("hsts_max_age", &t.HSTSMaxAge, 0, 2*365*24*time.Hour)
	b.boolean("hsts_include_subdomains", &t.HSTSIncludeSubdomains)
	b.boolean("hsts_preload", &t.HSTSPreload)
	b.boolean("client_cert_headers", &t.ClientCertHeaders)
	b.strList("acme", &t.ACME)
	d.checkACMENames(b, t.ACME)

	o := tlsconf.DefaultBind()
	o.StrictSNI, o.Tickets, o.Verify = t.StrictSNI, t.Tickets, t.Verify
	alpn, err := tlsconf.ParseALPN(t.ALPN, mode == ModeHTTP)
	if err != nil {
		d.errorf(t.rng.at("alpn"), "alpn: %v", err)
	}
	o.ALPN = alpn
	d.tlsAlgorithms(b, t.MinVersion, t.MaxVersion, t.Ciphers, t.Curves, &o.MinVersion, &o.MaxVersion, &o.Ciphers, &o.Curves)
	if mode == ModeTCP {
		for _, a := range []string{"hsts_max_age", "hsts_include_subdomains", "hsts_preload", "client_cert_headers"} {
			if b.has(a) {
				d.errorf(t.rng.at(a), "%s needs mode = \"http\" (this frontend is tcp)", a)
			}
		}
	}
	for _, a := range []struct {
		name string
		on   bool
	}{{"hsts_include_subdomains", t.HSTSIncludeSubdomains}, {"hsts_preload", t.HSTSPreload}} {
		if a.on && t.HSTSMaxAge == 0 {
			d.errorf(t.rng.at(a.name), "%s needs hsts_max_age (the header is only sent with it)", a.name)
		}
	}
	if t.ClientCertHeaders && t.Verify == "none" {
		d.errorf(t.rng.at("client_cert_headers"), "client_cert_headers: verify = \"none\" asks clients for no certificate")
	}
	d.loadClientAuth(b, t, &o, dir)
	d.loadBindCerts(b, t, &o, mode, dir)
	t.Options = o
	return t
}

// loadClientAuth loads the CA file and CRLs of client certificate checks.
func (d *decoder) loadClientAuth(b body, t *BindTLS, o *tlsconf.BindOptions, dir string) {
	now := time.Now()
	if (t.Verify == "optional" || t.Verify == "required") && t.CAFile == "" {
		d.errorf(t.rng.at("verify"), "verify %q needs ca_file (the CAs client certificates are checked against)", t.Verify)
	}
	if t.CAFile != "" {
		t.CAFile = absPath(dir, t.CAFile)
		pool, err := tlsconf.PoolFromFile(t.CAFile)
		if err != nil {
			d.errorf(t.rng.at("ca_file"), "ca_file: %v", err)
		}
		o.ClientCAs = pool
		if t.Verify == "none" {
			d.errorf(t.rng.at("ca_file"), "ca_file: verify = \"none\" checks no client certificate; set verify")
		}
	}
	if t.CRLFile != "" {
		t.CRLFile = absPath(dir, t.CRLFile)
		set, ps := tlsconf.LoadCRLs(t.CRLFile, now)
		d.problems(t.rng.at("crl_file"), "crl_file", ps)
		o.CRLs = set
		if t.Verify == "none" {
			d.errorf(t.rng.at("crl_file"), "crl_file: verify = \"none\" checks no client certificate; set verify")
		}
	}
}

// loadBindCerts loads crt and crt_list and checks each certificate.
func (d *decoder) loadBindCerts(b body, t *BindTLS, o *tlsconf.BindOptions, mode Mode, dir string) {
	now := time.Now()
	for i, p := range t.Crt {
		if p == "" {
			d.errorf(b.elemRange("crt", i), "crt: a path is required")
			continue
		}
		t.Crt[i] = absPath(dir, p)
		certs, ps := tlsconf.LoadCrt(t.Crt[i], now)
		d.problems(b.elemRange("crt", i), "crt", ps)
		o.Certs = append(o.Certs, certs...)
	}
	if t.CrtList != "" {
		t.CrtList = absPath(dir, t.CrtList)
		certs, ps := tlsconf.LoadCrtList(t.CrtList, dir, now)
		d.problems(t.rng.at("crt_list"), "crt_list", ps)
		for _, c := range certs {
			if c.Options != nil && mode == ModeHTTP {
				if _, err := tlsconf.ParseALPN(c.Options.ALPN, true); err != nil {
					d.errorf(t.rng.at("crt_list"), "crt_list: %s: alpn: %v", c.Path, err)
				}
			}
		}
		o.Certs = append(o.Certs, certs...)
	}
	if !b.has("crt") && !b.has("crt_list") && len(t.ACME) == 0 {
		d.errorf(t.rng.block, "tls: crt, crt_list or acme is required (the certificates to serve)")
	}
}

// problems reports what tlsconf found in a file, at the attribute naming it.
func (d *decoder) problems(rng hcl.Range, attr string, ps tlsconf.Problems) {
	for _, p := range ps {
		if p.Warning {
			d.warnf(rng, "%s: %s", attr, p.Message)
		} else {
			d.errorf(rng, "%s: %s", attr, p.Message)
		}
	}
}

var serverTLSSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "enabled"}, {Name: "verify"}, {Name: "ca_file"}, {Name: "verify_host"}, {Name: "sni"},
		{Name: "sni_from_client"}, {Name: "crt"}, {Name: "alpn"}, {Name: "min_version"}, {Name: "max_version"},
		{Name: "ciphers"}, {Name: "curves"}, {Name: "reuse"},
	},
}

// defaultServerTLS is a backend tls block that sets nothing.
func (d *decoder) defaultServerTLS() *ServerTLS {
	def := d.tlsServer
	return &ServerTLS{Enabled: true, Verify: "required", MinVersion: def.MinVersion, MaxVersion: def.MaxVersion,
		Ciphers: def.Ciphers, Curves: def.Curves, Reuse: true}
}

// decodeServerTLS reads a tls block of a backend (over the defaults) or a
// server (over its backend's block, copied into t).
func (d *decoder) decodeServerTLS(blk *hcl.Block, t *ServerTLS, inServer bool, dir string) {
	b := d.body(d.content(blk, serverTLSSchema), blk.DefRange, &t.rng)
	b.boolean("enabled", &t.Enabled)
	if !inServer && b.has("enabled") {
		d.errorf(t.rng.at("enabled"), "enabled: only in a server's tls block (to turn its backend's TLS off); remove the backend's tls block instead")
	}
	b.str("verify", &t.Verify)
	b.oneOf("verify", t.Verify, "none", "required")
	b.str("ca_file", &t.CAFile)
	b.str("verify_host", &t.VerifyHost)
	b.str("sni", &t.SNI)
	b.boolean("sni_from_client", &t.SNIFromClient)
	b.str("crt", &t.Crt)
	b.strList("alpn", &t.ALPN)
	b.str("min_version", &t.MinVersion)
	b.str("max_version", &t.MaxVersion)
	b.str("ciphers", &t.Ciphers)
	b.strList("curves", &t.Curves)
	b.boolean("reuse", &t.Reuse)
	if t.SNI != "" && t.SNIFromClient {
		d.errorf(t.rng.at("sni_from_client"), "sni_from_client: sni already sets a fixed name")
	}
	for _, n := range []struct{ attr, v string }{{"sni", t.SNI}, {"verify_host", t.VerifyHost}} {
		if n.v != "" && (strings.ContainsAny(n.v, " /:") || net.ParseIP(n.v) != nil) {
			d.errorf(t.rng.at(n.attr), "%s: %q is not a host name", n.attr, n.v)
		}
	}
	if t.Verify == "none" && (b.has("ca_file") || b.has("verify_host")) {
		d.errorf(t.rng.at("verify"), "verify = \"none\" checks nothing: ca_file and verify_host would be unused")
	}
	d.resolveServerTLS(b, t, dir)
}

// resolveServerTLS fills t.Options, loading the files it names.
func (d *decoder) resolveServerTLS(b body, t *ServerTLS, dir string) {
	o := tlsconf.DefaultClient()
	o.Verify, o.VerifyHost, o.SNI, o.SNIFromClient, o.Reuse = t.Verify == "required", t.VerifyHost, t.SNI, t.SNIFromClient, t.Reuse
	alpn, err := tlsconf.ParseALPN(t.ALPN, false)
	if err != nil {
		d.errorf(t.rng.at("alpn"), "alpn: %v", err)
	}
	o.ALPN = alpn
	d.tlsAlgorithms(b, t.MinVersion, t.MaxVersion, t.Ciphers, t.Curves, &o.MinVersion, &o.MaxVersion, &o.Ciphers, &o.Curves)
	if t.CAFile != "" {
		t.CAFile = absPath(dir, t.CAFile)
		pool, err := tlsconf.PoolFromFile(t.CAFile)
		if err != nil {
			d.errorf(t.rng.at("ca_file"), "ca_file: %v", err)
		}
		o.RootCAs = pool
	}
	if t.Crt != "" {
		t.Crt = absPath(dir, t.Crt)
		c, ps := tlsconf.LoadFile(t.Crt, time.Now())
		d.problems(t.rng.at("crt"), "crt", ps)
		if c != nil {
			o.Cert = c.TLS
		}
	}
	t.Options = o
}

// copy returns a server's starting point: its backend's block.
func (t *ServerTLS) copy() *ServerTLS {
	c := *t
	c.ALPN = append([]string(nil), t.ALPN...)
	c.Curves = append([]string(nil), t.Curves...)
	return &c
}

// absPath resolves p against the configuration file's directory.
func absPath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// ACME configures certificates obtained and renewed automatically from an
// ACME server (RFC 8555) for the names of frontends' tls blocks.
type ACME struct {
	// Directory is the ACME server's directory URL. Required.
	Directory string
	// Email is the account's contact. Default "".
	Email string
	// AccountKey is the account's key (PEM), created when missing. The
	// same file on both nodes of a pair lets either node answer the
	// other's HTTP-01 validations. Default "/var/lib/lbd/acme/account.key".
	AccountKey string
	// Storage is the directory of the certificates obtained. Default
	// "/var/lib/lbd/acme".
	Storage string
	// CAFile is the trust for the directory's HTTPS; "" = system roots.
	CAFile string
	// RenewBefore renews a certificate that long before it expires.
	// Default 720h (30 days).
	RenewBefore time.Duration
	// Challenges in order of preference: "http-01", "tls-alpn-01".
	// Default both, http-01 first.
	Challenges []string

	rng blockRanges
}

var acmeSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "directory", Required: true}, {Name: "email"}, {Name: "account_key"}, {Name: "storage"},
		{Name: "ca_file"}, {Name: "renew_before"}, {Name: "challenges"},
	},
}

func (d *decoder) decodeACME(blk *hcl.Block) *ACME {
	a := &ACME{AccountKey: "/var/lib/lbd/acme/account.key", Storage: "/var/lib/lbd/acme",
		RenewBefore: 30 * 24 * time.Hour, Challenges: []string{"http-01", "tls-alpn-01"}}
	b := d.body(d.content(blk, acmeSchema), blk.DefRange, &a.rng)
	b.str("directory", &a.Directory)
	if b.has("directory") && !strings.HasPrefix(a.Directory, "https://") {
		d.errorf(a.rng.at("directory"), "directory: %q is not an https:// URL", a.Directory)
	}
	b.str("email", &a.Email)
	if a.Email != "" && (!strings.Contains(a.Email, "@") || strings.ContainsAny(a.Email, " <>")) {
		d.errorf(a.rng.at("email"), "email: %q is not an e-mail address", a.Email)
	}
	b.str("account_key", &a.AccountKey)
	a.AccountKey = absPath(d.dir, a.AccountKey)
	b.str("storage", &a.Storage)
	a.Storage = absPath(d.dir, a.Storage)
	b.str("ca_file", &a.CAFile)
	if a.CAFile != "" {
		a.CAFile = absPath(d.dir, a.CAFile)
		if _, err := tlsconf.PoolFromFile(a.CAFile); err != nil {
			d.errorf(a.rng.at("ca_file"), "ca_file: %v", err)
		}
	}
	b.duration("renew_before", &a.RenewBefore, time.Hour, 60*24*time.Hour)
	b.strList("challenges", &a.Challenges)
	if b.has("challenges") && len(a.Challenges) == 0 {
		d.errorf(a.rng.at("challenges"), "challenges: at least one is required")
	}
	for i, c := range a.Challenges {
		if c != "http-01" && c != "tls-alpn-01" {
			d.errorf(b.elemRange("challenges", i), "challenges: %q is not \"http-01\" or \"tls-alpn-01\"", c)
		}
	}
	return a
}

// checkACMENames checks a tls block's acme names.
func (d *decoder) checkACMENames(b body, names []string) {
	if len(names) > 0 && d.acme == nil {
		d.errorf(b.rng.at("acme"), "acme: names to obtain by ACME need an acme block (the ACME server to ask)")
	}
	for i, n := range names {
		switch {
		case strings.HasPrefix(n, "*."):
			d.errorf(b.elemRange("acme", i), "acme: %q: wildcard certificates need DNS-01 validation, which lbd does not do", n)
		case net.ParseIP(n) != nil || !validDNSName(n):
			d.errorf(b.elemRange("acme", i), "acme: %q is not a DNS name", n)
		}
	}
}

func validDNSName(n string) bool {
	if n == "" || len(n) > 253 || !strings.Contains(n, ".") {
		return false
	}
	for _, l := range strings.Split(n, ".") {
		if l == "" || len(l) > 63 || strings.Trim(strings.ToLower(l), "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return false
		}
	}
	return true
}

// decodeRouteSNI reads a route's sni names.
func (d *decoder) decodeRouteSNI(b body, r *Route) {
	b.strList("sni", &r.SNI)
	if b.has("sni") && r.SNI != nil && len(r.SNI) == 0 {
		d.errorf(r.rng.at("sni"), "sni: at least one name is required")
	}
	for i, n := range r.SNI {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if !validDNSName(strings.TrimPrefix(n, "*.")) {
			d.errorf(b.elemRange("sni", i), "sni: %q is not a server name (a host name, or *.domain)", r.SNI[i])
		}
		r.SNI[i] = n
	}
}

// checkSNIRoutes: a tcp frontend routes by server name only (reading the
// ClientHello), an http frontend by host and path only.
func (d *decoder) checkSNIRoutes(f *Frontend) {
	for _, r := range f.Routes {
		switch {
		case f.Mode == ModeTCP && (len(r.Host) > 0 || len(r.PathPrefix) > 0):
			d.errorf(r.rng.block, "frontend %q: route %q: host and path_prefix need mode = \"http\"; a tcp frontend routes by sni", f.Name, r.Name)
		case f.Mode == ModeTCP && len(r.SNI) == 0:
			d.errorf(r.rng.block, "frontend %q: route %q: a tcp route needs sni (the TLS server names it takes)", f.Name, r.Name)
		case f.Mode == ModeHTTP && len(r.SNI) > 0:
			d.errorf(r.rng.at("sni"), "frontend %q: route %q: sni routes tcp frontends; an http frontend routes by host", f.Name, r.Name)
		}
	}
}

// decodeRedirect reads redirect_https.
func (d *decoder) decodeRedirect(b body, f *Frontend) {
	b.integer("redirect_https", &f.RedirectHTTPS, 0, 999)
	switch f.RedirectHTTPS {
	case 0, 301, 302, 303, 307, 308:
	default:
		d.errorf(f.rng.at("redirect_https"), "redirect_https: %d is not 301, 302, 303, 307 or 308 (0: off)", f.RedirectHTTPS)
	}
	if f.RedirectHTTPS != 0 && f.Mode == ModeTCP {
		d.errorf(f.rng.at("redirect_https"), "frontend %q: redirect_https needs mode = \"http\" (this frontend is tcp)", f.Name)
	}
}
