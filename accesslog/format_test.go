package accesslog

import (
	"bytes"
	"encoding/json"
	"io"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func init() {
	// HAProxy writes dates in local time; the expected lines below are UTC.
	time.Local = time.UTC
}

// at is a unix-ns date, UTC.
func at(s string) int64 {
	t, err := time.Parse("2006-01-02 15:04:05.000", s)
	if err != nil {
		panic(err)
	}
	return t.UnixNano()
}

// haproxyRecord is the request of the first line HAProxy 2.6 logged in
// TestHAProxyLines, as lbd's proxy fills a Record.
func haproxyRecord() *Record {
	return &Record{
		HTTP:       true,
		Client:     netip.MustParseAddrPort("127.0.0.1:53702"),
		Listener:   netip.MustParseAddrPort("127.0.0.1:18080"),
		Server:     netip.MustParseAddrPort("127.0.0.1:18081"),
		Frontend:   "fe",
		Backend:    "be",
		ServerName: "s1",
		Accept:     at("2026-12-06 22:09:44.182"),
		Request:    at("2026-12-06 22:09:44.182"),
		Th:         0, Ti: 0, TR: 0, Tw: 0, Tc: 1, Tr: 1, Ta: 2, Tt: 2,
		Status:    200,
		BytesRead: 565,
		Term:      [2]byte{'-', '-'},
		Cookie:    [2]byte{'N', 'I'},
		ActConn:   1, FeConn: 1,
		RequestLine: []byte("GET / HTTP/1.1"),
		ReqHeaders:  [][]byte{[]byte("127.0.0.1:18080"), []byte("averyveryv")},
		RespHeaders: [][]byte{[]byte("text/html; charset=u")},
	}
}

// TestHAProxyLines: lines HAProxy 2.6 (Debian's 2.6.12) wrote for these
// requests, and the same records through lbd's formats.
func TestHAProxyLines(t *testing.T) {
	r := haproxyRecord()
	tcp := &Record{
		Client:     netip.MustParseAddrPort("127.0.0.1:57142"),
		Frontend:   "tcpl",
		Backend:    "tcpl",
		ServerName: "s1",
		Accept:     at("2026-12-06 22:09:44.234"),
		Th:         0, Ti: -1, TR: -1, Tw: -1, Tc: 0, Tr: -1, Ta: -1, Tt: 1, Assigned: 0,
		Status:    -1,
		BytesRead: 566,
		Term:      [2]byte{'-', '-'},
		ActConn:   1, FeConn: 1,
	}
	for _, tc := range []struct {
		name      string
		spec      string
		req, resp []string
		rec       *Record
		want      string
	}{
		{"httplog with captures", "httplog", []string{"Host", "User-Agent"}, []string{"Content-Type"}, r,
			`127.0.0.1:53702 [06/Dec/2026:22:09:44.182] fe be/s1 0/0/1/1/2 200 565 - - --NI 1/1/0/0/0 0/0 {127.0.0.1:18080|averyveryv} {text/html; charset=u} "GET / HTTP/1.1"`},
		{"tcplog", "tcplog", nil, nil, tcp,
			`127.0.0.1:57142 [06/Dec/2026:22:09:44.234] tcpl tcpl/s1 1/0/1 566 -- 1/1/0/0/0 0/0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := New(tc.spec, tc.req, tc.resp)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(f.Append(nil, tc.rec)); got != tc.want {
				t.Errorf("\n got  %s\n want %s", got, tc.want)
			}
		})
	}
}

// TestTextFormat covers the rendering rules of log.c one by one.
func TestTextFormat(t *testing.T) {
	base := haproxyRecord()
	for _, tc := range []struct {
		name string
		spec string
		req  []string
		mod  func(r *Record)
		want string
	}{
		{"httplog without captures collapses the blanks", "httplog", nil, nil,
			`127.0.0.1:53702 [06/Dec/2026:22:09:44.182] fe be/s1 0/0/1/1/2 200 565 - - --NI 1/1/0/0/0 0/0 "GET / HTTP/1.1"`},
		{"no backend: the frontend's name, no server", "%b/%s", nil, func(r *Record) { r.Backend, r.ServerName = "", "" }, "fe/<NOSRV>"},
		{"no request line", "%{+Q}r %HM %HU %HV", nil, func(r *Record) { r.RequestLine = nil }, `"<BADREQ>" <BADREQ> <BADREQ> <BADREQ>`},
		{"request line encoding", "%r", nil, func(r *Record) { r.RequestLine = []byte("GET /a\"b#c\x01é HTTP/1.1") }, `GET /a#22b#23c#01#C3#A9 HTTP/1.1`},
		{"captured header encoding", "%hr", []string{"X"}, func(r *Record) { r.ReqHeaders = [][]byte{[]byte(`{a|b}"#`)} }, `{#7Ba#7Cb#7D#22#23}`},
		{"missing captured header", "%hr %hrl %{+Q}hrl", []string{"A", "B"}, func(r *Record) { r.ReqHeaders = [][]byte{nil, []byte("x")} }, `{|x} - x "" "x"`},
		{"quoted header block", "%{+Q}hr", []string{"A"}, func(r *Record) { r.ReqHeaders = [][]byte{[]byte("v")} }, `"{v}"`},
		{"request parts", "%HM|%HU|%HP|%HPO|%HQ|%HV", nil, func(r *Record) { r.RequestLine = []byte("GET http://h/p/q?x=1 HTTP/1.0") }, "GET|http://h/p/q?x=1|http://h/p/q|/p/q|?x=1|HTTP/1.0"},
		{"no query", "[%HQ]", nil, nil, "[]"},
		{"HTTP/0.9", "%HV", nil, func(r *Record) { r.RequestLine = []byte("GET /") }, "HTTP/0.9"},
		{"redispatched", "%rc", nil, func(r *Record) { r.Retries, r.Redispatched = 3, true }, "+3"},
		{"timers", "%Th %Ti %TR %Tq %Tw %Tc %Tr %Td %Ta %Tt %Tu", nil, func(r *Record) {
			r.Th, r.Ti, r.TR, r.Tw, r.Tc, r.Tr, r.Ta, r.Tt = 0, 5, 2, 1, 3, 7, 20, 25
		}, "0 5 2 7 1 3 7 7 20 25 20"},
		{"timers not reached", "%Tq %Td", nil, func(r *Record) { r.TR, r.Tr = -1, -1 }, "-1 -1"},
		{"dates", "%t|%T|%Tl|%Ts|%ms|%tr|%trg|%trl", nil, func(r *Record) { r.Request = r.Accept + 1500*int64(time.Millisecond) },
			"06/Dec/2026:22:09:44.182|06/Dec/2026:22:09:44 +0000|06/Dec/2026:22:09:44 +0000|1796594984|182|06/Dec/2026:22:09:45.682|06/Dec/2026:22:09:45 +0000|06/Dec/2026:22:09:45 +0000"},
		{"addresses", "%ci %cp %fi %fp %si %sp", nil, nil, "127.0.0.1 53702 127.0.0.1 18080 127.0.0.1 18081"},
		{"no server address", "%si:%sp", nil, func(r *Record) { r.Server = netip.AddrPort{} }, "-:-"},
		{"quoted names, -M", "%{+Q}f %{+Q}b %{-M}CC|", nil, nil, `"fe" "be" |`},
		{"%o sets the options after it", "%{+Q}o %f %{-Q}b", nil, nil, `"fe" be`},
		{"percent and blanks", "100%%  %ST  ok", nil, nil, "100% 200 ok"},
		{"termination states", "%ts %tsc", nil, func(r *Record) { r.Term, r.Cookie = [2]byte{'s', 'H'}, [2]byte{} }, "sH sH--"},
		{"bytes and counters", "%B %U %ac %fc %bc %sc %sq %bq", nil, func(r *Record) {
			r.BytesUploaded, r.BeConn, r.SrvConn, r.SrvQueue, r.BackendQueue = 94, 3, 2, 4, 5
		}, "565 94 1 1 3 2 4 5"},
		{"pid and host", "%pid", nil, nil, itoa(os.Getpid())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := *base
			if tc.mod != nil {
				tc.mod(&r)
			}
			f, err := New(tc.spec, tc.req, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(f.Append(nil, &r)); got != tc.want {
				t.Errorf("%s\n got  %s\n want %s", tc.spec, got, tc.want)
			}
		})
	}
}

func itoa(n int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"%", "ends with a lone %"},
		{"%zz", "unknown variable %zz"},
		{"%[src]", "sample expressions"},
		{"%{+Q", "without its closing }"},
		{"%{+Q}", "must be followed by a variable name"},
		{"%{+X}ci", "not supported"},
		{"%{Q}ci", "not +FLAG"},
		{"% 5", "must be followed by a variable name"},
		{"%ID", "unique request ids"},
		{strings.Repeat("x", 9000), "too long"},
	} {
		if _, err := ParseFormat(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseFormat(%.20q) = %v, want an error containing %q", tc.spec, err, tc.want)
		}
	}
}

