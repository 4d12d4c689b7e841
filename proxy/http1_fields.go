package proxy

// Header fields: parsing, meaning of the fields the proxy acts on, and the
// framing rules of RFC 9112 §6 that requests and responses must follow.

// parseFields parses the header fields from i to the blank line.
func (m *msgHead) parseFields(i int) parseErr {
	raw := m.raw
	for {
		end, next, ok := nextLine(raw, i)
		if !ok {
			return errBadHeader
		}
		if end == i {
			return errNone // the empty line
		}
		line := raw[i:end]
		c := line[0]
		if c == ' ' || c == '\t' {
			return errBadHeader // obs-fold (RFC 9112 §5.2)
		}
		colon := -1
		for k, c := range line {
			if c == ':' {
				colon = k
				break
			}
			if !isTokenChar(c) {
				// Includes whitespace between name and colon (RFC 9112 §5.1).
				return errBadHeader
			}
		}
		if colon <= 0 {
			return errBadHeader
		}
		vs, ve := colon+1, len(line)
		for vs < ve && (line[vs] == ' ' || line[vs] == '\t') {
			vs++
		}
		for ve > vs && (line[ve-1] == ' ' || line[ve-1] == '\t') {
			ve--
		}
		for _, c := range line[vs:ve] {
			if c < ' ' && c != '\t' || c == 0x7f {
				return errBadHeader
			}
		}
		if len(m.hdrs) == maxHeaders {
			return errTooManyHeaders
		}
		base := int32(i)
		h := hdr{
			name:  span{base, base + int32(colon)},
			value: span{base + int32(vs), base + int32(ve)},
		}
		h.kind = classify(line[:colon])
		m.hdrs = append(m.hdrs, h)
		if e := m.interpret(len(m.hdrs) - 1); e != errNone {
			return e
		}
		i = next
	}
}

// interpret applies the meaning of the known header at index k.
func (m *msgHead) interpret(k int) parseErr {
	h := &m.hdrs[k]
	v := m.b(h.value)
	switch h.kind {
	case hContentLength:
		n, ok := parseContentLength(v)
		if !ok || (m.contentLength >= 0 && m.contentLength != n) {
			return errBadContentLen
		}
		m.contentLength = n
	case hTransferEncoding:
		m.hasTE = true
		m.chunked = false
		// The last coding decides the framing (RFC 9112 §6.3); every token
		// must be well-formed.
		var e parseErr
		forEachToken(v, func(t []byte) bool {
			if len(t) == 0 {
				return true
			}
			if !isToken(t) {
				e = errBadTransferEnc
				return false
			}
			m.chunked = eqFold(t, "chunked")
			return true
		})
		if e != errNone {
			return e
		}
	case hConnection:
		h.drop = true
		var e parseErr
		forEachToken(v, func(t []byte) bool {
			switch {
			case len(t) == 0:
			case eqFold(t, "close"):
				m.connClose = true
			case eqFold(t, "keep-alive"):
				m.connKeepAlive = true
			case eqFold(t, "upgrade"):
				m.connUpgrade = true
			default:
				if !isToken(t) {
					e = errBadHeader
					return false
				}
				if m.nConnTokens == maxConnTokens {
					e = errTooManyConnTok
					return false
				}
				off := int32(cap(m.raw[:0]) - cap(t)) // offset of t in raw
				m.connTokens[m.nConnTokens] = span{off, off + int32(len(t))}
				m.nConnTokens++
			}
			return true
		})
		if e != errNone {
			return e
		}
	case hKeepAlive, hProxyConnection, hTE, hTrailer:
		h.drop = true
	case hUpgrade:
		h.drop = true // restored when the connection is upgraded
		m.upgrade = k
	case hHost:
		if m.host >= 0 {
			return errBadHost
		}
		m.host = k
	case hExpect:
		if eqFold(v, "100-continue") {
			m.expect100 = true
		}
	}
	return errNone
}

// checkRequest enforces the framing rules of RFC 9112 §6 on a request.
func (m *msgHead) checkRequest() parseErr {
	if m.hasTE {
		// Transfer-Encoding with HTTP/1.0, with Content-Length, or other
		// than exactly "chunked" is how requests are smuggled: refuse.
		if m.minor == 0 || m.contentLength >= 0 || !m.chunked || !m.teIsOnlyChunked() {
			return errBadTransferEnc
		}
	}
	if m.host >= 0 {
		if !validHost(m.b(m.hdrs[m.host].value)) {
			return errBadHost
		}
	} else if m.minor == 1 {
		return errBadHost // RFC 9112 §3.2
	}
	m.markConnectionTokens()
	return errNone
}

