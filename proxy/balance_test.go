package proxy

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"lbd/config"
	"lbd/h1"
	"lbd/health"
)

type fakeSrv struct {
	name    string
	weight  int
	backup  bool
	maxconn int
}

// fakeBackend builds a backend over a real health pool (the fake is the
// absence of traffic: servers are never dialled).
type fakeBE struct {
	t    *testing.T
	pool *health.Pool
	be   *backend
	spec string
}

func newFakeBE(t *testing.T, balance, hashType, hashKey string, srvs ...fakeSrv) *fakeBE {
	f := &fakeBE{t: t, pool: health.NewPool(zerolog.Nop())}
	f.reconfigure(balance, hashType, hashKey, srvs...)
	return f
}

func (f *fakeBE) reconfigure(balance, hashType, hashKey string, srvs ...fakeSrv) {
	var b strings.Builder
	fmt.Fprintf(&b, "backend \"b\" {\n  balance = %q\n", balance)
	if hashType != "" {
		fmt.Fprintf(&b, "  hash_type = %q\n", hashType)
	}
	if hashKey != "" {
		fmt.Fprintf(&b, "  hash_key = %q\n", hashKey)
	}
	for i, s := range srvs {
		fmt.Fprintf(&b, "  server %q {\n    address = \"127.0.0.1:%d\"\n    weight = %d\n    backup = %v\n    maxconn = %d\n    check = false\n  }\n",
			s.name, 10000+i, s.weight, s.backup, s.maxconn)
	}
	b.WriteString("}\n")
	cfg, err := config.Parse("test.hcl", []byte(b.String()))
	if err != nil {
		f.t.Fatalf("%v\n%s", err, b.String())
	}
	if err := f.pool.Apply(cfg); err != nil {
		f.t.Fatal(err)
	}
	bc := cfg.Backends[0]
	st := &backendState{name: "b"}
	if f.be != nil {
		st = f.be.st
	}
	be := &backend{name: "b", cfg: bc, st: st}
	old := map[string]*server{}
	if f.be != nil {
		for _, s := range f.be.servers {
			old[s.name] = s
		}
	}
	for _, sc := range bc.Servers {
		s := old[sc.Name]
		if s == nil {
			s = newServer(f.pool.Get("b", sc.Name), st)
		}
		a := sc.Address
		s.addr.Store(&a)
		be.servers = append(be.servers, s)
	}
	bal, err := newBalancer(bc, be.servers)
	if err != nil {
		f.t.Fatal(err)
	}
	be.bal = bal
	f.be = be
}

func (f *fakeBE) srv(name string) *server {
	for _, s := range f.be.servers {
		if s.name == name {
			return s
		}
	}
	f.t.Fatalf("no server %s", name)
	return nil
}

// picks returns the names picked for n requests made by r.
func (f *fakeBE) picks(n int, r func(i int) *pickReq) string {
	var out []string
	for i := 0; i < n; i++ {
		pr := &pickReq{}
		if r != nil {
			pr = r(i)
		}
		s, _ := f.be.bal.pick(pr)
		if s == nil {
			out = append(out, "-")
			continue
		}
		out = append(out, s.name)
	}
	return strings.Join(out, " ")
}

func count(picks, name string) int {
	n := 0
	for _, p := range strings.Fields(picks) {
		if p == name {
			n++
		}
	}
	return n
}

