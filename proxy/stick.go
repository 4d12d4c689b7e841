package proxy

import (
	"lbd/config"
	"lbd/rules"
	"lbd/sample"
	"lbd/sticktable"
)

// Stick tables (package sticktable) in the data path, as HAProxy counts:
//
//   - a track_sc rule holds its key's entry: tcp_request rules for the
//     whole connection (the session), http_request rules for the
//     request. Tracking counts conn_cnt, conn_rate and conn_cur (until
//     the connection or request ends); an http_request track also counts
//     the request (http_req_cnt, http_req_rate). A slot already tracked
//     is not tracked again.
//   - each HTTP request of a connection tracked by tcp_request rules
//     counts in its entries' http_req counters;
//   - when a request ends, its bytes go to bytes_in/bytes_out, and a 4xx
//     that a server sent, or a request refused as invalid (400), to
//     http_err (a rule's own deny is not an error of the client's).

// sessStick is what tcp_request rules track for a connection; allocated
// only when one does, so that connections of frontends without tables
// pay one pointer.
type sessStick struct {
	refs [sample.MaxSlots]sticktable.Ref
	keys [sample.MaxSlots]stickKey
}

// stickKey is a tracked key, for sc*_*(slot, other_table) lookups.
type stickKey struct {
	b    []byte
	addr bool
}

// stickTxn is what a request's http_request rules track.
type stickTxn struct {
	refs   [sample.MaxSlots]sticktable.Ref
	keys   [sample.MaxSlots]stickKey
	sess   *sessStick // the connection's, counted with the request
	keybuf []byte
	src    [16]byte
}

// tableByName binds programs to the tables of the configuration being
// applied (nil interface when none).
func (e *Engine) tableByName(name string) any {
	if t := e.pendingTables[name]; t != nil {
		return t
	}
	return nil
}

// tableSpec turns a stick_table block into a table's description.
func tableSpec(st *config.StickTable) sticktable.Spec {
	s := sticktable.Spec{Name: st.Name, KeyLen: st.Len, Size: st.Size, Expire: st.Expire, Peers: st.Peers}
	switch st.Type {
	case "ipv6":
		s.Kind = sticktable.IPv6
	case "string":
		s.Kind = sticktable.String
	}
	for _, c := range st.Store {
		s.Store = append(s.Store, sticktable.Store{Counter: sample.CounterIndex(c.Counter), Period: c.Period})
	}
	return s
}

// prepareTables builds the tables of cfg for Apply: a table of a name
// already running with the same description is kept, with its entries
// (as HAProxy keeps a table across a reload only through its peers,
// lbd keeps it in the process); another is made new.
func (e *Engine) prepareTables(cfg *config.Config, commit *commitList) error {
	e.pendingTables = map[string]*sticktable.Table{}
	for _, st := range cfg.StickTables() {
		spec := tableSpec(st)
		if old := e.tables[st.Name]; old != nil && old.SameLayout(spec) {
			e.pendingTables[st.Name] = old
			continue
		}
		t, err := sticktable.New(spec)
		if err != nil {
			return err
		}
		e.pendingTables[st.Name] = t
		if seed, ok := e.seeds[st.Name]; ok {
			n, err := t.Restore(seed)
			if err != nil {
				e.log.Warn().Str("table", st.Name).Err(err).Int("entries", n).Msg("stick table not taken over from the previous process: its entries start over")
			} else {
				e.log.Info().Str("table", st.Name).Int("entries", n).Msg("stick table taken over from the previous process")
			}
		}
	}
	e.seeds = nil
	commit.add(func() {
		for name, t := range e.tables {
			if e.pendingTables[name] != t {
				t.Close()
				if e.pendingTables[name] != nil {
					e.log.Warn().Str("table", name).Msg("stick table changed (type, size, expire, store or peers): its entries start over")
				}
			}
		}
		e.tables = e.pendingTables
	})
	return nil
}

// SeedTables gives the entries of a predecessor's tables (a binary
// upgrade) to the first Apply, which restores each into the new table of
// the same name and layout before anything is served.
func (e *Engine) SeedTables(seeds []sticktable.Snapshot) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seeds = make(map[string]sticktable.Snapshot, len(seeds))
	for _, s := range seeds {
		e.seeds[s.Name] = s
	}
}

// Tables lists the running stick tables, by name.
func (e *Engine) Tables() []*sticktable.Table {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*sticktable.Table, 0, len(e.tables))
	for _, t := range e.tables {
		out = append(out, t)
	}
	sortByName(out, func(t *sticktable.Table) string { return t.Name() })
	return out
}

// Table returns a running table by name (lbctl table), nil if none.
func (e *Engine) Table(name string) *sticktable.Table {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tables[name]
}

