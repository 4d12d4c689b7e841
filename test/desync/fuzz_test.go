package desync

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzWholePath sends random bytes through a real engine to the recording
// origin, then closes the client's sending side, and checks the invariant
// on every message: the origin reads exactly the messages lbd's codec
// accepts before the first it refuses or that is cut short, each with the
// method, target, Host and body lbd read; no bytes on a server connection
// that is still open are left unread (a partial request there would prefix
// the next one); a cut message's connection is closed. Seeds: every case of
// the request table.
func FuzzWholePath(f *testing.F) {
	for _, c := range requestCases() {
		f.Add([]byte(c.raw))
	}
	r := NewRig(f)
	var n uint32
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		// Each input from its own loopback address, which lbd writes in
		// X-Forwarded-For: the origin's connections are told apart by it.
		n++
		src := net.IPv4(127, byte(n/(254*256)), byte(n/254), byte(n%254+1))
		mark := "X-Forwarded-For: " + src.String() + "\r\n"
		fromReq, fromConn := r.Origin.Count()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}}
		c, err := d.Dial("tcp4", r.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(data); err != nil && !isReset(err) {
			t.Fatal(err)
		}
		c.(*net.TCPConn).CloseWrite()
		if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) {
			t.Fatalf("reading the responses: %v", err)
		}
		r.Quiet()

		ref := reference(data)
		var sent []want
		cutShort := false
		for _, w := range ref {
			switch w.kind {
			case forwarded:
				sent = append(sent, w)
			case cut:
				cutShort = true
			}
		}
		// A server connection lbd closed may not be seen closed yet.
		p := r.Origin.Pending(mark)
		for end := time.Now().Add(time.Second); len(p) > 0 && time.Now().Before(end); p = r.Origin.Pending(mark) {
			time.Sleep(5 * time.Millisecond)
		}
		snap := r.Origin.SnapshotSince(fromReq, max(fromConn-4, 0), mark)
		if len(p) > 0 {
			t.Fatalf("unread bytes on an open server connection: %v\ninput %s", p, oneLine(data))
		}
		if len(snap.Problems) > 0 && !cutShort {
			t.Fatalf("origin could not read what it received: %v\ninput %s", snap.Problems, oneLine(data))
		}
		if len(snap.Requests) != len(sent) {
			t.Fatalf("origin read %d requests, lbd's codec accepts %d:%s\ninput %s", len(snap.Requests), len(sent), targets(snap.Requests), oneLine(data))
		}
		for i, w := range sent {
			g := snap.Requests[i]
			hosts := g.HostFields()
			if g.Method != w.method || g.Target != w.target || string(g.Body) != w.body ||
				w.host == "" && len(hosts) != 0 || w.host != "" && (len(hosts) != 1 || hosts[0] != w.host) {
				t.Fatalf("request %d at the origin: %s Host %q; lbd read %s %s Host %q body %q\ninput %s",
					i, g.describe(), hosts, w.method, w.target, w.host, w.body, oneLine(data))
			}
			framing(t, i, g)
		}
	})
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "reset by peer") || strings.Contains(err.Error(), "broken pipe"))
}
