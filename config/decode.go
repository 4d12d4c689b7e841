package config

import (
	"fmt"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// decoder accumulates diagnostics while blocks are decoded, so that one
// pass reports every problem of the file instead of stopping at the first.
type decoder struct {
	diags hcl.Diagnostics
	// TLS settings inherited while decoding (tls.go): global's defaults,
	// the configuration file's directory, the current backend's tls block.
	tlsBind, tlsServer TLSDefaults
	dir                string
	backendTLS         *ServerTLS
	acme               *ACME
	backendProto       string // the current backend's proto, servers' default
}

// errorf records a problem at rng.
func (d *decoder) errorf(rng hcl.Range, format string, args ...any) {
	r := rng
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf(format, args...),
		Subject:  &r,
	})
}

// warnf records a warning at rng: `lbd -c` prints it and the
// configuration stays valid.
func (d *decoder) warnf(rng hcl.Range, format string, args ...any) {
	r := rng
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  fmt.Sprintf(format, args...),
		Subject:  &r,
	})
}

// body is one block's attributes being read over their defaults. Typed
// getters leave the destination untouched when the attribute is absent or
// invalid, so a bad value never replaces the default silently: it is
// reported and decoding goes on.
type body struct {
	d     *decoder
	attrs hcl.Attributes
	rng   *blockRanges
}

func (d *decoder) body(content *hcl.BodyContent, block hcl.Range, rng *blockRanges) body {
	rng.block = block
	rng.attrs = make(map[string]hcl.Range, len(content.Attributes))
	for name, a := range content.Attributes {
		rng.attrs[name] = a.Expr.Range()
	}
	return body{d: d, attrs: content.Attributes, rng: rng}
}

// has reports whether the attribute is written in the block.
func (b body) has(name string) bool {
	_, ok := b.attrs[name]
	return ok
}

// value evaluates an attribute without variables or functions: the file is
// data, not a program.
func (b body) value(name string) (cty.Value, hcl.Range, bool) {
	a, ok := b.attrs[name]
	if !ok {
		return cty.NilVal, hcl.Range{}, false
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		b.d.diags = append(b.d.diags, diags...)
		return cty.NilVal, a.Expr.Range(), false
	}
	if v.IsNull() || !v.IsKnown() {
		b.d.errorf(a.Expr.Range(), "%s: a value is required", name)
		return cty.NilVal, a.Expr.Range(), false
	}
	return v, a.Expr.Range(), true
}

func typeName(t cty.Type) string {
	switch {
	case t == cty.String:
		return "a string"
	case t == cty.Number:
		return "a number"
	case t == cty.Bool:
		return "a bool"
	case t.IsTupleType() || t.IsListType() || t.IsSetType():
		return "a list"
	case t.IsObjectType() || t.IsMapType():
		return "an object"
	}
	return t.FriendlyName()
}

func (b body) str(name string, dst *string) {
	v, rng, ok := b.value(name)
	if !ok {
		return
	}
	if v.Type() != cty.String {
		b.d.errorf(rng, "%s: a string is required, got %s", name, typeName(v.Type()))
		return
	}
	*dst = v.AsString()
}

func (b body) boolean(name string, dst *bool) {
	v, rng, ok := b.value(name)
	if !ok {
		return
	}
	if v.Type() != cty.Bool {
		b.d.errorf(rng, "%s: true or false is required, got %s", name, typeName(v.Type()))
		return
	}
	*dst = v.True()
}

// integer reads a whole number within [lo, hi].
func (b body) integer(name string, dst *int, lo, hi int) {
	v, rng, ok := b.value(name)
	if !ok {
		return
	}
	n, ok := b.d.toInt(name, v, rng)
	if !ok {
		return
	}
	if n < lo || n > hi {
		b.d.errorf(rng, "%s: %d is out of range %d..%d", name, n, lo, hi)
		return
	}
	*dst = n
}

func (d *decoder) toInt(name string, v cty.Value, rng hcl.Range) (int, bool) {
	if v.Type() != cty.Number {
		d.errorf(rng, "%s: a whole number is required, got %s", name, typeName(v.Type()))
		return 0, false
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		d.errorf(rng, "%s: a whole number is required, got %s", name, bf.Text('g', -1))
		return 0, false
	}
	i, acc := bf.Int64()
	if acc != big.Exact || i > 1<<31 || i < -(1<<31) {
		d.errorf(rng, "%s: %s is out of range", name, bf.Text('g', -1))
		return 0, false
	}
	return int(i), true
}

