package importer

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"lbd/config"
)

// statsConf collects a proxy's stats lines. lbd serves its statistics on a
// listener of its own (the stats block): a listen or frontend section
// that only serves the stats page becomes that block.
type statsConf struct {
	lines   []*srcLine
	enable  bool
	uri     setting[string]
	refresh setting[time.Duration]
	auth    []*srcLine
}

func convStats(c *hctx) {
	if c.fromDef {
		return
	}
	if c.p.kind == "defaults" {
		c.notConverted("lbd's stats page is a listener of its own (a stats block); stats in defaults are not convertible")
		return
	}
	st := c.p.stats
	if st == nil {
		st = &statsConf{}
		c.p.stats = st
	}
	st.lines = append(st.lines, c.l)
	switch c.kw {
	case "stats enable":
		st.enable = true
	case "stats uri":
		st.enable = true
		if len(c.args) != 1 {
			c.notConverted("expects one URI")
			return
		}
		st.uri.put(c.args[0], c.l, false)
	case "stats refresh":
		st.enable = true
		if d, ok := c.oneTime(time.Second); ok {
			st.refresh.put(d, c.l, false)
		}
	case "stats auth":
		st.enable = true
		st.auth = append(st.auth, c.l)
	case "stats realm":
		c.ignored("the text of the browser's login prompt: lbd's prompt names lbd's realm")
	case "stats show-legends", "stats show-modules", "stats show-node", "stats show-desc":
		c.ignored("a display option of HAProxy's stats page")
	case "stats hide-version":
		c.notConverted("lbd's stats page shows its version")
	case "stats admin":
		c.notConverted("lbd's stats page is read-only; changes go through lbctl (server state, server weight)")
	case "stats scope":
		c.notConverted("lbd's stats page shows every proxy")
	case "stats http-request":
		c.notConverted("lbd's stats page has no http-request rules; use auth")
	}
}

// finishStats turns a proxy that only serves the stats page into lbd's
// stats block; it reports stats lines on a proxy that also carries
// traffic. It returns true when the proxy became the stats block (and is
// not written as a frontend/backend).
func (hc *hapConv) finishStats(p *proxy) bool {
	st := p.stats
	if st == nil || !st.enable {
		return false
	}
	hasDefault := p.fe != nil && p.fe.get("default_backend") != nil
	if len(p.servers) > 0 || len(p.uses) > 0 || hasDefault {
		for _, l := range st.lines {
			hc.ns.add(l.pos, NotConverted, l.text(), "lbd serves its stats page on a listener of its own, not on a path of a frontend that carries traffic: add a stats block")
		}
		return false
	}
	head := p.sec.head
	if hc.doc.find("stats") != nil {
		hc.ns.add(head.pos, NotConverted, head.text(), "lbd has one stats listener; this second stats section is not converted")
		return true
	}
	sb := hc.doc.block("stats", head.pos)
	sb.lead = append(append([]string(nil), head.lead...), "from "+head.pos.String()+": "+head.text())
	if p.fe != nil {
		if b := p.fe.get("bind"); b != nil {
			binds := b.val.(strListV)
			sb.set("bind", strV(binds[0]), b.src, "")
			if len(binds) > 1 {
				hc.ns.add(b.src, NotConverted, "bind", "lbd's stats page listens on one address; %s is not converted", strings.Join(binds[1:], ", "))
			}
		} else {
			hc.ns.add(head.pos, NotConverted, head.text(), "a stats section without bind: lbd's stats listener takes its default address 0.0.0.0:8404")
		}
	}
	uri := "/haproxy?stats" // HAProxy's default
	uriSrc := pos{}
	if st.uri.set {
		uri, uriSrc = st.uri.v, st.uri.pos()
	}
	path, query, _ := strings.Cut(uri, "?")
	note := ""
	if query != "" {
		// lbd serves the page at the path whatever the query string, so
		// the URL users have bookmarked keeps working.
		note = "HAProxy's " + uri + "; lbd serves the page at " + path + " with any query"
	}
	if !st.uri.set {
		note = "HAProxy's default stats uri " + uri + "; lbd serves it at " + path
	}
	sb.set("uri", strV(path), uriSrc, note)
	if st.refresh.set {
		if st.refresh.v < time.Second {
			hc.ns.add(st.refresh.pos(), NotConverted, "stats refresh", "lbd refreshes its page every second at most")
		} else {
			sb.set("refresh", durV(st.refresh.v), st.refresh.pos(), "")
		}
	} else {
		hc.ns.add(head.pos, Ignored, head.text(), "HAProxy's stats page does not refresh itself without stats refresh; lbd's refreshes every 5s (refresh)")
	}
	for i, l := range st.auth {
		if i > 0 {
			hc.ns.add(l.pos, NotConverted, l.text(), "lbd's stats page has one user")
			continue
		}
		args := l.words[2:]
		user, pass, ok := "", "", false
		if len(args) == 1 {
			user, pass, ok = strings.Cut(args[0], ":")
		}
		if !ok || user == "" || pass == "" {
			hc.ns.add(l.pos, NotConverted, l.text(), "expects user:password")
			continue
		}
		ab := sb.child("auth", l.pos, true)
		ab.set("user", strV(user), l.pos, "")
		ab.set("password", strV(pass), l.pos, "")
	}
	if p.fe != nil {
		if a := p.fe.get("maxconn"); a != nil && a.note != "inherited from defaults" {
			hc.ns.add(a.src, Ignored, "maxconn", "lbd's stats listener has its own limits")
		}
	}
	return true
}

// convErrorFile writes an error_file block in the frontend. lbd's error
// files are per frontend; HAProxy's in a backend apply to the errors of
// requests sent to it.
func convErrorFile(c *hctx) {
	if len(c.args) != 2 {
		c.notConverted("expects a status and a file")
		return
	}
	status, err := strconv.Atoi(c.args[0])
	if err != nil {
		c.notConverted("%q is not a status", c.args[0])
		return
	}
	if !slices.Contains(config.ErrorStatuses, status) {
		c.notConverted("lbd never answers %d itself (it answers %s); this page would never be sent", status, statusList())
		return
	}
	if c.p.fe == nil {
		if !c.fromDef {
			c.notConverted("lbd's error files are per frontend; write it in the frontends that use this backend")
		}
		return
	}
	for _, b := range c.p.fe.blocks {
		if b.typ == "error_file" {
			if a := b.get("status"); a != nil && a.val == value(intV(status)) {
				c.p.fe.delChild(b) // a later line for the same status wins, as in HAProxy
				break
			}
		}
	}
	eb := newNode("error_file", c.at())
	eb.set("status", intV(status), c.at(), c.defNote())
	eb.set("path", strV(c.args[1]), c.at(), "")
	c.p.fe.blocks = append(c.p.fe.blocks, eb)
}

func statusList() string {
	parts := make([]string, len(config.ErrorStatuses))
	for i, s := range config.ErrorStatuses {
		parts[i] = strconv.Itoa(s)
	}
	return strings.Join(parts, ", ")
}
