package importer

import (
	"strings"

	"lbd/accesslog"
	"lbd/config"
)

// convGlobalLog converts "log TARGET [len N] [format F] [sample R:S]
// FACILITY [LEVEL [MINLEVEL]]" into a log block of lbd's global section.
func convGlobalLog(c *hctx) {
	a := c.args
	if len(a) == 0 {
		c.notConverted("expects a target")
		return
	}
	target := a[0]
	if _, err := config.ParseLogTarget(target); err != nil {
		c.notConverted("%v", err)
		return
	}
	lb := newNode("log", c.at(), target)
	a = a[1:]
	for len(a) >= 2 {
		switch a[0] {
		case "len":
			n, err := parseInt(a[1], 80, 65535)
			if err != nil {
				c.notConverted("len: %v", err)
				return
			}
			lb.set("len", intV(n), c.at(), "")
		case "format":
			switch a[1] {
			case "rfc3164", "rfc5424", "raw":
				lb.set("format", strV(a[1]), c.at(), "")
			case "local":
				lb.set("format", strV("rfc3164"), c.at(), "HAProxy's local format is rfc3164 without the host name, which lbd writes")
			default:
				c.notConverted("lbd writes the formats rfc3164, rfc5424 and raw; %q is not convertible", a[1])
				return
			}
		case "sample":
			c.notConverted("lbd sends every line to every target; sample is not convertible")
			return
		case "profile":
			c.notConverted("lbd has no log profiles")
			return
		default:
			goto facility
		}
		a = a[2:]
	}
facility:
	if len(a) == 0 || len(a) > 3 {
		c.notConverted("expects a facility, then optionally a level and a minimum level")
		return
	}
	if config.FacilityCode(a[0]) < 0 {
		c.notConverted("unknown facility %q", a[0])
		return
	}
	lb.set("facility", strV(a[0]), c.at(), "")
	if len(a) > 1 {
		if config.LevelCode(a[1]) < 0 {
			c.notConverted("unknown level %q", a[1])
			return
		}
		lb.set("level", strV(a[1]), c.at(), "")
	} else {
		lb.set("level", strV("debug"), c.at(), "HAProxy sends every level without one")
	}
	if len(a) > 2 {
		if config.LevelCode(a[2]) < 0 {
			c.notConverted("unknown level %q", a[2])
			return
		}
		lb.set("min_level", strV(a[2]), c.at(), "")
	}
	g := c.hc.doc.block("global", c.at())
	g.blocks = append(g.blocks, lb)
	if g.get("log_tag") == nil {
		// rsyslog rules written for HAProxy match its program name.
		g.set("log_tag", strV("haproxy"), pos{}, "HAProxy's syslog tag, so that rsyslog rules keep matching")
	}
}

func convLogTag(c *hctx) {
	if len(c.args) != 1 {
		c.notConverted("expects one tag")
		return
	}
	c.hc.doc.block("global", c.at()).set("log_tag", strV(c.args[0]), c.at(), "")
}

// convProxyLog converts "log global", "no log" and a proxy's own targets.
func convProxyLog(c *hctx) {
	if c.no {
		c.p.log.put(false, c.l, c.fromDef)
		return
	}
	if len(c.args) == 1 && c.args[0] == "global" {
		c.p.log.put(true, c.l, c.fromDef)
		return
	}
	c.p.log.put(true, c.l, c.fromDef)
	c.notConverted("lbd sends the access logs of every frontend to the global log targets; a proxy's own targets are not convertible")
}

func convHTTPLog(c *hctx) {
	switch {
	case len(c.args) == 0:
		c.p.logFmt.put("httplog", c.l, c.fromDef)
	case len(c.args) == 1 && c.args[0] == "clf":
		c.p.logFmt.put("httplog", c.l, c.fromDef)
		c.notConverted("lbd writes HAProxy's httplog format; the CLF variant is not convertible")
	default:
		c.notConverted("unexpected words after option httplog")
	}
}

func convTCPLog(c *hctx) {
	if len(c.args) != 0 {
		c.notConverted("unexpected words after option tcplog")
		return
	}
	c.p.logFmt.put("tcplog", c.l, c.fromDef)
}

func convLogFormat(c *hctx) {
	if len(c.args) == 0 {
		c.notConverted("expects a format")
		return
	}
	f := strings.Join(c.args, " ")
	if _, err := accesslog.ParseFormat(f); err != nil {
		c.notConverted("%v", err)
		return
	}
	c.p.logFmt.put(f, c.l, c.fromDef)
}

// convCapture converts "capture request header NAME len N" and its
// response twin into a capture block of the frontend.
func convCapture(block string) func(*hctx) {
	return func(c *hctx) {
		if c.p.fe == nil {
			return
		}
		a := c.args
		if len(a) != 3 || a[1] != "len" {
			c.notConverted("expects NAME len LENGTH")
			return
		}
		n, err := parseInt(a[2], 1, accesslog.MaxCaptureLen)
		if err != nil {
			c.notConverted("len: %v", err)
			return
		}
		cb := newNode(block, c.at(), a[0])
		cb.set("len", intV(n), c.at(), "")
		c.p.fe.blocks = append(c.p.fe.blocks, cb)
	}
}

// finishLog writes the frontend's access-log settings: the format when
// the frontend logs, access_log = false when HAProxy would not log it.
func (hc *hapConv) finishLog(p *proxy) {
	if p.fe == nil {
		return
	}
	if !p.log.set || !p.log.v {
		note := "no \"log global\" for this proxy in HAProxy: it logs nothing"
		src := pos{}
		if p.log.set {
			note, src = "", p.log.pos()
		}
		p.fe.set("access_log", boolV(false), src, note)
		return
	}
	mode := "tcp"
	if p.mode.set {
		mode = p.mode.v
	}
	if !hc.hasOption(p, "option dontlognull") {
		hc.ns.add(p.sec.head.pos, Ignored, p.sec.head.text(),
			"HAProxy logs connections that send nothing (no option dontlognull); lbd never logs them")
	}
	f := p.logFmt
	switch {
	case !f.set:
		hc.ns.add(p.sec.head.pos, NotConverted, p.sec.head.text(),
			"without option httplog, tcplog or log-format HAProxy logs connections in its short default format; lbd logs each request as JSON (log_format = \"httplog\" or \"tcplog\" for HAProxy's text)")
	case f.v == "httplog" && mode == "tcp":
		p.fe.set("log_format", strV("tcplog"), f.pos(), "HAProxy turns httplog into tcplog in a tcp proxy")
	default:
		p.fe.set("log_format", strV(f.v), f.pos(), "")
	}
}