// duration reads a Go duration string ("250ms", "3s", "1m") within
// [lo, hi]. A bare number is refused: its unit would be a guess.
func (b body) duration(name string, dst *time.Duration, lo, hi time.Duration) {
	v, rng, ok := b.value(name)
	if !ok {
		return
	}
	if v.Type() != cty.String {
		b.d.errorf(rng, "%s: a duration string such as \"2s\" is required, got %s", name, typeName(v.Type()))
		return
	}
	dur, err := time.ParseDuration(v.AsString())
	if err != nil {
		b.d.errorf(rng, "%s: invalid duration %q: use a number with a unit (ms, s, m, h), e.g. \"2s\"", name, v.AsString())
		return
	}
	if dur < lo || dur > hi {
		b.d.errorf(rng, "%s: %s is out of range %s..%s", name, v.AsString(), lo, hi)
		return
	}
	*dst = dur
}

// elemRange returns the range of element i of a list attribute written as a
// literal, so that a bad element is reported where it is, not at the list.
func (b body) elemRange(name string, i int) hcl.Range {
	if a, ok := b.attrs[name]; ok {
		if t, ok := a.Expr.(*hclsyntax.TupleConsExpr); ok && i < len(t.Exprs) {
			return t.Exprs[i].Range()
		}
	}
	return b.rng.at(name)
}

// list returns the elements of a list attribute.
func (b body) list(name string) ([]cty.Value, hcl.Range, bool) {
	v, rng, ok := b.value(name)
	if !ok {
		return nil, rng, false
	}
	t := v.Type()
	if !t.IsTupleType() && !t.IsListType() && !t.IsSetType() {
		b.d.errorf(rng, "%s: a list is required, got %s", name, typeName(t))
		return nil, rng, false
	}
	return v.AsValueSlice(), rng, true
}

func (b body) strList(name string, dst *[]string) {
	elems, _, ok := b.list(name)
	if !ok {
		return
	}
	out := make([]string, 0, len(elems))
	for i, e := range elems {
		if e.IsNull() || e.Type() != cty.String {
			b.d.errorf(b.elemRange(name, i), "%s[%d]: a string is required, got %s", name, i, typeName(e.Type()))
			return
		}
		out = append(out, e.AsString())
	}
	*dst = out
}

// statusList reads HTTP statuses: numbers, or strings "NNN-MMM" for a
// range (HAProxy's "http-check expect status 200-399"), expanded in
// order.
func (b body) statusList(name string, dst *[]int) {
	elems, _, ok := b.list(name)
	if !ok {
		return
	}
	out := []int{}
	for i, e := range elems {
		rng := b.elemRange(name, i)
		if !e.IsNull() && e.Type() == cty.String {
			lo, hi, ok := parseStatusRange(e.AsString())
			if !ok {
				b.d.errorf(rng, "%s[%d]: %q is not a status or a range \"NNN-MMM\" within 100..599", name, i, e.AsString())
				return
			}
			for s := lo; s <= hi; s++ {
				out = append(out, s)
			}
			continue
		}
		n, ok := b.d.toInt(fmt.Sprintf("%s[%d]", name, i), e, rng)
		if !ok {
			return
		}
		if n < 100 || n > 599 {
			b.d.errorf(rng, "%s[%d]: %d is out of range 100..599", name, i, n)
			return
		}
		out = append(out, n)
	}
	*dst = out
}

// parseStatusRange reads "NNN-MMM" (or "NNN") within 100..599.
func parseStatusRange(s string) (int, int, bool) {
	a, z, isRange := strings.Cut(s, "-")
	lo, err := strconv.Atoi(a)
	if err != nil || lo < 100 || lo > 599 {
		return 0, 0, false
	}
	if !isRange {
		return lo, lo, true
	}
	hi, err := strconv.Atoi(z)
	if err != nil || hi < lo || hi > 599 {
		return 0, 0, false
	}
	return lo, hi, true
}

// prefixList reads CIDRs. With hostOK a bare address is taken as a single
// host (/32 or /128); otherwise it is an error, as for VIPs, where a missing
// prefix length would silently pick the wrong netmask.
func (b body) prefixList(name string, dst *[]netip.Prefix, hostOK bool) {
	var raw []string
	b.strList(name, &raw)
	if raw == nil {
		return
	}
	out := make([]netip.Prefix, 0, len(raw))
	for i, s := range raw {
		rng := b.elemRange(name, i)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if !hostOK || aerr != nil {
				b.d.errorf(rng, "%s: %q is not a CIDR such as \"192.0.2.100/24\"", name, s)
				return
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	*dst = out
}

func (b body) addr(name string, dst *netip.Addr) {
	var s string
	b.str(name, &s)
	if s == "" {
		return
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		b.d.errorf(b.rng.at(name), "%s: %q is not an IP address", name, s)
		return
	}
	*dst = a
}

// oneOf checks that a string attribute already read holds an allowed value.
func (b body) oneOf(name, got string, allowed ...string) {
	for _, a := range allowed {
		if got == a {
			return
		}
	}
	b.d.errorf(b.rng.at(name), "%s: %q is not one of %s", name, got, quoteList(allowed))
}

func quoteList(xs []string) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", x)
	}
	return s
}
