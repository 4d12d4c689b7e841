package rules

import (
	"bytes"
	"net/netip"
	"strconv"

	"lbd/h1"
	"lbd/sample"
)

// value is a sample: bytes (pointing into the request, the workspace or
// a map's value), an integer, an address or a boolean.
type value struct {
	typ sample.Type
	ok  bool
	b   []byte
	i   int64
	ip  netip.Addr
}

// fetch is a compiled sample fetch.
type fetch struct {
	id      sample.FetchID
	name    []byte // header, cookie or parameter name
	occ     int    // occurrence: 0 = the fetch's default, >0 from the first, <0 from the last
	lit     value  // str() and int()
	slot    int    // stick counters
	counter int
	table   any // stick counters of a named table (nil: the tracked entry)
}

func compileFetch(f *sample.Fetch, tables func(string) any) fetch {
	x := fetch{id: f.Def.ID, slot: f.Slot}
	if len(f.Args) > 0 {
		x.name = []byte(f.Args[0])
	}
	if len(f.Args) > 1 && f.Def.ID != sample.FSC {
		x.occ, _ = strconv.Atoi(f.Args[1])
	}
	switch f.Def.ID {
	case sample.FStr:
		x.lit = value{typ: sample.Str, ok: true, b: []byte(f.Args[0])}
	case sample.FInt:
		n, _ := strconv.ParseInt(f.Args[0], 10, 64)
		x.lit = value{typ: sample.Int, ok: true, i: n}
	case sample.FSC:
		x.counter = sample.CounterIndex(f.Counter)
		if f.Src {
			x.slot = SlotSrc
		}
		if f.Table != "" && tables != nil {
			x.table = tables(f.Table)
		}
	}
	return x
}

// get fetches the single value of a sample (HAProxy's sample context:
// the last occurrence of a header or cookie, the first URL parameter).
func (f *fetch) get(c *Ctx) value {
	req := c.Req
	switch f.id {
	case sample.FSrc:
		return ipValue(c.Src.Addr())
	case sample.FSrcPort:
		return intValue(int64(c.Src.Port()), c.Src.IsValid())
	case sample.FDst:
		return ipValue(c.Dst.Addr())
	case sample.FDstPort:
		return intValue(int64(c.Dst.Port()), c.Dst.IsValid())
	case sample.FSSLFC:
		return value{typ: sample.Bool, ok: true, i: b2i(c.TLS)}
	case sample.FSSLSNI, sample.FReqSSLSNI:
		return strValue(c.SNI, len(c.SNI) > 0)
	case sample.FSSLCUsed:
		return value{typ: sample.Bool, ok: true, i: b2i(c.ClientCertUsed)}
	case sample.FSSLCVerify:
		return intValue(int64(c.ClientVerify), c.TLS)
	case sample.FStr, sample.FInt:
		return f.lit
	case sample.FSC:
		if c.Counters == nil {
			return value{typ: sample.Int}
		}
		n, ok := c.Counters.Counter(f.slot, f.table, f.counter)
		return intValue(n, ok)
	case sample.FStatus:
		if c.Resp == nil {
			return value{typ: sample.Int}
		}
		return intValue(int64(c.Resp.Status), true)
	case sample.FResHdr, sample.FResFHdr:
		return f.header(c, c.Resp)
	case sample.FResHdrCnt:
		return intValue(int64(f.count(c.Resp)), c.Resp != nil)
	}
	if req == nil {
		return value{typ: f.outType()}
	}
	switch f.id {
	case sample.FMethod:
		return strValue(req.Bytes(req.Method), true)
	case sample.FPath:
		return strValue(req.Bytes(req.Path), true)
	case sample.FQuery:
		q, ok := query(req)
		return strValue(q, ok)
	case sample.FURL:
		return strValue(req.Bytes(req.Target), true)
	case sample.FHost:
		h := req.HostValue()
		return strValue(h, h != nil)
	case sample.FBase:
		h := req.HostField()
		p := req.Bytes(req.Path)
		b := c.grow(len(h) + len(p))
		copy(b, h)
		copy(b[len(h):], p)
		return strValue(c.keep(len(b)), true)
	case sample.FReqVer:
		if req.Minor == 0 {
			return strValue(ver10, true)
		}
		return strValue(ver11, true)
	case sample.FHdr, sample.FFHdr:
		return f.header(c, req)
	case sample.FHdrCnt:
		return intValue(int64(f.count(req)), true)
	case sample.FCook:
		var it cookieIter
		it.init(req, f.name)
		var last []byte
		found := false
		for it.next() {
			last, found = it.val, true
		}
		return strValue(last, found)
	case sample.FURLParam:
		var it paramIter
		it.init(req, f.name)
		if it.next() {
			return strValue(it.val, true)
		}
		return value{typ: sample.Str}
	}
	return value{typ: f.outType()}
}

func (f *fetch) outType() sample.Type {
	switch f.id {
	case sample.FSrc, sample.FDst:
		return sample.IP
	case sample.FSrcPort, sample.FDstPort, sample.FSC, sample.FStatus, sample.FHdrCnt, sample.FResHdrCnt, sample.FInt, sample.FSSLCVerify:
		return sample.Int
	case sample.FSSLFC, sample.FSSLCUsed:
		return sample.Bool
	}
	return sample.Str
}

