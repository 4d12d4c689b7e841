package importer

import (
	"strconv"
	"strings"
	"time"
)

// ruleAction is one row of the rule actions' table: how many arguments
// it takes before its options, and how it converts.
type ruleAction struct {
	// conv fills the rule block from the action's words (after the
	// action, before if/unless); false when a note was written.
	conv func(c *hctx, pc *policyConv, rb *node, args []string) bool
	// phases the action exists in: http_request, http_response,
	// tcp_connection, tcp_content
	phases []string
	lbd    string // lbd's action name ("" = the same with _ for -)
}

var allHTTP = []string{"http_request", "http_response"}

// ruleActions converts HAProxy's rule actions (http-request, http-response,
// tcp-request). An action that is not here is reported as not converted.
var ruleActions = map[string]ruleAction{
	"allow":          {phases: allHTTP, conv: noArgs},
	"deny":           {phases: allHTTP, conv: convReply},
	"tarpit":         {phases: []string{"http_request"}, conv: convReply},
	"return":         {phases: allHTTP, conv: convReply},
	"redirect":       {phases: []string{"http_request"}, conv: convRedirectRule},
	"set-header":     {phases: allHTTP, conv: nameValue},
	"add-header":     {phases: allHTTP, conv: nameValue},
	"del-header":     {phases: allHTTP, conv: nameOnly},
	"replace-header": {phases: allHTTP, conv: nameRegexReplace},
	"replace-value":  {phases: allHTTP, conv: nameRegexReplace},
	"set-path":       {phases: []string{"http_request"}, conv: oneValue},
	"set-query":      {phases: []string{"http_request"}, conv: oneValue},
	"set-uri":        {phases: []string{"http_request"}, conv: oneValue},
	"set-method":     {phases: []string{"http_request"}, conv: oneValue},
	"replace-path":   {phases: []string{"http_request"}, conv: regexReplace},
	"replace-uri":    {phases: []string{"http_request"}, conv: regexReplace},
	"set-status":     {phases: []string{"http_response"}, conv: convSetStatus},
	"set-log-level":  {phases: []string{"http_request", "http_response", "tcp_content"}, conv: convLogLevel},
	"accept":         {phases: []string{"tcp_connection", "tcp_content"}, conv: noArgs},
	"reject":         {phases: []string{"tcp_connection", "tcp_content"}, conv: noArgs},
	"track-sc0":      {phases: []string{"http_request", "tcp_connection", "tcp_content"}, conv: convTrack},
	"track-sc1":      {phases: []string{"http_request", "tcp_connection", "tcp_content"}, conv: convTrack},
	"track-sc2":      {phases: []string{"http_request", "tcp_connection", "tcp_content"}, conv: convTrack},
}

func noArgs(c *hctx, _ *policyConv, _ *node, args []string) bool {
	if len(args) > 0 {
		c.notConverted("unexpected %q", strings.Join(args, " "))
		return false
	}
	return true
}

// value converts a log-format argument into the attribute name.
func ruleValue(c *hctx, pc *policyConv, rb *node, name, v string) bool {
	t, why := pc.template(c.hc, v)
	if why != "" {
		c.notConverted("%s", why)
		return false
	}
	rb.set(name, strV(t), c.at(), "")
	return true
}

func nameValue(c *hctx, pc *policyConv, rb *node, args []string) bool {
	if len(args) != 2 {
		c.notConverted("expects a header name and a value")
		return false
	}
	rb.set("name", strV(args[0]), c.at(), "")
	return ruleValue(c, pc, rb, "value", args[1])
}

func nameOnly(c *hctx, _ *policyConv, rb *node, args []string) bool {
	if len(args) != 1 {
		c.notConverted("expects a header name (del-header -m is not convertible)")
		return false
	}
	rb.set("name", strV(args[0]), c.at(), "")
	return true
}

func nameRegexReplace(c *hctx, pc *policyConv, rb *node, args []string) bool {
	if len(args) != 3 {
		c.notConverted("expects a header name, a regex and a replacement")
		return false
	}
	rb.set("name", strV(args[0]), c.at(), "")
	return regexReplace(c, pc, rb, args[1:])
}

