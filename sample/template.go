package sample

// Part is a piece of a template: literal text, or an expression.
type Part struct {
	Lit  string
	Expr *Expr
	// Ref is a regex back-reference \0..\9 (replace rules only), -1
	// otherwise.
	Ref int
}

// Template is text with "%[expr]" parts.
type Template struct {
	Src   string
	Parts []Part
}

// Static reports whether the template is plain text.
func (t *Template) Static() bool {
	for _, p := range t.Parts {
		if p.Expr != nil || p.Ref >= 0 {
			return false
		}
	}
	return true
}

// Text is the template's text when it is static.
func (t *Template) Text() string {
	s := ""
	for _, p := range t.Parts {
		s += p.Lit
	}
	return s
}

// Phase is the latest phase any of its expressions needs.
func (t *Template) Phase() Phase {
	ph := Conn
	for _, p := range t.Parts {
		if p.Expr != nil && p.Expr.Phase() > ph {
			ph = p.Expr.Phase()
		}
	}
	return ph
}

// Exprs lists the template's expressions.
func (t *Template) Exprs() []*Expr {
	var out []*Expr
	for _, p := range t.Parts {
		if p.Expr != nil {
			out = append(out, p.Expr)
		}
	}
	return out
}

// ParseTemplate parses text with "%[...]" expressions and "%%".
func ParseTemplate(s string) (*Template, error) { return parseTemplate(s, false) }

// ParseReplacement is ParseTemplate that also reads regex
// back-references \0 to \9 (HAProxy's replace-header and replace-path);
// "\\" is a backslash.
func ParseReplacement(s string) (*Template, error) { return parseTemplate(s, true) }

func parseTemplate(s string, refs bool) (*Template, error) {
	t := &Template{Src: s}
	lit := []byte{}
	flush := func() {
		if len(lit) > 0 {
			t.Parts = append(t.Parts, Part{Lit: string(lit), Ref: -1})
			lit = lit[:0]
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '%' && i+1 < len(s) && s[i+1] == '%':
			lit = append(lit, '%')
			i += 2
		case c == '%' && i+1 < len(s) && s[i+1] == '[':
			e, j, err := parseExpr(s, i+2, true)
			if err != nil {
				return nil, err
			}
			if j >= len(s) || s[j] != ']' {
				return nil, errAt(j, "missing ']' closing %%[")
			}
			flush()
			t.Parts = append(t.Parts, Part{Expr: e, Ref: -1})
			i = j + 1
		case c == '%':
			return nil, errAt(i, "a %% starts an expression %%[...] or is written %%%%")
		case refs && c == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			flush()
			t.Parts = append(t.Parts, Part{Ref: int(s[i+1] - '0')})
			i += 2
		case refs && c == '\\' && i+1 < len(s) && s[i+1] == '\\':
			lit = append(lit, '\\')
			i += 2
		default:
			lit = append(lit, c)
			i++
		}
	}
	flush()
	return t, nil
}

// MaxRef is the highest back-reference used, -1 when none.
func (t *Template) MaxRef() int {
	m := -1
	for _, p := range t.Parts {
		if p.Expr == nil && p.Ref > m {
			m = p.Ref
		}
	}
	return m
}
