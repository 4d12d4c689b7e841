package proxy

import (
	"bytes"
	"strconv"
	"sync"
)

func indexByte(b []byte, c byte) int { return bytes.IndexByte(b, c) }

func indexString(b []byte, s string) int { return bytes.Index(b, []byte(s)) }

// bufSize is the size of every I/O buffer, as HAProxy's tune.bufsize: a
// request or response head must fit in one.
const bufSize = 16384

// outSize is the capacity of the output buffer a rewritten head is built in:
// a full-size head plus room for the fields the proxy adds.
const outSize = bufSize + 2048

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

var outPool = sync.Pool{New: func() any { b := make([]byte, 0, outSize); return &b }}

func getBuf() *[]byte  { return bufPool.Get().(*[]byte) }
func putBuf(b *[]byte) { bufPool.Put(b) }

func getOut() *[]byte { return outPool.Get().(*[]byte) }

func putOut(b *[]byte) {
	if cap(*b) > 4*outSize {
		return // grown by an unusual message: let the GC have it
	}
	*b = (*b)[:0]
	outPool.Put(b)
}

// appendInt appends the decimal form of n without allocating.
func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }
