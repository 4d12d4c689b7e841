package tlsconf

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// clientHello returns the first flight of a crypto/tls client.
func clientHello(t testing.TB, conf *tls.Config) []byte {
	t.Helper()
	a, b := net.Pipe()
	go func() {
		tls.Client(a, conf).Handshake()
		a.Close()
	}()
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := b.Read(buf)
		out = append(out, buf[:n]...)
		if _, perr := ParseClientHello(out); perr == nil || err != nil || !errors.Is(perr, ErrNeedMore) {
			break
		}
	}
	b.Close()
	return out
}

func TestParseClientHello(t *testing.T) {
	full := clientHello(t, &tls.Config{ServerName: "WWW.Example.com", NextProtos: []string{"h2", "http/1.1"}})
	tls12 := clientHello(t, &tls.Config{ServerName: "a.example.org", MaxVersion: tls.VersionTLS12})
	noSNI := clientHello(t, &tls.Config{InsecureSkipVerify: true})
	// The same hello split over two records, as some clients send big ones.
	body := full[5:]
	split := append([]byte{22, 3, 1, 0, 10}, body[:10]...)
	split = append(split, 22, 3, 1, byte((len(body)-10)>>8), byte(len(body)-10))
	split = append(split, body[10:]...)

	h, err := ParseClientHello(full)
	if err != nil || h.ServerName != "www.example.com" || !slices.Equal(h.ALPN, []string{"h2", "http/1.1"}) ||
		!slices.Contains(h.Versions, tls.VersionTLS13) || h.Len != len(full) {
		t.Fatalf("full: %+v %v", h, err)
	}
	if h, err := ParseClientHello(tls12); err != nil || h.ServerName != "a.example.org" || slices.Contains(h.Versions, tls.VersionTLS13) {
		t.Errorf("tls12: %+v %v", h, err)
	}
	if h, err := ParseClientHello(noSNI); err != nil || h.ServerName != "" {
		t.Errorf("no SNI: %+v %v", h, err)
	}
	if h, err := ParseClientHello(split); err != nil || h.ServerName != "www.example.com" || h.Len != len(split) {
		t.Errorf("split over two records: %+v %v", h, err)
	}
	// Every proper prefix is incomplete, never an error.
	for i := 0; i < len(full); i++ {
		if _, err := ParseClientHello(full[:i]); !errors.Is(err, ErrNeedMore) && !(i > 0 && err == nil) {
			t.Fatalf("prefix %d: %v", i, err)
		}
	}
	mut := func(f func(b []byte) []byte) []byte { return f(slices.Clone(full)) }
	bad := []struct {
		name, reason string
		in           []byte
	}{
		{"plain HTTP", "plain HTTP sent to a TLS port", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"plain HTTP, 2 bytes", "plain HTTP sent to a TLS port", []byte("GE")},
		{"SSH", "not a TLS handshake (first byte 0x53)", []byte("SSH-2.0-OpenSSH\r\n")},
		{"SSLv2", "an SSLv2 hello", []byte{0x80, 0x2e, 0x01, 0x03, 0x01}},
		{"alert record", "not a TLS handshake (first byte 0x15: a TLS record of type 21", []byte{21, 3, 1, 0, 2, 2, 40}},
		{"record version", "record version 4.1 is not TLS", []byte{22, 4, 1, 0, 2, 1, 0}},
		{"empty record", "record length 0", []byte{22, 3, 1, 0, 0}},
		{"huge record", "record length 20000", []byte{22, 3, 1, 0x4e, 0x20}},
		{"not a ClientHello", "handshake message type 2", mut(func(b []byte) []byte { b[5] = 2; return b })},
		{"length past the record", "data after the ClientHello", mut(func(b []byte) []byte { b[8]--; return b })},
		{"session ID too long", "malformed ClientHello", mut(func(b []byte) []byte { b[5+4+34] = 33; return b })},
		{"extensions cut short", "malformed ClientHello", mut(func(b []byte) []byte {
			b = b[:len(b)-3] // lengths of the record and message fixed, the extensions' not
			n := len(b) - 5
			b[3], b[4] = byte(n>>8), byte(n)
			b[6], b[7], b[8] = 0, byte((n-4)>>8), byte(n-4)
			return b
		})},
		{"bad host name", "is not a host name", clientHelloWithName(t, "a..b")},
	}
	for _, c := range bad {
		_, err := ParseClientHello(c.in)
		var he *HelloError
		if !errors.As(err, &he) || !strings.Contains(he.Reason, c.reason) {
			t.Errorf("%s: %v, want %q", c.name, err, c.reason)
		}
	}
}

// clientHelloWithName replaces the SNI of a real hello with name (same
// length as "example.com" padded).
func clientHelloWithName(t *testing.T, name string) []byte {
	h := clientHello(t, &tls.Config{ServerName: strings.Repeat("x", len(name))})
	i := strings.Index(string(h), strings.Repeat("x", len(name)))
	copy(h[i:], name)
	return h
}

// FuzzParseClientHello: any bytes give a Hello, ErrNeedMore or a
// HelloError, without panicking; a Hello's length fits the input and its
// server name is a valid host name.
func FuzzParseClientHello(f *testing.F) {
	for _, conf := range []*tls.Config{
		{ServerName: "www.example.com", NextProtos: []string{"http/1.1"}},
		{ServerName: "a.example.org", MaxVersion: tls.VersionTLS12},
		{InsecureSkipVerify: true},
	} {
		f.Add(clientHello(f, conf))
	}
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseClientHello(b)
		if err != nil {
			var he *HelloError
			if !errors.Is(err, ErrNeedMore) && !errors.As(err, &he) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if h.Len > len(b) || h.Len < 9 {
			t.Fatalf("length %d of %d bytes", h.Len, len(b))
		}
		if h.ServerName != "" && !validHost([]byte(h.ServerName)) {
			t.Fatalf("server name %q", h.ServerName)
		}
	})
}

// TestWriteHelloCorpus refreshes the committed seed corpus from real
// clients when LBD_WRITE_CORPUS is set.
func TestWriteHelloCorpus(t *testing.T) {
	if os.Getenv("LBD_WRITE_CORPUS") == "" {
		t.Skip("set LBD_WRITE_CORPUS=1 to rewrite testdata/fuzz/FuzzParseClientHello")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParseClientHello")
	os.MkdirAll(dir, 0o755)
	for name, conf := range map[string]*tls.Config{
		"go-tls13-sni-alpn": {ServerName: "www.example.com", NextProtos: []string{"h2", "http/1.1"}},
		"go-tls12":          {ServerName: "a.example.org", MaxVersion: tls.VersionTLS12},
		"go-no-sni":         {InsecureSkipVerify: true},
	} {
		writeCorpus(t, filepath.Join(dir, name), clientHello(t, conf))
	}
}

func writeCorpus(t *testing.T, path string, b []byte) {
	var sb strings.Builder
	sb.WriteString("go test fuzz v1\n[]byte(")
	sb.WriteString(strings.ReplaceAll(quoteBytes(b), "\n", ""))
	sb.WriteString(")\n")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func quoteBytes(b []byte) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, c := range b {
		sb.WriteString("\\x")
		sb.WriteByte("0123456789abcdef"[c>>4])
		sb.WriteByte("0123456789abcdef"[c&15])
	}
	sb.WriteByte('"')
	return sb.String()
}
