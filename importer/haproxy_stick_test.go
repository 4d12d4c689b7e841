package importer

import (
	"strings"
	"testing"
)

// TestPeersImport: a peers section and the table that names it; the
// local peer comes from localpeer, the bind/server form, or is guessed
// (with a note).
func TestPeersImport(t *testing.T) {
	const rest = `defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend fe
	bind 192.0.2.100:80
	stick-table type ip size 1m expire 10m store http_req_rate(10s) peers lbpeers
	http-request track-sc0 src
	http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100 }
	default_backend be
backend be
	server s1 192.0.2.21:80 check
`
	for _, tc := range []struct {
		name, head string
		want       []string
		note       string // a NotConverted note's reason, "" for none
	}{
		{"localpeer", "global\n\tlocalpeer lb2\npeers lbpeers\n\tpeer lb1 192.0.2.11:10000\n\tpeer lb2 192.0.2.12:10000\n",
			[]string{`peers "lbpeers" {`, `bind = "192.0.2.12:10000"`, `peer = "192.0.2.11:10000"`, `secret_file = "/etc/lbd/peers.key"`, `peers = "lbpeers"`}, ""},
		{"guessed by order", "peers lbpeers\n\tpeer lb1 192.0.2.11:10000\n\tpeer lb2 192.0.2.12:10000\n",
			[]string{`bind = "192.0.2.11:10000"`, `peer = "192.0.2.12:10000"`}, "swap bind and peer"},
		{"bind and servers", "peers lbpeers\n\tbind 192.0.2.12:10000\n\tserver lb1 192.0.2.11:10000\n\tserver lb2\n",
			[]string{`bind = "192.0.2.12:10000"`, `peer = "192.0.2.11:10000"`}, ""},
		{"three peers", "peers lbpeers\n\tpeer a 192.0.2.11:10000\n\tpeer b 192.0.2.12:10000\n\tpeer c 192.0.2.13:10000\n", nil, "exactly two peers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Convert(Options{HAProxy: &Source{Name: "haproxy.cfg", Data: []byte(tc.head + rest)}})
			if err != nil {
				t.Fatal(err)
			}
			got := blanks.ReplaceAllString(string(r.HCL), " ")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("want %q in:\n%s", w, r.HCL)
				}
			}
			found := tc.note == ""
			for _, n := range r.Notes {
				if n.Kind == NotConverted && tc.note != "" && strings.Contains(n.Reason, tc.note) {
					found = true
				} else if n.Kind == NotConverted {
					t.Errorf("note: %s", n)
				}
			}
			if !found {
				t.Errorf("want a note with %q, got:\n%s", tc.note, notesText(r.Notes))
			}
			if tc.want != nil {
				validate(t, "peers", r.HCL)
			}
		})
	}
}
