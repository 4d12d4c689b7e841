package proxy

import "github.com/rs/zerolog"

// Access logs carry what HAProxy's httplog and tcplog formats carry, as
// zerolog fields (one line per request or tcp connection, no allocation):
//
//	client             "ip:port"
//	frontend, backend  names; backend "<NOSRV>" when none was chosen
//	server             name, "<NOSRV>" when none was reached
//	Th Ti TR Tw Tc Tr Ta   (http) timers in ms, -1 for a phase not reached:
//	                   handshake, idle before the request, request head,
//	                   queue, connect, server response head, total active
//	Tw Tc Tt           (tcp) queue, connect, total session time
//	status             HTTP status sent (-1: none)
//	bytes_read         bytes sent to the client (HAProxy's name)
//	bytes_uploaded     bytes received from the client
//	termination_state  HAProxy's two characters: who ended the session
//	                   (C client, S server, P proxy, K killed, c/s client
//	                   or server timeout, - normal) and in which phase
//	                   (R request, Q queue, C connect, H response head,
//	                   D data, - complete)
//	actconn feconn beconn srv_conn retries srv_queue backend_queue
//	request            the request line (http)

func ms(from, to int64) int64 {
	if from == 0 || to == 0 {
		return -1
	}
	if to < from {
		return 0
	}
	return (to - from) / 1e6
}

const noServer = "<NOSRV>"

// logStart opens an access-log event with the fields both kinds of line
// begin with (who, through which frontend, to which backend and server);
// nil when access logging is off.
func (s *exchange) logStart(t *txn) *zerolog.Event {
	ev := s.e.access.Info()
	if ev == nil {
		return nil
	}
	be, srv := noServer, noServer
	if t.be != nil {
		be = t.be.name
	}
	if t.srv != nil && t.tC0 != 0 {
		srv = t.srv.name
	}
	var b [64]byte
	return ev.Bytes("client", s.peer.AppendTo(b[:0])).
		Str("frontend", s.fe.name).
		Str("backend", be).
		Str("server", srv)
}

// logCounters adds what both kinds of line carry after their timers:
// HAProxy's byte counts, termination state, connection counts and queue
// positions.
func (s *exchange) logCounters(ev *zerolog.Event, t *txn) *zerolog.Event {
	var beconn, srvconn int64
	if t.be != nil {
		beconn = t.be.st.cur.Load()
	}
	if t.srv != nil && t.tC0 != 0 {
		srvconn = t.srv.cur()
	}
	return ev.Int64("bytes_read", t.bytesOut).
		Int64("bytes_uploaded", t.bytesIn).
		Bytes("termination_state", t.term[:]).
		Int64("actconn", s.e.actconn.Load()).
		Int64("feconn", s.fst.cur.Load()).
		Int64("beconn", beconn).
		Int64("srv_conn", srvconn).
		Int("retries", t.retries).
		Int64("srv_queue", t.srvQueue).
		Int64("backend_queue", t.beQueue)
}

func (s *exchange) logHTTP(t *txn) {
	ev := s.logStart(t)
	if ev == nil {
		return
	}
	status := int64(t.status)
	if status == 0 {
		status = -1
	}
	tw := ms(t.tQ0, t.tQ1)
	if t.tQ0 == 0 && t.tHead != 0 && t.tC0 != 0 {
		tw = 0
	}
	var tr int64 = -1
	if t.tC1 != 0 && t.tResp != 0 {
		tr = ms(t.tC1, t.tResp)
	}
	ev.Int64("Th", s.handshakeMs()).
		Int64("Ti", ms(t.tIdle, t.tFirst)).
		Int64("TR", ms(t.tFirst, t.tHead)).
		Int64("Tw", tw).
		Int64("Tc", ms(t.tC0, t.tC1)).
		Int64("Tr", tr).
		Int64("Ta", ms(t.tFirst, t.tEnd)).
		Int64("status", status)
	s.tlsLog(ev)
	s.logCounters(ev, t).Bytes("request", t.reqLine).Msg("")
}

func (s *exchange) logTCP(t *txn) {
	ev := s.logStart(t)
	if ev == nil {
		return
	}
	ev.Int64("Tw", ms(t.tQ0, t.tQ1)).
		Int64("Tc", ms(t.tC0, t.tC1)).
		Int64("Tt", ms(s.accepted, t.tEnd))
	s.tlsLog(ev)
	s.logCounters(ev, t).Msg("")
}
