package logsink

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"lbd/config"
)

func target(t *testing.T, label string, mod func(*config.LogTarget)) config.LogTarget {
	t.Helper()
	addr, err := config.ParseLogTarget(label)
	if err != nil {
		t.Fatal(err)
	}
	lt := config.LogTarget{Target: label, Address: addr, Facility: "local0", Level: "info", MinLevel: "emerg", Format: "rfc3164", Len: 1024}
	if mod != nil {
		mod(&lt)
	}
	return lt
}

// TestFrame: the headers HAProxy 2.6 writes (captured from Debian's
// haproxy sending to a UDP socket), for the same time, tag and pid.
func TestFrame(t *testing.T) {
	now := time.Date(2026, 12, 6, 22, 9, 44, 185639000, time.UTC)
	msg := []byte(`127.0.0.1:53702 [06/Dec/2026:22:09:44.182] fe be/s1 0/0/1/1/2 200 565 - - --NI 1/1/0/0/0 0/0 "GET / HTTP/1.1"`)
	for _, tc := range []struct {
		format, facility string
		len              int
		want             string
	}{
		{"rfc3164", "local0", 1024, "<134>Dec  6 22:09:44 haproxy[11440]: " + string(msg) + "\n"},
		{"rfc5424", "local1", 1024, "<142>1 2026-12-06T22:09:44.185639+00:00 - haproxy 11440 - - " + string(msg) + "\n"},
		{"raw", "local0", 1024, string(msg) + "\n"},
		{"rfc3164", "local0", 80, ("<134>Dec  6 22:09:44 haproxy[11440]: " + string(msg))[:79] + "\n"},
	} {
		tg := &Target{cfg: config.LogTarget{Format: tc.format, Len: tc.len}, pri: config.FacilityCode(tc.facility) << 3, tag: "haproxy", pid: "11440"}
		if got := string(tg.frame(nil, 6, msg, now)); got != tc.want {
			t.Errorf("%s len %d:\n got  %q\n want %q", tc.format, tc.len, got, tc.want)
		}
	}
	// RFC 3164 pads a one-digit day with a blank, two digits fill it.
	tg := &Target{cfg: config.LogTarget{Format: "rfc3164", Len: 1024}, tag: "t", pid: "1"}
	if got := string(tg.frame(nil, 3, []byte("x"), time.Date(2026, 1, 16, 1, 2, 3, 0, time.UTC))); got != "<3>Jan 16 01:02:03 t[1]: x\n" {
		t.Errorf("two-digit day: %q", got)
	}
}

func readUDP(t *testing.T, c net.PacketConn, n int) []string {
	t.Helper()
	var out []string
	buf := make([]byte, 65536)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(out) < n {
		k, _, err := c.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d datagrams: %v", len(out), err)
		}
		out = append(out, string(buf[:k]))
	}
	return out
}

