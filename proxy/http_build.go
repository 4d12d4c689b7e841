package proxy

import (
	"bytes"

	"lbd/h1"
)

// appendField copies a header field as received (name and value bytes).
func appendField(out []byte, m *h1.Head, h *h1.Field) []byte {
	out = append(out, m.Raw[h.Name.Off:h.Name.End]...)
	out = append(out, ": "...)
	out = append(out, m.Raw[h.Value.Off:h.Value.End]...)
	return append(out, "\r\n"...)
}

// trustedPeer reports whether the client is a proxy whose X-Forwarded-*
// fields are kept (frontend trusted_proxies).
func (s *session) trustedPeer(fe *frontend) bool {
	a := s.peer.Addr()
	for _, p := range fe.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// buildRequest writes the head sent to the server: the request line, Host
// (the absolute-form target's authority when there is one, RFC 9112
// §3.2.2), the fields as received minus hop-by-hop fields (RFC 9110
// §7.6.1) and those the proxy owns, then the framing the request was read
// with (never copied: see package h1), X-Forwarded-* and the Connection
// field the proxy needs.
func (s *exchange) buildRequest(t *txn, out []byte) []byte {
	req := &t.req
	fe := s.fe
	ck := t.be.cookie
	rewriteCookie := ck != nil && ck.rewritesRequest()
	ff := fe.forwardFor
	trusted := ff && len(fe.trusted) > 0 && s.trustedPeer(fe)
	hasProto, hasHost := false, false
	stripSSL := s.stripsClientCertFields() // tls_http.go

	out = append(out, req.Raw[:req.Target.End]...)
	if req.Minor == 0 {
		out = append(out, " HTTP/1.0\r\n"...)
	} else {
		out = append(out, " HTTP/1.1\r\n"...)
	}
	if host := req.HostField(); host != nil {
		out = append(out, "Host: "...)
		out = append(out, host...)
		out = append(out, "\r\n"...)
	}
	for i := range req.Fields {
		h := &req.Fields[i]
		if h.Drop || stripSSL && isClientCertField(req.Bytes(h.Name)) {
			continue
		}
		switch h.Kind {
		case h1.KindXForwardedFor:
			if ff {
				continue // merged below
			}
		case h1.KindXForwardedProto:
			if ff {
				if !trusted {
					continue
				}
				hasProto = true
			}
		case h1.KindXForwardedHost:
			if ff {
				if !trusted {
					continue
				}
				hasHost = true
			}
		case h1.KindCookie:
			if rewriteCookie {
				out = ck.appendRequestCookie(out, req.Bytes(h.Value))
				continue
			}
		}
		out = appendField(out, req, h)
	}
	out = req.AppendRequestFraming(out)
	if t.srv != nil && t.srv.isH2() && teTrailers(req) {
		out = append(out, "te: trailers\r\n"...) // HTTP/2 servers (gRPC) want it
	}
	if t.wantUpgrade {
		for i := range req.Fields {
			if h := &req.Fields[i]; h.Kind == h1.KindUpgrade {
				out = appendField(out, req, h)
			}
		}
		out = append(out, "Connection: upgrade\r\n"...)
	} else if req.Minor == 0 {
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	if ff {
		out = append(out, "X-Forwarded-For: "...)
		if trusted {
			for i := range req.Fields {
				if h := &req.Fields[i]; h.Kind == h1.KindXForwardedFor && h.Value.Len() > 0 {
					out = append(out, req.Bytes(h.Value)...)
					out = append(out, ", "...)
				}
			}
		}
		out = s.peer.Addr().AppendTo(out)
		out = append(out, "\r\n"...)
		if !hasProto {
			out = append(out, s.forwardedProto()...)
		}
		if !hasHost {
			if v := req.HostField(); len(v) > 0 {
				out = append(out, "X-Forwarded-Host: "...)
				out = append(out, v...)
				out = append(out, "\r\n"...)
			}
		}
	}
	out = s.appendTLSRequestFields(out)
	return append(out, "\r\n"...)
}

// buildResponse writes the head sent to the client: status line and
// fields as the server sent them, minus hop-by-hop fields, with the
// framing the proxy sends the body with (never copied), the persistence
// cookie handled and a Connection field that says what the proxy will do
// with the client connection.
func (s *exchange) buildResponse(t *txn, out []byte, keep, dechunk, upgrade bool) []byte {
	resp := &t.resp
	ck := t.be.cookie
	out = append(out, "HTTP/1.1 "...)
	out = append(out, resp.Raw[9:resp.Reason.End]...)
	out = append(out, "\r\n"...)
	setOwn := false
	hsts := s.hsts() // tls_http.go
	for i := range resp.Fields {
		h := &resp.Fields[i]
		if h.Drop || hsts != "" && isSTSField(resp.Bytes(h.Name)) {
			continue
		}
		if h.Kind == h1.KindSetCookie && ck != nil && t.srv != nil {
			o, keepIt, rewritten := ck.appendServerSetCookie(out, resp.Bytes(h.Value), t.srv)
			if rewritten {
				out, setOwn, t.ckSet = o, true, 'R'
				continue
			}
			if !keepIt {
				t.ckSet = 'D'
				continue
			}
		}
		out = appendField(out, resp, h)
	}
	out = resp.AppendResponseFraming(out, t.req.IsHead, dechunk)
	if resp.Status < 200 {
		if upgrade {
			for i := range resp.Fields {
				if h := &resp.Fields[i]; h.Kind == h1.KindUpgrade {
					out = appendField(out, resp, h)
				}
			}
			out = append(out, "Connection: upgrade\r\n"...)
		}
		return append(out, "\r\n"...)
	}
	switch {
	case !keep:
		out = append(out, "Connection: close\r\n"...)
	case t.req.Minor == 0:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	if ck != nil && t.srv != nil {
		now := t.tResp / 1e9
		if now == 0 {
			now = nanotime() / 1e9
		}
		if ck.needInsert(t.ck, t.direct, now) {
			out = ck.appendSetCookie(out, t.srv, t.ck, t.direct, now)
			setOwn, t.ckSet = true, 'I'
			if t.direct && t.ck.valid {
				t.ckSet = 'U' // a date refreshed
			}
		}
		if setOwn && ck.nocache {
			out = append(out, "Cache-Control: private\r\n"...)
		}
	}
	out = append(out, hsts...)
	return append(out, "\r\n"...)
}

// teTrailers reports whether the request's TE says it takes trailers.
func teTrailers(req *h1.Head) bool {
	for i := range req.Fields {
		if h := &req.Fields[i]; h.Kind == h1.KindTE && hasToken(req.Bytes(h.Value), "trailers") {
			return true
		}
	}
	return false
}

// hasToken reports whether the comma-separated list v holds t, ignoring
// case.
func hasToken(v []byte, t string) bool {
	found := false
	h1.ForEachToken(v, func(x []byte) bool {
		found = h1.EqFold(x, t)
		return !found
	})
	return found
}

// upgradeAgreed reports whether a 101 switches to a protocol the client
// asked for (RFC 9110 §7.8): every protocol of the response's Upgrade must
// be one of the request's, which buildRequest kept in t.upgradeReq. A 101
// without Upgrade, or to another protocol, is refused (502): the tunnel
// would carry bytes that neither side framed for it.
func (t *txn) upgradeAgreed() bool {
	resp := &t.resp
	seen, ok := false, true
	for i := range resp.Fields {
		h := &resp.Fields[i]
		if h.Kind != h1.KindUpgrade {
			continue
		}
		h1.ForEachToken(resp.Bytes(h.Value), func(p []byte) bool {
			seen = true
			if !upgradeListed(t.upgradeReq, p) {
				ok = false
			}
			return ok
		})
	}
	return seen && ok
}

// upgradeListed reports whether protocol p is one of the comma-separated
// protocols of list, ignoring case.
func upgradeListed(list, p []byte) bool {
	found := false
	h1.ForEachToken(list, func(q []byte) bool {
		found = len(q) > 0 && h1.EqFoldBytes(q, p)
		return !found
	})
	return found && len(p) > 0 && !bytes.ContainsAny(p, " \t")
}
