package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"lbd/sample"
)

// StickTable is a frontend's or backend's stick_table block (HAProxy's
// stick-table line): the table is named after its frontend or backend,
// as in HAProxy, and rules track keys in it (track_sc0..2) and read its
// counters (sc*_*, src_*). A backend that only holds a table is
// HAProxy's usual "dummy backend" pattern.
type StickTable struct {
	Name string
	// Type is ip (IPv4 addresses), ipv6 (both families) or string.
	// Default "ip".
	Type string
	// Len is the longest string key kept (type string). Default 32.
	Len int
	// Size bounds the entries ("100k", "1m" with HAProxy's 1024-based
	// suffixes, or a number). Required.
	Size int
	// Expire removes an entry unused that long. Default 0: never (the
	// least recently used entry goes when the table is full).
	Expire time.Duration
	// Store lists the counters kept: "conn_cnt", "conn_cur",
	// "conn_rate(10s)", "http_req_cnt", "http_req_rate(10s)",
	// "http_err_cnt", "http_err_rate(10s)", "bytes_in_cnt",
	// "bytes_in_rate(1m)", "bytes_out_cnt", "bytes_out_rate(1m)". A rate
	// names its period. Default: none (the table only counts entries).
	Store []StoreCounter
	// Peers names the peers block that shares the table with the other
	// node. Default "": not shared.
	Peers string

	rng blockRanges
}

// StoreCounter is a counter of a stick table.
type StoreCounter struct {
	Counter string
	Period  time.Duration
}

// String is the counter as HAProxy writes it.
func (s StoreCounter) String() string {
	if s.Period == 0 {
		return s.Counter
	}
	return fmt.Sprintf("%s(%s)", s.Counter, s.Period)
}

// Stores reports whether the table keeps counter c.
func (t *StickTable) Stores(c string) (StoreCounter, bool) {
	for _, s := range t.Store {
		if s.Counter == c {
			return s, true
		}
	}
	return StoreCounter{}, false
}

// MaxStickExpire is the longest expire and period (HAProxy's: 2^31 ms).
const MaxStickExpire = 24 * 24 * time.Hour

var stickTableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"}, {Name: "len"}, {Name: "size", Required: true}, {Name: "expire"}, {Name: "store"}, {Name: "peers"},
	},
}

func (d *decoder) decodeStickTable(blk *hcl.Block, owner string) *StickTable {
	t := &StickTable{Name: owner, Type: "ip", Len: 32}
	b := d.body(d.content(blk, stickTableSchema), blk.DefRange, &t.rng)
	b.str("type", &t.Type)
	switch t.Type {
	case "ip", "ipv6", "string":
	case "integer", "binary":
		d.errorf(t.rng.at("type"), "type: lbd's stick tables hold ip, ipv6 or string keys, not %s", t.Type)
	default:
		b.oneOf("type", t.Type, "ip", "ipv6", "string")
	}
	b.integer("len", &t.Len, 1, 255)
	if b.has("len") && t.Type != "string" {
		d.errorf(t.rng.at("len"), "len: only for type = \"string\"")
	}
	if v, rng, ok := b.value("size"); ok {
		n, err := parseTableSize(v)
		if err != nil {
			d.errorf(rng, "size: %v", err)
		}
		t.Size = n
	}
	b.duration("expire", &t.Expire, 0, MaxStickExpire)
	b.str("peers", &t.Peers)
	var store []string
	b.strList("store", &store)
	seen := map[string]bool{}
	for i, s := range store {
		sc, err := parseStore(s)
		if err == nil && seen[sc.Counter] {
			err = fmt.Errorf("%s is stored twice", sc.Counter)
		}
		if err != nil {
			d.errorf(b.elemRange("store", i), "store: %v", err)
			continue
		}
		seen[sc.Counter] = true
		t.Store = append(t.Store, sc)
	}
	return t
}

// parseTableSize reads HAProxy's size: a number with k, m or g (×1024).
func parseTableSize(v cty.Value) (int, error) {
	var s string
	switch v.Type() {
	case cty.Number:
		s = v.AsBigFloat().Text('f', -1)
	case cty.String:
		s = v.AsString()
	default:
		return 0, fmt.Errorf("a number or a string such as \"100k\" is required")
	}
	mult, orig := 1, s
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "m"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "g"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive size (a number, or with k, m: \"100k\")", orig)
	}
	if n > 1<<28/mult {
		return 0, fmt.Errorf("at most %d entries", 1<<28)
	}
	return n * mult, nil
}

