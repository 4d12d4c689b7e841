package proxy

// appendField copies a header field as received (name and value bytes).
func appendField(out []byte, m *msgHead, h *hdr) []byte {
	out = append(out, m.raw[h.name.off:h.name.end]...)
	out = append(out, ": "...)
	out = append(out, m.raw[h.value.off:h.value.end]...)
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

// buildRequest writes the head sent to the server: the request line and
// fields as received, minus hop-by-hop fields (RFC 9110 §7.6.1) and those
// the proxy owns, plus X-Forwarded-* and the Connection field it needs.
func (s *session) buildRequest(t *txn, out []byte) []byte {
	req := &t.req
	fe := s.fe
	ck := t.be.cookie
	rewriteCookie := ck != nil && ck.rewritesRequest()
	ff := fe.forwardFor
	trusted := ff && len(fe.trusted) > 0 && s.trustedPeer(fe)
	hasProto, hasHost := false, false

	out = append(out, req.raw[:req.target.end]...)
	if req.minor == 0 {
		out = append(out, " HTTP/1.0\r\n"...)
	} else {
		out = append(out, " HTTP/1.1\r\n"...)
	}
	for i := range req.hdrs {
		h := &req.hdrs[i]
		if h.drop {
			continue
		}
		switch h.kind {
		case hXForwardedFor:
			if ff {
				continue // merged below
			}
		case hXForwardedProto:
			if ff {
				if !trusted {
					continue
				}
				hasProto = true
			}
		case hXForwardedHost:
			if ff {
				if !trusted {
					continue
				}
				hasHost = true
			}
		case hCookie:
			if rewriteCookie {
				out = ck.appendRequestCookie(out, req.b(h.value))
				continue
			}
		}
		out = appendField(out, req, h)
	}
	if req.connUpgrade && req.upgrade >= 0 && req.minor == 1 {
		out = appendField(out, req, &req.hdrs[req.upgrade])
		out = append(out, "Connection: upgrade\r\n"...)
	} else if req.minor == 0 {
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	if ff {
		out = append(out, "X-Forwarded-For: "...)
		if trusted {
			for i := range req.hdrs {
				if h := &req.hdrs[i]; h.kind == hXForwardedFor && h.value.len() > 0 {
					out = append(out, req.b(h.value)...)
					out = append(out, ", "...)
				}
			}
		}
		out = s.peer.Addr().AppendTo(out)
		out = append(out, "\r\n"...)
		if !hasProto {
			out = append(out, "X-Forwarded-Proto: http\r\n"...)
		}
		if !hasHost {
			if v := req.hostField(); len(v) > 0 {
				out = append(out, "X-Forwarded-Host: "...)
				out = append(out, v...)
				out = append(out, "\r\n"...)
			}
		}
	}
	return append(out, "\r\n"...)
}

// hostField is the Host the client asked for, with its port.
func (m *msgHead) hostField() []byte {
	if m.authority.end > m.authority.off {
		return m.b(m.authority)
	}
	if m.host >= 0 {
		return m.b(m.hdrs[m.host].value)
	}
	return nil
}

// buildResponse writes the head sent to the client: status line and
// fields as the server sent them, minus hop-by-hop fields, with the
// persistence cookie handled and a Connection field that says what the
// proxy will do with the client connection.
func (s *session) buildResponse(t *txn, out []byte, keep, dechunk, upgrade bool) []byte {
	resp := &t.resp
	ck := t.be.cookie
	out = append(out, "HTTP/1.1 "...)
	out = append(out, resp.raw[9:resp.reason.end]...)
	out = append(out, "\r\n"...)
	setOwn := false
	for i := range resp.hdrs {
		h := &resp.hdrs[i]
		if h.drop {
			continue
		}
		switch h.kind {
		case hTransferEncoding:
			if dechunk {
				continue
			}
		case hSetCookie:
			if ck != nil && t.srv != nil {
				o, keepIt, rewritten := ck.appendServerSetCookie(out, resp.b(h.value), t.srv)
				if rewritten {
					out, setOwn = o, true
					continue
				}
				if !keepIt {
					continue
				}
			}
		}
		out = appendField(out, resp, h)
	}
	if resp.status < 200 {
		if upgrade {
			if resp.upgrade >= 0 {
				out = appendField(out, resp, &resp.hdrs[resp.upgrade])
			}
			out = append(out, "Connection: upgrade\r\n"...)
		}
		return append(out, "\r\n"...)
	}
	switch {
	case !keep:
		out = append(out, "Connection: close\r\n"...)
	case t.req.minor == 0:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	if ck != nil && t.srv != nil {
		now := t.tResp / 1e9
		if now == 0 {
			now = nanotime() / 1e9
		}
		if ck.needInsert(t.ck, t.direct, now) {
			out = ck.appendSetCookie(out, t.srv, t.ck, t.direct, now)
			setOwn = true
		}
		if setOwn && ck.nocache {
			out = append(out, "Cache-Control: private\r\n"...)
		}
	}
	return append(out, "\r\n"...)
}
