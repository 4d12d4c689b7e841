package proxy

import (
	"time"

	"lbd/config"
	"lbd/h1"
)

// Cookie persistence, as HAProxy's "cookie" keyword.
//
//   - insert: the proxy sets NAME=<server cookie> on the response when the
//     client did not present a valid one, and sends the client back to that
//     server while it accepts persistent traffic. With indirect the cookie
//     is removed from requests, so servers never see it.
//   - prefix: the application's own cookie (e.g. JSESSIONID) carries the
//     server: the proxy rewrites "Set-Cookie: JSESSIONID=abc" into
//     "JSESSIONID=web01~abc" and strips "web01~" from requests again.
//   - rewrite: the server sets NAME itself (any value); the proxy replaces
//     the value with the server's cookie.
//
// With maxidle or maxlife an inserted cookie carries dates as HAProxy
// writes them: NAME=web01|LLLLL|FFFFF, the last-seen and first-seen times
// in seconds/4 as 5 base64 characters. An expired cookie is ignored (the
// request is balanced again) and the last-seen date is refreshed once it is
// older than a quarter of maxidle, so that busy clients do not get a
// Set-Cookie on every response.

type cookieMode uint8

const (
	cookieInsert cookieMode = iota
	cookiePrefix
	cookieRewrite
)

type cookieRule struct {
	name     string
	mode     cookieMode
	indirect bool
	nocache  bool
	httponly bool
	secure   bool
	maxidle  int64 // seconds, 0 = off
	maxlife  int64
}

func newCookieRule(c *config.Cookie) *cookieRule {
	if c == nil {
		return nil
	}
	r := &cookieRule{
		name:     c.Name,
		indirect: c.Indirect,
		nocache:  c.NoCache,
		httponly: c.HTTPOnly,
		secure:   c.Secure,
		maxidle:  int64(c.MaxIdle / time.Second),
		maxlife:  int64(c.MaxLife / time.Second),
	}
	switch c.Mode {
	case "prefix":
		r.mode = cookiePrefix
	case "rewrite":
		r.mode = cookieRewrite
	}
	return r
}

func (r *cookieRule) dated() bool { return r.mode == cookieInsert && (r.maxidle > 0 || r.maxlife > 0) }

// ckState is what a request's cookie said, carried to its response.
type ckState struct {
	found   bool  // the request carried the cookie
	valid   bool  // it named a server that took the request
	expired bool  // dates too old
	last    int64 // unix seconds, 0 when absent
	firstT  int64
}

// lookup finds the persistence cookie of the request and the server it
// names. The returned server is nil when the cookie is absent, expired or
// names an unknown server; the caller checks that the server still accepts
// persistent traffic.
func (r *cookieRule) lookup(req *h1.Head, be *backend, now int64) (*server, ckState) {
	var st ckState
	var hit *server
	for i := range req.Fields {
		h := &req.Fields[i]
		if h.Kind != h1.KindCookie {
			continue
		}
		v := req.Bytes(h.Value)
		forEachCookie(v, func(name, val []byte) bool {
			if string(name) != r.name {
				return true
			}
			st.found = true
			var sv []byte
			switch r.mode {
			case cookiePrefix:
				k := indexByte(val, '~')
				if k < 0 {
					return false
				}
				sv = val[:k]
			default:
				sv = val
				if k := indexByte(val, '|'); k >= 0 {
					sv = val[:k]
					st.last, st.firstT = parseCookieDates(val[k+1:])
				}
			}
			s := be.serverByCookie(sv)
			if s == nil {
				return false
			}
			if r.dated() {
				if r.maxidle > 0 && st.last > 0 && now > st.last+r.maxidle ||
					r.maxlife > 0 && st.firstT > 0 && now > st.firstT+r.maxlife ||
					st.last > now+86400 || st.firstT > now+86400 {
					st.expired = true
					return false
				}
			}
			st.valid = true
			hit = s
			return false
		})
		if st.found {
			break
		}
	}
	return hit, st
}

// parseCookieDates reads "LLLLL" or "LLLLL|FFFFF".
func parseCookieDates(b []byte) (last, first int64) {
	if len(b) >= 5 {
		if v := b64tos30(b[:5]); v >= 0 {
			last = int64(v) << 2
		}
		if len(b) >= 11 && b[5] == '|' {
			if v := b64tos30(b[6:11]); v >= 0 {
				first = int64(v) << 2
			}
		}
	}
	return last, first
}

// forEachCookie calls f with each name=value pair of a Cookie header
// (RFC 6265 §4.2.1) until f returns false.
func forEachCookie(v []byte, f func(name, val []byte) bool) {
	for len(v) > 0 {
		i := indexByte(v, ';')
		var p []byte
		if i < 0 {
			p, v = v, nil
		} else {
			p, v = v[:i], v[i+1:]
		}
		for len(p) > 0 && (p[0] == ' ' || p[0] == '\t') {
			p = p[1:]
		}
		for len(p) > 0 && (p[len(p)-1] == ' ' || p[len(p)-1] == '\t') {
			p = p[:len(p)-1]
		}
		if len(p) == 0 {
			continue
		}
		eq := indexByte(p, '=')
		if eq < 0 {
			if !f(p, nil) {
				return
			}
			continue
		}
		if !f(p[:eq], p[eq+1:]) {
			return
		}
	}
}

