package proxy

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"lbd/health"
)

// Several lbd nodes behind ECMP routers (the bgp block) serve one VIP; a
// client's flows may reach any of them. Hash balancing must then pick the
// same server on every node for the same key, as long as the nodes see
// the same servers usable: the hash has no seed, the ring is built from
// server names and weights, servers are walked in configuration order.

// hashNodesConf is one node's file: four servers (one heavier), the
// frontend on {{addr}}.
const hashNodesConf = `
frontend "f" {
  bind            = ["{{addr}}"]
  default_backend = "b"
}
backend "b" {
  balance   = "{{balance}}"
  hash_type = "{{type}}"
  {{key}}
  server "s1" {
    address = "{{s1}}"
    check   = false
  }
  server "s2" {
    address = "{{s2}}"
    weight  = 2
    check   = false
  }
  server "s3" {
    address = "{{s3}}"
    check   = false
  }
  server "s4" {
    address = "{{s4}}"
    check   = false
  }
}
`

// hashKeys sends request i of an algorithm through the node at addr and
// returns the server that answered.
func hashPick(t *testing.T, addr, balance string, i int) string {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second}
	path := "/"
	hdr := http.Header{}
	switch balance {
	case "source":
		// Each key is a client address: 127.0.0.2, .3, ...
		d.LocalAddr = &net.TCPAddr{IP: netip.AddrFrom4([4]byte{127, 0, byte(i / 250), byte(2 + i%250)}).AsSlice()}
	case "uri":
		path = fmt.Sprintf("/item/%d?page=%d", i, i%3) // the query is not part of the key
	case "url_param":
		path = fmt.Sprintf("/cart?lang=en&user=u%d", i)
	case "hdr":
		hdr.Set("X-Tenant", fmt.Sprintf("tenant-%d", i))
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	req.Header = hdr
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s key %d: %v", balance, i, err)
	}
	resp.Body.Close()
	return resp.Header.Get("X-Server")
}

// TestHashSameOnEveryNode builds two engines independently (two nodes),
// each with its own health pool, from the same file, and sends the same
// keys through both: every key reaches the same server, with all servers
// up and with one in maintenance on both. With different health views
// (the server down on one node only), consistent hashing still agrees on
// every key the absent server did not hold; map-based remaps more.
func TestHashSameOnEveryNode(t *testing.T) {
	vars := map[string]string{}
	for _, s := range []string{"s1", "s2", "s3", "s4"} {
		vars[s] = hostport(backendServer(t, s, nil))
	}
	const keys = 60
	for _, balance := range []string{"source", "uri", "url_param", "hdr"} {
		for _, typ := range []string{"map-based", "consistent"} {
			t.Run(balance+"/"+typ, func(t *testing.T) {
				v := map[string]string{"balance": balance, "type": typ, "key": ""}
				for k, x := range vars {
					v[k] = x
				}
				switch balance {
				case "url_param":
					v["key"] = `hash_key = "user"`
				case "hdr":
					v["key"] = `hash_key = "X-Tenant"`
				}
				var addrs [2]string
				var rigs [2]*rig
				for n := range rigs {
					addrs[n] = freePort(t)
					v["addr"] = addrs[n]
					rigs[n] = newRig(t, hashNodesConf, v)
				}
				picks := func(n int) []string {
					out := make([]string, keys)
					for i := range out {
						out[i] = hashPick(t, addrs[n], balance, i)
					}
					return out
				}
				same := func(what string) []string {
					a, b := picks(0), picks(1)
					for i := range a {
						if a[i] != b[i] {
							t.Errorf("%s: key %d went to %s on node A and %s on node B", what, i, a[i], b[i])
						}
					}
					return a
				}
				all := same("all servers up")
				spread := map[string]int{}
				for _, s := range all {
					spread[s]++
				}
				if len(spread) != 4 {
					t.Errorf("keys reached %v: not spread over the four servers", spread)
				}
				// The same server in maintenance on both nodes: they
				// still agree.
				for _, r := range rigs {
					if err := r.pool.SetAdminState("b", "s2", health.AdminMaint); err != nil {
						t.Fatal(err)
					}
				}
				same("s2 in maintenance on both nodes")
				// Different views: s2 back on node A only.
				if err := rigs[0].pool.SetAdminState("b", "s2", health.AdminReady); err != nil {
					t.Fatal(err)
				}
				a, b := picks(0), picks(1)
				differ := 0
				for i := range a {
					if a[i] != b[i] {
						differ++
						if typ == "consistent" && a[i] != "s2" {
							t.Errorf("consistent, s2 up on A only: key %d (on %s at A) went to %s on B; only s2's keys may differ", i, a[i], b[i])
						}
					}
				}
				t.Logf("s2 up on one node only: %d of %d keys reach different servers", differ, keys)
			})
		}
	}
}

// TestHashGolden pins the mapping itself: nodes running different lbd
// versions (a rolling upgrade) agree only if the hash never changes. A
// new hash function, a seed, or a new ring layout fails here; if that is
// intended, the README must say that mixed versions disagree.
func TestHashGolden(t *testing.T) {
	srvs := []fakeSrv{{"s1", 1, false, 0}, {"s2", 2, false, 0}, {"s3", 1, false, 0}, {"s4", 1, false, 0}}
	want := map[string]string{
		"map-based":  "s3 s2 s3 s3 s2 s2 s2 s2 s1 s2 s1 s2 s2 s1 s2 s2",
		"consistent": "s2 s2 s1 s2 s4 s4 s2 s4 s1 s2 s2 s3 s4 s2 s2 s2",
	}
	for typ := range want {
		f := newFakeBE(t, "source", typ, "", srvs...)
		var got []string
		for i := range 16 {
			s, _ := f.be.bal.pick(addrReq(i))
			got = append(got, s.name)
		}
		if g := strings.Join(got, " "); g != want[typ] {
			t.Errorf("%s: client addresses map to\n %s\nwas\n %s", typ, g, want[typ])
		}
	}
}
