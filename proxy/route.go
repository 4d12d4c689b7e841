package proxy

import "lbd/h1"

import "bytes"

// route is a content-switching rule: Host is one of hosts (when any) and
// the path starts with one of prefixes (when any).
type route struct {
	name     string
	hosts    [][]byte // lower case, without port
	prefixes [][]byte
	be       *backend
}

func (r *route) match(host, path []byte) bool {
	if len(r.hosts) > 0 {
		ok := false
		for _, h := range r.hosts {
			if h1.EqFoldBytes(host, h) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(r.prefixes) > 0 {
		for _, p := range r.prefixes {
			if bytes.HasPrefix(path, p) {
				return true
			}
		}
		return false
	}
	return true
}

// selectBackend applies the routes in order, then default_backend. nil
// means nothing matched and there is no default: 503.
func (f *frontend) selectBackend(req *h1.Head) *backend {
	if len(f.routes) > 0 {
		host := req.HostValue()
		path := req.Bytes(req.Path)
		for i := range f.routes {
			if f.routes[i].match(host, path) {
				return f.routes[i].be
			}
		}
	}
	return f.defaultBE
}
