package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Load reads and validates the file at path. On failure the error is
// Diagnostics listing every problem found.
func Load(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, Diagnostics{{File: path, Message: fmt.Sprintf("cannot read configuration: %v", err)}}
	}
	return Parse(path, src)
}

// Parse reads and validates a configuration held in memory. filename is
// used in diagnostics and to resolve relative paths (error files).
func Parse(filename string, src []byte) (*Config, error) {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		return nil, fromHCL(filename, diags)
	}
	d := &decoder{dir: filepath.Dir(filename)}
	cfg := d.decodeFile(filename, file.Body)
	d.validate(cfg)
	if d.diags.HasErrors() {
		return nil, fromHCL(filename, d.diags)
	}
	cfg.Warnings = warningsFromHCL(filename, d.diags)
	return cfg, nil
}

var fileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "global"},
		{Type: "defaults"},
		{Type: "frontend", LabelNames: []string{"name"}},
		{Type: "backend", LabelNames: []string{"name"}},
		{Type: "stats"},
		{Type: "acme"},
		{Type: "vrrp_script", LabelNames: []string{"name"}},
		{Type: "vrrp_instance", LabelNames: []string{"name"}},
		{Type: "vrrp_sync_group", LabelNames: []string{"name"}},
		{Type: "bgp"},
		{Type: "peer_api"},
		{Type: "map", LabelNames: []string{"name"}},
		{Type: "peers", LabelNames: []string{"name"}},
	},
}

func (d *decoder) decodeFile(filename string, b hcl.Body) *Config {
	cfg := &Config{Filename: filename}
	cfg.Global = defaultGlobal()
	cfg.Defaults = defaultDefaults()
	d.tlsBind, d.tlsServer = cfg.Global.SSLDefaultBind, cfg.Global.SSLDefaultServer

	content, diags := b.Content(fileSchema)
	d.diags = append(d.diags, diags...)

	// global and defaults first, wherever they are in the file: frontends
	// and backends inherit from defaults.
	seen := map[string]hcl.Range{}
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "global", "defaults", "stats", "bgp", "acme", "peer_api":
			if prev, dup := seen[blk.Type]; dup {
				d.errorf(blk.DefRange, "duplicate %s block; the first one is at line %d", blk.Type, prev.Start.Line)
				continue
			}
			seen[blk.Type] = blk.DefRange
			switch blk.Type {
			case "global":
				d.decodeGlobal(blk, &cfg.Global)
			case "defaults":
				d.decodeDefaults(blk, &cfg.Defaults)
			case "acme":
				cfg.ACME = d.decodeACME(blk)
				d.acme = cfg.ACME
			case "peer_api":
				cfg.PeerAPI = d.decodePeerAPI(blk, filepath.Dir(filename))
			}
		}
	}
	dir := filepath.Dir(filename)
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "frontend":
			cfg.Frontends = append(cfg.Frontends, d.decodeFrontend(blk, cfg.Defaults, dir))
		case "backend":
			cfg.Backends = append(cfg.Backends, d.decodeBackend(blk, cfg.Defaults))
		case "stats":
			if seen["stats"] == blk.DefRange {
				cfg.Stats = d.decodeStats(blk)
			}
		case "vrrp_script":
			cfg.VRRPScripts = append(cfg.VRRPScripts, d.decodeVRRPScript(blk))
		case "vrrp_instance":
			cfg.VRRPInstances = append(cfg.VRRPInstances, d.decodeVRRPInstance(blk))
		case "vrrp_sync_group":
			cfg.VRRPSyncGroups = append(cfg.VRRPSyncGroups, d.decodeVRRPSyncGroup(blk))
		case "bgp":
			if seen["bgp"] == blk.DefRange {
				cfg.BGP = d.decodeBGP(blk)
			}
		case "map":
			cfg.Maps = append(cfg.Maps, d.decodeMap(blk))
		case "peers":
			cfg.Peers = append(cfg.Peers, d.decodePeers(blk, dir))
		}
	}
	return cfg
}

func (d *decoder) content(blk *hcl.Block, schema *hcl.BodySchema) *hcl.BodyContent {
	c, diags := blk.Body.Content(schema)
	d.diags = append(d.diags, diags...)
	return c
}

var globalSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "maxconn"}, {Name: "admin_socket"}, {Name: "log_level"},
		{Name: "log_format"}, {Name: "grace"}, {Name: "log_tag"},
		{Name: "tls_ticket_secret"}, {Name: "tls_ticket_rotate"}, {Name: "tls_session_cache"}, {Name: "tls_session_lifetime"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "ssl_default_bind"}, {Type: "ssl_default_server"}, {Type: "log", LabelNames: []string{"target"}}, {Type: "h2"}},
}

func defaultGlobal() Global {
	return Global{
		MaxConn:     50000,
		AdminSocket: "/run/lbd/admin.sock",
		LogLevel:    "info",
		LogFormat:   "json",
		Grace:       10 * time.Second,
		LogTag:      "lbd",

		SSLDefaultBind:   defaultTLSDefaults(),
		SSLDefaultServer: defaultTLSDefaults(),
		Tickets:          defaultTickets(),
		H2:               defaultH2(),
	}
}

func (d *decoder) decodeGlobal(blk *hcl.Block, g *Global) {
	var rng blockRanges
	c := d.content(blk, globalSchema)
	b := d.body(c, blk.DefRange, &rng)
	b.integer("maxconn", &g.MaxConn, 1, 10_000_000)
	b.str("admin_socket", &g.AdminSocket)
	if b.has("admin_socket") && g.AdminSocket == "" {
		d.errorf(rng.at("admin_socket"), "admin_socket: a path is required")
	}
	b.str("log_level", &g.LogLevel)
	b.oneOf("log_level", g.LogLevel, "trace", "debug", "info", "warn", "error")
	b.str("log_format", &g.LogFormat)
	b.oneOf("log_format", g.LogFormat, "json", "console")
	b.duration("grace", &g.Grace, 0, 24*time.Hour)
	d.decodeGlobalTLS(b, c.Blocks, g, d.dir)
	b.str("log_tag", &g.LogTag)
	if b.has("log_tag") && !isLogTag(g.LogTag) {
		d.errorf(rng.at("log_tag"), "log_tag: %q must be 1..32 printable characters without blanks, \":\" or \"[\"", g.LogTag)
	}
	for _, lb := range c.Blocks {
		if lb.Type == "log" {
			g.Logs = append(g.Logs, d.decodeLogTarget(lb))
		}
	}
	if hb := d.single(c.Blocks, "h2"); hb != nil {
		d.decodeH2(hb, &g.H2)
	}
}

// isLogTag reports whether s can be a syslog tag (RFC 3164 section 4.1.3:
// alphanumerics, at most 32; RFC 5424 APP-NAME: printable ASCII, at most
// 48): printable ASCII without blanks and the characters that end a tag.
func isLogTag(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == ':' || s[i] == '[' || s[i] == ']' {
			return false
		}
	}
	return true
}

var defaultsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "mode"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "timeouts"}},
}

func defaultDefaults() Defaults {
	return Defaults{
		Mode: ModeHTTP,
		Timeouts: Timeouts{
			Connect:       5 * time.Second,
			Client:        30 * time.Second,
			Server:        30 * time.Second,
			HTTPRequest:   10 * time.Second,
			HTTPKeepAlive: 10 * time.Second,
			Queue:         30 * time.Second,
			Tunnel:        time.Hour,
		},
	}
}

func (d *decoder) decodeDefaults(blk *hcl.Block, def *Defaults) {
	var rng blockRanges
	c := d.content(blk, defaultsSchema)
	b := d.body(c, blk.DefRange, &rng)
	b.mode(&def.Mode)
	d.decodeTimeoutBlocks(c.Blocks, &def.Timeouts, "")
}

// mode reads the mode attribute shared by defaults, frontends and backends.
func (b body) mode(dst *Mode) {
	if !b.has("mode") {
		return
	}
	s := "\x00" // stays so when the value has the wrong type (reported)
	b.str("mode", &s)
	switch s {
	case "\x00":
	case string(ModeHTTP), string(ModeTCP):
		*dst = Mode(s)
	default:
		b.oneOf("mode", s, "http", "tcp")
	}
}

var timeoutsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "connect"}, {Name: "client"}, {Name: "server"}, {Name: "http_request"},
		{Name: "http_keep_alive"}, {Name: "queue"}, {Name: "tunnel"},
	},
}

