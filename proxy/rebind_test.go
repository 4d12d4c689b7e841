package proxy

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
)

// TestReloadMovesBindOnSamePort: a reload that moves a bind between
// addresses on one port (0.0.0.0:P to 127.0.0.1:P and back) is not
// refused with "address in use": the listener it removes is closed first.
// When the reload fails for another reason, that listener is bound again
// and serves.
func TestReloadMovesBindOnSamePort(t *testing.T) {
	b := backendServer(t, "s1", nil)
	r := newRig(t, basicHTTP, map[string]string{"fe": freePort(t), "s1": hostport(b)})
	// The port freePort found free on 127.0.0.1 can be taken before the
	// wildcard bind (by a parallel test's outgoing connection): another.
	var fe, port string
	var vars map[string]string
	for attempt := 0; ; attempt++ {
		fe = freePort(t)
		port = fe[strings.LastIndex(fe, ":")+1:]
		vars = map[string]string{"fe": "0.0.0.0:" + port, "s1": hostport(b)}
		err := r.apply(basicHTTP, vars)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EADDRINUSE) || attempt == 4 {
			t.Fatalf("binding 0.0.0.0:%s: %v", port, err)
		}
	}
	if resp, _ := httpGet(t, "http://"+fe+"/", nil); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}

	vars["fe"] = fe
	if err := r.apply(basicHTTP, vars); err != nil {
		t.Fatalf("moving 0.0.0.0:%s to %s: %v", port, fe, err)
	}
	if resp, _ := httpGet(t, "http://"+fe+"/", nil); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	if got := r.logs.find("listener removed by the reload closed first", "0.0.0.0:"+port); got == "" {
		t.Error("the wildcard listener was not freed for its port")
	}

	// Back to the wildcard, in a reload refused by another frontend's
	// busy address: 127.0.0.1:P is freed, then bound again.
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	refused := basicHTTP + `
frontend "other" {
  bind = ["` + busy.Addr().String() + `"]
  default_backend = "app"
}
`
	if err := r.apply(refused, map[string]string{"fe": "0.0.0.0:" + port, "s1": hostport(b)}); err == nil {
		t.Fatal("binding a busy address succeeded")
	}
	if resp, _ := httpGet(t, "http://"+fe+"/", nil); resp.StatusCode != 200 {
		t.Fatalf("after the rollback: %d", resp.StatusCode)
	}
	// And the move itself, applied.
	if err := r.apply(basicHTTP, map[string]string{"fe": "0.0.0.0:" + port, "s1": hostport(b)}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := httpGet(t, "http://"+fe+"/", nil); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
}
