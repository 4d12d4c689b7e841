package importer

import "time"

// cookieConf is a backend's cookie line.
type cookieConf struct {
	line              *srcLine
	name, mode        string
	indirect, nocache bool
	httponly, secure  bool
	maxidle, maxlife  time.Duration
}

// cookieOptions are the words of HAProxy's cookie line after the name.
// A row returns false when the line cannot be converted.
var cookieOptions = map[string]func(ck *cookieConf, c *hctx, arg string) bool{
	"insert":   func(ck *cookieConf, c *hctx, _ string) bool { return ck.setMode(c, "insert") },
	"prefix":   func(ck *cookieConf, c *hctx, _ string) bool { return ck.setMode(c, "prefix") },
	"rewrite":  func(ck *cookieConf, c *hctx, _ string) bool { return ck.setMode(c, "rewrite") },
	"indirect": func(ck *cookieConf, _ *hctx, _ string) bool { ck.indirect = true; return true },
	"nocache":  func(ck *cookieConf, _ *hctx, _ string) bool { ck.nocache = true; return true },
	"httponly": func(ck *cookieConf, _ *hctx, _ string) bool { ck.httponly = true; return true },
	"secure":   func(ck *cookieConf, _ *hctx, _ string) bool { ck.secure = true; return true },
	"maxidle":  func(ck *cookieConf, c *hctx, arg string) bool { return ck.setTime(c, &ck.maxidle, arg) },
	"maxlife":  func(ck *cookieConf, c *hctx, arg string) bool { return ck.setTime(c, &ck.maxlife, arg) },
	"postonly": func(_ *cookieConf, c *hctx, _ string) bool {
		c.notConverted("lbd sets the cookie on any response (nocache keeps it out of caches); postonly is not convertible")
		return true
	},
	"preserve": func(_ *cookieConf, c *hctx, _ string) bool {
		c.notConverted("lbd replaces a persistence cookie the server sets; preserve is not convertible")
		return true
	},
	"domain": func(_ *cookieConf, c *hctx, _ string) bool {
		c.notConverted("lbd sets the cookie for the request's host; domain is not convertible")
		return true
	},
	"attr": func(_ *cookieConf, c *hctx, _ string) bool {
		c.notConverted("lbd adds no cookie attributes besides HttpOnly and Secure; attr is not convertible")
		return true
	},
	"dynamic": func(_ *cookieConf, c *hctx, _ string) bool {
		c.notConverted("lbd has no dynamic cookies; write each server's cookie")
		return true
	},
}

// cookieOptionArgs lists the cookie options that take a value.
var cookieOptionArgs = map[string]bool{"maxidle": true, "maxlife": true, "domain": true, "attr": true}

func (ck *cookieConf) setMode(c *hctx, m string) bool {
	if ck.mode != "" && ck.mode != m {
		c.notConverted("cookie modes %s and %s are incompatible", ck.mode, m)
		return false
	}
	ck.mode = m
	return true
}

func (ck *cookieConf) setTime(c *hctx, dst *time.Duration, arg string) bool {
	d, err := parseHAProxyTime(arg, time.Second)
	if err != nil {
		c.notConverted("%v", err)
		return false
	}
	*dst = d
	return true
}

func convCookie(c *hctx) {
	if len(c.args) == 0 {
		c.notConverted("expects a cookie name")
		return
	}
	ck := &cookieConf{line: c.l, name: c.args[0]}
	a := c.args[1:]
	for i := 0; i < len(a); i++ {
		row, ok := cookieOptions[a[i]]
		if !ok {
			c.notConverted("cookie option %q is unknown to the importer", a[i])
			return
		}
		arg := ""
		if cookieOptionArgs[a[i]] {
			if i+1 >= len(a) {
				c.notConverted("cookie option %q expects a value", a[i])
				return
			}
			arg = a[i+1]
			i++
		}
		if !row(ck, c, arg) {
			return
		}
	}
	if ck.mode == "" {
		c.notConverted("a cookie without insert, prefix or rewrite only reads the cookie in HAProxy (passive persistence); lbd has no such mode")
		return
	}
	c.p.cookie = ck
}

// finishCookie writes the backend's cookie block. HAProxy's options are
// off unless written; lbd's indirect, nocache and httponly default to on
// and maxidle/maxlife to 30m/8h, so each is written out.
func (hc *hapConv) finishCookie(p *proxy) {
	ck := p.cookie
	if ck == nil || p.be == nil {
		return
	}
	src := ck.line.pos
	cb := newNode("cookie", src, ck.name)
	cb.set("mode", strV(ck.mode), src, "")
	mark := func(on bool) string {
		if on {
			return ""
		}
		return "not on the HAProxy line"
	}
	if ck.mode == "insert" {
		cb.set("indirect", boolV(ck.indirect), src, mark(ck.indirect))
		cb.set("httponly", boolV(ck.httponly), src, mark(ck.httponly))
		if ck.secure {
			cb.set("secure", boolV(true), src, "")
		}
		cb.set("maxidle", durV(ck.maxidle), src, unlessSet(ck.maxidle, "no maxidle on the HAProxy line"))
		cb.set("maxlife", durV(ck.maxlife), src, unlessSet(ck.maxlife, "no maxlife on the HAProxy line"))
	} else {
		if ck.indirect {
			cb.set("indirect", boolV(true), src, "")
		}
		if ck.maxidle != 0 || ck.maxlife != 0 {
			hc.ns.add(src, NotConverted, ck.line.text(), "maxidle and maxlife only apply to insert mode")
		}
	}
	cb.set("nocache", boolV(ck.nocache), src, mark(ck.nocache))
	p.be.blocks = append(p.be.blocks, cb)
}

func unlessSet(d time.Duration, note string) string {
	if d != 0 {
		return ""
	}
	return note
}
