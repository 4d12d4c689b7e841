package importer

import (
	"encoding/hex"
	"strings"
	"time"
)

// checkConf collects a backend's health check lines (option httpchk,
// http-check, option tcp-check, tcp-check, timeout check).
type checkConf struct {
	kind                              setting[string] // "http" or "tcp-check"; unset: connect check
	method, path, host                setting[string]
	expectStatus                      setting[statusSet]
	expectBody                        setting[string]
	send, expect                      setting[string]
	port                              setting[int]
	timeout                           setting[time.Duration]
	httpExpects, tcpSends, tcpExpects int
}

func convHTTPChk(c *hctx) {
	ck := &c.p.check
	*ck = checkConf{timeout: ck.timeout} // a later "option httpchk" starts over
	ck.kind.put("http", c.l, c.fromDef)
	a := c.args
	method, path := "OPTIONS", "/"
	switch len(a) {
	case 0:
	case 1:
		path = a[0]
	default:
		method, path = a[0], a[1]
	}
	if len(a) == 0 || len(a) == 1 {
		ck.method.put(method, nil, c.fromDef)
		ck.method.derived = "HAProxy's default method"
	} else {
		ck.method.put(method, c.l, c.fromDef)
	}
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n") {
		c.notConverted("lbd's http check requests a path starting with \"/\"; %q is not convertible", path)
		return
	}
	ck.path.put(path, c.l, c.fromDef)
	if len(a) >= 3 {
		// The version may carry headers HAProxy users add with "\r\n":
		// "HTTP/1.1\r\nHost:\ www.example.com".
		ver, hdrs, _ := strings.Cut(a[2], "\r\n")
		if ver != "HTTP/1.0" && ver != "HTTP/1.1" {
			c.notConverted("lbd's http check is HTTP/1.1; version %q is not convertible", ver)
		}
		for _, h := range strings.Split(hdrs, "\r\n") {
			if h == "" {
				continue
			}
			name, val, _ := strings.Cut(h, ":")
			if !strings.EqualFold(strings.TrimSpace(name), "host") {
				c.notConverted("lbd's http check sends only a Host header; %q is not convertible", h)
				continue
			}
			ck.host.put(strings.TrimSpace(val), c.l, c.fromDef)
		}
	}
	if len(a) >= 4 {
		ck.host.put(a[3], c.l, c.fromDef)
	}
	if len(a) > 4 {
		c.notConverted("unexpected words after the host")
	}
}

func convHTTPCheckExpect(c *hctx) {
	ck := &c.p.check
	ck.httpExpects++
	if ck.httpExpects > 1 {
		c.notConverted("lbd's http check has one expect rule")
		return
	}
	a := c.args
	for len(a) > 0 {
		switch a[0] {
		case "comment":
			if len(a) < 2 {
				c.notConverted("comment expects a message")
				return
			}
			a = a[2:]
			continue
		case "min-recv", "ok-status", "error-status", "tout-status", "on-success", "on-error", "status-code":
			c.notConverted("the %s option of http-check expect is not convertible", a[0])
			return
		}
		break
	}
	if len(a) == 0 {
		c.notConverted("expects a match")
		return
	}
	if strings.HasPrefix(a[0], "!") {
		c.notConverted("lbd's http check cannot invert a match")
		return
	}
	if len(a) != 2 {
		c.notConverted("expects one match and one pattern (escape blanks with a backslash)")
		return
	}
	switch a[0] {
	case "status":
		st, err := parseStatusList(a[1])
		if err != nil {
			c.notConverted("%v", err)
			return
		}
		ck.expectStatus.put(st, c.l, c.fromDef)
	case "string":
		ck.expectBody.put(a[1], c.l, c.fromDef)
		// HAProxy checks the body alone: any status passes.
		ck.expectStatus.put(statusSet{"100-599"}, nil, c.fromDef)
		ck.expectStatus.derived = "HAProxy's expect string passes any status"
	default:
		c.notConverted("lbd's http check matches a status list or a string in the body; %q is not convertible", a[0])
	}
}

