package proxy

import (
	"sync"

	"lbd/h1"
)

// txn is one HTTP request and its response. It is pooled: the header
// arrays of the two heads and the copy of the request line are reused, so a
// request costs no allocation.
type txn struct {
	req, resp h1.Head
	reqLine   []byte // copy for the access log
	out       *[]byte

	// wantUpgrade: the request asks to switch protocols (RFC 9110 §7.8),
	// to one of upgradeReq (its Upgrade values, kept apart from the client
	// buffer, which a body upload may overwrite before the 101 comes).
	wantUpgrade bool
	upgradeReq  []byte

	pr  pickReq
	be  *backend
	srv *server // holds a slot of srv while set

	status int     // sent to the client; 0 = none
	term   [2]byte // HAProxy termination state

	// Timestamps (unix ns), 0 when the phase was not reached.
	tIdle  int64 // waiting for the request began
	tFirst int64 // first byte of the request
	tHead  int64 // request head complete
	tQ0    int64 // queued
	tQ1    int64 // left the queue
	tC0    int64 // connecting
	tC1    int64 // connected and request sent
	tResp  int64 // response head received
	tEnd   int64 // last byte sent

	bytesIn  int64 // from the client
	bytesOut int64 // to the client
	retries  int
	srvQueue int64 // queue lengths seen when queued
	beQueue  int64

	pol policyTxn // traffic policy state (policy.go)

	ck      ckState
	direct  bool         // served by the server its persistence cookie named
	ckSet   byte         // what the response did with the cookie, for the log (I, U, R, D)
	redisp  bool         // the last retry went to another server
	parsed  bool         // the request head was parsed (the access log's Refused)
	cap     captureState // captured headers for the access log
	log     logState     // the access-log record and line (accesslog.go)
	headLen int
	silent  bool // nothing to log (a keep-alive connection closed while idle)
}

var txnPool = sync.Pool{New: func() any { return &txn{reqLine: make([]byte, 0, 256)} }}

func getTxn() *txn {
	t := txnPool.Get().(*txn)
	t.term = [2]byte{'-', '-'}
	return t
}

func putTxn(t *txn) {
	t.untrack() // stick.go
	if t.out != nil {
		putOut(t.out)
	}
	req, resp, line, upg, caps := t.req, t.resp, t.reqLine[:0], t.upgradeReq[:0], t.cap.reset()
	logLine := t.log.line[:0]
	req.Clear()
	resp.Clear()
	pol := t.pol
	pol.reset()
	*t = txn{req: req, resp: resp, reqLine: line, upgradeReq: upg, cap: caps, log: logState{line: logLine}, pol: pol}
	txnPool.Put(t)
}

// setTerm records the termination state unless one was already set.
func (t *txn) setTerm(who, phase byte) {
	if t.term[0] == '-' {
		t.term[0] = who
	}
	if t.term[1] == '-' {
		t.term[1] = phase
	}
}
