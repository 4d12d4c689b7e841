package proxy

import "sync/atomic"

// traffic counts what went through a frontend or a backend, for the stats
// page and /metrics (HAProxy's bin, bout and hrsp_* columns).
type traffic struct {
	bytesIn  atomic.Uint64 // from clients
	bytesOut atomic.Uint64 // to clients
	resp     [6]atomic.Uint64
}

// count accounts one finished request with the status sent (0: none).
func (c *traffic) count(status int, in, out int64) {
	c.bytesIn.Add(uint64(in))
	c.bytesOut.Add(uint64(out))
	if status > 0 {
		c.resp[statusClass(status)].Add(1)
	}
}

// statusClass maps 1xx..5xx to 0..4 and anything else to 5.
func statusClass(status int) int {
	if c := status/100 - 1; c >= 0 && c < 5 {
		return c
	}
	return 5
}

// ResponseCounts are HTTP responses by class.
type ResponseCounts struct {
	C1xx, C2xx, C3xx, C4xx, C5xx, Other uint64
}

func (c *traffic) responses() ResponseCounts {
	return ResponseCounts{
		C1xx: c.resp[0].Load(), C2xx: c.resp[1].Load(), C3xx: c.resp[2].Load(),
		C4xx: c.resp[3].Load(), C5xx: c.resp[4].Load(), Other: c.resp[5].Load(),
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
