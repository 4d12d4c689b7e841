package sample

import (
	"fmt"
	"strconv"
	"strings"
)

// Error is a mistake in a text, at a byte offset, so that the caller can
// report the column where it is.
type Error struct {
	Off int
	Msg string
}

func (e *Error) Error() string { return e.Msg }

func errAt(off int, format string, args ...any) *Error {
	return &Error{Off: off, Msg: fmt.Sprintf(format, args...)}
}

// Fetch is a fetch as written, checked against the catalog.
type Fetch struct {
	Def     *FetchDef
	Name    string   // as written
	Args    []string // arguments as written (unquoted)
	Counter string   // stick counters: which one
	Slot    int      // stick counters: the tracking slot 0..2
	Table   string   // stick counters: the table named in the arguments, "" for the tracked one
	// Src: src_<counter>([table]), the client address's entry in the
	// table (the frontend's own when none is named), not tracked.
	Src bool
}

// Conv is a converter as written.
type Conv struct {
	Def  *ConvDef
	Args []string
}

// Expr is a fetch followed by converters.
type Expr struct {
	Src   string
	Fetch Fetch
	Convs []Conv
}

// Out is the type of the expression's value.
func (e *Expr) Out() Type {
	if n := len(e.Convs); n > 0 {
		return e.Convs[n-1].Def.Out
	}
	return e.Fetch.Def.Out
}

// Phase is when the expression can be evaluated.
func (e *Expr) Phase() Phase { return e.Fetch.Def.Phase }

// Maps lists the maps the expression's converters read.
func (e *Expr) Maps() []string {
	var out []string
	for _, c := range e.Convs {
		if c.Def.ID == CMap {
			out = append(out, c.Args[0])
		}
	}
	return out
}

func (e *Expr) String() string { return e.Src }

// ParseExpr parses a whole expression: `req.hdr(host),lower`.
func ParseExpr(s string) (*Expr, error) {
	e, n, err := parseExpr(s, 0, false)
	if err != nil {
		return nil, err
	}
	if n != len(s) {
		return nil, errAt(n, "unexpected %q after the expression", s[n:])
	}
	return e, nil
}

