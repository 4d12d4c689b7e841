package rules

import (
	"bytes"
	"net/http"
	"strconv"

	"lbd/h1"
)

// The responses rules answer with themselves: deny, return, tarpit and
// redirect, written as HAProxy writes them.

// AppendRedirect appends the redirect response (HAProxy's
// http_apply_redirect_rule): Location from the location template; or the
// prefix followed by the path (and query unless drop_query; a prefix of
// exactly "/" adds nothing, for self-redirections); or the scheme,
// "://", the Host field as sent and the path. append_slash adds a "/"
// when the location does not end with one. 302, 303 and 307 are not to be
// cached. close says whether the connection closes after it (the request
// has a body not read yet).
func (r *Rule) AppendRedirect(out []byte, c *Ctx, close bool) ([]byte, bool) {
	l := c.tmp[:0]
	defer func() { c.tmp = l[:0] }()
	req := c.Req
	switch {
	case r.location != nil:
		l = r.location.appendTo(l, c, nil, nil)
	case r.prefix != nil:
		if !(r.prefix.isStat && string(r.prefix.static) == "/") {
			l = r.prefix.appendTo(l, c, nil, nil)
		}
		l = appendRedirectPath(l, req, r.dropQuery)
	case r.scheme != nil:
		l = r.scheme.appendTo(l, c, nil, nil)
		l = append(l, "://"...)
		var it hdrIter
		it.init(req, hostName, false)
		if it.next() {
			l = append(l, it.val...)
		} else if req.Authority.End > req.Authority.Off {
			l = append(l, req.Bytes(req.Authority)...)
		}
		l = appendRedirectPath(l, req, r.dropQuery)
	}
	if r.appendSlash && len(l) > 0 && l[len(l)-1] != '/' {
		l = append(l, '/')
	}
	if !safeValue(l) {
		return out, false
	}
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(r.code), 10)
	out = append(out, ' ')
	out = append(out, http.StatusText(r.code)...)
	out = append(out, "\r\n"...)
	if close {
		out = append(out, "connection: close\r\n"...)
	}
	out = append(out, "content-length: 0\r\nlocation: "...)
	out = append(out, l...)
	out = append(out, "\r\n"...)
	if r.code == 302 || r.code == 303 || r.code == 307 {
		out = append(out, "cache-control: no-cache\r\n"...)
	}
	return append(out, "\r\n"...), true
}

var hostName = []byte("host")

// appendRedirectPath appends the request's path with its query (without
// with dropQuery); "/" when it has none.
func appendRedirectPath(l []byte, req *h1.Head, dropQuery bool) []byte {
	p := req.Bytes(h1.Span{Off: req.Path.Off, End: req.Target.End}) // path and query
	if len(p) == 0 || p[0] != '/' {
		return append(l, '/')
	}
	if dropQuery {
		if i := bytes.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
	}
	return append(l, p...)
}

// HasBody reports whether a deny or return rule writes its own body
// (otherwise the frontend's error page for the status is sent).
func (r *Rule) HasBody() bool {
	return r.body != nil || r.bodyFile != nil || len(r.headers) > 0 || r.Action == Return
}

// AppendReply appends a return (or deny with a body or headers) response:
// status line, content-length, content-type, the rule's headers, extra
// (e.g. Retry-After), then the body. close adds "connection: close".
func (r *Rule) AppendReply(out []byte, c *Ctx, close bool, extra []byte) []byte {
	body := c.tmp[:0]
	switch {
	case r.body != nil:
		body = r.body.appendTo(body, c, nil, nil)
		c.tmp = body[:0]
	case r.bodyFile != nil:
		body = r.bodyFile
	}
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(r.Status), 10)
	out = append(out, ' ')
	out = append(out, http.StatusText(r.Status)...)
	out = append(out, "\r\ncontent-length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	out = append(out, "\r\n"...)
	if len(r.contentType) > 0 && len(body) > 0 {
		out = append(out, "content-type: "...)
		out = append(out, r.contentType...)
		out = append(out, "\r\n"...)
	}
	for i := range r.headers {
		h := &r.headers[i]
		mark := len(out)
		out = append(out, h.name...)
		out = append(out, ": "...)
		vs := len(out)
		out = h.value.appendTo(out, c, nil, nil)
		if !safeValue(out[vs:]) {
			out = out[:mark] // a value built from the request that no header may carry
			continue
		}
		out = append(out, "\r\n"...)
	}
	out = append(out, extra...)
	if close {
		out = append(out, "connection: close\r\n"...)
	}
	if (r.Status == 302 || r.Status == 303 || r.Status == 307 || r.Status >= 400) && !r.hasCacheControl {
		out = append(out, "cache-control: no-cache\r\n"...)
	}
	out = append(out, "\r\n"...)
	return append(out, body...)
}

// ErrorPage renders a page for a status lbd has no built-in page for,
// in the form of its others.
func ErrorPage(status int) []byte {
	c := strconv.Itoa(status)
	reason := http.StatusText(status)
	body := "<html><body><h1>" + c + " " + reason + "</h1>\n" + reason + ".\n</body></html>\n"
	return []byte("HTTP/1.1 " + c + " " + reason + "\r\n" +
		"content-length: " + strconv.Itoa(len(body)) + "\r\n" +
		"cache-control: no-cache\r\n" +
		"content-type: text/html\r\n" +
		"connection: close\r\n\r\n" + body)
}
