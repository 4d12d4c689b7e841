package health

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzHTTPParserPieces checks that the push parser judges a response as
// the reference bufio parser does, whatever pieces the response arrives
// in: same status, same kept body, same kind of error (same text for
// protocol errors).
func FuzzHTTPParserPieces(f *testing.F) {
	seeds := []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nTransfer-Encoding: gzip\r\n\r\nzz",
		"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y \r\nab",
	}
	for i, s := range seeds {
		f.Add([]byte(s), i%2 == 1, uint64(0x9e3779b97f4a7c15)*uint64(i+1), uint16(200))
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"), true, uint64(7), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, noBody bool, cuts uint64, want uint16) {
		const keep = 64
		var stop func(int) bool
		if want != 0 {
			stop = func(code int) bool { return code != int(want) }
		}
		ref, refErr := refReadHTTPResponse(bufio.NewReaderSize(bytes.NewReader(data), maxHeadLine), noBody, keep, stop)

		var h httpParser
		h.reset(noBody, keep, stop)
		rest := data
		for len(rest) > 0 && !h.done() {
			n := 1 + int(cuts%17)
			if cuts%5 == 0 {
				n = 1 + int(cuts%9000) // now and then a large piece
			}
			cuts = cuts*6364136223846793005 + 1442695040888963407
			n = min(n, len(rest))
			h.feed(rest[:n])
			rest = rest[n:]
		}
		if !h.done() {
			h.eof()
		}
		if h.status != ref.status {
			t.Fatalf("status %d, reference %d", h.status, ref.status)
		}
		var pe, rpe protoError
		switch {
		case refErr == nil, refErr == errStopped, errors.Is(refErr, io.ErrUnexpectedEOF):
			if h.err != refErr && !(errors.Is(refErr, io.ErrUnexpectedEOF) && errors.Is(h.err, io.ErrUnexpectedEOF)) {
				t.Fatalf("error %v, reference %v", h.err, refErr)
			}
		case errors.As(refErr, &rpe):
			if !errors.As(h.err, &pe) || pe != rpe {
				t.Fatalf("error %v, reference %v", h.err, refErr)
			}
		default:
			t.Fatalf("reference error %v", refErr)
		}
		if refErr == nil && !bytes.Equal(h.body, ref.body) {
			t.Fatalf("body %q, reference %q", h.body, ref.body)
		}
		if refErr == nil && string(h.reason) != ref.reason {
			t.Fatalf("reason %q, reference %q", h.reason, ref.reason)
		}
	})
}

// TestHTTPParserByteByByte feeds the table of TestReadHTTPResponse one
// byte at a time.
func TestHTTPParserByteByByte(t *testing.T) {
	in := "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nstat\r\n6;x=y\r\nus: ok\r\n0\r\nX-T: 1\r\n\r\ntrailing"
	var h httpParser
	h.reset(false, 100, nil)
	for i := 0; i < len(in) && !h.done(); i++ {
		h.feed([]byte{in[i]})
	}
	if !h.done() || h.err != nil || h.status != 200 || string(h.body) != "status: ok" {
		t.Fatalf("done %v err %v status %d body %q", h.done(), h.err, h.status, h.body)
	}
}
