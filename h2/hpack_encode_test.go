package h2

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// decodeBlock decodes a header block with golang.org/x/net's decoder (a
// peer's view of what lbd wrote), with the default table size.
func decodeBlock(t testing.TB, b []byte) []hpack.HeaderField {
	t.Helper()
	fs, err := hpack.NewDecoder(4096, nil).DecodeFull(b)
	if err != nil {
		t.Fatalf("decoding %x: %v", b, err)
	}
	return fs
}

func TestAppendField(t *testing.T) {
	long := strings.Repeat("v", 300)
	cases := []struct {
		name, value string
		lower       bool
		want        []byte // exact encoding; nil: round trip only
		wantName    string // the name decoded, when not name
	}{
		{name: ":status", value: "200", want: []byte{0x88}},
		{name: ":status", value: "500", want: []byte{0x8e}},
		{name: ":status", value: "503", want: []byte{0x08, 3, '5', '0', '3'}},
		{name: ":method", value: "GET", want: []byte{0x82}},
		{name: ":method", value: "PUT", want: []byte{0x02, 3, 'P', 'U', 'T'}},
		{name: ":path", value: "/", want: []byte{0x84}},
		{name: ":scheme", value: "https", want: []byte{0x87}},
		{name: ":authority", value: "a", want: []byte{0x01, 1, 'a'}},
		// Index 31 does not fit the 4-bit prefix: 15, then 16.
		{name: "content-type", value: "text/plain", want: append([]byte{0x0f, 0x10, 10}, "text/plain"...)},
		{name: "Content-Type", value: "x", lower: true, want: []byte{0x0f, 0x10, 1, 'x'}, wantName: "content-type"},
		{name: "www-authenticate", value: "", want: []byte{0x0f, 0x2e, 0}},
		{name: "x-custom", value: "1", want: append(append([]byte{0x00, 8}, "x-custom"...), 1, '1')},
		{name: "X-Custom", value: "1", lower: true, wantName: "x-custom"},
		// A name longer than any static one, in upper case.
		{name: "X-A-Very-Long-Field-Name-Beyond-Static", value: "v", lower: true, wantName: "x-a-very-long-field-name-beyond-static"},
		// Lengths past the 7-bit prefix (127): multi-byte integers.
		{name: "x-long", value: long},
		{name: strings.Repeat("n", 200), value: long},
		{name: "date", value: "Mon, 07 Dec 2026 11:00:00 GMT"},
		{name: "set-cookie", value: "a=b; Path=/"},
	}
	for _, tc := range cases {
		b := appendField(nil, []byte(tc.name), []byte(tc.value), tc.lower)
		if tc.want != nil && !bytes.Equal(b, tc.want) {
			t.Errorf("%s: %s: got %x, want %x", tc.name, tc.value, b, tc.want)
		}
		fs := decodeBlock(t, b)
		wantName := tc.name
		if tc.wantName != "" {
			wantName = tc.wantName
		}
		if len(fs) != 1 || fs[0].Name != wantName || fs[0].Value != tc.value || fs[0].Sensitive {
			t.Errorf("%s: %s: decoded %+v", tc.name, tc.value, fs)
		}
	}
}

// TestEncodeKeepsNoTable: a second block decodes alone (nothing refers
// to a dynamic table entry), and the decoder's table stays empty.
func TestEncodeKeepsNoTable(t *testing.T) {
	var b []byte
	for range 3 {
		b = appendField(b, []byte("x-repeated"), []byte("same value"), false)
		b = appendField(b, []byte("server"), []byte("nginx"), false)
	}
	d := hpack.NewDecoder(4096, nil)
	fs, err := d.DecodeFull(b)
	if err != nil || len(fs) != 6 {
		t.Fatalf("decoded %d fields, %v", len(fs), err)
	}
	// A table entry would make indexes past the static table valid.
	if _, err := d.DecodeFull([]byte{0x80 | 62}); err == nil {
		t.Fatal("the decoder's dynamic table has an entry")
	}
}

func TestStaticNames(t *testing.T) {
	if len(staticTable) != 61 {
		t.Fatalf("%d static names", len(staticTable))
	}
	seen := 0
	for n, es := range staticByLen {
		for _, e := range es {
			if staticTable[e.index-1] != e.name || len(e.name) != n {
				t.Errorf("%s: index %d, length %d", e.name, e.index, n)
			}
			seen++
		}
	}
	if seen != 52 { // 61 entries, 52 names
		t.Errorf("%d names listed, want 52", seen)
	}
	// Each name's first index, against the decoder's own table.
	for i := 1; i <= 61; i++ {
		d := hpack.NewDecoder(4096, nil)
		fs, err := d.DecodeFull(appendInt(nil, 0x80, 7, uint64(i)))
		if err != nil || len(fs) != 1 {
			t.Fatalf("index %d: %v", i, err)
		}
		if got := staticName([]byte(fs[0].Name), false); staticTable[got-1] != fs[0].Name || got > i {
			t.Errorf("%s: index %d, static table has it at %d", fs[0].Name, got, i)
		}
		if p := staticPair([]byte(fs[0].Name), []byte(fs[0].Value)); p != 0 && p != i {
			t.Errorf("%s: %s: pair index %d, want %d", fs[0].Name, fs[0].Value, p, i)
		}
	}
}

// FuzzEncodeField: whatever the name and value, the block decodes to them
// (the name lowered), as one field.
func FuzzEncodeField(f *testing.F) {
	f.Add([]byte(":status"), []byte("200"), false)
	f.Add([]byte("Content-Length"), []byte("12"), true)
	f.Add([]byte("x"), bytes.Repeat([]byte{0xff}, 130), false)
	f.Fuzz(func(t *testing.T, name, value []byte, lower bool) {
		b := appendField(nil, name, value, lower)
		fs, err := hpack.NewDecoder(4096, nil).DecodeFull(b)
		if len(name) == 0 {
			return // the decoder refuses an empty name; lbd never writes one
		}
		if err != nil {
			t.Fatalf("%q: %q: %v", name, value, err)
		}
		want := string(name)
		if lower {
			want = string(appendLower(nil, name))
		}
		if len(fs) != 1 || fs[0].Name != want || fs[0].Value != string(value) {
			t.Fatalf("%q: %q: decoded %+v", name, value, fs)
		}
	})
}

func BenchmarkAppendField(b *testing.B) {
	fields := [][2][]byte{
		{[]byte(":status"), []byte("200")},
		{[]byte("Server"), []byte("nginx/1.22.1")},
		{[]byte("Date"), []byte("Mon, 07 Dec 2026 11:00:00 GMT")},
		{[]byte("Content-Type"), []byte("text/plain")},
		{[]byte("Content-Length"), []byte("12")},
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, f := range fields {
			buf = appendField(buf, f[0], f[1], true)
		}
	}
}

// BenchmarkXNetEncoder is BenchmarkAppendField with the general encoder
// lbd used before (no dynamic table, Huffman when shorter), for
// comparison.
func BenchmarkXNetEncoder(b *testing.B) {
	fields := []hpack.HeaderField{
		{Name: ":status", Value: "200"},
		{Name: "server", Value: "nginx/1.22.1"},
		{Name: "date", Value: "Mon, 07 Dec 2026 11:00:00 GMT"},
		{Name: "content-type", Value: "text/plain"},
		{Name: "content-length", Value: "12"},
	}
	var w blockWriter
	e := hpack.NewEncoder(&w)
	e.SetMaxDynamicTableSizeLimit(0)
	b.ReportAllocs()
	for b.Loop() {
		w.b = w.b[:0]
		for _, f := range fields {
			e.WriteField(f)
		}
	}
}
