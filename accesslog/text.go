package accesslog

import (
	"net/netip"
	"strconv"
	"time"
)

const noServer = "<NOSRV>"

var (
	badReqBytes = []byte("<BADREQ>")
	http09      = []byte("HTTP/0.9")
)

// Append appends r's line in a text format to dst (no line end) and
// returns it. A JSON format writes nothing here: its lines are zerolog
// events (Event).
func (f *Format) Append(dst []byte, r *Record) []byte {
	if f.json {
		return dst
	}
	lastSpace := true
	for i := range f.nodes {
		n := &f.nodes[i]
		switch n.kind {
		case nSep:
			if !lastSpace {
				dst = append(dst, ' ')
				lastSpace = true
			}
		case nText:
			dst = append(dst, n.text...)
			lastSpace = false
		case nVar:
			var wrote bool
			dst, wrote = f.appendVar(dst, n, r)
			if wrote {
				lastSpace = false
			}
		}
	}
	return dst
}

// appendVar writes one variable; wrote is false when it writes nothing
// at all (%hr and friends without captures), so that the separators
// around it collapse into one.
func (f *Format) appendVar(dst []byte, n *node, r *Record) ([]byte, bool) {
	switch n.v {
	case vci:
		return appendIP(dst, r.Client, n.opts), true
	case vcp:
		return appendPort(dst, r.Client, n.opts), true
	case vfi:
		return appendIP(dst, r.Listener, n.opts), true
	case vfp:
		return appendPort(dst, r.Listener, n.opts), true
	case vsi:
		return appendIP(dst, r.Server, n.opts), true
	case vsp:
		return appendPort(dst, r.Server, n.opts), true
	case vt:
		return appendDate(dst, r.Accept), true
	case vtr:
		return appendDate(dst, requestDate(r)), true
	case vT:
		return appendDateZone(dst, r.Accept, true), true
	case vtrg:
		return appendDateZone(dst, requestDate(r), true), true
	case vTl:
		return appendDateZone(dst, r.Accept, false), true
	case vtrl:
		return appendDateZone(dst, requestDate(r), false), true
	case vTs:
		return strconv.AppendInt(dst, r.Accept/1e9, 10), true
	case vms:
		return appendPad(dst, int((r.Accept/1e6)%1000), 3), true
	case vf:
		return appendText(dst, r.Frontend, n.opts), true
	case vft:
		if n.opts&optQuote != 0 {
			dst = append(dst, '"')
		}
		dst = append(dst, r.Frontend...)
		if r.TLS {
			dst = append(dst, '~') // HAProxy: a TLS bind's frontend
		}
		if n.opts&optQuote != 0 {
			dst = append(dst, '"')
		}
		return dst, true
	case vb:
		b := r.Backend
		if b == "" {
			b = r.Frontend // HAProxy: the stream's backend is its frontend until one is chosen
		}
		return appendText(dst, b, n.opts), true
	case vs:
		s := r.ServerName
		if s == "" {
			s = noServer
		}
		return appendText(dst, s, n.opts), true
	case vH:
		return appendText(dst, f.host, n.opts), true
	case vpid:
		return append(dst, f.pid...), true
	case vTh:
		return strconv.AppendInt(dst, r.Th, 10), true
	case vTi:
		return strconv.AppendInt(dst, r.Ti, 10), true
	case vTR:
		if r.Refused {
			return append(dst, '-', '1'), true
		}
		return strconv.AppendInt(dst, r.TR, 10), true
	case vTq:
		if r.Refused {
			return append(dst, '-', '1'), true
		}
		return strconv.AppendInt(dst, sumOrNeg(r.Th, r.Ti, r.TR), 10), true
	case vTw:
		if !r.HTTP {
			if r.Assigned < 0 {
				return append(dst, '-', '1'), true
			}
			return strconv.AppendInt(dst, r.Assigned+1, 10), true
		}
		return strconv.AppendInt(dst, r.Tw, 10), true
	case vTc:
		return strconv.AppendInt(dst, r.Tc, 10), true
	case vTr:
		return strconv.AppendInt(dst, r.Tr, 10), true
	case vTa:
		return strconv.AppendInt(dst, r.Ta, 10), true
	case vTt:
		return strconv.AppendInt(dst, r.Tt, 10), true
	case vTu:
		tu := r.Tt
		if r.Ti > 0 && tu >= 0 {
			tu -= r.Ti
		}
		return strconv.AppendInt(dst, tu, 10), true
	case vTd:
		td := int64(-1)
		if r.HTTP && r.Tr >= 0 {
			td = r.Tt - sumOrNeg(r.Th, r.Ti, r.TR) - r.Tw - r.Tc - r.Tr
		} else if !r.HTTP && r.Tc >= 0 {
			td = r.Tt - r.Tw - r.Tc
		}
		return strconv.AppendInt(dst, td, 10), true
	case vST:
		return strconv.AppendInt(dst, int64(r.Status), 10), true
	case vB:
		if r.Refused {
			return append(dst, '0'), true
		}
		return strconv.AppendInt(dst, r.BytesRead, 10), true
	case vU:
		if r.Refused {
			return append(dst, '0'), true
		}
		return strconv.AppendInt(dst, r.BytesUploaded, 10), true
	case vsslc:
		return appendText(dst, r.TLSCipher, n.opts), true
	case vsslv:
		return appendText(dst, r.TLSVersion, n.opts), true
	case vCC, vCS:
		return appendText(dst, "", n.opts), true // lbd captures no cookies
	case vts:
		return append(dst, r.Term[0], r.Term[1]), true
	case vtsc:
		ck := r.Cookie
		if ck[0] == 0 {
			ck = [2]byte{'-', '-'}
		}
		return append(dst, r.Term[0], r.Term[1], ck[0], ck[1]), true
	case vac:
		return strconv.AppendInt(dst, r.ActConn, 10), true
	case vfc:
		return strconv.AppendInt(dst, r.FeConn, 10), true
	case vbc:
		return strconv.AppendInt(dst, r.BeConn, 10), true
	case vsc:
		return strconv.AppendInt(dst, r.SrvConn, 10), true
	case vrc:
		if r.Redispatched {
			dst = append(dst, '+')
		}
		return strconv.AppendInt(dst, int64(r.Retries), 10), true
	case vsq:
		return strconv.AppendInt(dst, r.SrvQueue, 10), true
	case vbq:
		return strconv.AppendInt(dst, r.BackendQueue, 10), true
	case vhr, vhs, vhrl, vhsl:
		if r.Refused {
			return dst, false // no stream, no captures: HAProxy writes nothing
		}
		names, vals := f.reqNames, r.ReqHeaders
		if n.v == vhs || n.v == vhsl {
			names, vals = f.respNames, r.RespHeaders
		}
		if n.v == vhr || n.v == vhs {
			return appendCaptures(dst, names, vals, n.opts)
		}
		return appendCaptureList(dst, names, vals, n.opts)
	case vr:
		line := r.RequestLine
		if len(line) == 0 || r.Refused {
			return quoted(dst, badReqBytes, n.opts), true
		}
		return quoted(dst, line, n.opts), true
	case vHM, vHU, vHP, vHPO, vHQ, vHV:
		if r.Refused {
			return quoted(dst, badReqBytes, n.opts), true
		}
		return quoted(dst, requestPart(r.RequestLine, n.v), n.opts), true
	}
	return dst, true
}

