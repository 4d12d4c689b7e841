package health

import (
	"bytes"
	"strings"
)

// maxAgentReply bounds an agent's reply line.
const maxAgentReply = 1024

// agentReply is one parsed agent line, as HAProxy's agent-check reads it:
// words separated by blanks or commas, in any order, the last of each kind
// winning; "#" starts a free-text description.
//
//	up | down | stopped | fail      operational state (applied at once)
//	ready | drain | maint           administrative state
//	75%                             weight relative to the configured one
//	weight:N                        absolute weight 0..256 (lbd extension)
//	maxconn:N                       connection limit, 0 = unlimited
type agentReply struct {
	health    string // "", "up", "down", "stopped", "fail"
	admin     string // "", "ready", "drain", "maint"
	weightPct int    // -1 when absent
	weight    int    // -1 when absent
	maxconn   int    // -1 when absent
	desc      string // text after '#'
	unknown   string // first word not understood
	bad       string // first word with a value out of range
}

// parseAgentReply parses the first line of data (up to CR, LF or the end).
func parseAgentReply(data []byte) agentReply {
	a := agentReply{weightPct: -1, weight: -1, maxconn: -1}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		data = data[:i]
	}
	if len(data) > maxAgentReply {
		data = data[:maxAgentReply]
	}
	line := string(data)
	for len(line) > 0 {
		c := line[0]
		if c == ' ' || c == '\t' || c == ',' {
			line = line[1:]
			continue
		}
		if c == '#' {
			a.desc = printable(strings.TrimLeft(line[1:], " \t"))
			break
		}
		end := strings.IndexAny(line, " \t,")
		if end < 0 {
			end = len(line)
		}
		word := line[:end]
		line = line[end:]
		lw := strings.ToLower(word)
		switch {
		case lw == "up" || lw == "down" || lw == "stopped" || lw == "fail":
			a.health = lw
		case lw == "ready" || lw == "drain" || lw == "maint":
			a.admin = lw
		case word[0] >= '0' && word[0] <= '9' && strings.HasSuffix(word, "%"):
			if n, ok := atoiRange(word[:len(word)-1], 0, 100000); ok {
				a.weightPct = n
			} else if a.bad == "" {
				a.bad = printable(word)
			}
		case strings.HasPrefix(lw, "weight:"):
			if n, ok := atoiRange(word[len("weight:"):], 0, 256); ok {
				a.weight, a.weightPct = n, -1
			} else if a.bad == "" {
				a.bad = printable(word)
			}
		case strings.HasPrefix(lw, "maxconn:"):
			if n, ok := atoiRange(word[len("maxconn:"):], 0, 10_000_000); ok {
				a.maxconn = n
			} else if a.bad == "" {
				a.bad = printable(word)
			}
		default:
			if a.unknown == "" {
				a.unknown = printable(word)
			}
		}
	}
	return a
}

// weightFor returns the runtime weight the reply asks for given the
// configured weight, and whether it asks for one. A percentage is of the
// configured weight, as HAProxy's; the result is capped at 256.
func (a agentReply) weightFor(configured int) (int, bool) {
	switch {
	case a.weight >= 0:
		return a.weight, true
	case a.weightPct >= 0:
		return min(256, configured*a.weightPct/100), true
	}
	return 0, false
}

// atoiRange parses a plain decimal number within [lo, hi].
func atoiRange(s string, lo, hi int) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n >= lo && n <= hi
}

// printable replaces control and non-ASCII bytes so that agent text is
// safe in logs and JSON, and caps its length.
func printable(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	ok := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c >= 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}
