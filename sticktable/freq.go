package sticktable

import "sync/atomic"

// A rate counter lives in two words: w0 holds the start of the current
// period (ms since the table's epoch, 32 bits) and the events counted in
// it (32 bits); w1 the events of the previous period.

// rateAdd counts n events at now.
func rateAdd(w0, w1 *uint64, now, period, n uint32) {
	for {
		old := atomic.LoadUint64(w0)
		tick, curr := uint32(old>>32), uint32(old)
		el := now - tick
		if el < period || int32(el) < 0 { // now, or a moment before another rotated it
			nc := curr + n
			if nc < curr { // saturate rather than wrap
				nc = ^uint32(0)
			}
			if atomic.CompareAndSwapUint64(w0, old, uint64(tick)<<32|uint64(nc)) {
				return
			}
			continue
		}
		// The period is over: curr becomes prev (or 0 after two periods)
		// and a new period starts on the grid of the old one.
		var prev uint32
		if el < 2*period {
			prev = curr
		}
		nt := now - el%period
		if atomic.CompareAndSwapUint64(w0, old, uint64(nt)<<32|uint64(n)) {
			atomic.StoreUint64(w1, uint64(prev))
			return
		}
	}
}

// rateRead is the rate at now: curr plus the share of prev the sliding
// window still covers (HAProxy's read_freq_ctr_period).
func rateRead(w0, w1 *uint64, now, period uint32) uint32 {
	old := atomic.LoadUint64(w0)
	prev := uint32(atomic.LoadUint64(w1))
	tick, curr := uint32(old>>32), uint32(old)
	el := now - tick
	if int32(el) < 0 {
		el = 0 // read with a time older than the last event's
	}
	if el >= 2*period {
		return 0
	}
	if el >= period {
		prev, curr = curr, 0
		el -= period
	}
	remain := period - el
	return curr + uint32(uint64(prev)*uint64(remain)/uint64(period))
}

// rateState is what is sent to the other node: how long ago the period
// began, and both counts.
func rateState(w0, w1 *uint64, now uint32) (age, curr, prev uint32) {
	old := atomic.LoadUint64(w0)
	return now - uint32(old>>32), uint32(old), uint32(atomic.LoadUint64(w1))
}

// rateSet replaces the counter with a received state.
func rateSet(w0, w1 *uint64, now, age, curr, prev uint32) {
	atomic.StoreUint64(w1, uint64(prev))
	atomic.StoreUint64(w0, uint64(now-age)<<32|uint64(curr))
}
