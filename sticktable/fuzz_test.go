package sticktable

import (
	"net/netip"
	"testing"
	"time"
)

// FuzzApply feeds Apply what a peer could send: it must refuse or apply,
// never panic, and the table stays within its size.
func FuzzApply(f *testing.F) {
	spec := Spec{Name: "t", Kind: IP, Size: 64, Expire: time.Minute, Peers: "p", Store: []Store{
		{Counter: HTTPReqRate, Period: 10 * time.Second}, {Counter: ConnCur}, {Counter: HTTPReqCnt}}}
	src, _ := New(spec)
	for _, a := range []string{"192.0.2.1", "198.51.100.7"} {
		k := netip.MustParseAddr(a).As16()
		r, _ := src.Track(k[:], true)
		r.ConnStart()
		r.Count(HTTPReqCnt, HTTPReqRate, 5)
		r.Release()
	}
	_ = src.All(func(b []byte) error { f.Add(append([]byte(nil), b...), uint8(0)); return nil })
	src.Close()
	f.Add([]byte{4, 192, 0, 2, 1}, uint8(1))
	f.Add([]byte{3, 'a', 'b', 'c', 0, 0, 0, 1}, uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, kind uint8) {
		s := spec
		s.Kind = Kind(kind % 3)
		tb, err := New(s)
		if err != nil {
			t.Fatal(err)
		}
		defer tb.Close()
		_, _ = tb.Apply(b)
		if n := tb.Stats().Entries; n > s.Size {
			t.Fatalf("%d entries in a table of %d", n, s.Size)
		}
		_, _ = tb.Show("")
		_ = tb.Drain(func([]byte) error { return nil })
	})
}
