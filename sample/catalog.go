package sample

import (
	"fmt"
	"sort"
	"strings"
)

// Type is the type of a sample.
type Type uint8

// Sample types.
const (
	Str  Type = iota // bytes
	Int              // a signed integer
	IP               // an IPv4 or IPv6 address
	Bool             // true or false
)

func (t Type) String() string {
	return [...]string{"string", "integer", "address", "boolean"}[t]
}

// Phase says when a fetch has a value: on the connection, once the
// request head is parsed, or once the response head is.
type Phase uint8

// Phases, in the order they are reached.
const (
	Conn Phase = iota
	Req
	Resp
)

func (p Phase) String() string { return [...]string{"connection", "request", "response"}[p] }

// FetchID identifies a fetch for the evaluator.
type FetchID uint8

// The fetches lbd knows. Names and meanings are HAProxy's.
const (
	FSrc FetchID = iota
	FSrcPort
	FDst
	FDstPort
	FMethod
	FPath
	FQuery
	FURL
	FBase
	FHost
	FHdr
	FFHdr
	FHdrCnt
	FCook
	FURLParam
	FReqVer
	FSSLFC
	FSSLSNI
	FSSLCUsed
	FSSLCVerify
	FSC // a stick counter: Counter and Slot say which
	FStatus
	FResHdr
	FResFHdr
	FResHdrCnt
	FStr
	FInt
	FReqSSLSNI
)

// FetchDef describes a fetch.
type FetchDef struct {
	ID      FetchID
	Name    string
	MinArgs int
	MaxArgs int
	Out     Type
	Phase   Phase
	Help    string
}

var fetchDefs = []*FetchDef{
	{ID: FSrc, Name: "src", Out: IP, Phase: Conn, Help: "the client's address (from the PROXY protocol header when there is one)"},
	{ID: FSrcPort, Name: "src_port", Out: Int, Phase: Conn},
	{ID: FDst, Name: "dst", Out: IP, Phase: Conn, Help: "the address the client reached"},
	{ID: FDstPort, Name: "dst_port", Out: Int, Phase: Conn},
	{ID: FMethod, Name: "method", Out: Str, Phase: Req},
	{ID: FPath, Name: "path", Out: Str, Phase: Req, Help: "the path, without the query string"},
	{ID: FQuery, Name: "query", Out: Str, Phase: Req, Help: "what follows the first '?'"},
	{ID: FURL, Name: "url", Out: Str, Phase: Req, Help: "the request target as sent"},
	{ID: FBase, Name: "base", Out: Str, Phase: Req, Help: "Host followed by the path"},
	{ID: FHost, Name: "host", Out: Str, Phase: Req, Help: "the request's host without its port"},
	{ID: FHdr, Name: "req.hdr", MinArgs: 1, MaxArgs: 2, Out: Str, Phase: Req},
	{ID: FFHdr, Name: "req.fhdr", MinArgs: 1, MaxArgs: 2, Out: Str, Phase: Req},
	{ID: FHdrCnt, Name: "req.hdr_cnt", MinArgs: 1, MaxArgs: 1, Out: Int, Phase: Req},
	{ID: FCook, Name: "req.cook", MinArgs: 1, MaxArgs: 1, Out: Str, Phase: Req},
	{ID: FURLParam, Name: "url_param", MinArgs: 1, MaxArgs: 1, Out: Str, Phase: Req},
	{ID: FReqVer, Name: "req.ver", Out: Str, Phase: Req},
	{ID: FSSLFC, Name: "ssl_fc", Out: Bool, Phase: Conn},
	{ID: FSSLSNI, Name: "ssl_fc_sni", Out: Str, Phase: Conn},
	{ID: FReqSSLSNI, Name: "req.ssl_sni", Out: Str, Phase: Conn, Help: "the server name of a TLS ClientHello, read without terminating (tcp_request content)"},
	{ID: FSSLCUsed, Name: "ssl_c_used", Out: Bool, Phase: Conn},
	{ID: FSSLCVerify, Name: "ssl_c_verify", Out: Int, Phase: Conn},
	{ID: FStatus, Name: "status", Out: Int, Phase: Resp},
	{ID: FResHdr, Name: "res.hdr", MinArgs: 1, MaxArgs: 2, Out: Str, Phase: Resp},
	{ID: FResFHdr, Name: "res.fhdr", MinArgs: 1, MaxArgs: 2, Out: Str, Phase: Resp},
	{ID: FResHdrCnt, Name: "res.hdr_cnt", MinArgs: 1, MaxArgs: 1, Out: Int, Phase: Resp},
	{ID: FStr, Name: "str", MinArgs: 1, MaxArgs: 1, Out: Str, Phase: Conn},
	{ID: FInt, Name: "int", MinArgs: 1, MaxArgs: 1, Out: Int, Phase: Conn},
}

// fetchAliases are HAProxy's other names for the same fetches.
var fetchAliases = map[string]string{
	"hdr": "req.hdr", "fhdr": "req.fhdr", "hdr_cnt": "req.hdr_cnt",
	"cook": "req.cook", "urlp": "url_param", "shdr": "res.hdr",
	"req_ssl_sni": "req.ssl_sni",
}

// Counters are the stick-table data types, as HAProxy names them. The
// rate counters take a period in the table's store list.
var Counters = []string{
	"conn_cnt", "conn_rate", "conn_cur",
	"http_req_cnt", "http_req_rate",
	"http_err_cnt", "http_err_rate",
	"bytes_in_cnt", "bytes_in_rate",
	"bytes_out_cnt", "bytes_out_rate",
	"gpc0", "gpc0_rate",
}

