package rules

import (
	"bytes"

	"lbd/h1"
	"lbd/sample"
)

// reads is what part of a message something reads: the start line, some
// header fields, or anything (unknown). Edits record what they change
// (Editor.dirty); a condition or value that reads none of it is
// evaluated without rebuilding the head first, and cached acl results
// that an edit changes are forgotten. A request whose rewrites and
// conditions do not overlap is rebuilt once, at the end of its rules.
type reads struct {
	all  bool
	line bool
	hdrs [][]byte // lower case
}

func (r *reads) addName(n []byte) {
	l := bytes.ToLower(n)
	for _, h := range r.hdrs {
		if bytes.Equal(h, l) {
			return
		}
	}
	r.hdrs = append(r.hdrs, l)
}

func (r *reads) merge(o reads) {
	r.all = r.all || o.all
	r.line = r.line || o.line
	for _, h := range o.hdrs {
		r.addName(h)
	}
}

// expr records what an expression reads.
func (r *reads) expr(x *expr) {
	f := &x.f
	switch f.id {
	case sample.FMethod, sample.FPath, sample.FQuery, sample.FURL, sample.FReqVer, sample.FURLParam, sample.FStatus:
		r.line = true
	case sample.FHost, sample.FBase:
		r.line = true // the absolute-form target's authority wins over Host
		r.addName(hostName)
	case sample.FHdr, sample.FFHdr, sample.FHdrCnt, sample.FResHdr, sample.FResFHdr, sample.FResHdrCnt:
		r.addName(f.name)
	case sample.FCook:
		r.addName(cookieName)
	}
}

func (r *reads) tmpl(t *tmpl) {
	if t == nil {
		return
	}
	for i := range t.parts {
		if t.parts[i].x != nil {
			r.expr(t.parts[i].x)
		}
	}
}

// touches reports whether something reading r is affected by d.
func (r *reads) touches(d *reads) bool {
	if r.all || d.all {
		return true
	}
	if r.line && d.line {
		return true
	}
	for _, a := range r.hdrs {
		for _, b := range d.hdrs {
			if h1.EqFoldBytes(a, b) {
				return true
			}
		}
	}
	return false
}

// condReads is what a condition reads, over its acls.
func (p *Program) condReads(c *cond, out *reads) {
	if c.op == sample.OpName {
		if c.acl >= 0 {
			out.merge(p.acls[c.acl].reads)
		} else {
			out.line = true // predefined acls read the request line or its framing
		}
		return
	}
	for i := range c.kids {
		p.condReads(&c.kids[i], out)
	}
}

// editTarget is what an edit rule changes.
func (r *Rule) editTarget() reads {
	var d reads
	switch r.Action {
	case SetHeader, AddHeader, DelHeader, ReplaceHeader, ReplaceValue:
		d.addName(r.name)
		if r.isHost {
			d.line = true
		}
	case SetPath, SetQuery, SetMethod, SetURI, ReplacePath, ReplaceURI, SetStatus:
		d.line = true
	}
	return d
}

// prepareReads fills the rules' read and write sets once compiled.
func (p *Program) prepareReads(list []Rule) {
	for i := range list {
		r := &list[i]
		if r.cond != nil {
			p.condReads(r.cond, &r.condReads)
		}
		for _, t := range []*tmpl{r.value, r.repl, r.body, r.location, r.prefix, r.scheme} {
			r.valReads.tmpl(t)
		}
		for _, h := range r.headers {
			r.valReads.tmpl(h.value)
		}
		if r.key != nil {
			r.valReads.expr(r.key)
		}
		switch r.Action {
		case Redirect:
			r.valReads.line = true
			r.valReads.addName(hostName)
		case Deny, Tarpit, Return:
			// rendered after the final rebuild
		}
		w := r.editTarget()
		r.writes = w
		for j := range p.acls {
			if j < 64 && p.acls[j].reads.touches(&w) {
				r.invalidates |= 1 << j
			}
		}
	}
}
