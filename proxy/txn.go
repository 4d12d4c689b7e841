package proxy

import (
	"sync"

	"lbd/h1"
)

// txn is one HTTP request and its response. It is pooled: the header
// arrays of the two heads, the copy of the request line, the rules'
// workspace and the log line are reused, so a request costs no
// allocation. What is the request's alone is txnState, zeroed in place
// when the txn goes back to the pool (putTxn).
type txn struct {
	txnState

	req, resp h1.Head
	reqLine   []byte // copy for the access log
	// upgradeReq holds the request's Upgrade values when wantUpgrade, kept
	// apart from the client buffer, which a body upload may overwrite
	// before the 101 comes.
	upgradeReq []byte

	pol policyTxn    // traffic policy state (policy.go)
	cap captureState // captured headers for the access log
	log logState     // the access-log record and line (accesslog.go)
	// out is where the heads sent are built (taken at the first exchange,
	// kept while the txn serves one client's requests, pooled apart).
	out *[]byte
}

// txnState is a transaction's own state: none of it survives the
// transaction.
type txnState struct {
	// wantUpgrade: the request asks to switch protocols (RFC 9110 §7.8),
	// to one of upgradeReq.
	wantUpgrade bool

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

	ck      ckState
	direct  bool // served by the server its persistence cookie named
	ckSet   byte // what the response did with the cookie, for the log (I, U, R, D)
	redisp  bool // the last retry went to another server
	parsed  bool // the request head was parsed (the access log's Refused)
	headLen int
	silent  bool // nothing to log (a keep-alive connection closed while idle)
}

// readyState is a transaction's state before its request: nothing
// reached, no termination state yet.
var readyState = txnState{term: [2]byte{'-', '-'}}

var txnPool = sync.Pool{New: func() any { return &txn{txnState: readyState, reqLine: make([]byte, 0, 256)} }}

func getTxn() *txn { return txnPool.Get().(*txn) }

// putTxn gives t back to the pool, emptied.
func putTxn(t *txn) {
	t.reset()
	t.dropOut()
	txnPool.Put(t)
}

// dropOut gives the out buffer back to its pool.
func (t *txn) dropOut() {
	if t.out != nil {
		putOut(t.out)
		t.out = nil
	}
}

// reset empties t for another request, each part in place (the txn is
// 2.4 KB: building a fresh one and copying it over cost a kept-alive
// request about 1% of its CPU); its buffers stay, out included.
func (t *txn) reset() {
	t.untrack() // stick.go
	t.txnState = readyState
	t.req.Clear()
	t.resp.Clear()
	t.reqLine, t.upgradeReq = t.reqLine[:0], t.upgradeReq[:0]
	t.pol.reset()
	t.cap = t.cap.reset()
	line := t.log.line[:0]
	t.log = logState{}
	t.log.line = line
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
