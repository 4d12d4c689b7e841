package config

import (
	"time"

	"github.com/hashicorp/hcl/v2"
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
		{Name: "unicast_src"}, {Name: "unicast_peers"},
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
	b.duration("advert_int", &vi.AdvertInt, time.Second, 255*time.Second)
	if vi.AdvertInt%time.Second != 0 {
		d.errorf(vi.rng.at("advert_int"), "advert_int: VRRPv2 adverts are sent in whole seconds, %s is not", vi.AdvertInt)
	}
	b.boolean("preempt", &vi.Preempt)
	b.duration("preempt_delay", &vi.PreemptDelay, 0, 1000*time.Second)
	b.str("auth_pass", &vi.AuthPass)
	if len(vi.AuthPass) > 8 {
		d.errorf(vi.rng.at("auth_pass"), "auth_pass: %d bytes is too long; VRRPv2 simple authentication carries at most 8", len(vi.AuthPass))
	}
	d.decodeVIPs(b, vi)
	b.addr("unicast_src", &vi.UnicastSrc)
	if vi.UnicastSrc.IsValid() && !vi.UnicastSrc.Is4() {
		d.errorf(vi.rng.at("unicast_src"), "unicast_src: %s is not IPv4", vi.UnicastSrc)
	}
	var peers []string
	b.strList("unicast_peers", &peers)
	for i, p := range peers {
		a, err := parseAddr4(p)
		if err != nil {
			d.errorf(b.elemRange("unicast_peers", i), "unicast_peers: %v", err)
			continue
		}
		vi.UnicastPeers = append(vi.UnicastPeers, a)
	}
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

// decodeVIPs reads virtual_ipaddress: IPv4 CIDRs, at least one, at most
// 255 (the advert's count is one byte), none twice.
func (d *decoder) decodeVIPs(b body, vi *VRRPInstance) {
	b.prefixList("virtual_ipaddress", &vi.VirtualIPAddresses, false)
	if b.has("virtual_ipaddress") && vi.VirtualIPAddresses != nil && len(vi.VirtualIPAddresses) == 0 {
		d.errorf(vi.rng.at("virtual_ipaddress"), "virtual_ipaddress: at least one address is required")
	}
	if len(vi.VirtualIPAddresses) > 255 {
		d.errorf(vi.rng.at("virtual_ipaddress"), "virtual_ipaddress: at most 255 addresses fit in an advert")
	}
	seen := map[string]bool{}
	for _, p := range vi.VirtualIPAddresses {
		if !p.Addr().Is4() {
			d.errorf(vi.rng.at("virtual_ipaddress"), "virtual_ipaddress: %s is not IPv4; VRRPv2 carries IPv4 addresses only", p)
		}
		if seen[p.Addr().String()] {
			d.errorf(vi.rng.at("virtual_ipaddress"), "virtual_ipaddress: %s is listed twice", p.Addr())
		}
		seen[p.Addr().String()] = true
	}
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
	if len(st.URI) < 2 || st.URI[0] != '/' || containsAny(st.URI, " ;?#") {
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
