package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var vrrpScriptSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "script", Required: true}, {Name: "interval"}, {Name: "timeout"},
		{Name: "fall"}, {Name: "rise"}, {Name: "weight"},
	},
}

func (d *decoder) decodeVRRPScript(blk *hcl.Block) *VRRPScript {
	s := &VRRPScript{
		Name:     blk.Labels[0],
		Interval: 2 * time.Second,
		Timeout:  2 * time.Second,
		Fall:     2,
		Rise:     2,
	}
	b := d.body(d.content(blk, vrrpScriptSchema), blk.DefRange, &s.rng)
	b.str("script", &s.Script)
	if b.has("script") {
		s.Args = d.command(s.rng.at("script"), "script", s.Script)
	}
	b.duration("interval", &s.Interval, 100*time.Millisecond, 24*time.Hour)
	b.duration("timeout", &s.Timeout, 10*time.Millisecond, 24*time.Hour)
	b.integer("fall", &s.Fall, 1, 1000)
	b.integer("rise", &s.Rise, 1, 1000)
	b.integer("weight", &s.Weight, -254, 254)
	return s
}

// command splits a command line and reports an empty or malformed one.
func (d *decoder) command(rng hcl.Range, name, line string) []string {
	args, err := words(line)
	if err != nil {
		d.errorf(rng, "%s: %v", name, err)
		return nil
	}
	if len(args) == 0 {
		d.errorf(rng, "%s: a command is required", name)
	}
	return args
}

var vrrpInstanceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "interface", Required: true}, {Name: "state"},
		{Name: "virtual_router_id", Required: true}, {Name: "priority"},
		{Name: "advert_int"}, {Name: "preempt"}, {Name: "preempt_delay"},
		{Name: "auth_pass"}, {Name: "virtual_ipaddress", Required: true},
		{Name: "unicast_src"}, {Name: "unicast_peers"}, {Name: "version"},
		{Name: "use_vmac"}, {Name: "vmac_xmit_base"},
		{Name: "garp_master_delay"}, {Name: "garp_master_repeat"}, {Name: "garp_master_refresh"},
		{Name: "track_script"}, {Name: "track_interface"},
		{Name: "notify_master"}, {Name: "notify_backup"}, {Name: "notify_fault"}, {Name: "notify"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "track_backend", LabelNames: []string{"backend"}},
	},
}

func (d *decoder) decodeVRRPInstance(blk *hcl.Block) *VRRPInstance {
	vi := &VRRPInstance{
		Name:             blk.Labels[0],
		State:            "BACKUP",
		Priority:         100,
		Version:          2,
		AdvertInt:        time.Second,
		Preempt:          true,
		GARPMasterDelay:  5 * time.Second,
		GARPMasterRepeat: 5,
	}
	d.checkName(blk, "vrrp_instance")
	c := d.content(blk, vrrpInstanceSchema)
	b := d.body(c, blk.DefRange, &vi.rng)
	b.str("interface", &vi.Interface)
	if b.has("interface") && vi.Interface == "" {
		d.errorf(vi.rng.at("interface"), "interface: a name is required")
	}
	b.str("state", &vi.State)
	b.oneOf("state", vi.State, "MASTER", "BACKUP")
	b.integer("virtual_router_id", &vi.VirtualRouterID, 1, 255)
	b.integer("priority", &vi.Priority, 1, 255)
	b.integer("version", &vi.Version, 2, 3)
	d.decodeAdvertInt(b, vi)
	b.boolean("preempt", &vi.Preempt)
	b.duration("preempt_delay", &vi.PreemptDelay, 0, 1000*time.Second)
	b.str("auth_pass", &vi.AuthPass)
	switch {
	case vi.AuthPass != "" && vi.Version == 3:
		d.errorf(vi.rng.at("auth_pass"), "auth_pass: VRRPv3 has no authentication (RFC 5798 removed it); remove auth_pass, or use version = 2")
	case len(vi.AuthPass) > 8:
		d.errorf(vi.rng.at("auth_pass"), "auth_pass: %d bytes is too long; VRRPv2 simple authentication carries at most 8", len(vi.AuthPass))
	}
	d.decodeVIPs(b, vi)
	d.decodeUnicast(b, vi)
	d.decodeVMAC(b, vi)
	b.duration("garp_master_delay", &vi.GARPMasterDelay, 0, time.Hour)
	b.integer("garp_master_repeat", &vi.GARPMasterRepeat, 1, 255)
	b.duration("garp_master_refresh", &vi.GARPMasterRefresh, 0, 24*time.Hour)
	b.strList("track_script", &vi.TrackScripts)
	b.strList("track_interface", &vi.TrackInterfaces)
	for _, n := range []struct {
		name string
		dst  *string
	}{
		{"notify_master", &vi.NotifyMaster}, {"notify_backup", &vi.NotifyBackup},
		{"notify_fault", &vi.NotifyFault}, {"notify", &vi.Notify},
	} {
		b.str(n.name, n.dst)
		if *n.dst != "" {
			d.command(vi.rng.at(n.name), n.name, *n.dst)
		}
	}
	tracked := map[string]*TrackBackend{}
	for _, sub := range c.Blocks {
		tb := d.decodeTrackBackend(sub)
		if prev, dup := tracked[tb.Backend]; dup {
			d.errorf(sub.DefRange, "duplicate track_backend %q; the first one is at line %d", tb.Backend, prev.rng.block.Start.Line)
			continue
		}
		tracked[tb.Backend] = tb
		vi.TrackBackends = append(vi.TrackBackends, tb)
	}
	return vi
}

