package importer

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// kaKeyword is one row of a keepalived.conf conversion table. block says
// the keyword opens a block ({ ... }); conv gets the statement.
type kaKeyword struct {
	block  bool
	conv   func(c *kctx)
	ignore string
	reject string
}

// kctx is the state while one keepalived statement is converted.
type kctx struct {
	kc   *kaConv
	s    *kaStmt
	args []string // words after the keyword
	inst *kaInstance
	scr  *kaScript
}

func (c *kctx) note(k Kind, format string, args ...any) {
	c.kc.ns.add(c.s.pos, k, c.s.text(), format, args...)
}
func (c *kctx) notConverted(format string, args ...any) { c.note(NotConverted, format, args...) }
func (c *kctx) ignored(format string, args ...any)      { c.note(Ignored, format, args...) }

// kaConv converts one keepalived.conf.
type kaConv struct {
	ns      *notes
	doc     *document
	opts    *Options
	proxy   *proxyView
	scripts map[string]*kaScript
	order   []*kaScript
	insts   []*kaInstance
	garp    struct {
		delay, refresh setting[time.Duration]
		repeat         setting[int]
	} // global_defs vrrp_garp_*
	version setting[int]   // global_defs vrrp_version
	groups  []*kaSyncGroup // vrrp_sync_group (keepalived_v3.go)
	group   *kaSyncGroup   // the vrrp_sync_group being read
}

// kaScript is a vrrp_script (or vrrp_track_process) being converted.
type kaScript struct {
	name     string
	s        *kaStmt
	node     *node
	command  string
	weight   int
	reverse  bool
	process  string // vrrp_track_process: the process name
	check    *proxyCheck
	rejected bool // cannot be converted: instances tracking it are noted
	users    int
}

// kaInstance is a vrrp_instance being converted.
type kaInstance struct {
	name    string
	s       *kaStmt
	node    *node
	tracks  []*kaTrack
	garpSet map[string]bool
	// version and advert_int are written by finish (keepalived_v3.go);
	// ipv6 is the family of the VIPs; authStmt the auth_pass converted.
	version    setting[int]
	advert     setting[time.Duration]
	advertStmt *kaStmt
	ipv6       bool
	authStmt   *kaStmt
}

// kaTrack is one entry of an instance's track_script block.
type kaTrack struct {
	s      *kaStmt
	name   string
	weight setting[int]
}

// topKeywords is the table of keepalived.conf's top-level blocks.
var topKeywords = map[string]*kaKeyword{
	"global_defs":          {block: true, conv: convGlobalDefs},
	"vrrp_script":          {block: true, conv: convVRRPScript},
	"vrrp_track_process":   {block: true, conv: convTrackProcess},
	"vrrp_instance":        {block: true, conv: convVRRPInstance},
	"vrrp_sync_group":      {block: true, conv: convSyncGroup}, // keepalived_v3.go
	"vrrp_track_file":      {block: true, reject: "lbd does not track files; a vrrp_script testing the file does"},
	"track_file":           {block: true, reject: "lbd does not track files; a vrrp_script testing the file does"},
	"vrrp_track_bfd":       {block: true, reject: "lbd has no BFD"},
	"bfd_instance":         {block: true, reject: "lbd has no BFD"},
	"virtual_server":       {block: true, reject: "LVS (IPVS) virtual servers: lbd proxies instead of forwarding in the kernel; write a tcp frontend and backend"},
	"virtual_server_group": {block: true, reject: "LVS (IPVS) virtual servers: lbd proxies instead of forwarding in the kernel"},
	"static_ipaddress":     {block: true, reject: "lbd manages only its VIPs"},
	"static_routes":        {block: true, reject: "lbd manages no routes"},
	"static_rules":         {block: true, reject: "lbd manages no routing rules"},
	"linkbeat_interfaces":  {block: true, reject: "lbd watches links through netlink"},
	"garp_group":           {block: true, reject: "lbd has no gratuitous ARP groups"},
	"vrrp_garp_interval":   {reject: "lbd sends a burst's gratuitous ARPs back to back"},
}

func convertKeepalived(file string, data []byte, opts *Options, pv *proxyView, doc *document, ns *notes) {
	kc := &kaConv{ns: ns, doc: doc, opts: opts, proxy: pv, scripts: map[string]*kaScript{}}
	stmts := parseKeepalived(file, data, opts, ns)
	var walk func([]*kaStmt)
	walk = func(ss []*kaStmt) {
		for _, s := range ss {
			if s.hasBlock {
				walk(s.block)
				continue
			}
			doc.comments.add(s.pos, s.lead, s.comment)
		}
	}
	walk(stmts)
	for _, s := range stmts {
		if len(s.words) == 0 {
			continue
		}
		kc.run(topKeywords, s, nil, nil, "at the top level")
	}
	kc.finish()
}

