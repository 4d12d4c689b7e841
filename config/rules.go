package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"lbd/sample"
)

// Condition is a rule's if or unless: a condition expression over the
// frontend's acl blocks and HAProxy's predefined acls.
type Condition struct {
	Src    string
	Unless bool
	Expr   *sample.Cond
	Range  hcl.Range
}

// Rule is one http_request, http_response or tcp_request rule: an action
// with its arguments, applied when its condition holds. Rules run in the
// order they are written; a terminal action (allow, deny, return,
// redirect, tarpit; accept, reject) ends the list.
type Rule struct {
	// Phase is "http_request", "http_response", "tcp_connection" or
	// "tcp_content".
	Phase  string
	Action string
	Cond   *Condition // nil: always

	// deny, return, tarpit, set_status
	Status      int
	ContentType string
	Body        *sample.Template // return/deny body (HAProxy's lf-string); nil: none
	BodyFile    []byte           // a file's content as the body
	Headers     []HeaderValue    // extra response headers (HAProxy's hdr)
	Reason      string           // set_status
	Delay       time.Duration    // tarpit

	// redirect
	Location, Prefix, Scheme *sample.Template
	Code                     int
	DropQuery, AppendSlash   bool

	// header and request line edits
	Name    string           // header name
	Value   *sample.Template // set_header, add_header, set_path, set_query, set_method, set_uri
	Regex   *regexp.Regexp   // replace_header, replace_value, replace_path, replace_uri
	Replace *sample.Template // the replacement, with \1 back-references

	// set_log_level
	Level string

	// track_sc0..2
	Slot  int
	Key   *sample.Expr
	Table string // the frontend's own when the rule names none

	// RetryAfter is what a 429 deny or tarpit says in Retry-After: the
	// longest period of the rate counters its condition reads.
	RetryAfter time.Duration

	rng blockRanges
}

// HeaderValue is a header a rule writes.
type HeaderValue struct {
	Name  string
	Value *sample.Template
}

// Terminal reports whether the action ends the rule list.
func (r *Rule) Terminal() bool {
	switch r.Action {
	case "allow", "deny", "return", "redirect", "tarpit", "accept", "reject":
		return true
	}
	return false
}

// Line is where the rule is written.
func (r *Rule) Line() int { return r.rng.block.Start.Line }

// Actions each phase allows.
var ruleActions = map[string][]string{
	"http_request": {"allow", "deny", "tarpit", "return", "redirect", "set_header", "add_header",
		"del_header", "replace_header", "replace_value", "set_path", "replace_path", "set_query",
		"set_method", "set_uri", "replace_uri", "set_log_level", "track_sc0", "track_sc1", "track_sc2"},
	"http_response": {"allow", "deny", "return", "set_header", "add_header", "del_header",
		"replace_header", "replace_value", "set_status", "set_log_level"},
	"tcp_connection": {"accept", "reject", "track_sc0", "track_sc1", "track_sc2"},
	"tcp_content":    {"accept", "reject", "track_sc0", "track_sc1", "track_sc2", "set_log_level"},
}

// attributes each action takes, besides if and unless.
var actionAttrs = map[string][]string{
	"allow":          {},
	"accept":         {},
	"reject":         {},
	"deny":           {"status", "content_type", "body", "file", "headers"},
	"tarpit":         {"status", "delay"},
	"return":         {"status", "content_type", "body", "file", "headers"},
	"redirect":       {"location", "prefix", "scheme", "code", "drop_query", "append_slash"},
	"set_header":     {"name", "value"},
	"add_header":     {"name", "value"},
	"del_header":     {"name"},
	"replace_header": {"name", "regex", "replace"},
	"replace_value":  {"name", "regex", "replace"},
	"set_path":       {"value"},
	"set_query":      {"value"},
	"set_method":     {"value"},
	"set_uri":        {"value"},
	"replace_path":   {"regex", "replace"},
	"replace_uri":    {"regex", "replace"},
	"set_log_level":  {"level"},
	"set_status":     {"status", "reason"},
	"track_sc0":      {"key", "table"},
	"track_sc1":      {"key", "table"},
	"track_sc2":      {"key", "table"},
}

