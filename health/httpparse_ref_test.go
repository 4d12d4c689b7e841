package health

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// readHTTPResponse reads one response from r through the push parser, in
// pieces of whatever size r returns: the tests' way into httpParser.
func readHTTPResponse(r io.Reader, noBody bool, keep int, stop func(int) bool) (httpResponse, error) {
	var h httpParser
	h.reset(noBody, keep, stop)
	buf := make([]byte, 4096)
	for !h.done() {
		n, err := r.Read(buf)
		h.feed(buf[:n])
		if err == io.EOF {
			h.eof()
		} else if err != nil && !h.done() {
			return httpResponse{status: h.status, reason: string(h.reason), body: h.body}, err
		}
	}
	return httpResponse{status: h.status, reason: string(h.reason), body: h.body}, h.err
}

// httpResponse is what the tests look at in a response.
type httpResponse struct {
	status int
	reason string
	body   []byte // at most the first keep bytes, de-chunked
}

// refReadHTTPResponse is the parser http checks used before the event
// loop (a bufio.Reader over a blocking connection), kept as the reference
// the push parser is fuzzed against. It reads one complete HTTP/1.x
// response from r: 1xx
// interim responses are skipped; the body is delimited by
// Transfer-Encoding: chunked, Content-Length or the end of the connection
// (RFC 9112 section 6.3). noBody is true for HEAD requests. After the head,
// stop(status) may end the read early with errStopped (the response is
// returned with its status). At most keep bytes of the body are kept.
func refReadHTTPResponse(r *bufio.Reader, noBody bool, keep int, stop func(int) bool) (httpResponse, error) {
	var resp httpResponse
	headBytes := 0
	for interim := 0; ; interim++ {
		line, err := refReadLine(r, &headBytes)
		if err != nil {
			return resp, err
		}
		resp.status, resp.reason, err = parseStatusLine(line)
		if err != nil {
			return resp, err
		}
		h, err := refReadHeaders(r, &headBytes)
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
			resp.body, err = refReadBody(r, h, keep)
			return resp, err
		}
		if interim >= maxInterim {
			return resp, protoError("too many interim responses")
		}
	}
}

func refReadLine(r *bufio.Reader, total *int) ([]byte, error) {
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

func refReadHeaders(r *bufio.Reader, total *int) (framing, error) {
	f := framing{length: -1}
	for {
		line, err := refReadLine(r, total)
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
			n, err := refParseContentLength(value)
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
func refParseContentLength(v []byte) (int64, error) {
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

func refReadBody(r *bufio.Reader, f framing, keep int) ([]byte, error) {
	var body []byte
	switch {
	case f.chunked:
		return refReadChunked(r, keep)
	case f.untilDone || f.length < 0:
		for {
			if _, err := refTake(r, &body, keep, 32<<10); err != nil {
				if err == io.EOF {
					return body, nil
				}
				return body, err
			}
		}
	default:
		err := refReadN(r, &body, keep, f.length)
		return body, err
	}
}

// take reads up to n bytes, keeping what fits under keep in *body. It
// returns io.EOF only at a clean end of input.
func refTake(r *bufio.Reader, body *[]byte, keep int, n int64) (int, error) {
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
func refReadN(r *bufio.Reader, body *[]byte, keep int, n int64) error {
	for n > 0 {
		got, err := refTake(r, body, keep, n)
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
func refReadChunked(r *bufio.Reader, keep int) ([]byte, error) {
	var body []byte
	total := 0
	for {
		line, err := refReadLine(r, &total)
		if err != nil {
			return body, refEofIsTruncation(err)
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
				t, err := refReadLine(r, &total)
				if err != nil {
					return body, refEofIsTruncation(err)
				}
				if len(trimEOL(t)) == 0 {
					return body, nil
				}
			}
		}
		if err := refReadN(r, &body, keep, int64(size)); err != nil {
			return body, err
		}
		crlf, err := refReadLine(r, &total)
		if err != nil {
			return body, refEofIsTruncation(err)
		}
		if len(trimEOL(crlf)) != 0 {
			return body, protoError("missing CRLF after chunk data")
		}
	}
}

// eofIsTruncation maps readLine's "empty response" (meaningless inside a
// body) to a truncation.
func refEofIsTruncation(err error) error {
	var pe protoError
	if errors.As(err, &pe) && pe == "empty response" {
		return io.ErrUnexpectedEOF
	}
	return err
}
