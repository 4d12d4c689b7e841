package vrrp

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"lbd/config"
)

// maxOutput bounds what is kept of a command's output for the log.
const maxOutput = 4096

// notifyTimeout bounds a notify script; keepalived does not wait for
// them at all, we run them in order and must not wait forever.
const notifyTimeout = 30 * time.Second

// runResult is the outcome of one command run.
type runResult struct {
	ok     bool
	detail string // "exit status 0", "exit status 1", "timed out after 2s", ...
	output []byte
}

// runCommand runs args without a shell, with stdin from /dev/null, stdout
// and stderr captured (up to maxOutput), in its own process group so that
// a timeout kills whatever it started too.
func runCommand(ctx context.Context, args []string, timeout time.Duration) runResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var out limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	killGroupOnCancel(cmd)
	err := cmd.Run()
	res := runResult{output: out.bytes()}
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		res.detail = fmt.Sprintf("timed out after %s (killed)", timeout)
	case ctx.Err() != nil:
		res.detail = "stopped"
	case err == nil:
		res.ok, res.detail = true, "exit status 0"
	default:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			res.detail = ee.ProcessState.String()
		} else {
			res.detail = err.Error()
		}
	}
	return res
}

// limitedBuffer keeps the first maxOutput bytes written to it.
type limitedBuffer struct {
	mu        sync.Mutex
	b         []byte
	truncated bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	room := maxOutput - len(l.b)
	if len(p) > room {
		l.b = append(l.b, p[:max(room, 0)]...)
		l.truncated = true
	} else {
		l.b = append(l.b, p...)
	}
	return len(p), nil
}

func (l *limitedBuffer) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.truncated {
		return append(l.b, "..."...)
	}
	return l.b
}

// scriptRunner runs one vrrp_script every interval, never two runs at
// once, and keeps keepalived's rise/fall state. Scripts are shared: every
// instance tracking one reads the same state.
type scriptRunner struct {
	cfg      *config.VRRPScript
	log      zerolog.Logger
	onChange func()

	mu      sync.Mutex
	ctr     scriptCounter
	detail  string
	lastRun runResult

	cancel context.CancelFunc
	done   chan struct{}
}

func startScript(cfg *config.VRRPScript, log zerolog.Logger, onChange func(), carry *scriptRunner) *scriptRunner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &scriptRunner{
		cfg:      cfg,
		log:      log.With().Str("script", cfg.Name).Logger(),
		onChange: onChange,
		ctr:      newScriptCounter(cfg.Rise, cfg.Fall),
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	if carry != nil {
		// A reload that changes the script keeps its OK/KO state; the
		// counter restarts at the edge of that state.
		known, ok, detail := carry.status()
		if known {
			r.ctr.known, r.ctr.ok, r.detail = true, ok, detail
			if ok {
				r.ctr.result = cfg.Rise + cfg.Fall - 1
			} else {
				r.ctr.result = 0
			}
		}
	}
	go r.loop(ctx)
	return r
}

func (r *scriptRunner) status() (known, ok bool, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ctr.known, r.ctr.ok, r.detail
}

// sameRun reports whether two definitions run the same way (only the
// weight, read by the instances, may differ).
func sameRun(a, b *config.VRRPScript) bool {
	if len(a.Args) != len(b.Args) {
		return false
	}
	for i := range a.Args {
		if a.Args[i] != b.Args[i] {
			return false
		}
	}
	return a.Interval == b.Interval && a.Timeout == b.Timeout && a.Rise == b.Rise && a.Fall == b.Fall
}

func (r *scriptRunner) stop() {
	r.cancel()
	<-r.done
}

func (r *scriptRunner) loop(ctx context.Context) {
	defer close(r.done)
	next := time.Now()
	for {
		t := time.NewTimer(max(time.Until(next), 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		start := time.Now()
		res := runCommand(ctx, r.cfg.Args, r.cfg.Timeout)
		if ctx.Err() != nil {
			return
		}
		r.mu.Lock()
		changed := r.ctr.record(res.ok)
		ok := r.ctr.ok
		prev := r.lastRun.detail
		r.detail, r.lastRun = res.detail, res
		r.mu.Unlock()

		ev := r.log.Debug()
		if !res.ok && res.detail != prev {
			ev = r.log.Info()
		}
		ev.Str("result", res.detail).Bytes("output", res.output).Dur("took", time.Since(start)).Msg("vrrp_script ran")
		if changed {
			st := "KO"
			if ok {
				st = "OK"
			}
			r.log.Info().Str("state", st).Str("result", res.detail).Msg("vrrp_script state changed")
			r.onChange()
		}
		// Never overlapping: a run longer than the interval is followed
		// by the next one at once.
		next = start.Add(r.cfg.Interval)
	}
}

// notifyQueue runs one instance's notify commands in order.
type notifyQueue struct {
	log    zerolog.Logger
	mu     sync.Mutex
	ch     chan []string
	closed bool
	done   chan struct{}
}

func newNotifyQueue(log zerolog.Logger) *notifyQueue {
	q := &notifyQueue{log: log, ch: make(chan []string, 64), done: make(chan struct{})}
	go q.run()
	return q
}

func (q *notifyQueue) push(args []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	select {
	case q.ch <- args:
	default:
		q.log.Warn().Strs("command", args).Msg("notify queue full: command dropped")
	}
}

func (q *notifyQueue) run() {
	defer close(q.done)
	for args := range q.ch {
		res := runCommand(context.Background(), args, notifyTimeout)
		ev := q.log.Info()
		if !res.ok {
			ev = q.log.Warn()
		}
		ev.Strs("command", args).Str("result", res.detail).Bytes("output", res.output).Msg("notify script ran")
	}
}

// close stops taking commands; done is closed once the queue is empty.
func (q *notifyQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
}
