//go:build linux

package e2e

import (
	"bufio"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"lbd/config"
)

// TestLabSmoke builds the lab, serves from web1/web2 and reaches them from
// the client directly (no lbd), then checks that teardown leaves nothing.
func TestLabSmoke(t *testing.T) {
	l := NewLab(t)
	webs := map[string]*Proc{"web1": l.StartWeb("web1"), "web2": l.StartWeb("web2")}

	for _, h := range []string{"web1", "web2"} {
		for _, port := range []string{"80", "8080"} {
			url := fmt.Sprintf("http://%s:%s/", l.Addr(h), port)
			code, body, err := l.HTTPGet("client", url)
			if err != nil || code != 200 || body != h+"\n" {
				t.Errorf("GET %s from client: %d %q %v; want 200 %q", url, code, body, err, h+"\n")
			}
		}
		c, err := l.Dial("client", "tcp", l.Addr(h)+":9000")
		if err != nil {
			t.Fatalf("dial %s:9000 from client: %v", h, err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "PING\r\nNAME\r\n")
		br := bufio.NewReader(c)
		pong, _ := br.ReadString('\n')
		name, _ := br.ReadString('\n')
		c.Close()
		if pong != "PONG\r\n" || name != h+"\r\n" {
			t.Errorf("%s:9000 answered %q %q; want PONG and its name", h, pong, name)
		}
	}

	// The request really comes from the client's address, and the
	// answer names the server.
	resp, body, err := l.HTTPDo("client", mustGet(t, "http://"+l.Addr("web2")+"/whoami"))
	if err != nil || resp.Header.Get("X-Server") != "web2" || !strings.Contains(body, "remote=192.0.2.50:") {
		t.Errorf("whoami from client: %v %q", err, body)
	}

	// Health toggles, over HTTP and with the fail file.
	l.SetWebHealth("web1", false)
	if code, _, _ := l.HTTPGet("client", "http://192.0.2.21/health"); code != 500 {
		t.Errorf("web1 /health after /admin/fail: %d, want 500", code)
	}
	l.SetWebHealth("web1", true)
	if code, _, _ := l.HTTPGet("client", "http://192.0.2.21/health"); code != 200 {
		t.Errorf("web1 /health after /admin/ok: %d, want 200", code)
	}

	// Only the connected /24: no default route in any host.
	for _, h := range Hosts {
		out, err := l.Exec(h, "ip", "-4", "route", "show", "default")
		if err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("%s: default route %q (%v)", h, out, err)
		}
		out, err = l.Exec(h, "ip", "-4", "-o", "addr", "show", "dev", "eth0")
		if err != nil || !strings.Contains(out, " "+l.Addr(h)+"/24 ") {
			t.Errorf("%s eth0: %q (%v)", h, out, err)
		}
	}
	for _, h := range []string{"lb1", "lb2"} {
		out, err := l.Exec(h, "cat", "/proc/sys/net/ipv4/conf/all/arp_ignore", "/proc/sys/net/ipv4/conf/all/arp_announce")
		if err != nil || strings.Fields(out)[0] != "1" || strings.Fields(out)[1] != "2" {
			t.Errorf("%s arp_ignore/arp_announce: %q (%v)", h, out, err)
		}
	}
	if hs := l.VIPHolders(); len(hs) != 0 {
		t.Errorf("the lab itself configured the VIP on %v", hs)
	}

	// A clean stop: SIGTERM, exit status 0.
	if err := webs["web2"].Stop(syscall.SIGTERM); err != nil {
		t.Errorf("web2 stop: %v\n%s", err, webs["web2"].Output())
	}
	if !strings.Contains(webs["web1"].Output(), `"GET /health"`) {
		t.Errorf("web1 logged no request line:\n%s", webs["web1"].Output())
	}

	l.Close()
	if left := Leftovers(l.Prefix); len(left) != 0 {
		t.Errorf("after Close: %v", left)
	}
	for _, p := range webs {
		if !p.Exited() {
			t.Errorf("%s still runs after Close", p.Name)
		}
	}
}

