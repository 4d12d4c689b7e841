// Package handoff is the protocol of a seamless binary upgrade, between
// the running lbd (the predecessor) and the one it starts from the binary
// now installed (the successor). HAProxy passes its listening sockets to
// a new process (-x, master-worker) so that an upgrade refuses no
// connection; keepalived cannot hand VRRP over at all. lbd hands over
// everything a restart would lose:
//
//  1. The predecessor starts the successor with the listening sockets
//     (frontends, the stats page, the admin socket) as inherited
//     descriptors and, on a socket pair, the State: which descriptor is
//     which address, the runtime state of the servers (check state and
//     history, drained and maintenance servers, runtime weights) and the
//     stick tables' entries.
//  2. The successor loads the configuration, serves on the inherited
//     sockets (both processes accept for a moment: the kernel gives each
//     queued connection to one of them) and says Ready. Anything that
//     fails before is reported (Failed) and the predecessor carries on
//     alone.
//  3. The predecessor stops its VRRP instances without a word to the
//     peer (no priority-0 advert, the VIPs stay on the interface) and
//     sends their state; the successor resumes them in that state, a
//     master sending its next advert at once, so the peer never misses
//     one and the VIP never moves. The successor says Done.
//  4. The predecessor tells systemd the successor is the main process
//     now (MAINPID=), stops accepting, finishes its connections within
//     global.grace and exits.
//
// The messages are JSON lines on the socket pair, whose end the successor
// finds at the descriptor named by EnvFD.
package handoff

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"lbd/health"
	"lbd/sticktable"
	"lbd/vrrp"
)

// EnvFD names the environment variable that tells a successor it is one,
// and the descriptor of its end of the socket pair.
const EnvFD = "LBD_HANDOFF_FD"

// State is what the predecessor hands over at start.
type State struct {
	// Version of the predecessor, for the log.
	Version string `json:"version"`
	// Sockets are the inherited listening sockets.
	Sockets []Socket `json:"sockets"`
	// Servers is the pool's runtime state (health.Pool.Handoff).
	Servers []health.ServerHandoff `json:"servers"`
	// Tables are the stick tables' entries, restored by the successor
	// before it serves.
	Tables []sticktable.Snapshot `json:"tables,omitempty"`
}

// Socket names one inherited descriptor.
type Socket struct {
	Kind string `json:"kind"` // "frontend", "stats", "admin" or "peer_api"
	Addr string `json:"addr"` // bind address, or the admin socket's path
	FD   int    `json:"fd"`   // descriptor number in the successor
}

// Socket kinds.
const (
	KindFrontend = "frontend"
	KindStats    = "stats"
	KindAdmin    = "admin"
	KindPeerAPI  = "peer_api"
)

// message is one line on the socket pair.
type message struct {
	Type  string                 `json:"type"`
	Error string                 `json:"error,omitempty"`
	State *State                 `json:"state,omitempty"`
	VRRP  []vrrp.InstanceHandoff `json:"vrrp,omitempty"`
}

const (
	msgState  = "state"
	msgReady  = "ready"
	msgFailed = "failed"
	msgVRRP   = "vrrp"
	msgDone   = "done"
)

// conn is one end of the socket pair.
type conn struct {
	c   *net.UnixConn
	enc *json.Encoder
	dec *json.Decoder
}

func newConn(c *net.UnixConn) *conn {
	return &conn{c: c, enc: json.NewEncoder(c), dec: json.NewDecoder(c)}
}

func (c *conn) send(m message) error {
	c.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.enc.Encode(m)
}

// recv waits up to d for a message of type want; a "failed" message is
// returned as an error.
func (c *conn) recv(want string, d time.Duration) (message, error) {
	c.c.SetReadDeadline(time.Now().Add(d))
	var m message
	if err := c.dec.Decode(&m); err != nil {
		return m, fmt.Errorf("waiting for %q: %w", want, err)
	}
	if m.Type == msgFailed {
		return m, errors.New(m.Error)
	}
	if m.Type != want {
		return m, fmt.Errorf("got %q, waiting for %q", m.Type, want)
	}
	return m, nil
}

// Successor is the process a predecessor started.
type Successor struct {
	cmd  *exec.Cmd
	c    *conn
	exit chan error
}

