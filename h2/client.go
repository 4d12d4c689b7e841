package h2

// The client role: lbd sends requests to an HTTP/2 server (WriteH1) and
// hands the responses to the engine as HTTP/1.1 (Handler.Response, Data,
// Trailers), which parses them with h1 as any server's.

// Response is a server's response head (Handler.Response).
type Response struct {
	// Head is the response as an HTTP/1.1 head, valid during the call.
	Head []byte
	// Interim: a 1xx response; the final one follows.
	Interim bool
	// EndStream: no body follows.
	EndStream bool
	// Chunked: the body is to be passed on as chunks; Data bytes are raw
	// and the caller frames them (AppendChunk, AppendLastChunk).
	Chunked bool
}

func (c *Conn) responseDone(hb *headerBlock, m *message) {
	st := hb.st
	if m.tooLarge {
		c.resetStream(st.ID, ErrCodeProtocol, "response header list too large")
		return
	}
	why, status := m.responseHead(st.isHead, hb.endStream)
	if why != "" {
		// RFC 9113 §8.1.1: malformed; the engine sees the stream fail
		// and answers 502.
		c.resetStream(st.ID, ErrCodeProtocol, why)
		return
	}
	interim := status < 200
	if interim && hb.endStream {
		c.resetStream(st.ID, ErrCodeProtocol, "interim response with END_STREAM")
		return
	}
	resp := &c.resp
	*resp = Response{Head: m.out, Interim: interim, EndStream: hb.endStream}
	if !interim {
		st.gotFinal = true
		st.chunked = m.chunked
		resp.Chunked = m.chunked
		st.contentLength = m.contentLength
		if st.isHead || status == 304 || status == 204 {
			st.contentLength = -1 // describes another message (RFC 9113 §8.1.1)
		}
	}
	if hb.endStream {
		st.inEnded = true
	}
	c.h.Response(st, resp)
	*resp = Response{}
	if st.inEnded && st.outEnded {
		c.closeStream(st, ErrCodeNo, true)
	}
}

// responseHead checks a response's fields (RFC 9113 §8.3.2) and writes
// its HTTP/1.1 head; it returns why it is malformed ("" when it is not)
// and the status.
func (m *message) responseHead(isHead, endStream bool) (string, int) {
	switch {
	case m.bad != "":
		return m.bad, 0
	case m.pseudo[pMethod] || m.pseudo[pScheme] || m.pseudo[pPath] || m.pseudo[pAuthority]:
		return "request pseudo-header field in a response", 0
	case !m.pseudo[pStatus] || len(m.status) != 3:
		return "missing or invalid :status", 0
	}
	status := 0
	for _, d := range m.status {
		if d < '0' || d > '9' {
			return "invalid :status", 0
		}
		status = status*10 + int(d-'0')
	}
	if status < 100 || status == 101 {
		return "invalid :status", 0
	}
	o := append(m.out[:0], "HTTP/1.1 "...)
	o = append(o, m.status...)
	o = append(o, ' ')
	o = append(o, reasonPhrase(status)...)
	o = append(o, "\r\n"...)
	o = append(o, m.lines...)
	if m.hasCookie {
		o = appendLine(o, "cookie", m.cookie)
	}
	if m.hasHost {
		o = appendLine(o, "host", m.host)
	}
	bodiless := isHead || status == 204 || status == 304
	switch {
	case status < 200:
	case m.contentLength >= 0 && m.hasTrailer && !endStream && !bodiless:
		// Announced trailers need chunks to travel in HTTP/1.1; the
		// length is still checked against the DATA frames.
		o = append(o, "transfer-encoding: chunked\r\n"...)
		m.chunked = true
	case m.contentLength >= 0:
		if endStream && m.contentLength > 0 && !bodiless {
			return "content-length without DATA", 0
		}
		o = append(o, "content-length: "...)
		o = appendUint(o, m.contentLength)
		o = append(o, "\r\n"...)
	case endStream:
		if !bodiless {
			o = append(o, "content-length: 0\r\n"...)
		}
	case !bodiless:
		o = append(o, "transfer-encoding: chunked\r\n"...)
		m.chunked = true
	}
	m.out = append(o, "\r\n"...)
	return "", status
}

// reasonPhrase is the usual reason phrase of a status (for HTTP/1.1
// clients of HTTP/2 servers); "" for others.
func reasonPhrase(s int) string {
	switch s {
	case 100:
		return "Continue"
	case 103:
		return "Early Hints"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 204:
		return "No Content"
	case 206:
		return "Partial Content"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 304:
		return "Not Modified"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 408:
		return "Request Timeout"
	case 409:
		return "Conflict"
	case 410:
		return "Gone"
	case 413:
		return "Content Too Large"
	case 415:
		return "Unsupported Media Type"
	case 429:
		return "Too Many Requests"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	}
	return ""
}

// AppendChunk appends p as one chunk of a chunked body (RFC 9112 §7.1).
func AppendChunk(dst, p []byte) []byte {
	if len(p) == 0 {
		return dst
	}
	var hex [16]byte
	i := len(hex)
	for n := len(p); n > 0; n >>= 4 {
		i--
		hex[i] = "0123456789abcdef"[n&15]
	}
	dst = append(dst, hex[i:]...)
	dst = append(dst, "\r\n"...)
	dst = append(dst, p...)
	return append(dst, "\r\n"...)
}

// AppendLastChunk appends the end of a chunked body: the last chunk, the
// trailer field lines (may be empty) and the empty line.
func AppendLastChunk(dst, trailers []byte) []byte {
	dst = append(dst, "0\r\n"...)
	dst = append(dst, trailers...)
	return append(dst, "\r\n"...)
}
