package admin

import (
	"context"
	"fmt"
	"net"
	"os"

	"github.com/rs/zerolog"
)

// A seamless binary upgrade hands the admin socket and the stats
// listener to the successor process as descriptors (see package proxy's
// handoff.go): lbctl keeps reaching whichever process runs, and the stats
// page never refuses a connection.

// File returns a duplicate descriptor of the admin socket, for a
// successor.
func (s *Server) File() (*os.File, error) {
	ul, ok := s.ln.(*net.UnixListener)
	if !ok {
		return nil, fmt.Errorf("admin socket is not a unix listener")
	}
	return ul.File()
}

// ListenFile serves the admin API on a socket handed over by a
// predecessor (File), bound at path.
func ListenFile(log zerolog.Logger, path string, f *os.File, ctl Controller) (*Server, error) {
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("inherited admin socket: %w", err)
	}
	ul, ok := ln.(*net.UnixListener)
	if !ok {
		ln.Close()
		return nil, fmt.Errorf("inherited admin socket is not a unix socket")
	}
	ul.SetUnlinkOnClose(false)
	return serveAdmin(log, path, ul, ctl), nil
}

// Handover stops serving the admin API without removing the socket file,
// which the successor now serves on. Requests in progress finish (the
// upgrade request among them), within ctx.
func (s *Server) Handover(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	s.ln.Close()
	return err
}

// File returns a duplicate descriptor of the stats listener and its bind
// address, or nil when there is none.
func (s *StatsServer) File() (*os.File, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil, "", nil
	}
	tl, ok := s.ln.(*net.TCPListener)
	if !ok {
		return nil, "", fmt.Errorf("stats listener is not TCP")
	}
	f, err := tl.File()
	return f, s.cfg.Bind, err
}

// Inherit gives the stats server the listening socket a predecessor
// handed over for bind, before the first Apply.
func (s *StatsServer) Inherit(bind string, f *os.File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inherited, s.inheritedBind = f, bind
}
