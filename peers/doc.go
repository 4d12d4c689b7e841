// Package peers shares stick tables between the two nodes of a pair, as
// HAProxy's peers section does, so that a client limited on the master
// is still limited after a failover.
//
// Each node listens on its peers bind and dials the other's. The dialing
// side pushes: as soon as it is connected it sends every entry of every
// table that names the peers block (a full resynchronisation), then the
// entries that change (sticktable.Drain) every 50 ms, and a heartbeat
// every second when nothing changed. The listening side applies what it
// receives (sticktable.Apply: the received counters replace the local
// ones when the entry was used more recently on the other node, conn_cur
// excepted). Two connections, one each way, so that each
// node's changes reach the other whatever the other is doing; when a
// node restarts, the other's connection to it fails, it redials within
// a second and sends its whole tables: the restarted node is resynchronised
// within seconds, before a failover could make it the master again with
// empty tables. A connection that breaks loses the changes in flight:
// the next one starts with a full resynchronisation, so nothing is lost
// for long (tolerant of loss, not of a partition: what each node counts
// while they cannot talk is merged entry by entry when they can again,
// the node that used the entry last winning).
//
// # Authentication
//
// Both nodes hold the same secret (secret_file). The dialer opens with
// its nonce, the time and an HMAC-SHA256 over them and the peers block's
// name; the listener refuses a time more than 30 s away from its own or
// a nonce it has seen, and answers with its own nonce and an HMAC over
// both nonces, which the dialer checks. Both then derive a session key
// from the secret and the two nonces, and every frame carries the first
// 16 bytes of an HMAC-SHA256 over its sequence number and payload under
// that key: a machine in between can neither inject, replay, reorder nor
// alter updates, and the secret never crosses the network. (HAProxy's
// peers protocol has no authentication and is meant for a trusted
// network; lbd's peer_api uses the same scheme for the admin API.)
//
// # Frames
//
// A frame is its payload length (4 bytes), the payload and the tag. The
// payload's first byte is its type: entries (the table's name, its
// layout, then entries as package sticktable encodes them; a receiver
// whose table has another layout ignores them and logs it), a heartbeat,
// or the end of a full resynchronisation (with the number of entries
// sent, for the log).
package peers
