package h2

import (
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"lbd/h1"
)

// TestRequestTranslation: valid requests become the HTTP/1.1 heads lbd's
// engine parses; h1 accepts every one of them.
func TestRequestTranslation(t *testing.T) {
	cases := []struct {
		name   string
		fields []string
		end    bool
		want   string
	}{
		{"get", get("accept: */*", "user-agent: t"), true,
			"GET /x?y=1 HTTP/1.1\r\nhost: example.com\r\naccept: */*\r\nuser-agent: t\r\n\r\n"},
		{"host field without :authority", []string{":method: GET", ":scheme: http", ":path: /", "host: h.example"}, true,
			"GET / HTTP/1.1\r\nhost: h.example\r\n\r\n"},
		{"authority and the same host", get("host: EXAMPLE.com"), true,
			"GET /x?y=1 HTTP/1.1\r\nhost: example.com\r\n\r\n"},
		{"cookie crumbs joined", get("cookie: a=1", "x: y", "cookie: b=2"), true,
			"GET /x?y=1 HTTP/1.1\r\nhost: example.com\r\nx: y\r\ncookie: a=1; b=2\r\n\r\n"},
		{"post with content-length", []string{":method: POST", ":scheme: https", ":path: /p", ":authority: a", "content-length: 5"}, false,
			"POST /p HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\n\r\n"},
		{"post without content-length is chunked", []string{":method: POST", ":scheme: https", ":path: /p", ":authority: a"}, false,
			"POST /p HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n"},
		{"te trailers kept for h1 to drop", get("te: trailers"), true,
			"GET /x?y=1 HTTP/1.1\r\nhost: example.com\r\nte: trailers\r\n\r\n"},
		{"options star", []string{":method: OPTIONS", ":scheme: https", ":path: *", ":authority: a"}, true,
			"OPTIONS * HTTP/1.1\r\nhost: a\r\n\r\n"},
		{"connect for a 501", []string{":method: CONNECT", ":authority: a:443"}, true,
			"CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\n\r\n"},
		{"content-length zero and end", []string{":method: POST", ":scheme: https", ":path: /", ":authority: a", "content-length: 0"}, true,
			"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 0\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, RoleServer, Config{})
			r.headers(1, tc.end, tc.fields...)
			r.flush()
			if len(r.h.reqs) != 1 {
				t.Fatalf("requests %d, refused %v, err %v", len(r.h.reqs), r.h.refused, r.err)
			}
			q := r.h.reqs[0]
			if q.head != tc.want {
				t.Fatalf("head\n%q\nwant\n%q", q.head, tc.want)
			}
			var m h1.Head
			if e := m.ParseRequest([]byte(q.head)); e != h1.OK && e != h1.ErrMethodNotImpl {
				t.Fatalf("h1 refuses the translation: %v", e)
			}
		})
	}
}

