// Command lab-webserver is the backend server of the lbd lab: a small HTTP and
// line-based TCP server whose answers say which server and which listener
// handled a request, so tests and the demo can see where the load balancer
// sent them. Standard library only; it is a lab tool, not part of lbd.
//
//	lab-webserver -name web1 -http 192.0.2.21:80 -http 192.0.2.21:8080 -tcp 192.0.2.21:9000
//
// HTTP, on every -http address:
//
//	GET /               200, body "NAME\n"; every answer carries X-Server: NAME
//	                    and X-Listener: the local address that took the request
//	GET /headers        200, the request headers, one "Name: value" line each,
//	                    sorted, Host first (what a proxy added shows up here)
//	GET /whoami         200, "server=, listener=, remote=, method=, uri=, proto=" lines
//	GET /health         200 "ok\n", or 500 "fail\n" while failing (see below)
//	GET|POST /admin/fail  health starts failing; /admin/ok  it passes again
//	GET /slow?ms=N      sleeps N ms (at most 10 minutes) then answers like /
//	GET /status?code=N  answers with status N (100 < N < 600)
//	GET /bytes?n=N      N bytes of 'x' (at most 64 MiB)
//	GET /ws             with Upgrade: websocket: 101 (RFC 6455 handshake),
//	                    then every byte received is sent back (a tunnel to
//	                    test, not a WebSocket implementation: no framing)
//
// Health fails while /admin/fail is in effect or while the -fail-file exists,
// so a test can flip it over HTTP or with a touch.
//
// TCP, on every -tcp address: line based ("\n" or "\r\n"). "PING" answers
// "PONG\r\n", "NAME" answers the server name and "\r\n"; every other line is
// echoed back unchanged.
//
// One log line per HTTP request (and per TCP connection) goes to stderr.
package main

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

const (
	maxSlow  = 10 * time.Minute
	maxBytes = 64 << 20
	maxLine  = 64 << 10
)

// server holds the state shared by all listeners of one lab backend.
type server struct {
	name     string
	failFile string
	failing  atomic.Bool
	log      *log.Logger
}

func main() {
	var httpAddrs, tcpAddrs listFlag
	name := flag.String("name", "", "server name, returned in bodies and X-Server (required)")
	failFile := flag.String("fail-file", "", "while this file exists, /health answers 500")
	flag.Var(&httpAddrs, "http", "HTTP listen address host:port (repeatable)")
	flag.Var(&tcpAddrs, "tcp", "line-based TCP listen address host:port (repeatable)")
	flag.Parse()
	if *name == "" || len(httpAddrs)+len(tcpAddrs) == 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: lab-webserver -name NAME [-http ADDR]... [-tcp ADDR]... [-fail-file PATH]")
		os.Exit(2)
	}
	s := &server{name: *name, failFile: *failFile, log: log.New(os.Stderr, *name+" ", log.LstdFlags|log.Lmicroseconds)}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := s.run(ctx, httpAddrs, tcpAddrs); err != nil {
		s.log.Print(err)
		os.Exit(1)
	}
}

// run listens on every address first, so that a bad address fails before
// anything serves, then serves until ctx ends.
func (s *server) run(ctx context.Context, httpAddrs, tcpAddrs []string) error {
	var hls, tls []net.Listener
	closeAll := func() {
		for _, l := range append(hls, tls...) {
			l.Close()
		}
	}
	for _, a := range httpAddrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			closeAll()
			return fmt.Errorf("http listen: %w", err)
		}
		hls = append(hls, l)
	}
	for _, a := range tcpAddrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			closeAll()
			return fmt.Errorf("tcp listen: %w", err)
		}
		tls = append(tls, l)
	}
	s.log.Printf("serving http=%v tcp=%v", httpAddrs, tcpAddrs)
	return s.serve(ctx, hls, tls)
}

// serve runs the listeners until ctx ends, then shuts them down.
func (s *server) serve(ctx context.Context, hls, tls []net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          s.log,
	}
	var wg sync.WaitGroup
	errc := make(chan error, len(hls)+len(tls))
	for _, l := range hls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	var conns sync.WaitGroup
	for _, l := range tls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := l.Accept()
				if err != nil {
					if !errors.Is(err, net.ErrClosed) {
						errc <- err
					}
					return
				}
				conns.Add(1)
				go func() {
					defer conns.Done()
					s.serveLines(ctx, c)
				}()
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutCtx)
	for _, l := range tls {
		l.Close()
	}
	wg.Wait()
	conns.Wait()
	return err
}

