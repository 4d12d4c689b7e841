package admin

import (
	"io"
	"strconv"
	"strings"
	"time"

	"lbd/stats"
)

// csvColumns are HAProxy 2.6's general statistics columns, in its order
// (the header of `show stat` and of the stats page's ;csv). Tools that read
// HAProxy's CSV by name or by position read ours. Columns lbd has no value
// for stay empty, as HAProxy leaves them empty where they do not apply.
var csvColumns = []string{
	"pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout",
	"dreq", "dresp", "ereq", "econ", "eresp", "wretr", "wredis", "status", "weight", "act",
	"bck", "chkfail", "chkdown", "lastchg", "downtime", "qlimit", "pid", "iid", "sid", "throttle",
	"lbtot", "tracked", "type", "rate", "rate_lim", "rate_max", "check_status", "check_code", "check_duration", "hrsp_1xx",
	"hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "hanafail", "req_rate", "req_rate_max", "req_tot", "cli_abrt",
	"srv_abrt", "comp_in", "comp_out", "comp_byp", "comp_rsp", "lastsess", "last_chk", "last_agt", "qtime", "ctime",
	"rtime", "ttime", "agent_status", "agent_code", "agent_duration", "check_desc", "agent_desc", "check_rise", "check_fall", "check_health",
	"agent_rise", "agent_fall", "agent_health", "addr", "cookie", "mode", "algo", "conn_rate", "conn_rate_max", "conn_tot",
	"intercepted", "dcon", "dses", "wrew", "connect", "reuse", "cache_lookups", "cache_hits", "srv_icur", "src_ilim",
	"qtime_max", "ctime_max", "rtime_max", "ttime_max", "eint", "idle_conn_cur", "safe_conn_cur", "used_conn_cur", "need_conn_est", "uweight",
	"agg_server_status", "agg_server_check_status", "agg_check_status",
}

var csvIndex = func() map[string]int {
	m := make(map[string]int, len(csvColumns))
	for i, c := range csvColumns {
		m[c] = i
	}
	return m
}()

// csvRow collects one line's fields by column name.
type csvRow []string

func newCSVRow() csvRow { return make(csvRow, len(csvColumns)) }

func (r csvRow) set(col, v string) {
	i, ok := csvIndex[col]
	if !ok {
		panic("admin: unknown CSV column " + col)
	}
	r[i] = v
}

func (r csvRow) i64(col string, v int64)  { r.set(col, strconv.FormatInt(v, 10)) }
func (r csvRow) u64(col string, v uint64) { r.set(col, strconv.FormatUint(v, 10)) }

func (r csvRow) statuses(c stats.Responses) {
	r.u64("hrsp_1xx", c.C1xx)
	r.u64("hrsp_2xx", c.C2xx)
	r.u64("hrsp_3xx", c.C3xx)
	r.u64("hrsp_4xx", c.C4xx)
	r.u64("hrsp_5xx", c.C5xx)
	r.u64("hrsp_other", c.Other)
}

// csvEscape keeps a field on its line: HAProxy's CSV has no quoting, so
// separators inside a value are replaced.
func csvEscape(s string) string {
	if !strings.ContainsAny(s, ",\r\n") {
		return s
	}
	return strings.NewReplacer(",", " ", "\r", " ", "\n", " ").Replace(s)
}