// TestMalformedRequests: every request RFC 9113 §8 calls malformed is a
// stream error of type PROTOCOL_ERROR, and nothing of it is handed on.
func TestMalformedRequests(t *testing.T) {
	cases := []struct {
		name   string
		fields []string
	}{
		{"uppercase name", get("Accept: x")},
		{"connection", get("connection: close")},
		{"keep-alive", get("keep-alive: 5")},
		{"proxy-connection", get("proxy-connection: x")},
		{"transfer-encoding", get("transfer-encoding: chunked")},
		{"upgrade", get("upgrade: websocket")},
		{"te gzip", get("te: gzip")},
		{"CR in value", get("x: a\rb")},
		{"LF in value", get("x: a\nGET /smuggled HTTP/1.1")},
		{"NUL in value", get("x: a\x00b")},
		{"leading space in value", get("x:  a")},
		{"trailing tab in value", get("x: a\t")},
		{"space in name", get("a b: c")},
		{"colon in name", get("a:b: c")},
		{"empty name", get(": c")},
		{"missing :method", []string{":scheme: https", ":path: /", ":authority: a"}},
		{"missing :path", []string{":method: GET", ":scheme: https", ":authority: a"}},
		{"missing :scheme", []string{":method: GET", ":path: /", ":authority: a"}},
		{"empty :path", []string{":method: GET", ":scheme: https", ":path: ", ":authority: a"}},
		{"relative :path", []string{":method: GET", ":scheme: https", ":path: x", ":authority: a"}},
		{"space in :path", []string{":method: GET", ":scheme: https", ":path: /a b", ":authority: a"}},
		{"star for GET", []string{":method: GET", ":scheme: https", ":path: *", ":authority: a"}},
		{"repeated :path", []string{":method: GET", ":scheme: https", ":path: /", ":path: /b", ":authority: a"}},
		{"unknown pseudo", get(":foo: bar")},
		{"pseudo after regular", []string{":method: GET", ":scheme: https", "x: y", ":path: /", ":authority: a"}},
		{":status in request", get(":status: 200")},
		{"authority and host disagree", get("host: evil.example")},
		{"repeated host", []string{":method: GET", ":scheme: https", ":path: /", "host: a", "host: b"}},
		{"bad content-length", get("content-length: 1x")},
		{"conflicting content-length", get("content-length: 1", "content-length: 2")},
		{"content-length with END_STREAM", get("content-length: 3")},
		{"CONNECT with a path", []string{":method: CONNECT", ":authority: a:1", ":path: /"}},
		{"method not a token", []string{":method: G T", ":scheme: https", ":path: /", ":authority: a"}},
		{"ftp scheme", []string{":method: GET", ":scheme: ftp", ":path: /", ":authority: a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, RoleServer, Config{})
			r.headers(1, true, tc.fields...)
			// A good request after it on the same connection still works:
			// the HPACK state is intact.
			r.headers(3, true, get()...)
			r.flush()
			fs := r.frames()
			if code, ok := rst(fs, 1); !ok || code != ErrCodeProtocol {
				t.Fatalf("stream 1: RST_STREAM %v %v, want PROTOCOL_ERROR (refused %v, err %v)", code, ok, r.h.refused, r.err)
			}
			if len(r.h.reqs) != 1 || r.h.reqs[0].id != 3 {
				t.Fatalf("requests handed on: %+v", r.h.reqs)
			}
			if len(r.h.refused) != 1 {
				t.Fatalf("refused %v", r.h.refused)
			}
		})
	}
}

// TestContentLengthAgainstData: a body longer or shorter than its
// content-length resets the stream (RFC 9113 §8.1.1), before the bytes
// past it are handed on.
func TestContentLengthAgainstData(t *testing.T) {
	post := []string{":method: POST", ":scheme: https", ":path: /", ":authority: a", "content-length: 4"}
	for _, tc := range []struct {
		name   string
		frames [][]byte
		ok     bool
	}{
		{"exact", [][]byte{[]byte("ab"), []byte("cd")}, true},
		{"longer", [][]byte{[]byte("abcdGET / HTTP/1.1\r\n\r\n")}, false},
		{"shorter", [][]byte{[]byte("abc")}, false},
		{"longer in the second frame", [][]byte{[]byte("abcd"), []byte("e")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, RoleServer, Config{})
			r.headers(1, false, post...)
			for i, d := range tc.frames {
				r.peer.WriteData(1, i == len(tc.frames)-1, d)
			}
			r.flush()
			_, reset := rst(r.frames(), 1)
			if reset == tc.ok {
				t.Fatalf("reset %v, want %v", reset, !tc.ok)
			}
			if got := r.h.data[1]; len(got) > 4 {
				t.Fatalf("handed on %q: more than the content-length", got)
			}
			if !tc.ok && r.h.resets[1] != ErrCodeProtocol {
				t.Fatalf("handler reset %v", r.h.resets[1])
			}
		})
	}
}

// TestRequestTrailers: trailers end a chunked body as field lines.
func TestRequestTrailers(t *testing.T) {
	r := newRig(t, RoleServer, Config{})
	r.headers(1, false, ":method: POST", ":scheme: https", ":path: /", ":authority: a", "te: trailers")
	r.peer.WriteData(1, false, []byte("body"))
	r.headers(1, true, "grpc-status: 0", "x-trace: abc")
	r.flush()
	if len(r.h.reqs) != 1 || !r.h.reqs[0].chunked {
		t.Fatalf("request %+v", r.h.reqs)
	}
	if got := r.h.trailers[1]; got != "grpc-status: 0\r\nx-trace: abc\r\n" {
		t.Fatalf("trailers %q", got)
	}
	// Trailers with a pseudo-header or without END_STREAM are malformed.
	r.headers(3, false, ":method: POST", ":scheme: https", ":path: /", ":authority: a")
	r.headers(3, true, ":path: /x")
	r.headers(5, false, ":method: POST", ":scheme: https", ":path: /", ":authority: a")
	r.headers(5, false, "x: y")
	r.flush()
	fs := r.frames()
	for _, id := range []uint32{3, 5} {
		if code, ok := rst(fs, id); !ok || code != ErrCodeProtocol {
			t.Errorf("stream %d: %v %v", id, code, ok)
		}
	}
}

