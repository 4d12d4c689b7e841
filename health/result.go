package health

import (
	"errors"
	"io"
	"os"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// Check result codes, HAProxy's (shown by lbctl and the stats page).
const (
	codeINI     = "INI"     // no check has run yet
	codeL4OK    = "L4OK"    // connect succeeded (tcp check)
	codeL4TOUT  = "L4TOUT"  // connect timed out
	codeL4CON   = "L4CON"   // connect failed (refused, unreachable, ...)
	codeSOCKERR = "SOCKERR" // socket error after connecting (reset, ...)
	codeL7OK    = "L7OK"    // application check passed
	codeL7TOUT  = "L7TOUT"  // connected, but no complete answer in time
	codeL7RSP   = "L7RSP"   // malformed, truncated or non-matching answer
	codeL7STS   = "L7STS"   // wrong HTTP status, or agent says down
	codeHANA    = "HANA"    // marked DOWN from live traffic (observe)
)

// codeDesc holds HAProxy's description of each code, the words its logs
// use ("reason: Layer4 connection problem").
var codeDesc = map[string]string{
	codeINI:     "Initializing",
	codeL4OK:    "Layer4 check passed",
	codeL4TOUT:  "Layer4 timeout",
	codeL4CON:   "Layer4 connection problem",
	codeSOCKERR: "Socket error",
	codeL7OK:    "Layer7 check passed",
	codeL7TOUT:  "Layer7 timeout",
	codeL7RSP:   "Layer7 invalid response",
	codeL7STS:   "Layer7 wrong status",
	codeHANA:    "Health analyze",
}

// result is the outcome of one check.
type result struct {
	ok     bool
	code   string
	info   string // detail appended to the code's description
	status int    // HTTP status of an http check, 0 otherwise
	dur    time.Duration
	agent  *agentReply // the agent's parsed reply, nil otherwise
}

// desc renders the reason as HAProxy words it, e.g.
// "Layer4 connection problem: Connection refused".
func (r result) desc() string {
	d := codeDesc[r.code]
	if r.info != "" {
		d += ": " + r.info
	}
	return d
}

func pass(code, info string) result { return result{ok: true, code: code, info: info} }
func failed(code, info string) result {
	return result{code: code, info: info}
}

// ioFailure turns a socket error into a result. connected tells whether the
// connection was established: a timeout then is Layer7's, not Layer4's.
func ioFailure(err error, connected bool, timeoutInfo string) result {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err):
		if connected {
			return failed(codeL7TOUT, timeoutInfo)
		}
		return failed(codeL4TOUT, "")
	case !connected:
		return failed(codeL4CON, errText(err))
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return failed(codeL7RSP, "connection closed by the server before a complete answer")
	}
	return failed(codeSOCKERR, errText(err))
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// errText is strerror's wording for a system error ("Connection
// refused"), else the error's own text.
func errText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		return capitalize(en.Error())
	}
	return err.Error()
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
