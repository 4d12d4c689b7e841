package tlsconf

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"
)

func TestParseCiphers(t *testing.T) {
	cases := []struct {
		in      string
		want    []uint16 // nil: only check the error
		warn    string
		wantErr string
	}{
		{in: DefaultCiphers, want: []uint16{0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8}},
		{in: "ECDHE-RSA-AES128-GCM-SHA256", want: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}},
		{in: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", want: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}},
		{in: "ECDHE+AESGCM", want: []uint16{0xc02b, 0xc02f, 0xc02c, 0xc030}},
		{in: "ECDHE+AESGCM:ECDHE+CHACHA20:!aRSA", want: []uint16{0xc02b, 0xc02c, 0xcca9}},
		{in: "ECDHE+AESGCM:-ECDSA:ECDHE-ECDSA-AES128-GCM-SHA256", want: []uint16{0xc02b, 0xc02f, 0xc030}},
		{in: "ECDHE+AESGCM:!ECDSA:ECDHE-ECDSA-AES128-GCM-SHA256", want: []uint16{0xc02f, 0xc030}},
		// The seed article's line: DH parts select nothing here.
		{in: "ECDH+AESGCM:DH+AESGCM:ECDH+AES256:DH+AES256:ECDH+AES128:DH+AES:RSA+AESGCM:RSA+AES:!aNULL:!MD5:!DSS",
			want: []uint16{0xc02b, 0xc02f, 0xc02c, 0xc030, 0xc023, 0xc027, 0xc009, 0xc013, 0xc00a, 0xc014, 0x009c, 0x009d, 0x003c, 0x002f, 0x0035}},
		// Mozilla intermediate's full string: the DHE suites are skipped.
		{in: DefaultCiphers + ":DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384", want: []uint16{0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8},
			warn: "DHE-RSA-AES128-GCM-SHA256 is not implemented"},
		{in: "HIGH:!aNULL:!MD5:@STRENGTH", want: nil},
		{in: "DEFAULT", want: nil},
		{in: "ECDHE-RSA-AES128-GCM-SHA256:+AES256", want: []uint16{0xc02f}},
		{in: "", wantErr: "empty cipher string"},
		{in: "FOO-BAR", wantErr: `unknown cipher or cipher keyword "FOO-BAR"`},
		{in: "TLS_AES_128_GCM_SHA256", wantErr: "TLS 1.3 suite"},
		{in: "DHE-RSA-AES128-GCM-SHA256", wantErr: "selects no suite"},
		{in: "ECDHE:!ECDHE", wantErr: "selects no suite"},
		{in: "ECDHE:!", wantErr: "a lone"},
	}
	for _, c := range cases {
		ids, warns, err := ParseCiphers(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if c.want != nil {
			got := slices.Clone(ids)
			want := slices.Clone(c.want)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%q: got %x, want %x", c.in, got, want)
			}
		}
		if c.warn != "" && (len(warns) == 0 || !strings.Contains(warns[0], c.warn)) {
			t.Errorf("%q: warnings %v, want %q", c.in, warns, c.warn)
		}
	}
	// HIGH excludes 3DES and RC4; DEFAULT is crypto/tls's secure set.
	ids, _, _ := ParseCiphers("HIGH")
	if slices.Contains(ids, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA) || slices.Contains(ids, tls.TLS_RSA_WITH_RC4_128_SHA) {
		t.Errorf("HIGH selects 3DES or RC4: %x", ids)
	}
	ids, _, _ = ParseCiphers("DEFAULT")
	if len(ids) != len(tls.CipherSuites())-3 {
		t.Errorf("DEFAULT: %d suites, want crypto/tls's %d TLS 1.2 ones", len(ids), len(tls.CipherSuites())-3)
	}
	if w := InsecureSuites(ids); len(w) != 4 { // the four ECDHE CBC-SHA1 suites
		t.Errorf("insecure suites in DEFAULT: %v", w)
	}
}

func TestParseVersionCurve(t *testing.T) {
	for in, want := range map[string]uint16{"TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13, "TLSv1.0": tls.VersionTLS10} {
		if v, err := ParseVersion(in); err != nil || v != want {
			t.Errorf("%s: %x %v", in, v, err)
		}
		if VersionName(want) != in {
			t.Errorf("VersionName(%x) = %s", want, VersionName(want))
		}
	}
	for _, bad := range []string{"SSLv3", "1.2", "tlsv1.2", ""} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for in, want := range map[string]tls.CurveID{"prime256v1": tls.CurveP256, "X25519": tls.X25519, "secp384r1": tls.CurveP384} {
		if c, err := ParseCurve(in); err != nil || c != want {
			t.Errorf("%s: %v %v", in, c, err)
		}
	}
	if _, err := ParseCurve("ffdhe2048"); err == nil {
		t.Error("ffdhe2048 accepted")
	}
	if _, err := ParseALPN([]string{"h2", "http/1.1"}, true); err != nil {
		t.Error("h2 refused on an http frontend")
	}
	if _, err := ParseALPN([]string{"h3"}, true); err == nil {
		t.Error("h3 accepted on an http frontend")
	}
	if p, err := ParseALPN([]string{"h2"}, false); err != nil || p[0] != "h2" {
		t.Error("h2 refused on a tcp frontend")
	}
}