// TestResponseWriting: an HTTP/1.1 response from the engine comes out as
// HEADERS and DATA, hop-by-hop fields gone, names in lower case, the
// content-length from the parse, the chunked trailers as HEADERS.
func TestResponseWriting(t *testing.T) {
	r := newRig(t, RoleServer, Config{})
	r.headers(1, true, get()...)
	r.headers(3, true, get()...)
	r.flush()
	r.frames()
	st1, st3 := r.h.reqs[0].st, r.h.reqs[1].st
	resp := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello"
	// In pieces, as the engine may write it.
	for _, piece := range []string{resp[:20], resp[20:90], resp[90:]} {
		if n, err := r.c.WriteH1(st1, []byte(piece)); n != len(piece) || err != nil {
			t.Fatalf("WriteH1 %d %v", n, err)
		}
	}
	chunked := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: grpc-status\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n"
	if n, err := r.c.WriteH1(st3, []byte(chunked)); n != len(chunked) || err != nil {
		t.Fatalf("WriteH1 chunked %d %v", n, err)
	}
	r.out.Write(r.c.Output(nil))
	var heads []*http2.MetaHeadersFrame
	data := map[uint32]string{}
	ended := map[uint32]bool{}
	for _, f := range r.frames() {
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			heads = append(heads, f)
			if f.StreamEnded() {
				ended[f.StreamID] = true
			}
		case *dataCopy:
			data[f.StreamID] += string(f.data)
			if f.end {
				ended[f.StreamID] = true
			}
		}
	}
	if len(heads) != 3 {
		t.Fatalf("%d header blocks", len(heads))
	}
	want := map[string]string{":status": "200", "content-type": "text/plain", "content-length": "5", "x-a": "b"}
	got := map[string]string{}
	for _, f := range heads[0].Fields {
		got[f.Name] = f.Value
	}
	if len(got) != len(want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if data[1] != "hello" || data[3] != "abcde" || !ended[1] || !ended[3] {
		t.Errorf("data %v ended %v", data, ended)
	}
	tr := heads[2]
	if tr.StreamID != 3 || !tr.StreamEnded() || len(tr.Fields) != 2 || tr.Fields[0].Name != "grpc-status" || tr.Fields[1].Value != "ok" {
		t.Errorf("trailers %+v", tr.Fields)
	}
}

// TestFlowControl: DATA stops at the peer's windows and goes on with its
// WINDOW_UPDATEs; SETTINGS_INITIAL_WINDOW_SIZE changes apply to open
// streams.
func TestFlowControl(t *testing.T) {
	r := newRig(t, RoleServer, Config{})
	r.peer.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	r.headers(1, true, get()...)
	r.flush()
	r.frames()
	st := r.h.reqs[0].st
	body := strings.Repeat("x", 100)
	msg := []byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + body)
	n, err := r.c.WriteH1(st, msg)
	if err != nil || n != len(msg)-90 {
		t.Fatalf("WriteH1 took %d (%v), want all but 90", n, err)
	}
	if !r.c.Blocked(st) {
		t.Fatal("not blocked")
	}
	r.peer.WriteWindowUpdate(1, 50)
	r.flush()
	m, _ := r.c.WriteH1(st, msg[n:])
	if m != 50 {
		t.Fatalf("after +50: %d", m)
	}
	r.peer.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 50})
	r.flush()
	k, _ := r.c.WriteH1(st, msg[n+m:])
	if k != 40 || !st.Complete() {
		t.Fatalf("after the new initial window: %d complete %v", k, st.Complete())
	}
}

