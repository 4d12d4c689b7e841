package desync

import (
	"lbd/h1"
)

// bufSize is the proxy's buffer: a request head must fit in it.
const bufSize = 16384

// reference reads raw as lbd's codec does and says what must happen to
// each message: forwarded (with the method, target, Host and body the
// origin must read), refused, or cut short. It stops at the first refused
// or cut message and after one that closes the connection. With the
// origin reading what lbd forwards through another parser, checking the
// origin against this is checking that the two agree on every boundary.
func reference(raw []byte) []want {
	var ws []want
	b := raw
	for {
		b = b[h1.SkipLeadingCRLF(b):]
		if len(b) == 0 {
			return ws
		}
		end, _ := h1.HeadEnd(b, 0)
		if end < 0 || end > bufSize {
			if len(b) < bufSize {
				return append(ws, want{kind: cut})
			}
			status := 431
			if i := indexLF(b[:bufSize]); i < 0 {
				status = 414
			}
			return append(ws, rej(status))
		}
		var m h1.Head
		if e := m.ParseRequest(b[:end]); e != h1.OK {
			return append(ws, rej(e.Status()))
		}
		w := fwd(string(m.Bytes(m.Method)), string(m.Bytes(m.Target)), string(m.HostField()), "")
		fr, n := m.RequestFraming()
		rest := b[end:]
		switch fr {
		case h1.FramingLength:
			if int64(len(rest)) < n {
				return append(ws, want{kind: cut})
			}
			w.body, rest = string(rest[:n]), rest[n:]
		case h1.FramingChunked:
			var c h1.Chunked
			data, k, err := c.Transcode(nil, rest, true)
			if err != nil {
				return append(ws, rej(400))
			}
			if !c.Done() {
				return append(ws, want{kind: cut})
			}
			w.body, rest = string(data), rest[k:]
		}
		ws = append(ws, w)
		if !m.KeepAlive() {
			return ws
		}
		b = rest
	}
}

func indexLF(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}
