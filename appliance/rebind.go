package appliance

import (
	"net"

	"lbd/config"
)

// A reload may give a frontend the port the stats page had, and the stats
// page another port (a swap): the proxy binds before the stats page moves,
// so the stats listener is closed first when a frontend of the new
// configuration wants its port and the new stats block does not keep its
// address; a refused reload binds it again (rollback callers apply the
// old stats block). Moves between addresses on one port within the proxy
// or within the stats page are handled there.

// freeStatsPort closes the stats listener if a frontend of cfg binds its
// port and stats (the stats block that will run) does not keep its
// address. It reports whether it did.
func (a *Appliance) freeStatsPort(cfg *config.Config, stats *config.Stats) bool {
	cur := a.stats.Addr()
	if cur == "" {
		return false
	}
	_, port, err := net.SplitHostPort(cur)
	if err != nil || (stats != nil && a.cfg != nil && a.cfg.Stats != nil && stats.Bind == a.cfg.Stats.Bind) {
		return false
	}
	for _, fe := range cfg.Frontends {
		binds := append([]string(nil), fe.Bind...)
		for _, t := range fe.TLS {
			binds = append(binds, t.Bind...)
		}
		for _, b := range binds {
			if _, p, err := net.SplitHostPort(b); err == nil && p == port {
				a.log.Info().Str("stats_bind", cur).Str("frontend", fe.Name).Str("bind", b).
					Msg("reload: the stats listener is closed first, a frontend takes its port")
				if err := a.stats.Apply(nil); err != nil {
					a.log.Error().Err(err).Msg("closing the stats listener")
				}
				return true
			}
		}
	}
	return false
}
