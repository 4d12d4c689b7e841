package proxy

import (
	"sync/atomic"

	"lbd/stats"
)

// traffic counts what went through a frontend or a backend, for the stats
// page and /metrics (HAProxy's bin, bout and hrsp_* columns).
type traffic struct {
	bytesIn  atomic.Uint64 // from clients
	bytesOut atomic.Uint64 // to clients
	resp     stats.ResponseCounter
}

// count accounts one finished request with the status sent (0: none).
func (c *traffic) count(status int, in, out int64) {
	c.bytesIn.Add(uint64(in))
	c.bytesOut.Add(uint64(out))
	if status > 0 {
		c.resp.Count(status)
	}
}

// maxInt64 raises m to at least v.
func maxInt64(m *atomic.Int64, v int64) {
	for {
		cur := m.Load()
		if v <= cur || m.CompareAndSwap(cur, v) {
			return
		}
	}
}
