package config

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

var frontendSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "bind"}, {Name: "mode"}, {Name: "maxconn"},
		{Name: "default_backend"}, {Name: "forward_for"}, {Name: "trusted_proxies"}, {Name: "h2c"}, {Name: "proto"}, {Name: "redirect_https"},
		{Name: "access_log"}, {Name: "log_format"}, {Name: "defer_accept"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "route", LabelNames: []string{"name"}},
		{Type: "error_file"},
		{Type: "timeouts"},
		{Type: "tls"},
		{Type: "accept_proxy"},
		{Type: "capture_request_header", LabelNames: []string{"name"}},
		{Type: "capture_response_header", LabelNames: []string{"name"}},
		{Type: "stick_table"},
	},
}

func init() {
	frontendSchema.Blocks = append(frontendSchema.Blocks, policyBlocks...)
	frontendSchema.Attributes = append(frontendSchema.Attributes, hcl.AttributeSchema{Name: "inspect_delay"})
}

func (d *decoder) decodeFrontend(blk *hcl.Block, def Defaults, dir string) *Frontend {
	f := &Frontend{Name: blk.Labels[0], Mode: def.Mode, Timeouts: def.Timeouts, AccessLog: true, LogFormat: "json"}
	c := d.content(blk, frontendSchema)
	b := d.body(c, blk.DefRange, &f.rng)
	var binds []string
	b.strList("bind", &binds)
	if b.has("bind") && binds != nil && len(binds) == 0 {
		d.errorf(f.rng.at("bind"), "bind: at least one address is required")
	}
	f.bindRanges = map[string]hcl.Range{}
	for i, s := range binds {
		ap, err := ParseBind(s)
		if err != nil {
			d.errorf(b.elemRange("bind", i), "bind: %v", err)
			continue
		}
		f.Bind = append(f.Bind, ap.String())
		f.bindRanges[ap.String()] = b.elemRange("bind", i)
	}
	b.mode(&f.Mode)
	b.integer("maxconn", &f.MaxConn, 0, 10_000_000)
	b.str("default_backend", &f.DefaultBackend)
	b.boolean("forward_for", &f.ForwardFor)
	b.prefixList("trusted_proxies", &f.TrustedProxies, true)
	b.boolean("h2c", &f.H2C)
	f.DeferAccept = f.Mode == ModeHTTP
	b.boolean("defer_accept", &f.DeferAccept)
	b.str("proto", &f.Proto)
	b.oneOf("proto", f.Proto, "", "h2")
	d.decodeTimeoutBlocks(c.Blocks, &f.Timeouts, "frontend")
	if ab := d.single(c.Blocks, "accept_proxy"); ab != nil {
		f.AcceptProxy = d.decodeAcceptProxy(ab)
	}
	d.decodeFrontendLog(f, b, c.Blocks)
	b.duration("inspect_delay", &f.Policy.InspectDelay, 0, time.Hour)
	if sb := d.single(c.Blocks, "stick_table"); sb != nil {
		f.StickTable = d.decodeStickTable(sb, f.Name)
	}
	for _, sub := range c.Blocks {
		d.decodePolicyBlock(f, sub)
	}
	for _, sub := range c.Blocks {
		if sub.Type == "tls" {
			f.TLS = append(f.TLS, d.decodeBindTLS(sub, f.Mode, dir))
		}
	}
	if !b.has("bind") && len(f.TLS) == 0 {
		d.errorf(blk.DefRange, "frontend %q: bind is required (or a tls block with its own bind)", f.Name)
	}

	routes := map[string]*Route{}
	statuses := map[int]*ErrorFile{}
	for _, sub := range c.Blocks {
		switch sub.Type {
		case "route":
			r := d.decodeRoute(sub)
			if prev, dup := routes[r.Name]; dup {
				d.errorf(sub.DefRange, "duplicate route %q in frontend %q; the first one is at line %d", r.Name, f.Name, prev.rng.block.Start.Line)
				continue
			}
			routes[r.Name] = r
			f.Routes = append(f.Routes, r)
		case "error_file":
			e := d.decodeErrorFile(sub, dir)
			if prev, dup := statuses[e.Status]; dup && e.Status != 0 {
				d.errorf(sub.DefRange, "duplicate error_file for status %d; the first one is at line %d", e.Status, prev.rng.block.Start.Line)
				continue
			}
			statuses[e.Status] = e
			f.ErrorFiles = append(f.ErrorFiles, e)
		}
	}
	if !b.has("default_backend") && len(f.Routes) == 0 {
		d.errorf(f.rng.block, "frontend %q: default_backend is required (or at least one route)", f.Name)
	}
	d.checkSNIRoutes(f)
	d.decodeRedirect(b, f)
	if f.Mode == ModeTCP {
		if len(f.ErrorFiles) > 0 {
			d.errorf(f.ErrorFiles[0].rng.block, "frontend %q: error_file needs mode = \"http\" (this frontend is tcp)", f.Name)
		}
		if f.ForwardFor {
			d.errorf(f.rng.at("forward_for"), "frontend %q: forward_for needs mode = \"http\" (this frontend is tcp)", f.Name)
		}
		if f.H2C {
			d.errorf(f.rng.at("h2c"), "frontend %q: h2c needs mode = \"http\" (this frontend is tcp)", f.Name)
		}
		if f.Proto != "" {
			d.errorf(f.rng.at("proto"), "frontend %q: proto needs mode = \"http\" (this frontend is tcp)", f.Name)
		}
	}
	return f
}

