package importer

// keepalived's VRRPv3, IPv6, virtual MAC and sync group settings: the
// version (global_defs vrrp_version or the instance's own) decides how
// advert_int is written, IPv6 VIPs make an instance VRRPv3 as keepalived
// does, and vrrp_sync_group becomes lbd's block of the same name.

import (
	"fmt"
	"math"
	"time"
)

// convUseVMAC is use_vmac [NAME]: lbd's use_vmac = true, or the name.
func convUseVMAC(c *kctx) {
	switch len(c.args) {
	case 0:
		c.inst.node.set("use_vmac", boolV(true), c.s.pos, "")
	case 1:
		c.inst.node.set("use_vmac", strV(c.args[0]), c.s.pos, "")
	default:
		c.notConverted("expects at most an interface name")
	}
}

// finishVersion writes an instance's version and advert_int: its own
// version, else global_defs' vrrp_version, else 2; VRRPv3 for IPv6 VIPs
// whatever was written (keepalived switches such an instance to version 3
// as well). VRRPv2 sends adverts every whole second, VRRPv3 in 10 ms
// steps; VRRPv3 has no authentication (keepalived ignores it there).
func (kc *kaConv) finishVersion(inst *kaInstance) {
	n := inst.node
	v, src := 2, inst.version
	if !src.set {
		src = kc.version
	}
	if src.set {
		v = src.v
	}
	if inst.ipv6 && v == 2 {
		if src.set {
			kc.ns.add(src.pos(), Replaced, fmt.Sprintf("vrrp_version %d", src.v), "vrrp_instance %s has IPv6 VIPs, which only VRRPv3 carries: version = 3, as keepalived does", inst.name)
		}
		v = 3
	}
	if v == 3 {
		n.set("version", intV(3), src.pos(), "")
		if inst.authStmt != nil {
			n.del("auth_pass")
			kc.ns.add(inst.authStmt.pos, Ignored, inst.authStmt.text(), "VRRPv3 has no authentication (RFC 5798); keepalived ignores it with version 3 too")
		}
	}
	if !inst.advert.set {
		return
	}
	d, at := inst.advert.v, inst.advertStmt
	switch {
	case v == 3 && (d < 10*time.Millisecond || d > 4095*10*time.Millisecond):
		c := min(max(d, 10*time.Millisecond), 4095*10*time.Millisecond)
		n.set("advert_int", durV(c), at.pos, "")
		kc.ns.add(at.pos, NotConverted, at.text(), "VRRPv3 adverts are sent every 0.01 to 40.95 seconds; %s is written as %s", at.words[1], formatDuration(c))
	case v == 3 && d%(10*time.Millisecond) != 0:
		r := d.Round(10 * time.Millisecond)
		n.set("advert_int", durV(r), at.pos, "")
		kc.ns.add(at.pos, Replaced, at.text(), "VRRPv3 counts adverts in centiseconds: %s is written as %s", at.words[1], formatDuration(r))
	case v == 3:
		n.set("advert_int", durV(d), at.pos, "")
	case d%time.Second != 0 || d < time.Second || d > 255*time.Second:
		whole := time.Duration(math.Max(1, math.Min(255, math.Round(d.Seconds())))) * time.Second
		n.set("advert_int", durV(whole), at.pos, "")
		kc.ns.add(at.pos, NotConverted, at.text(), "VRRPv2 adverts are sent every whole second (1..255); %s is written as %s (vrrp_version 3 allows 10 ms steps)", at.words[1], formatDuration(whole))
	default:
		n.set("advert_int", durV(d), at.pos, "")
	}
}

// kaSyncGroup is a vrrp_sync_group being converted.
type kaSyncGroup struct {
	s       *kaStmt
	node    *node
	members []*kaStmt // the names in its group block
}

// syncGroupKeywords is the table of a vrrp_sync_group block.
var syncGroupKeywords = map[string]*kaKeyword{
	"group":                      {block: true, conv: convGroupMembers},
	"notify_master":              {conv: groupCommand("notify_master")},
	"notify_backup":              {conv: groupCommand("notify_backup")},
	"notify_fault":               {conv: groupCommand("notify_fault")},
	"notify":                     {conv: groupCommand("notify")},
	"sync_group_tracking_weight": {conv: groupTrackingWeight},
	"global_tracking":            {conv: groupTrackingWeight},
	"notify_stop":                {reject: "lbd runs no script when it stops"},
	"smtp_alert":                 {reject: "lbd sends no mail; use notify scripts or the metrics"},
	"track_script":               {block: true, reject: "lbd tracks in the instances: list the script in each member's track_script"},
	"track_interface":            {block: true, reject: "lbd tracks in the instances: list the interface in each member's track_interface"},
	"track_process":              {block: true, reject: "lbd tracks in the instances: list it in each member's track_script"},
	"track_file":                 {block: true, reject: "lbd does not track files; a vrrp_script testing the file does"},
	"track_bfd":                  {block: true, reject: "lbd has no BFD"},
	"notify_priority_changes":    {reject: "lbd has no notify FIFO"},
}

func convSyncGroup(c *kctx) {
	if len(c.args) != 1 {
		c.notConverted("expects one name")
		return
	}
	n := newNode("vrrp_sync_group", c.s.pos, c.args[0])
	n.lead = append(append([]string(nil), c.s.lead...), "from "+c.s.pos.String()+": "+c.s.text())
	g := &kaSyncGroup{s: c.s, node: n}
	c.kc.group = g
	defer func() { c.kc.group = nil }()
	for _, s := range c.s.block {
		c.kc.run(syncGroupKeywords, s, nil, nil, "in vrrp_sync_group")
	}
	c.kc.groups = append(c.kc.groups, g)
}

func convGroupMembers(c *kctx) {
	for _, s := range c.s.block {
		if len(s.words) != 1 {
			c.kc.ns.add(s.pos, NotConverted, s.text(), "expects one vrrp_instance name a line")
			continue
		}
		c.kc.group.members = append(c.kc.group.members, s)
	}
}

func groupCommand(name string) func(*kctx) {
	return func(c *kctx) {
		if len(c.args) == 0 {
			c.notConverted("expects a command")
			return
		}
		if len(c.args) > 1 {
			// keepalived: "script" [username [groupname]].
			c.notConverted("lbd runs notify scripts as its own user: the user and group after the command are left out")
		}
		c.kc.group.node.set(name, strV(c.args[0]), c.s.pos, "")
	}
}

func groupTrackingWeight(c *kctx) {
	note := ""
	if c.s.words[0] == "global_tracking" {
		note = "keepalived's deprecated global_tracking"
	}
	c.kc.group.node.set("sync_group_tracking_weight", boolV(true), c.s.pos, note)
}

// finishGroups writes the sync groups over the instances converted
// (insts): a member left out of the conversion, or unknown, is left out
// of the group with a note; a group with no member left is left out.
func (kc *kaConv) finishGroups(insts []*node) {
	converted := map[string]bool{}
	for _, n := range insts {
		if len(n.labels) > 0 {
			converted[n.labels[0]] = true
		}
	}
	for _, g := range kc.groups {
		var names []string
		for _, m := range g.members {
			name := m.words[0]
			if !converted[name] {
				kc.ns.add(m.pos, NotConverted, m.text(), "vrrp_instance %s is not converted (or does not exist); the group goes on without it", name)
				continue
			}
			names = append(names, name)
		}
		if len(names) == 0 {
			kc.ns.add(g.s.pos, NotConverted, g.s.text(), "no member of the group is converted; it is left out")
			continue
		}
		g.node.set("group", strListV(names), g.members[0].pos, "")
		kc.doc.add(g.node)
	}
}
