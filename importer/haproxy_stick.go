package importer

import (
	"fmt"
	"strings"
	"time"

	"lbd/config"
	"lbd/sample"
)

// Stick tables and peers sections: "stick-table type ip size 100k expire
// 30s store http_req_rate(10s),conn_cur peers mypeers" becomes the
// proxy's stick_table block (its table keeps the proxy's name, which the
// track-sc rows write); a peers section becomes a peers block.

// convStickTable converts a stick-table line.
func convStickTable(c *hctx) {
	owner := c.p.fe
	if owner == nil {
		owner = c.p.be
	}
	a := c.args
	st := newNode("stick_table", c.at())
	var store []string
	typ := ""
	for i := 0; i < len(a); i++ {
		opt := a[i]
		if opt == "nopurge" {
			c.notConverted("nopurge: lbd evicts the least recently used entry when the table is full")
			return
		}
		if i+1 >= len(a) {
			c.notConverted("%q expects a value", opt)
			return
		}
		v := a[i+1]
		i++
		switch opt {
		case "type":
			switch v {
			case "ip", "ipv6", "string":
				typ = v
				st.set("type", strV(v), c.at(), "")
			default:
				c.notConverted("type %s: lbd's stick tables hold ip, ipv6 or string keys", v)
				return
			}
		case "len":
			n, err := parseInt(v, 1, 255)
			if err != nil {
				c.notConverted("len: %v", err)
				return
			}
			st.set("len", intV(n), c.at(), "")
		case "size":
			if _, err := parseInt(strings.TrimRight(v, "kmg"), 1, 1<<28); err != nil {
				c.notConverted("size %q: %v", v, err)
				return
			}
			st.set("size", strV(v), c.at(), "")
		case "expire":
			d, err := parseHAProxyTime(v, time.Millisecond)
			if err != nil || d > config.MaxStickExpire {
				c.notConverted("expire %q is not a duration up to 24 days", v)
				return
			}
			st.set("expire", durV(d), c.at(), "")
		case "peers":
			st.set("peers", strV(v), c.at(), "")
		case "store":
			for _, s := range strings.Split(v, ",") {
				conv, why := storeItem(s)
				if why != "" {
					c.notConverted("store %s: %s", s, why)
					return
				}
				store = append(store, conv)
			}
		case "srvkey", "write-to", "recv-only":
			c.notConverted("%s: lbd's stick tables serve rate limiting (track-sc), not server persistence", opt)
			return
		default:
			c.notConverted("unknown stick-table option %q", opt)
			return
		}
	}
	if typ == "" {
		c.notConverted("a stick-table needs its type")
		return
	}
	if st.get("size") == nil {
		c.notConverted("a stick-table needs its size")
		return
	}
	if store != nil {
		st.set("store", strListV(store), c.at(), "")
	}
	owner.blocks = append(owner.blocks, st)
}

// storeItem converts one data type of a store list: a count as is, a
// rate with its period (HAProxy's milliseconds or units) as a duration.
func storeItem(s string) (string, string) {
	name, arg, paren := strings.Cut(s, "(")
	if strings.HasPrefix(name, "gpc") || strings.HasPrefix(name, "gpt") || name == "server_id" || name == "server_key" {
		return "", "lbd has no general purpose counters or stored servers"
	}
	if sample.CounterIndex(name) < 0 {
		return "", "unknown data type"
	}
	if !paren {
		if sample.IsRate(name) {
			return "", "a rate needs its period"
		}
		return name, ""
	}
	d, err := parseHAProxyTime(strings.TrimSuffix(arg, ")"), time.Millisecond)
	if err != nil || !strings.HasSuffix(arg, ")") {
		return "", "the period is not a duration"
	}
	return fmt.Sprintf("%s(%s)", name, formatDuration(d)), ""
}

// convLocalPeer remembers global's localpeer for the peers sections.
func convLocalPeer(c *hctx) {
	if len(c.args) != 1 {
		c.notConverted("expects a name")
		return
	}
	c.hc.localPeer = c.args[0]
}

// peersSecret is the file the peers block names: lbd authenticates the
// link with a secret both nodes hold; HAProxy has none.
const peersSecret = "/etc/lbd/peers.key"

// convertPeers converts a peers section: "peer NAME ADDR:PORT" lines (the
// local one is global's localpeer, else HAProxy's host name, which the
// importer cannot know: the first is taken and a note says so), or
// "bind ADDR:PORT" with "server NAME [ADDR:PORT]" lines (the one without
// an address is the local one).
func (hc *hapConv) convertPeers(s *hapSection) {
	type peer struct {
		name, addr string
		l          *srcLine
	}
	var peers []peer
	var bind string
	for _, l := range s.lines {
		w := l.words
		switch {
		case (w[0] == "peer" || w[0] == "server") && len(w) >= 2:
			p := peer{name: w[1], l: l}
			if len(w) >= 3 {
				p.addr = w[2]
			}
			if len(w) > 3 {
				hc.ns.add(l.pos, NotConverted, l.text(), "peer options are not converted")
			}
			peers = append(peers, p)
		case w[0] == "bind" && len(w) >= 2:
			bind = w[1]
			if len(w) > 2 {
				hc.ns.add(l.pos, NotConverted, l.text(), "bind options are not converted (the link is authenticated by lbd, not TLS)")
			}
		case w[0] == "disabled":
			hc.ns.add(l.pos, NotConverted, l.text(), "a disabled peers section: remove the tables' peers instead")
		case w[0] == "table":
			hc.ns.add(l.pos, NotConverted, l.text(), "declare the table in a backend (stick-table ... peers %s)", s.name)
		case w[0] == "log" || w[0] == "default-server" || w[0] == "shards":
			hc.ns.add(l.pos, Ignored, l.text(), "lbd's peers link has its own logs and settings")
		default:
			hc.ns.add(l.pos, NotConverted, l.text(), "unknown in a peers section")
		}
	}
	pb := newNode("peers", s.head.pos, s.name)
	pb.lead = append(append([]string(nil), s.head.lead...), "from "+s.head.pos.String()+": "+s.head.text())
	local, remote := -1, -1
	for i, p := range peers {
		switch {
		case bind != "" && p.addr == "":
			local = i
		case hc.localPeer != "" && p.name == hc.localPeer:
			local = i
		}
	}
	guessed := false
	if local < 0 && bind == "" && len(peers) > 0 {
		local, guessed = 0, true
	}
	for i := range peers {
		if i != local && remote < 0 {
			remote = i
		}
	}
	if len(peers) > 2 || remote < 0 {
		hc.ns.add(s.head.pos, NotConverted, s.head.text(), "lbd shares tables between the two nodes of a pair: a peers section needs exactly two peers")
		return
	}
	if bind == "" {
		bind = peers[local].addr
	}
	pb.set("bind", strV(bind), s.head.pos, "")
	pb.set("peer", strV(peers[remote].addr), peers[remote].l.pos, "")
	pb.set("secret_file", strV(peersSecret), s.head.pos, "lbd authenticates the link: the same secret on both nodes (head -c 48 /dev/urandom | base64 > "+peersSecret+")")
	if guessed {
		hc.ns.add(peers[local].l.pos, NotConverted, peers[local].l.text(),
			"HAProxy picks the local peer by host name; %s is taken as this node: on the other node, swap bind and peer", peers[local].name)
	}
	hc.doc.add(pb)
}