// requestDate is when the request began: its first byte, or the accept.
func requestDate(r *Record) int64 {
	if r.Request != 0 {
		return r.Request
	}
	return r.Accept
}

func sumOrNeg(xs ...int64) int64 {
	var s int64
	for _, x := range xs {
		if x < 0 {
			return -1
		}
		s += x
	}
	return s
}

// appendText writes a name as lf_text does: quoted with +Q, "-" when
// missing (unless -M).
func appendText(dst []byte, s string, opts uint8) []byte {
	q := opts&optQuote != 0
	if q {
		dst = append(dst, '"')
	}
	if s != "" {
		dst = append(dst, s...)
	} else if !q && opts&optMandatory != 0 {
		dst = append(dst, '-')
	}
	if q {
		dst = append(dst, '"')
	}
	return dst
}

func appendIP(dst []byte, ap netip.AddrPort, opts uint8) []byte {
	if !ap.IsValid() {
		return appendText(dst, "", opts)
	}
	q := opts&optQuote != 0
	if q {
		dst = append(dst, '"')
	}
	dst = ap.Addr().Unmap().AppendTo(dst)
	if q {
		dst = append(dst, '"')
	}
	return dst
}

func appendPort(dst []byte, ap netip.AddrPort, opts uint8) []byte {
	if !ap.IsValid() {
		return appendText(dst, "", opts)
	}
	return strconv.AppendUint(dst, uint64(ap.Port()), 10)
}

// quoted writes s with the request line's encoding (url_encode_map).
func quoted(dst, s []byte, opts uint8) []byte {
	q := opts&optQuote != 0
	if q {
		dst = append(dst, '"')
	}
	dst = appendEncoded(dst, s, urlEncode)
	if q {
		dst = append(dst, '"')
	}
	return dst
}

// appendCaptures writes HAProxy's "{value|value}" (%hr, %hs); nothing at
// all when the frontend captures no header of that side.
func appendCaptures(dst []byte, names []string, vals [][]byte, opts uint8) ([]byte, bool) {
	if len(names) == 0 {
		return dst, false
	}
	q := opts&optQuote != 0
	if q {
		dst = append(dst, '"')
	}
	dst = append(dst, '{')
	for i := range names {
		if i > 0 {
			dst = append(dst, '|')
		}
		if i < len(vals) && vals[i] != nil {
			dst = appendEncoded(dst, vals[i], hdrEncode)
		}
	}
	dst = append(dst, '}')
	if q {
		dst = append(dst, '"')
	}
	return dst, true
}

