package proxy

import (
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"lbd/config"
	"lbd/h1"
	"lbd/maps"
	"lbd/rules"
)

// The traffic policy (package rules) wired into the data path: a
// frontend with acl/rule blocks, or routes with conditions or dynamic
// backends, gets a compiled program; requests run its http_request rules
// after parsing and before routing, responses its http_response rules
// before their head is written, tcp connections its tcp_request rules.

// policyTxn is a transaction's policy state, pooled with it.
type policyTxn struct {
	rc rules.Ctx
	ed rules.Editor
	// logLevel from set_log_level: 0 none set, else level+2 (1 silent).
	logLevel int8
	// respLen is the length of the response head as the server sent it,
	// once rules rewrote it (t.resp then holds the rewritten one).
	respLen int
	hdr     []byte // a header line being built (Retry-After)
	// sess is set for tcp_request rules, whose tracks belong to the
	// session (stick.go).
	sess *session
	// stk is what the request tracks in stick tables (stick.go).
	stk stickTxn
}

func (p *policyTxn) reset() {
	p.rc.Reset()
	p.logLevel, p.respLen, p.sess = 0, 0, nil
}

// SetLogLevel is rules.Hooks: the request's access-log line goes out at
// that level (HAProxy's set-log-level), or not at all (silent).
func (t *txn) SetLogLevel(l int8) { t.pol.logLevel = l + 2 }

// Track is rules.Hooks (stick tables track through it).
func (t *txn) Track(r *rules.Rule, c *rules.Ctx) { t.track(r, c) }

// accessEvent opens the access-log event at the request's level.
func (t *txn) accessEvent(l *zerolog.Logger) *zerolog.Event {
	switch t.pol.logLevel {
	case 0:
		return l.Info()
	case 1:
		return nil
	}
	return l.WithLevel(zerolog.Level(t.pol.logLevel - 2))
}

// buildPolicy compiles a frontend's policy; nil when it has none (its
// routes, if any, take the plain path of route.go).
func (e *Engine) buildPolicy(fc *config.Frontend, fe *frontend, backends map[string]*backend) error {
	need := !fc.Policy.Empty()
	for _, r := range fc.Routes {
		need = need || r.Cond != nil || r.BackendTemplate != nil
	}
	if !need {
		return nil
	}
	p, err := rules.Compile(fc, e.policyEnv())
	if err != nil {
		return err
	}
	fe.pol = p
	fe.routeBE = make([]*backend, len(p.Routes))
	for i, r := range p.Routes {
		fe.routeBE[i] = backends[r.Backend] // nil for a dynamic route
	}
	fe.backends = map[string]*backend{}
	for name, be := range backends {
		if be.cfg.Mode == fc.Mode {
			fe.backends[name] = be
		}
	}
	return nil
}

// requestPolicy runs the http_request rules. done: the request was
// answered here (keep: the connection may carry another one).
func (s *exchange) requestPolicy(t *txn) (done, keep bool) {
	p := s.fe.pol
	c := &t.pol.rc
	c.Req, c.Src, c.Dst = &t.req, s.peer, s.dst()
	c.Counters = t.counters()
	t.stickRequest(s.session, true)
	s.policyTLSFacts(c)
	if !p.HasRequestWork() {
		return false, false
	}
	v, err := p.RunRequest(c, &t.pol.ed, t)
	if err != nil {
		s.e.log.Debug().Str("frontend", s.fe.name).Err(err).Msg("request rewrite failed")
		s.fail(t, 500, 'P', 'R')
		return true, false
	}
	p.SaveRequestACLs(c)
	if v.Rule == nil {
		return false, false
	}
	return true, s.answer(t, v.Rule)
}