// Start runs bin with args as the successor, passing it files (each
// socket of st.Sockets is files[i], and its FD field is set here) and st.
// Its standard output and error are the predecessor's.
func Start(bin string, args []string, st *State, files []*os.File) (*Successor, error) {
	if len(files) != len(st.Sockets) {
		return nil, fmt.Errorf("handoff: %d sockets, %d descriptors", len(st.Sockets), len(files))
	}
	fds, err := socketPair()
	if err != nil {
		return nil, err
	}
	ours, theirs := fds[0], fds[1]
	defer theirs.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	// ExtraFiles[i] is descriptor 3+i in the successor.
	cmd.ExtraFiles = append([]*os.File{theirs}, files...)
	// The successor pings systemd's watchdog once it is the main process:
	// WATCHDOG_PID names this one, so it goes (sd_watchdog_enabled then
	// does not check the pid).
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WATCHDOG_PID=") && !strings.HasPrefix(kv, EnvFD+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, EnvFD+"=3")
	for i := range st.Sockets {
		st.Sockets[i].FD = 4 + i
	}
	c, err := fileConn(ours)
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		c.c.Close()
		return nil, fmt.Errorf("handoff: starting %s: %w", bin, err)
	}
	s := &Successor{cmd: cmd, c: c, exit: make(chan error, 1)}
	go func() { s.exit <- cmd.Wait() }()
	if err := c.send(message{Type: msgState, State: st}); err != nil {
		s.Abort()
		return nil, fmt.Errorf("handoff: sending the state: %w", err)
	}
	return s, nil
}

// Pid is the successor's process id.
func (s *Successor) Pid() int { return s.cmd.Process.Pid }

// WaitReady waits until the successor serves on the inherited sockets, or
// fails, or exits, or d passes.
func (s *Successor) WaitReady(d time.Duration) error {
	_, err := s.c.recv(msgReady, d)
	return s.why(err)
}

// SendVRRP hands the VRRP instances over and waits until the successor
// runs them.
func (s *Successor) SendVRRP(v []vrrp.InstanceHandoff, d time.Duration) error {
	if err := s.c.send(message{Type: msgVRRP, VRRP: v}); err != nil {
		return s.why(err)
	}
	_, err := s.c.recv(msgDone, d)
	return s.why(err)
}

// why prefers the successor's exit status to a closed socket.
func (s *Successor) why(err error) error {
	if err == nil {
		return nil
	}
	select {
	case werr := <-s.exit:
		s.exit <- werr
		return fmt.Errorf("the new process exited (%v): %w", werr, err)
	case <-time.After(100 * time.Millisecond):
	}
	return err
}

// Abort kills a successor that failed, and reaps it.
func (s *Successor) Abort() {
	s.cmd.Process.Kill()
	<-s.exit
	s.c.c.Close()
}

// Release closes the predecessor's end once the handoff is over: the
// successor runs on its own.
func (s *Successor) Release() { s.c.c.Close() }

// Predecessor is, in a successor, the process that started it.
type Predecessor struct {
	c *conn
	// State is what the predecessor handed over.
	State *State
}

// FromEnv returns the predecessor when this process is a successor, nil
// otherwise.
func FromEnv() (*Predecessor, error) {
	v := os.Getenv(EnvFD)
	if v == "" {
		return nil, nil
	}
	os.Unsetenv(EnvFD)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("handoff: %s=%q is not a descriptor", EnvFD, v)
	}
	c, err := fileConn(os.NewFile(uintptr(fd), "handoff"))
	if err != nil {
		return nil, err
	}
	m, err := c.recv(msgState, 10*time.Second)
	if err != nil {
		c.c.Close()
		return nil, fmt.Errorf("handoff: %w", err)
	}
	if m.State == nil {
		c.c.Close()
		return nil, errors.New("handoff: no state")
	}
	return &Predecessor{c: c, State: m.State}, nil
}

// Files returns the inherited sockets of a kind, by address.
func (p *Predecessor) Files(kind string) map[string]*os.File {
	files := map[string]*os.File{}
	for _, s := range p.State.Sockets {
		if s.Kind == kind {
			files[s.Addr] = os.NewFile(uintptr(s.FD), kind+" "+s.Addr)
		}
	}
	return files
}

// Ready tells the predecessor the successor serves, and waits for the
// VRRP instances it hands over in return.
func (p *Predecessor) Ready(d time.Duration) ([]vrrp.InstanceHandoff, error) {
	if err := p.c.send(message{Type: msgReady}); err != nil {
		return nil, err
	}
	m, err := p.c.recv(msgVRRP, d)
	return m.VRRP, err
}

// Failed tells the predecessor the successor cannot run, and why.
func (p *Predecessor) Failed(err error) {
	p.c.send(message{Type: msgFailed, Error: err.Error()})
	p.c.c.Close()
}

// Done tells the predecessor the successor runs everything: it may go.
func (p *Predecessor) Done() error {
	err := p.c.send(message{Type: msgDone})
	p.c.c.Close()
	return err
}