func regexReplace(c *hctx, pc *policyConv, rb *node, args []string) bool {
	if len(args) != 2 {
		c.notConverted("expects a regex and a replacement")
		return false
	}
	rb.set("regex", strV(args[0]), c.at(), "HAProxy's PCRE; lbd's is RE2 (no back-references, no look-around)")
	return ruleValue(c, pc, rb, "replace", args[1])
}

func oneValue(c *hctx, pc *policyConv, rb *node, args []string) bool {
	if len(args) != 1 {
		c.notConverted("expects one value")
		return false
	}
	return ruleValue(c, pc, rb, "value", args[0])
}

func convSetStatus(c *hctx, _ *policyConv, rb *node, args []string) bool {
	if len(args) == 0 {
		c.notConverted("expects a status")
		return false
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		c.notConverted("%q is not a status", args[0])
		return false
	}
	rb.set("status", intV(n), c.at(), "")
	switch {
	case len(args) == 3 && args[1] == "reason":
		rb.set("reason", strV(args[2]), c.at(), "")
	case len(args) != 1:
		c.notConverted("set-status options %q are not convertible", strings.Join(args[1:], " "))
		return false
	}
	return true
}

func convLogLevel(c *hctx, _ *policyConv, rb *node, args []string) bool {
	if len(args) != 1 {
		c.notConverted("expects a level")
		return false
	}
	rb.set("level", strV(args[0]), c.at(), "")
	return true
}

func convTrack(c *hctx, _ *policyConv, rb *node, args []string) bool {
	if len(args) != 1 && !(len(args) == 3 && args[1] == "table") {
		c.notConverted("expects a key and optionally table NAME")
		return false
	}
	table := c.p.sec.name
	if len(args) == 3 {
		table = args[2]
	}
	if args[0] != "src" {
		rb.set("key", strV(args[0]), c.at(), "")
	}
	rb.set("table", strV(table), c.at(), "")
	return true
}

// convReply converts deny, tarpit and return with their options:
// [deny_status N | status N] [content-type T] [string S | lf-string S |
// file F | lf-file F | errorfile F] [hdr NAME VALUE]...
func convReply(c *hctx, pc *policyConv, rb *node, args []string) bool {
	var hdrs objV
	for i := 0; i < len(args); i++ {
		opt := args[i]
		if opt == "default-errorfiles" {
			continue
		}
		need := 1
		if opt == "hdr" {
			need = 2
		}
		if i+need >= len(args) {
			c.notConverted("option %q expects a value", opt)
			return false
		}
		v := args[i+1]
		switch opt {
		case "deny_status", "status":
			n, err := strconv.Atoi(v)
			if err != nil {
				c.notConverted("%q is not a status", v)
				return false
			}
			rb.set("status", intV(n), c.at(), "")
		case "content-type":
			rb.set("content_type", strV(v), c.at(), "")
		case "string":
			t := strings.ReplaceAll(v, "%", "%%")
			rb.set("body", strV(t), c.at(), "")
		case "lf-string":
			if !ruleValue(c, pc, rb, "body", v) {
				return false
			}
		case "file":
			rb.set("file", strV(v), c.at(), "")
		case "hdr":
			t, why := pc.template(c.hc, args[i+2])
			if why != "" {
				c.notConverted("%s", why)
				return false
			}
			hdrs = append(hdrs, [2]string{v, t})
		default:
			c.notConverted("option %q is not convertible", opt)
			return false
		}
		i += need
	}
	if len(hdrs) > 0 {
		rb.set("headers", hdrs, c.at(), "")
	}
	return true
}

// convRedirectRule converts redirect location|prefix|scheme X [code N]
// [drop-query] [append-slash].
func convRedirectRule(c *hctx, pc *policyConv, rb *node, args []string) bool {
	if len(args) < 2 {
		c.notConverted("expects location, prefix or scheme and a value")
		return false
	}
	switch args[0] {
	case "location", "prefix", "scheme":
		if !ruleValue(c, pc, rb, args[0], args[1]) {
			return false
		}
	default:
		c.notConverted("redirect %q is not convertible", args[0])
		return false
	}
	for i := 2; i < len(args); i++ {
		switch args[i] {
		case "code":
			if i+1 >= len(args) {
				c.notConverted("code expects a value")
				return false
			}
			n, err := strconv.Atoi(args[i+1])
			if err != nil {
				c.notConverted("%q is not a status", args[i+1])
				return false
			}
			rb.set("code", intV(n), c.at(), "")
			i++
		case "drop-query":
			rb.set("drop_query", boolV(true), c.at(), "")
		case "append-slash":
			rb.set("append_slash", boolV(true), c.at(), "")
		default:
			c.notConverted("redirect option %q is not convertible", args[i])
			return false
		}
	}
	return true
}