// decodeAdvertInt reads advert_int in the version's unit: whole seconds
// up to 255 for VRRPv2 (RFC 3768 section 5.3.7), centiseconds up to 4095
// for VRRPv3 (RFC 5798 section 5.2.7).
func (d *decoder) decodeAdvertInt(b body, vi *VRRPInstance) {
	if vi.Version == 3 {
		b.duration("advert_int", &vi.AdvertInt, 10*time.Millisecond, 4095*10*time.Millisecond)
		if vi.AdvertInt%(10*time.Millisecond) != 0 {
			d.errorf(vi.rng.at("advert_int"), "advert_int: VRRPv3 adverts are sent in 10ms steps, %s is not", vi.AdvertInt)
		}
		return
	}
	b.duration("advert_int", &vi.AdvertInt, time.Second, 255*time.Second)
	if vi.AdvertInt%time.Second != 0 {
		d.errorf(vi.rng.at("advert_int"), "advert_int: VRRPv2 adverts are sent in whole seconds, %s is not (version = 3 allows 10ms steps)", vi.AdvertInt)
	}
}

// decodeVIPs reads virtual_ipaddress: CIDRs of one family, at least one,
// at most 255 (the advert's count is one byte), none twice. IPv6 needs
// VRRPv3, and one instance carries one family (RFC 5798 section 5.2.9:
// IPv4 and IPv6 are separate virtual routers).
func (d *decoder) decodeVIPs(b body, vi *VRRPInstance) {
	b.prefixList("virtual_ipaddress", &vi.VirtualIPAddresses, false)
	rng := vi.rng.at("virtual_ipaddress")
	if b.has("virtual_ipaddress") && vi.VirtualIPAddresses != nil && len(vi.VirtualIPAddresses) == 0 {
		d.errorf(rng, "virtual_ipaddress: at least one address is required")
	}
	if len(vi.VirtualIPAddresses) > 255 {
		d.errorf(rng, "virtual_ipaddress: at most 255 addresses fit in an advert")
	}
	seen := map[netip.Addr]bool{}
	for i, p := range vi.VirtualIPAddresses {
		at := b.elemRange("virtual_ipaddress", i)
		a := p.Addr()
		switch {
		case a.Is4In6() || a.Zone() != "":
			d.errorf(at, "virtual_ipaddress: %s: an IPv4-mapped address or a zone is not a VIP", p)
		case a.Is6() && vi.Version == 2:
			d.errorf(at, "virtual_ipaddress: %s is IPv6; VRRPv2 carries IPv4 addresses only: set version = 3", p)
		case i > 0 && a.Is6() != vi.VirtualIPAddresses[0].Addr().Is6():
			d.errorf(at, "virtual_ipaddress: %s and %s are of different families; IPv4 and IPv6 need one vrrp_instance each", vi.VirtualIPAddresses[0], p)
		case a.IsMulticast() || a.IsUnspecified():
			d.errorf(at, "virtual_ipaddress: %s is not a unicast address", p)
		}
		if seen[a] {
			d.errorf(at, "virtual_ipaddress: %s is listed twice", a)
		}
		seen[a] = true
	}
}

