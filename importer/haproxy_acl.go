package importer

import (
	"fmt"
	"strings"
)

// aclTerm is one acl line (or an anonymous "{ ... }" acl): a request
// matches when the criterion matches any of the values. kind is lbd's
// route attribute it becomes ("host" or "path_prefix"), or "" with why
// when lbd cannot route on it.
type aclTerm struct {
	kind   string
	values []string
	why    string
}

// acl is a named acl: HAProxy ORs the lines that share a name.
type acl struct {
	name  string
	terms []aclTerm
	line  *srcLine
	// lines are the acl's lines as written, for the traffic policy's
	// acl blocks (haproxy_rules.go).
	lines []aclLine
}

type aclLine struct {
	words []string
	l     *srcLine
}

// aclCriteria converts the criteria (sample fetch + match method) lbd can
// route on. The key is the fetch; the function gets the match method
// (HAProxy's -m, or the one the fetch implies), whether -i was given, and
// the values. A rules engine adds criteria here.
var aclCriteria = map[string]func(match string, nocase bool, values []string) aclTerm{
	"path_beg":      pathPrefix,
	"path":          pathPrefix,
	"hdr(host)":     hostExact,
	"req.hdr(host)": hostExact,
	"hdr(Host)":     hostExact,
	"req.hdr(Host)": hostExact,
}

// fetchMatch is the match method a fetch implies without -m
// (path_beg is path -m beg).
var fetchMatch = map[string]string{"path_beg": "beg", "path": "str", "hdr(host)": "str", "req.hdr(host)": "str", "hdr(Host)": "str", "req.hdr(Host)": "str"}

func pathPrefix(match string, nocase bool, values []string) aclTerm {
	if match != "beg" {
		return aclTerm{why: fmt.Sprintf("lbd routes on path prefixes; a path matched with -m %s is not convertible", match)}
	}
	for _, v := range values {
		if !strings.HasPrefix(v, "/") {
			return aclTerm{why: fmt.Sprintf("lbd's path_prefix starts with \"/\"; %q is not convertible", v)}
		}
		if nocase && strings.ToLower(v) != strings.ToUpper(v) {
			return aclTerm{why: "lbd compares paths byte for byte; -i (case-insensitive) is not convertible"}
		}
	}
	return aclTerm{kind: "path_prefix", values: values}
}

func hostExact(match string, _ bool, values []string) aclTerm {
	if match != "str" {
		return aclTerm{why: fmt.Sprintf("lbd routes on exact host names; a host matched with -m %s is not convertible", match)}
	}
	out := make([]string, 0, len(values))
	for _, v := range values {
		if v == "" || strings.ContainsAny(v, ":/ \t") {
			return aclTerm{why: fmt.Sprintf("lbd matches host names without a port; %q is not convertible", v)}
		}
		out = append(out, strings.ToLower(v))
	}
	// lbd compares host names case-insensitively and without the port,
	// as clients write them; HAProxy's hdr(host) without -i is
	// case-sensitive and includes a port, which clients rarely send to
	// the default port.
	return aclTerm{kind: "host", values: out}
}

// parseACLTerm reads "CRITERION [flags] [--] VALUES..." (the words after
// the acl name, or inside "{ }").
func parseACLTerm(words []string) aclTerm {
	if len(words) == 0 {
		return aclTerm{why: "an acl needs a criterion"}
	}
	fetch := words[0]
	conv, ok := aclCriteria[fetch]
	if !ok {
		return aclTerm{why: fmt.Sprintf("lbd routes on host names and path prefixes; criterion %q is not convertible", fetch)}
	}
	match, nocase := fetchMatch[fetch], false
	rest := words[1:]
	for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
		switch rest[0] {
		case "-i":
			nocase = true
		case "-m":
			if len(rest) < 2 {
				return aclTerm{why: "-m expects a match method"}
			}
			match = rest[1]
			rest = rest[1:]
		case "--":
			rest = rest[1:]
			goto values
		case "-f", "-M":
			return aclTerm{why: "lbd reads no pattern files; write the values in the file"}
		default:
			return aclTerm{why: fmt.Sprintf("acl flag %q is not convertible", rest[0])}
		}
		rest = rest[1:]
	}
values:
	if len(rest) == 0 {
		return aclTerm{why: "an acl without values is not convertible"}
	}
	return conv(match, nocase, rest)
}

func convACL(c *hctx) {
	if c.fromDef {
		return
	}
	if len(c.args) < 2 {
		c.notConverted("expects a name and a criterion")
		return
	}
	name := c.args[0]
	a := c.p.acls[name]
	if a == nil {
		a = &acl{name: name, line: c.l}
		c.p.acls[name] = a
		c.p.aclOrder = append(c.p.aclOrder, name)
	}
	t := parseACLTerm(c.args[1:])
	a.terms = append(a.terms, t)
	a.lines = append(a.lines, aclLine{words: c.args[1:], l: c.l})
	// Not reported here: an acl that no use_backend uses does nothing,
	// and one that is used is reported with the use_backend line.
}

// useBackend is one use_backend line.
type useBackend struct {
	backend string
	line    *srcLine
	routes  [][]aclTerm // OR of AND-terms; nil: always
	why     string      // not convertible because...
	name    string      // the route's name
	// kw and cond: a condition routes' host and path_prefix cannot
	// express, written as the route's if or unless (haproxy_rules.go).
	kw, cond string
}