func convHTTPCheckSend(c *hctx) {
	ck := &c.p.check
	a := c.args
	for i := 0; i < len(a); i++ {
		if i+1 >= len(a) {
			c.notConverted("%s expects a value", a[i])
			return
		}
		switch a[i] {
		case "meth":
			ck.method.put(a[i+1], c.l, c.fromDef)
		case "uri":
			if !strings.HasPrefix(a[i+1], "/") {
				c.notConverted("lbd's http check requests a path starting with \"/\"; %q is not convertible", a[i+1])
				return
			}
			ck.path.put(a[i+1], c.l, c.fromDef)
		case "ver":
			if a[i+1] != "HTTP/1.0" && a[i+1] != "HTTP/1.1" {
				c.notConverted("lbd's http check is HTTP/1.1; version %q is not convertible", a[i+1])
			}
		case "hdr":
			if i+2 >= len(a) {
				c.notConverted("hdr expects a name and a value")
				return
			}
			if !strings.EqualFold(a[i+1], "host") {
				c.notConverted("lbd's http check sends only a Host header; %q is not convertible", a[i+1])
			} else {
				ck.host.put(a[i+2], c.l, c.fromDef)
			}
			i++
		default:
			c.notConverted("the %s option of http-check send is not convertible", a[i])
			return
		}
		i++
	}
}

func convTCPCheckOption(c *hctx) {
	ck := &c.p.check
	*ck = checkConf{timeout: ck.timeout}
	ck.kind.put("tcp-check", c.l, c.fromDef)
}

func convTCPCheckConnect(c *hctx) {
	a := c.args
	for i := 0; i < len(a); i++ {
		switch a[i] {
		case "port":
			if i+1 >= len(a) {
				c.notConverted("port expects a number")
				return
			}
			n, err := parseInt(a[i+1], 1, 65535)
			if err != nil {
				c.notConverted("%v", err)
				return
			}
			c.p.check.port.put(n, c.l, c.fromDef)
			i++
		case "comment":
			i++
		default:
			c.notConverted("the %s option of tcp-check connect is not convertible", a[i])
			return
		}
	}
}

func convTCPCheckSend(c *hctx) {
	if len(c.args) != 1 {
		c.notConverted("expects one string (escape blanks with a backslash)")
		return
	}
	tcpSend(c, c.args[0])
}

func convTCPCheckSendBinary(c *hctx) {
	if len(c.args) != 1 {
		c.notConverted("expects one hexadecimal string")
		return
	}
	b, err := hex.DecodeString(c.args[0])
	if err != nil {
		c.notConverted("%q is not hexadecimal", c.args[0])
		return
	}
	tcpSend(c, string(b))
}

func tcpSend(c *hctx, s string) {
	ck := &c.p.check
	ck.tcpSends++
	if ck.tcpSends > 1 || ck.tcpExpects > 0 {
		c.notConverted("lbd's tcp-check sends once, before its one expect")
		return
	}
	ck.send.put(s, c.l, c.fromDef)
}

func convTCPCheckExpect(c *hctx) {
	ck := &c.p.check
	ck.tcpExpects++
	if ck.tcpExpects > 1 {
		c.notConverted("lbd's tcp-check has one expect")
		return
	}
	a := c.args
	for len(a) >= 2 && (a[0] == "comment" || a[0] == "min-recv") {
		if a[0] == "min-recv" {
			c.notConverted("the min-recv option is not convertible")
			return
		}
		a = a[2:]
	}
	if len(a) != 2 {
		c.notConverted("expects one match and one pattern")
		return
	}
	switch a[0] {
	case "string":
		ck.expect.put(a[1], c.l, c.fromDef)
	case "binary":
		b, err := hex.DecodeString(a[1])
		if err != nil {
			c.notConverted("%q is not hexadecimal", a[1])
			return
		}
		ck.expect.put(string(b), c.l, c.fromDef)
	default:
		c.notConverted("lbd's tcp-check expects a substring; %q is not convertible", a[0])
	}
}

func convRedisCheck(c *hctx) {
	ck := &c.p.check
	*ck = checkConf{timeout: ck.timeout}
	ck.kind.put("tcp-check", c.l, c.fromDef)
	ck.send.put("PING\r\n", c.l, c.fromDef)
	ck.expect.put("+PONG", c.l, c.fromDef)
}