// TestJSONCompatible: the JSON line is the one the proxy wrote through
// zerolog before this package, field for field, value for value.
func TestJSONCompatible(t *testing.T) {
	zerolog.TimeFieldFormat = time.RFC3339Nano
	for _, httpRec := range []bool{true, false} {
		r := haproxyRecord()
		r.HTTP = httpRec
		r.ReqHeaders, r.RespHeaders = nil, nil
		r.RequestLine = []byte("GET /\"quoted\"\x01 HTTP/1.1")
		r.BytesUploaded, r.BeConn, r.SrvConn, r.Retries, r.SrvQueue, r.BackendQueue = 94, 3, 2, 1, 4, 5
		var old bytes.Buffer
		lg := zerolog.New(&old).With().Timestamp().Str("component", "access").Logger()
		ev := lg.Info()
		ev = ev.Str("client", r.Client.String()).Str("frontend", r.Frontend).Str("backend", r.Backend).Str("server", r.ServerName)
		if httpRec {
			ev = ev.Int64("Th", r.Th).Int64("Ti", r.Ti).Int64("TR", r.TR).Int64("Tw", r.Tw).Int64("Tc", r.Tc).Int64("Tr", r.Tr).Int64("Ta", r.Ta).Int64("status", int64(r.Status))
		} else {
			ev = ev.Int64("Tw", r.Tw).Int64("Tc", r.Tc).Int64("Tt", r.Tt)
		}
		ev = ev.Int64("bytes_read", r.BytesRead).Int64("bytes_uploaded", r.BytesUploaded).Bytes("termination_state", r.Term[:]).
			Int64("actconn", r.ActConn).Int64("feconn", r.FeConn).Int64("beconn", r.BeConn).Int64("srv_conn", r.SrvConn).
			Int("retries", r.Retries).Int64("srv_queue", r.SrvQueue).Int64("backend_queue", r.BackendQueue)
		if httpRec {
			ev = ev.Bytes("request", r.RequestLine)
		}
		ev.Msg("")
		f, _ := New("json", nil, nil)
		got := jsonLine(f, r)
		strip := func(b []byte) string {
			i := bytes.Index(b, []byte(`,"time":`))
			if i < 0 {
				t.Fatalf("no time field in %s", b)
			}
			return string(b[:i])
		}
		if strip(got) != strip(bytes.TrimSpace(old.Bytes())) {
			t.Errorf("http=%v:\n got  %s\n want %s", httpRec, got, old.Bytes())
		}
		var v map[string]any
		if err := json.Unmarshal(got, &v); err != nil {
			t.Fatalf("not JSON: %v: %s", err, got)
		}
		if _, err := time.Parse(time.RFC3339Nano, v["time"].(string)); err != nil {
			t.Errorf("time: %v", err)
		}
	}
}