// appendRequestCookie writes a Cookie header for the server: with insert
// and indirect the persistence cookie is removed, with prefix the server
// part of its value is. Nothing is written when no pair remains.
func (r *cookieRule) appendRequestCookie(out, v []byte) []byte {
	start := len(out)
	out = append(out, "Cookie: "...)
	n := 0
	forEachCookie(v, func(name, val []byte) bool {
		if string(name) == r.name {
			switch {
			case r.mode == cookieInsert && r.indirect:
				return true
			case r.mode == cookiePrefix:
				if k := indexByte(val, '~'); k >= 0 {
					val = val[k+1:]
				}
			}
		}
		if n > 0 {
			out = append(out, "; "...)
		}
		out = append(out, name...)
		if val != nil || indexByte(name, '=') < 0 {
			out = append(out, '=')
			out = append(out, val...)
		}
		n++
		return true
	})
	if n == 0 {
		return out[:start]
	}
	return append(out, "\r\n"...)
}

// rewritesRequest reports whether Cookie headers must be rewritten.
func (r *cookieRule) rewritesRequest() bool {
	return r.mode == cookiePrefix || r.mode == cookieInsert && r.indirect
}

// needInsert reports whether an insert-mode response must set the cookie.
func (r *cookieRule) needInsert(st ckState, direct bool, now int64) bool {
	if r.mode != cookieInsert {
		return false
	}
	if !direct || !st.valid {
		return true
	}
	if r.maxidle > 0 && (st.last == 0 || now-st.last >= r.maxidle/4) {
		return true
	}
	if r.maxlife > 0 && st.firstT == 0 {
		return true
	}
	if r.maxidle == 0 && r.maxlife == 0 && st.last != 0 {
		return true // dates no longer configured: drop them
	}
	return false
}

// appendSetCookie writes the Set-Cookie header of insert mode.
func (r *cookieRule) appendSetCookie(out []byte, s *server, st ckState, direct bool, now int64) []byte {
	out = append(out, "Set-Cookie: "...)
	out = append(out, r.name...)
	out = append(out, '=')
	out = append(out, s.cookieValue()...)
	if r.maxidle > 0 || r.maxlife > 0 {
		out = append(out, '|')
		out = s30tob64(out, (now+3)>>2)
		if r.maxlife > 0 {
			out = append(out, '|')
			first := (now + 3) >> 2
			if direct && st.valid && st.firstT > 0 {
				first = st.firstT >> 2
			}
			out = s30tob64(out, first)
		}
	}
	out = append(out, "; path=/"...)
	if r.httponly {
		out = append(out, "; HttpOnly"...)
	}
	if r.secure {
		out = append(out, "; Secure"...)
	}
	return append(out, "\r\n"...)
}

// appendServerSetCookie writes a server's Set-Cookie for the client. It
// returns false when the header must be dropped (insert mode: the proxy
// owns that cookie). prefix adds "<server>~" to the value, rewrite
// replaces the value.
func (r *cookieRule) appendServerSetCookie(out, v []byte, s *server) ([]byte, bool, bool) {
	eq := indexByte(v, '=')
	if eq < 0 {
		return out, true, false
	}
	name := v[:eq]
	for len(name) > 0 && (name[len(name)-1] == ' ' || name[len(name)-1] == '\t') {
		name = name[:len(name)-1]
	}
	if string(name) != r.name {
		return out, true, false
	}
	switch r.mode {
	case cookieInsert:
		return out, false, false
	case cookiePrefix:
		out = append(out, "Set-Cookie: "...)
		out = append(out, v[:eq+1]...)
		out = append(out, s.cookieValue()...)
		out = append(out, '~')
		out = append(out, v[eq+1:]...)
	case cookieRewrite:
		rest := v[eq+1:]
		end := indexByte(rest, ';')
		out = append(out, "Set-Cookie: "...)
		out = append(out, v[:eq+1]...)
		out = append(out, s.cookieValue()...)
		if end >= 0 {
			out = append(out, rest[end:]...)
		}
	}
	return append(out, "\r\n"...), true, true
}

const base64tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// s30tob64 appends the low 30 bits of v as 5 base64 characters, most
// significant first, as HAProxy encodes cookie dates.
func s30tob64(out []byte, v int64) []byte {
	x := uint32(v)
	for i := 0; i < 5; i++ {
		out = append(out, base64tab[(x>>24)&0x3f])
		x <<= 6
	}
	return out
}

// b64tos30 decodes 5 characters written by s30tob64, or returns -1.
func b64tos30(b []byte) int32 {
	var v int32
	for _, c := range b[:5] {
		var d int32
		switch {
		case c >= 'A' && c <= 'Z':
			d = int32(c - 'A')
		case c >= 'a' && c <= 'z':
			d = int32(c-'a') + 26
		case c >= '0' && c <= '9':
			d = int32(c-'0') + 52
		case c == '+':
			d = 62
		case c == '/':
			d = 63
		default:
			return -1
		}
		v = v<<6 | d
	}
	return v
}
