//go:build !linux

package proxy

// parker is not available: idle connections wait on their goroutine.
type parker struct{}

func newParker() *parker                               { return nil }
func (p *parker) park(s *session, deadline int64) bool { return false }
func (p *parker) unpark(s *session)                    {}
func (p *parker) close()                               {}
func (p *parker) count() int                           { return 0 }

func (s *session) reattach() error { return nil }
