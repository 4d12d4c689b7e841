package h2

import (
	"strings"
	"testing"

	"golang.org/x/net/http2"
)

// TestAttacks: each known HTTP/2 abuse meets its limit: the connection
// ends with GOAWAY naming it (Error.Limit, for the log line), or the
// stream with the status or code the limit gives.
func TestAttacks(t *testing.T) {
	cases := []struct {
		name  string
		cfg   Config
		run   func(r *rig)
		code  ErrCode // GOAWAY code expected
		limit string
	}{
		{"rapid reset", Config{GlitchesThreshold: 50}, func(r *rig) {
			for id := uint32(1); id < 200; id += 2 {
				r.headers(id, true, get()...)
				r.peer.WriteRSTStream(id, ErrCodeCancel)
				r.flush()
				for _, q := range r.h.reqs {
					r.c.Release(q.st) // the engine notices and lets go
				}
				r.h.reqs = r.h.reqs[:0]
			}
		}, ErrCodeEnhanceYourCalm, "glitches_threshold"},
		{"CONTINUATION flood", Config{}, func(r *rig) {
			r.peer.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.block(get()...)})
			for i := 0; i < 200; i++ {
				r.peer.WriteContinuation(1, false, r.block("x-pad: "+strings.Repeat("a", 100)))
				r.flush()
			}
		}, ErrCodeEnhanceYourCalm, "max_header_list_size"},
		{"empty CONTINUATION frames", Config{GlitchesThreshold: 20}, func(r *rig) {
			r.peer.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.block(get()...)})
			for i := 0; i < 60; i++ {
				r.peer.WriteContinuation(1, false, nil)
			}
		}, ErrCodeEnhanceYourCalm, ""},
		{"PING flood", Config{GlitchesThreshold: 100}, func(r *rig) {
			for i := 0; i < ctlBurst+200; i++ {
				r.peer.WritePing(false, [8]byte{})
			}
		}, ErrCodeEnhanceYourCalm, "glitches_threshold"},
		{"SETTINGS flood", Config{GlitchesThreshold: 100}, func(r *rig) {
			for i := 0; i < ctlBurst+200; i++ {
				r.peer.WriteSettings()
			}
		}, ErrCodeEnhanceYourCalm, "glitches_threshold"},
		{"WINDOW_UPDATE flood", Config{GlitchesThreshold: 100}, func(r *rig) {
			for i := 0; i < ctlBurst+200; i++ {
				r.peer.WriteWindowUpdate(0, 1)
			}
		}, ErrCodeEnhanceYourCalm, "glitches_threshold"},
		{"empty DATA flood", Config{GlitchesThreshold: 100}, func(r *rig) {
			r.headers(1, false, ":method: POST", ":scheme: https", ":path: /", ":authority: a")
			for i := 0; i < 200; i++ {
				r.peer.WriteData(1, false, nil)
			}
		}, ErrCodeEnhanceYourCalm, "glitches_threshold"},
		{"stream count exhaustion", Config{MaxConcurrentStreams: 10, GlitchesThreshold: 30}, func(r *rig) {
			for id := uint32(1); id < 200; id += 2 {
				r.headers(id, false, get()...)
			}
		}, ErrCodeEnhanceYourCalm, "glitches_threshold"},
		{"oversized frame", Config{}, func(r *rig) {
			r.peer.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersEndHeaders, 1, make([]byte, 1<<20))
		}, ErrCodeFrameSize, "max_frame_size"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, RoleServer, tc.cfg)
			tc.run(r)
			r.flush()
			g := goaway(r.frames())
			if g == nil || g.ErrCode != tc.code {
				t.Fatalf("GOAWAY %v, want %v (err %v)", g, tc.code, r.err)
			}
			e, _ := r.err.(*Error)
			if e == nil || tc.limit != "" && e.Limit != tc.limit {
				t.Fatalf("error %v, want limit %q", r.err, tc.limit)
			}
		})
	}
}

