package h1

import "strconv"

// Framing is how a message body is delimited (RFC 9112 §6.3).
type Framing uint8

// The ways a body ends.
const (
	FramingNone    Framing = iota // no body
	FramingLength                 // Content-Length bytes
	FramingChunked                // chunked transfer coding
	FramingClose                  // until the server closes (responses only)
)

// RequestFraming returns how the request body is delimited and its length
// (-1 when not known): a request without Content-Length or chunked has no
// body (RFC 9112 §6.3).
func (m *Head) RequestFraming() (Framing, int64) {
	switch {
	case m.Chunked:
		return FramingChunked, -1
	case m.ContentLength > 0:
		return FramingLength, m.ContentLength
	}
	return FramingNone, 0
}

// ResponseFraming returns how the response body is delimited and its
// length; reqIsHead is whether the request was HEAD.
func (m *Head) ResponseFraming(reqIsHead bool) (Framing, int64) {
	switch {
	case reqIsHead, m.Status < 200, m.Status == 204, m.Status == 304:
		return FramingNone, 0
	case m.Chunked:
		return FramingChunked, -1
	case m.ContentLength == 0:
		return FramingNone, 0
	case m.ContentLength > 0:
		return FramingLength, m.ContentLength
	}
	return FramingClose, -1
}

// AppendRequestFraming appends the framing field of a forwarded request:
// the one it was read with, written by lbd (never copied).
func (m *Head) AppendRequestFraming(out []byte) []byte {
	switch {
	case m.Chunked:
		out = append(out, "Transfer-Encoding: chunked\r\n"...)
	case m.ContentLength >= 0:
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, m.ContentLength, 10)
		out = append(out, "\r\n"...)
	}
	return out
}

// AppendResponseFraming appends the framing fields of a forwarded
// response. reqIsHead is whether the request was HEAD; dechunk is set when
// a chunked body is sent decoded and delimited by the close (to an
// HTTP/1.0 client).
func (m *Head) AppendResponseFraming(out []byte, reqIsHead, dechunk bool) []byte {
	switch {
	case m.Status < 200 || m.Status == 204:
		// No body and no framing field allowed (RFC 9110 §8.6).
	case reqIsHead || m.Status == 304:
		// No body; Content-Length tells the size the GET would have had.
		if m.ContentLength >= 0 {
			out = appendLength(out, m.ContentLength)
		}
	case m.HasTE && m.Minor == 1:
		if m.Chunked && dechunk {
			break
		}
		// Chunked last (re-framed as it streams), or codings delimited by
		// the close: the codings still apply to the content.
		out = append(out, "Transfer-Encoding: "...)
		out = m.appendCodings(out)
		out = append(out, "\r\n"...)
	case m.ContentLength >= 0:
		out = appendLength(out, m.ContentLength)
	}
	return out
}

func appendLength(out []byte, n int64) []byte {
	out = append(out, "Content-Length: "...)
	out = strconv.AppendInt(out, n, 10)
	return append(out, "\r\n"...)
}

// appendCodings appends the transfer codings read, normalized: lower case,
// ", " between them.
func (m *Head) appendCodings(out []byte) []byte {
	first := true
	for i := range m.Fields {
		if m.Fields[i].Kind != KindTransferEncoding {
			continue
		}
		ForEachToken(m.Bytes(m.Fields[i].Value), func(t []byte) bool {
			if !first {
				out = append(out, ", "...)
			}
			first = false
			for _, c := range t {
				out = append(out, lower(c))
			}
			return true
		})
	}
	return out
}
