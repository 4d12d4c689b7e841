package config

import (
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bgpBase is a file with a frontend on the BGP VIPs; bgp blocks are
// appended at line 11.
const bgpBase = `frontend "web" {
  bind            = ["198.51.100.200:80", "[2001:db8:ff::200]:80"]
  default_backend = "app"
}
backend "app" {
  server "a" { address = "192.0.2.21:80" }
}
backend "api" {
  server "a" { address = "192.0.2.22:80" }
}
`

const bgpOK = `bgp {
  asn       = 64512
  router_id = "192.0.2.11"
  neighbor "192.0.2.1" {
    remote_as = 64513
  }
  announce "web" {
    addresses = ["198.51.100.200"]
  }
}
`

// checkBGPInvariants is what FuzzParse requires of an accepted bgp block:
// what the speaker relies on without checking again.
func checkBGPInvariants(t *testing.T, cfg *Config) {
	g := cfg.BGP
	if g == nil {
		return
	}
	if g.ASN == 0 || !g.RouterID.Is4() || g.HoldTime < 3*time.Second || g.HoldTime%time.Second != 0 ||
		g.Keepalive < time.Second || g.Keepalive >= g.HoldTime || g.Keepalive%time.Second != 0 ||
		len(g.Neighbors) == 0 || len(g.Announces) == 0 || ifaceNameProblem(g.Interface) != "" {
		t.Fatalf("bgp accepted out of range: %+v", g)
	}
	for _, n := range g.Neighbors {
		if n.RemoteAS == 0 || !n.Address.IsValid() || n.Port < 1 || len(n.Password) > 80 {
			t.Fatalf("neighbor accepted out of range: %+v", n)
		}
	}
	vrrp := map[netip.Addr]bool{}
	for _, vi := range cfg.VRRPInstances {
		for _, p := range vi.VirtualIPAddresses {
			vrrp[p.Addr()] = true
		}
	}
	seen := map[netip.Addr]bool{}
	for _, a := range g.Announces {
		if len(a.Addresses) == 0 {
			t.Fatalf("announce %q without addresses", a.Name)
		}
		for _, ad := range a.Addresses {
			if seen[ad] || vrrp[ad] || !ad.IsValid() || ad.Is4In6() {
				t.Fatalf("announce %q: address %s twice, also VRRP's, or invalid", a.Name, ad)
			}
			seen[ad] = true
		}
		for _, tb := range a.TrackBackends {
			if cfg.Backend(tb.Backend) == nil || tb.MinUp < 1 {
				t.Fatalf("announce %q: track_backend %+v", a.Name, tb)
			}
		}
	}
}

func TestBGPDefaults(t *testing.T) {
	cfg, err := Parse("x.hcl", []byte(bgpBase+bgpOK))
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.BGP
	if g == nil {
		t.Fatal("no BGP")
	}
	if g.ASN != 64512 || g.RouterID != netip.MustParseAddr("192.0.2.11") || g.ListenPort != 179 ||
		g.HoldTime != 9*time.Second || g.Keepalive != 3*time.Second || g.Interface != "lbd0" || g.Grace != 5*time.Second {
		t.Errorf("defaults: %+v", g)
	}
	n := g.Neighbors[0]
	if n.Address != netip.MustParseAddr("192.0.2.1") || n.RemoteAS != 64513 || n.Port != 179 || n.EBGPMultihop != 0 || n.Passive || n.Password != "" ||
		n.BFD || n.BFDInterval != 300*time.Millisecond || n.BFDMultiplier != 3 {
		t.Errorf("neighbor defaults: %+v", n)
	}
	a := g.Announces[0]
	if a.Name != "web" || len(a.Addresses) != 1 || a.Addresses[0] != netip.MustParseAddr("198.51.100.200") || a.Communities != nil || a.TrackBackends != nil {
		t.Errorf("announce: %+v", a)
	}
	if cfg2, _ := Parse("x.hcl", []byte(bgpBase)); cfg2.BGP != nil {
		t.Error("no bgp block must leave BGP nil")
	}
}

func TestBGPFull(t *testing.T) {
	src := bgpBase + `bgp {
  asn         = 4200000001
  router_id   = "192.0.2.11"
  listen_port = 0
  hold_time   = "3s"
  keepalive   = "1s"
  interface   = "lo"
  grace       = "2s"
  neighbor "192.0.2.1" {
    remote_as     = 64513
    port          = 1179
    local_address = "192.0.2.11"
    password      = "s3cret"
    ebgp_multihop = 2
  }
  neighbor "2001:db8:1::1" {
    remote_as = 4200000001
  }
  announce "web" {
    addresses   = ["198.51.100.200/32", "2001:db8:ff::200"]
    communities = ["64512:100", "65535:65281"]
    track_backend "app" {
      min_up = 2
    }
    track_backend "api" {}
  }
}
`
	cfg, err := Parse("x.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.BGP
	if g.ASN != 4200000001 || g.ListenPort != 0 || g.HoldTime != 3*time.Second || g.Keepalive != time.Second || g.Interface != "lo" || g.Grace != 2*time.Second {
		t.Errorf("%+v", g)
	}
	n := g.Neighbors[0]
	if n.Port != 1179 || n.LocalAddress != netip.MustParseAddr("192.0.2.11") || n.Password != "s3cret" || n.EBGPMultihop != 2 {
		t.Errorf("%+v", n)
	}
	if g.Neighbors[1].RemoteAS != 4200000001 || g.Neighbors[1].NeighborFamily() != "ipv6-unicast" {
		t.Errorf("%+v", g.Neighbors[1])
	}
	a := g.Announces[0]
	if len(a.Addresses) != 2 || a.Addresses[1] != netip.MustParseAddr("2001:db8:ff::200") {
		t.Errorf("addresses %v", a.Addresses)
	}
	if len(a.Communities) != 2 || a.Communities[0] != 64512<<16|100 || a.Communities[1] != 0xFFFFFF01 {
		t.Errorf("communities %x", a.Communities)
	}
	if len(a.TrackBackends) != 2 || a.TrackBackends[0].MinUp != 2 || a.TrackBackends[1].Backend != "api" || a.TrackBackends[1].MinUp != 1 {
		t.Errorf("track %+v", a.TrackBackends)
	}
}

// TestBGPDiagnostics: each case is bgpBase plus src (whose first line is
// line 11); want are "LINE:COL: message" prefixes, in order.
func TestBGPDiagnostics(t *testing.T) {
	rep := func(old, new string) string { return strings.Replace(bgpOK, old, new, 1) }
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{"valid", bgpOK, nil},
		{"missing asn and router_id", "bgp {\n  neighbor \"192.0.2.1\" {\n    remote_as = 1\n  }\n  announce \"w\" {\n    addresses = [\"198.51.100.200\"]\n  }\n}\n",
			[]string{`11:5: Missing required argument: The argument "asn" is required`, `11:5: Missing required argument: The argument "router_id" is required`}},
		{"asn zero", rep("64512", "0"), []string{"12:15: asn: 0 is out of range 1..4294967295"}},
		{"asn too big", rep("64512", "4294967296"), []string{"12:15: asn: 4294967296 is out of range 1..4294967295"}},
		{"asn string", rep("64512", `"64512"`), []string{"12:15: asn: a whole number is required, got a string"}},
		{"asn fraction", rep("64512", "1.5"), []string{"12:15: asn: a whole number is required, got 1.5"}},
		{"router_id v6", rep(`"192.0.2.11"`, `"2001:db8::1"`), []string{"13:15: router_id: 2001:db8::1 is not a non-zero IPv4 address"}},
		{"router_id junk", rep(`"192.0.2.11"`, `"lb1"`), []string{`13:15: router_id: "lb1" is not an IP address`}},
		{"hold_time fraction", rep("asn", "hold_time = \"4500ms\"\n  asn"), []string{"12:15: hold_time: BGP carries whole seconds, 4.5s is not"}},
		{"hold_time below 3s", rep("asn", "hold_time = \"2s\"\n  asn"), []string{"12:15: hold_time: 2s is below 3s"}},
		{"keepalive not below hold", rep("asn", "keepalive = \"9s\"\n  asn"), []string{"12:15: keepalive: 9s must be below hold_time 9s"}},
		{"hold_time 0", rep("asn", "hold_time = \"0s\"\n  asn"), []string{"12:15: hold_time: 0s is below 3s"}},
		{"keepalive 0", rep("asn", "keepalive = \"0s\"\n  asn"), []string{"12:15: keepalive: must be at least 1s"}},
		{"hold 4s gets keepalive 1s", rep("asn", "hold_time = \"4s\"\n  asn"), nil},
		{"bad interface", rep("asn", "interface = \"a/b\"\n  asn"), []string{`12:15: interface: "a/b" is not an interface name`}},
		{"long interface", rep("asn", "interface = \"abcdefghijklmnop\"\n  asn"), []string{`12:15: interface: "abcdefghijklmnop" is longer than 15 bytes`}},
		{"unknown attribute", rep("asn", "as = 1\n  asn"), []string{`12:3: Unsupported argument: An argument named "as" is not expected here`}},
		{"duplicate bgp", bgpOK + bgpOK, []string{"21:1: duplicate bgp block; the first one is at line 11"}},
		{"no neighbor", "bgp {\n  asn = 1\n  router_id = \"192.0.2.11\"\n  announce \"w\" {\n    addresses = [\"198.51.100.200\"]\n  }\n}\n",
			[]string{"11:1: bgp: at least one neighbor block is required"}},
		{"no announce", "bgp {\n  asn = 1\n  router_id = \"192.0.2.11\"\n  neighbor \"192.0.2.1\" {\n    remote_as = 2\n  }\n}\n",
			[]string{"11:1: bgp: at least one announce block is required"}},
		{"neighbor label not an address", rep(`neighbor "192.0.2.1"`, `neighbor "router1"`), []string{`14:12: neighbor "router1": the label must be the neighbour's IP address`}},
		{"neighbor missing remote_as", rep("    remote_as = 64513\n", ""), []string{`14:24: Missing required argument: The argument "remote_as" is required`}},
		{"duplicate neighbor", rep("  announce", "  neighbor \"192.0.2.1\" {\n    remote_as = 1\n  }\n  announce"), []string{"17:3: duplicate neighbor 192.0.2.1; the first one is at line 14"}},
		{"local_address family", rep("remote_as = 64513", "remote_as = 64513\n    local_address = \"2001:db8::1\""), []string{"16:21: local_address: 2001:db8::1 is not of the neighbour's address family"}},
		{"password too long", rep("remote_as = 64513", "remote_as = 64513\n    password = \""+strings.Repeat("x", 81)+"\""), []string{"16:16: password: 81 bytes is too long"}},
		{"multihop on ibgp", rep("remote_as = 64513", "remote_as = 64512\n    ebgp_multihop = 2"), []string{"16:21: ebgp_multihop: neighbor 192.0.2.1 is iBGP"}},
		{"passive without listening", strings.Replace(rep("asn", "listen_port = 0\n  asn"), "remote_as = 64513", "remote_as = 64513\n    passive = true", 1), []string{"17:15: passive: with listen_port = 0 lbd neither connects to nor accepts neighbor 192.0.2.1"}},
		{"bfd", rep("remote_as = 64513", "remote_as = 64513\n    bfd = true\n    bfd_interval = \"100ms\"\n    bfd_multiplier = 5"), nil},
		{"bfd_interval without bfd", rep("remote_as = 64513", "remote_as = 64513\n    bfd_interval = \"100ms\""), []string{"16:20: bfd_interval: only used with bfd = true"}},
		{"bfd_interval too short", rep("remote_as = 64513", "remote_as = 64513\n    bfd = true\n    bfd_interval = \"1ms\""), []string{"17:20: bfd_interval: 1ms is out of range 10ms..1m0s"}},
		{"bfd multihop", rep("remote_as = 64513", "remote_as = 64513\n    ebgp_multihop = 2\n    bfd = true"), []string{"17:11: bfd: lbd runs single-hop BFD"}},
		{"port out of range", rep("remote_as = 64513", "remote_as = 64513\n    port = 0"), []string{"16:12: port: 0 is out of range 1..65535"}},
		{"address with a prefix", rep(`["198.51.100.200"]`, `["198.51.100.0/24"]`), []string{`18:18: addresses: "198.51.100.0/24": a VIP is announced as a host route; write 198.51.100.0 (/32)`}},
		{"address junk", rep(`["198.51.100.200"]`, `["vip"]`), []string{`18:18: addresses: "vip" is not an IP address`}},
		{"address loopback", rep(`["198.51.100.200"]`, `["127.0.0.1"]`), []string{`18:18: addresses: 127.0.0.1 cannot be a VIP`}},
		{"address twice", rep(`["198.51.100.200"]`, `["198.51.100.200", "198.51.100.200/32"]`), []string{`18:36: addresses: 198.51.100.200 is listed twice`}},
		{"empty addresses", rep(`["198.51.100.200"]`, `[]`), []string{`18:17: addresses: at least one address is required`}},
		{"address in two announces", rep("  }\n}", "  }\n  announce \"w2\" {\n    addresses = [\"198.51.100.200\"]\n  }\n}"), []string{`21:18: addresses: 198.51.100.200 is already announced by announce "web" (line 18)`}},
		{"duplicate announce", rep("  }\n}", "  }\n  announce \"web\" {\n    addresses = [\"2001:db8:ff::200\"]\n  }\n}"), []string{`20:3: duplicate announce "web"; the first one is at line 17`}},
		{"announce bad name", rep(`announce "web"`, `announce "a b"`), []string{`17:12: announce name "a b" must not be empty`}},
		{"community junk", rep("addresses = [\"198.51.100.200\"]", "addresses = [\"198.51.100.200\"]\n    communities = [\"64512:70000\"]"), []string{`19:20: communities: "64512:70000" is not a community`}},
		{"unknown tracked backend", rep("addresses = [\"198.51.100.200\"]", "addresses = [\"198.51.100.200\"]\n    track_backend \"ap\" {}"), []string{`19:5: track_backend: unknown backend "ap" (did you mean "app"?)`}},
		{"track weight refused", rep("addresses = [\"198.51.100.200\"]", "addresses = [\"198.51.100.200\"]\n    track_backend \"app\" {\n      weight = -10\n    }"), []string{`20:7: Unsupported argument: An argument named "weight" is not expected here`}},
		{"duplicate track", rep("addresses = [\"198.51.100.200\"]", "addresses = [\"198.51.100.200\"]\n    track_backend \"app\" {}\n    track_backend \"app\" {}"), []string{`20:5: duplicate track_backend "app"; the first one is at line 19`}},
		{"no frontend for the VIP", rep(`["198.51.100.200"]`, `["198.51.100.201"]`), []string{`18:18: addresses: no frontend binds 198.51.100.201`}},
		{"v6 VIP without v6 neighbor", rep(`["198.51.100.200"]`, `["198.51.100.200", "2001:db8:ff::200"]`), []string{`18:36: addresses: 2001:db8:ff::200 is IPv6 but no neighbor is`}},
		{"VIP of VRRP too", bgpOK + "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  virtual_router_id = 51\n  virtual_ipaddress = [\"198.51.100.200/24\"]\n}\n",
			[]string{`18:18: addresses: 198.51.100.200 is also a VIP of vrrp_instance "VI_1" (line 24)`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lbd.hcl")
			_, err := Parse(path, []byte(bgpBase+tc.src))
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
				if i < len(diags) && !strings.HasPrefix(diags[i].String(), path+":"+w) {
					t.Errorf("diagnostic %d:\n got  %s\n want %s:%s", i, diags[i], path, w)
				}
			}
		})
	}
}