// run converts one statement with a table.
func (kc *kaConv) run(table map[string]*kaKeyword, s *kaStmt, inst *kaInstance, scr *kaScript, where string) {
	c := &kctx{kc: kc, s: s, inst: inst, scr: scr}
	if len(s.words) == 0 {
		c.notConverted("a block without a keyword")
		return
	}
	row, ok := table[s.words[0]]
	if !ok {
		c.notConverted("unknown to the importer %s (not a keepalived 2.x keyword, or not convertible yet)", where)
		return
	}
	c.args = s.words[1:]
	if row.block != s.hasBlock {
		if row.block {
			c.notConverted("%s expects a { } block", s.words[0])
		} else {
			c.notConverted("%s takes no { } block", s.words[0])
		}
		return
	}
	switch {
	case row.ignore != "":
		c.ignored("%s", row.ignore)
	case row.reject != "":
		c.notConverted("%s", row.reject)
		for _, sub := range s.block {
			kc.ns.add(sub.pos, NotConverted, sub.text(), "in %s at line %d", s.words[0], s.line)
		}
	default:
		row.conv(c)
	}
}

// --- global_defs ---------------------------------------------------------------

var globalDefsKeywords = map[string]*kaKeyword{
	"router_id":                       {ignore: "a name in keepalived's logs and mails"},
	"notification_email":              {block: true, reject: "lbd sends no mail; use notify scripts or the metrics"},
	"notification_email_from":         {reject: "lbd sends no mail"},
	"smtp_server":                     {reject: "lbd sends no mail"},
	"smtp_connect_timeout":            {reject: "lbd sends no mail"},
	"smtp_helo_name":                  {reject: "lbd sends no mail"},
	"enable_script_security":          {ignore: "lbd runs scripts without a shell, as its own unprivileged user"},
	"script_user":                     {reject: "lbd runs scripts as its own user (lbd)"},
	"vrrp_version":                    {conv: convVRRPVersion},
	"vrrp_garp_master_delay":          {conv: globalGARP("delay")},
	"vrrp_garp_master_repeat":         {conv: globalGARP("repeat")},
	"vrrp_garp_master_refresh":        {conv: globalGARP("refresh")},
	"vrrp_garp_master_refresh_repeat": {reject: "lbd sends one gratuitous ARP per refresh"},
	"vrrp_garp_interval":              {reject: "lbd sends a burst's gratuitous ARPs back to back"},
	"vrrp_gna_interval":               {reject: "lbd sends a burst's neighbour advertisements back to back"},
	"vrrp_garp_lower_prio_delay":      {reject: "lbd sends no gratuitous ARPs on lower-priority adverts"},
	"vrrp_garp_lower_prio_repeat":     {reject: "lbd sends no gratuitous ARPs on lower-priority adverts"},
	"vrrp_lower_prio_no_advert":       {reject: "not configurable in lbd"},
	"vrrp_higher_prio_send_advert":    {reject: "not configurable in lbd"},
	"vrrp_mcast_group4":               {reject: "lbd sends adverts to 224.0.0.18 (or unicast peers)"},
	"vrrp_mcast_group6":               {reject: "lbd sends IPv6 adverts to ff02::12 (or unicast peers)"},
	"vrrp_strict":                     {reject: "lbd follows RFC 3768 but does not enforce keepalived's strict mode restrictions"},
	"vrrp_skip_check_adv_addr":        {reject: "lbd checks every advert's address list"},
	"vrrp_check_unicast_src":          {ignore: "lbd accepts unicast adverts from its configured peers"},
	"vrrp_iptables":                   {ignore: "lbd adds no firewall rules"},
	"vrrp_ipsets":                     {ignore: "lbd adds no firewall rules"},
	"vrrp_no_swap":                    {ignore: "a process tuning lbd does not need"},
	"vrrp_priority":                   {ignore: "a process tuning lbd does not need"},
	"vrrp_rt_priority":                {ignore: "a process tuning lbd does not need"},
	"vrrp_rlimit_rttime":              {ignore: "a process tuning lbd does not need"},
	"checker_no_swap":                 {ignore: "no LVS checker in lbd"},
	"checker_priority":                {ignore: "no LVS checker in lbd"},
	"lvs_id":                          {ignore: "no LVS in lbd"},
	"lvs_sync_daemon":                 {reject: "no LVS in lbd"},
	"lvs_timeouts":                    {ignore: "no LVS in lbd"},
	"lvs_flush":                       {ignore: "no LVS in lbd"},
	"max_auto_priority":               {ignore: "a process tuning lbd does not need"},
	"process_names":                   {ignore: "lbd is one process"},
	"use_pid_dir":                     {ignore: "systemd tracks lbd's pid"},
	"umask":                           {ignore: "no meaning in lbd"},
	"dynamic_interfaces":              {reject: "lbd needs its interfaces at start"},
	"default_interface":               {reject: "write the interface in each instance"},
	"vrrp_startup_delay":              {reject: "not configurable in lbd"},
	"notify_fifo":                     {reject: "lbd has no notify FIFO; use notify scripts"},
	"vrrp_notify_fifo":                {reject: "lbd has no notify FIFO; use notify scripts"},
	"enable_snmp_vrrp":                {reject: "lbd has no SNMP; it exports Prometheus metrics"},
	"enable_snmp_keepalived":          {reject: "lbd has no SNMP; it exports Prometheus metrics"},
	"enable_snmp_rfc":                 {reject: "lbd has no SNMP; it exports Prometheus metrics"},
	"enable_traps":                    {reject: "lbd has no SNMP; it exports Prometheus metrics"},
	"enable_dbus":                     {reject: "lbd has no D-Bus interface; lbctl drives it"},
	"net_namespace":                   {reject: "lbd runs in its own network namespace"},
	"instance":                        {ignore: "lbd is one instance"},
}

