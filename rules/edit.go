package rules

import (
	"bytes"
	"errors"
	"net/http"

	"lbd/h1"
)

// Editor applies a rule list's rewrites to a head (set/add/del/replace
// header, set path/query/method/uri, set status) and parses the result
// again: the rules after see the new message, as in HAProxy, and the
// proxy forwards it with its own writer, which never copies framing or
// Host (package h1). Consecutive edits are applied in one pass; the head
// is rebuilt before anything reads it again.
//
// Values are checked before they are staged: a value (from a template,
// the request or a map) with CR, LF, NUL or another control character
// is refused, so no rule can split a message or add a header. Framing and
// hop-by-hop fields cannot be named by a rule (config refuses them);
// Host can only be replaced, and its new value must be a valid host.
type Editor struct {
	bufs [2][]byte // the rebuilt heads, alternately
	cur  int
	vals []byte // staged values

	resp    bool
	started bool
	dirty   reads // what the staged edits change
	fields  []wfield
	// request line, or status line parts
	method, target, version wpart
	status                  int
	reason                  wpart
}

// wpart is bytes either in the original head (raw) or in vals (off/end).
type wpart struct {
	raw      []byte
	off, end int
	staged   bool
}

type wfield struct {
	name    []byte // a rule's (static) or the head's
	value   wpart
	deleted bool
}

// ErrRewrite is a rewrite that failed: the result is not a valid
// message, or larger than MaxHead. HAProxy answers 500 (strict-mode).
var ErrRewrite = errors.New("rewrite failed")

// MaxHead bounds a rewritten head.
const MaxHead = 32 << 10

func (e *Editor) part(p wpart) []byte {
	if p.staged {
		return e.vals[p.off:p.end]
	}
	return p.raw
}

// stage copies v into vals.
func (e *Editor) stage(v []byte) wpart {
	off := len(e.vals)
	e.vals = append(e.vals, v...)
	return wpart{off: off, end: len(e.vals), staged: true}
}

// Pending reports whether edits wait to be applied.
func (e *Editor) Pending() bool { return e.started }

// begin takes a working copy of m.
func (e *Editor) begin(m *h1.Head, resp bool) {
	if e.started {
		return
	}
	e.started, e.resp = true, resp
	e.vals = e.vals[:0]
	e.dirty.all, e.dirty.line, e.dirty.hdrs = false, false, e.dirty.hdrs[:0]
	e.fields = e.fields[:0]
	for i := range m.Fields {
		f := &m.Fields[i]
		e.fields = append(e.fields, wfield{name: m.Bytes(f.Name), value: wpart{raw: m.Bytes(f.Value)}})
	}
	if resp {
		e.version = wpart{raw: m.Raw[:8]}
		e.status = m.Status
		e.reason = wpart{raw: m.Bytes(m.Reason)}
	} else {
		e.method = wpart{raw: m.Bytes(m.Method)}
		e.target = wpart{raw: m.Bytes(m.Target)}
		e.version = wpart{raw: versionOf(m)}
	}
}

var http10, http11 = []byte("HTTP/1.0"), []byte("HTTP/1.1")

func versionOf(m *h1.Head) []byte {
	if m.Minor == 0 {
		return http10
	}
	return http11
}

// apply stages rule r's edit of m; false when the value is refused.
func (e *Editor) apply(r *Rule, c *Ctx, m *h1.Head, resp bool) bool {
	e.begin(m, resp)
	e.dirty.line = e.dirty.line || r.writes.line
	e.dirty.hdrs = append(e.dirty.hdrs, r.writes.hdrs...)
	c.done &^= r.invalidates
	switch r.Action {
	case SetHeader, AddHeader:
		mark := len(e.vals)
		e.vals = r.value.appendTo(e.vals, c, nil, nil)
		v := e.vals[mark:]
		if !safeValue(v) || (r.isHost && !resp && !h1.ValidHost(v)) {
			e.vals = e.vals[:mark]
			return false
		}
		val := wpart{off: mark, end: len(e.vals), staged: true}
		if r.Action == SetHeader {
			e.del(r.name)
			if r.isHost && !resp {
				e.originForm()
			}
		}
		e.fields = append(e.fields, wfield{name: r.name, value: val})
	case DelHeader:
		e.del(r.name)
	case ReplaceHeader, ReplaceValue:
		return e.replace(r, c)
	case SetStatus:
		e.status = r.Status
		if len(r.reason) > 0 {
			e.reason = wpart{raw: r.reason}
		} else {
			e.reason = wpart{raw: []byte(statusText(r.Status))}
		}
	default:
		return e.requestLine(r, c)
	}
	return true
}

func (e *Editor) del(name []byte) {
	for i := range e.fields {
		if !e.fields[i].deleted && h1.EqFoldBytes(e.fields[i].name, name) {
			e.fields[i].deleted = true
		}
	}
}

// originForm turns an absolute-form target into origin-form: its
// authority would otherwise win over the new Host (RFC 9112 §3.2.2).
func (e *Editor) originForm() {
	t := e.part(e.target)
	if len(t) == 0 || t[0] == '/' || t[0] == '*' {
		return
	}
	if k := bytes.Index(t, []byte("://")); k > 0 {
		rest := t[k+3:]
		i := bytes.IndexAny(rest, "/?")
		path := []byte("/")
		if i >= 0 {
			path = rest[i:]
			if path[0] == '?' {
				e.target = e.stage(append([]byte("/"), path...))
				return
			}
		}
		e.target = e.stage(path)
	}
}

