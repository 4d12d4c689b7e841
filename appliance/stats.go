package appliance

import (
	"os"
	"time"

	"lbd/admin"
	"lbd/health"
	"lbd/stats"
)

// The appliance feeds the stats page.
var _ admin.StatsSource = (*Appliance)(nil)

// Stats gathers one snapshot: the proxy's frontend and backend rows as it
// fills them, each backend's server rows from the pool (state, checks and
// traffic counters), the speaker's instances, the log targets, tables and
// peers links, each in the type its owner declares.
func (a *Appliance) Stats() admin.Snapshot {
	snap := admin.Snapshot{PID: os.Getpid(), Version: a.version, StartedAt: a.started}

	fes, bes := a.proxy.Stats()
	snap.Frontends = fes
	servers, _ := a.pool.Status("")
	byName := make(map[string][]health.ServerStatus, len(servers))
	for _, b := range servers {
		byName[b.Name] = b.Servers
	}
	for i := range bes {
		b := &bes[i]
		for _, st := range byName[b.Name] {
			ss := a.serverStats(b.Name, st)
			b.ConnErrors += ss.ConnErrors
			b.RespErrors += ss.RespErrors
			b.Retries += ss.Retries
			b.Redispatch += ss.Redispatch
			if ss.LastChange.After(b.LastChange) {
				b.LastChange = ss.LastChange
			}
			b.Servers = append(b.Servers, ss)
		}
	}
	snap.Backends = bes
	snap.Tables = a.proxy.TableStats()
	snap.Peers = a.PeersStats()
	if a.sinks != nil {
		snap.Logs = a.sinks.Stats()
	}
	snap.VRRP = a.speaker.Status()
	snap.BGP = a.bgp.Status()
	return snap
}

// serverStats is a server's row: its status from the pool with its
// traffic counters.
func (a *Appliance) serverStats(backend string, st health.ServerStatus) stats.Server {
	ss := stats.Server{
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
	ss.Responses = c.Responses.Load()
	if ns := c.LastSession.Load(); ns > 0 {
		ss.LastSession = time.Unix(0, ns)
	}
	ss.Cookie = s.Config().Cookie
	return ss
}