func convGlobalDefs(c *kctx) {
	for _, s := range c.s.block {
		c.kc.run(globalDefsKeywords, s, nil, nil, "in global_defs")
	}
}

// convVRRPVersion reads vrrp_version (global_defs, every instance's
// default) or an instance's version; finish writes it (keepalived_v3.go).
func convVRRPVersion(c *kctx) {
	if len(c.args) != 1 || (c.args[0] != "2" && c.args[0] != "3") {
		c.notConverted("expects 2 or 3")
		return
	}
	v := int(c.args[0][0] - '0')
	l := &srcLine{pos: c.s.pos, words: c.s.words}
	if c.inst == nil {
		c.kc.version.put(v, l, false)
		return
	}
	c.inst.version.put(v, l, false)
}

// globalGARP records global_defs' vrrp_garp_master_* settings, which
// every instance without its own inherits.
func globalGARP(which string) func(*kctx) {
	return func(c *kctx) {
		if len(c.args) != 1 {
			c.notConverted("expects one value")
			return
		}
		l := &srcLine{pos: c.s.pos, words: c.s.words}
		switch which {
		case "repeat":
			n, err := parseInt(c.args[0], 1, 255)
			if err != nil {
				c.notConverted("%v", err)
				return
			}
			c.kc.garp.repeat.put(n, l, false)
		default:
			d, err := parseSeconds(c.args[0])
			if err != nil {
				c.notConverted("%v", err)
				return
			}
			if which == "delay" {
				c.kc.garp.delay.put(d, l, false)
			} else {
				c.kc.garp.refresh.put(d, l, false)
			}
		}
	}
}

// --- vrrp_script / vrrp_track_process ----------------------------------------

var scriptKeywords = map[string]*kaKeyword{
	"script":    {conv: convScriptCommand},
	"interval":  {conv: scriptSeconds("interval", 100*time.Millisecond)},
	"timeout":   {conv: scriptSeconds("timeout", 10*time.Millisecond)},
	"weight":    {conv: convScriptWeight},
	"rise":      {conv: scriptInt("rise")},
	"fall":      {conv: scriptInt("fall")},
	"user":      {reject: "lbd runs scripts as its own user (lbd)"},
	"init_fail": {reject: "lbd's instances wait for a script's first result instead of assuming it failed"},
}

func convVRRPScript(c *kctx) {
	if len(c.args) != 1 {
		c.notConverted("expects one name")
		return
	}
	scr := c.kc.newScript(c.s, c.args[0])
	// keepalived's defaults differ from lbd's (interval 2s, fall 2, rise
	// 2): written out unless the block sets them.
	scr.node.set("interval", durV(time.Second), pos{}, "keepalived's default interval")
	scr.node.set("fall", intV(1), pos{}, "keepalived's default fall")
	scr.node.set("rise", intV(1), pos{}, "keepalived's default rise")
	for _, s := range c.s.block {
		c.kc.run(scriptKeywords, s, nil, scr, "in vrrp_script")
	}
	if scr.command == "" {
		c.notConverted("vrrp_script without script: keepalived drops it")
		scr.rejected = true
		return
	}
	if scr.node.get("timeout") == nil {
		// keepalived's timeout defaults to the interval.
		iv := scr.node.get("interval")
		scr.node.set("timeout", iv.val, pos{}, "keepalived's timeout defaults to the interval")
	}
	scr.check = c.kc.classify(scr)
}

func (kc *kaConv) newScript(s *kaStmt, name string) *kaScript {
	if prev := kc.scripts[name]; prev != nil {
		kc.ns.add(s.pos, NotConverted, s.text(), "a second script named %q (the first is at line %d) is not converted", name, prev.s.line)
		name = name + "_dup"
	}
	scr := &kaScript{name: name, s: s, weight: 0}
	scr.node = newNode("vrrp_script", s.pos, name)
	scr.node.lead = append(append([]string(nil), s.lead...), "from "+s.pos.String()+": "+s.text())
	kc.scripts[name] = scr
	kc.order = append(kc.order, scr)
	return scr
}

