// Package syncbuf is the output sink of the tests' background processes
// and loggers: a buffer that one goroutine (or several: a process's
// stdout and stderr) writes while the test reads it.
package syncbuf

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent Write and String. The zero
// value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Count is how many times substr occurs in what was written so far.
func (s *Buffer) Count(substr string) int { return strings.Count(s.String(), substr) }