// parseStore reads "http_req_rate(10s)" or "conn_cur".
func parseStore(s string) (StoreCounter, error) {
	name, arg, paren := strings.Cut(strings.TrimSpace(s), "(")
	if sample.CounterIndex(name) < 0 || strings.HasPrefix(name, "gpc") {
		known := []string{}
		for _, c := range sample.Counters {
			if !strings.HasPrefix(c, "gpc") {
				known = append(known, c)
			}
		}
		if strings.HasPrefix(name, "gpc") || strings.HasPrefix(name, "gpt") {
			return StoreCounter{}, fmt.Errorf("%s: lbd has no general purpose counters (sc-inc-gpc0); it stores %s", name, strings.Join(known, ", "))
		}
		return StoreCounter{}, fmt.Errorf("unknown counter %q%s", name, suggest(name, known))
	}
	sc := StoreCounter{Counter: name}
	if !sample.IsRate(name) {
		if paren {
			return sc, fmt.Errorf("%s is a count: it takes no period", name)
		}
		return sc, nil
	}
	if !paren || !strings.HasSuffix(arg, ")") {
		return sc, fmt.Errorf("%s needs its period: %s(10s)", name, name)
	}
	arg = strings.TrimSuffix(arg, ")")
	p, err := time.ParseDuration(arg)
	if err != nil {
		// HAProxy writes periods in ms without a unit: http_req_rate(10000).
		if ms, e := strconv.Atoi(arg); e == nil {
			p, err = time.Duration(ms)*time.Millisecond, nil
		}
	}
	if err != nil || p < time.Millisecond || p > MaxStickExpire {
		return sc, fmt.Errorf("%s: period %q is not a duration between 1ms and %s", name, arg, MaxStickExpire)
	}
	sc.Period = p
	return sc, nil
}

// Peers is a peers block (HAProxy's peers section): the other node of
// the pair, to which this one sends the changes of the tables that name
// the block, and from which it receives its own, over TCP authenticated
// with a shared secret.
type Peers struct {
	Name string
	// Bind is where this node listens for the other's updates, "ip:port"
	// (HAProxy's "peer <local name> ip:port" line). Required.
	Bind string
	// Peer is the other node's bind. Required.
	Peer string
	// SecretFile holds the shared secret (at least 32 bytes; the
	// peer_api secret file may be the same). Required.
	SecretFile string
	Secret     []byte `json:"-"`

	rng blockRanges
}

var peersSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "bind", Required: true}, {Name: "peer", Required: true}, {Name: "secret_file", Required: true}},
}

func (d *decoder) decodePeers(blk *hcl.Block, dir string) *Peers {
	p := &Peers{Name: blk.Labels[0]}
	d.checkName(blk, "peers")
	b := d.body(d.content(blk, peersSchema), blk.DefRange, &p.rng)
	d.decodePeerLink(b, &p.rng, dir, &p.Bind, &p.Peer, &p.SecretFile, &p.Secret)
	return p
}

// String keeps the secret out of logs and errors.
func (p *Peers) String() string {
	return fmt.Sprintf("peers %q{bind %s, peer %s, secret_file %s}", p.Name, p.Bind, p.Peer, p.SecretFile)
}

// StickTables lists the configuration's tables (frontends' then
// backends').
func (c *Config) StickTables() []*StickTable {
	var out []*StickTable
	for _, f := range c.Frontends {
		if f.StickTable != nil {
			out = append(out, f.StickTable)
		}
	}
	for _, b := range c.Backends {
		if b.StickTable != nil {
			out = append(out, b.StickTable)
		}
	}
	return out
}