func convScriptCommand(c *kctx) {
	if len(c.args) == 0 {
		c.notConverted("expects a command")
		return
	}
	// keepalived takes the rest of the line; a quoted one is one word
	// already. lbd splits it with the same rules.
	cmd := strings.Join(c.args, " ")
	c.scr.command = cmd
	c.scr.node.set("script", strV(cmd), c.s.pos, "")
}

func scriptSeconds(name string, lo time.Duration) func(*kctx) {
	return func(c *kctx) {
		if len(c.args) != 1 {
			c.notConverted("expects a number of seconds")
			return
		}
		d, err := parseSeconds(c.args[0])
		if err != nil {
			c.notConverted("%v", err)
			return
		}
		if d == 0 {
			d = time.Second // keepalived turns 0 into 1
		}
		if d < lo || d > 24*time.Hour {
			c.notConverted("%s is out of lbd's range %s..24h", c.args[0], lo)
			return
		}
		c.scr.node.set(name, durV(d), c.s.pos, "")
	}
}

func scriptInt(name string) func(*kctx) {
	return func(c *kctx) {
		if len(c.args) != 1 {
			c.notConverted("expects a number")
			return
		}
		n, err := parseInt(c.args[0], 1, 1000)
		if err != nil {
			c.notConverted("%v", err)
			return
		}
		c.scr.node.set(name, intV(n), c.s.pos, "")
	}
}

func convScriptWeight(c *kctx) {
	if len(c.args) == 0 || len(c.args) > 2 {
		c.notConverted("expects a weight")
		return
	}
	n, err := parseInt(c.args[0], -253, 253)
	if err != nil {
		c.notConverted("%v", err)
		return
	}
	if len(c.args) == 2 {
		if c.args[1] == "reverse" {
			c.notConverted("lbd has no reverse weights")
			c.scr.reverse = true
		} else {
			c.notConverted("unknown weight option %q", c.args[1])
		}
	}
	c.scr.weight = n
	if n != 0 {
		c.scr.node.set("weight", intV(n), c.s.pos, "")
	}
}

var trackProcessKeywords = map[string]*kaKeyword{
	"process":         {conv: func(c *kctx) { c.scr.process = strings.Join(c.args, " ") }},
	"weight":          {conv: convScriptWeight},
	"quorum":          {conv: func(c *kctx) {}},
	"quorum_max":      {reject: "lbd tracks the proxy natively"},
	"delay":           {conv: func(c *kctx) {}},
	"terminate_delay": {conv: func(c *kctx) {}},
	"fork_delay":      {conv: func(c *kctx) {}},
	"full_command":    {conv: func(c *kctx) {}},
	"param_match":     {conv: func(c *kctx) {}},
}

// convTrackProcess converts a vrrp_track_process: one that watches the
// local HAProxy becomes a native track_backend; others are not
// convertible (lbd does not watch processes).
func convTrackProcess(c *kctx) {
	if len(c.args) != 1 {
		c.notConverted("expects one name")
		return
	}
	scr := c.kc.newScript(c.s, c.args[0])
	for _, s := range c.s.block {
		c.kc.run(trackProcessKeywords, s, nil, scr, "in vrrp_track_process")
	}
	if isProxyProcess(scr.process) {
		scr.check = &proxyCheck{what: "process " + scr.process}
		return
	}
	c.notConverted("lbd does not watch processes; only one watching the local HAProxy (%q here) becomes a native track_backend", scr.process)
	scr.rejected = true
}

// --- vrrp_instance -----------------------------------------------------------------