// TestReceiveWindows: what the engine consumes is given back in
// WINDOW_UPDATEs of half a window at a time; a peer that sends past its
// window is stopped.
func TestReceiveWindows(t *testing.T) {
	r := newRig(t, RoleServer, Config{InitialWindowSize: 1000, MaxConcurrentStreams: 2})
	r.headers(1, false, ":method: POST", ":scheme: https", ":path: /", ":authority: a")
	r.peer.WriteData(1, false, make([]byte, 600))
	r.flush()
	r.frames()
	st := r.h.reqs[0].st
	r.c.Consumed(st, 400)
	r.flush()
	if fs := r.frames(); len(fs) != 0 {
		t.Fatalf("window update before half a window: %v", fs)
	}
	r.c.Consumed(st, 200)
	r.flush()
	var inc uint32
	for _, f := range r.frames() {
		if w, ok := f.(*http2.WindowUpdateFrame); ok && w.StreamID == 1 {
			inc = w.Increment
		}
	}
	if inc != 600 {
		t.Fatalf("stream window update %d, want 600", inc)
	}
	r.peer.WriteData(1, false, make([]byte, 1001))
	r.flush()
	if code, ok := rst(r.frames(), 1); !ok || code != ErrCodeFlowControl {
		t.Fatalf("over the window: %v %v", code, ok)
	}
}

// TestStreamStates: frames on idle, half-closed and closed streams (RFC
// 9113 §5.1).
func TestStreamStates(t *testing.T) {
	cases := []struct {
		name  string
		run   func(r *rig)
		conn  ErrCode // connection error expected, or
		strm  ErrCode // stream error expected on stream 1
		isErr bool
	}{
		{"DATA on idle", func(r *rig) { r.peer.WriteData(1, true, []byte("x")) }, ErrCodeProtocol, 0, true},
		{"RST_STREAM on idle", func(r *rig) { r.peer.WriteRSTStream(1, ErrCodeCancel) }, ErrCodeProtocol, 0, true},
		{"WINDOW_UPDATE on idle", func(r *rig) { r.peer.WriteWindowUpdate(1, 1) }, ErrCodeProtocol, 0, true},
		{"even stream", func(r *rig) { r.headers(2, true, get()...) }, ErrCodeProtocol, 0, true},
		{"decreasing identifier", func(r *rig) { r.headers(5, true, get()...); r.headers(3, true, get()...) }, ErrCodeProtocol, 0, true},
		{"DATA on half-closed (remote)", func(r *rig) { r.headers(1, true, get()...); r.peer.WriteData(1, true, []byte("x")) }, 0, ErrCodeStreamClosed, false},
		{"HEADERS on half-closed (remote)", func(r *rig) { r.headers(1, true, get()...); r.headers(1, true, get()...) }, ErrCodeStreamClosed, 0, true},
		{"self dependency", func(r *rig) {
			r.peer.WritePriority(1, http2.PriorityParam{StreamDep: 1, Weight: 1})
		}, 0, ErrCodeProtocol, false},
		{"PUSH_PROMISE from a client", func(r *rig) {
			r.peer.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: r.block(get()...), EndHeaders: true})
		}, ErrCodeProtocol, 0, true},
		{"CONTINUATION without HEADERS", func(r *rig) { r.peer.WriteContinuation(1, true, r.block(get()...)) }, ErrCodeProtocol, 0, true},
		{"frame between HEADERS and CONTINUATION", func(r *rig) {
			r.peer.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.block(get()...), EndHeaders: false})
			r.peer.WritePing(false, [8]byte{})
		}, ErrCodeProtocol, 0, true},
		{"window overflow", func(r *rig) { r.peer.WriteWindowUpdate(0, 1<<31-1) }, ErrCodeFlowControl, 0, true},
		{"zero increment on the connection", func(r *rig) { r.peer.WriteWindowUpdate(0, 0) }, ErrCodeProtocol, 0, true},
		{"bad SETTINGS value", func(r *rig) {
			r.peer.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 100})
		}, ErrCodeProtocol, 0, true},
		{"initial window too large", func(r *rig) {
			r.peer.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31})
		}, ErrCodeFlowControl, 0, true},
		{"PING of 7 bytes", func(r *rig) { r.peer.WriteRawFrame(http2.FramePing, 0, 0, make([]byte, 7)) }, ErrCodeFrameSize, 0, true},
		{"padding past the frame", func(r *rig) {
			r.peer.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersPadded|http2.FlagHeadersEndHeaders, 1, []byte{200, 0x82})
		}, ErrCodeProtocol, 0, true},
		{"frame too large", func(r *rig) { r.peer.WriteRawFrame(http2.FrameData, 0, 1, make([]byte, 16385)) }, ErrCodeFrameSize, 0, true},
		{"HPACK garbage", func(r *rig) {
			r.peer.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EndHeaders: true})
		}, ErrCodeCompression, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, RoleServer, Config{})
			tc.run(r)
			r.flush()
			fs := r.frames()
			g := goaway(fs)
			if tc.isErr {
				if g == nil || g.ErrCode != tc.conn || r.err == nil {
					t.Fatalf("GOAWAY %v err %v, want %v", g, r.err, tc.conn)
				}
				return
			}
			if g != nil {
				t.Fatalf("unexpected GOAWAY %v (%v)", g.ErrCode, r.err)
			}
			if code, ok := rst(fs, 1); !ok || code != tc.strm {
				t.Fatalf("RST_STREAM %v %v, want %v", code, ok, tc.strm)
			}
		})
	}
}

