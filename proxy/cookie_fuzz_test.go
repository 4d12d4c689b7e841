package proxy

import (
	"bytes"
	"testing"
)

// FuzzCookieHeader feeds client Cookie values and server Set-Cookie values
// (both untrusted bytes) to the persistence code of every mode. A value
// that passed the head parser has no CR, LF or NUL, so the inputs are cut
// at the first of those; the output must then be one well-formed header
// line, an indirect insert cookie must be gone from what the server sees,
// and a prefix cookie must reach the server without the prefix lbd added.
func FuzzCookieHeader(f *testing.F) {
	for _, s := range []string{
		"SRV=s1", "SRV=s1|AAAAB|AAAAA; a=b", "a=b; SRV=s1~x; c", "; ;=;SRV",
		"JSESSIONID=s1~abc; Path=/", "SRV = s1 ; SRV=s2", "SRV=s1|A", "",
	} {
		f.Add([]byte(s))
	}
	srv := &server{name: "s1"}
	rules := []*cookieRule{
		{name: "SRV", mode: cookieInsert, indirect: true, maxidle: 60, maxlife: 3600},
		{name: "SRV", mode: cookieInsert},
		{name: "JSESSIONID", mode: cookiePrefix},
		{name: "SRV", mode: cookieRewrite},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if i := bytes.IndexAny(data, "\r\n\x00"); i >= 0 {
			data = data[:i]
		}
		forEachCookie(data, func(name, val []byte) bool {
			if bytes.IndexByte(name, ';') >= 0 || bytes.IndexByte(val, ';') >= 0 {
				t.Fatalf("pair %q=%q of %q spans a ';'", name, val, data)
			}
			if len(name) > 0 && (name[0] == ' ' || name[0] == '\t') {
				t.Fatalf("name %q of %q starts with a blank", name, data)
			}
			return true
		})
		parseCookieDates(data)
		for _, r := range rules {
			out := r.appendRequestCookie(nil, data)
			wellFormed(t, "Cookie: ", out, data)
			if len(out) > 0 && r.mode == cookieInsert && r.indirect {
				forEachCookie(out[len("Cookie: "):len(out)-2], func(name, _ []byte) bool {
					if string(name) == r.name {
						t.Fatalf("indirect cookie %s still sent to the server: %q from %q", r.name, out, data)
					}
					return true
				})
			}
			sc, keep, _ := r.appendServerSetCookie(nil, data, srv)
			if !keep && r.mode != cookieInsert {
				t.Fatalf("mode %d dropped a server's Set-Cookie %q", r.mode, data)
			}
			wellFormed(t, "Set-Cookie: ", sc, data)
			if r.mode == cookiePrefix && len(sc) > 0 {
				// What the client got back must reach the server as the
				// application wrote it.
				v := sc[len("Set-Cookie: ") : len(sc)-2]
				v = v[bytes.IndexByte(v, '=')+1:]
				if i := bytes.IndexByte(v, ';'); i >= 0 {
					v = v[:i] // a browser sends back name=value only
				}
				back := r.appendRequestCookie(nil, append([]byte(r.name+"="), v...))
				orig := data[bytes.IndexByte(data, '=')+1:]
				if i := bytes.IndexByte(orig, ';'); i >= 0 {
					orig = orig[:i] // the attributes (Path, ...) stay with the client
				}
				want := trimCookieBlanks(orig)
				if got := string(back); got != "Cookie: "+r.name+"="+want+"\r\n" {
					t.Fatalf("prefix round trip of %q: server got %q", data, got)
				}
			}
		}
	})
}

// wellFormed checks that out is empty or one header line named by prefix.
func wellFormed(t *testing.T, prefix string, out, in []byte) {
	t.Helper()
	if len(out) == 0 {
		return
	}
	if !bytes.HasPrefix(out, []byte(prefix)) || !bytes.HasSuffix(out, []byte("\r\n")) ||
		bytes.IndexAny(out[:len(out)-2], "\r\n") >= 0 {
		t.Fatalf("%q from %q is not one %sheader line", out, in, prefix)
	}
}

// trimCookieBlanks is what forEachCookie keeps of a value that has no ';'.
func trimCookieBlanks(v []byte) string {
	return string(bytes.Trim(v, " \t"))
}
