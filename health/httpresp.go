package health

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// Limits of what an http check accepts from a server. HAProxy's check
// buffer is 16 KiB; we allow more head but still refuse unbounded input.
const (
	maxHeadLine   = 8 << 10  // one status or header line
	maxHead       = 32 << 10 // whole response head
	maxInterim    = 8        // 1xx responses skipped before the final one
	bodyKeepLimit = 64 << 10 // body bytes kept for expect_body
)

// protoError is a response that is not valid HTTP/1.x; the check reports
// it as L7RSP with this text.
type protoError string

func (e protoError) Error() string { return string(e) }

// errStopped ends a read early when the caller has seen enough (a wrong
// status needs no body).
var errStopped = errors.New("stopped after head")

// httpResponse is what the http check needs of a response.
type httpResponse struct {
	status int
	reason string
	body   []byte // at most the first keep bytes, de-chunked
}

// parseStatusLine parses "HTTP/1.x NNN reason" (the line ending removed or
// not). RFC 9112 section 4: status-line = HTTP-version SP status-code SP
// [reason-phrase]; a missing SP before an empty reason is tolerated.
func parseStatusLine(line []byte) (code int, reason string, err error) {
	line = trimEOL(line)
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[7] < '0' || line[7] > '9' || line[8] != ' ' {
		return 0, "", protoError("bad status line " + quoteShort(line))
	}
	c := line[9:12]
	for _, d := range c {
		if d < '0' || d > '9' {
			return 0, "", protoError("bad status code " + quoteShort(line))
		}
	}
	code = int(c[0]-'0')*100 + int(c[1]-'0')*10 + int(c[2]-'0')
	if code < 100 {
		return 0, "", protoError("bad status code " + quoteShort(line))
	}
	rest := line[12:]
	if len(rest) > 0 {
		if rest[0] != ' ' {
			return 0, "", protoError("bad status line " + quoteShort(line))
		}
		rest = rest[1:]
	}
	for _, b := range rest {
		if b < 0x20 && b != '\t' || b == 0x7f {
			return 0, "", protoError("control character in reason phrase")
		}
	}
	return code, string(rest), nil
}

// readHTTPResponse reads one complete HTTP/1.x response from r: 1xx
// interim responses are skipped; the body is delimited by
// Transfer-Encoding: chunked, Content-Length or the end of the connection
// (RFC 9112 section 6.3). noBody is true for HEAD requests. After the head,
// stop(status) may end the read early with errStopped (the response is
// returned with its status). At most keep bytes of the body are kept.
func readHTTPResponse(r *bufio.Reader, noBody bool, keep int, stop func(int) bool) (httpResponse, error) {
	var resp httpResponse
	headBytes := 0
	for interim := 0; ; interim++ {
		line, err := readLine(r, &headBytes)
		if err != nil {
			return resp, err
		}
		resp.status, resp.reason, err = parseStatusLine(line)
		if err != nil {
			return resp, err
		}
		h, err := readHeaders(r, &headBytes)
		if err != nil {
			return resp, err
		}
		if resp.status >= 200 || resp.status == 101 {
			if stop != nil && stop(resp.status) {
				return resp, errStopped
			}
			if noBody || resp.status < 200 || resp.status == 204 || resp.status == 304 {
				return resp, nil
			}
			resp.body, err = readBody(r, h, keep)
			return resp, err
		}
		if interim >= maxInterim {
			return resp, protoError("too many interim responses")
		}
	}
}

// framing is what the headers say about the body.
type framing struct {
	chunked   bool
	length    int64 // -1 when no Content-Length
	untilDone bool  // a transfer coding other than chunked: read to EOF
}

