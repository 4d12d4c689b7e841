package h2

// Glitches are frames a well-behaved peer has no reason to send; one is
// nothing, many are an attack (HAProxy 3.0's glitches). Each costs little
// to handle, but a peer that sends them endlessly makes lbd work for
// nothing, or for its servers' loss: resetting every request right after
// sending it (the rapid reset, CVE-2023-44487), sending header blocks in
// empty CONTINUATION frames (the CONTINUATION flood), flooding PING,
// SETTINGS or WINDOW_UPDATE frames, each of which costs lbd a frame in
// return or a look at its streams.
//
// Control frames (PING, SETTINGS, WINDOW_UPDATE, PRIORITY) are not
// glitches while they stay within a budget: ctlBurst of them at once, and
// more as time passes (ctlRate a second) and as lbd sends DATA (whose
// flow-control windows a peer opens) and takes requests. A control frame
// past the budget is a glitch.
const (
	ctlBurst      = 500 // control frames at once
	ctlRate       = 50  // control frames per second
	ctlPerData    = 2   // per DATA frame sent (a WINDOW_UPDATE for the stream and one for the connection)
	ctlPerRequest = 4   // per stream opened
)

// glitch counts one glitch; past the threshold it ends the connection
// with ENHANCE_YOUR_CALM and returns true.
func (c *Conn) glitch(what string) bool {
	c.glitches++
	if c.cfg.GlitchesThreshold != NoLimit && c.glitches >= c.cfg.GlitchesThreshold {
		c.failLimit(ErrCodeEnhanceYourCalm, "too many glitches, the last one: "+what, "glitches_threshold")
		return true
	}
	return false
}

// spendControl takes a control frame from the budget, a glitch when it
// is empty.
func (c *Conn) spendControl(what string) bool {
	now := c.now()
	if c.ctlStamp == 0 {
		c.ctlStamp = now
	}
	if add := (now - c.ctlStamp) * ctlRate / 1e9; add > 0 {
		c.ctlTokens = min(ctlBurst, c.ctlTokens+add)
		c.ctlStamp += add * 1e9 / ctlRate
	}
	if c.ctlTokens > 0 {
		c.ctlTokens--
		return false
	}
	return c.glitch(what + " flood")
}

// earnControl gives the peer budget for control frames that answer what
// lbd did.
func (c *Conn) earnControl(n int64) {
	c.ctlTokens = min(ctlBurst, c.ctlTokens+n)
}