// answer sends the response of a terminal request rule.
func (s *exchange) answer(t *txn, r *rules.Rule) bool {
	fe := s.fe
	req := &t.req
	fr, _ := req.RequestFraming()
	// A body we will not read makes the connection unusable after.
	keep := fr == h1.FramingNone && req.KeepAlive() && !s.draining()
	c := &t.pol.rc
	out := getOut()
	defer putOut(out)
	b := (*out)[:0]
	switch r.Action {
	case rules.Deny, rules.Tarpit:
		t.countDenied(fe)
		if r.Action == rules.Tarpit && !s.tarpit(r.Delay) {
			t.setTerm('K', 'T')
			return false
		}
		keep = false
		ra := t.retryAfter(r)
		if r.Action == rules.Deny && r.HasBody() {
			b = r.AppendReply(b, c, true, ra)
		} else {
			b = appendPage(b, fe.errors.known(r.Status), r.Status, ra)
		}
		t.status = r.Status
		if r.Action == rules.Tarpit {
			t.setTerm('P', 'T')
		} else {
			t.setTerm('P', 'R')
		}
	case rules.Return:
		b = r.AppendReply(b, c, !keep, nil)
		t.status = r.Status
		t.setTerm('L', 'R')
	case rules.Redirect:
		var ok bool
		if b, ok = r.AppendRedirect(b, c, !keep); !ok {
			s.fail(t, 500, 'P', 'R')
			return false
		}
		t.status = r.CodeOf()
		t.setTerm('L', 'R')
	}
	*out = b
	if !keep {
		s.linger = !s.lastRequestRead(t, fr)
	}
	if err := s.cli.write(b, nanotime(), fe.t.Client); err != nil {
		t.setTerm('C', 'R')
		return false
	}
	t.bytesOut += int64(len(b))
	if keep {
		s.cli.consume(t.headLen)
	}
	return keep
}

// tarpit holds the request for d (HAProxy's timeout tarpit), unless the
// connection is killed meanwhile.
func (s *exchange) tarpit(d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return !s.killed.Load()
	case <-s.e.ctx.Done():
		return false
	}
}

// policyBackend routes with the program's routes: the first that applies
// and names a backend of the frontend's mode, else default_backend.
func (s *exchange) policyBackend(t *txn) *backend {
	fe := s.fe
	c := &t.pol.rc
	for from := 0; ; {
		i, name := fe.pol.Route(c, from)
		if i < 0 {
			return fe.defaultBE
		}
		if name == nil {
			return fe.routeBE[i]
		}
		if be := fe.backends[string(name)]; be != nil {
			return be
		}
		from = i + 1
	}
}

// responsePolicy runs the http_response rules on a server's response
// head. done: the response was replaced here (deny, return), the server
// connection closed; keep: the client's may carry another request.
func (s *exchange) responsePolicy(t *txn, u *upConn, copier *upload) (done, keep bool) {
	p := s.fe.pol
	c := &t.pol.rc
	c.Req, c.Resp = nil, &t.resp // the request's buffer may be reused by now
	t.pol.respLen = t.resp.Len()
	v, err := p.RunResponse(c, &t.pol.ed, t)
	if err == nil && v.Rule == nil {
		return false, false
	}
	u.close()
	s.upc.Store(nil)
	s.stopCopier(t, copier, true)
	if err != nil {
		s.e.log.Debug().Str("frontend", s.fe.name).Err(err).Msg("response rewrite failed")
		s.fail(t, 502, 'P', 'H')
		return true, false
	}
	r := v.Rule
	if r.Action == rules.Deny {
		t.countDenied(s.fe)
	}
	out := getOut()
	defer putOut(out)
	b := (*out)[:0]
	switch {
	case r.Action == rules.Deny && !r.HasBody():
		b = appendPage(b, s.fe.errors.known(r.Status), r.Status, nil)
	default:
		b = r.AppendReply(b, c, true, nil)
	}
	*out = b
	t.status = r.Status
	t.setTerm('P', 'H')
	s.linger = true
	if err := s.cli.write(b, nanotime(), s.fe.t.Client); err == nil {
		t.bytesOut += int64(len(b))
	}
	return true, false
}

// lastRequestRead: the client said this request is its last (Connection:
// close, or HTTP/1.0 without keep-alive), it has no body and no byte
// followed it. Such a client sends nothing more (RFC 9112 §9.6): closing
// at once cannot reset the response on its way, and the lingering close
// (a half-close and a read, two system calls a connection, the price of
// every refused request of a flood) is skipped.
func (s *exchange) lastRequestRead(t *txn, fr h1.Framing) bool {
	return fr == h1.FramingNone && !t.req.KeepAlive() && s.cli.buffered() == t.headLen
}

