// Package config reads lbd's single HCL file into typed, validated Go values.
//
// The package holds no runtime state: it turns bytes into a *Config, filling
// every attribute the file leaves out with its documented default, and reports
// every problem at once as FILE:LINE:COL diagnostics. Runtime packages (proxy,
// health, vrrp) consume a *Config and never look at HCL.
//
// Each block goes through the same three steps: defaults are set, the file's
// attributes are decoded over them, and the result is validated. Building the
// runtime objects is the job of the consuming package.
package config

import (
	"net/netip"
	"time"

	"github.com/hashicorp/hcl/v2"

	"lbd/sample"
)

// Mode is the proxying mode of a frontend or backend.
type Mode string

// The two proxying modes, as HAProxy names them.
const (
	ModeHTTP Mode = "http" // HTTP/1.1 aware proxying: routing, cookies, headers
	ModeTCP  Mode = "tcp"  // byte stream proxying, one server per connection
)

// Config is one parsed and validated appliance file.
type Config struct {
	// Filename is the path the configuration was read from.
	Filename string

	Global   Global
	Defaults Defaults

	Frontends []*Frontend
	Backends  []*Backend

	// Stats is nil when the file has no stats block.
	Stats *Stats
	// ACME is nil when the file has no acme block (tls.go).
	ACME *ACME

	VRRPScripts   []*VRRPScript
	VRRPInstances []*VRRPInstance
	// VRRPSyncGroups are keepalived's vrrp_sync_group: instances that
	// change state together.
	VRRPSyncGroups []*VRRPSyncGroup

	// Warnings are problems that do not make the file invalid (a
	// certificate close to its expiry): `lbd -c` prints them.
	Warnings Diagnostics

	// BGP is nil when the file has no bgp block.
	BGP *BGP

	// PeerAPI is nil when the file has no peer_api block.
	PeerAPI *PeerAPI
	// Maps are the map blocks (maps.go).
	Maps []*Map
	// Peers are the peers blocks (stick.go).
	Peers []*Peers
}

// Global holds process-wide settings.
type Global struct {
	// MaxConn caps concurrent client connections over all frontends.
	// Default 50000.
	MaxConn int
	// AdminSocket is the unix socket of the admin API.
	// Default "/run/lbd/admin.sock".
	AdminSocket string
	// LogLevel is one of trace, debug, info, warn, error. Default "info".
	LogLevel string
	// LogFormat is json or console. Default "json".
	LogFormat string
	// Grace is how long live connections may finish on stop or reload.
	// Default 10s.
	Grace time.Duration
	// SSLDefaultBind and SSLDefaultServer are what frontends' and
	// servers' tls blocks inherit (HAProxy's ssl-default-bind-* and
	// ssl-default-server-*); see tls.go.
	SSLDefaultBind   TLSDefaults
	SSLDefaultServer TLSDefaults
	// Tickets are the session resumption settings (tls_ticket_secret...).
	Tickets Tickets
	// LogTag is the program name of syslog lines (HAProxy's log-tag).
	// Default "lbd".
	LogTag string
	// Logs are the log targets (HAProxy's global "log" lines), in file
	// order. Without any, access logs go to stderr with the process logs.
	Logs []*LogTarget
	// H2 is HTTP/2's tuning (the h2 block; h2.go).
	H2 H2
}

// Defaults is the block every frontend and backend inherits from.
type Defaults struct {
	// Mode is inherited by frontends and backends that do not set one.
	// Default "http".
	Mode     Mode
	Timeouts Timeouts
}

// Timeouts carries HAProxy's timeouts. A frontend or backend may override
// any of them in its own timeouts block; what it leaves out comes from
// defaults.
type Timeouts struct {
	// Connect bounds the TCP connect to a server. Default 5s.
	Connect time.Duration
	// Client is the client inactivity timeout. Default 30s.
	Client time.Duration
	// Server is the server inactivity timeout. Default 30s.
	Server time.Duration
	// HTTPRequest bounds the arrival of a whole request head; past it the
	// client gets 408. Default 10s.
	HTTPRequest time.Duration
	// HTTPKeepAlive is the idle time allowed between two requests on a
	// client connection. Default 10s.
	HTTPKeepAlive time.Duration
	// Queue bounds the wait for a server slot; past it the client gets 503.
	// Default 30s.
	Queue time.Duration
	// Tunnel is the inactivity timeout of upgraded HTTP connections
	// (WebSocket) and of tcp-mode connections once both sides are connected.
	// Default 1h.
	Tunnel time.Duration
}

