package h2

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// recorder is a Handler that records what happens.
type recorder struct {
	reqs     []recReq
	resps    []recResp
	data     map[uint32][]byte
	ended    map[uint32]bool
	trailers map[uint32]string
	resets   map[uint32]ErrCode
	refused  []string
	writable int
}

type recReq struct {
	id      uint32
	head    string
	end     bool
	chunked bool
	status  int
	st      *Stream
}

type recResp struct {
	id      uint32
	head    string
	interim bool
	end     bool
	chunked bool
}

func newRecorder() *recorder {
	return &recorder{data: map[uint32][]byte{}, ended: map[uint32]bool{}, trailers: map[uint32]string{}, resets: map[uint32]ErrCode{}}
}

func (r *recorder) Request(st *Stream, q *Request) {
	r.reqs = append(r.reqs, recReq{id: st.ID, head: string(q.Head), end: q.EndStream, chunked: q.Chunked, status: q.Status, st: st})
	if q.EndStream {
		r.ended[st.ID] = true
	}
}

func (r *recorder) Response(st *Stream, p *Response) {
	r.resps = append(r.resps, recResp{id: st.ID, head: string(p.Head), interim: p.Interim, end: p.EndStream, chunked: p.Chunked})
	if p.EndStream {
		r.ended[st.ID] = true
	}
}

func (r *recorder) Data(st *Stream, p []byte, end bool) {
	r.data[st.ID] = append(r.data[st.ID], p...)
	if end {
		r.ended[st.ID] = true
	}
}

func (r *recorder) Trailers(st *Stream, f []byte) {
	r.trailers[st.ID] = string(f)
	r.ended[st.ID] = true
}

func (r *recorder) Reset(st *Stream, code ErrCode, remote bool) { r.resets[st.ID] = code }
func (r *recorder) Writable(st *Stream)                         { r.writable++ }
func (r *recorder) Refused(id uint32, why string)               { r.refused = append(r.refused, why) }

// rig drives a Conn with hand-made frames from a peer.
type rig struct {
	t    *testing.T
	c    *Conn
	h    *recorder
	in   bytes.Buffer // the peer's bytes, not fed yet
	peer *http2.Framer
	enc  *hpack.Encoder
	eb   bytes.Buffer
	out  bytes.Buffer // the Conn's bytes, not read yet
	rd   *http2.Framer
	dec  *hpack.Decoder
	err  error
}

// newRig starts a Conn in role with cfg, and the peer's side of the
// handshake: preface and SETTINGS both ways.
func newRig(t *testing.T, role Role, cfg Config) *rig {
	r := &rig{t: t, h: newRecorder()}
	r.c = NewConn(role, cfg, r.h)
	r.c.now = func() int64 { return 1e9 }
	r.peer = http2.NewFramer(&r.in, nil)
	r.peer.AllowIllegalWrites = true
	r.enc = hpack.NewEncoder(&r.eb)
	r.rd = http2.NewFramer(nil, &r.out)
	r.rd.ReadMetaHeaders = hpack.NewDecoder(65536, nil)
	r.rd.MaxHeaderListSize = 1 << 20
	if role == RoleServer {
		r.in.WriteString(Preface)
	}
	r.peer.WriteSettings()
	r.flush()
	if role == RoleClient {
		r.out.Next(len(Preface))
	}
	fs := r.frames()
	if len(fs) == 0 {
		t.Fatal("no SETTINGS from the connection")
	}
	if _, ok := fs[0].(*http2.SettingsFrame); !ok {
		t.Fatalf("first frame %T, want SETTINGS", fs[0])
	}
	r.peer.WriteSettingsAck()
	r.flush()
	return r
}

// flush feeds the peer's bytes, a few at a time when split is set, and
// collects the output.
func (r *rig) flush() {
	b := r.in.Bytes()
	n, err := r.c.Feed(b)
	r.in.Next(n)
	if err != nil {
		r.err = err
	}
	r.out.Write(r.c.Output(nil))
}

// frames reads every frame the Conn wrote.
func (r *rig) frames() []http2.Frame {
	var fs []http2.Frame
	for r.out.Len() > 0 {
		f, err := r.rd.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			r.t.Fatalf("reading the connection's frames: %v", err)
		}
		fs = append(fs, copyFrame(f))
	}
	return fs
}

// copyFrame keeps what tests look at of a frame read with a reused buffer.
func copyFrame(f http2.Frame) http2.Frame {
	if d, ok := f.(*http2.DataFrame); ok {
		return &dataCopy{FrameHeader: d.FrameHeader, data: append([]byte(nil), d.Data()...), end: d.StreamEnded()}
	}
	return f
}

type dataCopy struct {
	http2.FrameHeader
	data []byte
	end  bool
}

// block encodes fields given as "name: value" (a name may start with ':').
func (r *rig) block(fields ...string) []byte {
	r.eb.Reset()
	for _, f := range fields {
		i := strings.Index(f[1:], ": ") + 1
		r.enc.WriteField(hpack.HeaderField{Name: f[:i], Value: f[i+2:]})
	}
	return append([]byte(nil), r.eb.Bytes()...)
}

func (r *rig) headers(id uint32, end bool, fields ...string) {
	r.peer.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: r.block(fields...), EndStream: end, EndHeaders: true})
}

var getFields = []string{":method: GET", ":scheme: https", ":path: /x?y=1", ":authority: example.com"}

func get(extra ...string) []string { return append(append([]string(nil), getFields...), extra...) }

// goaway returns the GOAWAY among fs, nil when none.
func goaway(fs []http2.Frame) *http2.GoAwayFrame {
	for _, f := range fs {
		if g, ok := f.(*http2.GoAwayFrame); ok {
			return g
		}
	}
	return nil
}

// rst returns the code of the RST_STREAM on id among fs, ok false when none.
func rst(fs []http2.Frame, id uint32) (ErrCode, bool) {
	for _, f := range fs {
		if x, ok := f.(*http2.RSTStreamFrame); ok && x.StreamID == id {
			return x.ErrCode, true
		}
	}
	return 0, false
}