// CounterIndex returns the index of a counter name in Counters, or -1.
func CounterIndex(name string) int {
	for i, c := range Counters {
		if c == name {
			return i
		}
	}
	return -1
}

// IsRate reports whether a counter is a rate over a period.
func IsRate(name string) bool { return strings.HasSuffix(name, "_rate") }

// MaxSlots is the number of sticky counters a request tracks (HAProxy's
// track-sc0, -sc1 and -sc2).
const MaxSlots = 3

var fetchByName = func() map[string]*FetchDef {
	m := map[string]*FetchDef{}
	for _, f := range fetchDefs {
		m[f.Name] = f
	}
	return m
}()

var scDef = &FetchDef{ID: FSC, Name: "sc_*", MinArgs: 1, MaxArgs: 1, Out: Int, Phase: Conn}

// srcDef is src_<counter>([table]): the counter of the client address's
// entry, looked up without tracking it.
var srcDef = &FetchDef{ID: FSC, Name: "src_*", Out: Int, Phase: Conn}

// SlotSrc is the slot LookupFetch gives src_<counter> fetches.
const SlotSrc = -2

// LookupFetch finds a fetch by name (or alias). For stick counters
// ("sc_http_req_rate" with the slot as argument, or "sc0_http_req_rate")
// it returns the generic definition and the counter and slot: slot is -1
// when it comes from the argument, SlotSrc for src_<counter>.
func LookupFetch(name string) (def *FetchDef, counter string, slot int, ok bool) {
	if a, ok := fetchAliases[name]; ok {
		name = a
	}
	if d, ok := fetchByName[name]; ok {
		return d, "", 0, true
	}
	if c, found := strings.CutPrefix(name, "sc_"); found && CounterIndex(c) >= 0 {
		return scDef, c, -1, true
	}
	if c, found := strings.CutPrefix(name, "src_"); found && CounterIndex(c) >= 0 {
		return srcDef, c, SlotSrc, true
	}
	for s := 0; s < MaxSlots; s++ {
		if c, found := strings.CutPrefix(name, fmt.Sprintf("sc%d_", s)); found && CounterIndex(c) >= 0 {
			d := *scDef
			d.MinArgs, d.MaxArgs = 0, 0
			return &d, c, s, true
		}
	}
	return nil, "", 0, false
}

// FetchNames lists the fetch names lbd knows (for suggestions).
func FetchNames() []string {
	var out []string
	for _, f := range fetchDefs {
		out = append(out, f.Name)
	}
	for a := range fetchAliases {
		out = append(out, a)
	}
	for _, c := range Counters {
		out = append(out, "sc_"+c, "sc0_"+c, "src_"+c)
	}
	sort.Strings(out)
	return out
}

// ConvID identifies a converter for the evaluator.
type ConvID uint8

// Converters.
const (
	CLower ConvID = iota
	CUpper
	CMap // a map lookup: MapMatch says how
	CField
	CIPMask
	CHostOnly
)

// ConvDef describes a converter.
type ConvDef struct {
	ID       ConvID
	Name     string
	MinArgs  int
	MaxArgs  int
	In       Type // the sample type it takes (Str converters take any, as text)
	Out      Type
	MapMatch string // for map converters: str, beg, end, sub, dom, reg, ip
}

var convDefs = []*ConvDef{
	{ID: CLower, Name: "lower", In: Str, Out: Str},
	{ID: CUpper, Name: "upper", In: Str, Out: Str},
	{ID: CField, Name: "field", MinArgs: 2, MaxArgs: 2, In: Str, Out: Str},
	{ID: CIPMask, Name: "ipmask", MinArgs: 1, MaxArgs: 2, In: IP, Out: IP},
	{ID: CHostOnly, Name: "host_only", In: Str, Out: Str},
	{ID: CMap, Name: "map", MinArgs: 1, MaxArgs: 2, In: Str, Out: Str, MapMatch: "str"},
	{ID: CMap, Name: "map_str", MinArgs: 1, MaxArgs: 2, In: Str, Out: Str, MapMatch: "str"},
	{ID: CMap, Name: "map_beg", MinArgs: 1, MaxArgs: 2, In: Str, Out: Str, MapMatch: "beg"},
	{ID: CMap, Name: "map_end", MinArgs: 1, MaxArgs: 2, In: Str, Out: Str, MapMatch: "end"},
	{ID: CMap, Name: "map_sub", MinArgs: 1, MaxArgs: 2, In: Str, Out: Str, MapMatch: "sub"},
	{ID: CMap, Name: "map_dom", MinArgs: 1, MaxArgs: 2, In: Str, Out: Str, MapMatch: "dom"},
	{ID: CMap, Name: "map_reg", MinArgs: 1, MaxArgs: 2, In: Str, Out: Str, MapMatch: "reg"},
	{ID: CMap, Name: "map_ip", MinArgs: 1, MaxArgs: 2, In: IP, Out: Str, MapMatch: "ip"},
}

var convByName = func() map[string]*ConvDef {
	m := map[string]*ConvDef{}
	for _, c := range convDefs {
		m[c.Name] = c
	}
	return m
}()

// LookupConv finds a converter by name.
func LookupConv(name string) (*ConvDef, bool) {
	c, ok := convByName[name]
	return c, ok
}

// ConvNames lists the converter names (for suggestions).
func ConvNames() []string {
	var out []string
	for _, c := range convDefs {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return out
}
