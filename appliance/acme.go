package appliance

import (
	"context"
	"crypto/tls"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"lbd/acmeclient"
	"lbd/admin"
	"lbd/config"
	"lbd/proxy"
	"lbd/tlsconf"
)

// acmeState runs the ACME manager of the configuration in force: made at
// the first configuration with an acme block, kept across reloads that do
// not change the account or the storage, told the names to keep at every
// apply, stopped at shutdown. The proxy's hooks read the current manager,
// so that a reload that replaces it needs nothing from the proxy.
type acmeState struct {
	mu     sync.Mutex
	cur    atomic.Pointer[acmeclient.Manager]
	cfg    config.ACME
	cancel context.CancelFunc
	done   chan struct{}
}

// tlsEnv is the proxy's TLS environment: the sessions and the ACME hooks.
func (a *Appliance) tlsEnv() proxy.TLSEnv {
	st := &a.acme
	return proxy.TLSEnv{
		Sessions: a.sessions,
		ACMECert: func(h *tls.ClientHelloInfo) *tls.Certificate {
			if m := st.cur.Load(); m != nil {
				return m.Certificate(h)
			}
			return nil
		},
		ACMEChallenge: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if m := st.cur.Load(); m != nil {
				return m.TLSALPN01(h)
			}
			return nil, tlsconf.ErrNoCertificate
		},
		ACMEHTTP: func(path string) (string, bool) {
			if m := st.cur.Load(); m != nil {
				return m.HTTP01(path)
			}
			return "", false
		},
	}
}

// acmeSets are the name sets the frontends' tls blocks ask ACME for.
func acmeSets(cfg *config.Config) [][]string {
	var out [][]string
	for _, f := range cfg.Frontends {
		for _, t := range f.TLS {
			if len(t.ACME) > 0 {
				out = append(out, t.ACME)
			}
		}
	}
	return out
}

// applyACME starts, updates or stops the manager for cfg (after the rest
// of the configuration applied).
func (a *Appliance) applyACME(cfg *config.Config) {
	st := &a.acme
	st.mu.Lock()
	defer st.mu.Unlock()
	if cfg.ACME == nil {
		st.stopLocked()
		return
	}
	c := *cfg.ACME
	same := st.cur.Load() != nil && st.cfg.Directory == c.Directory && st.cfg.AccountKey == c.AccountKey &&
		st.cfg.Storage == c.Storage && st.cfg.CAFile == c.CAFile && st.cfg.Email == c.Email &&
		st.cfg.RenewBefore == c.RenewBefore && equalStrings(st.cfg.Challenges, c.Challenges)
	if !same {
		st.stopLocked()
		m, err := acmeclient.New(a.log.With().Str("component", "acme").Logger(), acmeclient.Config{
			Directory: c.Directory, Email: c.Email, AccountKey: c.AccountKey, Storage: c.Storage,
			CAFile: c.CAFile, RenewBefore: c.RenewBefore, Challenges: c.Challenges,
		})
		if err != nil {
			a.log.Error().Err(err).Msg("acme: not started; certificates will not be obtained")
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		st.cfg, st.cancel, st.done = c, cancel, make(chan struct{})
		st.cur.Store(m)
		m.Want(acmeSets(cfg))
		go func(done chan struct{}) {
			defer close(done)
			m.Run(ctx)
		}(st.done)
		return
	}
	st.cur.Load().Want(acmeSets(cfg))
}

func (st *acmeState) stopLocked() {
	if st.cancel != nil {
		st.cancel()
		<-st.done
		st.cancel = nil
	}
	st.cur.Store(nil)
}

func (st *acmeState) stop() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.stopLocked()
}

// acmeCertInfos describes the certificates obtained, with the binds that
// serve their names.
func (a *Appliance) acmeCertInfos(cfg *config.Config) []admin.CertInfo {
	m := a.acme.cur.Load()
	if m == nil {
		return nil
	}
	var out []admin.CertInfo
	for _, c := range m.Certificates() {
		var binds []string
		for _, f := range cfg.Frontends {
			for _, t := range f.TLS {
				if sameNames(t.ACME, c.Names) {
					for _, b := range t.Bind {
						binds = append(binds, f.Name+"/"+b)
					}
				}
			}
		}
		out = append(out, certInfo(c, binds, false, time.Now()))
	}
	return out
}

func equalStrings(a, b []string) bool { return slices.Equal(a, b) }

// sameNames compares name sets, case and order aside.
func sameNames(a, b []string) bool {
	x, y := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		x[i] = strings.ToLower(a[i])
	}
	for i := range b {
		y[i] = strings.ToLower(b[i])
	}
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