// Frontend is a set of listening addresses and where their traffic goes.
type Frontend struct {
	Name string
	// Bind lists the addresses to listen on, as "host:port". A host that is
	// not (yet) configured on the node, such as a VIP held by the peer, binds
	// anyway (IP_FREEBIND). At least one is required.
	Bind []string
	// Mode defaults to defaults.mode.
	Mode Mode
	// MaxConn caps this frontend's concurrent connections; past it the
	// frontend stops accepting and new clients wait in the kernel backlog.
	// Default 0: only global.maxconn applies.
	MaxConn int
	// DefaultBackend receives what no route matches. Required unless every
	// request is routed (there is at least one route); a request that
	// matches nothing then gets 503.
	DefaultBackend string
	// ForwardFor adds X-Forwarded-For, X-Forwarded-Proto and
	// X-Forwarded-Host on http frontends. Default false.
	ForwardFor bool
	// TrustedProxies lists CIDRs whose X-Forwarded-For is appended to;
	// from anyone else the incoming header is replaced. Default empty.
	TrustedProxies []netip.Prefix
	// Routes are content-switching rules, tried in order, first match wins.
	Routes []*Route
	// ErrorFiles replace lbd's built-in error responses, by status.
	ErrorFiles []*ErrorFile
	// Timeouts is defaults.timeouts with this block's overrides applied.
	Timeouts Timeouts
	// AccessLog logs each request (http) or connection (tcp); false is
	// HAProxy's "no log". Default true.
	AccessLog bool
	// LogFormat is the access log's format: "json", "httplog", "tcplog"
	// (HAProxy's formats, byte for byte) or a custom format with HAProxy's
	// %-variables. Default "json".
	LogFormat string
	// CaptureRequestHeaders and CaptureResponseHeaders are headers whose
	// values go into the access log (HAProxy's "capture request header"
	// and "capture response header"), in file order.
	CaptureRequestHeaders  []*Capture
	CaptureResponseHeaders []*Capture
	// TLS blocks: addresses that terminate TLS, each with its settings.
	TLS []*BindTLS
	// AcceptProxy reads a PROXY protocol header from the listed
	// networks; nil: no header is expected.
	AcceptProxy *AcceptProxy
	// H2C serves HTTP/2 with prior knowledge (RFC 9113 §3.3) on the plain
	// binds of an http frontend, besides HTTP/1.1: a connection that
	// starts with the HTTP/2 preface is HTTP/2 (HAProxy's "proto h2" on a
	// bind, without refusing HTTP/1.1). The h2c Upgrade dance is not
	// supported, as in HAProxy. Default false.
	H2C bool
	// Proto "h2" makes every connection of an http frontend HTTP/2:
	// prior knowledge on plain binds (no HTTP/1.1 there: a client that
	// does not start with the preface is closed), and whatever ALPN said
	// on TLS binds (HAProxy's "proto h2" on a bind). Default "": HTTP/1.1,
	// with HTTP/2 by ALPN on TLS binds and by h2c on plain ones.
	Proto string
	// DeferAccept has the kernel hand a connection to lbd only once its
	// first bytes arrived (TCP_DEFER_ACCEPT, HAProxy's defer-accept, nginx's
	// deferred): lbd's first read finds the request instead of waiting for
	// it, and a client that connects and sends nothing costs nothing until
	// it does (the kernel accepts it anyway after about a second). Default
	// true in http mode, where the client always speaks first; false in
	// tcp mode, where the server may (SMTP, MySQL): set it there for
	// protocols whose client speaks first (TLS, the PROXY protocol).
	DeferAccept bool
	// RedirectHTTPS redirects requests on plain binds to https with this
	// status (301, 302, 303, 307 or 308), HAProxy's "http-request redirect
	// scheme https code N unless { ssl_fc }". Default 0: off.
	RedirectHTTPS int
	// Policy holds the acl, http_request, http_response and tcp_request
	// blocks (policy.go).
	Policy Policy
	// StickTable is the frontend's stick_table block (stick.go), nil
	// when none.
	StickTable *StickTable

	rng        blockRanges
	bindRanges map[string]hcl.Range // normalized bind -> where it is written
}