// required attributes per action.
var actionRequired = map[string][]string{
	"set_header": {"name", "value"}, "add_header": {"name", "value"}, "del_header": {"name"},
	"replace_header": {"name", "regex", "replace"}, "replace_value": {"name", "regex", "replace"},
	"set_path": {"value"}, "set_query": {"value"}, "set_method": {"value"}, "set_uri": {"value"},
	"replace_path": {"regex", "replace"}, "replace_uri": {"regex", "replace"},
	"set_log_level": {"level"}, "set_status": {"status"},
}

// LogLevels are HAProxy's syslog levels, and "silent" (no log line).
var LogLevels = []string{"silent", "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// Header names no rule may write or remove: the framing the proxy writes
// from its own parse (package h1) and the hop-by-hop fields of RFC 9110
// §7.6.1, which belong to one connection.
var protectedHeaders = []string{
	"content-length", "transfer-encoding", "connection", "keep-alive",
	"proxy-connection", "te", "trailer", "upgrade",
}

// ProtectedHeader reports whether a rule may not touch header name.
func ProtectedHeader(name string) bool { return contains(protectedHeaders, strings.ToLower(name)) }

// decodeRule reads an http_request/http_response block (phase is the
// block type) or a tcp_request block (phase from its first label).
func (d *decoder) decodeRule(blk *hcl.Block, phase string, timeouts Timeouts) *Rule {
	action := blk.Labels[len(blk.Labels)-1]
	actRng := blk.LabelRanges[len(blk.LabelRanges)-1]
	r := &Rule{Phase: phase, Action: action}
	if !contains(ruleActions[phase], action) {
		d.errorf(actRng, "%s: unknown action %q; one of %s", phaseName(phase), action, strings.Join(ruleActions[phase], ", "))
		return nil
	}
	schema := &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "if"}, {Name: "unless"}}}
	for _, a := range actionAttrs[action] {
		req := contains(actionRequired[action], a)
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: a, Required: req})
	}
	b := d.body(d.content(blk, schema), blk.DefRange, &r.rng)
	r.Cond = d.decodeCondition(b)
	switch action {
	case "deny", "return", "tarpit":
		d.decodeResponseAttrs(b, r, timeouts)
	case "redirect":
		d.decodeRedirectRule(b, r)
	case "set_header", "add_header", "del_header", "replace_header", "replace_value":
		b.str("name", &r.Name)
		d.checkHeaderName(b, r)
		if action == "set_header" || action == "add_header" {
			r.Value = d.template(b, "value", false)
		}
		if strings.HasPrefix(action, "replace_") {
			r.Regex = d.regex(b, "regex")
			r.Replace = d.template(b, "replace", true)
		}
	case "set_path", "set_query", "set_method", "set_uri":
		r.Value = d.template(b, "value", false)
		if action == "set_method" && r.Value != nil && r.Value.Static() && !isToken(r.Value.Text()) {
			d.errorf(b.rng.at("value"), "value: %q is not a method name", r.Value.Text())
		}
		if (action == "set_path" || action == "set_uri") && r.Value != nil && r.Value.Static() && !strings.HasPrefix(r.Value.Text(), "/") {
			d.errorf(b.rng.at("value"), "value: a path starts with \"/\"")
		}
	case "replace_path", "replace_uri":
		r.Regex = d.regex(b, "regex")
		r.Replace = d.template(b, "replace", true)
	case "set_log_level":
		b.str("level", &r.Level)
		b.oneOf("level", r.Level, LogLevels...)
	case "set_status":
		b.integer("status", &r.Status, 100, 599)
		b.str("reason", &r.Reason)
		if strings.ContainsAny(r.Reason, "\r\n\x00") {
			d.errorf(b.rng.at("reason"), "reason: CR, LF and NUL are not allowed")
		}
	case "track_sc0", "track_sc1", "track_sc2":
		r.Slot = int(action[len(action)-1] - '0')
		b.str("table", &r.Table)
		key := "src"
		b.str("key", &key)
		e, err := sample.ParseExpr(key)
		if err != nil {
			d.exprError(b.rng.at("key"), err)
		} else {
			r.Key = e
		}
	}
	if r.Replace != nil && r.Regex != nil && r.Replace.MaxRef() > r.Regex.NumSubexp() {
		d.errorf(b.rng.at("replace"), "replace: \\%d refers to a group the regex does not have (%d)", r.Replace.MaxRef(), r.Regex.NumSubexp())
	}
	return r
}

