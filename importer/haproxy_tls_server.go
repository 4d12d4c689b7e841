package importer

import "strings"

// srvTLS are the TLS options of a server or default-server line.
type srvTLS struct {
	ssl, checkSSL, noReuse setting[bool]
	verify, verifyHost     setting[string]
	caFile, crt, sni       setting[string]
	ciphers, alpn          setting[string]
	minVer, maxVer         setting[string]
}

func (t srvTLS) merge(over srvTLS) srvTLS {
	for _, p := range []struct{ dst, src *setting[bool] }{{&t.ssl, &over.ssl}, {&t.checkSSL, &over.checkSSL}, {&t.noReuse, &over.noReuse}} {
		mergeSet(p.dst, *p.src)
	}
	for _, p := range []struct{ dst, src *setting[string] }{
		{&t.verify, &over.verify}, {&t.verifyHost, &over.verifyHost}, {&t.caFile, &over.caFile}, {&t.crt, &over.crt},
		{&t.sni, &over.sni}, {&t.ciphers, &over.ciphers}, {&t.alpn, &over.alpn}, {&t.minVer, &over.minVer}, {&t.maxVer, &over.maxVer},
	} {
		mergeSet(p.dst, *p.src)
	}
	return t
}

// serverTLS writes a server's tls block ("server ... ssl ..."), and for
// check-ssl without ssl a health_check that runs over TLS.
func (hc *hapConv) serverTLS(sb *node, o srvOpts, s *hapServer) {
	t := o.tls
	note := func(format string, args ...any) {
		hc.ns.add(s.line.pos, NotConverted, s.line.text(), format, args...)
	}
	if !t.ssl.v {
		if t.checkSSL.v {
			note("check-ssl on a server reached in clear: lbd runs TLS checks per backend (health_check { tls = true }); set it if every server of the backend takes them")
		}
		return
	}
	n := sb.child("tls", t.ssl.pos(), true)
	switch t.verify.v {
	case "", "required":
	case "none":
		n.set("verify", strV("none"), t.verify.pos(), "")
	default:
		note("verify %q is not required or none", t.verify.v)
	}
	str := func(name string, st setting[string]) {
		if st.set && st.v != "" {
			n.set(name, strV(st.v), st.pos(), "")
		}
	}
	str("ca_file", t.caFile)
	str("verify_host", t.verifyHost)
	str("crt", t.crt)
	str("ciphers", t.ciphers)
	str("min_version", t.minVer)
	str("max_version", t.maxVer)
	if t.sni.set {
		switch v := t.sni.v; {
		case strings.HasPrefix(v, "str(") && strings.HasSuffix(v, ")"):
			n.set("sni", strV(v[4:len(v)-1]), t.sni.pos(), "")
		case v == "ssl_fc_sni":
			n.set("sni_from_client", boolV(true), t.sni.pos(), "")
		default:
			note("sni %q: lbd sends a fixed name (str(NAME)) or the client's (ssl_fc_sni)", v)
		}
	}
	if t.alpn.set {
		var out []string
		for _, p := range strings.Split(t.alpn.v, ",") {
			if p == "h2" {
				note("alpn: h2 dropped: lbd speaks HTTP/1.1 to servers")
				continue
			}
			out = append(out, p)
		}
		if out != nil {
			n.set("alpn", strListV(out), t.alpn.pos(), "")
		}
	}
	if t.noReuse.v {
		n.set("reuse", boolV(false), t.noReuse.pos(), "")
	}
}
