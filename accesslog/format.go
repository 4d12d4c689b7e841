package accesslog

import (
	"fmt"
	"os"
	"strings"
)

// HAProxy's predefined formats (log.c, HAProxy 2.6): option httplog and
// option tcplog.
const (
	HTTPLog = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r"
	TCPLog  = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"
)

// Format renders Records as lines (without a line end).
type Format struct {
	json      bool
	nodes     []node
	reqNames  []string // captured request headers, for JSON keys and %hr
	respNames []string
	host      string // %H
	pid       string // %pid
}

// varID names a %-variable.
type varID uint8

const (
	vB varID = iota + 1
	vCC
	vCS
	vH
	vST
	vT
	vTa
	vTc
	vTd
	vTh
	vTi
	vTl
	vTq
	vTr
	vTR
	vTs
	vTt
	vTu
	vTw
	vU
	vac
	vb
	vbc
	vbq
	vci
	vcp
	vf
	vfc
	vfi
	vfp
	vft
	vhr
	vhrl
	vhs
	vhsl
	vHM
	vHP
	vHPO
	vHQ
	vHU
	vHV
	vms
	vpid
	vr
	vrc
	vs
	vsc
	vsi
	vsp
	vsq
	vt
	vtr
	vtrg
	vtrl
	vts
	vtsc
	vsslc
	vsslv
)

// variables are the %-variables lbd renders, by HAProxy's names (section
// 8.2.6 of its configuration manual). HAProxy's others (%ID, %bi, %bp,
// %lc, %rt, %[sample fetches]) are refused with a clear
// error.
var variables = map[string]varID{
	"B": vB, "CC": vCC, "CS": vCS, "H": vH, "ST": vST, "T": vT, "Ta": vTa, "Tc": vTc,
	"Td": vTd, "Th": vTh, "Ti": vTi, "Tl": vTl, "Tq": vTq, "Tr": vTr, "TR": vTR, "Ts": vTs,
	"Tt": vTt, "Tu": vTu, "Tw": vTw, "U": vU, "ac": vac, "b": vb, "bc": vbc, "bq": vbq,
	"ci": vci, "cp": vcp, "f": vf, "fc": vfc, "fi": vfi, "fp": vfp, "ft": vft,
	"hr": vhr, "hrl": vhrl, "hs": vhs, "hsl": vhsl, "HM": vHM, "HP": vHP, "HPO": vHPO,
	"HQ": vHQ, "HU": vHU, "HV": vHV, "ms": vms, "pid": vpid, "r": vr, "rc": vrc,
	"s": vs, "sc": vsc, "si": vsi, "sp": vsp, "sq": vsq, "t": vt, "tr": vtr,
	"trg": vtrg, "trl": vtrl, "ts": vts, "tsc": vtsc, "sslc": vsslc, "sslv": vsslv,
}

var unsupportedVars = map[string]string{
	"ID": "lbd has no unique request ids yet",
	"bi": "lbd does not log the source address of server connections",
	"bp": "lbd does not log the source address of server connections",
	"lc": "lbd has no log counter",
	"rt": "lbd has no request counter",
}

type nodeKind uint8

const (
	nText nodeKind = iota
	nSep
	nVar
)

// Options of a variable (%{+Q}r): HAProxy's LOG_OPT_QUOTE and
// LOG_OPT_MANDATORY.
const (
	optQuote     = 1 << iota // surround with double quotes
	optMandatory             // write "-" for a missing value
)

type node struct {
	kind nodeKind
	text string
	v    varID
	opts uint8
}

// ParseFormat checks a custom format (HAProxy's log-format string).
func ParseFormat(s string) (*Format, error) { return New(s, nil, nil) }

// New returns the format for a frontend's log_format: "json", "httplog",
// "tcplog" or a custom format; reqCaptures and respCaptures are the
// names of the headers the frontend captures, in order.
func New(spec string, reqCaptures, respCaptures []string) (*Format, error) {
	f := &Format{reqNames: reqCaptures, respNames: respCaptures, pid: fmt.Sprint(os.Getpid())}
	f.host, _ = os.Hostname()
	switch spec {
	case "json", "":
		f.json = true
		return f, nil
	case "httplog":
		spec = HTTPLog
	case "tcplog":
		spec = TCPLog
	}
	nodes, err := parse(spec)
	if err != nil {
		return nil, err
	}
	f.nodes = nodes
	return f, nil
}

