package desync

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// HTTP/2 clients. The same invariant holds for a request that arrives as
// an HTTP/2 stream and is served by the HTTP/1.1 origin: it is refused
// (the stream reset, or an error response) and the origin gets nothing
// whole of it, or the origin reads exactly one request with the method,
// target, Host and body the stream carried; and the next stream on the
// same connection, and a request on a new one, arrive intact. A request
// whose body turns out to disagree with its content-length may have had
// its head forwarded (the body streams, as in HAProxy): the origin must
// then read no whole request for it, and nothing after it on that server
// connection.

const h2RigConfig = `
defaults {
  mode = "http"
  timeouts {
    connect         = "1s"
    client          = "2s"
    server          = "2s"
    http_request    = "2s"
    http_keep_alive = "2s"
  }
}
frontend "fe" {
  bind            = ["%s"]
  proto           = "h2"
  default_backend = "be"
  forward_for     = true
}
backend "be" {
  retries = 0
  server "origin" {
    address = "%s"
    check   = false
  }
}
`

// NewH2Rig is NewRig with an HTTP/2 frontend (prior knowledge).
func NewH2Rig(t testing.TB) *Rig {
	t.Helper()
	o := StartOrigin(t)
	var addr string
	var err error
	var r Rig
	for try := 0; try < 5; try++ {
		addr = freeAddr(t)
		if r.e, err = startEngine(t, fmt.Sprintf(h2RigConfig, addr, o.Addr)); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	r.Addr, r.Origin = addr, o
	return &r
}

// h2Client is a raw HTTP/2 client connection to the rig.
type h2Client struct {
	c   net.Conn
	fr  *http2.Framer
	enc *hpack.Encoder
	eb  bytes.Buffer
}

func dialH2(t testing.TB, addr string) *h2Client {
	t.Helper()
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := &h2Client{c: c}
	h.fr = http2.NewFramer(c, c)
	h.fr.AllowIllegalWrites = true
	h.fr.ReadMetaHeaders = hpack.NewDecoder(65536, nil)
	h.enc = hpack.NewEncoder(&h.eb)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte(http2.ClientPreface))
	h.fr.WriteSettings()
	return h
}

// send writes a request: fields ("name: value"), DATA frames (the last
// ends the stream; none: HEADERS does), then trailers if any.
func (h *h2Client) send(id uint32, fields, data, trailers []string) {
	h.eb.Reset()
	for _, f := range fields {
		i := strings.Index(f[1:], ": ") + 1
		h.enc.WriteField(hpack.HeaderField{Name: f[:i], Value: f[i+2:]})
	}
	h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: append([]byte(nil), h.eb.Bytes()...),
		EndStream: len(data) == 0 && len(trailers) == 0, EndHeaders: true})
	for i, d := range data {
		h.fr.WriteData(id, i == len(data)-1 && len(trailers) == 0, []byte(d))
	}
	if len(trailers) > 0 {
		h.eb.Reset()
		for _, f := range trailers {
			i := strings.Index(f, ": ")
			h.enc.WriteField(hpack.HeaderField{Name: f[:i], Value: f[i+2:]})
		}
		h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: append([]byte(nil), h.eb.Bytes()...), EndStream: true, EndHeaders: true})
	}
}

// h2Result is how a stream ended for the client.
type h2Result struct {
	status string // "" when reset
	body   string
	reset  http2.ErrCode
	gone   bool // the connection ended (GOAWAY or close)
}

// read reads frames until stream id ends.
func (h *h2Client) read(id uint32) h2Result {
	var r h2Result
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			r.gone = true
			return r
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			if f.StreamID == id {
				if s := f.PseudoValue("status"); s != "" && s[0] != '1' {
					r.status = s
				}
				if f.StreamEnded() {
					return r
				}
			}
		case *http2.DataFrame:
			if f.StreamID == id {
				r.body += string(f.Data())
				if f.StreamEnded() {
					return r
				}
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				r.reset = f.ErrCode
				if r.reset == 0 {
					r.reset = 0xff
				}
				return r
			}
		case *http2.GoAwayFrame:
			r.gone = true
			return r
		}
	}
}

type h2Case struct {
	name     string
	fields   []string
	data     []string
	trailers []string
	want     want
}

func h2Get(extra ...string) []string {
	return append([]string{":method: GET", ":scheme: http", ":path: /x", ":authority: a.example"}, extra...)
}

func h2Post(extra ...string) []string {
	return append([]string{":method: POST", ":scheme: http", ":path: /up", ":authority: a.example"}, extra...)
}