func (r csvRow) write(w io.Writer) error {
	var b strings.Builder
	for _, f := range r {
		b.WriteString(csvEscape(f))
		b.WriteByte(',')
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCSV writes the snapshot as HAProxy does: per frontend a FRONTEND
// line, per backend its servers then a BACKEND line.
func writeCSV(w io.Writer, snap Snapshot, rates *rateTracker, now time.Time) error {
	if _, err := io.WriteString(w, "# "+strings.Join(csvColumns, ",")+",\n"); err != nil {
		return err
	}
	pid := strconv.Itoa(snap.PID)
	for i, f := range snap.Frontends {
		if err := frontendRow(f, pid, i+1, rates).write(w); err != nil {
			return err
		}
	}
	for bi, b := range snap.Backends {
		iid := strconv.Itoa(len(snap.Frontends) + bi + 1)
		for si, s := range b.Servers {
			if err := serverRow(b, s, pid, iid, si+1, rates, now).write(w); err != nil {
				return err
			}
		}
		if err := backendRow(b, pid, iid, rates, now).write(w); err != nil {
			return err
		}
	}
	return nil
}

// ids fills the columns that identify a line: process, proxy (iid),
// server (sid) and type (0 frontend, 1 backend, 2 server).
func (r csvRow) ids(px, sv, pid, iid, sid, typ string) {
	r.set("pxname", px)
	r.set("svname", sv)
	r.set("pid", pid)
	r.set("iid", iid)
	r.set("sid", sid)
	r.set("type", typ)
}

// rate fills rate and rate_max from the tracker.
func (r csvRow) rate(rates *rateTracker, key string) (cur, max int64) {
	cur, max = rates.get(key)
	r.i64("rate", cur)
	r.i64("rate_max", max)
	return cur, max
}

func frontendRow(f stats.Frontend, pid string, iid int, rates *rateTracker) csvRow {
	r := newCSVRow()
	r.ids(f.Name, "FRONTEND", pid, strconv.Itoa(iid), "0", "0")
	r.i64("scur", f.CurConns)
	r.i64("smax", f.MaxConns)
	r.i64("slim", f.Limit)
	r.u64("stot", f.TotalConns)
	r.u64("bin", f.BytesIn)
	r.u64("bout", f.BytesOut)
	r.u64("dreq", f.DeniedReq)
	r.set("dresp", "0")
	r.u64("ereq", f.ErrReq)
	r.set("status", f.Status)
	cur, max := r.rate(rates, "fe/"+f.Name)
	r.set("mode", f.Mode)
	r.u64("conn_tot", f.TotalConns)
	r.i64("conn_rate", cur)
	r.i64("conn_rate_max", max)
	if f.Mode == "http" {
		r.statuses(f.Responses)
		rc, rm := rates.get("fereq/" + f.Name)
		r.i64("req_rate", rc)
		r.i64("req_rate_max", rm)
		r.u64("req_tot", f.Requests)
	}
	return r
}

// traffic fills the columns servers and backends share.
func (r csvRow) traffic(qcur, qmax, scur, smax int64, stot, bin, bout, econ, eresp, wretr, wredis uint64) {
	r.i64("qcur", qcur)
	r.i64("qmax", qmax)
	r.i64("scur", scur)
	r.i64("smax", smax)
	r.u64("stot", stot)
	r.u64("lbtot", stot)
	r.u64("bin", bin)
	r.u64("bout", bout)
	r.set("dresp", "0")
	r.u64("econ", econ)
	r.u64("eresp", eresp)
	r.u64("wretr", wretr)
	r.u64("wredis", wredis)
}

func serverRow(b stats.Backend, s stats.Server, pid, iid string, sid int, rates *rateTracker, now time.Time) csvRow {
	r := newCSVRow()
	r.ids(b.Name, s.Name, pid, iid, strconv.Itoa(sid), "2")
	r.traffic(s.Queue, s.MaxQueue, s.CurConns, s.MaxConns, s.TotalConns, s.BytesIn, s.BytesOut,
		s.ConnErrors, s.RespErrors, s.Retries, s.Redispatch)
	if s.Limit > 0 {
		r.i64("slim", s.Limit)
	}
	r.set("status", s.Status)
	r.set("weight", strconv.Itoa(s.Weight))
	r.set("uweight", strconv.Itoa(s.Weight))
	act, bck := "1", "0"
	if s.Backup {
		act, bck = "0", "1"
	}
	r.set("act", act)
	r.set("bck", bck)
	if s.Checked {
		r.u64("chkfail", s.CheckFailed)
		r.u64("chkdown", s.CheckDowns)
		r.set("check_status", s.CheckStatus)
		if s.CheckCode > 0 {
			r.set("check_code", strconv.Itoa(s.CheckCode))
		}
		r.i64("check_duration", s.CheckDuration.Milliseconds())
		r.set("check_desc", s.CheckDesc)
		r.set("check_rise", strconv.Itoa(s.CheckRise))
		r.set("check_fall", strconv.Itoa(s.CheckFall))
		r.set("check_health", strconv.Itoa(s.CheckHealth))
	}
	r.i64("lastchg", secondsSince(now, s.LastChange))
	r.i64("downtime", int64(s.DownTime/time.Second))
	if s.Throttle < 100 {
		r.set("throttle", strconv.Itoa(s.Throttle))
	}
	r.rate(rates, "sv/"+b.Name+"/"+s.Name)
	if b.Mode == "http" {
		r.statuses(s.Responses)
	}
	r.i64("lastsess", secondsSince(now, s.LastSession))
	r.set("addr", s.Address)
	r.set("cookie", s.Cookie)
	r.set("mode", b.Mode)
	return r
}

func backendRow(b stats.Backend, pid, iid string, rates *rateTracker, now time.Time) csvRow {
	r := newCSVRow()
	r.ids(b.Name, "BACKEND", pid, iid, "0", "1")
	r.traffic(b.Queue, b.MaxQueue, b.CurConns, b.MaxConns, b.TotalConns, b.BytesIn, b.BytesOut,
		b.ConnErrors, b.RespErrors, b.Retries, b.Redispatch)
	r.set("dreq", "0")
	r.set("status", b.Status())
	weight := 0
	for _, s := range b.Servers {
		if s.Up() && !s.Backup {
			weight += s.Weight
		}
	}
	r.set("weight", strconv.Itoa(weight))
	act, bck := b.UpCounts()
	r.set("act", strconv.Itoa(act))
	r.set("bck", strconv.Itoa(bck))
	r.i64("lastchg", secondsSince(now, b.LastChange))
	r.rate(rates, "be/"+b.Name)
	if b.Mode == "http" {
		r.statuses(b.Responses)
	}
	r.set("mode", b.Mode)
	r.set("algo", b.Algo)
	return r
}

// secondsSince is HAProxy's "seconds since" column; -1 when it never
// happened.
func secondsSince(now, t time.Time) int64 {
	if t.IsZero() {
		return -1
	}
	return int64(now.Sub(t) / time.Second)
}