// appendCaptureList writes %hrl/%hsl: the values separated by blanks, "-"
// for a missing one (or "" quoted).
func appendCaptureList(dst []byte, names []string, vals [][]byte, opts uint8) ([]byte, bool) {
	if len(names) == 0 {
		return dst, false
	}
	q := opts&optQuote != 0
	for i := range names {
		if i > 0 {
			dst = append(dst, ' ')
		}
		if q {
			dst = append(dst, '"')
		}
		if i < len(vals) && vals[i] != nil {
			dst = appendEncoded(dst, vals[i], hdrEncode)
		} else if !q {
			dst = append(dst, '-')
		}
		if q {
			dst = append(dst, '"')
		}
	}
	return dst, true
}

// encodeSet is a set of bytes written as "#XX".
type encodeSet [256]bool

// hdrEncode and urlEncode are HAProxy's hdr_encode_map and
// url_encode_map: non-printable bytes, and '"' '#' (plus '{' '|' '}' in
// captured headers, which the braces delimit).
var hdrEncode, urlEncode = func() (h, u encodeSet) {
	for i := 0; i < 256; i++ {
		if i < 32 || i >= 127 {
			h[i], u[i] = true, true
		}
	}
	for _, c := range "\"#{|}" {
		h[c] = true
	}
	for _, c := range "\"#" {
		u[c] = true
	}
	return
}()

const hextab = "0123456789ABCDEF"

func appendEncoded(dst, s []byte, set encodeSet) []byte {
	for _, c := range s {
		if set[c] {
			dst = append(dst, '#', hextab[c>>4], hextab[c&15])
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// appendDate writes HAProxy's date2str_log: "06/Feb/2009:12:14:14.655",
// local time.
func appendDate(dst []byte, ns int64) []byte {
	t := time.Unix(0, ns)
	dst = appendClock(dst, t)
	dst = append(dst, '.')
	return appendPad(dst, t.Nanosecond()/1e6, 3)
}

// appendClock writes the "06/Feb/2009:12:14:14" both date forms share.
func appendClock(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = appendPad(dst, d, 2)
	dst = append(dst, '/')
	dst = append(dst, months[mo-1]...)
	dst = append(dst, '/')
	dst = appendPad(dst, y, 4)
	dst = append(dst, ':')
	dst = appendPad(dst, h, 2)
	dst = append(dst, ':')
	dst = appendPad(dst, mi, 2)
	dst = append(dst, ':')
	return appendPad(dst, s, 2)
}

// appendDateZone writes gmt2str_log ("06/Feb/2009:12:14:14 +0000") or
// localdate2str_log (the local offset).
func appendDateZone(dst []byte, ns int64, gmt bool) []byte {
	t := time.Unix(0, ns)
	if gmt {
		t = t.UTC()
	}
	dst = appendClock(dst, t)
	dst = append(dst, ' ')
	_, off := t.Zone()
	if off < 0 {
		dst = append(dst, '-')
		off = -off
	} else {
		dst = append(dst, '+')
	}
	off = (off % 86400) / 60
	dst = appendPad(dst, off/60, 2)
	return appendPad(dst, off%60, 2)
}

// appendPad writes n with at least width digits.
func appendPad(dst []byte, n, width int) []byte {
	var b [20]byte
	i := len(b)
	for n >= 10 || width > 1 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	i--
	b[i] = byte('0' + n)
	return append(dst, b[i:]...)
}

// requestPart extracts %HM, %HU, %HP, %HPO, %HQ or %HV from the request
// line, as HAProxy does.
func requestPart(line []byte, v varID) []byte {
	if len(line) == 0 {
		return badReqBytes
	}
	isSP := func(c byte) bool { return c == ' ' || c == '\t' }
	end := len(line)
	i := 0
	for i < end && !isSP(line[i]) {
		i++
	}
	method := line[:i]
	spaces := 0
	for i < end && isSP(line[i]) {
		i++
		spaces++
	}
	uriStart := i
	for i < end && !isSP(line[i]) {
		i++
	}
	uri := line[uriStart:i]
	for i < end && isSP(line[i]) {
		i++
	}
	switch v {
	case vHM:
		if len(method) == len(line) {
			return badReqBytes
		}
		return method
	case vHV:
		if spaces == 0 {
			return badReqBytes
		}
		if i == end {
			return http09
		}
		return line[i:]
	case vHQ:
		for j, c := range uri {
			if c == '?' {
				return uri[j:]
			}
		}
		// HAProxy's %HQ scans the whole line for '?': none means empty.
		return uri[len(uri):]
	}
	if spaces == 0 {
		return badReqBytes
	}
	switch v {
	case vHU:
		return uri
	case vHP:
		for j, c := range uri {
			if c == '?' {
				return uri[:j]
			}
		}
		return uri
	case vHPO:
		p := uri
		// An absolute URI: drop "scheme://authority".
		for j := 0; j+2 < len(p); j++ {
			if p[j] == ':' && p[j+1] == '/' && p[j+2] == '/' {
				rest := p[j+3:]
				k := 0
				for k < len(rest) && rest[k] != '/' {
					k++
				}
				p = rest[k:]
				break
			}
			if p[j] == '/' {
				break
			}
		}
		for j, c := range p {
			if c == '?' {
				return p[:j]
			}
		}
		return p
	}
	return uri
}
