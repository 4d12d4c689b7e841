package desync

import (
	"fmt"
	"strings"
	"time"
)

// respCase is a response-side case: the origin answers the client's
// request for /case with raw (then closes with close, or after a pause
// sends late, bytes nobody asked for); the client must get a 502, or
// status and body, and never bytes of raw as the response to another
// request.
type respCase struct {
	name    string
	method  string // the client's request method; "" is GET
	reqHead string // extra request fields, CRLF-terminated
	raw     string
	close   bool
	late    string
	reject  bool
	either  bool // 502, or status and body
	status  int
	body    string
	absent  []string // response fields the client must not get
}

func responseCases() []respCase {
	var cs []respCase
	ok := func(name, raw string, status int, body string) {
		cs = append(cs, respCase{name: name, raw: raw, status: status, body: body})
	}
	bad := func(name, raw string) { cs = append(cs, respCase{name: name, raw: raw, reject: true}) }

	ok("plain", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, "hello")
	ok("chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"+chunkedHello, 200, "hello")
	ok("chunked, sizes with leading zeros and extensions", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n002;x=1\r\nhe\r\n03 \r\nllo\r\n000\r\n\r\n", 200, "hello")
	ok("chunked with trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\nContent-Length: 99\r\n\r\n", 200, "hello")
	cs = append(cs, respCase{name: "close-delimited", raw: "HTTP/1.1 200 OK\r\n\r\nhello", close: true, status: 200, body: "hello"})
	cs = append(cs, respCase{name: "HTTP/1.0 close-delimited", raw: "HTTP/1.0 200 OK\r\n\r\nhello", close: true, status: 200, body: "hello"})
	cs = append(cs, respCase{name: "HTTP/1.0 chunked is close-delimited", raw: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nhello", close: true, status: 200, body: "hello", absent: []string{"Transfer-Encoding"}})
	ok("Content-Length leading zeros", "HTTP/1.1 200 OK\r\nContent-Length: 0005\r\n\r\nhello", 200, "hello")
	ok("two equal Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 200, "hello")
	ok("Transfer-Encoding with Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"+chunkedHello, 200, "hello")
	ok("Content-Length with Transfer-Encoding after", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n"+chunkedHello, 200, "hello")
	ok("204 with a Content-Length", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", 204, "")
	ok("304 with a Content-Length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", 304, "")
	ok("interim 100 then 200", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, "hello")
	ok("interim 103 then 200", "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, "hello")
	ok("bare LF line ends", "HTTP/1.1 200 OK\nContent-Length: 5\n\nhello", 200, "hello")
	ok("no reason phrase", "HTTP/1.1 200\r\nContent-Length: 5\r\n\r\nhello", 200, "hello")
	ok("Host field in a response", "HTTP/1.1 200 OK\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 200, "hello")
	cs = append(cs, respCase{name: "HEAD with a Content-Length", method: "HEAD", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", status: 200, body: ""})

	// Finding 1, response side: Connection naming the framing.
	for _, conn := range []string{"Content-Length", "content-length", "close, Content-Length", "Transfer-Encoding", "keep-alive, Transfer-Encoding, Content-Length"} {
		ok("Connection: "+conn+" with a length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: "+conn+"\r\n\r\nhello", 200, "hello")
		ok("Connection: "+conn+" with chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: "+conn+"\r\n\r\n"+chunkedHello, 200, "hello")
	}
	cs = append(cs, respCase{name: "Connection-named field removed", raw: "HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: 1\r\nContent-Length: 5\r\n\r\nhello", status: 200, body: "hello", absent: []string{"X-Secret"}})

	// Finding 6 and Transfer-Encoding values.
	bad("Transfer-Encoding: identity", "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello")
	bad("two Transfer-Encoding fields", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"+chunkedHello)
	bad("Transfer-Encoding gzip then chunked fields", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"+chunkedHello)
	bad("chunked, gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"+chunkedHello)
	bad("chunked, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"+chunkedHello)
	bad(",chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: ,chunked\r\n\r\n"+chunkedHello)
	bad("chunked,", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n"+chunkedHello)
	bad("quoted chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: \"chunked\"\r\n\r\n"+chunkedHello)
	bad("empty Transfer-Encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n"+chunkedHello)

	// Content-Length values.
	bad("two different Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
	bad("Content-Length list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello")
	bad("negative Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello")
	bad("hex Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\nhello")
	bad("empty Content-Length", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\nhello")

	// Field and status-line syntax.
	bad("obs-fold", "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 5\r\n\r\nhello")
	bad("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello")
	bad("bare CR in a value", "HTTP/1.1 200 OK\r\nX-A: 1\r2\r\nContent-Length: 5\r\n\r\nhello")
	bad("NUL in a value", "HTTP/1.1 200 OK\r\nX-A: 1\x002\r\nContent-Length: 5\r\n\r\nhello")
	bad("no colon", "HTTP/1.1 200 OK\r\nnonsense\r\nContent-Length: 5\r\n\r\nhello")
	bad("status without space", "HTTP/1.1 200OK\r\nContent-Length: 5\r\n\r\nhello")
	bad("HTTP/2 status line", "HTTP/2 200 OK\r\nContent-Length: 5\r\n\r\nhello")
	bad("status 600", "HTTP/1.1 600 Nope\r\nContent-Length: 5\r\n\r\nhello")
	bad("status 099", "HTTP/1.1 099 Nope\r\nContent-Length: 5\r\n\r\nhello")
	bad("NUL in reason", "HTTP/1.1 200 O\x00K\r\nContent-Length: 5\r\n\r\nhello")
	bad("not HTTP", "SSH-2.0-OpenSSH_9.6\r\n\r\n")
	bad("head over the buffer", "HTTP/1.1 200 OK\r\n"+strings.Repeat("X-Big: "+strings.Repeat("b", 100)+"\r\n", 170)+"\r\n")
	bad("101 fields", "HTTP/1.1 200 OK\r\n"+strings.Repeat("X: y\r\n", 101)+"Content-Length: 5\r\n\r\nhello")

	// Chunked bodies.
	bad("bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
	bad("chunk size shorter than data", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nhello\r\n0\r\n\r\n")
	bad("malformed trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nHTTP/1.1 200 OK\r\n\r\n")
	bad("trailer too large", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: "+strings.Repeat("a", 9000)+"\r\n\r\n")

	// Bytes after the response: never the answer to another request.
	extra := "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nsmuggle"
	ok("a second response after the body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"+extra, 200, "hello")
	ok("a second response after a chunked body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"+chunkedHello+extra, 200, "hello")
	ok("a body on a 204", "HTTP/1.1 204 No Content\r\n\r\n"+extra, 204, "")
	cs = append(cs, respCase{name: "a body on a HEAD response", method: "HEAD", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" + extra, status: 200, body: ""})
	cs = append(cs, respCase{name: "a late second response", raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", late: extra, status: 200, body: "hello"})
	cs = append(cs, respCase{name: "Content-Length longer than the body", raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", close: true, either: true, status: 200, body: "hello"})

	// Finding 5: 101 for another protocol.
	up := "Connection: Upgrade\r\nUpgrade: h2c\r\n"
	cs = append(cs, respCase{name: "audit 5: 101 websocket to an h2c upgrade", reqHead: up, raw: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", reject: true})
	cs = append(cs, respCase{name: "101 without Upgrade", reqHead: up, raw: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n", reject: true})
	cs = append(cs, respCase{name: "101 to a request that asked nothing", raw: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", reject: true})
	cs = append(cs, respCase{name: "101 to two protocols, one asked", reqHead: up, raw: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c, websocket\r\n\r\n", reject: true})
	cs = append(cs, respCase{name: "101 to the protocol asked", reqHead: "Connection: Upgrade\r\nUpgrade: WebSocket\r\n", raw: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", close: true, status: 101})
	return cs
}

// lateWait is how long the origin waits before sending a case's late
// bytes: long enough for the exchange to be over.
const lateWait = 100 * time.Millisecond

func (c respCase) request() string {
	m := c.method
	if m == "" {
		m = "GET"
	}
	return fmt.Sprintf("%s /case HTTP/1.1\r\nHost: a\r\n%s\r\n", m, c.reqHead)
}
