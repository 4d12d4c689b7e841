package proxy

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
	"time"

	"lbd/config"
	"lbd/tlsconf"
)

// TLSEnv is what the engine needs from outside to serve TLS: the session
// ticket keys and cache shared by every bind, and the ACME hooks (nil
// without an acme block).
type TLSEnv struct {
	Sessions *tlsconf.Sessions
	// ACMECert serves certificates obtained by ACME (tls.acme names).
	ACMECert func(*tls.ClientHelloInfo) *tls.Certificate
	// ACMEChallenge answers TLS-ALPN-01 validations.
	ACMEChallenge func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// ACMEHTTP answers HTTP-01 validations on plain http binds: the body
	// for a request path, ok false when the path is not a validation.
	ACMEHTTP func(path string) (body string, ok bool)
}

// SetTLS gives the engine its TLS environment; call it before the first
// Apply. Without it, TLS binds get a session cache of their own.
func (e *Engine) SetTLS(env TLSEnv) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if env.Sessions == nil {
		env.Sessions = tlsconf.NewSessions()
	}
	e.tlsEnv = &env
}

// frontendTLS is a frontend's TLS: the binds that terminate it, the SNI
// routes of tcp frontends (passthrough when the bind does not terminate).
type frontendTLS struct {
	binds  map[string]*tlsBind // by address
	routes []sniRoute
}

// tlsBind is one address that terminates TLS.
type tlsBind struct {
	srv     *tlsconf.Server
	timeout time.Duration // handshake
	hsts    string        // "Strict-Transport-Security: ...\r\n", or ""
	certHdr bool          // X-SSL-Client-* to servers
}

// sniRoute sends tcp connections whose ClientHello names one of names
// (exact, or "*.example.com" one label deep) to be.
type sniRoute struct {
	name  string
	names []string
	be    *backend
}

func (r *sniRoute) match(sni string) bool {
	for _, n := range r.names {
		if n == sni {
			return true
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			if i := strings.IndexByte(sni, '.'); i > 0 && sni[i+1:] == rest {
				return true
			}
		}
	}
	return false
}

// tlsAddrs are a frontend's addresses: plain and TLS.
func tlsAddrs(fc *config.Frontend) []string {
	out := append([]string(nil), fc.Bind...)
	for _, t := range fc.TLS {
		out = append(out, t.Bind...)
	}
	return out
}

// buildTLS makes a frontend's TLS side; nil when it has none.
func (e *Engine) buildTLS(fc *config.Frontend, backends map[string]*backend) (*frontendTLS, error) {
	var sni []sniRoute
	for _, rc := range fc.Routes {
		if len(rc.SNI) == 0 || fc.Mode != config.ModeTCP {
			continue
		}
		be := backends[rc.Backend]
		if be == nil {
			return nil, fmt.Errorf("proxy: frontend %q route %q: unknown backend %q", fc.Name, rc.Name, rc.Backend)
		}
		sni = append(sni, sniRoute{name: rc.Name, names: rc.SNI, be: be})
	}
	if len(fc.TLS) == 0 && len(sni) == 0 {
		return nil, nil
	}
	env := e.tlsEnv
	if env == nil {
		env = &TLSEnv{Sessions: tlsconf.NewSessions()}
		e.tlsEnv = env
	}
	ft := &frontendTLS{binds: map[string]*tlsBind{}, routes: sni}
	for _, t := range fc.TLS {
		o := t.Options
		if len(t.ACME) > 0 && env.ACMECert != nil {
			o.Dynamic = env.ACMECert
		}
		srv, err := tlsconf.NewServer(o, env.Sessions)
		if err != nil {
			return nil, fmt.Errorf("proxy: frontend %q: tls %v: %w", fc.Name, t.Bind, err)
		}
		if env.ACMEChallenge != nil {
			srv.SetChallenge(env.ACMEChallenge)
		}
		b := &tlsBind{srv: srv, timeout: t.HandshakeTimeout, certHdr: t.ClientCertHeaders}
		if t.HSTSMaxAge > 0 {
			v := "Strict-Transport-Security: max-age=" + strconv.FormatInt(int64(t.HSTSMaxAge/time.Second), 10)
			if t.HSTSIncludeSubdomains {
				v += "; includeSubDomains"
			}
			if t.HSTSPreload {
				v += "; preload"
			}
			b.hsts = v + "\r\n"
		}
		for _, a := range t.Bind {
			ft.binds[a] = b
		}
	}
	return ft, nil
}

// bindTLS returns the TLS of a listener's address under fe, nil in clear.
func (fe *frontend) bindTLS(addr string) *tlsBind {
	if fe.tls == nil {
		return nil
	}
	return fe.tls.binds[addr]
}