// TestNoGlitchesInNormalUse: a busy, well-behaved connection (requests,
// downloads with their WINDOW_UPDATEs, a few PINGs) never gets near the
// threshold.
func TestNoGlitchesInNormalUse(t *testing.T) {
	r := newRig(t, RoleServer, Config{GlitchesThreshold: 1})
	body := strings.Repeat("x", 40000)
	for id := uint32(1); id < 400; id += 2 {
		r.headers(id, true, get()...)
		r.flush()
		st := r.h.reqs[len(r.h.reqs)-1].st
		msg := []byte("HTTP/1.1 200 OK\r\nContent-Length: 40000\r\n\r\n" + body)
		for len(msg) > 0 {
			n, err := r.c.WriteH1(st, msg)
			if err != nil {
				t.Fatal(err)
			}
			msg = msg[n:]
			r.out.Write(r.c.Output(nil))
			for _, f := range r.frames() {
				if d, ok := f.(*dataCopy); ok {
					r.peer.WriteWindowUpdate(0, uint32(len(d.data)))
					r.peer.WriteWindowUpdate(d.StreamID, uint32(len(d.data)))
				}
			}
			r.flush()
		}
		r.c.Release(st)
		if id%50 == 1 {
			r.peer.WritePing(false, [8]byte{})
		}
	}
	if r.err != nil || r.c.Glitches() != 0 {
		t.Fatalf("err %v glitches %d", r.err, r.c.Glitches())
	}
}

// TestHPACKBomb: a small block that decodes to a huge header list (one
// large indexed field referenced again and again) gets 431, not memory.
func TestHPACKBomb(t *testing.T) {
	r := newRig(t, RoleServer, Config{})
	big := "x-big: " + strings.Repeat("b", 4000)
	r.headers(1, true, get(big)...) // indexes x-big
	fields := get()
	for i := 0; i < 100; i++ {
		fields = append(fields, big) // 1 byte each on the wire
	}
	r.headers(3, true, fields...)
	r.flush()
	if len(r.h.reqs) != 2 || r.h.reqs[1].status != 431 || r.h.reqs[1].head != "" {
		t.Fatalf("requests %+v err %v", r.h.reqs, r.err)
	}
}

// TestMaxTotalStreams: the last stream allowed is followed by GOAWAY;
// streams after it are ignored.
func TestMaxTotalStreams(t *testing.T) {
	r := newRig(t, RoleServer, Config{MaxTotalStreams: 2})
	r.headers(1, true, get()...)
	r.headers(3, true, get()...)
	r.headers(5, true, get()...)
	r.flush()
	g := goaway(r.frames())
	if g == nil || g.ErrCode != ErrCodeNo || g.LastStreamID != 3 {
		t.Fatalf("GOAWAY %+v", g)
	}
	if len(r.h.reqs) != 2 {
		t.Fatalf("%d requests", len(r.h.reqs))
	}
}

// TestClientStreamIDsInSendOrder: streams opened together may send their
// requests in any order; their identifiers follow the order the HEADERS
// leave in, as a server closes every idle stream below one it sees (RFC
// 9113 §5.1.1). A stream whose request comes after a GOAWAY is refused
// without a frame.
func TestClientStreamIDsInSendOrder(t *testing.T) {
	r := newRig(t, RoleClient, Config{})
	a, b := r.c.OpenStream(), r.c.OpenStream()
	if a == nil || b == nil {
		t.Fatal("OpenStream refused")
	}
	head := func(path string) []byte { return []byte("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n") }
	for _, w := range []struct {
		st   *Stream
		path string
	}{{b, "/b"}, {a, "/a"}} {
		if _, err := r.c.WriteH1(w.st, head(w.path)); err != nil {
			t.Fatalf("%s: %v", w.path, err)
		}
	}
	r.flush()
	var ids []uint32
	for _, f := range r.frames() {
		if h, ok := f.(*http2.MetaHeadersFrame); ok {
			ids = append(ids, h.StreamID)
		}
	}
	if len(ids) != 2 || ids[0] != 1 || ids[1] != 3 || b.ID != 1 || a.ID != 3 {
		t.Fatalf("HEADERS on streams %v; b=%d a=%d, want [1 3], b=1 a=3", ids, b.ID, a.ID)
	}

	late := r.c.OpenStream()
	r.peer.WriteGoAway(3, http2.ErrCodeNo, nil)
	r.flush()
	if _, err := r.c.WriteH1(late, head("/late")); err != ErrStreamClosed {
		t.Fatalf("a request after GOAWAY: %v, want ErrStreamClosed", err)
	}
	if code, ok := r.h.resets[0]; !ok || code != ErrCodeRefusedStream {
		t.Fatalf("the late stream: reset %v %v, want REFUSED_STREAM", code, ok)
	}
	r.flush()
	if fs := r.frames(); len(fs) != 0 {
		t.Fatalf("frames for the refused stream: %v", fs)
	}
}