func h2Cases() []h2Case {
	fwd := func(method, target, host, body string) want {
		return want{kind: forwarded, method: method, target: target, host: host, body: body}
	}
	ref := want{kind: refused}
	cut := want{kind: cut}
	cs := []h2Case{
		{"GET", h2Get(), nil, nil, fwd("GET", "/x", "a.example", "")},
		{"GET with query", []string{":method: GET", ":scheme: https", ":path: /a/b?c=d&e", ":authority: a.example"}, nil, nil, fwd("GET", "/a/b?c=d&e", "a.example", "")},
		{"host field only", []string{":method: GET", ":scheme: http", ":path: /h", "host: h.example"}, nil, nil, fwd("GET", "/h", "h.example", "")},
		{"authority and the same host", h2Get("host: a.example"), nil, nil, fwd("GET", "/x", "a.example", "")},
		{"POST with content-length", h2Post("content-length: 5"), []string{"he", "llo"}, nil, fwd("POST", "/up", "a.example", "hello")},
		{"POST without content-length", h2Post(), []string{"abc", "def"}, nil, fwd("POST", "/up", "a.example", "abcdef")},
		{"POST with trailers", h2Post("te: trailers"), []string{"abc"}, []string{"x-sum: 3"}, fwd("POST", "/up", "a.example", "abc")},
		{"empty body with END_STREAM on DATA", h2Post(), []string{""}, nil, fwd("POST", "/up", "a.example", "")},
		{"body looking like a request", h2Post("content-length: 37"), []string{"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n\r\n"}, nil,
			fwd("POST", "/up", "a.example", "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n\r\n")},
		{"chunked-looking body", h2Post(), []string{"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"}, nil,
			fwd("POST", "/up", "a.example", "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n")},
		// Smuggling shapes.
		{"content-length shorter than DATA", h2Post("content-length: 3"), []string{"abcGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"}, nil, cut},
		{"content-length longer than DATA", h2Post("content-length: 100"), []string{"abc"}, nil, cut},
		{"content-length with no DATA", h2Get("content-length: 10"), nil, nil, ref},
		{"two content-lengths", h2Post("content-length: 3", "content-length: 4"), []string{"abc"}, nil, ref},
		{"transfer-encoding chunked", h2Post("transfer-encoding: chunked"), []string{"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"}, nil, ref},
		{"transfer-encoding uppercase", h2Post("Transfer-Encoding: chunked"), []string{"0\r\n\r\n"}, nil, ref},
		{"connection", h2Get("connection: close"), nil, nil, ref},
		{"keep-alive", h2Get("keep-alive: timeout=5"), nil, nil, ref},
		{"proxy-connection", h2Get("proxy-connection: keep-alive"), nil, nil, ref},
		{"upgrade", h2Get("upgrade: websocket"), nil, nil, ref},
		{"te gzip", h2Get("te: gzip"), nil, nil, ref},
		{"CRLF in a value", h2Get("x-a: b\r\nContent-Length: 40"), nil, nil, ref},
		{"LF in a value", h2Get("x-a: b\nTransfer-Encoding: chunked"), nil, nil, ref},
		{"CR in a value", h2Get("x-a: b\rc"), nil, nil, ref},
		{"NUL in a value", h2Get("x-a: b\x00c"), nil, nil, ref},
		{"CRLF in a name", h2Get("x-a\r\nx-b: c"), nil, nil, ref},
		{"uppercase name", h2Get("X-A: b"), nil, nil, ref},
		{"space in a name", h2Get("x a: b"), nil, nil, ref},
		{"leading space in a value", h2Get("x-a:  b"), nil, nil, ref},
		{"CRLF in :path", []string{":method: GET", ":scheme: http", ":path: /a HTTP/1.1\r\nHost: b\r\n\r\nGET /smuggled", ":authority: a.example"}, nil, nil, ref},
		{"space in :path", []string{":method: GET", ":scheme: http", ":path: /a b", ":authority: a.example"}, nil, nil, ref},
		{"CRLF in :method", []string{":method: GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\nGET", ":scheme: http", ":path: /", ":authority: a.example"}, nil, nil, ref},
		{"CRLF in :authority", []string{":method: GET", ":scheme: http", ":path: /", ":authority: a\r\nX: y"}, nil, nil, ref},
		{"bad characters in :authority", []string{":method: GET", ":scheme: http", ":path: /", ":authority: a b"}, nil, nil, ref},
		{"authority and another host", h2Get("host: internal.example"), nil, nil, ref},
		{"two hosts", []string{":method: GET", ":scheme: http", ":path: /", "host: a", "host: b"}, nil, nil, ref},
		{"no host at all", []string{":method: GET", ":scheme: http", ":path: /"}, nil, nil, ref},
		{"CONNECT", []string{":method: CONNECT", ":authority: a.example:443"}, nil, nil, ref},
		{"pseudo after regular", []string{":method: GET", ":scheme: http", "x: y", ":path: /", ":authority: a"}, nil, nil, ref},
		{"repeated :path", []string{":method: GET", ":scheme: http", ":path: /a", ":path: /smuggled", ":authority: a"}, nil, nil, ref},
		{"absolute :path", []string{":method: GET", ":scheme: http", ":path: http://evil/", ":authority: a"}, nil, nil, ref},
		{"trailers with a pseudo-header", h2Post(), []string{"abc"}, []string{":path: /smuggled"}, cut},
		{"trailers carrying content-length", h2Post("te: trailers"), []string{"abc"}, []string{"content-length: 0"}, fwd("POST", "/up", "a.example", "abc")},
	}
	return cs
}

