package h1

import (
	"bytes"
	"errors"
	"strconv"
)

// Errors of a chunked body (RFC 9112 §7.1). They all wrap ErrChunked.
var (
	ErrChunked         = errors.New("malformed chunked encoding")
	ErrChunkSize       = chunkErr("bad chunk size line")
	ErrChunkEnd        = chunkErr("missing CRLF after chunk data")
	ErrTrailerField    = chunkErr("invalid trailer field")
	ErrTrailerTooLarge = chunkErr("trailer section too large")
)

type chunkErr string

func (e chunkErr) Error() string        { return string(e) }
func (e chunkErr) Is(target error) bool { return target == ErrChunked }

// Limits on the parts of a chunked body that are not data: an endless
// extension or trailer is an attack, not a message.
const (
	maxChunkDigits   = 15   // significant hex digits: 2^60 bytes
	maxChunkLine     = 4096 // a chunk-size line with its extensions
	MaxTrailerBytes  = 8192 // the whole trailer section
	maxTrailerFields = MaxFields
)

type chunkState uint8

const (
	csSize    chunkState = iota // chunk-size hex digits
	csSizeWS                    // whitespace after the size
	csExt                       // chunk-ext up to CR
	csSizeLF                    // LF after the size line's CR
	csData                      // chunk-data
	csDataCR                    // CR after chunk-data
	csDataLF                    // LF after chunk-data
	csTrailer                   // the trailer section, read whole
	csDone
)

// Chunked follows a chunked body as its bytes stream through and writes it
// again, re-framed (see the package documentation): chunk sizes in
// lower-case hexadecimal without leading zeros, extensions or whitespace;
// the data as is; the trailer section only once it is complete and valid,
// without the fields that must not be trailers. With dechunk, only the
// data is written.
//
// Every line must end in CRLF. The zero value is ready; Reset reuses one.
type Chunked struct {
	state  chunkState
	remain int64 // data bytes left in the current chunk
	digits int   // significant digits of the size
	seen   int   // digits of the size, leading zeros included
	line   int   // bytes of the current size line
	tscan  int   // trailer bytes already checked (they stay in src)
	// Trailers is the number of trailer fields seen (forwarded or not).
	Trailers int
}

// Reset prepares c for a new body.
func (c *Chunked) Reset() { *c = Chunked{} }

// Done reports whether the whole body, trailer section included, was read.
func (c *Chunked) Done() bool { return c.state == csDone }

// Transcode consumes a prefix of src and appends its re-framed form to
// dst. It stops at the end of the body, at the end of src, or at an
// incomplete trailer section: then n < len(src) and the caller calls again
// with more bytes after src[n:] (the trailer section, at most
// MaxTrailerBytes, is checked whole before any of it is written). Output is
// never longer than the input consumed.
func (c *Chunked) Transcode(dst, src []byte, dechunk bool) (out []byte, n int, err error) {
	out = dst
	for n < len(src) && c.state != csDone {
		switch c.state {
		case csData:
			k := len(src) - n
			if int64(k) > c.remain {
				k = int(c.remain)
			}
			out = append(out, src[n:n+k]...)
			n += k
			if c.remain -= int64(k); c.remain == 0 {
				c.state = csDataCR
			}
		case csTrailer:
			k, o, err := c.trailer(out, src[n:], dechunk)
			if err != nil || k == 0 {
				return o, n, err
			}
			return o, n + k, nil
		default:
			k, o, err := c.framing(out, src[n:], dechunk)
			out = o
			n += k
			if err != nil {
				return out, n, err
			}
		}
	}
	return out, n, nil
}