func readLine(r *bufio.Reader, total *int) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxHeadLine {
		return nil, protoError("header line too long")
	}
	if err != nil {
		if err == io.EOF {
			if len(line) == 0 && *total == 0 {
				return nil, protoError("empty response")
			}
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	*total += len(line)
	if *total > maxHead {
		return nil, protoError("response head too large")
	}
	return line, nil
}

func readHeaders(r *bufio.Reader, total *int) (framing, error) {
	f := framing{length: -1}
	for {
		line, err := readLine(r, total)
		if err != nil {
			return f, err
		}
		line = trimEOL(line)
		if len(line) == 0 {
			return f, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			return f, protoError("obsolete header folding")
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !isTokenBytes(line[:colon]) {
			return f, protoError("bad header line " + quoteShort(line))
		}
		name, value := line[:colon], bytes.Trim(line[colon+1:], " \t")
		switch {
		case asciiEqualFold(name, "content-length"):
			n, err := parseContentLength(value)
			if err != nil {
				return f, err
			}
			if f.length >= 0 && f.length != n {
				return f, protoError("conflicting Content-Length")
			}
			f.length = n
		case asciiEqualFold(name, "transfer-encoding"):
			// The last coding decides (RFC 9112 section 6.3): chunked
			// ends the body itself, any other reads to the close.
			codings := bytes.Split(value, []byte(","))
			last := bytes.Trim(codings[len(codings)-1], " \t")
			if asciiEqualFold(last, "chunked") {
				f.chunked, f.untilDone = true, false
			} else {
				f.chunked, f.untilDone = false, true
			}
		}
	}
}

// parseContentLength accepts one decimal value or a list of identical ones
// ("5, 5"), as RFC 9110 section 8.6 allows.
func parseContentLength(v []byte) (int64, error) {
	n := int64(-1)
	for _, part := range bytes.Split(v, []byte(",")) {
		part = bytes.Trim(part, " \t")
		if len(part) == 0 || len(part) > 18 {
			return 0, protoError("bad Content-Length")
		}
		var m int64
		for _, d := range part {
			if d < '0' || d > '9' {
				return 0, protoError("bad Content-Length")
			}
			m = m*10 + int64(d-'0')
		}
		if n >= 0 && m != n {
			return 0, protoError("conflicting Content-Length")
		}
		n = m
	}
	return n, nil
}

func readBody(r *bufio.Reader, f framing, keep int) ([]byte, error) {
	var body []byte
	switch {
	case f.chunked:
		return readChunked(r, keep)
	case f.untilDone || f.length < 0:
		for {
			if _, err := take(r, &body, keep, 32<<10); err != nil {
				if err == io.EOF {
					return body, nil
				}
				return body, err
			}
		}
	default:
		err := readN(r, &body, keep, f.length)
		return body, err
	}
}

// take reads up to n bytes, keeping what fits under keep in *body. It
// returns io.EOF only at a clean end of input.
func take(r *bufio.Reader, body *[]byte, keep int, n int64) (int, error) {
	buf, err := r.Peek(1)
	if len(buf) == 0 {
		return 0, err
	}
	avail := int64(r.Buffered())
	if avail > n {
		avail = n
	}
	chunk, _ := r.Peek(int(avail))
	if room := keep - len(*body); room > 0 {
		*body = append(*body, chunk[:min(len(chunk), room)]...)
	}
	_, _ = r.Discard(len(chunk))
	return len(chunk), nil
}

// readN reads exactly n body bytes.
func readN(r *bufio.Reader, body *[]byte, keep int, n int64) error {
	for n > 0 {
		got, err := take(r, body, keep, n)
		n -= int64(got)
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readChunked decodes a chunked body (RFC 9112 section 7.1), trailers
// included.
func readChunked(r *bufio.Reader, keep int) ([]byte, error) {
	var body []byte
	total := 0
	for {
		line, err := readLine(r, &total)
		if err != nil {
			return body, eofIsTruncation(err)
		}
		line = trimEOL(line)
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		line = bytes.TrimRight(line, " \t")
		if len(line) == 0 || len(line) > 15 {
			return body, protoError("bad chunk size")
		}
		size, err := strconv.ParseUint(string(line), 16, 63)
		if err != nil {
			return body, protoError("bad chunk size")
		}
		if size == 0 {
			for { // trailer section, up to the empty line
				t, err := readLine(r, &total)
				if err != nil {
					return body, eofIsTruncation(err)
				}
				if len(trimEOL(t)) == 0 {
					return body, nil
				}
			}
		}
		if err := readN(r, &body, keep, int64(size)); err != nil {
			return body, err
		}
		crlf, err := readLine(r, &total)
		if err != nil {
			return body, eofIsTruncation(err)
		}
		if len(trimEOL(crlf)) != 0 {
			return body, protoError("missing CRLF after chunk data")
		}
	}
}

// eofIsTruncation maps readLine's "empty response" (meaningless inside a
// body) to a truncation.
func eofIsTruncation(err error) error {
	var pe protoError
	if errors.As(err, &pe) && pe == "empty response" {
		return io.ErrUnexpectedEOF
	}
	return err
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

func isTokenBytes(b []byte) bool {
	for _, c := range b {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		switch c {
		case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
			continue
		}
		return false
	}
	return len(b) > 0
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// quoteShort quotes at most 64 bytes of b for an error message.
func quoteShort(b []byte) string {
	if len(b) > 64 {
		return strconv.Quote(string(b[:64])) + "..."
	}
	return strconv.Quote(string(b))
}
