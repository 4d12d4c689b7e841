package maps

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

func mustParse(t testing.TB, s string) []Entry {
	t.Helper()
	e, errs := Parse([]byte(s))
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	return e
}

func TestParse(t *testing.T) {
	e, errs := Parse([]byte("# comment\n\n  a   value one  \r\nb\n  # indented comment\nc\tv\nbad\x01 x\n" + strings.Repeat("k", MaxKey+1) + " v\n"))
	want := []Entry{{Key: "a", Value: "value one", Line: 3}, {Key: "b", Value: "", Line: 4}, {Key: "c", Value: "v", Line: 6}}
	if len(e) != len(want) {
		t.Fatalf("%+v", e)
	}
	for i := range want {
		if e[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, e[i], want[i])
		}
	}
	if len(errs) != 2 || errs[0].Line != 7 || errs[1].Line != 8 {
		t.Errorf("errors: %v", errs)
	}
}

// TestLookupKinds: each match kind with HAProxy 2.6's rule for which
// entry wins.
func TestLookupKinds(t *testing.T) {
	m := New("m", mustParse(t, `
/api/        api
/api/v2/     api2
/            root
example.com  dom1
www.example.com dom2
.php         php
.html        html
^/user/[0-9]+$ user
192.0.2.0/24 net24
192.0.2.128/25 net25
192.0.2.7    host
2001:db8::/32 v6
dup          first
dup          second
`))
	for _, k := range []Kind{Beg, End, Sub, Dom, Reg} {
		if err := m.Use(k); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Use(IP); err == nil {
		t.Fatal("map_ip accepted keys that are not addresses")
	}
	tests := []struct {
		kind   Kind
		sample string
		want   string // "" = not found
	}{
		{Str, "dup", "first"},
		{Str, "/api/", "api"},
		{Str, "/api", ""},
		{Beg, "/api/v2/users", "api2"}, // longest prefix, not file order
		{Beg, "/api/v1", "api"},
		{Beg, "/other", "root"},
		{Beg, "", ""},
		{End, "/index.php", "php"},
		{End, "/a.html", "html"},
		{End, "/a.htm", ""},
		{Sub, "/x/api/y", "api"},
		{Dom, "www.example.com", "dom1"},      // first in file order among matches
		{Dom, "example.com.evil.net", "dom1"}, // whole words, not a suffix match
		{Dom, "notexample.com", ""},
		{Dom, "example.comx", ""},
		{Dom, "http://example.com:8080/x", "dom1"},
		{Reg, "/user/42", "root"}, // "/" is a regex too, and comes first
	}
	for _, tc := range tests {
		got, ok := m.Lookup(tc.kind, []byte(tc.sample))
		if (tc.want == "") == ok || got != tc.want {
			t.Errorf("%s %q: %q %v, want %q", tc.kind, tc.sample, got, ok, tc.want)
		}
	}

	rm := New("reg", mustParse(t, "^/user/[0-9]+$ user\n^/user/ other\n"))
	rm.Use(Reg)
	for _, tc := range []struct{ s, want string }{{"/user/42", "user"}, {"/user/x", "other"}, {"/x", ""}} {
		if got, _ := rm.Lookup(Reg, []byte(tc.s)); got != tc.want {
			t.Errorf("reg %q: %q, want %q", tc.s, got, tc.want)
		}
	}

	ipm := New("ip", mustParse(t, "192.0.2.0/24 net24\n192.0.2.128/25 net25\n192.0.2.7 host\n2001:db8::/32 v6\n0.0.0.0/0 any4\n"))
	if err := ipm.Use(IP); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.7", "host"}, {"192.0.2.200", "net25"}, {"192.0.2.1", "net24"},
		{"::ffff:192.0.2.1", "net24"}, {"198.51.100.1", "any4"}, {"2001:db8::1", "v6"}, {"2001:db9::1", ""},
	} {
		got, ok := ipm.LookupAddr(netip.MustParseAddr(tc.addr))
		if (tc.want == "") == ok || got != tc.want {
			t.Errorf("ip %s: %q %v, want %q", tc.addr, got, ok, tc.want)
		}
		if got2, _ := ipm.Lookup(IP, []byte(tc.addr)); got2 != got {
			t.Errorf("ip %s as text: %q, want %q", tc.addr, got2, got)
		}
	}
}