var instanceKeywords = map[string]*kaKeyword{
	"state":                      {conv: convState},
	"interface":                  {conv: instStr("interface")},
	"virtual_router_id":          {conv: instInt("virtual_router_id", 1, 255)},
	"priority":                   {conv: instInt("priority", 1, 255)},
	"advert_int":                 {conv: convAdvertInt},
	"nopreempt":                  {conv: func(c *kctx) { c.inst.node.set("preempt", boolV(false), c.s.pos, "") }},
	"preempt":                    {conv: func(c *kctx) { c.inst.node.set("preempt", boolV(true), c.s.pos, "") }},
	"preempt_delay":              {conv: instSeconds("preempt_delay", 0, 1000*time.Second)},
	"authentication":             {block: true, conv: convAuthentication},
	"virtual_ipaddress":          {block: true, conv: convVIPs},
	"unicast_src_ip":             {conv: convUnicastSrc},
	"unicast_peer":               {block: true, conv: convUnicastPeers},
	"track_script":               {block: true, conv: convTrackScript},
	"track_process":              {block: true, conv: convTrackScript},
	"track_interface":            {block: true, conv: convTrackInterface},
	"notify_master":              {conv: instCommand("notify_master")},
	"notify_backup":              {conv: instCommand("notify_backup")},
	"notify_fault":               {conv: instCommand("notify_fault")},
	"notify":                     {conv: instCommand("notify")},
	"notify_stop":                {reject: "lbd runs no script when it stops"},
	"notify_deleted":             {reject: "lbd runs no script when an instance is removed"},
	"notify_master_rx_lower_pri": {reject: "not configurable in lbd"},
	"garp_master_delay":          {conv: instSeconds("garp_master_delay", 0, time.Hour)},
	"garp_master_repeat":         {conv: instInt("garp_master_repeat", 1, 255)},
	"garp_master_refresh":        {conv: instSeconds("garp_master_refresh", 0, 24*time.Hour)},
	"garp_master_refresh_repeat": {reject: "lbd sends one gratuitous ARP per refresh"},
	"garp_lower_prio_delay":      {reject: "lbd sends no gratuitous ARPs on lower-priority adverts"},
	"garp_lower_prio_repeat":     {reject: "lbd sends no gratuitous ARPs on lower-priority adverts"},
	"lower_prio_no_advert":       {reject: "not configurable in lbd"},
	"higher_prio_send_advert":    {reject: "not configurable in lbd"},
	"smtp_alert":                 {reject: "lbd sends no mail; use notify scripts or the metrics"},
	"use_vmac":                   {conv: convUseVMAC},
	"vmac_xmit_base":             {conv: func(c *kctx) { c.inst.node.set("vmac_xmit_base", boolV(true), c.s.pos, "") }},
	"native_ipv6":                {ignore: "lbd takes an instance's family from its VIPs (IPv6 ones make it an IPv6 instance)"},
	"gna_interval":               {reject: "lbd sends a burst's neighbour advertisements back to back"},
	"version":                    {conv: convVRRPVersion},
	"mcast_src_ip":               {reject: "lbd sends multicast adverts from the interface's primary address"},
	"dont_track_primary":         {reject: "not configurable in lbd"},
	"track_file":                 {block: true, reject: "lbd does not track files; a vrrp_script testing the file does"},
	"track_bfd":                  {block: true, reject: "lbd has no BFD"},
	"track_src_ip":               {reject: "not configurable in lbd"},
	"virtual_ipaddress_excluded": {block: true, reject: "lbd advertises every VIP it holds"},
	"virtual_routes":             {block: true, reject: "lbd manages no routes"},
	"virtual_rules":              {block: true, reject: "lbd manages no routing rules"},
	"accept":                     {ignore: "lbd does not filter traffic to the VIPs"},
	"no_accept":                  {reject: "lbd does not filter traffic to the VIPs"},
	"strict_mode":                {reject: "lbd follows RFC 3768 but does not enforce keepalived's strict mode restrictions"},
	"skip_check_adv_addr":        {reject: "lbd checks every advert's address list"},
	"check_unicast_src":          {ignore: "lbd accepts unicast adverts from its configured peers"},
	"debug":                      {ignore: "lbd's log level is global.log_level"},
	"linkbeat_use_polling":       {ignore: "lbd watches links through netlink"},
	"kernel_rx_buf_size":         {ignore: "a socket tuning lbd does not need"},
}

func convVRRPInstance(c *kctx) {
	if len(c.args) != 1 {
		c.notConverted("expects one name")
		return
	}
	n := newNode("vrrp_instance", c.s.pos, c.args[0])
	n.lead = append(append([]string(nil), c.s.lead...), "from "+c.s.pos.String()+": "+c.s.text())
	inst := &kaInstance{name: c.args[0], s: c.s, node: n, garpSet: map[string]bool{}}
	for _, s := range c.s.block {
		c.kc.run(instanceKeywords, s, inst, nil, "in vrrp_instance")
	}
	c.kc.insts = append(c.kc.insts, inst)
}

func instStr(name string) func(*kctx) {
	return func(c *kctx) {
		if len(c.args) != 1 {
			c.notConverted("expects one value")
			return
		}
		c.inst.node.set(name, strV(c.args[0]), c.s.pos, "")
	}
}

func instInt(name string, lo, hi int) func(*kctx) {
	return func(c *kctx) {
		if len(c.args) != 1 {
			c.notConverted("expects one number")
			return
		}
		n, err := parseInt(c.args[0], lo, hi)
		if err != nil {
			c.notConverted("%v", err)
			return
		}
		c.inst.node.set(name, intV(n), c.s.pos, "")
		if strings.HasPrefix(name, "garp_") {
			c.inst.garpSet[name] = true
		}
	}
}

func instSeconds(name string, lo, hi time.Duration) func(*kctx) {
	return func(c *kctx) {
		if len(c.args) != 1 {
			c.notConverted("expects a number of seconds")
			return
		}
		d, err := parseSeconds(c.args[0])
		if err != nil {
			c.notConverted("%v", err)
			return
		}
		if d < lo || d > hi {
			c.notConverted("%s is out of lbd's range", c.args[0])
			return
		}
		c.inst.node.set(name, durV(d), c.s.pos, "")
		if strings.HasPrefix(name, "garp_") {
			c.inst.garpSet[name] = true
		}
	}
}

