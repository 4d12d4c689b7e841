package appliance

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

func statsBlock(bind string) string {
	return fmt.Sprintf("stats {\n  bind = %q\n  uri  = \"/stats\"\n}", bind)
}

// statsAt answers whether the stats page answers at addr.
func statsAt(t *testing.T, addr string) bool {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/stats;csv")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// TestReloadSwapsStatsAndFrontendPorts: a reload that gives the frontend
// the stats page's port and the stats page the frontend's applies (it was
// refused with "address in use"); refused for another reason, it leaves
// both where they were; the stats page moves between addresses on its
// port.
func TestReloadSwapsStatsAndFrontendPorts(t *testing.T) {
	f := newFixture(t)
	fe, st := f.bind, freePort(t)
	f.write("", statsBlock(st))
	if err := f.app.ReloadFile(); err != nil {
		t.Fatal(err)
	}
	if !statsAt(t, st) || f.get() != "200 a" {
		t.Fatal("before the swap: stats or frontend not answering")
	}

	f.bind = st
	f.write("", statsBlock(fe))
	if err := f.app.ReloadFile(); err != nil {
		t.Fatalf("swapping the ports: %v", err)
	}
	if got := f.get(); got != "200 a" {
		t.Fatalf("the frontend on the stats page's former port: %s", got)
	}
	if !statsAt(t, fe) {
		t.Fatal("the stats page on the frontend's former port does not answer")
	}

	// Swapping back in a reload refused by a busy port: nothing moves.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	f.bind = fe
	f.write("", statsBlock(st)+fmt.Sprintf("\nfrontend \"other\" {\n  bind = [%q]\n  default_backend = \"app\"\n}", busy.Addr().String()))
	if err := f.app.ReloadFile(); err == nil {
		t.Fatal("a reload with a busy port applied")
	}
	f.bind = st
	if got := f.get(); got != "200 a" {
		t.Fatalf("the frontend after the refused reload: %s", got)
	}
	if !statsAt(t, fe) {
		t.Fatal("the stats page did not come back after the refused reload")
	}

	// The stats page moves from the wildcard to loopback on its port.
	port := fe[strings.LastIndex(fe, ":")+1:]
	f.write("", statsBlock("0.0.0.0:"+port))
	if err := f.app.ReloadFile(); err != nil {
		t.Fatal(err)
	}
	f.write("", statsBlock(fe))
	if err := f.app.ReloadFile(); err != nil {
		t.Fatalf("moving the stats page from 0.0.0.0:%s to %s: %v", port, fe, err)
	}
	if !statsAt(t, fe) {
		t.Fatal("the stats page does not answer after its move")
	}
}