// TestDelivery: lines reach a UDP socket and a unix datagram socket (as
// rsyslog's imudp and /dev/log), with the process logs at their levels.
func TestDelivery(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	sock := filepath.Join(t.TempDir(), "log.sock")
	unix, err := net.ListenPacket("unixgram", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close()

	s := NewSet()
	defer s.Close()
	s.Apply(config.Global{LogTag: "lbd", Logs: []*config.LogTarget{
		ptr(target(t, "udp@"+udp.LocalAddr().String(), func(l *config.LogTarget) { l.Level = "debug" })),
		ptr(target(t, sock, func(l *config.LogTarget) { l.Format = "rfc5424"; l.Level = "warning" })),
	}})
	log := zerolog.New(zerolog.MultiLevelWriter(s))
	log.Info().Str("component", "x").Msg("started")
	log.Warn().Msg("server DOWN")
	s.Access([]byte("an access line"))

	got := readUDP(t, udp, 3)
	pid := "[" + itoa(os.Getpid()) + "]: "
	for i, want := range []string{`<134>`, `<132>`, `<134>`} {
		if !strings.HasPrefix(got[i], want) || !strings.Contains(got[i], " lbd"+pid) || !strings.HasSuffix(got[i], "\n") {
			t.Errorf("udp datagram %d: %q, want PRI %s and tag lbd%s", i, got[i], want, pid)
		}
	}
	if !strings.HasSuffix(got[0], `{"level":"info","component":"x","message":"started"}`+"\n") || !strings.HasSuffix(got[2], "]: an access line\n") {
		t.Errorf("udp messages: %q", got)
	}
	// The unix target takes warning and more severe: one line.
	gotUnix := readUDP(t, unix, 1)
	if !strings.HasPrefix(gotUnix[0], "<132>1 ") || !strings.Contains(gotUnix[0], " - lbd "+itoa(os.Getpid())+" - - ") || !strings.Contains(gotUnix[0], "server DOWN") {
		t.Errorf("unix datagram: %q", gotUnix[0])
	}
	unix.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, _, err := unix.ReadFrom(make([]byte, 100)); err == nil {
		t.Error("the unix target got a line below its level")
	}
	st := s.Stats()
	if st[0].Sent != 3 || st[1].Sent != 1 || st[0].Dropped+st[1].Dropped != 0 {
		t.Errorf("stats: %+v", st)
	}
}

func ptr[T any](v T) *T { return &v }

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

// TestNeverBlocks: a receiver that never reads (its socket buffer fills)
// or that is gone costs the sender nothing: lines are dropped and counted.
// When the receiver comes back, lines flow again.
func TestNeverBlocks(t *testing.T) {
	dir := t.TempDir()
	stuck := filepath.Join(dir, "stuck.sock")
	l, err := net.ListenPacket("unixgram", stuck)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	gone := filepath.Join(dir, "gone.sock")

	s := NewSet()
	defer s.Close()
	s.Apply(config.Global{LogTag: "lbd", Logs: []*config.LogTarget{ptr(target(t, stuck, nil)), ptr(target(t, gone, nil))}})
	line := bytes.Repeat([]byte("x"), 500)
	start := time.Now()
	const n = 100000
	for i := 0; i < n; i++ {
		s.Access(line)
	}
	// Generous: 100,000 non-blocking sends take milliseconds; a blocking
	// one would wait for a reader that never comes.
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("%d sends took %s", n, d)
	}
	st := s.Stats()
	if st[0].Dropped == 0 || st[0].Sent == 0 {
		t.Errorf("stuck receiver: %+v, want lines sent until its buffer filled, then dropped", st[0])
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats()[1].Dropped != n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.Stats()[1]; st.Dropped != n || st.Sent != 0 {
		t.Errorf("gone receiver: %+v, want all %d dropped", st, n)
	}

	// The receiver appears: within the redial delay lines arrive.
	back, err := net.ListenPacket("unixgram", gone)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	deadline = time.Now().Add(10 * time.Second)
	for s.Stats()[1].Sent == 0 && time.Now().Before(deadline) {
		s.Access([]byte("hello again"))
		time.Sleep(50 * time.Millisecond)
	}
	if got := readUDP(t, back, 1)[0]; !strings.HasSuffix(got, "]: hello again\n") {
		t.Errorf("after the receiver came back: %q", got)
	}
}

// TestApply: a reload keeps unchanged targets (socket and queue) and
// stops the ones it removes.
func TestApply(t *testing.T) {
	s := NewSet()
	defer s.Close()
	a, b := ptr(target(t, "127.0.0.1:9", nil)), ptr(target(t, "127.0.0.2:9", nil))
	s.Apply(config.Global{LogTag: "lbd", Logs: []*config.LogTarget{a, b}})
	first := s.Targets()
	c := ptr(target(t, "127.0.0.1:9", func(l *config.LogTarget) { l.Facility = "local3" }))
	s.Apply(config.Global{LogTag: "lbd", Logs: []*config.LogTarget{a, c}})
	second := s.Targets()
	if second[0] != first[0] {
		t.Error("an unchanged target was replaced")
	}
	if second[1] == first[1] {
		t.Error("a changed target was kept")
	}
	select {
	case <-first[1].done:
	case <-time.After(5 * time.Second):
		t.Error("a removed target still runs")
	}
	s.Apply(config.Global{LogTag: "other", Logs: []*config.LogTarget{a}})
	if s.Targets()[0] == first[0] {
		t.Error("a new log_tag kept the old target")
	}
	if len(s.Stats()) != 1 {
		t.Errorf("stats after reload: %+v", s.Stats())
	}
}

// TestStreamsTakeNoProcessLogs: stdout/stderr targets carry access logs,
// not the process logs (which are on stderr already).
func TestStreamsTakeNoProcessLogs(t *testing.T) {
	s := NewSet()
	defer s.Close()
	s.Apply(config.Global{LogTag: "lbd", Logs: []*config.LogTarget{ptr(target(t, "stdout", func(l *config.LogTarget) { l.Format = "raw" }))}})
	s.WriteLevel(zerolog.ErrorLevel, []byte("{}\n"))
	time.Sleep(50 * time.Millisecond)
	if st := s.Stats()[0]; st.Sent != 0 || st.Dropped != 0 {
		t.Errorf("stdout target took a process line: %+v", st)
	}
}

func TestSendNoAlloc(t *testing.T) {
	s := NewSet()
	defer s.Close()
	s.Apply(config.Global{LogTag: "lbd", Logs: []*config.LogTarget{ptr(target(t, "127.0.0.1:9", nil))}})
	line := []byte("127.0.0.1:53702 [06/Dec/2026:22:09:44.182] fe be/s1 0/0/1/1/2 200 565 - - --NI 1/1/0/0/0 0/0")
	for i := 0; i < 1000; i++ { // warm the pool
		s.Access(line)
	}
	time.Sleep(100 * time.Millisecond)
	if n := testing.AllocsPerRun(1000, func() { s.Access(line) }); n > 0.01 {
		t.Errorf("%v allocations per line", n)
	}
}

// TestAccessWithoutTargets: text access lines go to stderr while no target
// is configured (and log_level lets info through), to the targets only
// once there are.
func TestAccessWithoutTargets(t *testing.T) {
	var stderr bytes.Buffer
	s := NewSet()
	defer s.Close()
	s.SetStderr(&stderr)
	s.Access([]byte("one"))
	old := zerolog.GlobalLevel()
	zerolog.SetGlobalLevel(zerolog.WarnLevel)
	s.Access([]byte("quiet"))
	zerolog.SetGlobalLevel(old)
	if stderr.String() != "one\n" {
		t.Errorf("stderr: %q, want the line written before log_level = warn only", stderr.String())
	}
	recv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	s.Apply(config.Global{LogTag: "lbd", Logs: []*config.LogTarget{ptr(target(t, "udp@"+recv.LocalAddr().String(), nil))}})
	s.Access([]byte("two"))
	if got := readUDP(t, recv, 1)[0]; !strings.HasSuffix(got, "]: two\n") {
		t.Errorf("udp: %q", got)
	}
	if stderr.String() != "one\n" {
		t.Errorf("stderr got a line while a target exists: %q", stderr.String())
	}
}