func instCommand(name string) func(*kctx) {
	return func(c *kctx) {
		if len(c.args) == 0 {
			c.notConverted("expects a command")
			return
		}
		c.inst.node.set(name, strV(strings.Join(c.args, " ")), c.s.pos, "")
	}
}

func convState(c *kctx) {
	if len(c.args) != 1 || (c.args[0] != "MASTER" && c.args[0] != "BACKUP") {
		c.notConverted("expects MASTER or BACKUP")
		return
	}
	c.inst.node.set("state", strV(c.args[0]), c.s.pos, "")
}

// convAdvertInt reads advert_int; finish writes it once the instance's
// version is known (keepalived_v3.go: whole seconds with VRRPv2, 10 ms
// steps with VRRPv3).
func convAdvertInt(c *kctx) {
	if len(c.args) != 1 {
		c.notConverted("expects a number of seconds")
		return
	}
	d, err := parseSeconds(c.args[0])
	if err != nil {
		c.notConverted("%v", err)
		return
	}
	c.inst.advert.put(d, &srcLine{pos: c.s.pos, words: c.s.words}, false)
	c.inst.advertStmt = c.s
}

func convAuthentication(c *kctx) {
	var typ, pass string
	var passStmt *kaStmt
	for _, s := range c.s.block {
		if len(s.words) == 0 {
			continue
		}
		switch s.words[0] {
		case "auth_type":
			if len(s.words) == 2 {
				typ = s.words[1]
			}
		case "auth_pass":
			if len(s.words) >= 2 {
				pass, passStmt = strings.Join(s.words[1:], " "), s
			}
		default:
			c.kc.ns.add(s.pos, NotConverted, s.text(), "unknown in authentication")
		}
	}
	switch typ {
	case "PASS":
	case "AH":
		c.notConverted("lbd has no AH authentication (RFC 3768 removed it); only PASS")
		return
	default:
		c.notConverted("auth_type must be PASS (or AH)")
		return
	}
	if passStmt == nil || pass == "" {
		c.notConverted("auth_type PASS without auth_pass")
		return
	}
	if len(pass) > 8 {
		c.kc.ns.add(passStmt.pos, Replaced, passStmt.text(), "keepalived uses the first 8 characters of a longer password; lbd refuses longer ones, so those 8 are written")
		pass = pass[:8]
	}
	c.inst.node.set("auth_pass", strV(pass), passStmt.pos, "")
	c.inst.authStmt = passStmt
}

// vipOptions are the words that may follow an address in
// virtual_ipaddress.
var vipOptions = map[string]struct {
	args   int
	ignore string
	reject string
}{
	"label":         {args: 1, ignore: "an ifconfig alias name; lbd adds the address without one"},
	"brd":           {args: 1, ignore: "lbd derives the broadcast address from the prefix"},
	"broadcast":     {args: 1, ignore: "lbd derives the broadcast address from the prefix"},
	"scope":         {args: 1},
	"dev":           {args: 1},
	"noprefixroute": {reject: "lbd adds the prefix route of a VIP"},
	"home":          {reject: "an IPv6 option"},
	"nodad":         {reject: "an IPv6 option"},
	"preferred_lft": {args: 1, reject: "not configurable in lbd"},
	"track_group":   {args: 1, reject: "lbd has no track groups"},
}

func convVIPs(c *kctx) {
	var vips []string
	seen := map[netip.Addr]bool{}
	ifname := ""
	if a := c.inst.node.get("interface"); a != nil {
		ifname = string(a.val.(strV))
	}
stmts:
	for _, s := range c.s.block {
		if len(s.words) == 0 {
			continue
		}
		p, err := netip.ParsePrefix(s.words[0])
		if err != nil {
			a, aerr := netip.ParseAddr(s.words[0])
			if aerr != nil {
				c.kc.ns.add(s.pos, NotConverted, s.text(), "%q is not an address", s.words[0])
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen()) // keepalived's default: a host address
		}
		if len(vips) == 0 {
			c.inst.ipv6 = p.Addr().Is6()
		} else if p.Addr().Is6() != c.inst.ipv6 {
			// keepalived takes the family of the first address too.
			c.kc.ns.add(s.pos, NotConverted, s.text(), "an instance carries one address family (the first VIP's); put %s in a vrrp_instance of its own (version 3)", p.Addr())
			continue
		}
		opts := s.words[1:]
		for i := 0; i < len(opts); i++ {
			o, ok := vipOptions[opts[i]]
			if !ok {
				c.kc.ns.add(s.pos, NotConverted, s.text(), "option %q of a VIP is unknown to the importer", opts[i])
				continue stmts
			}
			arg := ""
			if o.args > 0 {
				if i+1 >= len(opts) {
					c.kc.ns.add(s.pos, NotConverted, s.text(), "%s expects a value", opts[i])
					continue stmts
				}
				arg = opts[i+1]
				i++
			}
			switch {
			case o.reject != "":
				c.kc.ns.add(s.pos, NotConverted, s.text(), "%s: %s", opts[i-o.args], o.reject)
				continue stmts
			case o.ignore != "":
				c.kc.ns.add(s.pos, Ignored, s.text(), "%s: %s", opts[i-o.args], o.ignore)
			case opts[i-1] == "dev" && arg != ifname:
				c.kc.ns.add(s.pos, NotConverted, s.text(), "lbd adds the VIPs on the instance's interface (%s), not on %s", ifname, arg)
				continue stmts
			case opts[i-1] == "scope" && arg != "global":
				c.kc.ns.add(s.pos, NotConverted, s.text(), "lbd adds VIPs with scope global")
				continue stmts
			}
		}
		if seen[p.Addr()] {
			c.kc.ns.add(s.pos, Ignored, s.text(), "%s is already listed", p.Addr())
			continue
		}
		seen[p.Addr()] = true
		vips = append(vips, p.String())
	}
	if len(vips) > 0 {
		c.inst.node.set("virtual_ipaddress", strListV(vips), c.s.pos, "")
	}
}

