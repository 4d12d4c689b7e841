package rules

import (
	"net/netip"

	"lbd/h1"
)

// Ctx is one request (or connection) as the policy sees it. The proxy
// keeps one per transaction (pooled), fills what it knows, and resets it
// between requests; evaluating conditions and templates against it does
// not allocate.
type Ctx struct {
	// Req is the parsed request head; nil on a tcp connection. Resp is
	// the response head in the response phase.
	Req, Resp *h1.Head
	// Src is the client (from the PROXY protocol header when there is
	// one), Dst the address it reached.
	Src, Dst netip.AddrPort
	// TLS facts: the connection is TLS (terminated by lbd), the server
	// name (SNI) it asked for (or the one read from a ClientHello without
	// terminating), and the client certificate.
	TLS            bool
	SNI            []byte
	ClientCertUsed bool
	ClientVerify   int
	// Counters reads the stick counters the request tracks; nil: none.
	Counters Counters

	scratch []byte // converter workspace
	tmp     []byte // rendering of bodies and locations
	// acl results of this request: done marks the acls evaluated, val
	// their results (the first 64 acls; the others are not cached).
	done, val uint64
	// reqACLs holds the results of request acls that response rules use,
	// taken before the request's buffer may be reused.
	reqDone, reqVal uint64
}

// SlotSrc is the slot of src_<counter> fetches: table's entry for the
// client address, not tracked.
const SlotSrc = -2

// Counters gives the value of a stick counter: the one tracked in slot
// (0..2), or table's entry for that request when table is not nil; with
// SlotSrc, the entry of the client address in table.
type Counters interface {
	Counter(slot int, table any, counter int) (int64, bool)
}

// Reset forgets everything but the workspace, for the next request.
func (c *Ctx) Reset() {
	s, t := c.scratch[:0], c.tmp[:0]
	*c = Ctx{scratch: s, tmp: t}
}

// Invalidate forgets the acl results after the request was rewritten:
// the following rules see the new request, as in HAProxy.
func (c *Ctx) Invalidate() { c.done, c.val = 0, 0 }

// scratchFor returns room for n bytes at the end of the workspace; the
// bytes already there stay valid (values point into them).
func (c *Ctx) grow(n int) []byte {
	if cap(c.scratch)-len(c.scratch) < n {
		// Values already handed out keep pointing into the old array,
		// which stays alive while they do.
		ns := make([]byte, len(c.scratch), max(2*cap(c.scratch), len(c.scratch)+n, 1024))
		copy(ns, c.scratch)
		c.scratch = ns
	}
	return c.scratch[len(c.scratch) : len(c.scratch)+n]
}

// keep marks the n bytes returned by grow as used.
func (c *Ctx) keep(n int) []byte {
	b := c.scratch[len(c.scratch) : len(c.scratch)+n]
	c.scratch = c.scratch[:len(c.scratch)+n]
	return b
}

// ScratchReset empties the workspace (between rules, when no value of an
// earlier rule is still in use).
func (c *Ctx) scratchReset() { c.scratch = c.scratch[:0] }
