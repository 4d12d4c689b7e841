package proxy

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2raw is a hand-driven HTTP/2 client for attacks: it writes whatever
// frames a test wants and collects what comes back.
type h2raw struct {
	t      *testing.T
	c      net.Conn
	fr     *http2.Framer
	enc    *hpack.Encoder
	eb     bytes.Buffer
	frames chan http2.Frame
}

func dialH2(t *testing.T, addr string, settings ...http2.Setting) *h2raw {
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := &h2raw{t: t, c: c, frames: make(chan http2.Frame, 4096)}
	h.fr = http2.NewFramer(c, c)
	h.fr.AllowIllegalWrites = true
	h.fr.ReadMetaHeaders = hpack.NewDecoder(65536, nil)
	h.enc = hpack.NewEncoder(&h.eb)
	c.Write([]byte(http2.ClientPreface))
	h.fr.WriteSettings(settings...)
	go func() {
		defer close(h.frames)
		for {
			f, err := h.fr.ReadFrame()
			if err != nil {
				return
			}
			if d, ok := f.(*http2.DataFrame); ok {
				f = &http2.DataFrame{FrameHeader: d.FrameHeader}
			}
			if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
				continue
			}
			h.frames <- f
		}
	}()
	return h
}

func (h *h2raw) block(fields ...string) []byte {
	h.eb.Reset()
	for _, f := range fields {
		i := strings.Index(f[1:], ": ") + 1
		h.enc.WriteField(hpack.HeaderField{Name: f[:i], Value: f[i+2:]})
	}
	return append([]byte(nil), h.eb.Bytes()...)
}

func (h *h2raw) headers(id uint32, end bool, fields ...string) {
	h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: h.block(fields...), EndStream: end, EndHeaders: true})
}

// until reads frames until match says so or the connection ends; it
// returns the matching frame (nil: none within d).
func (h *h2raw) until(d time.Duration, match func(http2.Frame) bool) http2.Frame {
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-h.frames:
			if !ok {
				return nil
			}
			if match(f) {
				return f
			}
		case <-deadline:
			return nil
		}
	}
}

func isGoAway(code http2.ErrCode) func(http2.Frame) bool {
	return func(f http2.Frame) bool {
		g, ok := f.(*http2.GoAwayFrame)
		return ok && g.ErrCode == code
	}
}

func isRST(id uint32, code http2.ErrCode) func(http2.Frame) bool {
	return func(f http2.Frame) bool {
		r, ok := f.(*http2.RSTStreamFrame)
		return ok && r.StreamID == id && r.ErrCode == code
	}
}

func isStatus(id uint32, status string) func(http2.Frame) bool {
	return func(f http2.Frame) bool {
		m, ok := f.(*http2.MetaHeadersFrame)
		return ok && m.StreamID == id && m.PseudoValue("status") == status
	}
}

const attackConfig = `
defaults {
  mode = "http"
  timeouts {
    connect = "1s"
    client = "1s"
    server = "3s"
  }
}
global {
  h2 {
    fe_glitches_threshold = 50
    fe_max_concurrent_streams = 10
    max_header_list_size = 4096
    max_frame_size = 16384
  }
}
frontend "web" {
  bind = ["{{fe}}"]
  proto = "h2"
  default_backend = "app"
}
backend "app" {
  server "s1" {
    address = "{{s1}}"
    check = false
  }
}
`

var reqGET = []string{":method: GET", ":scheme: http", ":path: /", ":authority: a"}

func withFields(base []string, extra ...string) []string {
	return append(append([]string(nil), base...), extra...)
}

