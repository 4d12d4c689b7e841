package h2

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/http2"
)

// TestDataInPlace: DATA frames built in the caller's buffer carry the
// body within the windows and the peer's frame size, END_STREAM on the
// last byte of a Content-Length body (a body delimited by the end of the
// message ends with FinishH1), and nothing goes this way while frames
// wait in the output, for a chunked body or after the end.
func TestDataInPlace(t *testing.T) {
	for _, tc := range []struct {
		name    string
		head    string
		window  uint32 // the peer's initial stream window
		body    int
		frames  []int // payload lengths DataInPlace returns, 0 for the last refusal
		grant   uint32
		endData bool // END_STREAM rides on the last DATA frame
	}{
		{"content-length within windows", "Content-Length: 40000\r\n", 65535, 40000, []int{16384, 16384, 7232, 0}, 0, true},
		{"content-length, small window", "Content-Length: 100\r\n", 10, 100, []int{10, 0}, 0, true},
		{"content-length, window granted", "Content-Length: 100\r\n", 10, 100, []int{10, 90, 0}, 200, true},
		{"delimited by close", "Connection: close\r\n", 65535, 30000, []int{16384, 13616, 0}, 0, false},
		{"chunked", "Transfer-Encoding: chunked\r\n", 65535, 100, []int{0}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, RoleServer, Config{})
			r.peer.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: tc.window})
			r.headers(1, true, get()...)
			r.flush()
			r.frames()
			st := r.h.reqs[0].st
			head := []byte("HTTP/1.1 200 OK\r\n" + tc.head + "\r\n")
			if n, err := r.c.WriteH1(st, head); n != len(head) || err != nil {
				t.Fatalf("head: %d %v", n, err)
			}
			body := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz"), tc.body/36+1)[:tc.body]
			f := append(make([]byte, FrameHeaderLen), body...)
			if n := r.c.DataInPlace(st, f); n != 0 {
				t.Fatalf("%d bytes sent while the head waits in the output", n)
			}
			r.out.Write(r.c.Output(nil))
			if fs := r.frames(); len(fs) != 1 {
				t.Fatalf("head: %v", fs)
			}
			var got []byte
			ended := false
			for i, want := range tc.frames {
				n := r.c.DataInPlace(st, f)
				if n != want {
					t.Fatalf("frame %d: %d bytes, want %d", i, n, want)
				}
				if n == 0 {
					break
				}
				r.out.Write(f[:FrameHeaderLen+n])
				f = f[n:]
				for _, fr := range r.frames() {
					d, ok := fr.(*dataCopy)
					if !ok {
						t.Fatalf("frame %d: %T", i, fr)
					}
					if d.StreamID != 1 || ended {
						t.Fatalf("frame %d on stream %d after the end %v", i, d.StreamID, ended)
					}
					got = append(got, d.data...)
					ended = d.end
				}
				if tc.grant > 0 && r.c.Blocked(st) {
					r.peer.WriteWindowUpdate(1, tc.grant)
					r.flush()
				}
			}
			if tc.name == "chunked" {
				return
			}
			want := body[:len(got)]
			if !bytes.Equal(got, want) {
				t.Fatalf("body %q..., want %q...", got[:min(40, len(got))], want[:min(40, len(want))])
			}
			if ended != (tc.endData && len(got) == tc.body) {
				t.Fatalf("END_STREAM %v after %d of %d bytes", ended, len(got), tc.body)
			}
			if !tc.endData {
				r.c.FinishH1(st, true)
				r.out.Write(r.c.Output(nil))
				fs := r.frames()
				if d, ok := fs[len(fs)-1].(*dataCopy); len(fs) == 0 || !ok || !d.end || len(d.data) != 0 {
					t.Fatalf("end of a delimited body: %v", fs)
				}
			}
			if strings.Contains(tc.head, "Content-Length") && len(got) == tc.body && !st.outEnded {
				t.Fatal("stream not ended after its whole body")
			}
		})
	}
}