// framing consumes the bytes of size lines and chunk ends.
func (c *Chunked) framing(out, b []byte, dechunk bool) (int, []byte, error) {
	n := 0
	for n < len(b) {
		ch := b[n]
		n++
		switch c.state {
		case csSize, csSizeWS, csExt:
			if c.line++; c.line > maxChunkLine {
				return n, out, ErrChunkSize
			}
		}
		switch c.state {
		case csSize:
			if v := unhex(ch); v >= 0 {
				c.seen++
				if c.remain == 0 && v == 0 {
					break // a leading zero (1*HEXDIG allows them)
				}
				if c.digits++; c.digits > maxChunkDigits {
					return n, out, ErrChunkSize
				}
				c.remain = c.remain<<4 | int64(v)
				break
			}
			if c.seen == 0 {
				return n, out, ErrChunkSize // no digit at all
			}
			switch ch {
			case '\r':
				c.state = csSizeLF
			case ' ', '\t':
				c.state = csSizeWS
			case ';':
				c.state = csExt
			default:
				return n, out, ErrChunkSize
			}
		case csSizeWS:
			switch ch {
			case ' ', '\t':
			case ';':
				c.state = csExt
			case '\r':
				c.state = csSizeLF
			default:
				return n, out, ErrChunkSize
			}
		case csExt:
			// chunk-ext: dropped, but only visible characters, SP and HTAB
			// may be in it (a bare LF here is a smuggled line end).
			if ch == '\r' {
				c.state = csSizeLF
			} else if ch < ' ' && ch != '\t' || ch == 0x7f {
				return n, out, ErrChunkSize
			}
		case csSizeLF:
			if ch != '\n' {
				return n, out, ErrChunkSize
			}
			c.line, c.digits, c.seen = 0, 0, 0
			if c.remain == 0 {
				c.state = csTrailer
				return n, out, nil
			}
			if !dechunk {
				out = strconv.AppendInt(out, c.remain, 16)
				out = append(out, "\r\n"...)
			}
			c.state = csData
			return n, out, nil
		case csDataCR:
			if ch != '\r' {
				return n, out, ErrChunkEnd
			}
			c.state = csDataLF
		case csDataLF:
			if ch != '\n' {
				return n, out, ErrChunkEnd
			}
			if !dechunk {
				out = append(out, "\r\n"...)
			}
			c.state = csSize
		}
	}
	return n, out, nil
}

// trailer reads the trailer section from the start of b (RFC 9112 §7.1.2):
// field lines checked as header fields, then the empty line. Until that
// line is in b, it consumes nothing (n = 0, no error). Then it writes the
// last chunk, the fields that may be trailers and the empty line.
func (c *Chunked) trailer(out, b []byte, dechunk bool) (int, []byte, error) {
	for {
		j := bytes.IndexByte(b[c.tscan:], '\n')
		if j < 0 {
			if len(b) > MaxTrailerBytes {
				return 0, out, ErrTrailerTooLarge
			}
			return 0, out, nil
		}
		end := c.tscan + j + 1
		if end > MaxTrailerBytes {
			return 0, out, ErrTrailerTooLarge
		}
		if j == 0 || b[end-2] != '\r' {
			return 0, out, ErrTrailerField // bare LF
		}
		line := b[c.tscan : end-2]
		c.tscan = end
		if len(line) == 0 {
			break // the empty line: the section is complete
		}
		if _, _, ok := splitField(line); !ok {
			return 0, out, ErrTrailerField
		}
		if c.Trailers++; c.Trailers > maxTrailerFields {
			return 0, out, ErrTrailerTooLarge
		}
	}
	n := c.tscan
	c.state = csDone
	if dechunk {
		return n, out, nil
	}
	out = append(out, "0\r\n"...)
	for i := 0; i < n-2; {
		j := i + bytes.IndexByte(b[i:], '\n')
		line := b[i : j-1]
		if name, _, _ := splitField(line); !forbiddenTrailer(line[:name]) {
			out = append(out, b[i:j+1]...)
		}
		i = j + 1
	}
	return n, append(out, "\r\n"...), nil
}

// forbiddenTrailer reports whether a field must not be a trailer (RFC 9110
// §6.5.1): framing, routing, connection management, request modifiers,
// authentication, response control and content format. They are dropped.
func forbiddenTrailer(name []byte) bool {
	if HasPrefixFold(name, "if-") || HasPrefixFold(name, "content-") {
		return true // conditionals; content format and metadata
	}
	if classify(name) != KindOther {
		return true // framing, Host, Connection and hop-by-hop, cookies, X-Forwarded-*
	}
	for _, s := range [...]string{
		"authorization", "proxy-authorization", "proxy-authenticate", "www-authenticate",
		"cache-control", "expect", "max-forwards", "pragma", "range", "age", "expires",
		"date", "location", "retry-after", "vary", "warning",
	} {
		if EqFold(name, s) {
			return true
		}
	}
	return false
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