// Route sends matching http requests to a backend. A request matches when
// its Host is one of Host (if any are given) and its path starts with one of
// PathPrefix (if any are given).
type Route struct {
	Name string
	// Host lists host names, compared case-insensitively without port.
	Host []string
	// PathPrefix lists path prefixes, compared byte for byte.
	PathPrefix []string
	// Backend is the backend the matching requests go to. Required. A
	// value with %[...] names the backend at request time (HAProxy's
	// use_backend %[req.hdr(host),lower,map(hosts,web)]); when the name
	// it gives is no backend, the route does not match.
	Backend string
	// SNI lists server names of tcp frontends: connections whose TLS
	// ClientHello names one of them (exact, or "*.example.com" one label
	// deep) go to Backend, terminated or passed through untouched.
	SNI []string
	// Cond is the route's if or unless (HAProxy's use_backend ... if);
	// it is and-ed with Host and PathPrefix. nil: none.
	Cond *Condition
	// BackendTemplate is Backend when it holds %[...].
	BackendTemplate *sample.Template

	rng blockRanges
}

// ErrorStatuses are the statuses lbd answers with itself, the ones an
// error_file can replace: its own (bad requests, timeouts, no server,
// server errors) and those of the traffic policy's rules (deny's 403 or
// the status it names, tarpit's 500, a rate limit's 429), as HAProxy's
// errorfile list. Other statuses come from the servers and pass through
// unchanged.
var ErrorStatuses = []int{200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 414, 425, 429, 431, 500, 501, 502, 503, 504, 505}

// ErrorFile is a raw HTTP response sent instead of lbd's built-in page for
// one status code, as HAProxy's errorfile.
type ErrorFile struct {
	// Status is the status code this file replaces, for example 503: one of
	// ErrorStatuses.
	Status int
	// Path is the file holding a complete HTTP response (status line,
	// headers, blank line, body).
	Path string
	// Response is the file's content, read and checked at load time so that
	// a reload with a missing file is refused instead of failing later.
	Response []byte

	rng blockRanges
}

// Backend is a pool of servers and how to pick one.
type Backend struct {
	Name string
	// StickTable is the backend's stick_table block (stick.go), nil when
	// none: a backend may exist only to hold one.
	StickTable *StickTable
	// Mode defaults to defaults.mode.
	Mode Mode
	// Balance is the load-balancing algorithm: roundrobin, static-rr,
	// leastconn, first, source, uri, url_param, hdr or random.
	// Default "roundrobin".
	Balance string
	// HashKey names the URL parameter (balance url_param) or the header
	// (balance hdr) to hash. Required by those two, unused otherwise.
	HashKey string
	// HashType is map-based or consistent. Default "map-based".
	HashType string
	// Retries is how many times a failed connect is retried before the
	// request is redispatched to another server. Default 3.
	Retries int
	// Observe enables passive health checking from live traffic: "",
	// "layer4" or "layer7". Default "" (off).
	Observe string
	// ErrorLimit is the number of consecutive live errors that marks a
	// server DOWN when Observe is set. Default 10.
	ErrorLimit int
	// Cookie enables cookie persistence; nil when not configured.
	Cookie *Cookie
	// HealthCheck always holds the active check settings. A backend without
	// a health_check block gets a tcp connect check with the defaults
	// below, which applies to servers with check = true.
	HealthCheck *HealthCheck
	// Servers in configuration order.
	Servers []*Server
	// Timeouts is defaults.timeouts with this block's overrides applied.
	Timeouts Timeouts
	// TLS to every server; nil: plain TCP.
	TLS *ServerTLS
	// Proto "h2" speaks HTTP/2 to the servers (HAProxy's "proto h2"):
	// with prior knowledge in clear (h2c), by ALPN over TLS; requests from
	// many clients share few connections, as many streams at once on
	// each as the server's SETTINGS allow. Default "": HTTP/1.1. Servers
	// inherit it.
	Proto string

	rng blockRanges
}