// lbd's health_check defaults, to write only what differs.
const (
	lbdInterval     = 2 * time.Second
	lbdFastInterval = time.Second
	lbdDownInterval = 5 * time.Second
	lbdTimeout      = time.Second
	lbdRise         = 2
	lbdFall         = 3
)

// finishCheck writes the backend's health_check block from the check
// lines and the checked servers' timing.
func (hc *hapConv) finishCheck(p *proxy, checked []*hapServer) {
	if len(checked) == 0 {
		return
	}
	ck := p.check
	hb := newNode("health_check", p.sec.head.pos)
	first := checked[0].opts()
	agentOnly := first.agent.v && !first.check.v
	typ := "tcp"
	switch {
	case agentOnly:
		typ = "agent"
	case ck.kind.v == "http":
		typ = "http"
	case ck.kind.v == "tcp-check" && (ck.send.set || ck.expect.set):
		typ = "tcp-check"
	}
	if typ != "tcp" {
		src := ck.kind.pos()
		if agentOnly {
			src = first.agent.pos()
		}
		hb.set("type", strV(typ), src, "")
	}
	for _, s := range checked {
		o := s.opts()
		if o.check.v && o.agent.v {
			hc.ns.add(s.line.pos, NotConverted, s.line.text(), "lbd's agent check replaces the server's check; the %s check is kept, agent-check is not converted", typ)
		} else if (o.agent.v && !o.check.v) != agentOnly {
			hc.ns.add(s.line.pos, NotConverted, s.line.text(), "lbd checks every server of a backend the same way; this server's check differs from the first checked server's")
		}
	}
	switch typ {
	case "http":
		setStr(hb, "method", ck.method, "GET")
		setStr(hb, "path", ck.path, "/")
		setStr(hb, "host", ck.host, "")
		if ck.expectStatus.set {
			hb.set("expect_status", ck.expectStatus.v, ck.expectStatus.pos(), ck.expectStatus.derived)
		} else {
			hb.set("expect_status", statusSet{"200-399"}, pos{}, "HAProxy's httpchk passes 2xx and 3xx")
		}
		setStr(hb, "expect_body", ck.expectBody, "")
	case "tcp-check":
		setStr(hb, "send", ck.send, "")
		setStr(hb, "expect", ck.expect, "")
	case "agent":
		if first.agentSend.set {
			hb.set("send", strV(first.agentSend.v), first.agentSend.pos(), "")
		}
	}
	hc.checkTiming(p, hb, checked, typ)
	p.be.blocks = append(p.be.blocks, hb)
	hc.finishObserve(p, checked)
}

// setStr writes a string attribute when it was set and differs from lbd's
// default.
func setStr(n *node, name string, s setting[string], def string) {
	if !s.set || (s.v == def && s.src == nil) {
		return
	}
	n.set(name, strV(s.v), s.pos(), s.derived)
}

