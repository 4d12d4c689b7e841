package h2

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"lbd/h1"
)

// seedFrames returns frame sequences for the fuzz targets' corpora.
func seedFrames() [][]byte {
	var seeds [][]byte
	add := func(f func(fr *http2.Framer, enc func(...string) []byte)) {
		var b bytes.Buffer
		fr := http2.NewFramer(&b, nil)
		fr.AllowIllegalWrites = true
		var eb bytes.Buffer
		e := hpack.NewEncoder(&eb)
		enc := func(fields ...string) []byte {
			eb.Reset()
			for _, s := range fields {
				i := strings.Index(s[1:], ": ") + 1
				e.WriteField(hpack.HeaderField{Name: s[:i], Value: s[i+2:]})
			}
			return append([]byte(nil), eb.Bytes()...)
		}
		f(fr, enc)
		seeds = append(seeds, b.Bytes())
	}
	add(func(fr *http2.Framer, enc func(...string) []byte) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(get("accept: */*")...), EndStream: true, EndHeaders: true})
	})
	add(func(fr *http2.Framer, enc func(...string) []byte) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(":method: POST", ":scheme: https", ":path: /", ":authority: a", "content-length: 3"), EndHeaders: true})
		fr.WriteData(1, false, []byte("ab"))
		fr.WriteData(1, true, []byte("c"))
	})
	add(func(fr *http2.Framer, enc func(...string) []byte) {
		blk := enc(":method: POST", ":scheme: https", ":path: /", ":authority: a", "cookie: a=1", "cookie: b=2")
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: blk[:5], EndHeaders: false})
		fr.WriteContinuation(3, true, blk[5:])
		fr.WriteDataPadded(3, false, []byte("xyz"), []byte{0, 0})
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: enc("grpc-status: 0"), EndStream: true, EndHeaders: true})
	})
	add(func(fr *http2.Framer, enc func(...string) []byte) {
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1})
		fr.WritePing(false, [8]byte{1})
		fr.WriteWindowUpdate(0, 100)
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 5, BlockFragment: enc(get()...), EndHeaders: true, Priority: http2.PriorityParam{StreamDep: 1, Weight: 9}})
		fr.WriteRSTStream(5, http2.ErrCodeCancel)
		fr.WritePriority(7, http2.PriorityParam{StreamDep: 5})
		fr.WriteGoAway(0, http2.ErrCodeNo, nil)
	})
	add(func(fr *http2.Framer, enc func(...string) []byte) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(get("x: a\r\nGET /evil HTTP/1.1", "Up: x", "transfer-encoding: chunked")...), EndStream: true, EndHeaders: true})
	})
	return seeds
}

// FuzzServerFrames feeds a client's frames to the server role. Whatever
// the bytes, every request handed to the engine is one HTTP/1.1 head and
// nothing more, whose framing is the one the stream's body follows, and
// no stream's body goes past its content-length.
func FuzzServerFrames(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add(s, uint16(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		r := newRig(t, RoleServer, Config{MaxConcurrentStreams: 8, GlitchesThreshold: 100})
		cut := int(split) % (len(data) + 1)
		for _, part := range [][]byte{data[:cut], data[cut:]} {
			r.in.Write(part)
			r.flush()
		}
		for _, q := range r.h.reqs {
			if q.status != 0 {
				continue
			}
			checkRequestHead(t, []byte(q.head), q.chunked, q.st)
			if cl := q.st.contentLength; cl >= 0 && int64(len(r.h.data[q.id])) > cl {
				t.Fatalf("stream %d: %d bytes handed on past content-length %d", q.id, len(r.h.data[q.id]), cl)
			}
		}
		drainFrames(t, r.c.Output(nil))
	})
}