func phaseName(phase string) string {
	switch phase {
	case "tcp_connection":
		return "tcp_request \"connection\""
	case "tcp_content":
		return "tcp_request \"content\""
	}
	return phase
}

func (d *decoder) decodeCondition(b body) *Condition {
	var c *Condition
	for _, kw := range []string{"if", "unless"} {
		if !b.has(kw) {
			continue
		}
		if c != nil {
			d.errorf(b.rng.at(kw), "a rule has if or unless, not both")
			return c
		}
		var src string
		b.str(kw, &src)
		e, err := sample.ParseCond(src)
		if err != nil {
			d.exprError(b.rng.at(kw), err)
			return nil
		}
		c = &Condition{Src: src, Unless: kw == "unless", Expr: e, Range: b.rng.at(kw)}
	}
	return c
}

func (d *decoder) decodeResponseAttrs(b body, r *Rule, t Timeouts) {
	switch r.Action {
	case "deny":
		r.Status = 403
	case "return":
		r.Status = 200
	case "tarpit":
		r.Status = 500
		// HAProxy's timeout tarpit defaults to timeout connect.
		r.Delay = t.Connect
		b.duration("delay", &r.Delay, time.Millisecond, time.Hour)
	}
	b.integer("status", &r.Status, 200, 599)
	if r.Action == "tarpit" {
		return
	}
	b.str("content_type", &r.ContentType)
	if strings.ContainsAny(r.ContentType, "\r\n\x00") {
		d.errorf(b.rng.at("content_type"), "content_type: CR, LF and NUL are not allowed")
	}
	if b.has("body") && b.has("file") {
		d.errorf(b.rng.at("file"), "body or file, not both")
	}
	if b.has("body") {
		r.Body = d.template(b, "body", false)
		if r.ContentType == "" {
			r.ContentType = "text/plain"
		}
	}
	if b.has("file") {
		var p string
		b.str("file", &p)
		if !filepath.IsAbs(p) {
			p = filepath.Join(d.dir, p)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			d.errorf(b.rng.at("file"), "file: %v", err)
		}
		r.BodyFile = raw
		if r.ContentType == "" {
			r.ContentType = "text/html"
		}
	}
	if v, rng, ok := b.value("headers"); ok {
		if !v.Type().IsObjectType() && !v.Type().IsMapType() {
			d.errorf(rng, "headers: an object { \"Name\" = \"value\" } is required")
			return
		}
		for name, val := range v.AsValueMap() {
			if !isToken(name) {
				d.errorf(rng, "headers: %q is not a header name", name)
				continue
			}
			if ProtectedHeader(name) || strings.EqualFold(name, "content-type") {
				d.errorf(rng, "headers: %s is written by lbd", name)
				continue
			}
			if val.Type().FriendlyName() != "string" {
				d.errorf(rng, "headers: the value of %s must be a string", name)
				continue
			}
			t, err := sample.ParseTemplate(val.AsString())
			if err != nil {
				d.errorf(rng, "headers: %s: %v", name, err)
				continue
			}
			d.checkStaticValue(rng, name, t)
			r.Headers = append(r.Headers, HeaderValue{Name: name, Value: t})
		}
		sortHeaders(r.Headers)
	}
}