// TestH2RequestCases runs the table with HTTP/2 clients.
func TestH2RequestCases(t *testing.T) {
	cases := h2Cases()
	if len(cases) < 40 {
		t.Fatalf("only %d HTTP/2 cases", len(cases))
	}
	runAll(t, cases, func(c h2Case) string { return c.name }, runH2Case)
}

func runH2Case(t *testing.T, tc h2Case) {
	r := NewH2Rig(t)
	h := dialH2(t, r.Addr)
	h.send(1, tc.fields, tc.data, tc.trailers)
	res := h.read(1)
	var sent []want
	switch tc.want.kind {
	case forwarded:
		want := "origin:" + tc.want.method + " " + tc.want.target
		if res.status != "200" || res.body != want {
			t.Fatalf("got %+v, want 200 %q", res, want)
		}
		sent = append(sent, tc.want)
	case refused:
		if res.reset == 0 && (res.status == "" || res.status[0] < '4') && !res.gone {
			t.Fatalf("got %+v, want refused", res)
		}
	case cut:
		if res.status == "200" {
			t.Fatalf("a request cut short was answered: %+v", res)
		}
	}
	canaries := []string{}
	if !res.gone {
		h.send(3, []string{":method: GET", ":scheme: http", ":path: /canary-1", ":authority: canary"}, nil, nil)
		if c := h.read(3); c.status != "200" || c.body != "origin:GET /canary-1" {
			t.Fatalf("canary 1 on the same connection: %+v", c)
		}
		canaries = append(canaries, "1")
	}
	h2 := dialH2(t, r.Addr)
	h2.send(1, []string{":method: GET", ":scheme: http", ":path: /canary-2", ":authority: canary"}, nil, nil)
	if c := h2.read(1); c.status != "200" || c.body != "origin:GET /canary-2" {
		t.Fatalf("canary 2 on a new connection: %+v", c)
	}
	canaries = append(canaries, "2")
	r.Origin.Settle()
	checkOrigin(t, r.Origin, sent, canaries, tc.want.kind == cut)
}

// FuzzH2WholePath sends a request made of fuzzed fields and body through
// a real engine with an HTTP/2 client: if the origin reads a request for
// it, it is exactly one, with the method, target and Host the stream's
// pseudo-header fields said and the body its DATA carried; nothing else
// reaches the origin on an open connection.
func FuzzH2WholePath(f *testing.F) {
	f.Add("GET\n/x\na.example\naccept\x00*/*", "")
	f.Add("POST\n/up\na\ncontent-length\x005", "hello")
	f.Add("POST\n/up\na\ncontent-length\x003", "abcGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n")
	f.Add("POST\n/up\na\ntransfer-encoding\x00chunked", "0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n")
	f.Add("GET\n/x\na\nx-a\x00b\r\nContent-Length: 4", "")
	r := NewH2Rig(f)
	f.Fuzz(func(t *testing.T, head, body string) {
		lines := strings.Split(head, "\n")
		if len(lines) < 3 || len(head)+len(body) > 32<<10 {
			return
		}
		fields := []string{":method: " + lines[0], ":scheme: http", ":path: " + lines[1], ":authority: " + lines[2]}
		for _, l := range lines[3:] {
			k, v, _ := strings.Cut(l, "\x00")
			fields = append(fields, k+": "+v)
		}
		var data []string
		if body != "" {
			data = []string{body}
		}
		from, _ := r.Origin.Count()
		h := dialH2(t, r.Addr)
		// A marker the origin sees only for this input.
		mark := fmt.Sprintf("/fz%d", from)
		fields[2] = ":path: " + mark + lines[1]
		h.send(1, fields, data, nil)
		res := h.read(1)
		h.c.Close()
		r.Quiet()
		snap := r.Origin.Snapshot(from)
		var mine []*Request
		for _, q := range snap.Requests {
			if strings.HasPrefix(q.Target, mark) {
				mine = append(mine, q)
			}
		}
		if len(mine) > 1 {
			t.Fatalf("one stream became %d requests:%s", len(mine), targets(mine))
		}
		if p := r.Origin.Pending(""); len(p) > 0 {
			t.Fatalf("unread bytes on an open server connection: %v", p)
		}
		if len(mine) == 0 {
			return
		}
		g := mine[0]
		hosts := g.HostFields()
		if g.Method != lines[0] || g.Target != mark+lines[1] || len(hosts) != 1 || !strings.EqualFold(hosts[0], lines[2]) || string(g.Body) != body {
			t.Fatalf("the origin read %s Host %q body %q; the stream said %s %s %s body %q (client saw %+v)",
				g.describe(), hosts, g.Body, lines[0], mark+lines[1], lines[2], body, res)
		}
	})
}
