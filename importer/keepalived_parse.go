package importer

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
)

// kaStmt is one statement of keepalived.conf: its words and, when it
// opens one, the statements of its block.
type kaStmt struct {
	pos
	words    []string
	comment  string
	lead     []string
	block    []*kaStmt
	hasBlock bool
}

func (s *kaStmt) text() string { return strings.Join(s.words, " ") }

// kaParser reads keepalived.conf (and the files it includes) into a tree
// of statements.
type kaParser struct {
	ns    *notes
	opts  *Options
	total int               // bytes read, includes counted
	vars  map[string]string // $NAME=value definitions
	depth int               // include depth
}

// maxBlockDepth bounds nesting; keepalived's deepest blocks are three
// levels down (vrrp_instance / track_script / ...).
const maxBlockDepth = 16

// maxIncludeDepth bounds include chains (and include loops).
const maxIncludeDepth = 8

func parseKeepalived(file string, data []byte, opts *Options, ns *notes) []*kaStmt {
	p := &kaParser{ns: ns, opts: opts, vars: map[string]string{}}
	toks := p.tokens(file, data)
	stmts, _ := p.tree(toks, 0, pos{file, 0})
	return stmts
}

// kaTok is a word of a line, or the end of a line.
type kaTok struct {
	pos
	word    string
	eol     bool
	comment string // on eol tokens: the line's trailing comment
}

// tokens reads a file into words and line ends, following includes.
func (p *kaParser) tokens(file string, data []byte) []kaTok {
	p.total += len(data)
	if p.total > maxInput {
		p.ns.add(pos{file, 0}, NotConverted, "", "input too large (more than %d bytes with its includes)", maxInput)
		return nil
	}
	var out []kaTok
	var nbspLines []int
	defer func() { noteNBSP(p.ns, file, nbspLines, "keepalived would read them as part of words") }()
	for num, raw := range splitLines(data) {
		at := pos{file, num + 1}
		if len(raw) > maxLineLen {
			p.ns.add(at, NotConverted, "", "line of %d bytes is too long", len(raw))
			continue
		}
		if bytes.IndexByte(raw, 0) >= 0 {
			p.ns.add(at, NotConverted, "", "line contains a NUL byte")
			continue
		}
		line, nbsp := blankNBSP(string(raw))
		if nbsp {
			nbspLines = append(nbspLines, at.line)
		}
		words, comment, err := lexKeepalived(line)
		if err != nil {
			p.ns.add(at, NotConverted, string(raw), "%v", err)
			continue
		}
		if len(words) > 0 {
			switch {
			case strings.HasPrefix(words[0], "$") && strings.Contains(words[0], "="):
				p.define(at, strings.Join(words, " "))
				continue
			case strings.HasPrefix(words[0], "@"):
				p.ns.add(at, NotConverted, strings.Join(words, " "),
					"a line conditional on keepalived's instance name: the importer converts one node; write the line for this node by hand")
				continue
			case words[0] == "include":
				out = append(out, p.include(at, words)...)
				continue
			}
			words = p.expand(at, words)
		}
		for _, w := range words {
			out = append(out, kaTok{pos: at, word: w})
		}
		out = append(out, kaTok{pos: at, eol: true, comment: comment})
	}
	return out
}

// define records "$NAME=value" (keepalived 2.x parameter substitution).
func (p *kaParser) define(at pos, s string) {
	name, val, _ := strings.Cut(s[1:], "=")
	if name == "" || strings.ContainsAny(name, " \t${}") {
		p.ns.add(at, NotConverted, s, "not a valid $NAME=value definition")
		return
	}
	p.vars[name] = strings.TrimSpace(val)
}

// expand replaces $NAME and ${NAME} in words.
func (p *kaParser) expand(at pos, words []string) []string {
	var out []string
	for _, w := range words {
		if !strings.Contains(w, "$") {
			out = append(out, w)
			continue
		}
		var b strings.Builder
		for i := 0; i < len(w); i++ {
			if w[i] != '$' || i+1 >= len(w) {
				b.WriteByte(w[i])
				continue
			}
			j, name := i+1, ""
			if w[j] == '{' {
				k := strings.IndexByte(w[j:], '}')
				if k < 0 {
					b.WriteByte(w[i])
					continue
				}
				name, j = w[j+1:j+k], j+k+1
			} else {
				for j < len(w) && (w[j] == '_' || w[j] >= 'a' && w[j] <= 'z' || w[j] >= 'A' && w[j] <= 'Z' || w[j] >= '0' && w[j] <= '9') {
					j++
				}
				name = w[i+1 : j]
			}
			v, ok := p.vars[name]
			if !ok || name == "" {
				b.WriteByte(w[i])
				continue
			}
			b.WriteString(v)
			i = j - 1
		}
		// A substituted value may hold several words.
		out = append(out, strings.Fields(b.String())...)
	}
	return out
}