// jsonLine is the line the proxy's access logger writes for r.
func jsonLine(f *Format, r *Record) []byte {
	var buf bytes.Buffer
	lg := zerolog.New(&buf).With().Timestamp().Str("component", "access").Logger()
	f.Event(lg.Info(), r).Msg("")
	return bytes.TrimSpace(buf.Bytes())
}

func TestJSONCaptures(t *testing.T) {
	f, _ := New("json", []string{"Host", "X-Absent"}, []string{"Content-Type"})
	r := haproxyRecord()
	r.ReqHeaders = [][]byte{[]byte("a\"b"), nil}
	line := jsonLine(f, r)
	var v struct {
		Req  map[string]*string `json:"request_headers"`
		Resp map[string]*string `json:"response_headers"`
	}
	if err := json.Unmarshal(line, &v); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	if *v.Req["Host"] != `a"b` || v.Req["X-Absent"] != nil || *v.Resp["Content-Type"] != "text/html; charset=u" {
		t.Errorf("captures: %s", line)
	}
}

// TestNoAlloc: formatting a line allocates nothing, in every format.
func TestNoAlloc(t *testing.T) {
	r := haproxyRecord()
	lg := zerolog.New(io.Discard).With().Timestamp().Str("component", "access").Logger()
	for _, spec := range []string{"json", "httplog", "tcplog", "%ci %trg %Tl %{+Q}HU %hrl"} {
		f, err := New(spec, []string{"Host", "User-Agent"}, []string{"Content-Type"})
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 0, 1024)
		line := func() {
			if f.JSON() {
				f.Event(lg.Info(), r).Msg("")
			} else {
				buf = f.Append(buf[:0], r)
			}
		}
		if n := testing.AllocsPerRun(200, line); n != 0 {
			t.Errorf("%s: %v allocations per line", spec, n)
		}
	}
}

