package h1

import (
	"errors"
	"strings"
	"testing"
)

func TestChunkedTable(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int    // bytes of in consumed
		done bool   // the body ended
		out  string // re-framed
		data string // de-chunked
		err  error
	}{
		{name: "simple", in: "5\r\nhello\r\n0\r\n\r\nNEXT", n: 15, done: true, out: "5\r\nhello\r\n0\r\n\r\n", data: "hello"},
		{name: "two chunks, extension dropped", in: "2\r\nhe\r\n3;ext=1\r\nllo\r\n0\r\n\r\n", n: 26, done: true, out: "2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n", data: "hello"},
		{name: "quoted extension", in: "1;a=\"b c\";d\r\nx\r\n0;e\r\n\r\n", n: 23, done: true, out: "1\r\nx\r\n0\r\n\r\n", data: "x"},
		{name: "hex upper", in: "A\r\n0123456789\r\n0\r\n\r\n", n: 20, done: true, out: "a\r\n0123456789\r\n0\r\n\r\n", data: "0123456789"},
		{name: "leading zeros", in: "00000000000000000000005\r\nhello\r\n000\r\n\r\n", n: 39, done: true, out: "5\r\nhello\r\n0\r\n\r\n", data: "hello"},
		{name: "whitespace after size", in: "5 \t\r\nhello\r\n0 ;x\r\n\r\n", n: 20, done: true, out: "5\r\nhello\r\n0\r\n\r\n", data: "hello"},
		{name: "trailers kept", in: "1\r\nx\r\n0\r\nX-T: 1\r\nY:2\r\n\r\nZ", n: 24, done: true, out: "1\r\nx\r\n0\r\nX-T: 1\r\nY:2\r\n\r\n", data: "x"},
		{name: "forbidden trailers dropped", in: "0\r\nContent-Length: 5\r\nHost: evil\r\nTransfer-Encoding: chunked\r\nX-Ok: 1\r\nAuthorization: x\r\nContent-Type: a\r\nIf-Match: b\r\n\r\n", n: 121, done: true, out: "0\r\nX-Ok: 1\r\n\r\n"},
		{name: "partial data", in: "5\r\nhel", n: 6, out: "5\r\nhel", data: "hel"},
		{name: "partial last chunk", in: "0\r\n", n: 3},
		{name: "incomplete trailer section", in: "1\r\nx\r\n0\r\nX-T: 1\r\n", n: 9, out: "1\r\nx\r\n", data: "x"},
		{name: "bare LF size", in: "5\nhello\r\n", err: ErrChunkSize},
		{name: "no size", in: "\r\n", err: ErrChunkSize},
		{name: "bad hex", in: "g\r\n", err: ErrChunkSize},
		{name: "0x prefix", in: "0x5\r\n", err: ErrChunkSize},
		{name: "negative", in: "-5\r\n", err: ErrChunkSize},
		{name: "junk after size", in: "5 x\r\n", err: ErrChunkSize},
		{name: "missing CRLF after data", in: "1\r\nxy", err: ErrChunkEnd},
		{name: "LF only after data", in: "1\r\nx\n0\r\n\r\n", err: ErrChunkEnd},
		{name: "overflow", in: strings.Repeat("f", 16) + "\r\n", err: ErrChunkSize},
		{name: "too many zeros", in: strings.Repeat("0", 5000) + "1\r\n", err: ErrChunkSize},
		{name: "ctl in ext", in: "1;\x01\r\n", err: ErrChunkSize},
		{name: "bare LF in ext", in: "1;a\nGET / HTTP/1.1\r\n", err: ErrChunkSize},
		{name: "request line as trailer", in: "0\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", err: ErrTrailerField},
		{name: "space in trailer name", in: "0\r\nX Y: z\r\n\r\n", err: ErrTrailerField},
		{name: "trailer without colon", in: "0\r\nnocolon\r\n\r\n", err: ErrTrailerField},
		{name: "obs-fold trailer", in: "0\r\nX: a\r\n b\r\n\r\n", err: ErrTrailerField},
		{name: "bare LF trailer", in: "0\r\nX: a\n\r\n", err: ErrTrailerField},
		{name: "NUL in trailer", in: "0\r\nX: a\x00\r\n\r\n", err: ErrTrailerField},
		{name: "too many trailers", in: "0\r\n" + strings.Repeat("a:b\r\n", 101) + "\r\n", err: ErrTrailerTooLarge},
		{name: "trailer too large", in: "0\r\nX: " + strings.Repeat("a", 20000) + "\r\n\r\n", err: ErrTrailerTooLarge},
		{name: "endless trailer line", in: "0\r\nX: " + strings.Repeat("a", 9000), err: ErrTrailerTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Chunked
			out, n, err := c.Transcode(nil, []byte(tc.in), false)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !errors.Is(err, ErrChunked) {
					t.Fatalf("err %v, want %v (n=%d out=%q)", err, tc.err, n, out)
				}
				return
			}
			if err != nil || n != tc.n || c.Done() != tc.done || string(out) != tc.out {
				t.Fatalf("n=%d done=%v err=%v out=%q, want n=%d done=%v out=%q", n, c.Done(), err, out, tc.n, tc.done, tc.out)
			}
			if len(out) > n {
				t.Fatalf("output %d longer than input %d", len(out), n)
			}
			// Byte by byte (the trailer section kept in src until it is
			// complete, as callers do), de-chunked, must agree.
			var d Chunked
			var data, src []byte
			in := []byte(tc.in)
			pos := 0
			for pos < len(in) && !d.Done() {
				src = append(src, in[pos])
				pos++
				var k int
				data, k, err = d.Transcode(data, src, true)
				if err != nil {
					t.Fatal(err)
				}
				src = src[k:]
			}
			if d.Done() != tc.done || string(data) != tc.data || (tc.done && pos-len(src) != tc.n) {
				t.Fatalf("stepwise: done=%v consumed %d data %q", d.Done(), pos-len(src), data)
			}
		})
	}
}

// TestChunkedReframedIsStable: what Transcode writes, transcoded again,
// comes out unchanged (the output is canonical).
func TestChunkedReframedIsStable(t *testing.T) {
	in := "0A;x=1\r\n0123456789\r\n 1\r\n"
	var c Chunked
	if _, _, err := c.Transcode(nil, []byte(in), false); err == nil {
		t.Fatal("leading space accepted")
	}
	in = "0A;x=1\r\n0123456789\r\n1 \r\nx\r\n0\r\nA: b\r\nContent-Length: 1\r\n\r\n"
	c.Reset()
	once, _, err := c.Transcode(nil, []byte(in), false)
	if err != nil || !c.Done() {
		t.Fatal(err)
	}
	c.Reset()
	twice, _, err := c.Transcode(nil, once, false)
	if err != nil || string(twice) != string(once) {
		t.Fatalf("%q -> %q (%v)", once, twice, err)
	}
}
