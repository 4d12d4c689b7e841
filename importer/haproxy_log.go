package importer

import "lbd/config"

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
		c.notConverted("lbd logs every frontend's requests; turning the access log off per frontend is not served yet")
		return
	}
	if len(c.args) == 1 && c.args[0] == "global" {
		c.p.log.put(true, c.l, c.fromDef)
		return
	}
	c.p.log.put(true, c.l, c.fromDef)
	c.notConverted("lbd sends the access logs of every frontend to the global log targets; a proxy's own targets are not convertible")
}

// noTextLogs is why HAProxy's log formats are not converted yet.
const noTextLogs = "lbd writes its access log as JSON lines; HAProxy's httplog, tcplog and log-format text formats are not served yet"

// finishLog notes a frontend HAProxy does not log (no "log global"),
// whose requests lbd logs.
func (hc *hapConv) finishLog(p *proxy) {
	if p.fe == nil || p.log.set {
		return // logged, or "no log", which was noted
	}
	at, text := p.sec.head.pos, p.sec.head.text()
	hc.ns.add(at, Ignored, text, "HAProxy does not log this proxy (no \"log global\"); lbd logs its requests (JSON lines, on stderr or the log targets)")
}
