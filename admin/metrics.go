package admin

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"lbd/bgp"
	"lbd/stats"
	"lbd/vrrp"
)

// metricsCollector exposes a Snapshot as Prometheus metrics, read at scrape
// time: the data path keeps only its own atomics, nothing is counted twice.
type metricsCollector struct {
	src StatsSource
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("lbd_"+name, help, labels, nil)
}

var (
	feLabels = []string{"frontend"}
	beLabels = []string{"backend"}
	svLabels = []string{"backend", "server"}
	viLabels = []string{"instance"}

	feCur      = desc("frontend_current_sessions", "Current client connections.", feLabels...)
	feMax      = desc("frontend_max_sessions", "Highest number of concurrent client connections.", feLabels...)
	feLimit    = desc("frontend_limit_sessions", "Configured maxconn (0: none).", feLabels...)
	feTotal    = desc("frontend_sessions_total", "Client connections accepted.", feLabels...)
	feBytesIn  = desc("frontend_bytes_in_total", "Bytes received from clients.", feLabels...)
	feBytesOut = desc("frontend_bytes_out_total", "Bytes sent to clients.", feLabels...)
	feDenied   = desc("frontend_requests_denied_total", "Requests refused before reaching a backend.", feLabels...)
	feErrReq   = desc("frontend_request_errors_total", "Invalid requests.", feLabels...)
	feReqs     = desc("frontend_http_requests_total", "HTTP requests received.", feLabels...)
	feResp     = desc("frontend_http_responses_total", "HTTP responses by class.", "frontend", "code")
	feUp       = desc("frontend_status", "1 while the frontend accepts connections.", feLabels...)

	beUp       = desc("backend_up", "1 while at least one server is up.", beLabels...)
	beActive   = desc("backend_active_servers", "Active servers up.", beLabels...)
	beBackup   = desc("backend_backup_servers", "Backup servers up.", beLabels...)
	beQueue    = desc("backend_current_queue", "Requests waiting for a server.", beLabels...)
	beMaxQueue = desc("backend_max_queue", "Highest queue length seen.", beLabels...)
	beCur      = desc("backend_current_sessions", "Sessions in progress.", beLabels...)
	beMax      = desc("backend_max_sessions", "Highest number of concurrent sessions.", beLabels...)
	beTotal    = desc("backend_sessions_total", "Sessions sent to the backend.", beLabels...)
	beBytesIn  = desc("backend_bytes_in_total", "Bytes sent to servers.", beLabels...)
	beBytesOut = desc("backend_bytes_out_total", "Bytes received from servers.", beLabels...)
	beConnErr  = desc("backend_connection_errors_total", "Failed connects to servers.", beLabels...)
	beRespErr  = desc("backend_response_errors_total", "Broken or invalid server responses.", beLabels...)
	beRetries  = desc("backend_retry_warnings_total", "Connect retries.", beLabels...)
	beRedisp   = desc("backend_redispatch_warnings_total", "Requests redispatched to another server.", beLabels...)
	beResp     = desc("backend_http_responses_total", "HTTP responses by class.", "backend", "code")

	svStatus    = desc("server_status", "Server state (1 for the current one).", "backend", "server", "state")
	svUp        = desc("server_up", "1 while the server may take traffic or holds sessions.", svLabels...)
	svWeight    = desc("server_weight", "Effective weight.", svLabels...)
	svCur       = desc("server_current_sessions", "Sessions in progress.", svLabels...)
	svMax       = desc("server_max_sessions", "Highest number of concurrent sessions.", svLabels...)
	svLimit     = desc("server_limit_sessions", "Configured maxconn (0: none).", svLabels...)
	svQueue     = desc("server_current_queue", "Requests queued for this server.", svLabels...)
	svTotal     = desc("server_sessions_total", "Sessions sent to the server.", svLabels...)
	svBytesIn   = desc("server_bytes_in_total", "Bytes sent to the server.", svLabels...)
	svBytesOut  = desc("server_bytes_out_total", "Bytes received from the server.", svLabels...)
	svConnErr   = desc("server_connection_errors_total", "Failed connects.", svLabels...)
	svRespErr   = desc("server_response_errors_total", "Broken or invalid responses.", svLabels...)
	svRetries   = desc("server_retry_warnings_total", "Connect retries.", svLabels...)
	svRedisp    = desc("server_redispatch_warnings_total", "Requests moved away from this server.", svLabels...)
	svResp      = desc("server_http_responses_total", "HTTP responses by class.", "backend", "server", "code")
	svChkFail   = desc("server_check_failures_total", "Failed health checks.", svLabels...)
	svChkDown   = desc("server_check_up_down_total", "UP to DOWN transitions.", svLabels...)
	svChkDur    = desc("server_check_duration_seconds", "Duration of the last health check.", svLabels...)
	svDowntime  = desc("server_downtime_seconds_total", "Time spent DOWN.", svLabels...)
	svLastChg   = desc("server_last_change_timestamp_seconds", "Unix time of the last state change.", svLabels...)
	svCheckStat = desc("server_check_status", "Last check result (1 for the current one).", "backend", "server", "status")

	vrState     = desc("vrrp_state", "VRRP state (1 for the current one).", "instance", "state")
	vrPrio      = desc("vrrp_priority", "Configured priority.", viLabels...)
	vrEffPrio   = desc("vrrp_effective_priority", "Priority after tracked scripts, interfaces and backends.", viLabels...)
	vrTrans     = desc("vrrp_transitions_total", "State transitions.", viLabels...)
	vrSent      = desc("vrrp_adverts_sent_total", "Advertisements sent.", viLabels...)
	vrRecv      = desc("vrrp_adverts_received_total", "Valid advertisements received.", viLabels...)
	vrInvalid   = desc("vrrp_invalid_packets_total", "Packets dropped, by reason.", "instance", "reason")
	vrLastTrans = desc("vrrp_last_transition_timestamp_seconds", "Unix time of the last transition.", viLabels...)

	bgNbState   = desc("bgp_neighbor_state", "BGP session state (1 for the current one).", "neighbor", "state")
	bgNbUp      = desc("bgp_neighbor_up", "1 while the BGP session is ESTABLISHED.", "neighbor")
	bgNbRoutes  = desc("bgp_neighbor_routes_announced", "Routes advertised to the neighbour.", "neighbor")
	bgNbTrans   = desc("bgp_neighbor_transitions_total", "BGP session state changes.", "neighbor")
	bgRoutes    = desc("bgp_routes_announced", "VIPs announced now.")
	bgDrained   = desc("bgp_drained", "1 while drained (lbctl bgp drain).")
	bgAnnUp     = desc("bgp_announce_up", "1 while the announce group is announced.", "announce")
	bgAnnTrans  = desc("bgp_announce_transitions_total", "Times the announce group was announced or withdrawn.", "announce")
	bgAnnChange = desc("bgp_announce_last_change_timestamp_seconds", "Unix time the group was last announced or withdrawn.", "announce")
	logSent     = desc("log_lines_total", "Log lines written to a log target.", "target")
	logDropped  = desc("log_dropped_total", "Log lines dropped: the target's queue was full (slow receiver) or the target was unreachable.", "target")
)