// decodeUnicast reads unicast_src and unicast_peers, of the VIPs' family.
func (d *decoder) decodeUnicast(b body, vi *VRRPInstance) {
	v6 := vi.IPv6()
	family := map[bool]string{false: "IPv4", true: "IPv6"}[v6]
	b.addr("unicast_src", &vi.UnicastSrc)
	if vi.UnicastSrc.IsValid() && vi.UnicastSrc.Is6() != v6 {
		d.errorf(vi.rng.at("unicast_src"), "unicast_src: %s is not %s, the family of virtual_ipaddress", vi.UnicastSrc, family)
	}
	var peers []string
	b.strList("unicast_peers", &peers)
	for i, p := range peers {
		a, err := netip.ParseAddr(p)
		switch {
		case err != nil || a.Zone() != "" || a.Is4In6():
			d.errorf(b.elemRange("unicast_peers", i), "unicast_peers: %q is not an %s address", p, family)
			continue
		case a.Is6() != v6:
			d.errorf(b.elemRange("unicast_peers", i), "unicast_peers: %s is not %s, the family of virtual_ipaddress", a, family)
			continue
		}
		vi.UnicastPeers = append(vi.UnicastPeers, a)
	}
}

// decodeVMAC reads use_vmac (true, or the macvlan's name, as keepalived's
// use_vmac [NAME]) and vmac_xmit_base.
func (d *decoder) decodeVMAC(b body, vi *VRRPInstance) {
	if v, rng, ok := b.value("use_vmac"); ok {
		switch {
		case v.Type() == cty.Bool && v.True():
			vi.VMACInterface = fmt.Sprintf("vrrp.%d", vi.VirtualRouterID)
		case v.Type() == cty.Bool:
		case v.Type() == cty.String:
			vi.VMACInterface = v.AsString()
			if n := vi.VMACInterface; n == "" || len(n) > 15 || n == "." || n == ".." || strings.ContainsAny(n, "/: \t\n") {
				d.errorf(rng, "use_vmac: %q is not an interface name (1 to 15 characters, no \"/\", \":\" or blanks)", n)
				vi.VMACInterface = ""
			}
		default:
			d.errorf(rng, "use_vmac: true, false or an interface name is required, got %s", typeName(v.Type()))
		}
		if vi.VMACInterface != "" && vi.VMACInterface == vi.Interface {
			d.errorf(rng, "use_vmac: the macvlan needs a name of its own, not %q (the interface it sits on)", vi.Interface)
		}
	}
	b.boolean("vmac_xmit_base", &vi.VMACXmitBase)
	if vi.VMACXmitBase && vi.VMACInterface == "" {
		d.errorf(vi.rng.at("vmac_xmit_base"), "vmac_xmit_base: only means something with use_vmac")
	}
}

// VRRPInstanceByName returns the vrrp_instance of that name, or nil.
func (cfg *Config) VRRPInstanceByName(name string) *VRRPInstance {
	for _, vi := range cfg.VRRPInstances {
		if vi.Name == name {
			return vi
		}
	}
	return nil
}

// SyncGroupOf returns the vrrp_sync_group that lists the instance, or nil.
func (cfg *Config) SyncGroupOf(name string) *VRRPSyncGroup {
	for _, g := range cfg.VRRPSyncGroups {
		for _, m := range g.Group {
			if m == name {
				return g
			}
		}
	}
	return nil
}

var vrrpSyncGroupSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "group", Required: true},
		{Name: "notify_master"}, {Name: "notify_backup"}, {Name: "notify_fault"}, {Name: "notify"},
		{Name: "sync_group_tracking_weight"},
	},
}

func (d *decoder) decodeVRRPSyncGroup(blk *hcl.Block) *VRRPSyncGroup {
	g := &VRRPSyncGroup{Name: blk.Labels[0]}
	d.checkName(blk, "vrrp_sync_group")
	b := d.body(d.content(blk, vrrpSyncGroupSchema), blk.DefRange, &g.rng)
	b.strList("group", &g.Group)
	b.boolean("sync_group_tracking_weight", &g.TrackingWeight)
	for i := range g.Group {
		g.memberRng = append(g.memberRng, b.elemRange("group", i))
	}
	if b.has("group") && g.Group != nil && len(g.Group) == 0 {
		d.errorf(g.rng.at("group"), "group: at least one vrrp_instance is required")
	}
	for _, n := range []struct {
		name string
		dst  *string
	}{
		{"notify_master", &g.NotifyMaster}, {"notify_backup", &g.NotifyBackup},
		{"notify_fault", &g.NotifyFault}, {"notify", &g.Notify},
	} {
		b.str(n.name, n.dst)
		if *n.dst != "" {
			d.command(g.rng.at(n.name), n.name, *n.dst)
		}
	}
	return g
}

