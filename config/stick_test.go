package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStickTableConfig(t *testing.T) {
	// feWith's body starts at line 4.
	table := "  stick_table {\n    type   = \"ip\"\n    size   = \"100k\"\n    expire = \"30s\"\n    store  = [\"http_req_rate(10s)\", \"conn_cur\"]\n  }\n"                            // lines 4-9
	limit := "  http_request \"track_sc0\" {}\n  acl \"abuse\" {\n    sc0_http_req_rate = [\"gt 10\"]\n  }\n  http_request \"deny\" {\n    if     = \"abuse\"\n    status = 429\n  }\n" // lines 10-17
	runDiagCases(t, []diagCase{
		{name: "rate limit", src: feWith(table + limit)},
		{name: "src fetch of the frontend's table", src: feWith(table + "  acl \"busy\" {\n    src_conn_cur = [\"gt 3\"]\n  }\n  http_request \"deny\" {\n    if = \"busy\"\n  }\n")},
		{name: "size suffix and store typo", src: feWith("  stick_table {\n    size  = \"1x\"\n    store = [\"http_req_rat(10s)\", \"http_req_rate\", \"conn_cur(10s)\", \"gpc0\", \"conn_cur\", \"conn_cur\"]\n  }\n"),
			want: []string{`5:13: size: "1x" is not a positive size`, `6:14: store: unknown counter "http_req_rat" (did you mean "http_req_cnt"?)`,
				`6:35: store: http_req_rate needs its period`, `6:52: store: conn_cur is a count`, `6:69: store: gpc0: lbd has no general purpose counters`, `6:89: store: conn_cur is stored twice`}},
		{name: "type", src: feWith("  stick_table {\n    type = \"binary\"\n    size = 10\n  }\n"), want: []string{`5:12: type: lbd's stick tables hold ip, ipv6 or string keys, not binary`}},
		{name: "size required", src: feWith("  stick_table {\n  }\n"), want: []string{`4:15: Missing required argument`}},
		{name: "track without a table", src: feWith("  http_request \"track_sc0\" {}\n"), want: []string{`4:3: track_sc0: frontend "web" has no stick_table`}},
		{name: "track an unknown table", src: feWith("  http_request \"track_sc1\" {\n    table = \"per_ip\"\n  }\n"), want: []string{`5:13: table: unknown stick table "per_ip"`}},
		{name: "counter not stored", src: feWith(table + "  http_request \"track_sc0\" {}\n  acl \"e\" {\n    sc0_http_err_rate = [\"gt 1\"]\n  }\n  http_request \"deny\" {\n    if = \"e\"\n  }\n"),
			want: []string{`12:25: sc0_http_err_rate: stick table "web" does not store http_err_rate (store = [http_req_rate(10s), conn_cur])`}},
		{name: "counter of an untracked slot", src: feWith(table + "  acl \"e\" {\n    sc1_conn_cur = [\"gt 1\"]\n  }\n  http_request \"deny\" {\n    if = \"e\"\n  }\n"),
			want: []string{`11:20: sc1_conn_cur: no rule of frontend "web" tracks sc1`}},
		{name: "header key in an ip table", src: feWith(table + "  http_request \"track_sc0\" {\n    key = \"req.hdr(x-api-key)\"\n  }\n"),
			want: []string{`11:11: key: req.hdr(x-api-key) is not an address`}},
		{name: "unknown peers", src: feWith("  stick_table {\n    size  = 10\n    peers = \"pear\"\n  }\n"), want: []string{`6:13: peers: unknown peers block "pear"`}},
	})
}

func TestStickTableDecoded(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "peers.key")
	os.WriteFile(key, []byte(strings.Repeat("k", 40)), 0o600)
	src := `peers "pair" {
  bind        = "192.0.2.11:10000"
  peer        = "192.0.2.12:10000"
  secret_file = "peers.key"
}
frontend "web" {
  bind            = ["127.0.0.1:8080"]
  default_backend = "app"
  http_request "track_sc0" {}
  http_request "track_sc1" {
    key   = "req.cook(session)"
    table = "per_session"
  }
  acl "abuse" {
    sc0_http_req_rate = ["gt 10"]
  }
  acl "errors" {
    sample "sc_http_err_rate(1)" { value = ["gt 5"] }
  }
  http_request "deny" {
    if     = "abuse || errors"
    status = 429
  }
  stick_table {
    size   = "1m"
    expire = "1m"
    store  = ["http_req_rate(10s)"]
    peers  = "pair"
  }
}
backend "app" {
  server "a" { address = "127.0.0.1:9001" }
}
backend "per_session" {
  stick_table {
    type  = "string"
    len   = 64
    size  = 1000
    store = ["http_err_rate(1m)", "http_req_cnt"]
  }
}
`
	cfg, err := Parse(filepath.Join(dir, "lbd.hcl"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tb := cfg.StickTable("web")
	if tb == nil || tb.Type != "ip" || tb.Size != 1<<20 || tb.Expire != time.Minute || tb.Peers != "pair" || len(tb.Store) != 1 || tb.Store[0].Period != 10*time.Second {
		t.Fatalf("web table %+v", tb)
	}
	ps := cfg.StickTable("per_session")
	if ps == nil || ps.Type != "string" || ps.Len != 64 || ps.Size != 1000 || len(ps.Store) != 2 {
		t.Fatalf("per_session table %+v", ps)
	}
	f := cfg.Frontends[0]
	if r := f.Policy.HTTPRequest[0]; r.Table != "web" || r.Key.Src != "src" {
		t.Errorf("track_sc0 defaults: table %q key %q", r.Table, r.Key.Src)
	}
	// The deny reads http_req_rate (10s) and http_err_rate (1m): clients
	// are told to come back after the longer.
	if r := f.Policy.HTTPRequest[2]; r.RetryAfter != time.Minute {
		t.Errorf("Retry-After %s, want 1m", r.RetryAfter)
	}
	if p := cfg.PeersBlock("pair"); p == nil || p.Bind != "192.0.2.11:10000" || string(p.Secret) != strings.Repeat("k", 40) {
		t.Errorf("peers %v", p)
	}
}