// checkTiming lifts inter/fastinter/downinter/rise/fall/port from the
// checked servers to the backend, reporting servers that differ from the
// first one.
func (hc *hapConv) checkTiming(p *proxy, hb *node, checked []*hapServer, typ string) {
	type timing struct {
		inter, fast, down, timeout time.Duration
		rise, fall, port           int
	}
	get := func(o srvOpts) timing {
		t := timing{inter: 2 * time.Second, rise: 2, fall: 3}
		if typ == "agent" {
			if o.agentInter.set {
				t.inter = o.agentInter.v
			} else if o.inter.set {
				t.inter = o.inter.v
			}
			t.port = o.agentPort.v
		} else {
			if o.inter.set {
				t.inter = o.inter.v
			}
			t.port = o.port.v
		}
		t.fast, t.down = t.inter, t.inter
		if o.fastinter.set {
			t.fast = o.fastinter.v
		}
		if o.downinter.set {
			t.down = o.downinter.v
		}
		if o.rise.set {
			t.rise = o.rise.v
		}
		if o.fall.set {
			t.fall = o.fall.v
		}
		return t
	}
	o := checked[0].opts()
	t := get(o)
	for _, s := range checked[1:] {
		if get(s.opts()) != t {
			hc.ns.add(s.line.pos, NotConverted, s.line.text(),
				"lbd times the checks of a backend alike; this server's inter/fastinter/downinter/rise/fall/port differ from the first checked server's (line %d), whose are used", checked[0].line.line)
		}
	}
	interSrc := o.inter.pos()
	if typ == "agent" && o.agentInter.set {
		interSrc = o.agentInter.pos()
	}
	put := func(name string, d time.Duration, def time.Duration, src pos, set bool, note string) {
		if set || d != def {
			if !set {
				src = pos{}
			}
			hb.set(name, durV(d), src, note)
		}
	}
	isSet := o.inter.set || (typ == "agent" && o.agentInter.set)
	put("interval", t.inter, lbdInterval, interSrc, isSet, "")
	put("fast_interval", t.fast, lbdFastInterval, o.fastinter.pos(), o.fastinter.set, "HAProxy's fastinter defaults to inter")
	put("down_interval", t.down, lbdDownInterval, o.downinter.pos(), o.downinter.set, "HAProxy's downinter defaults to inter")
	if p.check.timeout.set {
		hb.set("timeout", durV(p.check.timeout.v), p.check.timeout.pos(), "HAProxy's timeout check")
	} else if t.inter != lbdTimeout {
		hb.set("timeout", durV(t.inter), pos{}, "without timeout check, HAProxy bounds a check by inter")
	}
	if o.rise.set || t.rise != lbdRise {
		hb.set("rise", intV(t.rise), o.rise.pos(), "")
	}
	if o.fall.set || t.fall != lbdFall {
		note := ""
		if !o.fall.set {
			note = "HAProxy's default fall"
		}
		hb.set("fall", intV(t.fall), o.fall.pos(), note)
	}
	switch {
	case t.port != 0:
		src := o.port.pos()
		if typ == "agent" {
			src = o.agentPort.pos()
		}
		hb.set("port", intV(t.port), src, "")
	case p.check.port.set && typ == "tcp-check":
		hb.set("port", intV(p.check.port.v), p.check.port.pos(), "")
	case typ == "agent":
		hc.ns.add(checked[0].line.pos, NotConverted, checked[0].line.text(), "agent-check needs agent-port")
	}
}

// finishObserve lifts observe/error-limit from the servers to the backend
// (lbd's passive checks are per backend).
func (hc *hapConv) finishObserve(p *proxy, servers []*hapServer) {
	var first *hapServer
	for _, s := range p.servers {
		o := s.opts()
		if !o.observe.set {
			continue
		}
		if first == nil {
			first = s
			switch o.observe.v {
			case "layer4", "layer7":
				p.be.set("observe", strV(o.observe.v), o.observe.pos(), "")
			default:
				hc.ns.add(s.line.pos, NotConverted, s.line.text(), "unknown observe mode %q", o.observe.v)
				return
			}
			if o.errorLimit.set {
				p.be.set("error_limit", intV(o.errorLimit.v), o.errorLimit.pos(), "")
			}
			switch {
			case !o.onError.set || o.onError.v == "fail-check":
				hc.ns.add(s.line.pos, NotConverted, s.line.text(), "lbd marks the server DOWN when error_limit is reached (HAProxy's on-error mark-down); HAProxy's default on-error fail-check counts one failed check instead")
			case o.onError.v == "mark-down":
			default:
				hc.ns.add(s.line.pos, NotConverted, s.line.text(), "lbd marks the server DOWN when error_limit is reached; on-error %s is not convertible", o.onError.v)
			}
			continue
		}
		fo := first.opts()
		if o.observe.v != fo.observe.v || o.errorLimit.v != fo.errorLimit.v {
			hc.ns.add(s.line.pos, NotConverted, s.line.text(), "lbd observes every server of a backend alike; this server's observe/error-limit differ from line %d's", first.line.line)
		}
	}
	if first != nil {
		for _, s := range p.servers {
			if !s.opts().observe.set {
				hc.ns.add(s.line.pos, NotConverted, s.line.text(), "lbd observes every server of a backend; this one has no observe in HAProxy")
			}
		}
	}
}
