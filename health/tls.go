package health

import (
	"context"
	"errors"
	"io"
	"time"

	"lbd/config"
	"lbd/tlsconf"
)

// TLS checks (HAProxy's check-ssl, and the checks of servers reached with
// ssl): the connection is made, the TLS handshake completed with the
// server's TLS settings (CA file, verify, SNI, client certificate), then
// the check's exchange runs over TLS as it runs over TCP.
//
// They run on a goroutine each rather than in the engine's event loop:
// crypto/tls drives a handshake with blocking reads and writes and cannot
// be resumed from a non-blocking loop, and a handshake costs far more CPU
// (signatures, key exchange) than the goroutine, timer and wake-ups the
// loop saves for plain checks.

// HAProxy's layer-6 (SSL) check codes.
const (
	codeL6OK   = "L6OK"   // handshake succeeded (tcp check over TLS)
	codeL6TOUT = "L6TOUT" // handshake timed out
	codeL6RSP  = "L6RSP"  // handshake failed (protocol error, certificate refused)
)

func init() {
	codeDesc[codeL6OK] = "Layer6 check passed"
	codeDesc[codeL6TOUT] = "Layer6 timeout"
	codeDesc[codeL6RSP] = "Layer6 invalid response"
}

// checkTLS returns the TLS settings a server's checks use: the server's
// own unless the check turns TLS off (tls = false), defaults when the
// check asks for TLS (tls = true) to a server reached in clear; nil for a
// plain check.
func checkTLS(hc *config.HealthCheck, sc *config.Server) *tlsconf.ClientOptions {
	switch {
	case hc.TLS != nil && !*hc.TLS:
		return nil
	case sc.TLS != nil:
		o := sc.TLS.Options
		return &o
	case hc.TLS != nil:
		o := tlsconf.DefaultClient()
		return &o
	}
	return nil
}

// tlsProber runs a server's checks over TLS.
type tlsProber struct {
	*netProber
	cl  *tlsconf.Client
	sni string // for a server whose SNI comes from clients: the check's host
}

// newProber is the pool's prober factory: TLS or plain.
func newProber(hc *config.HealthCheck, sc *config.Server) prober {
	np := newNetProber(hc, sc)
	o := checkTLS(hc, sc)
	if usesH2(hc, sc) { // h2.go
		var cl *tlsconf.Client
		if o != nil {
			cl = tlsconf.NewClient(*o)
		}
		return newH2Prober(np, hc, sc, cl)
	}
	if o == nil {
		return np
	}
	if hc.Type == "tcp" {
		np.typ = "tls" // the handshake is the check
	}
	return &tlsProber{netProber: np, cl: tlsconf.NewClient(*o), sni: hc.Host}
}

// usesTLS reports whether a server's checks run over TLS (a reload that
// keeps such a checker rebuilds it, so that new CA or certificate files
// apply).
func usesTLS(hc *config.HealthCheck, sc *config.Server) bool { return checkTLS(hc, sc) != nil }

func (p *tlsProber) start(ctx context.Context, track func(io.Closer) bool, done func(result)) (result, bool) {
	go func() { done(p.run(ctx, track)) }()
	return result{}, false
}

func (p *tlsProber) run(ctx context.Context, track func(io.Closer) bool) result {
	deadline := time.Now().Add(p.timeout)
	t, err := p.dialTarget(ctx, deadline)
	if err != nil {
		return targetFailure(err)
	}
	c, r := connect(ctx, t, deadline, track)
	if c == nil {
		return r
	}
	c.SetDeadline(deadline)
	if p.proxyV != 0 {
		// The PROXY header comes before the TLS handshake.
		out := p.connProxyOut(c)
		if _, err := c.Write(out[:len(out)-len(p.send)]); err != nil {
			c.Close()
			return p.x.sendError(err)
		}
	}
	tc, err := p.cl.Handshake(c, p.sni)
	if err != nil {
		c.Close()
		if errors.Is(err, errCheckStopped) || isTimeout(err) {
			return failed(codeL6TOUT, "")
		}
		return failed(codeL6RSP, errText(err))
	}
	defer tc.Close()
	if p.typ == "tls" {
		return pass(codeL6OK, "")
	}
	return p.converse(tc, deadline, false)
}
