package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"lbd/config"
	"lbd/peerapi"
	"lbd/vrrp"
)

// One command for both nodes: with a peer_api block, each node serves a
// part of its admin API to the other over TCP (signed with the pair's
// shared secret, package peerapi), and the admin socket's /v1/pair/...
// endpoints answer for both nodes at once: `lbctl pair vip status` shows
// both side by side, `lbctl pair server state` drains on both, `lbctl pair
// reload` reloads the backup first, then the master, and `lbctl pair
// drift` compares the two configuration files.

// PairController is what a Controller offers for the pair endpoints (the
// appliance does; without it they answer 501).
type PairController interface {
	// PeerAPI is the running configuration's peer_api block, or nil.
	PeerAPI() *config.PeerAPI
	// ConfigFingerprint is the running configuration as compared between
	// the nodes (config.Fingerprint).
	ConfigFingerprint() (map[string]string, error)
}

// peerTimeout bounds one call to the other node (a reload included).
const peerTimeout = 30 * time.Second

// PeerServer serves the peer API on peer_api.bind.
type PeerServer struct {
	log zerolog.Logger
	ctl Controller

	mu   sync.Mutex
	cfg  *config.PeerAPI
	ln   net.Listener
	srv  *http.Server
	sec  *secretHolder
	inh  *os.File // handed over by a predecessor, for inhBind
	inhB string
}

// secretHolder lets a reload change the secret under a running server.
type secretHolder struct {
	mu  sync.RWMutex
	sec []byte
}

// NewPeerServer returns a server that listens once Apply gets a peer_api
// block.
func NewPeerServer(log zerolog.Logger, ctl Controller) *PeerServer {
	return &PeerServer{log: log, ctl: ctl, sec: &secretHolder{}}
}

// peerRoutes is what the other node may call: reading the state, the
// operator's changes to servers, a reload, and the configuration's
// fingerprint. Not release, upgrade or the pair endpoints themselves.
func peerRoutes(s *Server) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/info", s.info)
	mux.HandleFunc("GET /v1/backends", s.backends)
	mux.HandleFunc("GET /v1/backends/{backend}", s.backends)
	mux.HandleFunc("POST /v1/servers/{backend}/{server}/state", s.serverState)
	mux.HandleFunc("POST /v1/servers/{backend}/{server}/weight", s.serverWeight)
	mux.HandleFunc("GET /v1/vips", s.vips)
	mux.HandleFunc("POST /v1/reload", s.reload)
	mux.HandleFunc("GET /v1/config/fingerprint", s.fingerprint)
	return mux
}

// Apply starts, moves or stops the peer API for cfg (nil: none). A reload
// that keeps the bind keeps the socket; a new secret applies at once.
func (p *PeerServer) Apply(cfg *config.PeerAPI) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cfg != nil {
		p.sec.mu.Lock()
		p.sec.sec = cfg.Secret
		p.sec.mu.Unlock()
	}
	if cfg != nil && p.cfg != nil && cfg.Bind == p.cfg.Bind {
		p.cfg = cfg
		return nil
	}
	var ln net.Listener
	if cfg != nil {
		var err error
		if ln, err = p.listen(cfg.Bind); err != nil {
			return fmt.Errorf("peer_api: %w", err)
		}
	}
	p.closeLocked()
	p.cfg, p.ln = cfg, ln
	if cfg == nil {
		return nil
	}
	inner := &Server{log: p.log, ctl: p.ctl}
	routes := peerRoutes(inner)
	p.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.sec.mu.RLock()
			sec := p.sec.sec
			p.sec.mu.RUnlock()
			peerapi.Handler(sec, routes).ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       30 * time.Second,
	}
	go func(srv *http.Server, ln net.Listener) {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error().Err(err).Msg("peer API stopped")
		}
	}(p.srv, ln)
	p.log.Info().Str("bind", cfg.Bind).Str("peer", cfg.Peer).Msg("peer API listening")
	return nil
}

func (p *PeerServer) listen(bind string) (net.Listener, error) {
	if f := p.inh; f != nil {
		p.inh = nil
		if bind == p.inhB {
			ln, err := net.FileListener(f)
			f.Close()
			return ln, err
		}
		f.Close()
	}
	return listenFreebind(bind)
}

