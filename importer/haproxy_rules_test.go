package importer

import (
	"strings"
	"testing"
)

// TestTCPPolicy: a tcp frontend's tcp-request rules, with the inspect
// delay and a condition on the ClientHello's server name.
func TestTCPPolicy(t *testing.T) {
	src := `defaults
	mode tcp
	log global
	option tcplog
	option dontlognull
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend tls
	bind 192.0.2.10:443
	tcp-request inspect-delay 5s
	acl office src 198.51.100.0/24
	tcp-request connection reject unless office
	tcp-request content accept if { req_ssl_sni -i a.example.com }
	tcp-request content reject
	default_backend be
backend be
	server s1 192.0.2.21:443 check
`
	r, err := Convert(Options{HAProxy: &Source{Name: "haproxy.cfg", Data: []byte(src)}})
	if err != nil {
		t.Fatal(err)
	}
	got := blanks.ReplaceAllString(string(r.HCL), " ")
	for _, w := range []string{`inspect_delay = "5s"`, `acl "office" {`, `tcp_request "connection" "reject" {`, `unless = "office"`,
		`tcp_request "content" "accept" {`, `sni = ["a.example.com"]`, `tcp_request "content" "reject" {}`} {
		if !strings.Contains(got, w) {
			t.Errorf("want %q in:\n%s", w, r.HCL)
		}
	}
	for _, n := range r.Notes {
		if n.Kind != Ignored { // dontlognull's
			t.Errorf("note: %s", n)
		}
	}
	validate(t, "tcp", r.HCL)
}
