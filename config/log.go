package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"lbd/accesslog"
)

// LogTarget is one destination of logs, as HAProxy's global "log" line:
// the access logs of every frontend and the process's own logs go to
// each target at or below its level.
type LogTarget struct {
	// Target is the label, HAProxy's syntax: "udp@HOST:PORT" or
	// "HOST[:PORT]" (UDP, port 514 by default), "unix@PATH" or "/PATH" (a
	// unix datagram socket such as /dev/log), "stdout" or "stderr".
	Target string
	// Address is the parsed target.
	Address LogAddress
	// Facility is the syslog facility. Default "local0".
	Facility string
	// Level is the least severe level sent. Default "info" (access logs
	// are info; "debug" sends everything).
	Level string
	// MinLevel is the most severe level sent (HAProxy's minlevel).
	// Default "emerg".
	MinLevel string
	// Format is the framing: rfc3164, rfc5424 or raw (the message alone).
	// Default "rfc3164" (HAProxy's), "raw" for stdout and stderr.
	Format string
	// Len is the longest line sent, header included; longer ones are
	// truncated. Default 1024 (HAProxy's).
	Len int

	rng blockRanges
}

// LogAddress is where a LogTarget writes.
type LogAddress struct {
	// Network is "udp", "unixgram", "stdout" or "stderr".
	Network string
	// Addr is "host:port" (udp) or a path (unixgram).
	Addr string
}

// Syslog facilities (RFC 5424 section 6.2.1), as HAProxy names them.
var Facilities = []string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

// Syslog severities (RFC 5424 section 6.2.1), most severe first, as HAProxy
// names them.
var Levels = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// FacilityCode returns the facility's number, -1 if unknown.
func FacilityCode(name string) int { return indexOf(Facilities, name) }

// LevelCode returns the severity's number, -1 if unknown.
func LevelCode(name string) int { return indexOf(Levels, name) }

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

// ParseLogTarget reads a log target in HAProxy's syntax.
func ParseLogTarget(s string) (LogAddress, error) {
	switch s {
	case "stdout", "fd@1":
		return LogAddress{Network: "stdout"}, nil
	case "stderr", "fd@2":
		return LogAddress{Network: "stderr"}, nil
	}
	if fam, rest, ok := strings.Cut(s, "@"); ok {
		switch fam {
		case "udp", "udp4", "udp6", "ipv4", "ipv6":
			return udpTarget(s, rest)
		case "unix":
			return unixTarget(s, rest)
		default:
			return LogAddress{}, fmt.Errorf("log target %q: lbd sends logs over udp@, unix@, to stdout or stderr", s)
		}
	}
	if strings.HasPrefix(s, "/") {
		return unixTarget(s, s)
	}
	return udpTarget(s, s)
}

func unixTarget(s, path string) (LogAddress, error) {
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "\x00") || len(path) > 107 {
		return LogAddress{}, fmt.Errorf("log target %q: a unix socket needs an absolute path (at most 107 bytes)", s)
	}
	return LogAddress{Network: "unixgram", Addr: path}, nil
}

func udpTarget(s, hp string) (LogAddress, error) {
	host, port := hp, "514"
	if h, p, err := net.SplitHostPort(hp); err == nil {
		host, port = h, p
	} else if strings.Count(hp, ":") > 1 {
		host = strings.TrimSuffix(strings.TrimPrefix(hp, "["), "]") // a bare IPv6 address
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return LogAddress{}, fmt.Errorf("log target %q: the host must be an IP address (a name would make logging depend on DNS)", s)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return LogAddress{}, fmt.Errorf("log target %q: port must be 1..65535", s)
	}
	return LogAddress{Network: "udp", Addr: netip.AddrPortFrom(a.Unmap(), uint16(p)).String()}, nil
}

var logSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "facility"}, {Name: "level"}, {Name: "min_level"}, {Name: "format"}, {Name: "len"},
	},
}