func mustGet(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestLabMulticast sends a VRRP-like packet (IP protocol 112 to
// 224.0.0.18, TTL 255) from lb1 and expects lb2 to receive it across the
// bridge, the way lbd's VRRP speakers talk.
func TestLabMulticast(t *testing.T) {
	l := NewLab(t)
	group := &net.UDPAddr{IP: net.IPv4(224, 0, 0, 18)}

	var recv *ipv4.PacketConn
	err := l.InNetns("lb2", func() error {
		c, err := net.ListenPacket("ip4:112", "0.0.0.0")
		if err != nil {
			return err
		}
		recv = ipv4.NewPacketConn(c)
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		if err := recv.JoinGroup(ifi, group); err != nil {
			return err
		}
		return recv.SetControlMessage(ipv4.FlagTTL|ipv4.FlagSrc|ipv4.FlagDst, true)
	})
	if err != nil {
		t.Fatalf("lb2 listener: %v", err)
	}
	defer recv.Close()

	var send *ipv4.PacketConn
	err = l.InNetns("lb1", func() error {
		c, err := net.ListenPacket("ip4:112", "0.0.0.0")
		if err != nil {
			return err
		}
		send = ipv4.NewPacketConn(c)
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		// Without a default route, multicast goes out only through an
		// interface chosen explicitly (as keepalived and lbd do).
		if err := send.SetMulticastInterface(ifi); err != nil {
			return err
		}
		return send.SetMulticastTTL(255)
	})
	if err != nil {
		t.Fatalf("lb1 sender: %v", err)
	}
	defer send.Close()

	payload := []byte("lbd-lab-vrrp-probe")
	buf := make([]byte, 1500)
	got := Poll(10*time.Second, func() bool {
		if _, err := send.WriteTo(payload, nil, &net.IPAddr{IP: group.IP}); err != nil {
			t.Fatalf("send: %v", err)
		}
		recv.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			n, cm, src, err := recv.ReadFrom(buf)
			if err != nil {
				return false
			}
			if string(buf[:n]) == string(payload) {
				if src.String() != l.Addr("lb1") || cm == nil || cm.TTL != 255 || !cm.Dst.Equal(group.IP) {
					t.Fatalf("received from %v with %+v; want from lb1, TTL 255, to 224.0.0.18", src, cm)
				}
				return true
			}
		}
	})
	if !got {
		t.Fatal("lb2 never received lb1's multicast on 224.0.0.18 (protocol 112)")
	}
}

// TestLabScript drives deploy/lab/lab.sh itself: down on nothing, up twice
// (the second removes the first), status, and down after a "half-failed"
// up that left a namespace and root-namespace fallback veths behind.
func TestLabScript(t *testing.T) {
	requireRoot(t)
	prefix := fmt.Sprintf("e2e%dn%d", syscall.Getpid(), labSeq.Add(1))
	rundir := filepath.Join(t.TempDir(), "run")
	run := func(args ...string) (string, int) {
		out, err := runLabScript(prefix, rundir, nil, args...)
		if ee, ok := err.(*exec.ExitError); ok {
			return out, ee.ExitCode()
		} else if err != nil {
			t.Fatalf("lab.sh %v: %v", args, err)
		}
		return out, 0
	}
	t.Cleanup(func() {
		run("down")
		if left := Leftovers(prefix); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	})

	steps := []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"down"}, 0, "nothing left"},
		{[]string{"status"}, 3, "not up"},
		{[]string{"up"}, 0, "up: prefix " + prefix},
		{[]string{"up"}, 0, "up: prefix " + prefix},
		{[]string{"status"}, 0, prefix + "-client"},
		{[]string{"down"}, 0, "nothing left"},
		{[]string{"down"}, 0, "nothing left"},
		{[]string{"bogus"}, 2, "lab.sh up"},
	}
	for _, st := range steps {
		out, code := run(st.args...)
		if code != st.wantCode || !strings.Contains(out, st.wantOut) {
			t.Fatalf("lab.sh %v: exit %d, want %d; output lacks %q:\n%s", st.args, code, st.wantCode, st.wantOut, out)
		}
	}
	if out, _ := runLabScript("bad-prefix!", rundir, nil, "status"); !strings.Contains(out, "LAB_PREFIX") {
		t.Errorf("a bad prefix is not refused: %q", out)
	}

	// Leftovers of an interrupted up: a namespace and a root veth pair
	// named like lab.sh's fallback.
	sum := md5.Sum([]byte(prefix))
	veth := "v" + hex.EncodeToString(sum[:])[:6] + "3"
	for _, cmd := range [][]string{
		{"ip", "netns", "add", prefix + "-lb1"},
		{"ip", "link", "add", veth + "a", "type", "veth", "peer", "name", veth + "b"},
	} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", cmd, err, out)
		}
	}
	if left := Leftovers(prefix); len(left) != 3 {
		t.Fatalf("planted leftovers not seen: %v", left)
	}
	if out, code := run("status"); code != 1 {
		t.Errorf("status of a partial lab: exit %d, want 1:\n%s", code, out)
	}
	run("down")
	if left := Leftovers(prefix); len(left) != 0 {
		t.Errorf("down left %v", left)
	}
}

// TestLabConfigTemplate checks that deploy/lab/lab.hcl.tmpl renders into a
// valid config for both nodes, differing only in state and priority.
func TestLabConfigTemplate(t *testing.T) {
	want := map[string]struct {
		state string
		prio  int
	}{"lb1": {"MASTER", 150}, "lb2": {"BACKUP", 100}}
	rendered := map[string]string{}
	for node, w := range want {
		src := LabConfig(node)
		rendered[node] = src
		if strings.Contains(src, "@") {
			t.Errorf("%s: unreplaced placeholder in\n%s", node, src)
		}
		cfg, err := config.Parse(node+".hcl", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", node, err)
		}
		if len(cfg.VRRPInstances) != 1 {
			t.Fatalf("%s: %d vrrp instances", node, len(cfg.VRRPInstances))
		}
		vi := cfg.VRRPInstances[0]
		if vi.Name != "VI_1" || vi.Interface != "eth0" || vi.VirtualRouterID != 51 || vi.State != w.state || vi.Priority != w.prio {
			t.Errorf("%s: VI_1 = %+v, want eth0/51/%s/%d", node, vi, w.state, w.prio)
		}
		if got := fmt.Sprint(vi.VirtualIPAddresses); got != "["+VIP+"/24]" {
			t.Errorf("%s: VIPs %s", node, got)
		}
		if fe := cfg.Frontend("web"); fe == nil || fmt.Sprint(fe.Bind) != "["+VIP+":80 0.0.0.0:8080]" {
			t.Errorf("%s: frontend web binds %+v", node, fe)
		}
	}
	a, b := strings.Split(rendered["lb1"], "\n"), strings.Split(rendered["lb2"], "\n")
	if len(a) != len(b) {
		t.Fatal("rendered configs differ in length")
	}
	for i := range a {
		if a[i] != b[i] && !strings.Contains(a[i], "state") && !strings.Contains(a[i], "priority") && !strings.HasPrefix(a[i], "#") {
			t.Errorf("line %d differs beyond state/priority: %q vs %q", i+1, a[i], b[i])
		}
	}
}
