package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestLogConfig is the contract of the logging settings (global log
// targets, log_tag, a frontend's log_format, access_log and captures) and
// of expect_status ranges: each file's diagnostics as "LINE:COL: text"
// prefixes, none for a valid file.
func TestLogConfig(t *testing.T) {
	fe := func(extra string) string {
		return strings.Replace(minimal, `default_backend = "app"`, "default_backend = \"app\"\n"+extra, 1)
	}
	for _, tc := range []struct {
		name string
		src  string
		want []string
	}{
		{"udp target", "global {\n  log \"127.0.0.1:514\" {\n    facility = \"local1\"\n  }\n}\n", nil},
		{"udp target, default port", "global {\n  log \"udp@192.0.2.1\" {}\n}\n", nil},
		{"ipv6 target", "global {\n  log \"[2001:db8::1]:514\" {}\n}\n", nil},
		{"unix target", "global {\n  log \"/dev/log\" {\n    format = \"rfc5424\"\n    level = \"notice\"\n    min_level = \"alert\"\n    len = 2048\n  }\n}\n", nil},
		{"stderr target", "global {\n  log \"stderr\" {}\n}\n", nil},
		{"several targets", "global {\n  log_tag = \"haproxy\"\n  log \"/dev/log\" {}\n  log \"127.0.0.1\" {}\n}\n", nil},
		{"host name target", "global {\n  log \"syslog.example.com:514\" {}\n}\n", []string{`2:7: log target "syslog.example.com:514": the host must be an IP address`}},
		{"ring target", "global {\n  log \"ring@buf\" {}\n}\n", []string{`2:7: log target "ring@buf": lbd sends logs over udp@, unix@, to stdout or stderr`}},
		{"relative unix target", "global {\n  log \"unix@dev/log\" {}\n}\n", []string{`2:7: log target "unix@dev/log": a unix socket needs an absolute path`}},
		{"bad port", "global {\n  log \"127.0.0.1:99999\" {}\n}\n", []string{`2:7: log target "127.0.0.1:99999": port must be 1..65535`}},
		{"bad facility", "global {\n  log \"127.0.0.1\" {\n    facility = \"local8\"\n  }\n}\n", []string{`3:16: facility: "local8" is not one of`}},
		{"bad level", "global {\n  log \"127.0.0.1\" {\n    level = \"warn\"\n  }\n}\n", []string{`3:13: level: "warn" is not one of "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"`}},
		{"min_level less severe", "global {\n  log \"127.0.0.1\" {\n    level = \"err\"\n    min_level = \"info\"\n  }\n}\n", []string{`4:17: min_level "info" is less severe than level "err"`}},
		{"bad format", "global {\n  log \"127.0.0.1\" {\n    format = \"json\"\n  }\n}\n", []string{`3:14: format: "json" is not one of "rfc3164", "rfc5424", "raw"`}},
		{"len too small", "global {\n  log \"127.0.0.1\" {\n    len = 10\n  }\n}\n", []string{`3:11: len: 10 is out of range 80..65535`}},
		{"log_tag with a blank", "global {\n  log_tag = \"my app\"\n}\n", []string{`2:13: log_tag: "my app" must be 1..32 printable characters`}},

		{"httplog", fe(`log_format = "httplog"`), nil},
		{"custom format", fe(`log_format = "%ci:%cp [%tr] %%{+Q}r %ST"`), nil}, // HCL: %%{ is a literal %{
		{"custom format, unknown variable", fe(`log_format = "%ci %zz"`), []string{`5:14: log_format: log format: unknown variable %zz`}},
		{"custom format, sample fetch", fe(`log_format = "%[src]"`), []string{`5:14: log_format: log format: sample expressions (%[...]) are not supported by lbd`}},
		{"no access log", fe(`access_log = false`), nil},
		{"captures", fe("capture_request_header \"Host\" {\n    len = 64\n  }\n  capture_request_header \"User-Agent\" {}\n  capture_response_header \"Content-Type\" {\n    len = 20\n  }"), nil},
		{"capture, bad name", fe(`capture_request_header "Host:" {}`), []string{`5:24: "Host:" is not a header name`}},
		{"capture, duplicate", fe("capture_request_header \"Host\" {}\n  capture_request_header \"host\" {}"), []string{`6:3: duplicate capture_request_header "host"; the first one is at line 5`}},
		{"capture, len", fe("capture_request_header \"Host\" {\n    len = 0\n  }"), []string{`6:11: len: 0 is out of range 1..4096`}},
		{"httplog on tcp", "frontend \"t\" {\n  mode = \"tcp\"\n  bind = [\"127.0.0.1:9000\"]\n  default_backend = \"b\"\n  log_format = \"httplog\"\n}\nbackend \"b\" {\n  mode = \"tcp\"\n}\n", []string{`5:16: log_format "httplog" needs mode = "http"`}},
		{"capture on tcp", "frontend \"t\" {\n  mode = \"tcp\"\n  bind = [\"127.0.0.1:9000\"]\n  default_backend = \"b\"\n  capture_request_header \"Host\" {}\n}\nbackend \"b\" {\n  mode = \"tcp\"\n}\n", []string{`1:1: frontend "t": header captures need mode = "http"`}},

		{"expect_status range", "backend \"b\" {\n  health_check {\n    type = \"http\"\n    expect_status = [\"200-399\", 404]\n  }\n}\n", nil},
		{"expect_status bad range", "backend \"b\" {\n  health_check {\n    type = \"http\"\n    expect_status = [\"399-200\"]\n  }\n}\n", []string{`4:22: expect_status[0]: "399-200" is not a status or a range`}},
		{"stats uri /", "stats {\n  uri = \"/\"\n}\n", nil},
		{"stats uri /metrics", "stats {\n  uri = \"/metrics\"\n}\n", []string{`2:9: uri: "/metrics" must be a path such as "/stats"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("l.hcl", []byte(tc.src))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("want valid, got:\n%v", err)
				}
				return
			}
			var diags Diagnostics
			if !errors.As(err, &diags) {
				t.Fatalf("want diagnostics, got %v", err)
			}
			if len(diags) != len(tc.want) {
				t.Errorf("want %d diagnostics, got %d:\n%v", len(tc.want), len(diags), err)
			}
			for i, w := range tc.want {
				if i < len(diags) && !strings.HasPrefix(diags[i].String(), "l.hcl:"+w) {
					t.Errorf("diagnostic %d:\n got  %s\n want l.hcl:%s", i, diags[i], w)
				}
			}
		})
	}
}

func TestLogDecoded(t *testing.T) {
	src := `global {
  log "udp@127.0.0.1" {
    facility = "local2"
  }
  log "/dev/log" {}
  log "stderr" {}
}
` + strings.Replace(minimal, `default_backend = "app"`, "default_backend = \"app\"\n  log_format = \"tcplog\"\n  capture_request_header \"Host\" {}", 1) + `
backend "b" {
  health_check {
    type          = "http"
    expect_status = ["200-202", 301]
  }
}
`
	cfg, err := Parse("l.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Global
	if g.LogTag != "lbd" || len(g.Logs) != 3 {
		t.Fatalf("global: %+v", g)
	}
	want := []LogAddress{{"udp", "127.0.0.1:514"}, {"unixgram", "/dev/log"}, {"stderr", ""}}
	for i, l := range g.Logs {
		if l.Address != want[i] {
			t.Errorf("log %d: %+v, want %+v", i, l.Address, want[i])
		}
	}
	if l := g.Logs[0]; l.Facility != "local2" || l.Level != "info" || l.MinLevel != "emerg" || l.Format != "rfc3164" || l.Len != 1024 {
		t.Errorf("defaults of a udp target: %+v", l)
	}
	if l := g.Logs[2]; l.Format != "raw" {
		t.Errorf("stderr's default format: %q, want raw", l.Format)
	}
	f := cfg.Frontend("web")
	if f.LogFormat != "tcplog" || !f.AccessLog || len(f.CaptureRequestHeaders) != 1 || f.CaptureRequestHeaders[0].Len != 64 {
		t.Errorf("frontend: %+v", f)
	}
	if got := cfg.Backend("b").HealthCheck.ExpectStatus; !reflect.DeepEqual(got, []int{200, 201, 202, 301}) {
		t.Errorf("expect_status ranges: %v", got)
	}
}
