package importer

import (
	"strings"
	"time"
)

// where is a set of haproxy.cfg section kinds a keyword may appear in, as
// the "May be used in sections" line of HAProxy's configuration manual.
type where uint8

const (
	inGlobal where = 1 << iota
	inDefaults
	inFrontend
	inBackend
	inListen

	inProxy = inDefaults | inFrontend | inBackend | inListen // every proxy section
	inFE    = inDefaults | inFrontend | inListen             // the client side
	inBE    = inDefaults | inBackend | inListen              // the server side
)

func sectionWhere(kind string) where {
	switch kind {
	case "global":
		return inGlobal
	case "defaults":
		return inDefaults
	case "frontend":
		return inFrontend
	case "backend":
		return inBackend
	case "listen":
		return inListen
	}
	return 0
}

// proxy is one frontend, backend or listen section being converted (or a
// defaults section converted on its own, for its notes and for lbd's
// defaults block). Directives write into its output blocks directly (fe,
// be) or into the accumulators below, which finish() turns into blocks
// once every line is read: settings that HAProxy spreads over several
// lines (servers and their check options, cookies and server cookie
// values, acls and use_backend) need the whole section.
type proxy struct {
	sec  *hapSection
	def  *hapSection // the defaults section in effect; nil if none
	kind string      // frontend, backend, listen or defaults
	fe   *node       // frontend block; nil for a backend
	be   *node       // backend block; nil for a frontend

	mode     setting[string]
	timeouts map[string]setting[time.Duration]
	log      setting[bool] // "log global" (or "no log")
	logFmt   setting[string]

	defSrv  srvOpts      // default-server lines, in order
	servers []*hapServer // server lines
	check   checkConf    // option httpchk, http-check, tcp-check lines
	cookie  *cookieConf
	forward setting[bool] // option forwardfor

	acls     map[string]*acl
	aclOrder []string // acl names in definition order
	uses     []*useBackend
	stats    *statsConf
	pol      *policyConv // rules and the acls they use (haproxy_rules.go)
}

// setting is a value with the line that set it and whether that line came
// from a defaults section.
type setting[T any] struct {
	v       T
	src     *srcLine
	derived string // why a value nobody wrote is set (HAProxy's default)
	fromDef bool
	set     bool
}

func (s *setting[T]) put(v T, l *srcLine, fromDef bool) {
	*s = setting[T]{v: v, src: l, fromDef: fromDef, set: true}
}

func (s setting[T]) pos() pos {
	if s.src == nil {
		return pos{}
	}
	return s.src.pos
}

// hctx is the state while one line is converted: the line, the proxy (nil
// in global) and whether the line is being replayed from a defaults
// section into a proxy (then its notes were already given once, when the
// defaults section was converted on its own).
type hctx struct {
	hc      *hapConv
	p       *proxy
	l       *srcLine
	kw      string   // the keyword as matched, e.g. "timeout connect"
	args    []string // the words after it
	no      bool     // "no option ..."
	fromDef bool
}

func (c *hctx) note(k Kind, format string, args ...any) {
	if c.fromDef {
		return
	}
	c.hc.ns.add(c.l.pos, k, c.l.text(), format, args...)
}

func (c *hctx) notConverted(format string, args ...any) { c.note(NotConverted, format, args...) }
func (c *hctx) ignored(format string, args ...any)      { c.note(Ignored, format, args...) }

// at is the position to record for what this line sets.
func (c *hctx) at() pos { return c.l.pos }

// hapConv converts one haproxy.cfg.
type hapConv struct {
	file    string
	ns      *notes
	doc     *document
	secs    []*hapSection
	proxies []*proxy
	named   map[string]*hapSection // named defaults sections
	lbdDef  *proxy                 // the defaults section written as lbd's defaults block
	// mapFiles names the map blocks written for map files (haproxy_rules.go).
	mapFiles map[string]string
	// localPeer is global's localpeer (haproxy_stick.go).
	localPeer string
}

func convertHAProxy(file string, data []byte, doc *document, ns *notes) {
	hc := &hapConv{file: file, ns: ns, doc: doc, named: map[string]*hapSection{}}
	hc.secs = parseHAProxy(file, data, ns, doc.comments)
	var lastDef *hapSection
	var peerSecs []*hapSection
	defProxies := map[*hapSection]*proxy{}
	usedBy := map[*hapSection]int{}
	for _, s := range hc.secs {
		switch s.kind {
		case "global":
			hc.convertGlobal(s)
		case "defaults":
			if s.name != "" {
				hc.named[s.name] = s
			}
			d := hc.inherit(s, nil) // a defaults section starts afresh unless "from"
			p := hc.newProxy(s, d)
			defProxies[s] = p
			lastDef = s
		case "frontend", "backend", "listen":
			d := hc.inherit(s, lastDef)
			if d != nil {
				usedBy[d]++
			}
			hc.proxies = append(hc.proxies, hc.newProxy(s, d))
		case "peers":
			peerSecs = append(peerSecs, s) // after global (localpeer)
		default:
			ns.add(s.head.pos, NotConverted, s.head.text(), "lbd has no %s section", s.kind)
			for _, l := range s.lines {
				ns.add(l.pos, NotConverted, l.text(), "in the %s section at line %d", s.kind, s.head.line)
			}
		}
	}
	for _, s := range peerSecs {
		hc.convertPeers(s)
	}
	// lbd has one defaults block: it gets the HAProxy defaults section
	// most proxies use; proxies under another one get its differences
	// written in their own blocks.
	var best *hapSection
	for _, s := range hc.secs {
		if s.kind == "defaults" && (best == nil || usedBy[s] > usedBy[best]) {
			best = s
		}
	}
	if best != nil {
		hc.lbdDef = defProxies[best]
	}
	hc.finish()
}

