package importer

import (
	"time"
)

// timeoutSide says which block of lbd carries each timeout (HAProxy's
// split between the client and the server side).
var timeoutSide = map[string]string{
	"client": "frontend", "http_request": "frontend", "http_keep_alive": "frontend",
	"connect": "backend", "server": "backend", "queue": "backend", "tunnel": "backend",
}

var timeoutNames = []string{"connect", "client", "server", "http_request", "http_keep_alive", "queue", "tunnel"}

// lbdTimeouts are lbd's built-in timeouts (config/), what a block inherits
// when nothing sets a timeout.
var lbdTimeouts = map[string]time.Duration{
	"connect": 5 * time.Second, "client": 30 * time.Second, "server": 30 * time.Second,
	"http_request": 10 * time.Second, "http_keep_alive": 10 * time.Second,
	"queue": 30 * time.Second, "tunnel": time.Hour,
}

// withFallbacks adds the timeouts HAProxy derives from others when they
// are not set: http-request falls back to client, http-keep-alive to
// http-request (then client), queue to connect, and a tunnel is timed by
// client and server (the first to expire).
func withFallbacks(t map[string]setting[time.Duration], client setting[time.Duration]) map[string]setting[time.Duration] {
	out := make(map[string]setting[time.Duration], len(t)+4)
	for k, v := range t {
		out[k] = v
	}
	derive := func(name, from, why string) {
		if out[name].set || !out[from].set {
			return
		}
		out[name] = setting[time.Duration]{v: out[from].v, set: true, fromDef: true, derived: why}
	}
	derive("http_request", "client", "HAProxy's timeout http-request defaults to timeout client")
	derive("http_keep_alive", "http_request", "HAProxy's timeout http-keep-alive defaults to timeout http-request")
	derive("queue", "connect", "HAProxy's timeout queue defaults to timeout connect")
	if !out["tunnel"].set {
		c := out["client"]
		if !c.set {
			c = client
		}
		if s := out["server"]; s.set && c.set {
			out["tunnel"] = setting[time.Duration]{v: min(c.v, s.v), set: true, fromDef: true,
				derived: "without timeout tunnel, HAProxy times tunnels by timeout client and server"}
		}
	}
	return out
}

func (hc *hapConv) finish() {
	doc := hc.doc
	// lbd's defaults block.
	defMode := "tcp"
	defNote := "HAProxy's default mode"
	var defModeSrc pos
	defTimeouts := map[string]setting[time.Duration]{}
	if d := hc.lbdDef; d != nil {
		if d.mode.set {
			defMode, defNote, defModeSrc = d.mode.v, "", d.mode.pos()
		}
		defTimeouts = withFallbacks(d.timeouts, setting[time.Duration]{})
	}
	db := doc.block("defaults", defModeSrc)
	if d := hc.lbdDef; d != nil {
		db.lead = append(append([]string(nil), d.sec.head.lead...), "from "+d.sec.head.pos.String()+": "+d.sec.head.text())
	}
	db.set("mode", strV(defMode), defModeSrc, defNote)
	if tb := timeoutsBlock(defTimeouts, "", nil); tb != nil {
		db.blocks = append(db.blocks, tb)
	}
	inherited := func(name string) time.Duration {
		if v, ok := defTimeouts[name]; ok && v.set {
			return v.v
		}
		return lbdTimeouts[name]
	}

	var frontends, backends []*node
	for _, p := range hc.proxies {
		mode := setting[string]{v: "tcp", set: true, fromDef: true, derived: "HAProxy's default mode"}
		if p.mode.set {
			mode = p.mode
		}
		var defClient setting[time.Duration]
		if p.def != nil {
			if dp := hc.defaultsProxy(p.def); dp != nil {
				defClient = dp.timeouts["client"]
			}
		}
		eff := withFallbacks(p.timeouts, defClient)
		for _, n := range []*node{p.fe, p.be} {
			if n == nil {
				continue
			}
			if mode.v != defMode || !mode.fromDef {
				n.set("mode", strV(mode.v), mode.pos(), mode.derived)
			}
			if tb := timeoutsBlock(eff, n.typ, inherited); tb != nil {
				n.blocks = append([]*node{tb}, n.blocks...)
			}
		}
		p.mode = mode
		if hc.finishStats(p) {
			continue
		}
		if p.be != nil {
			hc.finishServers(p)
			hc.finishCookie(p)
			if p.kind == "listen" && len(p.servers) > 0 && p.fe.get("default_backend") == nil {
				p.fe.set("default_backend", strV(p.sec.name), p.sec.head.pos, "the listen section's own servers")
			}
			if p.kind == "listen" && len(p.servers) == 0 {
				p.be = nil
			}
		}
		if p.fe != nil {
			hc.finishPolicy(p)
			hc.finishRoutes(p)
			hc.finishLog(p)
			if p.forward.set && p.forward.v {
				p.fe.set("forward_for", boolV(true), p.forward.pos(), defNoteOf(p.forward.fromDef))
			}
			if !hc.frontendUsable(p) {
				p.fe = nil
			}
		}
		if p.fe != nil {
			frontends = append(frontends, p.fe)
		}
		if p.be != nil {
			backends = append(backends, p.be)
		}
	}
	hc.checkForwardFor()
	frontends = hc.fixModes(frontends, backends, defMode)
	for _, n := range frontends {
		doc.add(n)
	}
	for _, n := range backends {
		doc.add(n)
	}
}

func defNoteOf(fromDef bool) string {
	if fromDef {
		return "inherited from defaults"
	}
	return ""
}

