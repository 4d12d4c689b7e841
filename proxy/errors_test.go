package proxy

import (
	"bytes"
	"strconv"
	"testing"

	"lbd/config"
)

// TestErrorPagesCoverErrorStatuses: every status an error_file may replace
// (config.ErrorStatuses, what lbd answers with itself) has a built-in page
// of its own, and an error_file replaces exactly its status.
func TestErrorPagesCoverErrorStatuses(t *testing.T) {
	custom := []byte("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbusy")
	p := errorPages{503: custom}
	for _, st := range config.ErrorStatuses {
		b, ok := builtinErrors[st]
		if !ok {
			t.Errorf("no built-in page for %d", st)
			continue
		}
		if !bytes.HasPrefix(b, []byte("HTTP/1.1 "+strconv.Itoa(st)+" ")) {
			t.Errorf("built-in page for %d starts %q", st, b[:20])
		}
		want := b
		if st == 503 {
			want = custom
		}
		if got := p.page(st); !bytes.Equal(got, want) {
			t.Errorf("page(%d) = %q", st, got[:20])
		}
	}
}