// parseExpr reads an expression from s[i:]; inTemplate stops at ']'.
func parseExpr(s string, i int, inTemplate bool) (*Expr, int, error) {
	start := i
	name, args, j, err := parseCall(s, i)
	if err != nil {
		return nil, j, err
	}
	if name == "" {
		return nil, i, errAt(i, "a sample fetch is expected (src, path, req.hdr(NAME), ...)")
	}
	def, counter, slot, ok := LookupFetch(name)
	if !ok {
		return nil, i, errAt(i, "unknown sample fetch %q%s", name, suggestIn(name, FetchNames()))
	}
	if len(args) < def.MinArgs || len(args) > def.MaxArgs+btoi(def.ID == FSC) {
		return nil, i, errAt(i, "%s takes %s", name, arity(def.MinArgs, def.MaxArgs+btoi(def.ID == FSC)))
	}
	f := Fetch{Def: def, Name: name, Args: args, Counter: counter, Slot: slot}
	if def.ID == FSC {
		if slot == SlotSrc {
			f.Src, f.Slot = true, 0
		} else if slot < 0 {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 0 || n >= MaxSlots {
				return nil, i, errAt(i, "%s: the tracking slot is 0, 1 or 2, not %q", name, args[0])
			}
			f.Slot = n
			args = args[1:]
		}
		if len(args) > 0 {
			f.Table = args[0]
		}
	}
	if err := checkFetchArgs(&f, i); err != nil {
		return nil, i, err
	}
	e := &Expr{Fetch: f}
	i = j
	for i < len(s) && s[i] == ',' {
		i++
		cname, cargs, j, err := parseCall(s, i)
		if err != nil {
			return nil, j, err
		}
		cd, ok := LookupConv(cname)
		if !ok {
			return nil, i, errAt(i, "unknown converter %q%s", cname, suggestIn(cname, ConvNames()))
		}
		if len(cargs) < cd.MinArgs || len(cargs) > cd.MaxArgs {
			return nil, i, errAt(i, "%s takes %s", cname, arity(cd.MinArgs, cd.MaxArgs))
		}
		if err := checkConvArgs(cd, cargs, e.Out(), i); err != nil {
			return nil, i, err
		}
		e.Convs = append(e.Convs, Conv{Def: cd, Args: cargs})
		i = j
	}
	if i < len(s) && !(inTemplate && s[i] == ']') {
		return nil, i, errAt(i, "unexpected %q in the expression", s[i:i+1])
	}
	e.Src = s[start:i]
	return e, i, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func arity(lo, hi int) string {
	switch {
	case hi == 0:
		return "no argument"
	case lo == hi:
		return fmt.Sprintf("%d argument(s)", lo)
	}
	return fmt.Sprintf("%d to %d arguments", lo, hi)
}

// checkFetchArgs validates arguments that have a fixed form.
func checkFetchArgs(f *Fetch, off int) error {
	switch f.Def.ID {
	case FHdr, FFHdr, FHdrCnt, FResHdr, FResFHdr, FResHdrCnt, FCook, FURLParam:
		if f.Args[0] == "" || !isToken(f.Args[0]) {
			return errAt(off, "%s: %q is not a valid name", f.Name, f.Args[0])
		}
		if len(f.Args) == 2 {
			if _, err := strconv.Atoi(f.Args[1]); err != nil {
				return errAt(off, "%s: the occurrence %q is not a number", f.Name, f.Args[1])
			}
		}
	case FInt:
		if _, err := strconv.ParseInt(f.Args[0], 10, 64); err != nil {
			return errAt(off, "int: %q is not a number", f.Args[0])
		}
	}
	return nil
}

func checkConvArgs(cd *ConvDef, args []string, in Type, off int) error {
	if cd.In == IP && in != IP {
		return errAt(off, "%s needs an address (src, dst), not a %s", cd.Name, in)
	}
	switch cd.ID {
	case CMap:
		if args[0] == "" {
			return errAt(off, "%s: the map's name is required", cd.Name)
		}
	case CField:
		n, err := strconv.Atoi(args[0])
		if err != nil || n == 0 {
			return errAt(off, "field: the index %q is not a non-zero number", args[0])
		}
		if args[1] == "" {
			return errAt(off, "field: the delimiters are empty")
		}
	case CIPMask:
		for i, a := range args {
			n, err := strconv.Atoi(a)
			if lim := []int{32, 128}[i]; err != nil || n < 0 || n > lim {
				return errAt(off, "ipmask: %q is not a prefix length 0..%d", a, lim)
			}
		}
	}
	return nil
}

// parseCall reads `name` or `name(arg,...)` at s[i:]. It stops at ',' or
// ']' or the end after it.
func parseCall(s string, i int) (name string, args []string, j int, err error) {
	j = i
	for j < len(s) && (isAlnum(s[j]) || s[j] == '_' || s[j] == '.' || s[j] == '-') {
		j++
	}
	name = s[i:j]
	if j >= len(s) || s[j] != '(' {
		return name, nil, j, nil
	}
	j++
	for {
		var a string
		a, j, err = parseArg(s, j)
		if err != nil {
			return "", nil, j, err
		}
		args = append(args, a)
		if j >= len(s) {
			return "", nil, j, errAt(j, "missing ')'")
		}
		if s[j] == ')' {
			return name, args, j + 1, nil
		}
		j++ // ','
	}
}

// parseArg reads one argument up to ',' or ')'; a double-quoted one may
// hold anything, with backslash escapes.
func parseArg(s string, i int) (string, int, error) {
	if i < len(s) && s[i] == '"' {
		var b strings.Builder
		j := i + 1
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' && j+1 < len(s) {
				j++
			}
			b.WriteByte(s[j])
			j++
		}
		if j >= len(s) {
			return "", j, errAt(i, "unterminated quoted argument")
		}
		j++
		if j < len(s) && s[j] != ',' && s[j] != ')' {
			return "", j, errAt(j, "',' or ')' expected after a quoted argument")
		}
		return b.String(), j, nil
	}
	j := i
	for j < len(s) && s[j] != ',' && s[j] != ')' {
		if s[j] == '(' || s[j] == '"' || s[j] == ' ' || s[j] == ']' {
			return "", j, errAt(j, "unexpected %q in an argument (quote the argument)", s[j:j+1])
		}
		j++
	}
	return s[i:j], j, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isToken: RFC 9110 token (header and cookie names).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return s != ""
}

// suggestIn returns `; did you mean "x"?` for the closest name.
func suggestIn(name string, names []string) string {
	best, bd := "", 4
	for _, n := range names {
		if d := distance(name, n); d < bd {
			best, bd = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// distance is the Levenshtein distance (names are short).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