// ParseBind parses a listening address "host:port". "*:80" and ":80" mean
// every IPv4 address, as in HAProxy. The host must be an IP address: a name
// would make the listener depend on DNS at start-up.
func ParseBind(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q is not host:port", s)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return netip.AddrPort{}, fmt.Errorf("%q: port must be 1..65535", s)
	}
	var a netip.Addr
	switch host {
	case "", "*":
		a = netip.IPv4Unspecified()
	default:
		a, err = netip.ParseAddr(host)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("%q: host must be an IP address, \"*\" or empty", s)
		}
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(p)), nil
}

var routeSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "host"}, {Name: "path_prefix"}, {Name: "backend", Required: true}, {Name: "sni"},
		{Name: "if"}, {Name: "unless"},
	},
}

func (d *decoder) decodeRoute(blk *hcl.Block) *Route {
	r := &Route{Name: blk.Labels[0]}
	b := d.body(d.content(blk, routeSchema), blk.DefRange, &r.rng)
	b.strList("host", &r.Host)
	for i, h := range r.Host {
		if h == "" || strings.ContainsAny(h, " /\t") {
			d.errorf(b.elemRange("host", i), "host: %q is not a host name", h)
		}
		r.Host[i] = strings.ToLower(h)
	}
	b.strList("path_prefix", &r.PathPrefix)
	for i, p := range r.PathPrefix {
		if !strings.HasPrefix(p, "/") {
			d.errorf(b.elemRange("path_prefix", i), "path_prefix: %q must start with \"/\"", p)
		}
	}
	b.str("backend", &r.Backend)
	d.decodeRouteSNI(b, r)
	d.decodeRouteCond(b, r)
	return r
}

var errorFileSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "status", Required: true}, {Name: "path", Required: true},
	},
}

func (d *decoder) decodeErrorFile(blk *hcl.Block, dir string) *ErrorFile {
	e := &ErrorFile{}
	b := d.body(d.content(blk, errorFileSchema), blk.DefRange, &e.rng)
	b.integer("status", &e.Status, 200, 599)
	if e.Status >= 200 && e.Status <= 599 && !slices.Contains(ErrorStatuses, e.Status) {
		d.errorf(e.rng.at("status"), "status: lbd never answers %d itself (servers' answers pass through); error_file applies to %s",
			e.Status, strings.Trim(fmt.Sprint(ErrorStatuses), "[]"))
	}
	b.str("path", &e.Path)
	if e.Path == "" {
		return e
	}
	p := e.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		d.errorf(e.rng.at("path"), "path: cannot read error file: %v", err)
		return e
	}
	resp, err := normalizeErrorFile(raw)
	if err != nil {
		d.errorf(e.rng.at("path"), "path: %s: %v", e.Path, err)
		return e
	}
	e.Response = resp
	return e
}

// normalizeErrorFile checks that raw is a complete HTTP/1.x response head
// (files are often written with bare LF line ends) and rewrites it with
// CRLF line ends in the head, so that what goes on the wire is valid.
func normalizeErrorFile(raw []byte) ([]byte, error) {
	if !bytes.HasPrefix(raw, []byte("HTTP/1.")) {
		return nil, fmt.Errorf("does not start with an HTTP/1.x status line")
	}
	var head, body []byte
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		head, body = raw[:i], raw[i+4:]
	} else if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		head, body = raw[:i], raw[i+2:]
	} else {
		return nil, fmt.Errorf("has no blank line after its headers")
	}
	lines := bytes.Split(bytes.ReplaceAll(head, []byte("\r\n"), []byte("\n")), []byte("\n"))
	status := strings.Fields(string(lines[0]))
	if len(status) < 2 || len(status[1]) != 3 {
		return nil, fmt.Errorf("bad status line %q", lines[0])
	}
	if _, err := strconv.Atoi(status[1]); err != nil {
		return nil, fmt.Errorf("bad status line %q", lines[0])
	}
	var out bytes.Buffer
	for i, l := range lines {
		if i > 0 && bytes.IndexByte(l, ':') <= 0 {
			return nil, fmt.Errorf("line %d is not a header: %q", i+1, l)
		}
		out.Write(l)
		out.WriteString("\r\n")
	}
	out.WriteString("\r\n")
	out.Write(body)
	return out.Bytes(), nil
}