func sortHeaders(h []HeaderValue) {
	for i := 1; i < len(h); i++ {
		for j := i; j > 0 && h[j].Name < h[j-1].Name; j-- {
			h[j], h[j-1] = h[j-1], h[j]
		}
	}
}

func (d *decoder) decodeRedirectRule(b body, r *Rule) {
	n := 0
	for _, k := range []string{"location", "prefix", "scheme"} {
		if b.has(k) {
			n++
		}
	}
	if n != 1 {
		d.errorf(b.rng.block, "redirect: exactly one of location, prefix or scheme is required")
	}
	r.Location = d.template(b, "location", false)
	r.Prefix = d.template(b, "prefix", false)
	r.Scheme = d.template(b, "scheme", false)
	if r.Scheme != nil && r.Scheme.Static() {
		s := r.Scheme.Text()
		if s == "" || strings.ContainsAny(s, ":/ ") {
			d.errorf(b.rng.at("scheme"), "scheme: %q is not a URI scheme (https, http)", s)
		}
	}
	r.Code = 302
	b.integer("code", &r.Code, 301, 308)
	switch r.Code {
	case 301, 302, 303, 307, 308:
	default:
		d.errorf(b.rng.at("code"), "code: %d is not one of 301, 302, 303, 307, 308", r.Code)
	}
	b.boolean("drop_query", &r.DropQuery)
	b.boolean("append_slash", &r.AppendSlash)
}

// template reads a template attribute (nil when absent); replacement
// templates also read \1 back-references.
func (d *decoder) template(b body, name string, replacement bool) *sample.Template {
	if !b.has(name) {
		return nil
	}
	var s string
	b.str(name, &s)
	var t *sample.Template
	var err error
	if replacement {
		t, err = sample.ParseReplacement(s)
	} else {
		t, err = sample.ParseTemplate(s)
	}
	if err != nil {
		d.exprError(b.rng.at(name), err)
		return nil
	}
	d.checkStaticValue(b.rng.at(name), name, t)
	return t
}

// checkStaticValue refuses literal text that no header or request line
// may carry: CR, LF, NUL and other control characters but HTAB.
func (d *decoder) checkStaticValue(rng hcl.Range, name string, t *sample.Template) {
	for _, p := range t.Parts {
		for i := 0; i < len(p.Lit); i++ {
			if c := p.Lit[i]; c < 0x20 && c != '\t' || c == 0x7f {
				d.errorf(rng, "%s: control character %q is not allowed in a header or request line", name, c)
				return
			}
		}
	}
}

func (d *decoder) regex(b body, name string) *regexp.Regexp {
	var s string
	b.str(name, &s)
	if s == "" {
		return nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		d.errorf(b.rng.at(name), "%s: %q is not a regular expression lbd accepts (RE2 syntax: no back-references or look-around): %v", name, s, err)
		return nil
	}
	return re
}

// checkHeaderName refuses what a rule must not touch: framing and
// hop-by-hop fields always, Host but through set_header.
func (d *decoder) checkHeaderName(b body, r *Rule) {
	rng := b.rng.at("name")
	if r.Name == "" {
		return
	}
	if !isToken(r.Name) {
		d.errorf(rng, "name: %q is not a header name", r.Name)
		return
	}
	if ProtectedHeader(r.Name) {
		d.errorf(rng, "name: %s cannot be set, added or removed by a rule: lbd writes the framing (Content-Length, Transfer-Encoding) from its own parse and the hop-by-hop fields (Connection, Keep-Alive, TE, Trailer, Upgrade) per connection", r.Name)
		return
	}
	if strings.EqualFold(r.Name, "host") && r.Phase == "http_request" && r.Action != "set_header" {
		d.errorf(rng, "name: Host can only be replaced (set_header): a request has exactly one")
	}
}
