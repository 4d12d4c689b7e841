package h1

// Header fields: parsing, the meaning of the fields the codec acts on, and
// the framing rules of RFC 9112 §6 that requests and responses must follow.

// parseFields parses the header fields from i to the blank line.
func (m *Head) parseFields(i int) Err {
	raw := m.Raw
	for {
		end, next, ok := nextLine(raw, i)
		if !ok {
			return ErrBadHeader
		}
		if end == i {
			return OK // the empty line
		}
		name, value, ok := splitField(raw[i:end])
		if !ok {
			return ErrBadHeader
		}
		if len(m.Fields) == MaxFields {
			return ErrTooManyHeaders
		}
		base := int32(i)
		f := Field{
			Name:  Span{base, base + int32(name)},
			Value: Span{base + int32(value.Off), base + int32(value.End)},
		}
		f.Kind = classify(raw[i : i+name])
		m.Fields = append(m.Fields, f)
		if e := m.interpret(len(m.Fields) - 1); e != OK {
			return e
		}
		i = next
	}
}

// splitField checks one field line (RFC 9110 §5, RFC 9112 §5): a token,
// a colon right after it, a value of field-value characters. It returns the
// name's length and the value's range within line, OWS trimmed. A line
// that starts with whitespace is obs-fold, refused (RFC 9112 §5.2).
func splitField(line []byte) (name int, value Span, ok bool) {
	if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
		return 0, Span{}, false
	}
	colon := -1
	for k, c := range line {
		if c == ':' {
			colon = k
			break
		}
		if !IsTokenChar(c) {
			// Includes whitespace between name and colon (RFC 9112 §5.1).
			return 0, Span{}, false
		}
	}
	if colon <= 0 {
		return 0, Span{}, false
	}
	vs, ve := colon+1, len(line)
	for vs < ve && (line[vs] == ' ' || line[vs] == '\t') {
		vs++
	}
	for ve > vs && (line[ve-1] == ' ' || line[ve-1] == '\t') {
		ve--
	}
	if !validValue(line[vs:ve]) {
		return 0, Span{}, false
	}
	return colon, Span{int32(vs), int32(ve)}, true
}

// interpret applies the meaning of the known field at index k.
func (m *Head) interpret(k int) Err {
	f := &m.Fields[k]
	v := m.Bytes(f.Value)
	isRequest := m.Status == 0
	switch f.Kind {
	case KindContentLength:
		f.Drop = true // written again from ContentLength
		n, ok := parseContentLength(v)
		if !ok || (m.ContentLength >= 0 && m.ContentLength != n) {
			return ErrBadContentLen
		}
		m.ContentLength = n
	case KindTransferEncoding:
		f.Drop = true // written again from the codings read
		m.HasTE = true
		m.nTE++
		if !m.readCodings(v) {
			return ErrBadTransferEnc
		}
	case KindConnection:
		f.Drop = true
		return m.connectionTokens(v)
	case KindKeepAlive, KindProxyConnection, KindTE, KindTrailer:
		f.Drop = true
	case KindUpgrade:
		f.Drop = true // written again when the connection is upgraded
		if m.Upgrade < 0 {
			m.Upgrade = k
		}
	case KindHost:
		if !isRequest {
			f.Kind = KindOther // means nothing in a response
			break
		}
		f.Drop = true // written again from HostField
		if m.Host >= 0 {
			return ErrBadHost
		}
		m.Host = k
	case KindExpect:
		if EqFold(v, "100-continue") {
			m.Expect100 = true
		}
	}
	return OK
}

// readCodings reads one Transfer-Encoding field: a list of tokens, none
// empty (",chunked" and "chunked," are refused: a recipient that skips the
// empty element and one that does not disagree on the last coding). The
// last coding of all the fields decides the framing (RFC 9112 §6.3); chunked
// may only be the last one and only once (RFC 9112 §6.1).
func (m *Head) readCodings(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	ok := true
	ForEachToken(v, func(t []byte) bool {
		if !IsToken(t) || m.Chunked || EqFold(t, "identity") {
			// Not a token (empty, or parameters), a coding after chunked,
			// or "identity", which RFC 9112 removed and servers read
			// differently.
			ok = false
			return false
		}
		m.Chunked = EqFold(t, "chunked")
		return true
	})
	return ok
}

// connectionTokens reads a Connection field (RFC 9110 §7.6.1).
func (m *Head) connectionTokens(v []byte) Err {
	e := OK
	ForEachToken(v, func(t []byte) bool {
		switch {
		case len(t) == 0:
		case EqFold(t, "close"):
			m.ConnClose = true
		case EqFold(t, "keep-alive"):
			m.ConnKeepAlive = true
		case EqFold(t, "upgrade"):
			m.ConnUpgrade = true
		default:
			if !IsToken(t) {
				e = ErrBadHeader
				return false
			}
			if m.nConnTokens == maxConnTokens {
				e = ErrTooManyConnTok
				return false
			}
			off := int32(cap(m.Raw[:0]) - cap(t)) // offset of t in Raw
			m.connTokens[m.nConnTokens] = Span{off, off + int32(len(t))}
			m.nConnTokens++
		}
		return true
	})
	return e
}