func convUnicastSrc(c *kctx) {
	if len(c.args) != 1 {
		c.notConverted("expects one address")
		return
	}
	a, err := netip.ParseAddr(c.args[0])
	if err != nil || !a.Is4() {
		c.notConverted("%q is not an IPv4 address", c.args[0])
		return
	}
	c.inst.node.set("unicast_src", strV(a.String()), c.s.pos, "")
}

func convUnicastPeers(c *kctx) {
	var peers []string
	for _, s := range c.s.block {
		if len(s.words) == 0 {
			continue
		}
		a, err := netip.ParseAddr(s.words[0])
		if err != nil || !a.Is4() {
			c.kc.ns.add(s.pos, NotConverted, s.text(), "%q is not an IPv4 address", s.words[0])
			continue
		}
		if len(s.words) > 1 {
			c.kc.ns.add(s.pos, NotConverted, s.text(), "lbd checks the TTL of unicast adverts as of multicast ones; %s is not convertible", strings.Join(s.words[1:], " "))
		}
		peers = append(peers, a.String())
	}
	if len(peers) > 0 {
		c.inst.node.set("unicast_peers", strListV(peers), c.s.pos, "")
	}
}

func convTrackScript(c *kctx) {
	for _, s := range c.s.block {
		if len(s.words) == 0 {
			continue
		}
		t := &kaTrack{s: s, name: s.words[0]}
		switch {
		case len(s.words) == 1:
		case len(s.words) >= 3 && s.words[1] == "weight":
			n, err := parseInt(s.words[2], -254, 254)
			if err != nil {
				c.kc.ns.add(s.pos, NotConverted, s.text(), "%v", err)
				continue
			}
			t.weight.put(n, &srcLine{pos: s.pos, words: s.words}, false)
			if len(s.words) > 3 {
				c.kc.ns.add(s.pos, NotConverted, s.text(), "lbd has no reverse weights")
			}
		default:
			c.kc.ns.add(s.pos, NotConverted, s.text(), "expects NAME [weight N]")
			continue
		}
		c.inst.tracks = append(c.inst.tracks, t)
	}
}

func convTrackInterface(c *kctx) {
	var ifs []string
	for _, s := range c.s.block {
		if len(s.words) == 0 {
			continue
		}
		if len(s.words) > 1 {
			c.kc.ns.add(s.pos, NotConverted, s.text(), "lbd puts the instance in FAULT while a tracked interface is down; interface weights are not convertible")
			continue
		}
		ifs = append(ifs, s.words[0])
	}
	if len(ifs) > 0 {
		c.inst.node.set("track_interface", strListV(ifs), c.s.pos, "")
	}
}

