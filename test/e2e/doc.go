// Package e2e holds lbd's end-to-end tests: real lbd processes in network
// namespaces, real backends, a real client, on the lab topology of
// deploy/lab (the harness builds it with deploy/lab/lab.sh under a per-run
// prefix, so `make lab-up` and the tests share one topology).
//
// A test is a few lines:
//
//	func TestSomething(t *testing.T) {
//		l := NewLab(t)             // skips without root, fails under CI=true
//		l.StartWeb("web1")
//		l.StartWeb("web2")
//		lb1, _ := l.StartPair()    // lbd on lb1 and lb2 with deploy/lab/lab.hcl.tmpl
//		code, body, err := l.HTTPGet("client", "http://"+VIP+"/")
//		...
//		out, err := lb1.Ctl("vip", "status")
//	}
//
// The tests by subject: lab_test.go (the lab itself), pair_test.go (a pair
// serving through each node), vrrp_test.go (the VRRP speaker, issue 5);
// health_test.go, proxy_test.go and ops_test.go (issues 4, 3 and 6: checks
// and admin states, reloads under load, cookies, tcp, the stats listener
// and lbctl) each run one lbd on lb1 with the lab config plus what
// appliance_test.go adds, one lab per test, subtests in order. traffic.go
// has their helpers: a steady client Load, Spread, lbctl exit codes, the
// detailed server status.
//
// Everything a lab makes is removed by t.Cleanup, also when the test fails
// or panics; leftovers of a killed test binary (e.g. a -timeout panic) are
// removed by the next run (see sweepStale). Timings are never asserted
// beyond generous bounds: the machine is shared.
package e2e
