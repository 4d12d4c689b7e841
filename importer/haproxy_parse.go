package importer

import (
	"bytes"
	"fmt"
	"strings"
)

// maxLineLen bounds one line of an input file; HAProxy's own limit is
// 2048 bytes (LINESIZE), keepalived's 2048 too. Longer lines are reported
// and skipped, never buffered without bound.
const maxLineLen = 64 << 10

// maxInput bounds a whole input file (and, for keepalived, everything its
// includes bring in).
const maxInput = 16 << 20

// srcLine is one directive of haproxy.cfg: its words after HAProxy's
// quoting and escaping rules, where it is, and the comments that go with
// it.
type srcLine struct {
	pos
	words   []string
	comment string   // text of a trailing "# ..." comment
	lead    []string // whole-line comments just above it
	env     bool     // uses "${VAR}" (expanded by HAProxy at start-up)
}

func (l *srcLine) text() string { return strings.Join(l.words, " ") }

// hapSection is one section of haproxy.cfg: its header line and its
// directives.
type hapSection struct {
	kind  string // global, defaults, frontend, backend, listen, or another section keyword
	name  string
	from  string   // "from NAME" on the header (named defaults)
	extra []string // words after the name that are not "from": old "listen NAME ADDR"
	head  *srcLine
	lines []*srcLine
}

// hapSectionKinds are the words that open a section in haproxy.cfg (2.6
// and later). Lines before the first section are reported.
var hapSectionKinds = map[string]bool{
	"global": true, "defaults": true, "frontend": true, "backend": true, "listen": true,
	"userlist": true, "peers": true, "resolvers": true, "cache": true, "program": true,
	"http-errors": true, "ring": true, "mailers": true, "log-forward": true,
	"fcgi-app": true, "dynamic-update": true, "traces": true, "crt-store": true,
	"acme": true, "namespace_list": true, "tcp-check": false,
}

// parseHAProxy splits haproxy.cfg into sections of lexed lines. Lines it
// cannot read (bad quoting, a line too long) become notes; parsing goes on
// with the next line, as one broken line must not hide the rest of the
// file.
func parseHAProxy(file string, data []byte, ns *notes, cs comments) []*hapSection {
	var (
		secs      []*hapSection
		cur       *hapSection
		lead      []string
		nbspLines []int
	)
	defer func() { noteNBSP(ns, file, nbspLines, "HAProxy would refuse these lines") }()
	for num, raw := range splitLines(data) {
		p := pos{file, num + 1}
		if len(raw) > maxLineLen {
			ns.add(p, NotConverted, "", "line of %d bytes is too long (HAProxy reads at most 2048)", len(raw))
			lead = nil
			continue
		}
		if bytes.IndexByte(raw, 0) >= 0 {
			ns.add(p, NotConverted, "", "line contains a NUL byte")
			lead = nil
			continue
		}
		line, nbsp := blankNBSP(string(raw))
		if nbsp {
			nbspLines = append(nbspLines, p.line)
		}
		words, comment, env, err := lexHAProxy(line)
		if err != nil {
			ns.add(p, NotConverted, string(raw), "%v", err)
			lead = nil
			continue
		}
		if len(words) == 0 {
			if comment != "" {
				lead = append(lead, comment)
				if len(lead) > 20 { // keep the comments nearest the directive
					lead = lead[1:]
				}
			} else {
				lead = nil
			}
			continue
		}
		l := &srcLine{pos: p, words: words, comment: comment, lead: lead, env: env}
		if !hapSectionKinds[words[0]] {
			cs.add(p, lead, comment) // a section's comments go with its block
		}
		lead = nil
		if hapSectionKinds[words[0]] {
			cur = newSection(l)
			secs = append(secs, cur)
			continue
		}
		if cur == nil {
			ns.add(p, NotConverted, l.text(), "directive outside any section")
			continue
		}
		cur.lines = append(cur.lines, l)
	}
	return secs
}