func (d *decoder) decodeLogTarget(blk *hcl.Block) *LogTarget {
	lt := &LogTarget{Target: blk.Labels[0], Facility: "local0", Level: "info", MinLevel: "emerg", Format: "rfc3164", Len: 1024}
	addr, err := ParseLogTarget(lt.Target)
	if err != nil {
		d.errorf(blk.LabelRanges[0], "%v", err)
	}
	lt.Address = addr
	if addr.Network == "stdout" || addr.Network == "stderr" {
		lt.Format = "raw"
	}
	b := d.body(d.content(blk, logSchema), blk.DefRange, &lt.rng)
	b.str("facility", &lt.Facility)
	b.oneOf("facility", lt.Facility, Facilities...)
	b.str("level", &lt.Level)
	b.oneOf("level", lt.Level, Levels...)
	b.str("min_level", &lt.MinLevel)
	b.oneOf("min_level", lt.MinLevel, Levels...)
	if LevelCode(lt.MinLevel) > LevelCode(lt.Level) && LevelCode(lt.Level) >= 0 {
		d.errorf(lt.rng.at("min_level"), "min_level %q is less severe than level %q: nothing would be sent", lt.MinLevel, lt.Level)
	}
	b.str("format", &lt.Format)
	b.oneOf("format", lt.Format, "rfc3164", "rfc5424", "raw")
	b.integer("len", &lt.Len, 80, 65535)
	return lt
}

// Capture is a header captured into the access log, as HAProxy's
// "capture request header NAME len N".
type Capture struct {
	// Name is the header's name, the block label.
	Name string
	// Len is how many bytes of its value are kept. Default 64.
	Len int

	rng blockRanges
}

var captureSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "len"}}}

func (d *decoder) decodeCapture(blk *hcl.Block) *Capture {
	c := &Capture{Name: blk.Labels[0], Len: 64}
	b := d.body(d.content(blk, captureSchema), blk.DefRange, &c.rng)
	if !isToken(c.Name) {
		d.errorf(blk.LabelRanges[0], "%q is not a header name", c.Name)
	}
	b.integer("len", &c.Len, 1, accesslog.MaxCaptureLen)
	return c
}

// decodeFrontendLog reads a frontend's access-log settings: log_format,
// access_log and the capture blocks.
func (d *decoder) decodeFrontendLog(f *Frontend, b body, blocks hcl.Blocks) {
	b.boolean("access_log", &f.AccessLog)
	b.str("log_format", &f.LogFormat)
	if b.has("log_format") {
		switch f.LogFormat {
		case "json", "httplog", "tcplog":
		default:
			if _, err := accesslog.ParseFormat(f.LogFormat); err != nil {
				d.errorf(f.rng.at("log_format"), "log_format: %v (or one of \"json\", \"httplog\", \"tcplog\")", err)
			}
		}
	}
	seen := map[string]*Capture{}
	for _, blk := range blocks {
		var list *[]*Capture
		switch blk.Type {
		case "capture_request_header":
			list = &f.CaptureRequestHeaders
		case "capture_response_header":
			list = &f.CaptureResponseHeaders
		default:
			continue
		}
		c := d.decodeCapture(blk)
		key := blk.Type + "\x00" + strings.ToLower(c.Name)
		if prev, dup := seen[key]; dup {
			d.errorf(blk.DefRange, "duplicate %s %q; the first one is at line %d", blk.Type, c.Name, prev.rng.block.Start.Line)
			continue
		}
		seen[key] = c
		*list = append(*list, c)
	}
	if n := len(f.CaptureRequestHeaders) + len(f.CaptureResponseHeaders); n > accesslog.MaxCaptures {
		d.errorf(f.rng.block, "frontend %q: %d header captures, at most %d", f.Name, n, accesslog.MaxCaptures)
	}
	if f.Mode == ModeTCP {
		if f.LogFormat == "httplog" {
			d.errorf(f.rng.at("log_format"), "log_format \"httplog\" needs mode = \"http\" (this frontend is tcp; HAProxy's tcplog is \"tcplog\")")
		}
		if len(f.CaptureRequestHeaders)+len(f.CaptureResponseHeaders) > 0 {
			d.errorf(f.rng.block, "frontend %q: header captures need mode = \"http\" (this frontend is tcp)", f.Name)
		}
	}
}
