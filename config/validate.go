package config

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
)

// validate runs the checks that span blocks: names, references and
// conflicts. Checks local to one block run while it is decoded.
func (d *decoder) validate(cfg *Config) {
	d.uniqueNames(cfg)
	d.references(cfg)
	d.bindConflicts(cfg)
	d.vrrpConflicts(cfg)
	d.syncGroups(cfg)
	d.bgpConflicts(cfg)
	d.checkPeerAPI(cfg)
	d.checkStickTables(cfg)
}

func (d *decoder) uniqueNames(cfg *Config) {
	type named struct {
		name string
		rng  hcl.Range
	}
	check := func(kind string, items []named) {
		first := map[string]hcl.Range{}
		for _, it := range items {
			if prev, dup := first[it.name]; dup {
				d.errorf(it.rng, "duplicate %s %q; the first one is at line %d", kind, it.name, prev.Start.Line)
				continue
			}
			first[it.name] = it.rng
		}
	}
	var fe, be, sc, vi []named
	for _, f := range cfg.Frontends {
		fe = append(fe, named{f.Name, f.rng.block})
	}
	for _, b := range cfg.Backends {
		be = append(be, named{b.Name, b.rng.block})
	}
	for _, s := range cfg.VRRPScripts {
		sc = append(sc, named{s.Name, s.rng.block})
	}
	for _, v := range cfg.VRRPInstances {
		vi = append(vi, named{v.Name, v.rng.block})
	}
	check("frontend", fe)
	check("backend", be)
	check("vrrp_script", sc)
	check("vrrp_instance", vi)
	var mp []named
	for _, m := range cfg.Maps {
		mp = append(mp, named{m.Name, m.rng.block})
	}
	check("map", mp)
}

func (d *decoder) references(cfg *Config) {
	backend := func(rng hcl.Range, name string, fe *Frontend) {
		b := cfg.Backend(name)
		if b == nil {
			d.errorf(rng, "unknown backend %q%s", name, suggest(name, backendNames(cfg)))
			return
		}
		if b.Mode != fe.Mode {
			d.errorf(rng, "frontend %q is mode %s but backend %q is mode %s", fe.Name, fe.Mode, b.Name, b.Mode)
		}
	}
	for _, f := range cfg.Frontends {
		if f.DefaultBackend != "" {
			backend(f.rng.at("default_backend"), f.DefaultBackend, f)
		}
		for _, r := range f.Routes {
			if r.BackendTemplate == nil {
				backend(r.rng.at("backend"), r.Backend, f)
			}
			d.routeBackends(cfg, f, r)
		}
		d.validatePolicy(cfg, f)
	}
	for _, vi := range cfg.VRRPInstances {
		for _, name := range vi.TrackScripts {
			if cfg.VRRPScript(name) == nil {
				var names []string
				for _, s := range cfg.VRRPScripts {
					names = append(names, s.Name)
				}
				d.errorf(vi.rng.at("track_script"), "track_script: unknown vrrp_script %q%s", name, suggest(name, names))
			}
		}
		for _, tb := range vi.TrackBackends {
			if cfg.Backend(tb.Backend) == nil {
				d.errorf(tb.rng.block, "track_backend: unknown backend %q%s", tb.Backend, suggest(tb.Backend, backendNames(cfg)))
			}
		}
	}
}

func backendNames(cfg *Config) []string {
	out := make([]string, len(cfg.Backends))
	for i, b := range cfg.Backends {
		out[i] = b.Name
	}
	return out
}

// suggest returns ` (did you mean "x"?)` for a close known name.
func suggest(name string, known []string) string {
	for _, k := range known {
		if levenshtein.Distance(name, k, nil) < 3 {
			return fmt.Sprintf(" (did you mean %q?)", k)
		}
	}
	return ""
}

// bindConflicts refuses two listeners that the kernel would refuse: the same
// address and port, or a wildcard and a specific address on one port.
func (d *decoder) bindConflicts(cfg *Config) {
	type listener struct {
		owner string
		ap    netip.AddrPort
		line  int
	}
	var seen []listener
	add := func(owner string, rng hcl.Range, addr string) {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return // reported while decoding
		}
		for _, l := range seen {
			if l.ap.Port() != ap.Port() || !overlaps(l.ap.Addr(), ap.Addr()) {
				continue
			}
			if l.ap == ap {
				d.errorf(rng, "%s: %s is already bound by %s (line %d)", owner, addr, l.owner, l.line)
			} else {
				d.errorf(rng, "%s: %s overlaps %s bound by %s (line %d)", owner, addr, l.ap, l.owner, l.line)
			}
			return
		}
		seen = append(seen, listener{owner, ap, rng.Start.Line})
	}
	for _, f := range cfg.Frontends {
		for _, b := range f.Bind {
			rng, ok := f.bindRanges[b]
			if !ok {
				rng = f.rng.at("bind")
			}
			add(fmt.Sprintf("frontend %q", f.Name), rng, b)
		}
		for _, t := range f.TLS {
			for _, b := range t.Bind {
				add(fmt.Sprintf("frontend %q", f.Name), t.bindRanges[b], b)
			}
		}
	}
	if cfg.Stats != nil {
		add("stats", cfg.Stats.rng.at("bind"), cfg.Stats.Bind)
	}
}

// overlaps reports whether listening on a and on b (same port) collide.
func overlaps(a, b netip.Addr) bool {
	if a == b {
		return true
	}
	if a.IsUnspecified() || b.IsUnspecified() {
		// 0.0.0.0 collides with any IPv4; :: (dual stack) with anything.
		return a.Is6() && a.IsUnspecified() || b.Is6() && b.IsUnspecified() || a.Is4() == b.Is4()
	}
	return false
}

// vrrpConflicts refuses two instances that would fight over one virtual
// router or one address.
func (d *decoder) vrrpConflicts(cfg *Config) {
	// IPv4 and IPv6 virtual routers are separate even with one VRID
	// (RFC 5798 section 5.2.3).
	type key struct {
		ifname string
		vrid   int
		v6     bool
	}
	routers := map[key]*VRRPInstance{}
	vips := map[netip.Addr]*VRRPInstance{}
	vmacs := map[string]*VRRPInstance{}
	for _, vi := range cfg.VRRPInstances {
		k := key{vi.Interface, vi.VirtualRouterID, vi.IPv6()}
		if prev, dup := routers[k]; dup {
			d.errorf(vi.rng.at("virtual_router_id"), "virtual_router_id %d on %s is already used by vrrp_instance %q", vi.VirtualRouterID, vi.Interface, prev.Name)
		} else {
			routers[k] = vi
		}
		for _, p := range vi.VirtualIPAddresses {
			if prev, dup := vips[p.Addr()]; dup && prev != vi {
				d.errorf(vi.rng.at("virtual_ipaddress"), "virtual_ipaddress %s is already held by vrrp_instance %q", p.Addr(), prev.Name)
			}
			vips[p.Addr()] = vi
		}
		if n := vi.VMACInterface; n != "" {
			if prev, dup := vmacs[n]; dup {
				d.errorf(vi.rng.at("use_vmac"), "use_vmac: %s is already the macvlan of vrrp_instance %q", n, prev.Name)
			}
			vmacs[n] = vi
		}
		for _, p := range vi.UnicastPeers {
			if p == vi.UnicastSrc {
				d.errorf(vi.rng.at("unicast_peers"), "unicast_peers: %s is this node's unicast_src", p)
			}
		}
	}
}

func containsAny(s, chars string) bool { return strings.ContainsAny(s, chars) }
