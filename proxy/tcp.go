package proxy

// serveTCP proxies one tcp-mode connection: pick a server (queueing for a
// slot like http requests), connect with retries and redispatch, then copy
// bytes both ways until both sides are done.
func (s *exchange) serveTCP() {
	t := getTxn()
	defer putTxn(t)
	t.tIdle = s.accepted
	t.tHead = s.accepted     // the reference time of the assignment
	if !s.contentPolicy(t) { // policy_tcp.go
		return
	}
	fe := s.fe
	be := s.tcpBackend(fe) // the default backend, or by SNI (tls_session.go)
	if be == nil {
		s.logNoTCPBackend()
		return
	}
	t.be = be
	maxInt64(&be.st.max, be.st.cur.Add(1))
	be.st.total.Add(1)
	defer be.st.cur.Add(-1)
	defer func() {
		t.tEnd = nanotime()
		s.logTCP(t)
	}()

	pr := &t.pr
	*pr = pickReq{client: s.peer.Addr()}
	srv, qr := s.assign(t, be, nil, pr)
	if qr != queueGot {
		if qr == queueTimeout {
			t.setTerm('s', 'Q')
		} else {
			t.setTerm('S', 'C')
		}
		return
	}
	t.srv = srv
	defer func() { t.srv.release() }()
	u := s.connectTCP(t, pr)
	if u == nil {
		return
	}
	defer func() {
		u.ep.c.Close()
		s.upc.Store(nil)
	}()
	up, down, who := s.tunnel(&u.ep, be.t.Tunnel)
	t.bytesIn, t.bytesOut = up, down
	if s.killed.Load() {
		who = 'K'
	}
	if who != 0 {
		t.setTerm(who, 'D')
	}
	c := &t.srv.hs.Counters
	c.BytesIn.Add(uint64(up))
	c.BytesOut.Add(uint64(down))
	s.fst.count(0, up, down)
	be.st.count(0, up, down)
}

// connectTCP connects to t.srv with the retry and redispatch rules of
// connect.
func (s *exchange) connectTCP(t *txn, pr *pickReq) *upConn {
	be := t.be
	t.tC0 = nanotime()
	attempts := 0
	for {
		u, err := t.srv.dial(s.e.ctx, be.t.Connect, s.clientSNI())
		if err == nil {
			err = s.sendProxyHeader(u, nanotime(), be.t.Server)
			if err == nil {
				err = s.flushClient(&u.ep, be.t.Server)
			}
			if err != nil {
				u.close()
			}
		}
		if err == nil {
			s.upc.Store(u)
			if be.observe != observeNone {
				t.srv.hs.ObserveL4(true, "")
			}
			t.tC1 = nanotime()
			return u
		}
		if who, done := s.afterConnectError(t, pr, err, &attempts); done {
			t.setTerm(who, 'C')
			return nil
		}
	}
}
