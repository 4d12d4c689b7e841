package proxy

import (
	"reflect"
	"testing"
)

// BenchmarkTxnRecycle: what a request pays to take a transaction and
// empty it after: from the pool and back (an HTTP/1 connection's first
// request), or kept by the connection and reset (the requests after).
func BenchmarkTxnRecycle(b *testing.B) {
	req := []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
	use := func(t *txn) {
		if t.out == nil {
			t.out = getOut()
		}
		t.req.ParseRequest(req)
		t.resp.ParseResponse(resp)
		t.status, t.tEnd = 200, 1
	}
	b.Run("pool", func(b *testing.B) {
		for b.Loop() {
			t := getTxn()
			use(t)
			putTxn(t)
		}
	})
	b.Run("kept", func(b *testing.B) {
		t := getTxn()
		for b.Loop() {
			use(t)
			t.reset()
		}
		putTxn(t)
	})
}

// TestTxnRecycledClean: a transaction emptied for the next request
// (reset) or given back to the pool carries nothing of the last request;
// and every field of txn outside txnState is a buffer reset empties (a
// new field must be placed in one or the other).
func TestTxnRecycledClean(t *testing.T) {
	kept := map[string]bool{"txnState": true, "req": true, "resp": true, "reqLine": true,
		"upgradeReq": true, "pol": true, "cap": true, "log": true, "out": true}
	rt := reflect.TypeOf(txn{})
	for i := range rt.NumField() {
		if f := rt.Field(i); !kept[f.Name] {
			t.Errorf("txn.%s: put it in txnState, or empty it in reset and list it here", f.Name)
		}
	}
	for _, pooled := range []bool{false, true} {
		x := getTxn()
		x.req.ParseRequest([]byte("GET /a HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"))
		x.resp.ParseResponse([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"))
		x.reqLine = append(x.reqLine, "GET /a HTTP/1.1"...)
		x.upgradeReq = append(x.upgradeReq, "websocket"...)
		x.wantUpgrade, x.status, x.retries, x.tEnd, x.headLen, x.parsed, x.silent = true, 200, 2, 5, 40, true, true
		x.term = [2]byte{'S', 'H'}
		x.pol.logLevel, x.pol.respLen = 3, 10
		x.log.line = append(x.log.line, "a log line"...)
		x.log.r.Status = 200
		x.out = getOut()
		*x.out = append(*x.out, "GET / HTTP/1.1\r\n"...)
		if pooled {
			putTxn(x)
			if x.out != nil {
				t.Error("putTxn kept the out buffer")
			}
		} else {
			x.reset()
			if x.out == nil {
				t.Error("reset let the out buffer go")
			}
		}
		if x.txnState != (txnState{term: [2]byte{'-', '-'}}) {
			t.Errorf("pooled %v: state left: %+v", pooled, x.txnState)
		}
		if x.req.Len() != 0 || x.resp.Len() != 0 || len(x.req.Fields) != 0 || len(x.resp.Fields) != 0 {
			t.Errorf("pooled %v: heads left: %q %q", pooled, x.req.Raw, x.resp.Raw)
		}
		if len(x.reqLine) != 0 || len(x.upgradeReq) != 0 || len(x.log.line) != 0 || x.log.r.Status != 0 {
			t.Errorf("pooled %v: buffers left: %q %q %q %d", pooled, x.reqLine, x.upgradeReq, x.log.line, x.log.r.Status)
		}
		if x.pol.logLevel != 0 || x.pol.respLen != 0 {
			t.Errorf("pooled %v: policy state left: %d %d", pooled, x.pol.logLevel, x.pol.respLen)
		}
		if cap(x.reqLine) == 0 || cap(x.log.line) == 0 {
			t.Errorf("pooled %v: buffers dropped instead of kept for the next request", pooled)
		}
	}
}