// Cookie configures HAProxy-style cookie persistence.
type Cookie struct {
	// Name is the cookie's name, the block label (e.g. SERVERID, JSESSIONID).
	Name string
	// Mode is insert, prefix or rewrite. Default "insert".
	Mode string
	// Indirect hides the persistence cookie from servers and only sets it
	// when the client does not already carry a valid one. Default true.
	Indirect bool
	// NoCache adds "Cache-Control: private" to responses that set the
	// cookie, so shared caches do not store them. Default true.
	NoCache bool
	// HTTPOnly adds the HttpOnly flag to inserted cookies. Default true.
	HTTPOnly bool
	// Secure adds the Secure flag to inserted cookies. Default false.
	Secure bool
	// MaxIdle expires a cookie not seen for that long; 0 disables.
	// Default 30m.
	MaxIdle time.Duration
	// MaxLife expires a cookie that old, whatever its use; 0 disables.
	// Default 8h.
	MaxLife time.Duration

	rng blockRanges
}

// HealthCheck configures the active checks of a backend's servers.
type HealthCheck struct {
	// Type is tcp, http, tcp-check, agent or grpc. Default "tcp". http
	// and grpc checks of a server with proto = "h2" speak HTTP/2.
	Type string
	// Port is the port checked; 0 means the server's own port. For agent
	// checks it is the agent's port and required. Default 0.
	Port int
	// Method is the HTTP method of http checks. Default "GET".
	Method string
	// Path is the request target of http checks. Default "/".
	Path string
	// Host is the Host header of http checks; "" sends the server address.
	Host string
	// ExpectStatus lists the statuses an http check accepts.
	// Default [200].
	ExpectStatus []int
	// ExpectBody, when set, must occur in an http check's response body.
	ExpectBody string
	// Send is what a tcp-check writes after connecting.
	Send string
	// Expect, when set, must occur in what a tcp-check reads back.
	Expect string
	// Interval is the time between checks of a stable server. Default 2s.
	Interval time.Duration
	// FastInterval applies while a server is transitioning (between a
	// first failure and DOWN, or a first success and UP). Default 1s.
	FastInterval time.Duration
	// DownInterval applies while a server is DOWN. Default 5s.
	DownInterval time.Duration
	// Timeout bounds one whole check. Default 1s.
	Timeout time.Duration
	// Rise is the consecutive successes that bring a server UP. Default 2.
	Rise int
	// Fall is the consecutive failures that take a server DOWN. Default 3.
	Fall int
	// TLS runs the check over TLS (HAProxy's check-ssl) with the server's
	// TLS settings; nil: checks use TLS when the server does.
	TLS *bool
	// GRPCService is the service a grpc check asks gRPC's health service
	// (grpc.health.v1.Health/Check) about; "" (default) is the server as
	// a whole. Type grpc needs proto = "h2".
	GRPCService string

	rng blockRanges
}

// Server is one backend server.
type Server struct {
	Name string
	// Address is "host:port"; the host is an IP address or a name resolved
	// once at load time.
	Address string
	// Weight is 0..256; 0 takes no new traffic (drain). Default 1.
	Weight int
	// MaxConn caps concurrent requests/connections to the server; past it
	// requests queue. Default 0 (unlimited).
	MaxConn int
	// Backup servers only get traffic when no active server is usable.
	// Default false.
	Backup bool
	// Cookie is the value identifying this server in the persistence
	// cookie. Default: the server's name.
	Cookie string
	// SlowStart ramps a server's weight up over this time after it comes
	// UP. Default 0 (off).
	SlowStart time.Duration
	// Check enables active health checks for this server. A server that is
	// not checked is considered UP. Default true.
	Check bool
	// TLS is the server's effective TLS (its backend's tls block with its
	// own over it); nil: plain TCP.
	TLS *ServerTLS
	// Proto is "h2" to speak HTTP/2 to this server; default: its
	// backend's proto.
	Proto string
	// SendProxy is the PROXY protocol version sent to the server before
	// each connection's first byte: "" (none), "v1" or "v2" (HAProxy's
	// send-proxy and send-proxy-v2). Default "".
	SendProxy string
	// CheckSendProxy: nil follows HAProxy (checks send the header when
	// the traffic does and the check uses the server's port); see
	// Server.CheckProxyVersion.
	CheckSendProxy *bool

	rng blockRanges
}