var bgpStates = []string{"IDLE", "CONNECT", "ACTIVE", "OPENSENT", "OPENCONFIRM", "ESTABLISHED"}

var serverStates = []string{"UP", "DOWN", "MAINT", "DRAIN"}
var vrrpStates = []string{"INIT", "BACKUP", "MASTER", "FAULT"}

// Describe sends nothing: the collector is "unchecked", because the set of
// series follows the configuration (frontends, servers, instances come and
// go with reloads). Describing by collecting would also take a snapshot at
// registration, while the daemon may still be starting.
func (c *metricsCollector) Describe(chan<- *prometheus.Desc) {}

func (c *metricsCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.src.Stats()
	m := emitter{ch}
	for _, f := range snap.Frontends {
		m.frontend(f)
	}
	for _, b := range snap.Backends {
		m.backend(b)
		for _, s := range b.Servers {
			m.server(b, s)
		}
	}
	for _, v := range snap.VRRP {
		m.vrrp(v)
	}
	for _, l := range snap.Logs {
		m.counter(logSent, l.Sent, l.Target)
		m.counter(logDropped, l.Dropped, l.Target)
	}
	if snap.BGP.Configured {
		m.bgp(snap.BGP)
	}
	for _, t := range snap.Tables {
		m.table(t)
	}
	for _, p := range snap.Peers {
		m.peers(p)
	}
}

func (m emitter) bgp(st bgp.Status) {
	m.gauge(bgRoutes, float64(st.RoutesAnnounced))
	m.gauge(bgDrained, b2f(st.Drained))
	for _, n := range st.Neighbors {
		for _, s := range bgpStates {
			m.gauge(bgNbState, b2f(s == n.State), n.Address, s)
		}
		m.gauge(bgNbUp, b2f(n.State == "ESTABLISHED"), n.Address)
		m.gauge(bgNbRoutes, float64(n.RoutesAnnounced), n.Address)
		m.counter(bgNbTrans, n.Transitions, n.Address)
	}
	for _, a := range st.Announces {
		m.gauge(bgAnnUp, b2f(a.Announced), a.Name)
		m.counter(bgAnnTrans, a.Transitions, a.Name)
		if !a.Since.IsZero() {
			m.gauge(bgAnnChange, float64(a.Since.UnixNano())/1e9, a.Name)
		}
	}
}

// emitter turns snapshot values into constant metrics.
type emitter struct{ ch chan<- prometheus.Metric }

