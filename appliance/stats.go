package appliance

import (
	"os"
	"time"

	"lbd/admin"
	"lbd/health"
	"lbd/proxy"
)

// The appliance feeds the stats page.
var _ admin.StatsSource = (*Appliance)(nil)

// Stats gathers one snapshot from the proxy (frontend and backend
// counters), the pool (server state, checks and counters) and the speaker.
func (a *Appliance) Stats() admin.Snapshot {
	snap := admin.Snapshot{PID: os.Getpid(), Version: a.version, StartedAt: a.started}

	fes, bes := a.proxy.Stats()
	for _, f := range fes {
		snap.Frontends = append(snap.Frontends, admin.FrontendStats{
			Name: f.Name, Mode: f.Mode, Status: f.Status,
			CurConns: f.CurConns, MaxConns: f.MaxConns, Limit: f.Limit, TotalConns: f.TotalConns,
			BytesIn: f.BytesIn, BytesOut: f.BytesOut, DeniedReq: f.DeniedReq, ErrReq: f.ErrReq,
			Requests: f.Requests, Responses: statusCounts(f.Responses),
		})
	}
	servers, _ := a.pool.Status("")
	byName := make(map[string][]health.ServerStatus, len(servers))
	for _, b := range servers {
		byName[b.Name] = b.Servers
	}
	for _, b := range bes {
		bs := admin.BackendStats{
			Name: b.Name, Mode: b.Mode, Algo: b.Algo, Queue: b.Queue, MaxQueue: b.MaxQueue,
			CurConns: b.CurConns, MaxConns: b.MaxConns, TotalConns: b.TotalConns,
			BytesIn: b.BytesIn, BytesOut: b.BytesOut, Responses: statusCounts(b.Responses),
		}
		for _, st := range byName[b.Name] {
			ss := a.serverStats(b.Name, st)
			bs.ConnErrors += ss.ConnErrors
			bs.RespErrors += ss.RespErrors
			bs.Retries += ss.Retries
			bs.Redispatch += ss.Redispatch
			if ss.LastChange.After(bs.LastChange) {
				bs.LastChange = ss.LastChange
			}
			bs.Servers = append(bs.Servers, ss)
		}
		snap.Backends = append(snap.Backends, bs)
	}
	snap.Tables = a.proxy.TableStats()
	snap.Peers = a.PeersStats()
	if a.sinks != nil {
		for _, l := range a.sinks.Stats() {
			snap.Logs = append(snap.Logs, admin.LogStats{Target: l.Target, Sent: l.Sent, Dropped: l.Dropped})
		}
	}
	for _, v := range a.speaker.Status() {
		snap.VRRP = append(snap.VRRP, admin.VRRPStats{
			Name: v.Name, Interface: v.Interface, State: v.State, VRID: v.VRID,
			Priority: v.Priority, EffectivePriority: v.EffectivePriority, VIPs: v.VIPs,
			Master: v.Master, LastTransition: v.LastTransition, Reason: v.LastTransitionReason,
			Transitions: v.Counters.Transitions, AdvertsSent: v.Counters.AdvertsSent,
			AdvertsReceived: v.Counters.AdvertsReceived, InvalidPackets: v.Counters.Invalid,
		})
	}
	snap.BGP = a.bgp.Status()
	return snap
}

// serverStats combines a server's status with its traffic counters.
func (a *Appliance) serverStats(backend string, st health.ServerStatus) admin.ServerStats {
	ss := admin.ServerStats{
		Name: st.Name, Address: st.Address, Status: st.State, Weight: st.Weight, Backup: st.Backup,
		Checked: st.Check.Enabled, CurConns: st.CurConns, MaxConns: st.MaxConns, Limit: int64(st.MaxConn),
		Queue: st.Queue, TotalConns: st.TotalConns, Throttle: 100,
		CheckStatus: st.Check.Result, CheckCode: st.Check.HTTPStatus,
		CheckDuration: time.Duration(st.Check.DurationMs * float64(time.Millisecond)),
		CheckDesc:     st.Check.Description, CheckFailed: st.Check.Failed, CheckDowns: st.DownTransitions,
		CheckRise: st.Check.Rise, CheckFall: st.Check.Fall, CheckHealth: st.Check.Health,
		LastChange: st.LastChange, DownTime: time.Duration(st.DownTimeSecs * float64(time.Second)),
	}
	if st.Throttle > 0 {
		ss.Throttle = st.Throttle
	}
	s := a.pool.Get(backend, st.Name)
	if s == nil {
		return ss
	}
	c := &s.Counters
	ss.MaxQueue = c.MaxQueued.Load()
	ss.BytesIn, ss.BytesOut = c.BytesIn.Load(), c.BytesOut.Load()
	ss.ConnErrors, ss.RespErrors = c.ConnErrors.Load(), c.RespErrors.Load()
	ss.Retries, ss.Redispatch = c.Retries.Load(), c.Redispatch.Load()
	ss.Responses = admin.StatusCounts{
		C1xx: c.HTTP1xx.Load(), C2xx: c.HTTP2xx.Load(), C3xx: c.HTTP3xx.Load(),
		C4xx: c.HTTP4xx.Load(), C5xx: c.HTTP5xx.Load(), Other: c.HTTPOther.Load(),
	}
	if ns := c.LastSession.Load(); ns > 0 {
		ss.LastSession = time.Unix(0, ns)
	}
	ss.Cookie = s.Config().Cookie
	return ss
}

func statusCounts(r proxy.ResponseCounts) admin.StatusCounts {
	return admin.StatusCounts{C1xx: r.C1xx, C2xx: r.C2xx, C3xx: r.C3xx, C4xx: r.C4xx, C5xx: r.C5xx, Other: r.Other}
}