// Close stops the peer API.
func (p *PeerServer) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeLocked()
}

func (p *PeerServer) closeLocked() {
	if p.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		_ = p.srv.Close()
	}
	_ = p.ln.Close()
	p.srv, p.ln = nil, nil
}

// File returns a duplicate of the listening socket and its bind, for a
// successor process (nil when not listening).
func (p *PeerServer) File() (*os.File, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		return nil, "", nil
	}
	tl, ok := p.ln.(*net.TCPListener)
	if !ok {
		return nil, "", fmt.Errorf("peer API listener is not TCP")
	}
	f, err := tl.File()
	return f, p.cfg.Bind, err
}

// Inherit gives the server the socket a predecessor handed over for bind.
func (p *PeerServer) Inherit(bind string, f *os.File) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inh, p.inhB = f, bind
}

func (s *Server) fingerprint(w http.ResponseWriter, r *http.Request) {
	pc, ok := s.ctl.(PairController)
	if !ok {
		writeError(w, http.StatusNotImplemented, errors.New("no configuration fingerprint here"))
		return
	}
	fp, err := pc.ConfigFingerprint()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, fp)
}

// --- the pair endpoints of the admin socket ------------------------------

// PairNode is one node's part of a pair answer.
type PairNode struct {
	Node  string          `json:"node"` // "local" or "peer"
	Addr  string          `json:"addr"` // the node's peer_api bind
	Error string          `json:"error,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
	// Status is the HTTP status of the node's answer (changes, reload).
	Status int `json:"status,omitempty"`
}

// PairResult is the answer of the pair endpoints: both nodes' answers,
// and for status calls the configuration drift between them.
type PairResult struct {
	Nodes []PairNode `json:"nodes"`
	Drift []string   `json:"drift,omitempty"`
	// DriftError says why the drift could not be computed.
	DriftError string `json:"drift_error,omitempty"`
}

// pairRoutes adds the /v1/pair/ endpoints.
func (s *Server) pairRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/pair/vips", s.pairGet("/v1/vips", true))
	mux.HandleFunc("GET /v1/pair/backends", s.pairGet("/v1/backends", true))
	mux.HandleFunc("GET /v1/pair/backends/{backend}", func(w http.ResponseWriter, r *http.Request) {
		s.pairGet("/v1/backends/"+r.PathValue("backend"), true)(w, r)
	})
	mux.HandleFunc("GET /v1/pair/drift", s.pairDrift)
	mux.HandleFunc("POST /v1/pair/servers/{backend}/{server}/{what}", s.pairServer)
	mux.HandleFunc("POST /v1/pair/reload", s.pairReload)
}

// pair returns the peer API settings and a client for the other node,
// or writes why there is none.
func (s *Server) pair(w http.ResponseWriter) (*config.PeerAPI, *peerapi.Client, PairController, bool) {
	pc, ok := s.ctl.(PairController)
	if !ok {
		writeError(w, http.StatusNotImplemented, errors.New("pair commands are not available here"))
		return nil, nil, nil, false
	}
	cfg := pc.PeerAPI()
	if cfg == nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("%w: no peer_api block in the configuration: the pair commands need one on both nodes", ErrNotFound))
		return nil, nil, nil, false
	}
	return cfg, peerapi.NewClient(cfg.Peer, cfg.Secret, peerTimeout), pc, true
}

// local runs one request against this node's own API, as the peer would.
func (s *Server) local(method, path string, body []byte) (int, []byte) {
	rec := &responseBuffer{header: http.Header{}, status: http.StatusOK}
	req, _ := http.NewRequest(method, "http://lbd"+path, bytes.NewReader(body))
	peerRoutes(s).ServeHTTP(rec, req)
	return rec.status, rec.body.Bytes()
}

type responseBuffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *responseBuffer) Header() http.Header         { return r.header }
func (r *responseBuffer) WriteHeader(status int)      { r.status = status }
func (r *responseBuffer) Write(b []byte) (int, error) { return r.body.Write(b) }

// both runs a request on this node and on the peer.
func (s *Server) both(cfg *config.PeerAPI, peer *peerapi.Client, method, path string, body []byte) []PairNode {
	lst, lb := s.local(method, path, body)
	nodes := []PairNode{{Node: "local", Addr: cfg.Bind, Status: lst, Data: jsonOrNil(lb)}}
	nodes = append(nodes, s.remote(peer, method, path, body))
	return nodes
}

func (s *Server) remote(peer *peerapi.Client, method, path string, body []byte) PairNode {
	n := PairNode{Node: "peer", Addr: peer.Addr()}
	st, b, err := peer.Do(method, path, body)
	if err != nil {
		n.Error = err.Error()
		return n
	}
	n.Status, n.Data = st, jsonOrNil(b)
	return n
}

func jsonOrNil(b []byte) json.RawMessage {
	if json.Valid(b) {
		return b
	}
	q, _ := json.Marshal(string(b))
	return q
}

func (s *Server) pairGet(path string, withDrift bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cfg, peer, pc, ok := s.pair(w)
		if !ok {
			return
		}
		res := PairResult{Nodes: s.both(cfg, peer, http.MethodGet, path, nil)}
		if withDrift {
			res.Drift, res.DriftError = s.drift(pc, peer)
		}
		writeJSON(w, http.StatusOK, res)
	}
}

// drift compares this node's configuration with the peer's.
func (s *Server) drift(pc PairController, peer *peerapi.Client) ([]string, string) {
	local, err := pc.ConfigFingerprint()
	if err != nil {
		return nil, err.Error()
	}
	st, b, err := peer.Do(http.MethodGet, "/v1/config/fingerprint", nil)
	if err != nil {
		return nil, err.Error()
	}
	var remote map[string]string
	if st != http.StatusOK || json.Unmarshal(b, &remote) != nil {
		return nil, fmt.Sprintf("the peer answered %d %s", st, bytes.TrimSpace(b))
	}
	return config.Drift(local, remote), ""
}

func (s *Server) pairDrift(w http.ResponseWriter, r *http.Request) {
	_, peer, pc, ok := s.pair(w)
	if !ok {
		return
	}
	var res PairResult
	res.Drift, res.DriftError = s.drift(pc, peer)
	writeJSON(w, http.StatusOK, res)
}

// pairServer sets a server's state or weight on both nodes.
func (s *Server) pairServer(w http.ResponseWriter, r *http.Request) {
	cfg, peer, _, ok := s.pair(w)
	if !ok {
		return
	}
	what := r.PathValue("what")
	if what != "state" && what != "weight" {
		writeError(w, http.StatusNotFound, fmt.Errorf("no such endpoint: %s %s", r.Method, r.URL.Path))
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	path := fmt.Sprintf("/v1/servers/%s/%s/%s", r.PathValue("backend"), r.PathValue("server"), what)
	writeJSON(w, http.StatusOK, PairResult{Nodes: s.both(cfg, peer, http.MethodPost, path, body)})
}

// pairReload reloads the backup first, then the master, each checked:
// if the first refuses its file or fails, the second is not reloaded.
func (s *Server) pairReload(w http.ResponseWriter, r *http.Request) {
	cfg, peer, _, ok := s.pair(w)
	if !ok {
		return
	}
	localFirst := !s.isMaster()
	run := func(local bool) PairNode {
		if local {
			st, b := s.local(http.MethodPost, "/v1/reload", nil)
			return PairNode{Node: "local", Addr: cfg.Bind, Status: st, Data: jsonOrNil(b)}
		}
		return s.remote(peer, http.MethodPost, "/v1/reload", nil)
	}
	first := run(localFirst)
	res := PairResult{Nodes: []PairNode{first}}
	if first.Error != "" || first.Status != http.StatusOK {
		writeJSON(w, http.StatusOK, res) // the second keeps its configuration
		return
	}
	res.Nodes = append(res.Nodes, run(!localFirst))
	writeJSON(w, http.StatusOK, res)
}

// isMaster reports whether this node is master of any VRRP instance.
func (s *Server) isMaster() bool {
	st, err := s.ctl.VIPStatus()
	if err != nil {
		return false
	}
	for _, in := range st {
		if in.State == vrrp.StateMaster.String() {
			return true
		}
	}
	return false
}

// readBody reads a small request body for passing on.
func readBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, maxBody)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