// Stats configures the statistics listener: an HTML page, CSV and
// Prometheus metrics.
type Stats struct {
	// Bind is the listening address. Default "0.0.0.0:8404".
	Bind string
	// URI is the path of the HTML page; URI;csv serves CSV. Default "/stats".
	URI string
	// Refresh is the page's auto-refresh period. Default 5s.
	Refresh time.Duration
	// Auth enables HTTP basic authentication; nil when not configured.
	Auth *StatsAuth

	rng blockRanges
}

// StatsAuth is the basic-auth credential of the stats page.
type StatsAuth struct {
	User     string
	Password string
}

// VRRPScript is a tracked command, as keepalived's vrrp_script.
type VRRPScript struct {
	Name string
	// Script is the command line. It runs without a shell: words are split
	// on blanks, with single and double quotes grouping. Write
	// `/bin/sh -c '...'` to ask for a shell. Required.
	Script string
	// Args is Script split into words; Args[0] is the program.
	Args []string
	// Interval between two runs. Default 2s.
	Interval time.Duration
	// Timeout after which a run is killed and counted as a failure.
	// Default 2s.
	Timeout time.Duration
	// Fall is the consecutive failures that make the script KO. Default 2.
	Fall int
	// Rise is the consecutive successes that make it OK again. Default 2.
	Rise int
	// Weight: >0 adds Weight to the priority while OK; <0 subtracts |Weight|
	// while KO; 0 puts tracking instances in FAULT while KO. Range -254..254.
	// Default 0.
	Weight int

	rng blockRanges
}

// VRRPInstance is one virtual router, as keepalived's vrrp_instance.
type VRRPInstance struct {
	Name string
	// Interface carries the adverts and the VIPs. Required.
	Interface string
	// State is the initial state, MASTER or BACKUP. Default "BACKUP".
	State string
	// VirtualRouterID is the VRID, 1..255. Required.
	VirtualRouterID int
	// Priority is 1..255; 255 means this node owns the addresses.
	// Default 100.
	Priority int
	// Version is the VRRP version: 2 (RFC 3768, IPv4 only) or 3 (RFC 5798,
	// IPv4 or IPv6). Default 2.
	Version int
	// AdvertInt is the advertisement interval: whole seconds up to 255s
	// with version 2, 10ms steps up to 40.95s with version 3. Default 1s.
	AdvertInt time.Duration
	// Preempt lets a higher-priority backup take over from a lower master.
	// Default true.
	Preempt bool
	// PreemptDelay delays preemption after start-up. Default 0s.
	PreemptDelay time.Duration
	// AuthPass enables simple password authentication (auth type PASS); at
	// most 8 bytes; version 2 only. Default "" (no authentication).
	AuthPass string
	// VirtualIPAddresses are the VIPs, as CIDRs, in advert order, all of
	// one family: IPv4, or IPv6 with version 3. Required.
	VirtualIPAddresses []netip.Prefix
	// UnicastSrc is the source address of unicast adverts; zero when unset.
	UnicastSrc netip.Addr
	// UnicastPeers, when set, receive the adverts by unicast instead of
	// multicast to 224.0.0.18 (ff02::12 for IPv6).
	UnicastPeers []netip.Addr
	// VMACInterface, when set (use_vmac), is the macvlan interface the
	// VIPs live on, with the virtual router MAC 00:00:5e:00:01:VRID
	// (00:00:5e:00:02:VRID for IPv6), created on Interface. Default ""
	// (no virtual MAC); use_vmac = true names it "vrrp.VRID".
	VMACInterface string
	// VMACXmitBase sends the adverts from Interface (its own MAC) instead
	// of the macvlan. Default false.
	VMACXmitBase bool
	// The GARP settings schedule the announcements of the VIPs: gratuitous
	// ARP for IPv4, unsolicited neighbour advertisements for IPv6 (as
	// keepalived's garp_master_* do for both).
	//
	// GARPMasterDelay is the delay before the second burst of gratuitous
	// ARPs after becoming master. Default 5s.
	GARPMasterDelay time.Duration
	// GARPMasterRepeat is the number of gratuitous ARPs per burst.
	// Default 5.
	GARPMasterRepeat int
	// GARPMasterRefresh repeats gratuitous ARPs periodically while master;
	// 0 disables. Default 0s.
	GARPMasterRefresh time.Duration
	// TrackScripts names vrrp_script blocks that adjust the priority.
	TrackScripts []string
	// TrackInterfaces puts the instance in FAULT while any of them is down.
	TrackInterfaces []string
	// TrackBackends follow the proxy's health natively.
	TrackBackends []*TrackBackend
	// NotifyMaster, NotifyBackup, NotifyFault run on entering that state;
	// Notify runs on every transition with keepalived's arguments
	// (INSTANCE name STATE priority). Same word splitting as vrrp_script.
	NotifyMaster string
	NotifyBackup string
	NotifyFault  string
	Notify       string

	rng blockRanges
}

