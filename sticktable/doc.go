// Package sticktable is HAProxy's stick table for rate limiting: entries
// keyed by a client address (type ip, ipv6) or a string (a header, a
// cookie, a path: type string), each holding the counters the table
// stores (conn_cnt, conn_cur, conn_rate, http_req_cnt, http_req_rate,
// http_err_cnt, http_err_rate, bytes_in/out_cnt, bytes_in/out_rate),
// tracked by the traffic policy's track_sc0..2 rules and read by its
// sc*_* and src_* fetches.
//
// # Rates
//
// A rate counter is HAProxy's freq_ctr over a period: the events of the
// current period (curr) and of the previous one (prev); its value at a
// moment is curr plus the share of prev that the sliding window still
// covers, prev × (period − elapsed) / period. Periods are aligned on the
// first event's time; after two periods without an event the rate reads
// 0. The value is thus a smooth estimate of the events of the last
// period, as HAProxy's (src/freq_ctr.c) is: a client that stops is let
// through again progressively, not all at once at a period's edge.
//
// # Memory and the data path
//
// The table is split in shards (by a hash of the key), each with a lock,
// a map from key to slot and fixed chunks of slots that never move: a
// tracked entry (a Ref) points at its counter words, which requests
// update with atomic operations without taking the lock. The lock is
// taken to find or create an entry (track), to let it go, and by the
// sweeper. Tracking an existing entry and updating its counters costs
// no allocation (tested; benchmarked in table_test.go). A slot is a
// 16-byte header (LRU links, last use, references), the key, and 8 bytes
// per count counter or 16 per rate; TestBytesPerEntry measures a table
// of 1,000,000 IPv4 sources.
//
// # Size and expiry
//
// Each shard keeps its entries in least-recently-used order (an entry
// moves up when a connection or request lets it go: the one move per
// request). An entry not used for the table's expire is removed (by a
// sweep every second and whenever a slot is needed); when a shard is
// full, creating an entry evicts its least recently used one. Entries a
// connection or request tracks right now are neither expired nor evicted
// (HAProxy's ref_cnt): when all are in use, the new key is not tracked.
//
// # Sharing with the other node
//
// A table that names a peers section marks the entries it changes;
// package peers sends them (Drain) and applies what the other node sends
// (Apply), as HAProxy's peers protocol does: a received entry's counters
// replace the local ones when it was used more recently there than here,
// except conn_cur, which counts this node's own connections.
package sticktable