// replace applies replace_header (the whole value is replaced when the
// regex matches it) or replace_value (each comma-separated value).
func (e *Editor) replace(r *Rule, c *Ctx) bool {
	for i := range e.fields {
		f := &e.fields[i]
		if f.deleted || !h1.EqFoldBytes(f.name, r.name) {
			continue
		}
		v := e.part(f.value)
		mark := len(e.vals)
		changed := false
		if r.Action == ReplaceHeader {
			if sub := r.re.FindSubmatchIndex(v); sub != nil {
				e.vals = r.repl.appendTo(e.vals, c, v, sub)
				changed = true
			}
		} else {
			rest := v
			first := true
			for {
				val, next, more := splitValue(rest)
				if !first {
					e.vals = append(e.vals, ',') // HAProxy 2.6 joins the values back with a bare comma
				}
				first = false
				if sub := r.re.FindSubmatchIndex(val); sub != nil {
					e.vals = r.repl.appendTo(e.vals, c, val, sub)
					changed = true
				} else {
					e.vals = append(e.vals, val...)
				}
				if !more {
					break
				}
				rest = next
			}
		}
		if !changed {
			e.vals = e.vals[:mark]
			continue
		}
		if !safeValue(e.vals[mark:]) {
			e.vals = e.vals[:mark]
			return false
		}
		f.value = wpart{off: mark, end: len(e.vals), staged: true}
	}
	return true
}

// requestLine applies set_path, set_query, set_method, set_uri,
// replace_path and replace_uri.
func (e *Editor) requestLine(r *Rule, c *Ctx) bool {
	mark := len(e.vals)
	t := e.part(e.target)
	pathStart, pathEnd, hasQ := splitTarget(t)
	switch r.Action {
	case SetMethod:
		e.vals = r.value.appendTo(e.vals, c, nil, nil)
		if !h1.IsToken(e.vals[mark:]) {
			e.vals = e.vals[:mark]
			return false
		}
		e.method = wpart{off: mark, end: len(e.vals), staged: true}
		return true
	case SetURI:
		e.vals = r.value.appendTo(e.vals, c, nil, nil)
	case ReplaceURI:
		sub := r.re.FindSubmatchIndex(t)
		if sub == nil {
			return true
		}
		e.vals = r.repl.appendTo(e.vals, c, t, sub)
	case SetPath, ReplacePath:
		e.vals = append(e.vals, t[:pathStart]...)
		if r.Action == SetPath {
			e.vals = r.value.appendTo(e.vals, c, nil, nil)
		} else {
			p := t[pathStart:pathEnd]
			sub := r.re.FindSubmatchIndex(p)
			if sub == nil {
				e.vals = e.vals[:mark]
				return true
			}
			e.vals = r.repl.appendTo(e.vals, c, p, sub)
		}
		e.vals = append(e.vals, t[pathEnd:]...)
	case SetQuery:
		e.vals = append(e.vals, t[:pathEnd]...)
		q := len(e.vals)
		e.vals = append(e.vals, '?')
		e.vals = r.value.appendTo(e.vals, c, nil, nil)
		if len(e.vals) == q+1 && !hasQ {
			e.vals = e.vals[:q] // no query, none added
		}
	}
	nt := e.vals[mark:]
	if len(nt) == 0 || !validTarget(nt) {
		e.vals = e.vals[:mark]
		return false
	}
	e.target = wpart{off: mark, end: len(e.vals), staged: true}
	return true
}

// splitTarget finds the path of a target (after an absolute-form's
// authority) and where the query begins.
func splitTarget(t []byte) (pathStart, pathEnd int, hasQuery bool) {
	if len(t) > 0 && t[0] != '/' && t[0] != '*' {
		if k := bytes.Index(t, []byte("://")); k > 0 {
			pathStart = k + 3
			for pathStart < len(t) && t[pathStart] != '/' && t[pathStart] != '?' {
				pathStart++
			}
		}
	}
	pathEnd = len(t)
	if i := bytes.IndexByte(t[pathStart:], '?'); i >= 0 {
		pathEnd, hasQuery = pathStart+i, true
	}
	return pathStart, pathEnd, hasQuery
}

// validTarget: visible ASCII without '#', as h1 accepts.
func validTarget(t []byte) bool {
	for _, c := range t {
		if c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// flush writes the edited head and parses it into m, whose bytes then
// live in the editor until the next flush.
func (e *Editor) flush(m *h1.Head) error {
	if !e.started {
		return nil
	}
	e.started = false
	e.cur ^= 1
	out := e.bufs[e.cur][:0]
	if e.resp {
		out = append(out, e.part(e.version)...)
		out = append(out, ' ')
		out = append(out, byte('0'+e.status/100), byte('0'+e.status/10%10), byte('0'+e.status%10))
		out = append(out, ' ')
		out = append(out, e.part(e.reason)...)
	} else {
		out = append(out, e.part(e.method)...)
		out = append(out, ' ')
		out = append(out, e.part(e.target)...)
		out = append(out, ' ')
		out = append(out, e.part(e.version)...)
	}
	out = append(out, "\r\n"...)
	for i := range e.fields {
		f := &e.fields[i]
		if f.deleted {
			continue
		}
		out = append(out, f.name...)
		out = append(out, ": "...)
		out = append(out, e.part(f.value)...)
		out = append(out, "\r\n"...)
	}
	out = append(out, "\r\n"...)
	e.bufs[e.cur] = out
	if len(out) > MaxHead {
		return ErrRewrite
	}
	var err h1.Err
	if e.resp {
		err = m.ParseResponse(out)
	} else {
		err = m.ParseRequest(out)
	}
	if err != h1.OK {
		return ErrRewrite
	}
	return nil
}

func statusText(code int) string {
	if s := http.StatusText(code); s != "" {
		return s
	}
	return "Unknown"
}