// checkRequestHead: the head is exactly one head, and when h1 accepts it
// its framing is the stream's.
func checkRequestHead(t *testing.T, head []byte, chunked bool, st *Stream) {
	t.Helper()
	if end, _ := h1.HeadEnd(head, 0); end != len(head) {
		t.Fatalf("the head ends at %d of %d: %q", end, len(head), head)
	}
	var m h1.Head
	if m.ParseRequest(head) != h1.OK {
		return // refused by the engine's parser: a 4xx, nothing forwarded
	}
	if m.Chunked != chunked || !chunked && st != nil && m.ContentLength != st.contentLength && !(m.ContentLength == -1 && st.contentLength == -1) {
		t.Fatalf("framing: h1 chunked %v length %d, stream chunked %v length %d: %q", m.Chunked, m.ContentLength, chunked, st.contentLength, head)
	}
}

// drainFrames reads the output as frames: it must be well formed.
func drainFrames(t *testing.T, out []byte) {
	t.Helper()
	rd := http2.NewFramer(nil, bytes.NewReader(out))
	rd.ReadMetaHeaders = hpack.NewDecoder(65536, nil)
	rd.MaxHeaderListSize = 1 << 24
	for {
		_, err := rd.ReadFrame()
		if err == io.EOF {
			return
		}
		if err != nil {
			if _, ok := err.(http2.StreamError); ok {
				continue
			}
			t.Fatalf("the connection wrote a bad frame: %v", err)
		}
	}
}

// FuzzRequestTranslation: fields as a client sends them ("name\x00value"
// lines), HPACK-encoded in a request. Either the request is refused, or
// the HTTP/1.1 head says exactly what the fields said: the same method,
// target and host, and every regular field with its value, no more.
func FuzzRequestTranslation(f *testing.F) {
	f.Add("GET\n/a?b\nexample.com\naccept\x00*/*\ncookie\x00a=1\ncookie\x00b=2")
	f.Add("POST\n/\nh\ncontent-length\x005\nx\x00y")
	f.Add("GET\n/\nh\nx\x00a\r\nGET / HTTP/1.1")
	f.Add("GET\n/\nh\nTransfer-Encoding\x00chunked")
	f.Add("GET\n/\nh\nhost\x00other")
	f.Add("0\n/\n 00")                                    // whitespace around :authority
	f.Add("0\n/0\n00000000000\n00000\x00000\ncookie\x00") // an empty cookie
	f.Fuzz(func(t *testing.T, in string) {
		lines := strings.Split(in, "\n")
		if len(lines) < 3 {
			return
		}
		fields := []string{":method: " + lines[0], ":scheme: https", ":path: " + lines[1], ":authority: " + lines[2]}
		type kv struct{ k, v string }
		var regular []kv
		for _, l := range lines[3:] {
			k, v, _ := strings.Cut(l, "\x00")
			regular = append(regular, kv{k, v})
		}
		r := newRig(t, RoleServer, Config{})
		r.eb.Reset()
		for _, s := range fields {
			i := strings.Index(s[1:], ": ") + 1
			r.enc.WriteField(hpack.HeaderField{Name: s[:i], Value: s[i+2:]})
		}
		for _, x := range regular {
			r.enc.WriteField(hpack.HeaderField{Name: x.k, Value: x.v})
		}
		r.peer.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: append([]byte(nil), r.eb.Bytes()...), EndStream: true, EndHeaders: true})
		r.flush()
		if len(r.h.reqs) == 0 || r.h.reqs[0].status != 0 {
			return // refused
		}
		head := []byte(r.h.reqs[0].head)
		checkRequestHead(t, head, false, r.h.reqs[0].st)
		var m h1.Head
		if e := m.ParseRequest(head); e != h1.OK {
			return
		}
		if string(m.Bytes(m.Method)) != lines[0] || string(m.Bytes(m.Target)) != lines[1] || !h1.EqFold(m.HostField(), strings.ToLower(lines[2])) {
			t.Fatalf("request line or host changed: %q from %q", head, in)
		}
		var cookies []string
		want := map[string][]string{}
		for _, x := range regular {
			switch x.k {
			case "cookie":
				cookies = append(cookies, x.v)
			case "host", "content-length":
			default:
				want[x.k] = append(want[x.k], x.v)
			}
		}
		if len(cookies) > 0 {
			want["cookie"] = []string{strings.Join(cookies, "; ")}
		}
		got := map[string][]string{}
		for i := range m.Fields {
			fl := &m.Fields[i]
			k := string(m.Bytes(fl.Name))
			if k == "host" || k == "content-length" {
				continue
			}
			got[k] = append(got[k], string(m.Bytes(fl.Value)))
		}
		if len(got) != len(want) {
			t.Fatalf("fields %q, want %q (head %q)", got, want, head)
		}
		for k, vs := range want {
			if strings.Join(got[k], "\x00") != strings.Join(vs, "\x00") {
				t.Fatalf("field %s: %q, want %q", k, got[k], vs)
			}
		}
	})
}

