//go:build !linux

package proxy

import (
	"errors"
	"io"
	"net"
	"time"
)

// pump copies through a pooled buffer where splice(2) does not exist.
func pump(dst, src *net.TCPConn, ts *tunnelState, idle time.Duration, rb, wb byte) int64 {
	bp := getBuf()
	defer putBuf(bp)
	buf := *bp
	var total int64
	for {
		if idle > 0 {
			src.SetReadDeadline(time.Now().Add(idle))
		}
		n, err := src.Read(buf)
		if n > 0 {
			ts.touch()
			if idle > 0 {
				dst.SetWriteDeadline(time.Now().Add(idle))
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				ts.blame(wb)
				ts.closeBoth()
				return total
			}
			total += int64(n)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				dst.CloseWrite()
				return total
			}
			if isTimeout(err) {
				if exp, _ := ts.expired(idle); !exp {
					continue
				}
				ts.blame('c')
			} else {
				ts.blame(rb)
			}
			ts.closeBoth()
			return total
		}
	}
}