// convRule converts http-request, http-response and tcp-request lines.
func convRule(c *hctx) {
	if c.fromDef {
		c.notConverted("lbd's rules belong to a frontend; write them there")
		return
	}
	kind := strings.ReplaceAll(c.kw, "-", "_")
	args := c.args
	if kind == "tcp_request" {
		if len(args) > 0 && args[0] == "inspect-delay" {
			convInspectDelay(c)
			return
		}
		if len(args) > 1 && args[0] == "session" {
			// HAProxy's session rules run after the PROXY header and the
			// TLS handshake; lbd's connection rules after the PROXY header
			// only: the same for tracking and refusing by address.
			c.note(Replaced, "tcp-request session becomes a tcp_request \"connection\" rule (run before the TLS handshake)")
			args = append([]string{"connection"}, args[1:]...)
		}
		if len(args) == 0 || (args[0] != "connection" && args[0] != "content") {
			c.notConverted("tcp-request %s is not convertible", strings.Join(args, " "))
			return
		}
		kind, args = "tcp_"+args[0], args[1:]
	}
	if c.p.fe == nil {
		c.notConverted("lbd's rules belong to a frontend; this one is in a backend")
		return
	}
	if len(args) == 0 {
		c.notConverted("expects an action")
		return
	}
	if kind == "http_request" && isRedirectHTTPS(args[1:]) {
		// lbd's redirect_https does exactly this (haproxy_tls.go).
		c.args = args[1:]
		convRedirect(c)
		return
	}
	row, ok := ruleActions[args[0]]
	if !ok || !containsStr(row.phases, kind) {
		c.notConverted("action %q is not convertible", args[0])
		return
	}
	pc := c.p.policy()
	rest, kw, cond, ok := pc.ruleCond(c, args[1:])
	if !ok {
		return
	}
	action := strings.ReplaceAll(args[0], "-", "_")
	var rb *node
	if strings.HasPrefix(kind, "tcp_") {
		rb = newNode("tcp_request", c.at(), strings.TrimPrefix(kind, "tcp_"), action)
	} else {
		rb = newNode(kind, c.at(), action)
	}
	if kw != "" {
		rb.set(kw, strV(cond), c.at(), "")
	}
	if !row.conv(c, pc, rb, rest) {
		return
	}
	pc.rules = append(pc.rules, rb)
	pc.lines = append(pc.lines, c.l)
}

func convInspectDelay(c *hctx) {
	if len(c.args) != 2 {
		c.notConverted("expects a delay")
		return
	}
	d, err := parseHAProxyTime(c.args[1], time.Millisecond)
	if err != nil {
		c.notConverted("%v", err)
		return
	}
	if c.p.fe == nil {
		c.notConverted("lbd's inspect_delay belongs to a frontend")
		return
	}
	c.p.fe.set("inspect_delay", durV(d), c.at(), "")
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// objV is an HCL object of strings ({ "Name" = "value" }).
type objV [][2]string

func (v objV) hcl() string {
	parts := make([]string, len(v))
	for i, kv := range v {
		parts[i] = quote(kv[0]) + " = " + quote(kv[1])
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

// isRedirectHTTPS: "redirect scheme https [code N] [if !{ ssl_fc } |
// unless { ssl_fc }]", which redirect_https expresses.
func isRedirectHTTPS(a []string) bool {
	if len(a) < 2 || a[0] != "scheme" || a[1] != "https" {
		return false
	}
	rest := a[2:]
	if len(rest) >= 2 && rest[0] == "code" {
		rest = rest[2:]
	}
	switch strings.Join(rest, " ") {
	case "", "if !{ ssl_fc }", "unless { ssl_fc }", "if ! { ssl_fc }":
		return true
	}
	return false
}