func (m emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	m.ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func (m emitter) counter(d *prometheus.Desc, v uint64, labels ...string) {
	m.ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

// responses emits one counter per HTTP status class, labelled code.
func (m emitter) responses(d *prometheus.Desc, sc stats.Responses, labels ...string) {
	for _, x := range []struct {
		code string
		n    uint64
	}{{"1xx", sc.C1xx}, {"2xx", sc.C2xx}, {"3xx", sc.C3xx}, {"4xx", sc.C4xx}, {"5xx", sc.C5xx}, {"other", sc.Other}} {
		m.counter(d, x.n, append(labels, x.code)...)
	}
}

func (m emitter) frontend(f stats.Frontend) {
	m.gauge(feCur, float64(f.CurConns), f.Name)
	m.gauge(feMax, float64(f.MaxConns), f.Name)
	m.gauge(feLimit, float64(f.Limit), f.Name)
	m.counter(feTotal, f.TotalConns, f.Name)
	m.counter(feBytesIn, f.BytesIn, f.Name)
	m.counter(feBytesOut, f.BytesOut, f.Name)
	m.counter(feDenied, f.DeniedReq, f.Name)
	m.counter(feErrReq, f.ErrReq, f.Name)
	m.gauge(feUp, b2f(f.Status != "STOP"), f.Name)
	if f.Mode == "http" {
		m.counter(feReqs, f.Requests, f.Name)
		m.responses(feResp, f.Responses, f.Name)
	}
}

func (m emitter) backend(b stats.Backend) {
	act, bck := b.UpCounts()
	m.gauge(beUp, b2f(b.Status() == "UP"), b.Name)
	m.gauge(beActive, float64(act), b.Name)
	m.gauge(beBackup, float64(bck), b.Name)
	m.gauge(beQueue, float64(b.Queue), b.Name)
	m.gauge(beMaxQueue, float64(b.MaxQueue), b.Name)
	m.gauge(beCur, float64(b.CurConns), b.Name)
	m.gauge(beMax, float64(b.MaxConns), b.Name)
	m.counter(beTotal, b.TotalConns, b.Name)
	m.counter(beBytesIn, b.BytesIn, b.Name)
	m.counter(beBytesOut, b.BytesOut, b.Name)
	m.counter(beConnErr, b.ConnErrors, b.Name)
	m.counter(beRespErr, b.RespErrors, b.Name)
	m.counter(beRetries, b.Retries, b.Name)
	m.counter(beRedisp, b.Redispatch, b.Name)
	if b.Mode == "http" {
		m.responses(beResp, b.Responses, b.Name)
	}
}

func (m emitter) server(b stats.Backend, s stats.Server) {
	l := []string{b.Name, s.Name}
	state := baseState(s.Status)
	for _, st := range serverStates {
		m.gauge(svStatus, b2f(st == state), b.Name, s.Name, st)
	}
	m.gauge(svUp, b2f(s.Up()), l...)
	m.gauge(svWeight, float64(s.Weight), l...)
	m.gauge(svCur, float64(s.CurConns), l...)
	m.gauge(svMax, float64(s.MaxConns), l...)
	m.gauge(svLimit, float64(s.Limit), l...)
	m.gauge(svQueue, float64(s.Queue), l...)
	m.counter(svTotal, s.TotalConns, l...)
	m.counter(svBytesIn, s.BytesIn, l...)
	m.counter(svBytesOut, s.BytesOut, l...)
	m.counter(svConnErr, s.ConnErrors, l...)
	m.counter(svRespErr, s.RespErrors, l...)
	m.counter(svRetries, s.Retries, l...)
	m.counter(svRedisp, s.Redispatch, l...)
	if b.Mode == "http" {
		m.responses(svResp, s.Responses, l...)
	}
	m.counter(svChkDown, s.CheckDowns, l...)
	m.ch <- prometheus.MustNewConstMetric(svDowntime, prometheus.CounterValue, s.DownTime.Seconds(), l...)
	if !s.LastChange.IsZero() {
		m.gauge(svLastChg, float64(s.LastChange.UnixNano())/1e9, l...)
	}
	if s.Checked {
		m.counter(svChkFail, s.CheckFailed, l...)
		m.gauge(svChkDur, s.CheckDuration.Seconds(), l...)
		if s.CheckStatus != "" {
			m.gauge(svCheckStat, 1, b.Name, s.Name, s.CheckStatus)
		}
	}
}

func (m emitter) vrrp(v vrrp.InstanceStatus) {
	for _, st := range vrrpStates {
		m.gauge(vrState, b2f(st == v.State), v.Name, st)
	}
	m.gauge(vrPrio, float64(v.Priority), v.Name)
	m.gauge(vrEffPrio, float64(v.EffectivePriority), v.Name)
	m.counter(vrTrans, v.Counters.Transitions, v.Name)
	m.counter(vrSent, v.Counters.AdvertsSent, v.Name)
	m.counter(vrRecv, v.Counters.AdvertsReceived, v.Name)
	for reason, n := range v.Counters.Invalid {
		m.counter(vrInvalid, n, v.Name, reason)
	}
	if !v.LastTransition.IsZero() {
		m.gauge(vrLastTrans, float64(v.LastTransition.UnixNano())/1e9, v.Name)
	}
}

// baseState strips a transition counter: "UP 1/3" -> "UP".
func baseState(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i]
		}
	}
	return s
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// newRegistry returns a registry with lbd's collector and the standard Go
// runtime and process collectors.
func newRegistry(src StatsSource) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&metricsCollector{src: src})
	if cs, ok := src.(CertSource); ok {
		reg.MustRegister(&certCollector{src: cs})
	}
	reg.MustRegister(collectors.NewGoCollector())
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "lbd"}))
	return reg
}