// TestRuntimeChanges: add/set/del/clear form an overlay that a reload
// keeps on top of the re-read file, and Reset drops.
func TestRuntimeChanges(t *testing.T) {
	m := New("hosts", mustParse(t, "a.example.com web\nb.example.com web\nb.example.com web2\n"))
	get := func(k string) string { v, _ := m.Lookup(Str, []byte(k)); return v }
	if err := m.Add("c.example.com", "api"); err != nil || get("c.example.com") != "api" {
		t.Fatalf("add: %v %q", err, get("c.example.com"))
	}
	if err := m.Set("b.example.com", "new"); err != nil || get("b.example.com") != "new" {
		t.Fatalf("set: %v", err)
	}
	n := 0
	for _, e := range m.Entries() {
		if e.Key == "b.example.com" {
			n++
			if e.Value != "new" || !e.Runtime {
				t.Errorf("set changed %+v", e)
			}
		}
	}
	if n != 2 {
		t.Errorf("set: %d entries of the key, want 2", n)
	}
	if err := m.Set("nosuch", "x"); err == nil {
		t.Error("set of a missing key")
	}
	if found, _ := m.Del("a.example.com"); !found || get("a.example.com") != "" {
		t.Error("del")
	}
	if found, _ := m.Del("a.example.com"); found {
		t.Error("del twice found it")
	}
	for _, bad := range [][2]string{{"x", "a\r\nInjected: 1"}, {"x y", "v"}, {"", "v"}, {"x", "nul\x00"}} {
		if err := m.Add(bad[0], bad[1]); err == nil {
			t.Errorf("add %q %q accepted", bad[0], bad[1])
		}
	}
	// A reload re-reads the file (which now has d) and keeps the overlay.
	if n, err := m.Reload(mustParse(t, "a.example.com web\nb.example.com web\nd.example.com web\n")); err != nil || n != 3 {
		t.Fatalf("reload: %d %v", n, err)
	}
	if get("a.example.com") != "" || get("b.example.com") != "new" || get("c.example.com") != "api" || get("d.example.com") != "web" {
		t.Errorf("after reload: a=%q b=%q c=%q d=%q", get("a.example.com"), get("b.example.com"), get("c.example.com"), get("d.example.com"))
	}
	m.Reset()
	if get("a.example.com") != "web" || get("c.example.com") != "" {
		t.Error("reset")
	}
	m.Clear()
	if len(m.Entries()) != 0 {
		t.Error("clear")
	}
	if _, err := m.Reload(mustParse(t, "a.example.com web\n")); err != nil || len(m.Entries()) != 0 {
		t.Error("a cleared map stays cleared across a reload")
	}
	m.Add("z", "1")
	if get("z") != "1" || len(m.Entries()) != 1 {
		t.Error("add after clear")
	}
	if st := m.Stats(); st.Entries != 1 || st.Lookups == 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestConcurrentLookups: lookups never lock and never see a half-built
// map while writers change it (run with -race).
func TestConcurrentLookups(t *testing.T) {
	var entries []Entry
	for i := 0; i < 10000; i++ {
		entries = append(entries, Entry{Key: fmt.Sprintf("/p%d/", i), Value: fmt.Sprint(i)})
	}
	m := New("big", entries)
	m.Use(Beg)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if v, ok := m.Lookup(Beg, []byte("/p42/x")); !ok || v != "42" {
					t.Errorf("lookup during changes: %q %v", v, ok)
					return
				}
			}
		}()
	}
	for i := 0; i < 50; i++ {
		m.Add(fmt.Sprintf("/new%d/", i), "x")
		m.Del(fmt.Sprintf("/p%d/", 5000+i))
	}
	close(stop)
	wg.Wait()
}

func TestLookupAllocs(t *testing.T) {
	var entries []Entry
	for i := 0; i < 10000; i++ {
		entries = append(entries, Entry{Key: fmt.Sprintf("host%d.example.com", i), Value: "be" + fmt.Sprint(i%10)})
	}
	m := New("big", entries)
	for _, k := range []Kind{Beg, End, Dom, Sub} {
		m.Use(k)
	}
	key := []byte("www.host42.example.com")
	for _, k := range []Kind{Str, Beg, End, Dom} {
		if n := testing.AllocsPerRun(100, func() { m.Lookup(k, key) }); n != 0 {
			t.Errorf("%s lookup: %v allocations", k, n)
		}
	}
}

func BenchmarkLookup10k(b *testing.B) {
	var entries []Entry
	for i := 0; i < 10000; i++ {
		entries = append(entries, Entry{Key: fmt.Sprintf("host%d.example.com", i), Value: "be"})
	}
	m := New("big", entries)
	m.Use(Beg)
	m.Use(Dom)
	key := []byte("host9999.example.com")
	for _, k := range []Kind{Str, Beg, Dom} {
		b.Run(k.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Lookup(k, key)
			}
		})
	}
}

// FuzzParse: a map file of any bytes parses into entries that a map can
// hold (every key and value passes CheckEntry) or line-numbered errors;
// lookups of any kind on the result never fail.
func FuzzParse(f *testing.F) {
	f.Add([]byte("a b\n# c\n\n x  y z \r\n"))
	f.Add([]byte("192.0.2.0/24 net\n2001:db8::/32 v6\nbad\x00 x\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		entries, errs := Parse(raw)
		for _, e := range entries {
			if err := CheckEntry(e.Key, e.Value); err != nil || e.Line <= 0 {
				t.Fatalf("entry %+v: %v", e, err)
			}
		}
		for _, e := range errs {
			if e.Line <= 0 {
				t.Fatalf("error without a line: %v", e)
			}
		}
		m := New("f", entries)
		for _, k := range []Kind{Beg, End, Sub, Dom} {
			m.Use(k)
		}
		for _, k := range []Kind{Str, Beg, End, Sub, Dom, IP} {
			m.Lookup(k, raw)
		}
	})
}