// track is a track_sc rule (rules.Hooks).
func (t *txn) track(r *rules.Rule, c *rules.Ctx) {
	tb, _ := r.Table.(*sticktable.Table)
	if tb == nil {
		return
	}
	st := &t.pol.stk
	refs, keys := &st.refs, &st.keys
	s := t.pol.sess
	if s != nil { // a tcp_request rule: the connection tracks
		if s.stk == nil {
			s.stk = &sessStick{}
		}
		refs, keys = &s.stk.refs, &s.stk.keys
	}
	if refs[r.Slot].Valid() || st.sess != nil && st.sess.refs[r.Slot].Valid() {
		return
	}
	key, addr, ok := r.TrackKey(c, st.keybuf[:0])
	st.keybuf = key[:0]
	if !ok {
		return
	}
	ref, ok := tb.Track(key, addr)
	if !ok {
		return
	}
	ref.ConnStart()
	if s == nil {
		ref.Count(sticktable.HTTPReqCnt, sticktable.HTTPReqRate, 1)
	}
	refs[r.Slot] = ref
	keys[r.Slot] = stickKey{b: append(keys[r.Slot].b[:0], key...), addr: addr}
}

// stickRequest links a request to the entries its connection tracks, and
// counts it in them when it is an HTTP request.
func (t *txn) stickRequest(s *session, http bool) {
	ss := s.stk
	if ss == nil {
		return
	}
	t.pol.stk.sess = ss
	if !http {
		return
	}
	for i := range ss.refs {
		if ss.refs[i].Valid() {
			// A copy at this request's time: the connection's Ref is
			// shared by its HTTP/2 streams.
			r := ss.refs[i]
			r.Tick()
			r.Count(sticktable.HTTPReqCnt, sticktable.HTTPReqRate, 1)
		}
	}
}

// counters is what conditions read stick counters through.
func (t *txn) counters() rules.Counters { return t }

// Counter is rules.Counters.
func (t *txn) Counter(slot int, table any, counter int) (int64, bool) {
	tb, _ := table.(*sticktable.Table)
	if slot == rules.SlotSrc {
		if tb == nil || !tb.Stores(counter) {
			return 0, false
		}
		st := &t.pol.stk
		st.src = t.pol.rc.Src.Addr().As16()
		v, _ := tb.Get(st.src[:], true, counter) // not found: 0, as HAProxy
		return v, true
	}
	if slot < 0 || slot >= sample.MaxSlots {
		return 0, false
	}
	st := &t.pol.stk
	ref, key := &st.refs[slot], &st.keys[slot]
	if !ref.Valid() {
		ss := st.sess
		if ss == nil {
			ss = t.pol.sessStick()
		}
		if ss == nil || !ss.refs[slot].Valid() {
			return 0, false
		}
		r := ss.refs[slot] // the connection's, read now
		r.Tick()
		ref, key = &r, &ss.keys[slot]
	}
	if tb == nil || tb == ref.Table() {
		return ref.Get(counter)
	}
	return tb.Get(key.b, key.addr, counter)
}

// sessStick is the connection's tracked entries while tcp_request rules
// run.
func (p *policyTxn) sessStick() *sessStick {
	if p.sess == nil {
		return nil
	}
	return p.sess.stk
}

// untrack ends what the request tracked and counts its bytes and errors
// in every entry it and its connection track; putTxn calls it.
func (t *txn) untrack() {
	st := &t.pol.stk
	for i := range st.refs {
		if st.refs[i].Valid() {
			t.countEnd(&st.refs[i])
			st.refs[i].Release()
		}
	}
	if ss := st.sess; ss != nil {
		for i := range ss.refs {
			if ss.refs[i].Valid() {
				r := ss.refs[i] // countEnd ticks a copy: the Ref is shared
				t.countEnd(&r)
			}
		}
		st.sess = nil
	}
}

func (t *txn) countEnd(r *sticktable.Ref) {
	r.Tick()
	if t.bytesIn > 0 {
		r.Count(sticktable.BytesInCnt, sticktable.BytesInRate, uint64(t.bytesIn))
	}
	if t.bytesOut > 0 {
		r.Count(sticktable.BytesOutCnt, sticktable.BytesOutRate, uint64(t.bytesOut))
	}
	if t.status >= 400 && t.status < 500 && (t.tResp != 0 || t.status == 400) {
		r.Count(sticktable.HTTPErrCnt, sticktable.HTTPErrRate, 1)
	}
}

// untrackSession ends what a connection's tcp_request rules tracked.
func (s *session) untrackSession() {
	if s.stk == nil {
		return
	}
	for i := range s.stk.refs {
		s.stk.refs[i].Release()
	}
	s.stk = nil
}

// TableStats lists the running tables' counters, by name.
func (e *Engine) TableStats() []sticktable.Stats {
	ts := e.Tables()
	out := make([]sticktable.Stats, len(ts))
	for i, t := range ts {
		out[i] = t.Stats()
	}
	return out
}
