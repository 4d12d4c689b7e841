// Package bgp announces lbd's VIPs to routers over BGP, so that N nodes
// serve one VIP at once: each node announces the VIP as a host route (/32,
// /128) and the routers spread flows over every node that announces it
// (equal-cost multipath, RFC 2991/2992), as MetalLB, kube-vip and large
// HAProxy fleets do. A VRRP pair (package vrrp) has one active node; this
// is the way past it.
//
// The BGP speaker is GoBGP (github.com/osrg/gobgp/v4) used as a library:
// lbd never encodes a BGP message itself. GoBGP v4 rather than v3: it logs
// through log/slog (bridged to zerolog here) instead of logrus, and it
// carries a single-hop BFD implementation (RFC 5880, 5881), which a
// neighbour's bfd = true uses to have a lost node noticed in about a
// second instead of the hold time. GoBGP's BFD resets the BGP session
// when its BFD packets go unanswered, also before the BFD session ever
// came up: bfd must be on for the neighbour on both sides. The whole
// dependency stays behind the router interface of this package
// (gobgp.go).
//
// # What is announced, and when
//
// Each announce block is a group of VIPs announced and withdrawn together
// (RFC 4271 UPDATE messages; IPv6 with MP_REACH_NLRI, RFC 4760), to every
// neighbour of the VIP's address family, next hop self. A group is
// announced while all of these hold:
//
//   - every tracked backend has at least min_up usable servers (the
//     health pool's view, the same one VRRP's track_backend reads; a
//     Tracker interface keeps this package away from the proxy);
//   - the node is not drained (lbctl bgp drain, until lbctl bgp undrain)
//     and not stopping.
//
// A withdrawn group's addresses stay on the node: packets the routers
// still send (before they converge, or because a router keeps the route
// while its session is up) are served.
//
// # Drain and stop: no failed requests
//
// Drain (and stop) withdraws every route first, then keeps serving for
// grace while the routers move new flows to the other nodes. Routers hash
// flows statelessly (ECMP), so a connection open on this node when the
// route goes is sent to another node afterwards, which resets it. For the
// first half of grace nothing else changes (closing a keep-alive
// connection before the routers converged would only have its client
// reconnect here); in the second half the proxy closes the keep-alive
// connections to the VIPs still open once idle (busy ones after their
// response), so that their clients reconnect, to the other nodes, between
// two requests. A request sent meanwhile on such a connection reaches
// another node and is reset: clients retry an idempotent request on a
// reused connection (browsers, Go's HTTP client).
// On stop the BGP sessions are closed after grace (a CEASE NOTIFICATION,
// RFC 4486 "peer de-configured"), then the proxy stops as usual
// (global.grace), then the addresses are removed.
//
// # The addresses
//
// A router delivers packets for a VIP to a node; the node accepts them
// only if the address is local. lbd adds every announced address as a
// host address (/32, /128; IPv6 without duplicate address detection) to
// the bgp block's interface: by default "lbd0", a dummy interface lbd
// creates and owns (addresses on it that no announce block lists are
// removed at start and on reload). Named after an existing interface
// ("lo"), lbd only adds and removes its own addresses. Frontends bind the
// VIPs with IP_FREEBIND, before or after the address exists.
package bgp