// VRRPSyncGroup is keepalived's vrrp_sync_group: vrrp_instances that
// change state together (a front VIP and a back VIP, say): when one
// enters FAULT, the others do; one becomes MASTER only when every member
// would, and then all do; when one leaves MASTER for BACKUP, the others
// follow.
type VRRPSyncGroup struct {
	Name string
	// Group names the member vrrp_instances; an instance is in one group
	// at most. Required.
	Group []string
	// NotifyMaster, NotifyBackup, NotifyFault run (without arguments)
	// when the group enters that state; Notify on every change, with
	// keepalived's arguments "GROUP name STATE 0". Default "".
	NotifyMaster string
	NotifyBackup string
	NotifyFault  string
	Notify       string
	// TrackingWeight (sync_group_tracking_weight) keeps the tracking
	// weights of the members. Default false: as in keepalived, a member's
	// trackers count as weight 0, so that a failure is a FAULT of the
	// group instead of priorities that differ between its members.
	TrackingWeight bool

	rng blockRanges
	// memberRng is where each name of Group is written.
	memberRng []hcl.Range
}

// IPv6 reports whether the instance carries IPv6 addresses (a version 3
// instance whose VIPs are IPv6).
func (vi *VRRPInstance) IPv6() bool {
	return len(vi.VirtualIPAddresses) > 0 && vi.VirtualIPAddresses[0].Addr().Is6()
}

// TrackBackend lowers an instance's priority (or puts it in FAULT) while a
// backend has fewer healthy servers than MinUp.
type TrackBackend struct {
	// Backend is the tracked backend, the block label.
	Backend string
	// MinUp is the number of usable servers below which Weight applies.
	// Default 1.
	MinUp int
	// Weight is subtracted (when negative) or added (when positive, while
	// healthy) as a vrrp_script's weight; 0 means FAULT. Default 0.
	Weight int

	rng blockRanges
}

// Frontend returns the frontend of that name, or nil.
func (c *Config) Frontend(name string) *Frontend {
	for _, f := range c.Frontends {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Backend returns the backend of that name, or nil.
func (c *Config) Backend(name string) *Backend {
	for _, b := range c.Backends {
		if b.Name == name {
			return b
		}
	}
	return nil
}

// VRRPScript returns the vrrp_script of that name, or nil.
func (c *Config) VRRPScript(name string) *VRRPScript {
	for _, s := range c.VRRPScripts {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Server returns the server of that name, or nil.
func (b *Backend) Server(name string) *Server {
	for _, s := range b.Servers {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// blockRanges remembers where a block and its attributes are in the file, so
// that checks made after decoding (references, conflicts) point at the
// right line.
type blockRanges struct {
	block hcl.Range
	attrs map[string]hcl.Range
}

// at returns the range of the named attribute, or of the block when the
// attribute was not written.
func (r blockRanges) at(name string) hcl.Range {
	if rg, ok := r.attrs[name]; ok {
		return rg
	}
	return r.block
}