// header returns one occurrence of a header: by default the last value
// (hdr splits values on commas, fhdr does not), or the occ-th.
func (f *fetch) header(c *Ctx, m *h1.Head) value {
	if m == nil {
		return value{typ: sample.Str}
	}
	full := f.id == sample.FFHdr || f.id == sample.FResFHdr
	var it hdrIter
	it.init(m, f.name, full)
	if f.occ > 0 {
		for n := 0; it.next(); {
			if n++; n == f.occ {
				return strValue(it.val, true)
			}
		}
		return value{typ: sample.Str}
	}
	if f.occ == 0 {
		var last []byte
		found := false
		for it.next() {
			last, found = it.val, true
		}
		return strValue(last, found)
	}
	// The |occ|-th from the end: count first.
	total := 0
	for it.next() {
		total++
	}
	want := total
	if f.occ < 0 {
		want = total + 1 + f.occ
	}
	if want <= 0 {
		return value{typ: sample.Str}
	}
	it.init(m, f.name, full)
	for n := 0; it.next(); {
		if n++; n == want {
			return strValue(it.val, true)
		}
	}
	return value{typ: sample.Str}
}

// count is hdr_cnt: the number of values (comma-separated ones count).
func (f *fetch) count(m *h1.Head) int {
	if m == nil {
		return 0
	}
	var it hdrIter
	it.init(m, f.name, false)
	n := 0
	for it.next() {
		n++
	}
	return n
}

var ver10, ver11 = []byte("1.0"), []byte("1.1")

func strValue(b []byte, ok bool) value { return value{typ: sample.Str, ok: ok, b: b} }
func intValue(i int64, ok bool) value  { return value{typ: sample.Int, ok: ok, i: i} }
func ipValue(a netip.Addr) value       { return value{typ: sample.IP, ok: a.IsValid(), ip: a.Unmap()} }

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// query returns what follows the first '?' of the target, and whether
// there is one (HAProxy's query: found and empty for "/a?").
func query(req *h1.Head) ([]byte, bool) {
	t := req.Bytes(req.Target)
	i := bytes.IndexByte(t, '?')
	if i < 0 {
		return nil, false
	}
	return t[i+1:], true
}

// hdrIter walks the values of a header, in order: with full, each field
// line's value; otherwise each comma-separated value of each line (commas
// inside double quotes do not count), blanks around trimmed, empty values
// included, as HAProxy's hdr().
type hdrIter struct {
	m    *h1.Head
	name []byte
	full bool
	i    int    // next field
	rest []byte // the rest of the current line's value
	more bool   // rest holds more values
	val  []byte
}

func (it *hdrIter) init(m *h1.Head, name []byte, full bool) {
	*it = hdrIter{m: m, name: name, full: full}
}

func (it *hdrIter) next() bool {
	for {
		if it.more {
			it.val, it.rest, it.more = splitValue(it.rest)
			return true
		}
		for it.i < len(it.m.Fields) {
			f := &it.m.Fields[it.i]
			it.i++
			if !h1.EqFoldBytes(it.m.Bytes(f.Name), it.name) {
				continue
			}
			v := it.m.Bytes(f.Value)
			if it.full {
				it.val = v
				return true
			}
			it.val, it.rest, it.more = splitValue(v)
			return true
		}
		return false
	}
}

// splitValue cuts the first comma-separated value off v.
func splitValue(v []byte) (val, rest []byte, more bool) {
	q := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case q && c == '\\':
			i++
		case c == '"':
			q = !q
		case c == ',' && !q:
			return trimLWS(v[:i]), v[i+1:], true
		}
	}
	return trimLWS(v), nil, false
}

func trimLWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

var cookieName = []byte("cookie")

// cookieIter walks the values of the cookies named name in the Cookie
// header lines, as HAProxy's req.cook: name=value pairs separated by ';'
// (and ',' for old clients), names compared exactly.
type cookieIter struct {
	h    hdrIter
	name []byte
	rest []byte
	val  []byte
}

func (it *cookieIter) init(m *h1.Head, name []byte) {
	it.h.init(m, cookieName, true)
	it.name, it.rest = name, nil
}

func (it *cookieIter) next() bool {
	for {
		for len(it.rest) > 0 {
			var pair []byte
			if i := bytes.IndexAny(it.rest, ";,"); i >= 0 {
				pair, it.rest = it.rest[:i], it.rest[i+1:]
			} else {
				pair, it.rest = it.rest, nil
			}
			pair = trimLWS(pair)
			eq := bytes.IndexByte(pair, '=')
			if eq < 0 {
				continue
			}
			if bytes.Equal(trimLWS(pair[:eq]), it.name) {
				it.val = trimLWS(pair[eq+1:])
				return true
			}
		}
		if !it.h.next() {
			return false
		}
		it.rest = it.h.val
	}
}

// paramIter walks the values of a query-string parameter as HAProxy's
// url_param: parameters start after the first '?' and are separated by
// '&' or ';'; a parameter counts only written as "name=value" (a bare
// "name" is not found), its name compared exactly.
type paramIter struct {
	q    []byte
	name []byte
	val  []byte
}

func (it *paramIter) init(req *h1.Head, name []byte) {
	q, _ := query(req)
	it.q, it.name = q, name
}

func (it *paramIter) next() bool {
	for len(it.q) > 0 {
		var p []byte
		if i := bytes.IndexAny(it.q, "&;?"); i >= 0 {
			p, it.q = it.q[:i], it.q[i+1:]
		} else {
			p, it.q = it.q, nil
		}
		if len(p) > len(it.name) && p[len(it.name)] == '=' && bytes.Equal(p[:len(it.name)], it.name) {
			it.val = p[len(it.name)+1:]
			return true
		}
	}
	return false
}