// FuzzClientFrames feeds a server's frames to the client role, on a
// request it sent: every response head handed to the engine is one
// HTTP/1.1 head whose framing is the one the body follows.
func FuzzClientFrames(f *testing.F) {
	var b bytes.Buffer
	fr := http2.NewFramer(&b, nil)
	var eb bytes.Buffer
	e := hpack.NewEncoder(&eb)
	e.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	e.WriteField(hpack.HeaderField{Name: "content-type", Value: "application/grpc"})
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: eb.Bytes(), EndHeaders: true})
	fr.WriteData(1, false, []byte("\x00\x00\x00\x00\x01a"))
	eb.Reset()
	e.WriteField(hpack.HeaderField{Name: "grpc-status", Value: "0"})
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: eb.Bytes(), EndStream: true, EndHeaders: true})
	f.Add(b.Bytes())
	for _, s := range seedFrames() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newRig(t, RoleClient, Config{})
		st := r.c.OpenStream()
		if st == nil {
			t.Fatal("cannot open a stream")
		}
		req := []byte("POST /svc HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n\r\n1\r\nx\r\n0\r\n\r\n")
		if n, err := r.c.WriteH1(st, req); n != len(req) || err != nil {
			t.Fatalf("WriteH1 %d %v", n, err)
		}
		r.in.Write(data)
		r.flush()
		for _, p := range r.h.resps {
			head := []byte(p.head)
			if end, _ := h1.HeadEnd(head, 0); end != len(head) {
				t.Fatalf("the head ends at %d of %d: %q", end, len(head), head)
			}
			var m h1.Head
			if m.ParseResponse(head) != h1.OK {
				continue
			}
			if !p.interim && m.Chunked != p.chunked {
				t.Fatalf("framing: h1 chunked %v, stream %v: %q", m.Chunked, p.chunked, head)
			}
		}
		drainFrames(t, r.c.Output(nil))
	})
}

// FuzzWriteH1 writes arbitrary bytes as the engine's response on a
// stream: no panic, and what comes out is well-formed frames carrying no
// more data than went in.
func FuzzWriteH1(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), uint8(3))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\na: b\r\n\r\n"), uint8(10))
	f.Add([]byte("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"), uint8(0))
	f.Add([]byte("HTTP/1.1 200 OK\r\n\r\nuntil close"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		r := newRig(t, RoleServer, Config{})
		r.headers(1, true, get()...)
		r.flush()
		st := r.h.reqs[0].st
		n := int(step)%64 + 1
		for i := 0; i < len(data); i += n {
			if _, err := r.c.WriteH1(st, data[i:min(i+n, len(data))]); err != nil {
				break
			}
		}
		r.c.FinishH1(st, true)
		out := r.c.Output(nil)
		drainFrames(t, out)
		rd := http2.NewFramer(nil, bytes.NewReader(out))
		total := 0
		for {
			fr, err := rd.ReadFrame()
			if err != nil {
				break
			}
			if d, ok := fr.(*http2.DataFrame); ok {
				total += len(d.Data())
			}
		}
		if total > len(data) {
			t.Fatalf("%d data bytes out of %d in", total, len(data))
		}
	})
}