// syncGroups checks the vrrp_sync_group blocks against the instances:
// members exist, none is in two groups or named twice; a group of one
// (keepalived: "probably isn't what you want") and a group mixing address
// owners with other instances (they cannot move together) are warned of.
func (d *decoder) syncGroups(cfg *Config) {
	names := make([]string, len(cfg.VRRPInstances))
	for i, vi := range cfg.VRRPInstances {
		names[i] = vi.Name
	}
	first := map[string]*VRRPSyncGroup{}
	inGroup := map[string]*VRRPSyncGroup{}
	for _, g := range cfg.VRRPSyncGroups {
		if prev, dup := first[g.Name]; dup {
			d.errorf(g.rng.block, "duplicate vrrp_sync_group %q; the first one is at line %d", g.Name, prev.rng.block.Start.Line)
			continue
		}
		first[g.Name] = g
		owners := 0
		for i, m := range g.Group {
			vi := cfg.VRRPInstanceByName(m)
			switch {
			case vi == nil:
				d.errorf(g.memberRng[i], "group: unknown vrrp_instance %q%s", m, suggest(m, names))
				continue
			case inGroup[m] == g:
				d.errorf(g.memberRng[i], "group: %q is listed twice", m)
				continue
			case inGroup[m] != nil:
				d.errorf(g.memberRng[i], "group: vrrp_instance %q is already in vrrp_sync_group %q", m, inGroup[m].Name)
				continue
			}
			inGroup[m] = g
			if vi.Priority == 255 {
				owners++
			}
			if w := weightedTracker(cfg, vi); w != "" && !g.TrackingWeight {
				d.warnf(g.memberRng[i], "vrrp_sync_group %q: %s of %q counts as weight 0 in a sync group (a failure is a FAULT of the group), as in keepalived; sync_group_tracking_weight = true keeps the weights", g.Name, w, m)
			}
		}
		switch {
		case len(g.Group) == 1:
			d.warnf(g.rng.at("group"), "vrrp_sync_group %q has one member: it syncs nothing", g.Name)
		case owners > 0 && owners < len(g.Group):
			d.warnf(g.rng.at("group"), "vrrp_sync_group %q mixes address owners (priority 255) with other instances: they cannot change state together", g.Name)
		}
	}
}

// weightedTracker names a tracker of vi with a weight, "" when none has.
func weightedTracker(cfg *Config, vi *VRRPInstance) string {
	for _, n := range vi.TrackScripts {
		if sc := cfg.VRRPScript(n); sc != nil && sc.Weight != 0 {
			return fmt.Sprintf("track_script %q (weight %d)", n, sc.Weight)
		}
	}
	for _, tb := range vi.TrackBackends {
		if tb.Weight != 0 {
			return fmt.Sprintf("track_backend %q (weight %d)", tb.Backend, tb.Weight)
		}
	}
	return ""
}

var trackBackendSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "min_up"}, {Name: "weight"}},
}

func (d *decoder) decodeTrackBackend(blk *hcl.Block) *TrackBackend {
	tb := &TrackBackend{Backend: blk.Labels[0], MinUp: 1}
	b := d.body(d.content(blk, trackBackendSchema), blk.DefRange, &tb.rng)
	b.integer("min_up", &tb.MinUp, 1, 100_000)
	b.integer("weight", &tb.Weight, -254, 254)
	return tb
}

var statsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "bind"}, {Name: "uri"}, {Name: "refresh"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "auth"}},
}

var statsAuthSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "user", Required: true}, {Name: "password", Required: true},
	},
}

func (d *decoder) decodeStats(blk *hcl.Block) *Stats {
	st := &Stats{Bind: "0.0.0.0:8404", URI: "/stats", Refresh: 5 * time.Second}
	c := d.content(blk, statsSchema)
	b := d.body(c, blk.DefRange, &st.rng)
	b.str("bind", &st.Bind)
	if ap, err := ParseBind(st.Bind); err != nil {
		d.errorf(st.rng.at("bind"), "bind: %v", err)
	} else {
		st.Bind = ap.String()
	}
	b.str("uri", &st.URI)
	if len(st.URI) < 1 || st.URI[0] != '/' || containsAny(st.URI, " ;?#") || st.URI == "/metrics" {
		d.errorf(st.rng.at("uri"), "uri: %q must be a path such as \"/stats\"", st.URI)
	}
	b.duration("refresh", &st.Refresh, time.Second, 24*time.Hour)
	if ab := d.single(c.Blocks, "auth"); ab != nil {
		st.Auth = &StatsAuth{}
		var rng blockRanges
		ba := d.body(d.content(ab, statsAuthSchema), ab.DefRange, &rng)
		ba.str("user", &st.Auth.User)
		ba.str("password", &st.Auth.Password)
		if ba.has("user") && (st.Auth.User == "" || containsAny(st.Auth.User, ":")) {
			d.errorf(rng.at("user"), "user: must be non-empty and contain no \":\"")
		}
		if ba.has("password") && st.Auth.Password == "" {
			d.errorf(rng.at("password"), "password: must not be empty")
		}
	}
	return st
}