// include reads the files an "include PATTERN" names.
func (p *kaParser) include(at pos, words []string) []kaTok {
	if len(words) != 2 {
		p.ns.add(at, NotConverted, strings.Join(words, " "), "include expects one file or pattern")
		return nil
	}
	if p.opts == nil || p.opts.ReadFile == nil {
		p.ns.add(at, NotConverted, strings.Join(words, " "), "included files are not read here: convert them with the main file on the machine that has them")
		return nil
	}
	if p.depth >= maxIncludeDepth {
		p.ns.add(at, NotConverted, strings.Join(words, " "), "includes nest more than %d deep (a loop?)", maxIncludeDepth)
		return nil
	}
	pattern := words[1]
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(at.file), pattern)
	}
	files := []string{pattern}
	if p.opts.Glob != nil && strings.ContainsAny(pattern, "*?[") {
		m, err := p.opts.Glob(pattern)
		if err != nil {
			p.ns.add(at, NotConverted, strings.Join(words, " "), "%v", err)
			return nil
		}
		files = m
	}
	var out []kaTok
	p.depth++
	for _, f := range files {
		data, err := p.opts.ReadFile(f)
		if err != nil {
			p.ns.add(at, NotConverted, strings.Join(words, " "), "cannot read %s: %v", f, err)
			continue
		}
		out = append(out, p.tokens(f, data)...)
	}
	p.depth--
	return out
}

// lexKeepalived splits a line: blanks separate words, double quotes group
// them (a backslash escapes a quote or a backslash inside), '{' and '}'
// are words of their own, '#' or '!' starts a comment.
func lexKeepalived(s string) (words []string, comment string, err error) {
	var cur strings.Builder
	inWord, quoted := false, false
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
		case quoted:
			switch {
			case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
				cur.WriteByte(s[i+1])
				i++
			case c == '"':
				quoted = false
			default:
				cur.WriteByte(c)
			}
		case c == '"':
			quoted, inWord = true, true
		case (c == '#' || c == '!') && !inWord:
			flush()
			return words, strings.TrimSpace(s[i+1:]), nil
		case c == ' ' || c == '\t':
			flush()
		case c == '{' || c == '}':
			flush()
			words = append(words, string(c))
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, "", fmt.Errorf("unmatched quote")
	}
	flush()
	return words, "", nil
}

// tree builds statements from tokens until the block at depth closes.
func (p *kaParser) tree(toks []kaTok, depth int, open pos) ([]*kaStmt, []kaTok) {
	var (
		out  []*kaStmt
		cur  *kaStmt
		lead []string
	)
	flush := func() {
		if cur != nil {
			out = append(out, cur)
			cur = nil
		}
	}
	for len(toks) > 0 {
		t := toks[0]
		toks = toks[1:]
		switch {
		case t.eol:
			if cur != nil {
				cur.comment = t.comment
				flush()
			} else if t.comment != "" {
				lead = append(lead, t.comment)
				if len(lead) > 20 {
					lead = lead[1:]
				}
			} else {
				lead = nil
			}
		case t.word == "{":
			owner := cur
			if owner == nil && len(out) > 0 && !out[len(out)-1].hasBlock {
				owner = out[len(out)-1] // "{" on the next line
				out = out[:len(out)-1]
			}
			if owner == nil {
				owner = &kaStmt{pos: t.pos}
			}
			cur = nil
			if depth+1 > maxBlockDepth {
				p.ns.add(t.pos, NotConverted, "", "blocks nest more than %d deep", maxBlockDepth)
				return out, nil
			}
			owner.hasBlock = true
			owner.block, toks = p.tree(toks, depth+1, t.pos)
			out = append(out, owner)
		case t.word == "}":
			flush()
			if depth == 0 {
				p.ns.add(t.pos, NotConverted, "}", "unmatched closing brace")
				continue
			}
			return out, toks
		default:
			if cur == nil {
				cur = &kaStmt{pos: t.pos, lead: lead}
				lead = nil
			}
			cur.words = append(cur.words, t.word)
		}
	}
	flush()
	if depth > 0 {
		p.ns.add(open, NotConverted, "", "the block opened on this line is not closed before the end of the file")
	}
	return out, nil
}
