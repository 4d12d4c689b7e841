package health

import "fmt"

// Passive health checking ("observe" in HAProxy): the proxy reports the
// outcome of live traffic and error_limit consecutive errors mark the
// server DOWN at once (HAProxy's on-error mark-down) with reason "Health
// analyze". Active checks then run at fast_interval and bring it back UP
// after rise successes. As in HAProxy, observing needs active checks: on a
// server with check = false (or a backend without observe) these calls do
// nothing, and they are cheap enough to call on every request.
//
// Which outcomes count follows HAProxy's table:
//
//	                          observe = layer4   observe = layer7
//	connect failed/timed out  error              error
//	connected                 success            (ignored)
//	HTTP response             (ignored)          ObserveHTTPStatus classifies
//	broken/timed-out response (ignored)          error

// ObserveL4 reports a connection attempt to the server: ok when it
// connected, else the reason (e.g. "Connection refused", "connect
// timeout").
func (s *Server) ObserveL4(ok bool, reason string) {
	be := s.be.Load()
	if be.observe == "" || (ok && be.observe != "layer4") {
		return
	}
	s.observe(be, ok, reason)
}

// ObserveL7 reports an HTTP exchange: ok for a valid response with a good
// status, else the reason (e.g. "Invalid http response", "Read timeout").
// Only counted when the backend observes layer7.
func (s *Server) ObserveL7(ok bool, reason string) {
	be := s.be.Load()
	if be.observe != "layer7" {
		return
	}
	s.observe(be, ok, reason)
}

// ObserveHTTPStatus reports a response status with HAProxy's
// classification: 100..499, 501 and 505 are fine, other 5xx are errors.
func (s *Server) ObserveHTTPStatus(code int) {
	if code >= 100 && (code < 500 || code == 501 || code == 505) {
		s.ObserveL7(true, "")
		return
	}
	s.ObserveL7(false, fmt.Sprintf("Wrong http response: %d", code))
}

// Observe reports one live-traffic outcome whatever the observe mode, for
// callers that classify by themselves: ok resets the consecutive error
// count, an error adds to it. Prefer ObserveL4/ObserveL7, which apply the
// table above.
func (s *Server) Observe(ok bool, reason string) {
	be := s.be.Load()
	if be.observe == "" {
		return
	}
	s.observe(be, ok, reason)
}

func (s *Server) observe(be *backendSettings, ok bool, reason string) {
	if ok {
		if s.consecErrs.Load() != 0 {
			s.consecErrs.Store(0)
		}
		return
	}
	if !s.cfg.Load().Check {
		return
	}
	n := s.consecErrs.Add(1)
	if n < be.errorLimit {
		return
	}
	s.consecErrs.Store(0)
	s.pool.observeDown(s, n, reason)
}

// observeDown marks a server DOWN after error_limit live errors and asks
// its checker for a check at fast_interval.
func (p *Pool) observeDown(s *Server, n int64, reason string) {
	now := p.clk.Now()
	r := failed(codeHANA, fmt.Sprintf("Detected %d consecutive errors, last one was: %s", n, reason))
	s.mu.Lock()
	if !s.check.enabled {
		s.mu.Unlock()
		return
	}
	wasUsable := s.Usable()
	s.check.observeFail++
	s.check.lastResult, s.check.lastDesc, s.check.lastCode = r.code, r.desc(), 0
	s.check.lastDur, s.check.lastCheck = 0, now
	wentDown := s.check.cnt.forceDown()
	if wentDown {
		s.markDown(now)
	}
	isUsable := s.Usable()
	s.mu.Unlock()
	if wentDown {
		p.logTransition(s, false, r)
	}
	if ch := s.chk.Load(); ch != nil {
		ch.hurry()
	}
	if wasUsable != isUsable {
		p.changed(s.Backend)
	}
}