// decodeTimeoutBlocks applies the timeouts blocks found among blocks (there
// is at most one) over t, which holds the inherited values.
// timeoutSide says which timeouts a frontend and a backend use (HAProxy's
// split): the client side's belong to the frontend, the server side's to
// the backend. defaults may set all of them.
var timeoutSide = map[string]string{
	"client": "frontend", "http_request": "frontend", "http_keep_alive": "frontend",
	"connect": "backend", "server": "backend", "queue": "backend", "tunnel": "backend",
}

// decodeTimeoutBlocks reads the timeouts block of defaults (in "") or of
// a frontend or backend (in "frontend", "backend"), where a timeout of the
// other side is refused: it would be silently unused (HAProxy warns).
func (d *decoder) decodeTimeoutBlocks(blocks hcl.Blocks, t *Timeouts, in string) {
	var first *hcl.Block
	for _, blk := range blocks {
		if blk.Type != "timeouts" {
			continue
		}
		if first != nil {
			d.errorf(blk.DefRange, "duplicate timeouts block; the first one is at line %d", first.DefRange.Start.Line)
			continue
		}
		first = blk
		var rng blockRanges
		b := d.body(d.content(blk, timeoutsSchema), blk.DefRange, &rng)
		const lo, hi = time.Millisecond, 7 * 24 * time.Hour
		b.duration("connect", &t.Connect, lo, hi)
		b.duration("client", &t.Client, lo, hi)
		b.duration("server", &t.Server, lo, hi)
		b.duration("http_request", &t.HTTPRequest, lo, hi)
		b.duration("http_keep_alive", &t.HTTPKeepAlive, lo, hi)
		b.duration("queue", &t.Queue, lo, hi)
		b.duration("tunnel", &t.Tunnel, lo, hi)
		if in == "" {
			continue
		}
		for _, name := range []string{"connect", "client", "server", "http_request", "http_keep_alive", "queue", "tunnel"} {
			if _, set := rng.attrs[name]; set && timeoutSide[name] != in {
				d.errorf(rng.at(name), "%s: a %s does not use this timeout (the %s's does); set it in the %s or in defaults",
					name, in, timeoutSide[name], timeoutSide[name])
			}
		}
	}
}

// checkName refuses a label that lbctl could not name: backends, servers
// and VRRP instances are addressed as BACKEND/SERVER or NAME on the
// command line and as path segments of the admin API.
func (d *decoder) checkName(blk *hcl.Block, kind string) {
	n := blk.Labels[0]
	if n == "" || n == "." || n == ".." || strings.HasPrefix(n, "-") || strings.ContainsAny(n, "/ \t\r\n") {
		d.errorf(blk.LabelRanges[0], "%s name %q must not be empty, \".\" or \"..\", start with \"-\" or contain \"/\" or blanks", kind, n)
	}
}

// single returns the only block of that type, reporting extra ones.
func (d *decoder) single(blocks hcl.Blocks, typ string) *hcl.Block {
	var first *hcl.Block
	for _, blk := range blocks {
		if blk.Type != typ {
			continue
		}
		if first != nil {
			d.errorf(blk.DefRange, "duplicate %s block; the first one is at line %d", typ, first.DefRange.Start.Line)
			continue
		}
		first = blk
	}
	return first
}

// words splits a command line as keepalived does for scripts: blanks
// separate words, single or double quotes group them, a backslash escapes
// the next character outside single quotes.
func words(s string) ([]string, error) {
	var (
		out   []string
		cur   strings.Builder
		inTok bool
		quote rune
		esc   bool
	)
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\' && quote != '\'':
			esc, inTok = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inTok = r, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if inTok {
				out = append(out, cur.String())
				cur.Reset()
				inTok = false
			}
		default:
			cur.WriteRune(r)
			inTok = true
		}
	}
	if esc {
		return nil, fmt.Errorf("ends with a lone backslash")
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inTok {
		out = append(out, cur.String())
	}
	return out, nil
}

// SplitCommand splits a script or notify command line into program and
// arguments with the rules documented on VRRPScript.Script.
func SplitCommand(s string) ([]string, error) { return words(s) }
