package appliance

import (
	"crypto/x509"
	"time"

	"lbd/admin"
	"lbd/config"
	"lbd/tlsconf"
)

// The appliance is the admin API's TLS controller and the source of the
// certificate metrics.
var (
	_ admin.TLSController = (*Appliance)(nil)
	_ admin.CertSource    = (*Appliance)(nil)
)

// configureSessions applies the ticket settings of a configuration that
// was applied: a new secret file takes over, the old keys still open the
// tickets they made.
func (a *Appliance) configureSessions(cfg *config.Config) {
	t := cfg.Global.Tickets
	if err := a.sessions.Configure(t.SecretFile, t.Rotate, t.CacheSize, t.Lifetime); err != nil {
		a.log.Error().Err(err).Msg("tls: ticket secret not applied; the previous one stays in use")
	}
}

// Certificates lists the certificates of the running configuration with
// the binds serving each (lbctl cert list, /metrics).
func (a *Appliance) Certificates() []admin.CertInfo {
	a.mu.Lock()
	cfg := a.cfg
	a.mu.Unlock()
	if cfg == nil {
		return nil
	}
	return append(CertInfos(cfg, time.Now()), a.acmeCertInfos(cfg)...)
}

// CertInfos describes every certificate a configuration serves, merged by
// file: one entry per file with every bind that uses it.
func CertInfos(cfg *config.Config, now time.Time) []admin.CertInfo {
	var out []admin.CertInfo
	index := map[string]int{}
	for _, f := range cfg.Frontends {
		for _, t := range f.TLS {
			for i, c := range t.Options.Certs {
				var binds []string
				for _, b := range t.Bind {
					binds = append(binds, f.Name+"/"+b)
				}
				if k, ok := index[c.Path+"\x00"+c.Fingerprint()]; ok {
					out[k].Binds = append(out[k].Binds, binds...)
					out[k].Default = out[k].Default || i == 0
					continue
				}
				index[c.Path+"\x00"+c.Fingerprint()] = len(out)
				out = append(out, certInfo(c, binds, i == 0, now))
			}
		}
	}
	return out
}

func certInfo(c *tlsconf.Certificate, binds []string, def bool, now time.Time) admin.CertInfo {
	leaf := c.Leaf()
	return admin.CertInfo{
		Path: c.Path, Names: c.Names, SANs: sans(leaf), Subject: leaf.Subject.String(), Issuer: leaf.Issuer.String(),
		KeyType: c.KeyType, NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter,
		ExpiresIn: int64(leaf.NotAfter.Sub(now).Seconds()), Fingerprint: c.Fingerprint(), OCSP: c.OCSPNextUpdate,
		Binds: binds, Default: def,
	}
}

func sans(leaf *x509.Certificate) []string {
	out := append([]string(nil), leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

// TicketStatus describes the session ticket keys (lbctl tls tickets).
func (a *Appliance) TicketStatus() tlsconf.TicketStatus { return a.sessions.Status() }

// RotateTickets starts a new ticket secret (lbctl tls tickets rotate).
func (a *Appliance) RotateTickets() error { return a.sessions.Rotate() }

// logWarnings logs what `lbd -c` prints as warnings (a certificate close
// to its expiry), at every start and reload, where an operator who never
// runs lbd -c sees them.
func (a *Appliance) logWarnings(cfg *config.Config) {
	for _, w := range cfg.Warnings {
		a.log.Warn().Str("config", w.File).Int("line", w.Line).Msg(w.Message)
	}
}
