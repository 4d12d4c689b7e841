//go:build linux

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPairServesThroughEachNode: lbd on lb1 and lb2 with the lab config;
// requests to each node's own address reach both backends, and each node
// lists the configured servers in `lbctl --json backend status`.
func TestPairServesThroughEachNode(t *testing.T) {
	RequireLBD(t)
	l := NewLab(t)
	l.StartWeb("web1")
	l.StartWeb("web2")
	lb1, lb2 := l.StartPair()

	for _, d := range []*LBD{lb1, lb2} {
		url := "http://" + l.Addr(d.Node) + ":8080/"
		seen := map[string]int{}
		var last string
		Eventually(t, 20*time.Second, func() bool {
			code, body, err := l.HTTPGet("client", url)
			last = fmt.Sprintf("%d %q %v", code, body, err)
			if err == nil && code == 200 {
				seen[strings.TrimSpace(body)]++
			}
			return seen["web1"] > 0 && seen["web2"] > 0
		}, "requests to %s to reach web1 and web2 (seen %v, last answer %s)", url, seen, Lazy(func() string { return last }))

		bs, err := d.BackendStatus()
		if err != nil {
			t.Fatalf("%s: backend status: %v", d.Node, err)
		}
		got := map[string]string{}
		for _, b := range bs {
			for _, s := range b.Servers {
				got[b.Name+"/"+s.Name] = s.Address
			}
		}
		want := map[string]string{
			"web/web1": "192.0.2.21:80", "web/web2": "192.0.2.22:80",
			"tcp/web1": "192.0.2.21:9000", "tcp/web2": "192.0.2.22:9000",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: backend status servers %v, want %v", d.Node, got, want)
		}
	}
}