// finish resolves track_script entries (native track_backend for proxy
// checks, per-instance weights) and writes the blocks.
func (kc *kaConv) finish() {
	var instNodes []*node
	for _, inst := range kc.insts {
		n := inst.node
		if missing := missingRequired(n); missing != "" {
			kc.ns.add(inst.s.pos, NotConverted, inst.s.text(), "no %s: keepalived refuses this instance, and so would lbd; it is left out", missing)
			continue
		}
		kc.applyGlobalGARP(inst)
		kc.finishVersion(inst) // keepalived_v3.go
		var names []string
		for _, t := range inst.tracks {
			scr := kc.scripts[t.name]
			if scr == nil {
				kc.ns.add(t.s.pos, NotConverted, t.s.text(), "no vrrp_script or vrrp_track_process named %q", t.name)
				continue
			}
			if scr.rejected {
				kc.ns.add(t.s.pos, NotConverted, t.s.text(), "tracks %q, which is not converted", t.name)
				continue
			}
			weight := scr.weight
			if t.weight.set {
				weight = t.weight.v
			}
			if scr.check != nil {
				kc.replaceWithBackends(inst, scr, t, weight)
				continue
			}
			name := scr.name
			if t.weight.set && t.weight.v != scr.weight {
				// lbd's weight is the script's: a per-instance weight gets
				// a copy of the script.
				name = fmt.Sprintf("%s_%s", scr.name, inst.name)
				cp := kc.scripts[name]
				if cp == nil {
					cp = &kaScript{name: name, s: scr.s, command: scr.command, weight: weight}
					cp.node = newNode("vrrp_script", scr.s.pos, name)
					cp.node.lead = []string{fmt.Sprintf("%s with the weight vrrp_instance %s gives it (%s)", scr.name, inst.name, t.s.pos)}
					for _, a := range scr.node.attrs {
						cp.node.set(a.name, a.val, a.src, a.note)
					}
					cp.node.set("weight", intV(weight), t.s.pos, "")
					if weight == 0 {
						cp.node.del("weight")
					}
					kc.scripts[name] = cp
					kc.order = append(kc.order, cp)
				}
				cp.users++
			} else {
				scr.users++
			}
			names = append(names, name)
		}
		if len(names) > 0 {
			n.set("track_script", strListV(names), inst.tracks[0].s.pos, "")
		}
		instNodes = append(instNodes, n)
	}
	for _, scr := range kc.order {
		if scr.check != nil || scr.rejected {
			continue
		}
		if scr.users == 0 && !strings.HasSuffix(scr.name, "_dup") {
			kc.ns.add(scr.s.pos, Ignored, scr.s.text(), "no vrrp_instance tracks it: keepalived does not run it, nor does lbd")
			continue
		}
		if scr.users > 0 {
			kc.doc.add(scr.node)
		}
	}
	for _, n := range instNodes {
		kc.doc.add(n)
	}
	kc.finishGroups(instNodes)
}

// applyGlobalGARP gives an instance global_defs' vrrp_garp_master_*
// settings it does not set itself.
func (kc *kaConv) applyGlobalGARP(inst *kaInstance) {
	g := kc.garp
	if g.delay.set && !inst.garpSet["garp_master_delay"] {
		inst.node.set("garp_master_delay", durV(g.delay.v), g.delay.pos(), "global_defs")
	}
	if g.repeat.set && !inst.garpSet["garp_master_repeat"] {
		inst.node.set("garp_master_repeat", intV(g.repeat.v), g.repeat.pos(), "global_defs")
	}
	if g.refresh.set && !inst.garpSet["garp_master_refresh"] {
		inst.node.set("garp_master_refresh", durV(g.refresh.v), g.refresh.pos(), "global_defs")
	}
}

// replaceWithBackends turns a tracked script that checks the local proxy
// into track_backend blocks: lbd is the proxy, and it follows its
// backends' health itself.
func (kc *kaConv) replaceWithBackends(inst *kaInstance, scr *kaScript, t *kaTrack, weight int) {
	if scr.reverse {
		kc.ns.add(t.s.pos, NotConverted, t.s.text(), "a reverse weight is not convertible")
		return
	}
	backends, why := kc.proxy.backendsFor(scr.check)
	if why != "" {
		kc.ns.add(scr.s.pos, NotConverted, scr.s.text(), "%s checks the local proxy (%s), which lbd replaces with native track_backend blocks, but %s", scr.name, scr.check.what, why)
		return
	}
	for _, b := range backends {
		tb := inst.node.child("track_backend", t.s.pos, false, b)
		if tb == nil {
			tb = inst.node.child("track_backend", t.s.pos, true, b)
		}
		tb.lead = []string{fmt.Sprintf("replaces vrrp_script %s (%s) tracked at %s", scr.name, scr.check.what, t.s.pos)}
		tb.set("min_up", intV(1), scr.s.pos, "the proxy serves while one server is usable")
		if weight != 0 {
			tb.set("weight", intV(weight), t.s.pos, "")
		} else {
			tb.set("weight", intV(0), t.s.pos, "0: FAULT, as keepalived does for a failing script without weight")
		}
	}
	extra := ""
	if len(backends) > 1 {
		extra = fmt.Sprintf("; with %d backends the weight applies for each one that has no usable server", len(backends))
	}
	kc.ns.add(scr.s.pos, Replaced, scr.s.text(), "vrrp_script %s checks the local proxy (%s): lbd is the proxy, so vrrp_instance %s tracks backend %s natively (track_backend, weight %d)%s",
		scr.name, scr.check.what, inst.name, strings.Join(backends, ", "), weight, extra)
}

// missingRequired names the first setting an instance cannot do without
// (keepalived refuses the instance too), or "".
func missingRequired(n *node) string {
	for _, name := range []string{"interface", "virtual_router_id", "virtual_ipaddress"} {
		if n.get(name) == nil {
			return name
		}
	}
	return ""
}
