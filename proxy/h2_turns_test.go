package proxy

import (
	"testing"
	"time"

	"lbd/h2"
)

// testLink is a server-role link for the pipe tests; testPipe a pipe of
// it with both wake-up channels, as init makes them.
func testLink() *h2link { return &h2link{c: h2.NewConn(h2.RoleServer, h2.Config{}, nil)} }

func testPipe(l *h2link) *h2pipe {
	return &h2pipe{l: l, wake: make(chan struct{}, 1), wakeOut: make(chan struct{}, 1)}
}

// TestOutTurns: the streams of a connection get the output's room in
// turn: first come, first served; one that filled the room goes behind
// the others; the first in line is woken when room comes (or when nobody
// writes the output out), the others are not.
func TestOutTurns(t *testing.T) {
	l := testLink()
	pipe := func() *h2pipe { // one whose stream waits for its turn
		p := testPipe(l)
		p.writeWaits = true
		return p
	}
	a, b, c := pipe(), pipe(), pipe()
	woken := func(p *h2pipe) bool {
		select {
		case <-p.wakeOut:
			return true
		default:
			return false
		}
	}
	order := func(want ...*h2pipe) {
		t.Helper()
		if len(l.turns.q) != len(want) {
			t.Fatalf("%d in line, want %d", len(l.turns.q), len(want))
		}
		for i, p := range want {
			if l.turns.q[i] != p || !p.inLine {
				t.Fatalf("place %d is not the one expected", i)
			}
		}
	}

	if !l.turns.mine(a) {
		t.Fatal("nobody waits: a may write")
	}
	l.turns.join(a)
	l.turns.join(b)
	l.turns.join(c)
	l.turns.join(a) // already in line: keeps its place
	order(a, b, c)
	if !l.turns.mine(a) || l.turns.mine(b) || l.turns.mine(c) {
		t.Fatal("only the first in line may write")
	}
	l.turns.rotate(a) // a filled the room: behind the others
	order(b, c, a)

	l.turns.leave(b) // the first leaves with room in the output: c is woken
	order(c, a)
	if !woken(c) || woken(a) {
		t.Fatal("the next in line, and only it, is woken when the first leaves")
	}
	l.turns.leave(a) // not the first: nobody is woken
	order(c)
	if woken(c) {
		t.Fatal("woken when someone behind it left")
	}

	l.turns.join(a)
	l.c.OutLimit = 0 // no room
	l.writing = true // and a write in progress, which wakes the next when done
	l.turns.leave(c)
	if woken(a) {
		t.Fatal("woken without room while the output is being written")
	}
	l.writing = false // nobody writes: the first in line must
	l.turns.next(l)
	if !woken(a) {
		t.Fatal("not woken to write the output out")
	}
	l.turns.leave(a)
	if len(l.turns.q) != 0 || a.inLine {
		t.Fatal("the line is not empty")
	}
}

// TestPipeWakesEachSide: a pipe read by one goroutine and written by
// another (a request body's copier while the response is awaited) wakes
// the side a signal is meant for: the writer's turn or window is never
// taken by the waiting reader, and a reader's data never by the writer;
// a signal that comes while nobody waits leaves nothing behind.
func TestPipeWakesEachSide(t *testing.T) {
	l := testLink()
	p := testPipe(l)
	deadline := func() int64 { return nanotime() + int64(5*time.Second) }
	waitIn := func(wait func(int64) bool) chan bool {
		done := make(chan bool)
		go func() {
			l.mu.Lock()
			ok := wait(deadline())
			l.mu.Unlock()
			done <- ok
		}()
		return done
	}
	l.mu.Lock()
	p.signal() // nobody waits: nothing is left for a later wait to take
	p.signalOut()
	l.mu.Unlock()
	if len(p.wake)+len(p.wakeOut) != 0 {
		t.Fatal("a signal nobody waited for left a wake-up behind")
	}
	reader, writer := waitIn(p.wait), waitIn(p.waitWrite)
	time.Sleep(20 * time.Millisecond) // both wait
	l.mu.Lock()
	p.signalOut()
	l.mu.Unlock()
	select {
	case ok := <-writer:
		if !ok {
			t.Fatal("the writer timed out")
		}
	case <-reader:
		t.Fatal("the reader took the writer's wake-up")
	case <-time.After(2 * time.Second):
		t.Fatal("the writer was not woken")
	}
	l.mu.Lock()
	p.signal()
	l.mu.Unlock()
	select {
	case ok := <-reader:
		if !ok {
			t.Fatal("the reader timed out")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the reader was not woken")
	}
}

// TestPipeWakeAtTimeout: a signal sent as a wait times out (after its
// timer fired, before it took the lock back) is the waiter's: the wait
// reports it, and no wake-up is left in the channel for the pipe's next
// stream (clear does not look).
func TestPipeWakeAtTimeout(t *testing.T) {
	for _, side := range []string{"reader", "writer"} {
		t.Run(side, func(t *testing.T) {
			l := testLink()
			p := testPipe(l)
			wait, signal, waits := p.wait, p.signal, &p.readWaits
			if side == "writer" {
				wait, signal, waits = p.waitWrite, p.signalOut, &p.writeWaits
			}
			done := make(chan bool)
			l.mu.Lock()
			go func() {
				l.mu.Lock()
				ok := wait(nanotime() + int64(20*time.Millisecond))
				l.mu.Unlock()
				done <- ok
			}()
			l.mu.Unlock()
			for { // until the waiter waits
				l.mu.Lock()
				if *waits {
					break
				}
				l.mu.Unlock()
				time.Sleep(time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond) // its timer fires: it waits for mu
			signal()
			l.mu.Unlock()
			if ok := <-done; !ok {
				t.Error("the wait reported a timeout, though it was signalled")
			}
			if n := len(p.wake) + len(p.wakeOut); n != 0 {
				t.Errorf("%d wake-up(s) left behind for the pipe's next user", n)
			}
		})
	}
}