// JSON reports whether f writes JSON objects.
func (f *Format) JSON() bool { return f.json }

// parse compiles a format string the way HAProxy's parse_logformat_string
// does with LOG_OPT_MANDATORY|LOG_OPT_MERGE_SPACES: every blank is a
// separator, "%%" is a percent sign, "%{+Q,-M}name" sets options, "%o"
// sets the options of the variables after it.
func parse(s string) ([]node, error) {
	if len(s) > 8192 {
		return nil, fmt.Errorf("log format is too long (%d bytes, at most 8192)", len(s))
	}
	var (
		nodes   []node
		text    strings.Builder
		defOpts uint8 = optMandatory
	)
	flush := func() {
		if text.Len() > 0 {
			nodes = append(nodes, node{kind: nText, text: text.String()})
			text.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			flush()
			nodes = append(nodes, node{kind: nSep})
		case c == '%':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("log format ends with a lone %% (write %%%% for a percent sign)")
			}
			i++
			if s[i] == '%' {
				text.WriteByte('%')
				continue
			}
			opts := defOpts
			if s[i] == '{' {
				end := strings.IndexByte(s[i:], '}')
				if end < 0 {
					return nil, fmt.Errorf("log format: %%{ without its closing }")
				}
				var err error
				opts, err = parseOpts(s[i+1:i+end], opts)
				if err != nil {
					return nil, err
				}
				i += end + 1
				if i >= len(s) {
					return nil, fmt.Errorf("log format: %%{...} must be followed by a variable name")
				}
			}
			if s[i] == '[' {
				return nil, fmt.Errorf("log format: sample expressions (%%[...]) are not supported by lbd")
			}
			j := i
			for j < len(s) && isAlnum(s[j]) {
				j++
			}
			name := s[i:j]
			if name == "" || !isAlpha(name[0]) {
				return nil, fmt.Errorf("log format: %% must be followed by a variable name at position %d (write %%%% for a percent sign)", i)
			}
			i = j - 1
			if name == "o" {
				defOpts = opts
				continue
			}
			id, ok := variables[name]
			if !ok {
				if why, known := unsupportedVars[name]; known {
					return nil, fmt.Errorf("log format: %%%s is not supported: %s", name, why)
				}
				return nil, fmt.Errorf("log format: unknown variable %%%s", name)
			}
			flush()
			nodes = append(nodes, node{kind: nVar, v: id, opts: opts})
		default:
			text.WriteByte(c)
		}
	}
	flush()
	return nodes, nil
}

// parseOpts reads "+Q,-M": options set (+) or cleared (-).
func parseOpts(s string, opts uint8) (uint8, error) {
	for _, o := range strings.Split(s, ",") {
		if len(o) != 2 || (o[0] != '+' && o[0] != '-') {
			return 0, fmt.Errorf("log format: option %q is not +FLAG or -FLAG", o)
		}
		var bit uint8
		switch o[1] {
		case 'Q':
			bit = optQuote
		case 'M':
			bit = optMandatory
		case 'X', 'E':
			return 0, fmt.Errorf("log format: option %c (hexadecimal, escaping) is not supported by lbd", o[1])
		default:
			return 0, fmt.Errorf("log format: unknown option %q", o)
		}
		if o[0] == '+' {
			opts |= bit
		} else {
			opts &^= bit
		}
	}
	return opts, nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' }

// NeedsAddresses reports whether the format prints the frontend address
// the client reached (%fi, %fp) or the server's (%si, %sp), which the
// proxy then looks up.
func (f *Format) NeedsAddresses() (listener, server bool) {
	for _, n := range f.nodes {
		switch n.v {
		case vfi, vfp:
			listener = true
		case vsi, vsp:
			server = true
		}
	}
	return
}
