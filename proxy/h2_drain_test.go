package proxy

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestH2GoAwayOnStop: stopping lbd sends an HTTP/2 client GOAWAY (NO_ERROR,
// naming the last stream it took) while a stream is in progress; that
// stream still gets its whole response, a stream the client opens after
// the GOAWAY never reaches a server, and then the connection closes
// (RFC 9113 §6.8).
func TestH2GoAwayOnStop(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	s1 := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		if r.URL.Path == "/slow" {
			<-release
		}
		w.Write([]byte(strings.Repeat("z", 5000)))
	})
	fe := freePort(t)
	r := newRig(t, h2cConfig, map[string]string{"fe": fe, "s1": hostport(s1), "s2": hostport(s1)})
	h := dialH2(t, fe)
	h.headers(1, true, ":method: GET", ":scheme: http", ":path: /slow", ":authority: a")
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the server")
	}

	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- r.e.Shutdown(ctx)
	}()
	f := h.until(5*time.Second, isGoAway(http2.ErrCodeNo))
	if f == nil {
		t.Fatal("no GOAWAY(NO_ERROR) while stopping")
	}
	if g := f.(*http2.GoAwayFrame); g.LastStreamID != 1 {
		t.Fatalf("GOAWAY last stream %d, want 1 (the stream in progress)", g.LastStreamID)
	}
	// A new stream after the GOAWAY is not processed.
	h.headers(3, true, ":method: GET", ":scheme: http", ":path: /late", ":authority: a")
	time.Sleep(200 * time.Millisecond)
	select {
	case <-stopped:
		t.Fatal("stopped with a stream in progress")
	default:
	}
	close(release)

	var data int
	var status string
	var ended bool
	for !ended {
		select {
		case f, ok := <-h.frames:
			if !ok {
				t.Fatalf("connection closed before stream 1 ended (status %q, %d bytes)", status, data)
			}
			switch f := f.(type) {
			case *http2.MetaHeadersFrame:
				if f.StreamID == 1 {
					status = f.PseudoValue("status")
					ended = f.StreamEnded()
				}
				if f.StreamID == 3 {
					t.Fatalf("stream 3, opened after GOAWAY, was answered: %s", f.PseudoValue("status"))
				}
			case *http2.DataFrame:
				if f.StreamID == 1 {
					data += int(f.Length)
					ended = f.StreamEnded()
				}
			case *http2.RSTStreamFrame:
				if f.StreamID == 1 {
					t.Fatalf("stream 1 reset: %v", f.ErrCode)
				}
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("stream 1 did not finish (status %q, %d bytes)", status, data)
		}
	}
	if status != "200" || data != 5000 {
		t.Fatalf("stream 1: status %q, %d bytes, want 200 and 5000", status, data)
	}
	closed := time.After(5 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-h.frames:
		case <-closed:
			t.Fatal("the connection stayed open after its last stream")
		}
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return once the stream ended")
	}
	if n := len(started); n != 0 {
		t.Fatalf("%d requests reached the server after GOAWAY", n)
	}
}

// TestH2ReloadNewStreams: a reload keeps HTTP/2 connections open; a
// stream in progress finishes with the old configuration, and the next
// stream on the same connection takes the new one.
func TestH2ReloadNewStreams(t *testing.T) {
	release := make(chan struct{})
	s1 := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		w.Header().Set("X-Server", "s1")
	})
	s2 := backendServer(t, "s2", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Server", "s2") })
	fe := freePort(t)
	vars := map[string]string{"fe": fe, "s1": hostport(s1), "s2": hostport(s2)}
	r := newRig(t, h2cConfig, vars)
	h := dialH2(t, fe)
	server := func(id uint32) string {
		t.Helper()
		f := h.until(5*time.Second, func(f http2.Frame) bool {
			m, ok := f.(*http2.MetaHeadersFrame)
			return ok && m.StreamID == id
		})
		if f == nil {
			t.Fatalf("no response on stream %d", id)
		}
		m := f.(*http2.MetaHeadersFrame)
		for _, hf := range m.RegularFields() {
			if hf.Name == "x-server" {
				return hf.Value
			}
		}
		return "?"
	}
	h.headers(1, true, ":method: GET", ":scheme: http", ":path: /a", ":authority: a")
	if got := server(1); got != "s1" {
		t.Fatalf("before reload: served by %s, want s1", got)
	}
	h.headers(3, true, ":method: GET", ":scheme: http", ":path: /slow", ":authority: a")
	time.Sleep(100 * time.Millisecond)
	// The new configuration sends everything to s2.
	if err := r.apply(strings.Replace(h2cConfig, `default_backend = "app"`, `default_backend = "api"`, 1), vars); err != nil {
		t.Fatal(err)
	}
	h.headers(5, true, ":method: GET", ":scheme: http", ":path: /b", ":authority: a")
	if got := server(5); got != "s2" {
		t.Fatalf("after reload: new stream served by %s, want s2", got)
	}
	close(release)
	if got := server(3); got != "s1" {
		t.Fatalf("stream in progress at the reload served by %s, want s1", got)
	}
	if f := h.until(300*time.Millisecond, func(f http2.Frame) bool { _, ok := f.(*http2.GoAwayFrame); return ok }); f != nil {
		t.Fatalf("GOAWAY on reload: %v", f)
	}
}
