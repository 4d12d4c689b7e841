package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// bodyPattern is the body of n bytes a test server sends for seed: no
// two nearby windows of it alike, so that a byte out of place shows.
func bodyPattern(n, seed int) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// patternBackend answers GET /len/N/S with N bytes of bodyPattern(N, S)
// and a Content-Length, GET /close/N/S with the same delimited by the
// end of the connection; it writes the body in pieces of odd sizes, so
// that the proxy's reads take every size.
func patternBackend(t *testing.T) string {
	return rawBackend(t, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		parts := strings.Split(req.URL.Path, "/")
		if len(parts) != 4 {
			return
		}
		n, _ := strconv.Atoi(parts[2])
		seed, _ := strconv.Atoi(parts[3])
		head := "HTTP/1.1 200 OK\r\nConnection: close\r\n"
		if parts[1] == "len" {
			head += "Content-Length: " + strconv.Itoa(n) + "\r\n"
		}
		c.Write([]byte(head + "\r\n"))
		body := bodyPattern(n, seed)
		for i, step := 0, 1000+seed*977; i < len(body); i += step {
			c.Write(body[i:min(i+step, len(body))])
		}
	})
}

// TestH2BodyInPlace: response bodies that go to HTTP/2 clients as DATA
// frames built in the buffer they were read into (writeFramed) arrive
// whole and in order, with Content-Length and delimited by the server's
// close, for several streams at once: with windows so small that every
// frame carries part of a read (the next frame's header then lies over
// bytes already sent), and with windows that take whole reads.
func TestH2BodyInPlace(t *testing.T) {
	srv := patternBackend(t)
	fe := freePort(t)
	newRig(t, h2cConfig, map[string]string{"fe": fe, "s1": srv, "s2": srv})
	for _, tc := range []struct {
		name   string
		window uint32 // the streams' initial window; the connection's is grown to match
		grant  int    // WINDOW_UPDATE granted per this many bytes received (0: none needed)
	}{
		{"small windows", 1000, 1},
		{"odd windows", 4093, 3001},
		{"large windows", 1 << 30, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp4", fe)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			bw := bufio.NewWriter(c)
			fr := http2.NewFramer(bw, bufio.NewReader(c))
			fr.ReadMetaHeaders = hpack.NewDecoder(65536, nil)
			bw.WriteString(http2.ClientPreface)
			fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: tc.window})
			if tc.grant == 0 {
				fr.WriteWindowUpdate(0, 1<<30)
			}
			var eb bytes.Buffer
			enc := hpack.NewEncoder(&eb)
			want := map[uint32][]byte{}
			for i := 0; i < 8; i++ {
				id := uint32(2*i + 1)
				kind := [2]string{"len", "close"}[i%2]
				n := 20000 + i*37000
				want[id] = bodyPattern(n, i)
				eb.Reset()
				for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "a"},
					{":path", fmt.Sprintf("/%s/%d/%d", kind, n, i)}} {
					enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
				}
				fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: eb.Bytes(), EndStream: true, EndHeaders: true})
			}
			bw.Flush()

			got := map[uint32][]byte{}
			owed := map[uint32]int{}
			connOwed := 0
			for done := 0; done < len(want); {
				f, err := fr.ReadFrame()
				if err != nil {
					t.Fatalf("after %d streams: %v", done, err)
				}
				switch f := f.(type) {
				case *http2.MetaHeadersFrame:
					if s := f.PseudoValue("status"); s != "200" {
						t.Fatalf("stream %d: status %q", f.StreamID, s)
					}
				case *http2.RSTStreamFrame:
					t.Fatalf("stream %d reset: %v", f.StreamID, f.ErrCode)
				case *http2.GoAwayFrame:
					t.Fatalf("GOAWAY %v", f.ErrCode)
				case *http2.DataFrame:
					id := f.StreamID
					got[id] = append(got[id], f.Data()...)
					if tc.grant > 0 {
						owed[id] += len(f.Data())
						connOwed += len(f.Data())
						if owed[id] >= tc.grant && !f.StreamEnded() {
							fr.WriteWindowUpdate(id, uint32(owed[id]))
							owed[id] = 0
						}
						if connOwed >= tc.grant {
							fr.WriteWindowUpdate(0, uint32(connOwed))
							connOwed = 0
						}
						bw.Flush()
					}
					if f.StreamEnded() {
						done++
						if !bytes.Equal(got[id], want[id]) {
							t.Fatalf("stream %d: %d bytes, want %d, first difference at %d", id, len(got[id]), len(want[id]), firstDiff(got[id], want[id]))
						}
					}
				}
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
