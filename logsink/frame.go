package logsink

import (
	"strconv"
	"time"
)

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// frame appends one message with the target's header and a line feed,
// truncating the message so that the whole line (line feed included)
// fits in the target's len, as HAProxy does.
func (t *Target) frame(dst []byte, sev int, msg []byte, now time.Time) []byte {
	switch t.cfg.Format {
	case "rfc3164":
		dst = appendPRI(dst, t.pri|sev)
		dst = appendStamp3164(dst, now)
		dst = append(dst, t.tag...)
		dst = append(dst, '[')
		dst = append(dst, t.pid...)
		dst = append(dst, "]: "...)
	case "rfc5424":
		dst = appendPRI(dst, t.pri|sev)
		dst = append(dst, "1 "...)
		dst = appendStamp5424(dst, now)
		dst = append(dst, " - "...)
		dst = append(dst, t.tag...)
		dst = append(dst, ' ')
		dst = append(dst, t.pid...)
		dst = append(dst, " - - "...)
	}
	room := t.cfg.Len - len(dst) - 1
	if room < 0 {
		room = 0
	}
	if len(msg) > room {
		msg = msg[:room]
	}
	dst = append(dst, msg...)
	return append(dst, '\n')
}

func appendPRI(dst []byte, pri int) []byte {
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(pri), 10)
	return append(dst, '>')
}

// appendStamp3164 writes "Mmm dd hh:mm:ss " (RFC 3164 section 4.1.2: the
// day of the month padded with a blank), local time.
func appendStamp3164(dst []byte, t time.Time) []byte {
	_, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = append(dst, months[mo-1]...)
	dst = append(dst, ' ')
	if d < 10 {
		dst = append(dst, ' ')
	}
	dst = strconv.AppendInt(dst, int64(d), 10)
	dst = append(dst, ' ')
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, mi)
	dst = append(dst, ':')
	dst = append2(dst, s)
	return append(dst, ' ')
}

// appendStamp5424 writes RFC 5424's TIMESTAMP (section 6.2.3) with
// microseconds and the local offset, as HAProxy does:
// 2026-12-06T22:09:44.185639+00:00.
func appendStamp5424(dst []byte, t time.Time) []byte {
	return t.AppendFormat(dst, "2006-01-02T15:04:05.000000-07:00")
}

func append2(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}