func (s *server) healthy() bool {
	if s.failing.Load() {
		return false
	}
	if s.failFile != "" {
		if _, err := os.Stat(s.failFile); err == nil {
			return false
		}
	}
	return true
}

// handler routes the lab's few endpoints; every answer names the server.
func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, s.name+"\n")
	})
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, formatHeaders(r))
	})
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "server=%s\nlistener=%s\nremote=%s\nmethod=%s\nuri=%s\nproto=%s\n",
			s.name, localAddr(r), r.RemoteAddr, r.Method, r.RequestURI, r.Proto)
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if !s.healthy() {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "fail\n")
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/admin/fail", func(w http.ResponseWriter, r *http.Request) {
		s.failing.Store(true)
		s.log.Print("health: failing (admin)")
		io.WriteString(w, "health failing\n")
	})
	mux.HandleFunc("/admin/ok", func(w http.ResponseWriter, r *http.Request) {
		s.failing.Store(false)
		s.log.Print("health: passing (admin)")
		io.WriteString(w, "health passing\n")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, err := queryInt(r, "ms", 0, int(maxSlow/time.Millisecond))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		t := time.NewTimer(time.Duration(ms) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
			io.WriteString(w, s.name+"\n")
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		code, err := queryInt(r, "code", 101, 599)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "%s %d\n", s.name, code)
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Sec-WebSocket-Key")
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" {
			http.Error(w, "websocket upgrade expected", http.StatusBadRequest)
			return
		}
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, "cannot take over the connection: "+err.Error(), http.StatusInternalServerError)
			return
		}
		defer c.Close()
		sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nX-Server: %s\r\n\r\n",
			base64.StdEncoding.EncodeToString(sum[:]), s.name)
		if rw.Flush() != nil {
			return
		}
		io.Copy(c, rw) // echo until the client closes
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, err := queryInt(r, "n", 0, maxBytes)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		chunk := []byte(strings.Repeat("x", 32<<10))
		for n > 0 {
			c := min(n, len(chunk))
			if _, err := w.Write(chunk[:c]); err != nil {
				return
			}
			n -= c
		}
	})
	return s.logged(mux)
}

// logged names the server on every answer and logs one line per request.
func (s *server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w.Header().Set("X-Server", s.name)
		w.Header().Set("X-Listener", localAddr(r))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.log.Printf("http %s %s %q %d %dB %s xff=%q", localAddr(r), r.RemoteAddr, r.Method+" "+r.RequestURI,
			rec.status, rec.bytes, time.Since(start).Round(time.Microsecond), r.Header.Get("X-Forwarded-For"))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
	wrote  bool
}

// Unwrap lets http.ResponseController reach the connection (/ws hijacks it).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func localAddr(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		return a.String()
	}
	return ""
}

// formatHeaders renders the request headers as the server received them:
// Host first (Go keeps it out of r.Header), then the others sorted, one
// line per value.
func formatHeaders(r *http.Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Host: %s\n", r.Host)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	return b.String()
}

func queryInt(r *http.Request, key string, lo, hi int) (int, error) {
	v := r.URL.Query().Get(key)
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be an integer in [%d, %d], got %q", key, lo, hi, v)
	}
	return n, nil
}

// serveLines answers one line-based TCP connection until the client closes
// it or the server stops.
func (s *server) serveLines(ctx context.Context, c net.Conn) {
	start := time.Now()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	br := bufio.NewReaderSize(c, 4096)
	lines := 0
	var err error
	for {
		var line []byte
		line, err = readLine(br)
		if len(line) > 0 {
			lines++
			if _, werr := c.Write(s.answer(line)); werr != nil {
				err = werr
				break
			}
		}
		if err != nil {
			break
		}
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	s.log.Printf("tcp %s %s lines=%d %s err=%v", c.LocalAddr(), c.RemoteAddr(), lines,
		time.Since(start).Round(time.Microsecond), err)
}

// readLine returns the next line including its terminator, or what is left
// before EOF. A line longer than maxLine is an error.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > maxLine {
			return nil, fmt.Errorf("line longer than %d bytes", maxLine)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return line, err
	}
}

// answer is the reply to one line: PING -> PONG, NAME -> the server name,
// anything else is echoed.
func (s *server) answer(line []byte) []byte {
	switch strings.TrimRight(string(line), "\r\n") {
	case "PING":
		return []byte("PONG\r\n")
	case "NAME":
		return []byte(s.name + "\r\n")
	}
	return line
}
