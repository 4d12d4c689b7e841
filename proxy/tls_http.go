package proxy

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"

	"lbd/acmeclient"
	"lbd/config"
	"lbd/h1"
	"lbd/tlsconf"
)

// What TLS changes in the HTTP path:
//
//   - X-Forwarded-Proto says https on a TLS bind (forward_for);
//   - with client_cert_headers, the X-SSL-Client-* fields (HAProxy's
//     ssl_c_* conventions) carry the client certificate to the server, and
//     fields of those names sent by the client are dropped, so that no
//     client can claim a certificate it did not present;
//   - with hsts_max_age, responses over TLS carry Strict-Transport-Security
//     (RFC 6797 §6.1; the server's own field is replaced);
//   - on plain binds, ACME HTTP-01 validations are answered (RFC 8555
//     §8.3), and with redirect_https requests are redirected to https.

// tlsBindOf returns the TLS bind the connection came through, nil in clear.
func (s *session) tlsBindOf() *tlsBind {
	if t := s.cli.sys.tls; t != nil {
		return t.bind
	}
	return nil
}

// forwardedProto is the X-Forwarded-Proto field lbd adds.
func (s *session) forwardedProto() string {
	if s.cli.isTLS() {
		return "X-Forwarded-Proto: https\r\n"
	}
	return "X-Forwarded-Proto: http\r\n"
}

// stripsClientCertFields reports whether the request's X-SSL-* fields
// are replaced by lbd's.
func (s *session) stripsClientCertFields() bool {
	b := s.tlsBindOf()
	return b != nil && b.certHdr
}

// clientCertFields are tlsconf.ClientCertHeaders in lower case, as
// h1.EqFold compares.
var clientCertFields = func() []string {
	out := make([]string, len(tlsconf.ClientCertHeaders))
	for i, n := range tlsconf.ClientCertHeaders {
		out[i] = strings.ToLower(n)
	}
	return out
}()

// isClientCertField reports whether a field name is one lbd owns with
// client_cert_headers.
func isClientCertField(name []byte) bool {
	if len(name) < 5 || !h1.EqFold(name[:5], "x-ssl") {
		return false
	}
	for _, n := range clientCertFields {
		if h1.EqFold(name, n) {
			return true
		}
	}
	return false
}

// appendTLSRequestFields adds the client certificate fields.
func (s *session) appendTLSRequestFields(out []byte) []byte {
	if !s.stripsClientCertFields() {
		return out
	}
	return append(out, s.cli.sys.tls.clientCert().Headers()...)
}

// hsts is the Strict-Transport-Security field of the connection, "" for
// none.
func (s *session) hsts() string {
	if b := s.tlsBindOf(); b != nil {
		return b.hsts
	}
	return ""
}

// isSTSField reports whether a response field is Strict-Transport-Security.
func isSTSField(name []byte) bool { return h1.EqFold(name, "strict-transport-security") }

// plainRequest handles, on a plain bind, an ACME HTTP-01 validation and
// the redirect to https. done is false for a request that goes on as
// usual; keep says whether the connection may carry another request.
func (s *exchange) plainRequest(t *txn) (done, keep bool) {
	if s.session.cli.isTLS() { // the connection's TLS, whatever the request's side
		return false, false
	}
	fe := s.fe
	req := &t.req
	path := req.Bytes(req.Path)
	env := s.e.tlsEnv
	if env != nil && env.ACMEHTTP != nil && bytes.HasPrefix(path, []byte(acmeclient.HTTP01Prefix)) {
		if body, ok := env.ACMEHTTP(string(path)); ok {
			return true, s.writeSynthetic(t, 200, "OK", "Content-Type: text/plain\r\n", body)
		}
	}
	if fe.redirect == 0 {
		return false, false
	}
	loc := append([]byte("https://"), h1.StripPort(req.HostField())...)
	if fe.redirectPort != 0 && fe.redirectPort != 443 {
		loc = append(loc, ':')
		loc = strconv.AppendInt(loc, int64(fe.redirectPort), 10)
	}
	loc = append(loc, req.Bytes(req.Target)...)
	if req.Authority.End > req.Authority.Off { // absolute form: the path only
		loc = append(loc[:len(loc)-req.Target.Len()], path...)
		if req.Query.End > req.Query.Off {
			loc = append(loc, '?')
			loc = append(loc, req.Bytes(req.Query)...)
		}
	}
	return true, s.writeSynthetic(t, fe.redirect, redirectReason(fe.redirect), "Location: "+string(loc)+"\r\n", "")
}

func redirectReason(code int) string {
	switch code {
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 307:
		return "Temporary Redirect"
	}
	return "Permanent Redirect"
}

// writeSynthetic answers the request itself (no backend). A request with
// a body closes the connection afterwards rather than read the body.
func (s *exchange) writeSynthetic(t *txn, status int, reason, fields, body string) bool {
	req := &t.req
	fr, _ := req.RequestFraming()
	keep := fr == h1.FramingNone && req.KeepAlive()
	out := make([]byte, 0, 160+len(fields)+len(body))
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(status), 10)
	out = append(out, ' ')
	out = append(out, reason...)
	out = append(out, "\r\n"...)
	out = append(out, fields...)
	out = append(out, "Content-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	out = append(out, "\r\n"...)
	if !keep {
		out = append(out, "Connection: close\r\n"...)
		s.linger = true
	}
	out = append(out, "\r\n"...)
	if !req.IsHead {
		out = append(out, body...)
	}
	t.status = status
	t.tResp = nanotime()
	if err := s.cli.write(out, t.tResp, s.fe.t.Client); err != nil {
		t.setTerm('C', 'D')
		return false
	}
	t.bytesOut += int64(len(out))
	return keep
}

// redirectOf returns a frontend's redirect_https status and the port of
// its first TLS bind (443 when it has none).
func redirectOf(fc *config.Frontend) (int, int) {
	if fc.RedirectHTTPS == 0 {
		return 0, 0
	}
	port := 443
	if len(fc.TLS) > 0 && len(fc.TLS[0].Bind) > 0 {
		if ap, err := netip.ParseAddrPort(fc.TLS[0].Bind[0]); err == nil {
			port = int(ap.Port())
		}
	}
	return fc.RedirectHTTPS, port
}