func TestRoundRobinSmoothWeighted(t *testing.T) {
	tests := []struct {
		name string
		srvs []fakeSrv
		want string
	}{
		// nginx's example: weights 5,1,1 spread as a a b a c a a.
		{"5-1-1", []fakeSrv{{"a", 5, false, 0}, {"b", 1, false, 0}, {"c", 1, false, 0}}, "a a b a c a a a a b a c a a"},
		{"equal", []fakeSrv{{"a", 1, false, 0}, {"b", 1, false, 0}, {"c", 1, false, 0}}, "a b c a b c"},
		{"weight 0 drains", []fakeSrv{{"a", 1, false, 0}, {"b", 0, false, 0}}, "a a a"},
		{"backup idle while active up", []fakeSrv{{"a", 1, false, 0}, {"bk", 1, true, 0}}, "a a a"},
		{"backups when no active", []fakeSrv{{"a", 0, false, 0}, {"bk1", 1, true, 0}, {"bk2", 1, true, 0}}, "bk1 bk2 bk1 bk2"},
		{"nothing usable", []fakeSrv{{"a", 0, false, 0}}, "- -"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeBE(t, "roundrobin", "", "", tc.srvs...)
			if got := f.picks(len(strings.Fields(tc.want)), nil); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRoundRobinDynamicWeightAndFull(t *testing.T) {
	f := newFakeBE(t, "roundrobin", "", "", fakeSrv{"a", 1, false, 2}, fakeSrv{"b", 1, false, 0})
	// a at its maxconn: skipped.
	f.srv("a").hs.Counters.CurConns.Store(2)
	if got := f.picks(3, nil); got != "b b b" {
		t.Fatalf("full server picked: %s", got)
	}
	f.srv("a").hs.Counters.CurConns.Store(0)
	// A reload raising b's weight to 3 applies at once; a keeps its state.
	a := f.srv("a")
	f.reconfigure("roundrobin", "", "", fakeSrv{"a", 1, false, 2}, fakeSrv{"b", 3, false, 0})
	if f.srv("a") != a {
		t.Fatal("server record not kept across reload")
	}
	got := f.picks(8, nil)
	if count(got, "b") != 6 || count(got, "a") != 2 {
		t.Fatalf("weights 1:3 gave %s", got)
	}
}

func TestAllFullMeansQueue(t *testing.T) {
	for _, algo := range []string{"roundrobin", "static-rr", "leastconn", "first", "random"} {
		t.Run(algo, func(t *testing.T) {
			f := newFakeBE(t, algo, "", "", fakeSrv{"a", 1, false, 1}, fakeSrv{"b", 1, false, 1})
			f.srv("a").hs.Counters.CurConns.Store(1)
			f.srv("b").hs.Counters.CurConns.Store(1)
			s, any := f.be.bal.pick(&pickReq{})
			if s != nil || !any {
				t.Fatalf("pick = %v, any = %v; want nil, true", s, any)
			}
		})
	}
}

func TestStaticRR(t *testing.T) {
	f := newFakeBE(t, "static-rr", "", "", fakeSrv{"a", 2, false, 0}, fakeSrv{"b", 1, false, 0})
	got := f.picks(6, nil)
	if count(got, "a") != 4 || count(got, "b") != 2 {
		t.Fatalf("got %s", got)
	}
}

func TestLeastConn(t *testing.T) {
	f := newFakeBE(t, "leastconn", "", "", fakeSrv{"a", 1, false, 0}, fakeSrv{"b", 1, false, 0}, fakeSrv{"c", 2, false, 0})
	f.srv("a").hs.Counters.CurConns.Store(5)
	f.srv("b").hs.Counters.CurConns.Store(2)
	f.srv("c").hs.Counters.CurConns.Store(6) // 6/2 = 3 per weight
	if got := f.picks(3, nil); got != "b b b" {
		t.Fatalf("got %s", got)
	}
	// Ties rotate.
	for _, n := range []string{"a", "b", "c"} {
		f.srv(n).hs.Counters.CurConns.Store(0)
	}
	got := f.picks(6, nil)
	if count(got, "a") == 0 || count(got, "b") == 0 || count(got, "c") == 0 {
		t.Fatalf("idle servers not shared: %s", got)
	}
}

func TestFirst(t *testing.T) {
	f := newFakeBE(t, "first", "", "", fakeSrv{"a", 1, false, 2}, fakeSrv{"b", 1, false, 2}, fakeSrv{"c", 1, false, 0})
	if got := f.picks(2, nil); got != "a a" {
		t.Fatalf("got %s", got)
	}
	f.srv("a").hs.Counters.CurConns.Store(2)
	if got := f.picks(1, nil); got != "b" {
		t.Fatalf("got %s", got)
	}
	f.srv("b").hs.Counters.CurConns.Store(2)
	if got := f.picks(1, nil); got != "c" {
		t.Fatalf("got %s", got)
	}
}

func TestRandomPowerOfTwo(t *testing.T) {
	f := newFakeBE(t, "random", "", "", fakeSrv{"a", 1, false, 0}, fakeSrv{"b", 1, false, 0})
	got := f.picks(400, nil)
	if count(got, "a") < 100 || count(got, "b") < 100 {
		t.Fatalf("unbalanced with equal load: a=%d b=%d", count(got, "a"), count(got, "b"))
	}
	// A loaded server loses every draw that offers the other one.
	f.srv("a").hs.Counters.CurConns.Store(50)
	got = f.picks(400, nil)
	if count(got, "b") < 250 {
		t.Fatalf("loaded server still picked: b=%d of 400", count(got, "b"))
	}
}

func addrReq(i int) *pickReq {
	return &pickReq{client: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}
}

func TestHashBalancers(t *testing.T) {
	srvs := []fakeSrv{{"a", 1, false, 0}, {"b", 1, false, 0}, {"c", 1, false, 0}}
	mk := func(raw string) *pickReq {
		var m h1.Head
		if e := m.ParseRequest([]byte(raw)); e != h1.OK {
			t.Fatal(e)
		}
		return &pickReq{req: &m}
	}
	tests := []struct {
		name, balance, key string
		same               [2]*pickReq // must map to the same server
	}{
		{"source", "source", "", [2]*pickReq{addrReq(7), addrReq(7)}},
		{"uri ignores query", "uri", "", [2]*pickReq{mk("GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"), mk("GET /a/b?y=2 HTTP/1.1\r\nHost: h\r\n\r\n")}},
		{"url_param", "url_param", "user", [2]*pickReq{mk("GET /x?a=1&user=bob HTTP/1.1\r\nHost: h\r\n\r\n"), mk("GET /y?user=bob HTTP/1.1\r\nHost: h\r\n\r\n")}},
		{"hdr", "hdr", "X-Tenant", [2]*pickReq{mk("GET /x HTTP/1.1\r\nHost: h\r\nx-tenant: t1\r\n\r\n"), mk("GET /z HTTP/1.1\r\nHost: h\r\nX-Tenant: t1\r\n\r\n")}},
	}
	for _, tc := range tests {
		for _, ht := range []string{"map-based", "consistent"} {
			t.Run(tc.name+"/"+ht, func(t *testing.T) {
				f := newFakeBE(t, tc.balance, ht, tc.key, srvs...)
				for i := 0; i < 20; i++ {
					a, _ := f.be.bal.pick(tc.same[0])
					b, _ := f.be.bal.pick(tc.same[1])
					if a == nil || a != b {
						t.Fatalf("same key, different servers: %v %v", a, b)
					}
				}
			})
		}
	}
}

func TestHashFallbackWithoutKey(t *testing.T) {
	f := newFakeBE(t, "url_param", "", "user", fakeSrv{"a", 1, false, 0}, fakeSrv{"b", 1, false, 0})
	var m h1.Head
	m.ParseRequest([]byte("GET /nothing HTTP/1.1\r\nHost: h\r\n\r\n"))
	got := f.picks(4, func(int) *pickReq { return &pickReq{req: &m} })
	if got != "a b a b" {
		t.Fatalf("no key should round-robin, got %s", got)
	}
}

func TestHashSpreadAndExclude(t *testing.T) {
	for _, ht := range []string{"map-based", "consistent"} {
		t.Run(ht, func(t *testing.T) {
			f := newFakeBE(t, "source", ht, "", fakeSrv{"a", 1, false, 0}, fakeSrv{"b", 1, false, 0}, fakeSrv{"c", 2, false, 0})
			got := f.picks(4000, addrReq)
			a, b, c := count(got, "a"), count(got, "b"), count(got, "c")
			if a < 700 || b < 700 || c < 1500 {
				t.Fatalf("spread a=%d b=%d c=%d (weights 1:1:2)", a, b, c)
			}
			// A redispatch never returns the excluded server.
			for i := 0; i < 200; i++ {
				pr := addrReq(i)
				s, _ := f.be.bal.pick(pr)
				pr.exclude = s
				s2, _ := f.be.bal.pick(pr)
				if s2 == nil || s2 == s {
					t.Fatalf("exclude ignored: %v then %v", s, s2)
				}
			}
		})
	}
}

// TestConsistentRemapsOnlyRemovedShare: taking a server out moves only the
// keys it had; bringing it back restores the old mapping.
func TestConsistentRemapsOnlyRemovedShare(t *testing.T) {
	srvs := []fakeSrv{{"a", 1, false, 0}, {"b", 1, false, 0}, {"c", 1, false, 0}, {"d", 1, false, 0}}
	f := newFakeBE(t, "source", "consistent", "", srvs...)
	before := strings.Fields(f.picks(2000, addrReq))
	drained := append([]fakeSrv(nil), srvs...)
	drained[2].weight = 0 // c leaves
	f.reconfigure("source", "consistent", "", drained...)
	after := strings.Fields(f.picks(2000, addrReq))
	moved := 0
	for i := range before {
		if before[i] != "c" && after[i] != before[i] {
			t.Fatalf("key %d moved from %s to %s though its server stayed", i, before[i], after[i])
		}
		if before[i] == "c" {
			moved++
			if after[i] == "c" {
				t.Fatalf("key %d still on the drained server", i)
			}
		}
	}
	if moved < 300 {
		t.Fatalf("c had only %d keys of 2000", moved)
	}
	f.reconfigure("source", "consistent", "", srvs...)
	again := strings.Fields(f.picks(2000, addrReq))
	for i := range before {
		if again[i] != before[i] {
			t.Fatalf("key %d not restored: %s -> %s", i, before[i], again[i])
		}
	}
}

func TestMapBasedBackup(t *testing.T) {
	f := newFakeBE(t, "source", "map-based", "", fakeSrv{"a", 0, false, 0}, fakeSrv{"bk", 1, true, 0})
	if got := f.picks(3, addrReq); got != "bk bk bk" {
		t.Fatalf("got %s", got)
	}
}

func BenchmarkRoundRobinPick(b *testing.B) {
	t := &testing.T{}
	f := newFakeBE(t, "roundrobin", "", "", fakeSrv{"a", 3, false, 0}, fakeSrv{"b", 2, false, 0}, fakeSrv{"c", 1, false, 0}, fakeSrv{"d", 1, false, 0})
	pr := &pickReq{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		f.be.bal.pick(pr)
	}
}
