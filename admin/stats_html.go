package admin

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"lbd/config"
	"lbd/stats"
)

// The page follows HAProxy's layout (one table per frontend and backend,
// the same column groups and state colours) so that its users read it at a
// glance, plus a VRRP table and a BGP table.
var statsPage = template.Must(template.New("stats").Funcs(template.FuncMap{
	"age":   ageText,
	"dur":   func(d time.Duration) string { return d.Truncate(time.Second).String() },
	"ms":    func(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) },
	"class": stateClass,
	"limit": func(n int64) string {
		if n <= 0 {
			return ""
		}
		return fmt.Sprint(n)
	},
	"join": strings.Join,
	"add":  func(a, b uint64) uint64 { return a + b },
}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{{.Refresh}}">
<title>lbd statistics</title>
<style>
body{font-family:Arial,Helvetica,sans-serif;font-size:12px;margin:8px;background:#fff;color:#000}
h1{font-size:16px;margin:4px 0}
h2{font-size:13px;margin:14px 0 2px 0;background:#20377f;color:#fff;padding:2px 6px;display:inline-block}
table{border-collapse:collapse;margin-bottom:6px}
th,td{border:1px solid #999;padding:1px 4px;text-align:right;white-space:nowrap}
th{background:#b0b0d0}
td.name{text-align:left;font-weight:bold}
tr.fe td{background:#e0f0ff}
tr.be td{background:#d0d0e8;font-weight:bold}
tr.up td{background:#c0ffc0}
tr.down td{background:#ff9090}
tr.goingdown td{background:#ffffa0}
tr.goingup td{background:#ffd020}
tr.maint td{background:#c07820}
tr.drain td{background:#20a0ff}
tr.nolb td{background:#e0e0e0}
.legend span{display:inline-block;padding:1px 6px;margin-right:4px;border:1px solid #999}
.info td{text-align:left;border:none}
</style></head><body>
<h1>lbd statistics</h1>
<table class="info">
<tr><td>version {{.Snap.Version}}, pid {{.Snap.PID}}, up {{age .Now .Snap.StartedAt}}</td></tr>
<tr><td>updated {{.Now.Format "2006-01-02 15:04:05 MST"}}, refresh every {{.Refresh}}s; <a href="{{.URI}};csv">CSV</a>, <a href="/metrics">Prometheus</a></td></tr>
</table>
<div class="legend">
<span style="background:#c0ffc0">UP</span><span style="background:#ffffa0">UP, going down</span><span style="background:#ffd020">DOWN, going up</span><span style="background:#ff9090">DOWN</span><span style="background:#20a0ff">DRAIN</span><span style="background:#c07820">MAINT</span><span style="background:#e0e0e0">no weight</span>
</div>
{{- $now := .Now}}{{$rates := .Rates}}
{{range .Snap.Frontends}}
<h2>frontend {{.Name}} ({{.Mode}})</h2>
<table>
<tr><th rowspan="2"></th><th colspan="3">Session rate</th><th colspan="4">Sessions</th><th colspan="2">Bytes</th><th>Denied</th><th>Errors</th><th colspan="2">Requests</th><th colspan="5">Responses</th><th rowspan="2">Status</th></tr>
<tr><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th><th>In</th><th>Out</th><th>Req</th><th>Req</th><th>Total</th><th>Rate</th><th>2xx</th><th>3xx</th><th>4xx</th><th>5xx</th><th>other</th></tr>
<tr class="fe"><td class="name">Frontend</td>{{with index $rates (print "fe/" .Name)}}<td>{{index . 0}}</td><td>{{index . 1}}</td>{{end}}<td></td>
<td>{{.CurConns}}</td><td>{{.MaxConns}}</td><td>{{limit .Limit}}</td><td>{{.TotalConns}}</td><td>{{.BytesIn}}</td><td>{{.BytesOut}}</td><td>{{.DeniedReq}}</td><td>{{.ErrReq}}</td>
<td>{{.Requests}}</td>{{with index $rates (print "fereq/" .Name)}}<td>{{index . 0}}</td>{{end}}<td>{{.Responses.C2xx}}</td><td>{{.Responses.C3xx}}</td><td>{{.Responses.C4xx}}</td><td>{{.Responses.C5xx}}</td><td>{{add .Responses.C1xx .Responses.Other}}</td><td>{{.Status}}</td></tr>
</table>
{{end}}
{{range $b := .Snap.Backends}}
<h2>backend {{.Name}} ({{.Mode}}, {{.Algo}})</h2>
<table>
<tr><th rowspan="2"></th><th colspan="2">Queue</th><th colspan="2">Session rate</th><th colspan="6">Sessions</th><th colspan="2">Bytes</th><th colspan="3">Errors</th><th colspan="2">Warnings</th><th colspan="10">Server</th></tr>
<tr><th>Cur</th><th>Max</th><th>Cur</th><th>Max</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th><th>LbTot</th><th>Last</th><th>In</th><th>Out</th><th>Req</th><th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th>
<th>Status</th><th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th><th>Chk</th><th>Dwn</th><th>Dwntme</th><th>Thrtle</th><th>Address</th></tr>
{{range .Servers}}
<tr class="{{class .}}"><td class="name">{{.Name}}</td><td>{{.Queue}}</td><td>{{.MaxQueue}}</td>
{{with index $rates (print "sv/" $b.Name "/" .Name)}}<td>{{index . 0}}</td><td>{{index . 1}}</td>{{end}}
<td>{{.CurConns}}</td><td>{{.MaxConns}}</td><td>{{limit .Limit}}</td><td>{{.TotalConns}}</td><td>{{.TotalConns}}</td><td>{{age $now .LastSession}}</td>
<td>{{.BytesIn}}</td><td>{{.BytesOut}}</td><td></td><td>{{.ConnErrors}}</td><td>{{.RespErrors}}</td><td>{{.Retries}}</td><td>{{.Redispatch}}</td>
<td>{{age $now .LastChange}} {{.Status}}</td>
<td>{{if .Checked}}{{.CheckStatus}}{{if .CheckCode}}/{{.CheckCode}}{{end}} in {{ms .CheckDuration}}{{if .CheckDesc}} ({{.CheckDesc}}){{end}}{{else}}no check{{end}}</td>
<td>{{.Weight}}</td><td>{{if .Backup}}-{{else}}Y{{end}}</td><td>{{if .Backup}}Y{{else}}-{{end}}</td>
<td>{{if .Checked}}{{.CheckFailed}}{{end}}</td><td>{{.CheckDowns}}</td><td>{{dur .DownTime}}</td><td>{{if lt .Throttle 100}}{{.Throttle}}%{{else}}-{{end}}</td><td>{{.Address}}</td></tr>
{{end}}
<tr class="be"><td class="name">Backend</td><td>{{.Queue}}</td><td>{{.MaxQueue}}</td>
{{with index $rates (print "be/" .Name)}}<td>{{index . 0}}</td><td>{{index . 1}}</td>{{end}}
<td>{{.CurConns}}</td><td>{{.MaxConns}}</td><td></td><td>{{.TotalConns}}</td><td>{{.TotalConns}}</td><td></td>
<td>{{.BytesIn}}</td><td>{{.BytesOut}}</td><td></td><td>{{.ConnErrors}}</td><td>{{.RespErrors}}</td><td>{{.Retries}}</td><td>{{.Redispatch}}</td>
<td>{{age $now .LastChange}} {{.Status}}</td><td></td><td></td><td></td><td></td><td></td><td></td><td></td><td></td><td></td></tr>
</table>
{{end}}
{{if .Snap.VRRP}}
<h2>VRRP</h2>
<table>
<tr><th>Instance</th><th>Interface</th><th>State</th><th>VRID</th><th>Priority</th><th>Effective</th><th>VIPs</th><th>Master</th><th>Since</th><th>Reason</th><th>Transitions</th><th>Adverts sent</th><th>Adverts received</th><th>Invalid packets</th></tr>
{{range .Snap.VRRP}}
<tr class="{{if eq .State "MASTER"}}up{{else if eq .State "FAULT"}}down{{else}}nolb{{end}}"><td class="name">{{.Name}}</td><td>{{.Interface}}</td><td>{{.State}}</td><td>{{.VRID}}</td><td>{{.Priority}}</td><td>{{.EffectivePriority}}</td><td>{{join .VIPs ", "}}</td><td>{{.Master}}</td><td>{{age $now .LastTransition}}</td><td>{{.LastTransitionReason}}</td><td>{{.Counters.Transitions}}</td><td>{{.Counters.AdvertsSent}}</td><td>{{.Counters.AdvertsReceived}}</td><td>{{range $k, $v := .Counters.Invalid}}{{$k}}: {{$v}} {{end}}</td></tr>
{{end}}
</table>
{{end}}
{{if .Snap.BGP.Configured}}{{with .Snap.BGP}}
<h2>BGP: AS {{.ASN}}, router id {{.RouterID}}, {{.RoutesAnnounced}} route(s) announced{{if .Drained}}, DRAINED{{end}}{{if .Stopping}}, stopping{{end}}</h2>
<table>
<tr><th>Neighbor</th><th>Remote AS</th><th>State</th><th>Established</th><th>Hold</th><th>Routes</th><th>Transitions</th><th>BFD</th><th>Last error</th></tr>
{{range .Neighbors}}
<tr class="{{if eq .State "ESTABLISHED"}}up{{else}}down{{end}}"><td class="name">{{.Address}}</td><td>{{.RemoteAS}}</td><td>{{.State}}</td><td>{{if eq .State "ESTABLISHED"}}{{age $now .EstablishedSince}}{{end}}</td><td>{{.HoldTime}}s</td><td>{{.RoutesAnnounced}}</td><td>{{.Transitions}}</td><td>{{.BFD}}</td><td>{{.LastError}}</td></tr>
{{end}}
<tr><th>Announce</th><th colspan="2">Addresses</th><th>State</th><th>Since</th><th colspan="4">Reason</th></tr>
{{range .Announces}}
<tr class="{{if .Announced}}up{{else}}nolb{{end}}"><td class="name">{{.Name}}</td><td colspan="2">{{join .Addresses ", "}}</td><td>{{if .Announced}}ANNOUNCED{{else}}WITHDRAWN{{end}}</td><td>{{age $now .Since}}</td><td colspan="4">{{.Reason}}</td></tr>
{{end}}
</table>
{{end}}{{end}}
</body></html>
`))

// pageData is what the template renders.
type pageData struct {
	Snap    Snapshot
	Now     time.Time
	Refresh int
	URI     string
	Rates   map[string][2]int64
}

func renderHTML(w io.Writer, snap Snapshot, rates *rateTracker, cfg *config.Stats, now time.Time) error {
	d := pageData{Snap: snap, Now: now, Refresh: int(cfg.Refresh / time.Second), URI: cfg.URI, Rates: map[string][2]int64{}}
	put := func(key string) {
		c, m := rates.get(key)
		d.Rates[key] = [2]int64{c, m}
	}
	for _, f := range snap.Frontends {
		put("fe/" + f.Name)
		put("fereq/" + f.Name)
	}
	for _, b := range snap.Backends {
		put("be/" + b.Name)
		for _, s := range b.Servers {
			put("sv/" + b.Name + "/" + s.Name)
		}
	}
	return statsPage.Execute(w, d)
}

// stateClass picks the row colour as HAProxy does.
func stateClass(s stats.Server) string {
	switch {
	case s.Status == "MAINT":
		return "maint"
	case s.Status == "DRAIN":
		return "drain"
	case strings.HasPrefix(s.Status, "UP "):
		return "goingdown"
	case strings.HasPrefix(s.Status, "DOWN "):
		return "goingup"
	case s.Status == "DOWN":
		return "down"
	case s.Weight == 0:
		return "nolb"
	}
	return "up"
}

// ageText prints how long ago t was, in HAProxy's short form.
func ageText(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}
