package config

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

func TestProxyProtocolConfig(t *testing.T) {
	fe := func(body string) string {
		return "frontend \"web\" {\n  bind = [\"127.0.0.1:8080\"]\n  default_backend = \"app\"\n" + body + "}\nbackend \"app\" {\n  server \"a\" { address = \"127.0.0.1:9001\" }\n}\n"
	}
	srv := func(attrs string) string {
		return "frontend \"web\" {\n  bind = [\"127.0.0.1:8080\"]\n  default_backend = \"app\"\n}\nbackend \"app\" {\n  server \"a\" {\n    address = \"127.0.0.1:9001\"\n" + attrs + "  }\n}\n"
	}
	runDiagCases(t, []diagCase{
		{name: "accept_proxy", src: fe("  accept_proxy {\n    from = [\"10.0.0.0/8\", \"192.0.2.1\"]\n  }\n")},
		{name: "accept_proxy without from", src: fe("  accept_proxy {}\n"), want: []string{`4:16: Missing required argument`}},
		{name: "accept_proxy empty from", src: fe("  accept_proxy {\n    from = []\n  }\n"), want: []string{`5:12: from: at least one network`}},
		{name: "accept_proxy bad cidr", src: fe("  accept_proxy {\n    from = [\"10.0.0.0/33\"]\n  }\n"), want: []string{`5:13: from: "10.0.0.0/33" is not a CIDR`}},
		{name: "accept_proxy bad timeout", src: fe("  accept_proxy {\n    from = [\"10.0.0.0/8\"]\n    timeout = \"0s\"\n  }\n"), want: []string{`6:15: timeout: 0s is out of range`}},
		{name: "two accept_proxy", src: fe("  accept_proxy {\n    from = [\"10.0.0.0/8\"]\n  }\n  accept_proxy {\n    from = [\"10.0.0.0/8\"]\n  }\n"), want: []string{`7:3: duplicate accept_proxy block`}},
		{name: "send_proxy", src: srv("    send_proxy = \"v2\"\n    check_send_proxy = false\n")},
		{name: "send_proxy v3", src: srv("    send_proxy = \"v3\"\n"), want: []string{`8:18: send_proxy: "v3" is not one of "", "v1", "v2"`}},
	})
	cfg, err := Parse(filepath.Join(t.TempDir(), "x.hcl"), []byte(fe("  accept_proxy {\n    from = [\"10.1.2.3/8\"]\n  }\n")))
	if err != nil {
		t.Fatal(err)
	}
	ap := cfg.Frontends[0].AcceptProxy
	if ap.Timeout != 3*time.Second || ap.From[0] != netip.MustParsePrefix("10.0.0.0/8") {
		t.Errorf("%+v", ap)
	}
	if !ap.Allowed(netip.MustParseAddr("::ffff:10.9.9.9")) || ap.Allowed(netip.MustParseAddr("11.0.0.1")) {
		t.Errorf("Allowed")
	}
}
