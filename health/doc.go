// Package health keeps the runtime state of every configured server: its
// operational state from active and passive checks (UP/DOWN with HAProxy's
// rise/fall counting), its administrative state (READY/DRAIN/MAINT), its
// runtime weight and maxconn, and its traffic counters.
//
// Servers live in a Pool keyed by "backend/server", so that a reload that
// keeps a server keeps its state, counters, admin state, runtime weight and
// check history. The proxy reads a Server on every request through
// lock-free methods (Usable, AcceptsPersistent, EffectiveWeight,
// EffectiveMaxConn, Address, IsBackup, Counters); everything that changes
// state goes through the Pool or the checker, under the server's mutex, so
// that every transition is logged and notified exactly once.
//
// # Checks and timers
//
// Check types are tcp (connect), http (HTTP/1.1 request with Host and
// Connection: close; the status must be in expect_status and the whole
// response must arrive within timeout), tcp-check (send bytes, expect a
// substring back) and agent (HAProxy's agent-check protocol, see
// agentReply). Every check has one deadline, timeout after its start.
//
// The health counter is HAProxy's (see counter): rise consecutive passes
// bring a server UP, fall consecutive failures take it DOWN. The next check
// is due interval after the end of the previous one while the server is
// stably UP, down_interval while it is stably DOWN, and fast_interval while
// it is between the two. Due times are aligned on a coarse grid (50 ms for
// intervals of a second or more, finer for short ones) so that checks run
// in batches; with thousands of servers this divides the cost by several.
//
// # Start-up state
//
// At process start (and for a backend that has no usable server) a checked
// server starts as HAProxy starts it: UP, with its health counter at rise
// ("UP 1/3" with check result INI), so that it may take traffic at once but
// a single failed check takes it DOWN. The first checks of a backend are
// spread evenly over fast_interval (the interval in force while the counter
// is not full), so a server that never answers is out after at most
// fast_interval + timeout. A server added by a reload to a backend where a
// server the reload keeps is usable starts DOWN instead and must pass rise
// checks (its first one within fast_interval) before it gets traffic: a new
// server proves itself first while the others serve. When a reload renames
// or replaces every server, the new ones start as on the first start. A
// server with check = false is always UP.
//
// # Admin state
//
// The operator's state (lbctl server state) and the agent's (agent replies
// ready/drain/maint) are kept apart; the stronger applies (MAINT > DRAIN >
// READY), so an agent saying "ready" never ends an operator's maintenance.
// Checks keep running in MAINT and DRAIN, so the state is known when the
// server comes back. Admin state and a runtime weight (lbctl or agent)
// survive reloads; a weight changed in the file replaces the runtime one.
//
// # Agent
//
// With type = "agent" the agent is the only check. Unlike HAProxy, where
// the agent is secondary and an unreachable agent changes nothing, an
// agent that cannot be reached or does not answer within timeout counts as
// a failed check (L4CON, L4TOUT, L7TOUT): otherwise a dead host would never
// go DOWN. "up" and "down" (or "stopped", "fail") apply at once, as in
// HAProxy; any other answer counts as a passed check. A reply line may end
// at the connection's close instead of a newline.
//
// # Slow start
//
// A server with slowstart that comes UP from DOWN, or leaves MAINT, ramps
// its effective weight and its effective maxconn linearly from 1 to their
// full value over the slowstart time. Servers UP at process start do not
// ramp (as in HAProxy).
//
// # Passive checks
//
// See Server.ObserveL4, ObserveL7 and ObserveHTTPStatus: error_limit
// consecutive live-traffic errors mark a checked server DOWN at once
// (HAProxy's observe with on-error mark-down); its active checks then
// bring it back.
package health
