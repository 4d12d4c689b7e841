package peers

import (
	"bytes"
	"lbd/test/freeport"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/sticktable"
)

func init() {
	FlushEvery = 10 * time.Millisecond
	RedialEvery = 50 * time.Millisecond
}

func freeAddr(t *testing.T) string { return freeport.Loopback(t) }

func newTable(t *testing.T, store ...sticktable.Store) *sticktable.Table {
	t.Helper()
	if store == nil {
		store = []sticktable.Store{{Counter: sticktable.HTTPReqRate, Period: 10 * time.Second}, {Counter: sticktable.HTTPReqCnt}, {Counter: sticktable.ConnCur}}
	}
	tb, err := sticktable.New(sticktable.Spec{Name: "web", Kind: sticktable.IP, Size: 100000, Expire: time.Minute, Peers: "pair", Store: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tb.Close)
	return tb
}

type node struct {
	t    *sticktable.Table
	link *Link
}

func startNode(t *testing.T, bind, peer string, secret string, tb *sticktable.Table) *node {
	t.Helper()
	log := zerolog.New(os.Stderr).Level(zerolog.WarnLevel)
	if testing.Verbose() {
		log = log.Level(zerolog.DebugLevel)
	}
	l, err := Start(Config{Name: "pair", Bind: bind, Peer: peer, Secret: []byte(secret)}, func() []*sticktable.Table { return []*sticktable.Table{tb} }, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return &node{t: tb, link: l}
}

func hit(tb *sticktable.Table, ip string, n uint64) {
	k := netip.MustParseAddr(ip).As16()
	r, _ := tb.Track(k[:], true)
	r.ConnStart()
	r.Count(sticktable.HTTPReqCnt, sticktable.HTTPReqRate, n)
	r.Release()
}

func waitValue(t *testing.T, tb *sticktable.Table, ip string, c sticktable.Counter, want int64) {
	t.Helper()
	k := netip.MustParseAddr(ip).As16()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, _ := tb.Get(k[:], true, c)
		if v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: counter %d = %d, want %d", ip, c, v, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const secret = "0123456789abcdef0123456789abcdef-shared"

// Two tables over loopback: changes flow both ways; a restarted node is
// resynchronised in full.
func TestPairSync(t *testing.T) {
	aAddr, bAddr := freeAddr(t), freeAddr(t)
	a := startNode(t, aAddr, bAddr, secret, newTable(t))
	b := startNode(t, bAddr, aAddr, secret, newTable(t))
	hit(a.t, "192.0.2.1", 7)
	waitValue(t, b.t, "192.0.2.1", sticktable.HTTPReqRate, 7)
	waitValue(t, b.t, "192.0.2.1", sticktable.HTTPReqCnt, 7)
	hit(b.t, "192.0.2.1", 3) // the other way, on the same entry
	waitValue(t, a.t, "192.0.2.1", sticktable.HTTPReqCnt, 10)
	hit(b.t, "198.51.100.9", 1)
	waitValue(t, a.t, "198.51.100.9", sticktable.HTTPReqCnt, 1)
	// conn_cur is each node's own.
	k := netip.MustParseAddr("192.0.2.1").As16()
	held, _ := a.t.Track(k[:], true)
	held.ConnStart()
	hit(a.t, "192.0.2.1", 1)
	waitValue(t, b.t, "192.0.2.1", sticktable.HTTPReqCnt, 11)
	if v, _ := b.t.Get(k[:], true, sticktable.ConnCur); v != 0 {
		t.Errorf("conn_cur of a's connection on b: %d", v)
	}
	held.Release()

	// Many entries, then b restarts empty: a's whole table reaches it.
	for i := 0; i < 20000; i++ {
		k := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).As16()
		r, _ := a.t.Track(k[:], true)
		r.Count(sticktable.HTTPReqCnt, sticktable.HTTPReqRate, 2)
		r.Release()
	}
	waitValue(t, b.t, "10.0.78.31", sticktable.HTTPReqCnt, 2)
	b.link.Close()
	b.t.Close()
	start := time.Now()
	b2 := startNode(t, bAddr, aAddr, secret, newTable(t))
	deadline := time.Now().Add(10 * time.Second)
	for b2.t.Stats().Entries < 20002 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	waitValue(t, b2.t, "10.0.78.31", sticktable.HTTPReqCnt, 2)
	waitValue(t, b2.t, "192.0.2.1", sticktable.HTTPReqCnt, 11)
	if n := b2.t.Stats().Entries; n != 20002 {
		t.Errorf("after the resync b holds %d entries, want 20002", n)
	}
	t.Logf("restarted node resynchronised in %s", time.Since(start))
	if s := a.link.Stats(); s.Resyncs < 2 || !s.Connected {
		t.Errorf("a's link: %+v", s)
	}
}

func TestWrongSecret(t *testing.T) {
	aAddr, bAddr := freeAddr(t), freeAddr(t)
	a := startNode(t, aAddr, bAddr, secret, newTable(t))
	b := startNode(t, bAddr, aAddr, strings.Replace(secret, "0", "1", 1), newTable(t))
	hit(a.t, "192.0.2.1", 7)
	deadline := time.Now().Add(5 * time.Second)
	for b.link.Stats().AuthFailures == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if b.link.Stats().AuthFailures == 0 || a.link.Stats().Connected {
		t.Fatalf("a wrong secret: b %+v, a %+v", b.link.Stats(), a.link.Stats())
	}
	if b.t.Stats().Entries != 0 {
		t.Fatal("entries applied from a peer without the secret")
	}
}

// A table stored differently on the two nodes is not applied.
func TestLayoutMismatch(t *testing.T) {
	aAddr, bAddr := freeAddr(t), freeAddr(t)
	a := startNode(t, aAddr, bAddr, secret, newTable(t))
	b := startNode(t, bAddr, aAddr, secret, newTable(t, sticktable.Store{Counter: sticktable.HTTPReqCnt}))
	hit(a.t, "192.0.2.1", 7)
	deadline := time.Now().Add(2 * time.Second)
	for a.link.Stats().Sent == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if a.link.Stats().Sent == 0 || b.t.Stats().Entries != 0 {
		t.Fatalf("sent %d, b holds %d", a.link.Stats().Sent, b.t.Stats().Entries)
	}
}

// The handshake and frames: a replayed hello, an altered or replayed
// frame are refused.
func TestAuth(t *testing.T) {
	var wire bytes.Buffer
	var seen replays
	now := time.Now()
	// Record a dialer's hello, answer it, and replay it.
	c1, c2 := net.Pipe()
	done := make(chan *session)
	go func() {
		s, err := acceptHello(teeConn{c2, &wire}, []byte(secret), "pair", now, &seen)
		if err != nil {
			t.Error(err)
		}
		done <- s
	}()
	ds, err := dialHello(c1, []byte(secret), "pair", now)
	if err != nil {
		t.Fatal(err)
	}
	as := <-done
	hello := append([]byte(nil), wire.Bytes()...)
	if _, err := acceptHello(&rw{r: bytes.NewReader(hello), w: &bytes.Buffer{}}, []byte(secret), "pair", now, &seen); err == nil {
		t.Fatal("a replayed hello accepted")
	}
	if _, err := acceptHello(&rw{r: bytes.NewReader(hello), w: &bytes.Buffer{}}, []byte(secret), "pair", now.Add(time.Minute), &replays{}); err == nil {
		t.Fatal("an old hello accepted")
	}
	if _, err := acceptHello(&rw{r: bytes.NewReader(hello), w: &bytes.Buffer{}}, []byte(secret), "other", now, &replays{}); err == nil {
		t.Fatal("a hello for another peers block accepted")
	}
	f1 := ds.appendFrame(nil, []byte{tHeartbeat})
	f2 := ds.appendFrame(nil, []byte{tEntries, 0, 0})
	if p, err := as.readFrame(bytes.NewReader(f1), nil); err != nil || p[0] != tHeartbeat {
		t.Fatalf("frame 1: %v", err)
	}
	if _, err := as.readFrame(bytes.NewReader(f1), nil); err == nil {
		t.Fatal("a replayed frame accepted")
	}
	bad := append([]byte(nil), f2...)
	bad[5] ^= 1
	if _, err := as.readFrame(bytes.NewReader(bad), nil); err == nil {
		t.Fatal("an altered frame accepted")
	}
}

type teeConn struct {
	net.Conn
	w *bytes.Buffer
}

func (c teeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.w.Write(p[:n])
	return n, err
}

type rw struct {
	r *bytes.Reader
	w *bytes.Buffer
}

func (x *rw) Read(p []byte) (int, error)  { return x.r.Read(p) }
func (x *rw) Write(p []byte) (int, error) { return x.w.Write(p) }

// TestLinkDropped: connections cut in the middle (a network blip) are
// redialled, and what changed meanwhile arrives.
func TestLinkDropped(t *testing.T) {
	aAddr, bAddr := freeAddr(t), freeAddr(t)
	a := startNode(t, aAddr, bAddr, secret, newTable(t))
	b := startNode(t, bAddr, aAddr, secret, newTable(t))
	hit(a.t, "192.0.2.1", 1)
	waitValue(t, b.t, "192.0.2.1", sticktable.HTTPReqCnt, 1)
	for i := 0; i < 3; i++ {
		for _, n := range []*node{a, b} {
			n.link.mu.Lock()
			for c := range n.link.conns {
				c.Close()
			}
			n.link.mu.Unlock()
		}
		hit(a.t, "192.0.2.1", 1)
		hit(b.t, "198.51.100.1", 1)
	}
	waitValue(t, b.t, "192.0.2.1", sticktable.HTTPReqCnt, 4)
	waitValue(t, a.t, "198.51.100.1", sticktable.HTTPReqCnt, 3)
	deadline := time.Now().Add(5 * time.Second)
	for !a.link.Stats().Connected && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s := a.link.Stats(); !s.Connected || s.Connects < 2 {
		t.Errorf("a's link after the drops: %+v", s)
	}
}