func newSection(l *srcLine) *hapSection {
	s := &hapSection{kind: l.words[0], head: l}
	rest := l.words[1:]
	if len(rest) > 0 && rest[0] != "from" {
		s.name, rest = rest[0], rest[1:]
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] == "from" && i+1 < len(rest) {
			s.from = rest[i+1]
			i++
			continue
		}
		s.extra = append(s.extra, rest[i])
	}
	return s
}

// noteNBSP reports the lines where non-breaking spaces were read as
// blanks, once per file.
func noteNBSP(ns *notes, file string, lines []int, consequence string) {
	if len(lines) == 0 {
		return
	}
	shown := lines
	if len(shown) > 10 {
		shown = shown[:10]
	}
	parts := make([]string, len(shown))
	for i, n := range shown {
		parts[i] = fmt.Sprint(n)
	}
	list := strings.Join(parts, ", ")
	if len(lines) > 10 {
		list += fmt.Sprintf(" and %d more", len(lines)-10)
	}
	ns.add(pos{file, lines[0]}, Replaced, "", "non-breaking spaces (U+00A0, as pasted from a web page) are read as blanks on lines %s; %s", list, consequence)
}

// blankNBSP replaces non-breaking spaces (U+00A0) outside quotes with
// blanks: configurations copied from web pages carry them where the
// author typed a blank.
func blankNBSP(s string) (string, bool) {
	if !strings.Contains(s, "\u00a0") {
		return s, false
	}
	var b strings.Builder
	quote := rune(0)
	for _, r := range s {
		switch {
		case quote == 0 && (r == '"' || r == '\''):
			quote = r
		case r == quote:
			quote = 0
		case r == '\u00a0' && quote == 0:
			r = ' '
		}
		b.WriteRune(r)
	}
	return b.String(), true
}

// splitLines splits on \n, dropping a \r before it.
func splitLines(data []byte) [][]byte {
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	return lines
}

// lexHAProxy splits one line into words with HAProxy's rules (tools.c
// parse_line): blanks separate words; '#' starts a comment outside quotes;
// single quotes group literally; double quotes group and allow escapes and
// environment variables; a backslash escapes a blank, '#', a quote, '\\',
// and writes \t, \n, \r and \xHH; other backslashes stay as they are.
// env reports a "$VAR" inside double quotes: HAProxy takes its value from
// its environment at start-up, which the importer cannot know.
func lexHAProxy(s string) (words []string, comment string, env bool, err error) {
	var (
		cur            strings.Builder
		inWord         bool
		squote, dquote bool
	)
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '#' && !squote && !dquote:
			flush()
			return words, strings.TrimSpace(s[i+1:]), env, nil
		case c == '"' && !squote:
			dquote = !dquote
			inWord = true
		case c == '\'' && !dquote:
			squote = !squote
			inWord = true
		case c == '\\' && !squote:
			inWord = true
			if i+1 >= len(s) {
				cur.WriteByte('\\')
				continue
			}
			switch n := s[i+1]; n {
			case ' ', '\\', '#', '\'', '"':
				cur.WriteByte(n)
				i++
			case '$':
				if dquote {
					i++
				}
				cur.WriteByte('$')
			case 't':
				cur.WriteByte('\t')
				i++
			case 'n':
				cur.WriteByte('\n')
				i++
			case 'r':
				cur.WriteByte('\r')
				i++
			case 'x':
				if i+3 >= len(s) || !isHex(s[i+2]) || !isHex(s[i+3]) {
					return nil, "", env, fmt.Errorf("invalid \\x escape (two hexadecimal digits are required)")
				}
				cur.WriteByte(unhex(s[i+2])<<4 | unhex(s[i+3]))
				i += 3
			default:
				cur.WriteByte('\\')
			}
		case (c == ' ' || c == '\t') && !squote && !dquote:
			flush()
		case c == '$' && dquote:
			env = true
			cur.WriteByte(c)
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if squote || dquote {
		return nil, "", env, fmt.Errorf("unmatched quote")
	}
	flush()
	return words, "", env, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
