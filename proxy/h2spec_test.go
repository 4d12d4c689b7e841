package proxy

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// h2specPath finds the h2spec conformance tool (.ci/run installs it):
// skipped without it, a failure under CI=true.
func h2specPath(t *testing.T) string {
	if p, err := exec.LookPath("h2spec"); err == nil {
		return p
	}
	for _, dir := range []string{os.Getenv("GOBIN"), filepath.Join(os.Getenv("HOME"), "go", "bin"), "/root/go/bin"} {
		if p := filepath.Join(dir, "h2spec"); dir != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("h2spec is not installed (go install github.com/summerwind/h2spec/cmd/h2spec@latest)")
	}
	t.Skip("h2spec is not installed")
	return ""
}

// TestH2Spec runs h2spec, every test of its HTTP/2 and HPACK suites,
// against an HTTP/2 frontend (proto = "h2": prior knowledge) in front of
// an HTTP/1.1 server: all must pass.
func TestH2Spec(t *testing.T) {
	bin := h2specPath(t)
	s1 := backendServer(t, "s1", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("h2spec wants a body of some size. ", 10)))
	})
	fe := freePort(t)
	newRig(t, strings.Replace(h2cConfig, "h2c = true", `proto = "h2"`, 1), map[string]string{"fe": fe, "s1": hostport(s1), "s2": hostport(s1)})
	host, port, _ := strings.Cut(fe, ":")
	cmd := exec.Command(bin, "-h", host, "-p", port, "-o", "3")
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		<-done
	}
	text := string(out)
	i := strings.LastIndex(text, "tests, ")
	summary := text
	if i >= 0 {
		summary = text[strings.LastIndex(text[:i], "\n")+1:]
	}
	if err != nil || !strings.Contains(summary, " 0 failed") {
		t.Fatalf("h2spec: %v\n%s", err, text)
	}
	t.Logf("h2spec: %s", strings.TrimSpace(summary))
}
