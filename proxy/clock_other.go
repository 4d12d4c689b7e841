//go:build !linux || !amd64

package proxy

import "time"

// nanotime is the time now, Unix nanoseconds (see clock_linux_amd64.go).
func nanotime() int64 { return time.Now().UnixNano() }