func BenchmarkFormat(b *testing.B) {
	r := haproxyRecord()
	lg := zerolog.New(io.Discard).With().Timestamp().Str("component", "access").Logger()
	for _, spec := range []string{"json", "httplog", "tcplog"} {
		b.Run(spec, func(b *testing.B) {
			f, _ := New(spec, []string{"Host", "User-Agent"}, []string{"Content-Type"})
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if f.JSON() {
					f.Event(lg.Info(), r).Msg("")
				} else {
					buf = f.Append(buf[:0], r)
				}
			}
		})
	}
}

// TestRefused: a request refused before it was parsed is logged as
// HAProxy 2.6 logs it (without a stream), captured from Debian's haproxy
// answering "GET\r\n\r\n" with captures configured.
func TestRefused(t *testing.T) {
	f, err := New("httplog", []string{"Host"}, []string{"Content-Type"})
	if err != nil {
		t.Fatal(err)
	}
	r := &Record{
		HTTP: true, Refused: true,
		Client:   netip.MustParseAddrPort("127.0.0.1:60016"),
		Frontend: "fe",
		Accept:   at("2026-12-06 23:29:49.762"), Request: at("2026-12-06 23:29:49.762"),
		Ti: 0, TR: 0, Tw: -1, Tc: -1, Tr: -1, Ta: 0, Tt: 0,
		Status: 400, BytesRead: 187, BytesUploaded: 7, RequestLine: []byte("GET"),
		Term: [2]byte{'P', 'R'}, ActConn: 1, FeConn: 1,
	}
	want := `127.0.0.1:60016 [06/Dec/2026:23:29:49.762] fe fe/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 1/1/0/0/0 0/0 "<BADREQ>"`
	if got := string(f.Append(nil, r)); got != want {
		t.Errorf("\n got  %s\n want %s", got, want)
	}
}

// TestTLSFields: a TLS connection's facts, as the TLS data path logged
// them before this package (ssl_fc_* after the timers and status), and
// HAProxy's %sslv, %sslc and the '~' of %ft.
func TestTLSFields(t *testing.T) {
	r := haproxyRecord()
	r.TLS, r.TLSVersion, r.TLSCipher, r.SNI = true, "TLSv1.3", "TLS_AES_128_GCM_SHA256", "www.example.com"
	jf, _ := New("json", nil, nil)
	line := string(jsonLine(jf, r))
	want := `"status":200,"ssl_fc_protocol":"TLSv1.3","ssl_fc_cipher":"TLS_AES_128_GCM_SHA256","ssl_fc_is_resumed":false,"ssl_fc_sni":"www.example.com","bytes_read":565`
	if !strings.Contains(line, want) {
		t.Errorf("JSON:\n got  %s\n want it to contain %s", line, want)
	}
	f, err := New("%ft %f %sslv %sslc", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(f.Append(nil, r)), "fe~ fe TLSv1.3 TLS_AES_128_GCM_SHA256"; got != want {
		t.Errorf("text: got %q, want %q", got, want)
	}
	r.TLS, r.TLSVersion, r.TLSCipher = false, "", ""
	if got, want := string(f.Append(nil, r)), "fe fe - -"; got != want {
		t.Errorf("text in clear: got %q, want %q", got, want)
	}
	if line := string(jsonLine(jf, r)); strings.Contains(line, "ssl_fc_protocol") || !strings.Contains(line, `"ssl_fc_sni":"www.example.com"`) {
		t.Errorf("JSON in clear (SNI read for routing only): %s", line)
	}
}