// TestH2Attacks: every known HTTP/2 abuse against a frontend meets the
// limit the configuration sets, with a log line that names it; request
// smuggling attempts never reach the HTTP/1.1 server.
func TestH2Attacks(t *testing.T) {
	var hits, smuggled, bodies atomic.Int64
	s1 := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if strings.Contains(r.URL.Path, "smuggled") {
			smuggled.Add(1)
		}
		if b, err := io.ReadAll(r.Body); err == nil && len(b) > 0 {
			bodies.Add(1) // a whole body arrived
		}
		w.Write([]byte(strings.Repeat("d", 100000)))
	})
	fe := freePort(t)
	r := newRig(t, attackConfig, map[string]string{"fe": fe, "s1": hostport(s1)})

	cases := []struct {
		name     string
		settings []http2.Setting
		run      func(h *h2raw)
		want     func(http2.Frame) bool
		log      []string // a log line with all of these
		maxHits  int64    // requests the server may see
	}{
		{"rapid reset", nil, func(h *h2raw) {
			for id := uint32(1); id < 400; id += 2 {
				h.headers(id, true, reqGET...)
				h.fr.WriteRSTStream(id, http2.ErrCodeCancel)
			}
		}, isGoAway(http2.ErrCodeEnhanceYourCalm), []string{`"limit":"glitches_threshold"`}, 60},
		{"CONTINUATION flood", nil, func(h *h2raw) {
			h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: h.block(reqGET...)})
			for i := 0; i < 100; i++ {
				h.fr.WriteContinuation(1, false, h.block("x-pad: "+strings.Repeat("p", 100)))
			}
		}, isGoAway(http2.ErrCodeEnhanceYourCalm), []string{`"limit":"max_header_list_size"`}, 0},
		{"HPACK bomb", nil, func(h *h2raw) {
			big := "x-big: " + strings.Repeat("b", 3000)
			h.headers(1, true, withFields(reqGET, big)...) // indexed, under the limit
			f := append([]string(nil), reqGET...)
			for i := 0; i < 50; i++ {
				f = append(f, big) // 50 x 3 KB decoded from a few bytes each
			}
			h.headers(3, true, f...)
		}, isStatus(3, "431"), []string{`"status":431`, `"request":"<BADREQ> HTTP/2.0"`}, 1},
		{"oversized header list", nil, func(h *h2raw) {
			h.headers(1, true, withFields(reqGET, "x-long: "+strings.Repeat("l", 5000))...)
		}, isStatus(1, "431"), []string{`"status":431`}, 0},
		{"SETTINGS flood", nil, func(h *h2raw) {
			for i := 0; i < 700; i++ {
				h.fr.WriteSettings()
			}
		}, isGoAway(http2.ErrCodeEnhanceYourCalm), []string{`"limit":"glitches_threshold"`, "SETTINGS flood"}, 0},
		{"PING flood", nil, func(h *h2raw) {
			for i := 0; i < 700; i++ {
				h.fr.WritePing(false, [8]byte{byte(i)})
			}
		}, isGoAway(http2.ErrCodeEnhanceYourCalm), []string{`"limit":"glitches_threshold"`, "PING flood"}, 0},
		{"WINDOW_UPDATE flood", nil, func(h *h2raw) {
			for i := 0; i < 700; i++ {
				h.fr.WriteWindowUpdate(0, 1)
			}
		}, isGoAway(http2.ErrCodeEnhanceYourCalm), []string{`"limit":"glitches_threshold"`, "WINDOW_UPDATE flood"}, 0},
		{"zero-window stall", []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 0}}, func(h *h2raw) {
			h.headers(1, true, reqGET...)
		}, isRST(1, http2.ErrCodeInternal), []string{`"limit":"timeouts.client"`, "flow-control window closed"}, 1},
		{"stream count exhaustion", nil, func(h *h2raw) {
			post := []string{":method: POST", ":scheme: http", ":path: /", ":authority: a"}
			for id := uint32(1); id < 200; id += 2 {
				h.headers(id, false, post...) // opened, never finished
			}
		}, isGoAway(http2.ErrCodeEnhanceYourCalm), []string{"over max_concurrent_streams"}, 10},
		{"frame larger than max_frame_size", nil, func(h *h2raw) {
			h.headers(1, false, ":method: POST", ":scheme: http", ":path: /", ":authority: a")
			h.fr.WriteData(1, true, make([]byte, 20000))
		}, isGoAway(http2.ErrCodeFrameSize), []string{`"limit":"max_frame_size"`}, 1},
		{"padding longer than the frame", nil, func(h *h2raw) {
			h.fr.WriteRawFrame(http2.FrameData, http2.FlagDataPadded, 1, []byte{10, 'a'})
		}, isGoAway(http2.ErrCodeProtocol), []string{`"h2_error":"PROTOCOL_ERROR"`, "pad size"}, 0},
	}
	smuggling := []struct {
		name   string
		fields []string
		data   []string
	}{
		{"content-length shorter than DATA", []string{":method: POST", ":scheme: http", ":path: /", ":authority: a", "content-length: 3"},
			[]string{"abcGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"}},
		{"content-length longer than DATA", []string{":method: POST", ":scheme: http", ":path: /", ":authority: a", "content-length: 300"},
			[]string{"abc"}},
		{"CR LF in a value", withFields(reqGET, "x-a: 1\r\nTransfer-Encoding: chunked"), nil},
		{"LF in a value", withFields(reqGET, "x-a: 1\nContent-Length: 5"), nil},
		{"NUL in a value", withFields(reqGET, "x-a: 1\x00"), nil},
		{"CR in :path", []string{":method: GET", ":scheme: http", ":path: /a\r\nX: y", ":authority: a"}, nil},
		{"uppercase name", withFields(reqGET, "Transfer-Encoding: chunked"), nil},
		{"transfer-encoding", []string{":method: POST", ":scheme: http", ":path: /", ":authority: a", "transfer-encoding: chunked"},
			[]string{"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"}},
		{"connection", withFields(reqGET, "connection: keep-alive"), nil},
		{"host disagreeing with :authority", withFields(reqGET, "host: internal.example"), nil},
	}
	for _, sm := range smuggling {
		sm := sm
		cases = append(cases, struct {
			name     string
			settings []http2.Setting
			run      func(h *h2raw)
			want     func(http2.Frame) bool
			log      []string
			maxHits  int64
		}{"smuggling: " + sm.name, nil, func(h *h2raw) {
			h.headers(1, len(sm.data) == 0, sm.fields...)
			for i, d := range sm.data {
				h.fr.WriteData(1, i == len(sm.data)-1, []byte(d))
			}
		}, isRST(1, http2.ErrCodeProtocol), nil, 1})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The previous case's connection is gone, and what it sent:
			// the server's count stays still for 100 ms (a request the
			// previous case sent may reach it late on a loaded machine).
			for i := 0; i < 300 && r.e.CurConns() > 0; i++ {
				time.Sleep(10 * time.Millisecond)
			}
			for n, still := hits.Load(), 0; still < 4; still++ {
				time.Sleep(25 * time.Millisecond)
				if m := hits.Load(); m != n {
					n, still = m, -1
				}
			}
			hits.Store(0)
			smuggled.Store(0)
			bodies.Store(0)
			h := dialH2(t, fe, tc.settings...)
			defer h.c.Close()
			tc.run(h)
			if f := h.until(5*time.Second, tc.want); f == nil {
				t.Fatal("the limit did not apply")
			}
			if len(tc.log) > 0 {
				r.logs.waitFor(t, tc.log...)
			}
			time.Sleep(50 * time.Millisecond)
			if n := hits.Load(); n > tc.maxHits {
				t.Fatalf("the server saw %d requests, at most %d expected", n, tc.maxHits)
			}
			if strings.HasPrefix(tc.name, "smuggling") && (smuggled.Load() > 0 || bodies.Load() > 0) {
				// The head of a request whose body turns out malformed may
				// have gone (it streams, as with HAProxy); its body never
				// completes, and nothing after it is read as a request.
				t.Fatalf("smuggled requests %d, whole bodies %d", smuggled.Load(), bodies.Load())
			}
		})
	}
}