// StickTable returns the table of that name, or nil.
func (c *Config) StickTable(name string) *StickTable {
	for _, t := range c.StickTables() {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// PeersBlock returns the peers block of that name, or nil.
func (c *Config) PeersBlock(name string) *Peers {
	for _, p := range c.Peers {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func tableNames(cfg *Config) []string {
	var out []string
	for _, t := range cfg.StickTables() {
		out = append(out, t.Name)
	}
	return out
}

// checkStickTables checks names across blocks: a frontend and a backend
// of the same name cannot both hold a table; peers blocks exist and do
// not take another listener's address.
func (d *decoder) checkStickTables(cfg *Config) {
	first := map[string]*StickTable{}
	for _, t := range cfg.StickTables() {
		if prev, dup := first[t.Name]; dup {
			d.errorf(t.rng.block, "a frontend and a backend named %q both hold a stick_table: tables are named after their block (the first one is at line %d)", t.Name, prev.rng.block.Start.Line)
			continue
		}
		first[t.Name] = t
		if t.Peers != "" && cfg.PeersBlock(t.Peers) == nil {
			var names []string
			for _, p := range cfg.Peers {
				names = append(names, p.Name)
			}
			d.errorf(t.rng.at("peers"), "peers: unknown peers block %q%s", t.Peers, suggest(t.Peers, names))
		}
	}
	seen := map[string]string{}
	for _, p := range cfg.Peers {
		if prev, dup := seen[p.Name]; dup {
			d.errorf(p.rng.block, "duplicate peers %q (%s)", p.Name, prev)
			continue
		}
		seen[p.Name] = p.Bind
		if cfg.PeerAPI != nil && cfg.PeerAPI.Bind == p.Bind {
			d.errorf(p.rng.at("bind"), "bind: %s is peer_api's", p.Bind)
		}
		if cfg.Stats != nil && cfg.Stats.Bind == p.Bind {
			d.errorf(p.rng.at("bind"), "bind: %s is the stats page's", p.Bind)
		}
		for _, fe := range cfg.Frontends {
			for _, bind := range fe.Bind {
				if bind == p.Bind {
					d.errorf(p.rng.at("bind"), "bind: %s is frontend %q's", p.Bind, fe.Name)
				}
			}
		}
	}
}

// checkTablesStore checks that the tables a counter is read from exist
// and store it.
func (d *decoder) checkTablesStore(cfg *Config, tables []string, e *sample.Expr, rng hcl.Range) {
	for _, name := range tables {
		t := cfg.StickTable(name)
		if t == nil {
			d.errorf(rng, "%s: unknown stick table %q%s", e.Src, name, suggest(name, tableNames(cfg)))
			continue
		}
		if _, ok := t.Stores(e.Fetch.Counter); !ok {
			var st []string
			for _, s := range t.Store {
				st = append(st, s.String())
			}
			d.errorf(rng, "%s: stick table %q does not store %s (store = [%s])", e.Src, name, e.Fetch.Counter, strings.Join(st, ", "))
		}
	}
}

// checkTrack checks a track rule: its table (the frontend's own when the
// rule names none) exists and can hold its key.
func (d *decoder) checkTrack(cfg *Config, f *Frontend, r *Rule) {
	if r.Table == "" {
		if f.StickTable == nil {
			d.errorf(r.rng.block, "%s: frontend %q has no stick_table: add one, or name another frontend's or backend's with table = \"...\"", r.Action, f.Name)
			return
		}
		r.Table = f.Name
	}
	t := cfg.StickTable(r.Table)
	if t == nil {
		d.errorf(r.rng.at("table"), "table: unknown stick table %q%s", r.Table, suggest(r.Table, tableNames(cfg)))
		return
	}
	if r.Key != nil && t.Type != "string" && r.Key.Out() != sample.IP {
		d.errorf(r.rng.at("key"), "key: %s is not an address, which stick table %q (type %s) holds; use a table of type \"string\"", r.Key.Src, t.Name, t.Type)
	}
}

// retryAfter is the Retry-After of a 429 deny (or tarpit) whose condition
// reads rate counters: their longest period.
func retryAfter(cfg *Config, f *Frontend, c *Condition) time.Duration {
	if c == nil {
		return 0
	}
	var longest time.Duration
	var walk func(x *sample.Cond)
	walk = func(x *sample.Cond) {
		if x.Op != sample.OpName {
			for _, k := range x.Kids {
				walk(k)
			}
			return
		}
		a := f.Policy.ACL(x.Name)
		if a == nil {
			return
		}
		for _, m := range a.Matchers {
			e := m.Sample
			if e == nil || e.Fetch.Def.ID != sample.FSC || !sample.IsRate(e.Fetch.Counter) {
				continue
			}
			tables := []string{e.Fetch.Table}
			if e.Fetch.Table == "" {
				tables = (&decoder{}).trackedTables(f, e.Fetch.Slot)
			}
			for _, name := range tables {
				if t := cfg.StickTable(name); t != nil {
					if s, ok := t.Stores(e.Fetch.Counter); ok && s.Period > longest {
						longest = s.Period
					}
				}
			}
		}
	}
	walk(c.Expr)
	return longest
}