// inherit returns the defaults section a proxy inherits from: the one its
// "from" names, else the last one above it.
func (hc *hapConv) inherit(s *hapSection, last *hapSection) *hapSection {
	if s.from == "" {
		return last
	}
	if d, ok := hc.named[s.from]; ok {
		return d
	}
	hc.ns.add(s.head.pos, NotConverted, s.head.text(), "no defaults section named %q above this line", s.from)
	return last
}

// newProxy converts one proxy section: the lines of its defaults section
// first (quietly: they were reported when that section was converted on
// its own), then its own lines.
func (hc *hapConv) newProxy(s *hapSection, def *hapSection) *proxy {
	p := &proxy{sec: s, def: def, kind: s.kind, timeouts: map[string]setting[time.Duration]{}, acls: map[string]*acl{}}
	head := s.head.pos
	name := s.name
	if s.kind != "defaults" && name == "" {
		hc.ns.add(head, NotConverted, s.head.text(), "a %s needs a name", s.kind)
		name = s.kind
	}
	if s.kind == "frontend" || s.kind == "listen" || s.kind == "defaults" {
		p.fe = newNode("frontend", head, name)
	}
	if s.kind == "backend" || s.kind == "listen" || s.kind == "defaults" {
		p.be = newNode("backend", head, name)
	}
	for _, n := range []*node{p.fe, p.be} {
		if n != nil {
			n.lead = append(append([]string(nil), s.head.lead...), "from "+head.String()+": "+s.head.text())
		}
	}
	if s.kind == "listen" || s.kind == "frontend" {
		hc.headerBinds(p)
	}
	if def != nil {
		for _, l := range def.lines {
			hc.convertLine(p, l, true)
		}
	}
	for _, l := range s.lines {
		hc.convertLine(p, l, false)
	}
	return p
}

// headerBinds converts the addresses HAProxy 1.x allowed on the header
// line ("listen NAME ADDR:PORT[,ADDR:PORT]").
func (hc *hapConv) headerBinds(p *proxy) {
	if len(p.sec.extra) == 0 {
		return
	}
	c := &hctx{hc: hc, p: p, l: p.sec.head, kw: p.kind, args: p.sec.extra}
	convBindAddrs(c, p.sec.extra[0])
	if len(p.sec.extra) > 1 {
		c.notConverted("unexpected words after the address")
	}
}

// convertLine looks the line's keyword up in the proxy table and runs its
// row.
func (hc *hapConv) convertLine(p *proxy, l *srcLine, fromDef bool) {
	c := &hctx{hc: hc, p: p, l: l, fromDef: fromDef}
	words := l.words
	if (words[0] == "no" || words[0] == "default") && len(words) > 1 {
		c.no = words[0] == "no"
		if words[0] == "default" {
			// "default option X" resets X to HAProxy's default, which is
			// what lbd writes when nothing sets it.
			c.ignored("resets an option to its default")
			return
		}
		words = words[1:]
	}
	if l.env {
		c.notConverted("uses an environment variable (\"$...\"), which HAProxy expands at start-up; write its value")
		return
	}
	row, n := lookup(proxyKeywords, words)
	if row == nil {
		c.notConverted("unknown to the importer (not an HAProxy 2.x keyword, or not convertible yet)")
		return
	}
	c.kw, c.args = strings.Join(words[:n], " "), words[n:]
	here := sectionWhere(p.kind)
	if row.in&here == 0 {
		if !fromDef {
			c.ignored("HAProxy does not use %q in a %s section", c.kw, p.kind)
		}
		return
	}
	if c.no && !row.negatable {
		c.notConverted("\"no %s\" is not convertible", c.kw)
		return
	}
	row.run(c)
}

// lookup finds the longest keyword of the table that starts words (up to
// three words: "capture request header").
func lookup(table map[string]*keyword, words []string) (*keyword, int) {
	for n := min(3, len(words)); n > 0; n-- {
		if row, ok := table[strings.Join(words[:n], " ")]; ok {
			return row, n
		}
	}
	return nil, 0
}

// keyword is one row of a conversion table.
type keyword struct {
	in        where
	negatable bool        // accepts "no KEYWORD"
	conv      func(*hctx) // converts the line
	ignore    string      // or: the line has no meaning in lbd, because...
	reject    string      // or: lbd cannot do it (yet), because...
}

func (k *keyword) run(c *hctx) {
	switch {
	case k.ignore != "":
		c.ignored("%s", k.ignore)
	case k.reject != "":
		c.notConverted("%s", k.reject)
	default:
		k.conv(c)
	}
}

func (hc *hapConv) convertGlobal(s *hapSection) {
	for _, l := range s.lines {
		c := &hctx{hc: hc, l: l}
		if l.env {
			c.notConverted("uses an environment variable (\"$...\"), which HAProxy expands at start-up; write its value")
			continue
		}
		row, n := lookup(globalKeywords, l.words)
		if row == nil {
			for _, pr := range globalPrefixes {
				if strings.HasPrefix(l.text(), pr.prefix) {
					row, n = pr.row, 1
					break
				}
			}
		}
		if row == nil {
			c.notConverted("unknown to the importer (not an HAProxy 2.x global keyword, or not convertible yet)")
			continue
		}
		c.kw, c.args = strings.Join(l.words[:n], " "), l.words[n:]
		row.run(c)
	}
}