// teIsOnlyChunked reports whether the Transfer-Encoding fields hold the
// single coding "chunked".
func (m *msgHead) teIsOnlyChunked() bool {
	n := 0
	for i := range m.hdrs {
		if m.hdrs[i].kind != hTransferEncoding {
			continue
		}
		forEachToken(m.b(m.hdrs[i].value), func(t []byte) bool {
			if len(t) > 0 {
				n++
			}
			return true
		})
	}
	return n == 1
}

// checkResponse applies RFC 9112 §6.3 to a response: Transfer-Encoding
// overrides Content-Length (which is then dropped).
func (m *msgHead) checkResponse() parseErr {
	if m.hasTE {
		if m.minor == 0 {
			// A 1.0 response cannot be chunked; read it until close.
			m.chunked = false
		}
		// RFC 9112 §6.3: with both, the connection must close after the
		// response (it may have been crafted to desynchronise).
		m.ambiguous = m.contentLength >= 0
		m.contentLength = -1
		for i := range m.hdrs {
			if m.hdrs[i].kind == hContentLength {
				m.hdrs[i].drop = true
			}
		}
	}
	m.markConnectionTokens()
	return errNone
}

// markConnectionTokens drops the fields named by Connection (RFC 9110 §7.6.1).
func (m *msgHead) markConnectionTokens() {
	if m.nConnTokens == 0 {
		return
	}
	for i := range m.hdrs {
		h := &m.hdrs[i]
		if h.drop {
			continue
		}
		name := m.b(h.name)
		for _, t := range m.connTokens[:m.nConnTokens] {
			if eqFoldBytes(name, m.b(t)) {
				h.drop = true
				break
			}
		}
	}
}

// classify returns the kind of a header by name, case-insensitively.
func classify(n []byte) hdrKind {
	switch len(n) {
	case 2:
		if eqFold(n, "te") {
			return hTE
		}
	case 4:
		if eqFold(n, "host") {
			return hHost
		}
	case 6:
		switch {
		case eqFold(n, "cookie"):
			return hCookie
		case eqFold(n, "expect"):
			return hExpect
		}
	case 7:
		switch {
		case eqFold(n, "upgrade"):
			return hUpgrade
		case eqFold(n, "trailer"):
			return hTrailer
		}
	case 10:
		switch {
		case eqFold(n, "connection"):
			return hConnection
		case eqFold(n, "keep-alive"):
			return hKeepAlive
		case eqFold(n, "set-cookie"):
			return hSetCookie
		}
	case 14:
		if eqFold(n, "content-length") {
			return hContentLength
		}
	case 15:
		if eqFold(n, "x-forwarded-for") {
			return hXForwardedFor
		}
	case 16:
		switch {
		case eqFold(n, "proxy-connection"):
			return hProxyConnection
		case eqFold(n, "x-forwarded-host"):
			return hXForwardedHost
		}
	case 17:
		switch {
		case eqFold(n, "transfer-encoding"):
			return hTransferEncoding
		case eqFold(n, "x-forwarded-proto"):
			return hXForwardedProto
		}
	}
	return hOther
}

// parseContentLength reads a decimal Content-Length. A list ("5, 5") is
// refused, as net/http does: RFC 9110 §8.6 only allows accepting it.
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return -1, false
	}
	var x int64
	for _, c := range v {
		if !isDigit(c) {
			return -1, false
		}
		x = x*10 + int64(c-'0')
	}
	return x, true
}

// forEachToken calls f for each comma-separated element of v, trimmed of
// OWS, until f returns false. Elements share v's memory.
func forEachToken(v []byte, f func([]byte) bool) {
	for len(v) > 0 {
		i := indexByte(v, ',')
		var t []byte
		if i < 0 {
			t, v = v, nil
		} else {
			t, v = v[:i], v[i+1:]
		}
		for len(t) > 0 && (t[0] == ' ' || t[0] == '\t') {
			t = t[1:]
		}
		for len(t) > 0 && (t[len(t)-1] == ' ' || t[len(t)-1] == '\t') {
			t = t[:len(t)-1]
		}
		if !f(t) {
			return
		}
	}
}