// checkRequest enforces the framing rules of RFC 9112 §6 on a request.
func (m *Head) checkRequest() Err {
	if m.HasTE {
		// Transfer-Encoding with HTTP/1.0, with Content-Length, or other
		// than exactly one "chunked" is how requests are smuggled: refuse.
		if m.Minor == 0 || m.ContentLength >= 0 || !m.Chunked || m.nTE != 1 || !m.onlyChunked() {
			return ErrBadTransferEnc
		}
	}
	if m.Host >= 0 {
		if !ValidHost(m.Bytes(m.Fields[m.Host].Value)) {
			return ErrBadHost
		}
	} else if m.Minor == 1 {
		return ErrBadHost // RFC 9112 §3.2
	}
	m.markConnectionTokens()
	return OK
}

// onlyChunked reports whether the Transfer-Encoding field holds the single
// coding "chunked".
func (m *Head) onlyChunked() bool {
	for i := range m.Fields {
		if m.Fields[i].Kind == KindTransferEncoding {
			return EqFold(m.Bytes(m.Fields[i].Value), "chunked")
		}
	}
	return false
}

// checkResponse applies RFC 9112 §6 to a response.
func (m *Head) checkResponse() Err {
	if m.HasTE {
		if m.nTE > 1 {
			// One field is what servers send; two are what a desync
			// attempt sends (one recipient reads the first, another the
			// last).
			return ErrBadTransferEnc
		}
		if m.Minor == 0 {
			// A 1.0 response cannot be chunked (RFC 9112 §6.1: treat the
			// framing as faulty): read it until the close.
			m.Chunked = false
		}
		// Transfer-Encoding overrides Content-Length; with both, the
		// connection must close after the response (RFC 9112 §6.3).
		m.Ambiguous = m.ContentLength >= 0
		m.ContentLength = -1
	}
	m.markConnectionTokens()
	return OK
}

// markConnectionTokens drops the fields named by Connection (RFC 9110
// §7.6.1). Tokens naming a field the forwarder writes itself (framing,
// Host) are ignored: see the package documentation.
func (m *Head) markConnectionTokens() {
	if m.nConnTokens == 0 {
		return
	}
	for i := range m.Fields {
		f := &m.Fields[i]
		if f.Drop {
			continue // already not copied; framing and Host among them
		}
		name := m.Bytes(f.Name)
		for _, t := range m.connTokens[:m.nConnTokens] {
			if EqFoldBytes(name, m.Bytes(t)) {
				f.Drop = true
				break
			}
		}
	}
}

// classify returns the kind of a field by name, case-insensitively.
func classify(n []byte) Kind {
	switch len(n) {
	case 2:
		if EqFold(n, "te") {
			return KindTE
		}
	case 4:
		if EqFold(n, "host") {
			return KindHost
		}
	case 6:
		switch {
		case EqFold(n, "cookie"):
			return KindCookie
		case EqFold(n, "expect"):
			return KindExpect
		}
	case 7:
		switch {
		case EqFold(n, "upgrade"):
			return KindUpgrade
		case EqFold(n, "trailer"):
			return KindTrailer
		}
	case 10:
		switch {
		case EqFold(n, "connection"):
			return KindConnection
		case EqFold(n, "keep-alive"):
			return KindKeepAlive
		case EqFold(n, "set-cookie"):
			return KindSetCookie
		}
	case 14:
		if EqFold(n, "content-length") {
			return KindContentLength
		}
	case 15:
		if EqFold(n, "x-forwarded-for") {
			return KindXForwardedFor
		}
	case 16:
		switch {
		case EqFold(n, "proxy-connection"):
			return KindProxyConnection
		case EqFold(n, "x-forwarded-host"):
			return KindXForwardedHost
		}
	case 17:
		switch {
		case EqFold(n, "transfer-encoding"):
			return KindTransferEncoding
		case EqFold(n, "x-forwarded-proto"):
			return KindXForwardedProto
		}
	}
	return KindOther
}

// maxLengthDigits bounds the significant digits of a Content-Length
// (10^18 bytes fit an int64).
const maxLengthDigits = 18

// parseContentLength reads a decimal Content-Length. Leading zeros are
// valid (1*DIGIT, RFC 9110 §8.6) and do not count against the digit limit.
// A list ("5, 5") is refused, as net/http and HAProxy's default do: RFC
// 9110 §8.6 only allows accepting it.
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 {
		return -1, false
	}
	var x int64
	digits := 0
	for _, c := range v {
		if !isDigit(c) {
			return -1, false
		}
		if x == 0 && c == '0' {
			continue
		}
		if digits++; digits > maxLengthDigits {
			return -1, false
		}
		x = x*10 + int64(c-'0')
	}
	return x, true
}