// respHeadLen is how many bytes the response head took in the server's
// buffer (rules may have rewritten t.resp since).
func (t *txn) respHeadLen() int {
	if t.pol.respLen > 0 {
		return t.pol.respLen
	}
	return t.resp.Len()
}

// countDenied counts a request refused by a rule (HAProxy's dreq).
func (t *txn) countDenied(fe *frontend) { fe.st.denied.Add(1) }

// retryAfter is the Retry-After header of a 429 deny: the period of the
// rate counters its condition reads (package rules), in t's workspace.
func (t *txn) retryAfter(r *rules.Rule) []byte {
	d := r.RetryAfter()
	if r.Status != 429 || d <= 0 {
		return nil
	}
	b := append(t.pol.hdr[:0], "retry-after: "...)
	b = strconv.AppendInt(b, int64((d+time.Second-1)/time.Second), 10)
	t.pol.hdr = append(b, "\r\n"...)
	return t.pol.hdr
}

// known is the frontend's page for status (error_file, else built in),
// nil when there is none.
func (p errorPages) known(status int) []byte {
	if b, ok := p[status]; ok {
		return b
	}
	return builtinErrors[status]
}

// appendPage appends page (a complete response; nil: a generic one for
// status) with the extra header lines after its status line.
func appendPage(b, page []byte, status int, extra []byte) []byte {
	if page == nil {
		page = rules.ErrorPage(status)
	}
	if len(extra) == 0 {
		return append(b, page...)
	}
	i := indexByte(page, '\n') + 1
	b = append(b, page[:i]...)
	b = append(b, extra...)
	return append(b, page[i:]...)
}

// prepareMaps builds the maps of cfg for Apply: a map of a name already
// running is kept (its runtime changes with it) and re-reads the file at
// commit; a new one is created. Programs compiled meanwhile bind them.
func (e *Engine) prepareMaps(cfg *config.Config, commit *commitList) {
	e.pendingMaps = map[string]*maps.Map{}
	for _, mc := range cfg.Maps {
		m := e.maps[mc.Name]
		if m == nil {
			e.pendingMaps[mc.Name] = maps.New(mc.Name, mc.Entries)
			continue
		}
		e.pendingMaps[mc.Name] = m
		entries := mc.Entries
		commit.add(func() {
			n, err := m.Reload(entries)
			switch {
			case err != nil:
				// The runtime changes no longer fit what reads the map
				// (a new map_ip or map_reg): the file's content applies.
				m.Reset()
				if _, err := m.Reload(entries); err != nil {
					e.log.Error().Err(err).Str("map", m.Name()).Msg("map reload failed")
				}
				e.log.Warn().Err(err).Str("map", m.Name()).Msg("map: runtime changes dropped at reload")
			case n > 0:
				e.log.Info().Str("map", m.Name()).Int("runtime_keys", n).
					Msg("map: file re-read, runtime changes applied on top (lbctl map reset drops them)")
			}
		})
	}
	commit.add(func() { e.maps = e.pendingMaps })
}

// policyEnv binds what programs read by name.
func (e *Engine) policyEnv() rules.Env {
	return rules.Env{
		Map:   func(name string) *maps.Map { return e.pendingMaps[name] },
		Table: e.tableByName,
	}
}

// Map returns a running map by name (lbctl map), nil if none.
func (e *Engine) Map(name string) *maps.Map {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.maps[name]
}

// MapStats lists the running maps' counters, by name.
func (e *Engine) MapStats() []maps.Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]maps.Stats, 0, len(e.maps))
	for _, m := range e.maps {
		out = append(out, m.Stats())
	}
	sortByName(out, func(s maps.Stats) string { return s.Name })
	return out
}

func sortByName[T any](xs []T, name func(T) string) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && name(xs[j]) < name(xs[j-1]); j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}
