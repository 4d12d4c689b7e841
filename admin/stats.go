package admin

import (
	"time"

	"lbd/bgp"
	"lbd/peers"
	"lbd/stats"
	"lbd/sticktable"
	"lbd/vrrp"
)

// StatsSource gives the stats page a consistent snapshot of every proxy,
// server and VRRP instance. The appliance implements it from the proxy's,
// the pool's and the speaker's counters; the page never touches them.
type StatsSource interface {
	Stats() Snapshot
}

// Snapshot is everything the stats page, the CSV and /metrics show.
type Snapshot struct {
	PID       int
	Version   string
	StartedAt time.Time
	Frontends []stats.Frontend
	Backends  []stats.Backend
	VRRP      []vrrp.InstanceStatus
	// BGP is the BGP speaker (Configured false without a bgp block).
	BGP  bgp.Status
	Logs []stats.Log
	// Tables are the stick tables (tables.go).
	Tables []sticktable.Stats
	// Peers are the peers links (tables.go).
	Peers []peers.Stats
}