// defaultsProxy returns the standalone conversion of a defaults section.
func (hc *hapConv) defaultsProxy(s *hapSection) *proxy {
	if hc.lbdDef != nil && hc.lbdDef.sec == s {
		return hc.lbdDef
	}
	// Other defaults sections are converted again here; they are small.
	saved := hc.ns
	hc.ns = &notes{}
	p := hc.newProxy(s, nil)
	hc.ns = saved
	return p
}

// timeoutsBlock writes the timeouts of one side ("frontend", "backend";
// "" for defaults: all) that differ from what the block inherits, or
// that the section wrote itself.
func timeoutsBlock(t map[string]setting[time.Duration], side string, inherited func(string) time.Duration) *node {
	tb := newNode("timeouts", pos{})
	for _, name := range timeoutNames {
		v, ok := t[name]
		if !ok || !v.set {
			continue
		}
		if side != "" {
			if timeoutSide[name] != side {
				continue
			}
			if v.fromDef && v.v == inherited(name) {
				continue
			}
		} else if v.derived != "" && v.v == lbdTimeouts[name] {
			continue
		}
		note := v.derived
		if note == "" && v.fromDef && side != "" {
			note = "inherited from defaults"
		}
		tb.set(name, durV(v.v), v.pos(), note)
	}
	if len(tb.attrs) == 0 {
		return nil
	}
	return tb
}

// frontendUsable reports whether the frontend can be written: lbd needs an
// address and somewhere to send traffic.
func (hc *hapConv) frontendUsable(p *proxy) bool {
	head := p.sec.head
	if p.fe.get("bind") == nil {
		hc.ns.add(head.pos, NotConverted, head.text(), "no address lbd can listen on: the frontend is left out")
		return false
	}
	hasRoute := false
	for _, b := range p.fe.blocks {
		if b.typ == "route" {
			hasRoute = true
		}
	}
	if p.fe.get("default_backend") == nil && !hasRoute {
		hc.ns.add(head.pos, NotConverted, head.text(), "no default_backend and no use_backend lbd can route: the frontend is left out (HAProxy answers 503)")
		return false
	}
	return true
}

// checkForwardFor reports backends whose own "option forwardfor" is not
// carried by every frontend that uses them (lbd adds the header per
// frontend).
func (hc *hapConv) checkForwardFor() {
	for _, b := range hc.proxies {
		if b.be == nil || !b.forward.set || !b.forward.v || b.forward.fromDef || b.kind == "listen" {
			continue
		}
		for _, f := range hc.proxies {
			if f.fe == nil || !usesBackend(f.fe, b.sec.name) {
				continue
			}
			if a := f.fe.get("forward_for"); a == nil {
				hc.ns.add(b.forward.pos(), NotConverted, b.forward.src.text(),
					"lbd adds X-Forwarded-For per frontend: frontend %q, which uses this backend, does not (set forward_for there)", f.sec.name)
			}
		}
	}
}

func usesBackend(fe *node, name string) bool {
	if a := fe.get("default_backend"); a != nil && a.val == value(strV(name)) {
		return true
	}
	for _, r := range fe.blocks {
		if r.typ == "route" {
			if a := r.get("backend"); a != nil && a.val == value(strV(name)) {
				return true
			}
		}
	}
	return false
}

// fixModes reconciles a frontend's mode with its backends'. HAProxy 2.x
// lets a tcp frontend use http backends (the connection is upgraded to
// HTTP); lbd's frontend and backends have one mode, so such a frontend is
// written in mode http. A frontend mixing modes, or an http frontend
// using a tcp backend (which HAProxy refuses), is left out.
func (hc *hapConv) fixModes(frontends, backends []*node, defMode string) []*node {
	modeOf := func(n *node) string {
		if a := n.get("mode"); a != nil {
			return string(a.val.(strV))
		}
		return defMode
	}
	beMode := map[string]string{}
	for _, b := range backends {
		beMode[b.labels[0]] = modeOf(b)
	}
	var out []*node
	for _, f := range frontends {
		fm := modeOf(f)
		modes := map[string]bool{}
		var refs []string
		if a := f.get("default_backend"); a != nil {
			refs = append(refs, string(a.val.(strV)))
		}
		for _, r := range f.blocks {
			if r.typ == "route" {
				refs = append(refs, string(r.get("backend").val.(strV)))
			}
		}
		for _, b := range refs {
			if m, ok := beMode[b]; ok {
				modes[m] = true
			}
		}
		switch {
		case len(modes) > 1:
			hc.ns.add(f.src, NotConverted, "frontend "+f.labels[0], "it uses both http and tcp backends, which lbd cannot mix in one frontend: the frontend is left out")
			continue
		case fm == "tcp" && modes["http"]:
			f.set("mode", strV("http"), f.src, "HAProxy upgrades this tcp frontend's connections to HTTP for its http backends")
			if lf := f.get("log_format"); lf != nil && lf.val == value(strV("tcplog")) {
				lf.val = strV("httplog")
			}
			hc.ns.add(f.src, Replaced, "frontend "+f.labels[0], "a tcp frontend using http backends: HAProxy upgrades its connections to HTTP; lbd's frontend is written in mode http")
		case fm == "http" && modes["tcp"]:
			hc.ns.add(f.src, NotConverted, "frontend "+f.labels[0], "an http frontend cannot use a tcp backend (HAProxy refuses it too): the frontend is left out")
			continue
		}
		out = append(out, f)
	}
	return out
}