// TestPrefaceAndSettings: the preface is checked, the first frame must be
// SETTINGS, SETTINGS and PING are acknowledged.
func TestPrefaceAndSettings(t *testing.T) {
	c := NewConn(RoleServer, Config{}, newRecorder())
	if _, err := c.Feed([]byte("GET / HTTP/1.1\r\n\r\n")); err == nil {
		t.Fatal("HTTP/1.1 taken for a preface")
	}
	c = NewConn(RoleServer, Config{}, newRecorder())
	if _, err := c.Feed([]byte(Preface + "\x00\x00\x08\x06\x00\x00\x00\x00\x00abcdefgh")); err == nil {
		t.Fatal("PING before SETTINGS accepted")
	}
	r := newRig(t, RoleServer, Config{})
	r.peer.WritePing(false, [8]byte{1, 2, 3})
	r.peer.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 20000})
	r.flush()
	var ping, ack bool
	for _, f := range r.frames() {
		switch f := f.(type) {
		case *http2.PingFrame:
			ping = f.IsAck() && f.Data == [8]byte{1, 2, 3}
		case *http2.SettingsFrame:
			ack = f.IsAck()
		}
	}
	if !ping || !ack {
		t.Fatalf("ping ack %v settings ack %v", ping, ack)
	}
}

// TestOurSettings: the first SETTINGS carries the configured limits, and
// a WINDOW_UPDATE opens the connection window for all streams.
func TestOurSettings(t *testing.T) {
	cfg := Config{HeaderTableSize: 8192, InitialWindowSize: 100000, MaxConcurrentStreams: 7, MaxFrameSize: 32768, MaxHeaderListSize: 9000}
	c := NewConn(RoleServer, cfg, newRecorder())
	rd := http2.NewFramer(nil, strings.NewReader(string(c.Output(nil))))
	f, _ := rd.ReadFrame()
	sf := f.(*http2.SettingsFrame)
	want := map[http2.SettingID]uint32{
		http2.SettingHeaderTableSize: 8192, http2.SettingInitialWindowSize: 100000,
		http2.SettingMaxConcurrentStreams: 7, http2.SettingMaxFrameSize: 32768, http2.SettingMaxHeaderListSize: 9000,
	}
	for id, v := range want {
		if got, ok := sf.Value(id); !ok || got != v {
			t.Errorf("%v = %d, want %d", id, got, v)
		}
	}
	f, _ = rd.ReadFrame()
	if w, ok := f.(*http2.WindowUpdateFrame); !ok || w.Increment != 700000-65535 {
		t.Errorf("connection window update %v", f)
	}
}

// TestHPACKStateAcrossRefusedBlocks: a block that is refused (over the
// concurrency limit) is still decoded, so a dynamic-table entry it adds
// serves the next request.
func TestHPACKStateAcrossRefusedBlocks(t *testing.T) {
	r := newRig(t, RoleServer, Config{MaxConcurrentStreams: 1})
	r.headers(1, false, get()...)
	r.headers(3, true, get("x-new: indexed-here")...)
	r.flush()
	if code, _ := rst(r.frames(), 3); code != ErrCodeRefusedStream {
		t.Fatalf("stream 3 %v, want REFUSED_STREAM", code)
	}
	r.c.Release(r.h.reqs[0].st)
	// The encoder now refers to x-new by its dynamic-table index.
	r.headers(5, true, get("x-new: indexed-here")...)
	r.flush()
	if len(r.h.reqs) != 2 || !strings.Contains(r.h.reqs[1].head, "x-new: indexed-here") {
		t.Fatalf("requests %+v err %v", r.h.reqs, r.err)
	}
}

var _ = hpack.HeaderField{}
