package proxy

import "errors"

// errChunked reports malformed chunked framing (RFC 9112 §7.1).
var errChunked = errors.New("malformed chunked encoding")

// Limits on the non-data parts of a chunked body: they are streamed, not
// stored, but an endless extension or trailer is an attack, not a message.
const (
	maxChunkSizeDigits = 15 // 2^60 bytes
	maxChunkLineExtra  = 4096
	maxTrailerBytes    = bufSize
)

type chunkState uint8

const (
	csSize        chunkState = iota // chunk-size hex digits
	csExt                           // chunk-ext up to CR
	csSizeLF                        // LF after the size line's CR
	csData                          // chunk-data
	csDataCR                        // CR after chunk-data
	csDataLF                        // LF after chunk-data
	csTrailer                       // start of a trailer line (or the final CRLF)
	csTrailerLine                   // inside a trailer field line
	csTrailerLF                     // LF ending a trailer line
	csFinalLF                       // LF of the final empty line
	csDone
)

// chunkScanner follows the framing of a chunked body as its bytes stream
// through, so the proxy knows where the message ends without decoding it.
// It is strict: every line ends in CRLF.
type chunkScanner struct {
	state   chunkState
	remain  int64 // data bytes left in the current chunk
	digits  int
	extra   int // bytes of extension or trailer seen
	last    bool
	trailer bool // the trailer section is not empty
}

func (c *chunkScanner) reset() { *c = chunkScanner{} }

func (c *chunkScanner) done() bool { return c.state == csDone }

// step consumes a prefix of b: either only framing bytes (data=false) or
// only chunk data (data=true). It returns how much it consumed.
func (c *chunkScanner) step(b []byte) (n int, data bool, err error) {
	if c.state == csData {
		n := len(b)
		if int64(n) > c.remain {
			n = int(c.remain)
		}
		c.remain -= int64(n)
		if c.remain == 0 {
			c.state = csDataCR
		}
		return n, true, nil
	}
	for n < len(b) && c.state != csData && c.state != csDone {
		ch := b[n]
		n++
		switch c.state {
		case csSize:
			v := unhex(ch)
			switch {
			case v >= 0:
				if c.digits == maxChunkSizeDigits {
					return n, false, errChunked
				}
				c.remain = c.remain<<4 | int64(v)
				c.digits++
			case c.digits == 0:
				return n, false, errChunked
			case ch == '\r':
				c.state = csSizeLF
			case ch == ';' || ch == ' ' || ch == '\t':
				c.state = csExt
			default:
				return n, false, errChunked
			}
		case csExt:
			if ch == '\r' {
				c.state = csSizeLF
				break
			}
			if ch < ' ' && ch != '\t' || ch == 0x7f {
				return n, false, errChunked
			}
			if c.extra++; c.extra > maxChunkLineExtra {
				return n, false, errChunked
			}
		case csSizeLF:
			if ch != '\n' {
				return n, false, errChunked
			}
			c.digits, c.extra = 0, 0
			if c.remain == 0 {
				c.last = true
				c.state = csTrailer
			} else {
				c.state = csData
			}
		case csDataCR:
			if ch != '\r' {
				return n, false, errChunked
			}
			c.state = csDataLF
		case csDataLF:
			if ch != '\n' {
				return n, false, errChunked
			}
			c.state = csSize
		case csTrailer:
			if ch == '\r' {
				c.state = csFinalLF
				break
			}
			if ch < ' ' || ch == 0x7f || ch == ':' {
				return n, false, errChunked
			}
			c.trailer = true
			c.state = csTrailerLine
			if c.extra++; c.extra > maxTrailerBytes {
				return n, false, errChunked
			}
		case csTrailerLine:
			if ch == '\r' {
				c.state = csTrailerLF
				break
			}
			if ch < ' ' && ch != '\t' || ch == 0x7f {
				return n, false, errChunked
			}
			if c.extra++; c.extra > maxTrailerBytes {
				return n, false, errChunked
			}
		case csTrailerLF:
			if ch != '\n' {
				return n, false, errChunked
			}
			c.state = csTrailer
		case csFinalLF:
			if ch != '\n' {
				return n, false, errChunked
			}
			c.state = csDone
		}
	}
	return n, false, nil
}

// scan consumes as much of b as belongs to the body and reports it.
func (c *chunkScanner) scan(b []byte) (int, error) {
	n := 0
	for n < len(b) && c.state != csDone {
		k, _, err := c.step(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
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
