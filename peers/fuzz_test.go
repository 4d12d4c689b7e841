package peers

import (
	"bytes"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/sticktable"
)

// FuzzFrames feeds the receiving side what the network could carry after
// a valid handshake: frames with right or wrong tags, any payload. It
// must refuse or apply, never panic.
func FuzzFrames(f *testing.F) {
	s := &session{key: []byte("k")}
	f.Add(s.appendFrame(nil, []byte{tHeartbeat}))
	f.Add(s.appendFrame(nil, []byte{tEntries, 3, 'w', 'e', 'b', 6, 'i', 'p', ',', 'x', 'y', 'z', 4, 192, 0, 2, 1, 0, 0, 0, 0}))
	f.Add(s.appendFrame(nil, []byte{tSynced, 0, 0, 0, 0, 0, 0, 0, 1}))
	f.Add([]byte{0, 0, 0, 1, 9})
	tb, _ := sticktable.New(sticktable.Spec{Name: "web", Kind: sticktable.IP, Size: 16, Expire: time.Minute, Peers: "p",
		Store: []sticktable.Store{{Counter: sticktable.HTTPReqCnt}}})
	l := &Link{log: zerolog.Nop(), tables: func() []*sticktable.Table { return []*sticktable.Table{tb} }}
	f.Fuzz(func(t *testing.T, b []byte) {
		rs := &session{key: []byte("k")}
		r := bytes.NewReader(b)
		for {
			p, err := rs.readFrame(r, nil)
			if err != nil {
				return
			}
			if p[0] == tEntries {
				_, _ = l.apply(p[1:])
			}
		}
	})
}