// maxRoutes bounds the routes one use_backend line may expand into.
const maxRoutes = 32

func convUseBackend(c *hctx) {
	if c.fromDef {
		return
	}
	if len(c.args) == 0 {
		c.notConverted("expects a backend name")
		return
	}
	u := &useBackend{backend: c.args[0], line: c.l, name: c.args[0]}
	if strings.Contains(u.backend, "%[") {
		t, why := c.p.policy().template(c.hc, u.backend)
		if why != "" {
			c.notConverted("%s", why)
			return
		}
		u.backend, u.name = t, "dynamic"
	}
	cond := c.args[1:]
	if len(cond) > 0 {
		switch cond[0] {
		case "if", "unless":
		default:
			c.notConverted("expected if or unless after the backend name")
			return
		}
		routes, name, why := parseCondition(c.p, cond[1:])
		if why != "" || cond[0] == "unless" {
			// A condition host and path_prefix cannot express: the
			// route's if/unless, over acl blocks.
			text, why := c.p.policy().condition(c.p, cond[1:], c.l)
			if why != "" {
				c.notConverted("%s", why)
				return
			}
			u.kw, u.cond = cond[0], text
			c.p.uses = append(c.p.uses, u)
			return
		}
		u.routes = routes
		if name != "" {
			u.name = name
		}
	}
	c.p.uses = append(c.p.uses, u)
}

// parseCondition turns "a b || { path_beg /x }" into routes: each route
// is the AND of its terms. name is the acl's name when the condition is
// one named acl.
func parseCondition(p *proxy, words []string) (routes [][]aclTerm, name string, why string) {
	if len(words) == 0 {
		return nil, "", "a condition is required after if"
	}
	// Split on || and or.
	var ors [][]string
	cur := []string{}
	for _, w := range words {
		if w == "||" || w == "or" {
			ors = append(ors, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, w)
	}
	ors = append(ors, cur)
	named := 0
	for _, and := range ors {
		var factors [][]aclTerm // each factor: OR of terms
		for i := 0; i < len(and); i++ {
			w := and[i]
			switch {
			case strings.HasPrefix(w, "!"):
				return nil, "", "lbd routes on matches; a negated acl (!) is not convertible"
			case w == "{":
				j := i + 1
				for j < len(and) && and[j] != "}" {
					j++
				}
				if j >= len(and) {
					return nil, "", "unclosed { in the condition"
				}
				t := parseACLTerm(and[i+1 : j])
				if t.kind == "" {
					return nil, "", t.why
				}
				factors = append(factors, []aclTerm{t})
				i = j
			default:
				a := p.acls[w]
				if a == nil {
					return nil, "", fmt.Sprintf("acl %q is not defined in this section (or is a predefined acl lbd cannot route on)", w)
				}
				for _, t := range a.terms {
					if t.kind == "" {
						return nil, "", fmt.Sprintf("acl %q (line %d): %s", w, a.line.line, t.why)
					}
				}
				factors = append(factors, a.terms)
				named++
				name = w
			}
		}
		if len(factors) == 0 {
			return nil, "", "empty condition"
		}
		// Expand the AND of ORs into ORs of ANDs.
		combos := [][]aclTerm{{}}
		for _, f := range factors {
			var next [][]aclTerm
			for _, combo := range combos {
				for _, t := range f {
					next = append(next, append(append([]aclTerm(nil), combo...), t))
					if len(next)+len(routes) > maxRoutes {
						return nil, "", fmt.Sprintf("the condition expands into more than %d routes", maxRoutes)
					}
				}
			}
			combos = next
		}
		routes = append(routes, combos...)
	}
	for _, r := range routes {
		hosts, paths := 0, 0
		for _, t := range r {
			if t.kind == "host" {
				hosts++
			} else {
				paths++
			}
		}
		if hosts > 1 || paths > 1 {
			return nil, "", "lbd's route matches one set of hosts and one set of path prefixes; this condition combines more"
		}
	}
	if named != 1 || len(ors) != 1 {
		name = ""
	}
	return routes, name, ""
}

// finishRoutes writes the frontend's route blocks, in use_backend order.
func (hc *hapConv) finishRoutes(p *proxy) {
	if p.fe == nil {
		return
	}
	used := map[string]bool{}
	for _, u := range p.uses {
		routes := u.routes
		if routes == nil {
			routes = [][]aclTerm{nil} // always: a route without host or path
		}
		for i, r := range routes {
			name := u.name
			if i > 0 {
				name = fmt.Sprintf("%s_%d", u.name, i+1)
			}
			for n := 2; used[name]; n++ {
				name = fmt.Sprintf("%s_%d", u.name, n)
			}
			used[name] = true
			rb := newNode("route", u.line.pos, name)
			if u.kw != "" {
				rb.set(u.kw, strV(u.cond), u.line.pos, "")
			}
			for _, t := range r {
				if a := rb.get(t.kind); a != nil {
					rb.set(t.kind, append(a.val.(strListV), t.values...), u.line.pos, "")
				} else {
					rb.set(t.kind, strListV(t.values), u.line.pos, "")
				}
			}
			rb.set("backend", strV(u.backend), u.line.pos, "")
			p.fe.blocks = append(p.fe.blocks, rb)
		}
	}
}
