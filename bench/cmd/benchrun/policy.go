package main

import (
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// The traffic policy's cases (issue 13), against HAProxy in the same run:
//
//   - "20 rules + 10k map": 10 acls and 12 http-request/http-response
//     rules (denies, a redirect, a return, header edits, a map lookup in
//     a 10,000-entry map by Host, set-log-level), none of which refuses
//     the benchmark's requests; lbd with them against lbd without
//     (fe_http) and against HAProxy with the same rules;
//   - "rate limited, flooded": a frontend that tracks every request in a
//     stick table keyed by an X-Client header (wrk's clients send 10,000
//     different ones, a few requests per second each; wrk and the flooder
//     share 127.0.0.1, so the client is told apart by the header rather
//     than by its address) and answers 429 past 100 requests in 10 s.
//     wrk's rate alone; with the same flood sent to nginx directly (what
//     the flooder takes from wrk and nginx on the load CPU, without the
//     proxy); then while one client floods the proxy (a new connection per
//     request, as fast as `flooders` goroutines get answers, all 429 after
//     its first 100). flooded/(flood at nginx) is the proxy's own share of
//     the loss, for lbd and HAProxy.

const flooders = 4

func (r *runner) runPolicy(tw *tabwriter.Writer) error {
	for _, k := range []string{"hap_pol", "hap_lim", "hap_tar", "lbd_pol", "lbd_lim", "lbd_tar"} {
		r.ports[k] = freePort()
	}
	if err := r.writePolicyConfigs(); err != nil {
		return err
	}
	if err := r.start("haproxy_pol", *proxyCPU, *haproxy, "-f", r.path("haproxy_pol.cfg"), "-db"); err != nil {
		return err
	}
	if err := r.start("lbd_pol", *proxyCPU, *lbdBin, "-f", r.path("lbd_pol.hcl")); err != nil {
		return err
	}
	for _, p := range []string{"hap_pol", "hap_lim", "hap_tar", "lbd_pol", "lbd_lim", "lbd_tar"} {
		if err := waitPort(r.ports[p], 10*time.Second); err != nil {
			return fmt.Errorf("%s did not come up: %w (logs in %s)", p, err, r.dir)
		}
	}
	var plain, lbdRules, hapRules result
	for i := 0; i < *rounds; i++ {
		p, err := r.measure("lbd", r.ports["lbd_http"])
		if err != nil {
			return err
		}
		h, err := r.measure("haproxy_pol", r.ports["hap_pol"])
		if err != nil {
			return err
		}
		l, err := r.measure("lbd_pol", r.ports["lbd_pol"])
		if err != nil {
			return err
		}
		plain, hapRules, lbdRules = better(plain, p), better(hapRules, h), better(lbdRules, l)
	}
	fmt.Fprintf(tw, "20 rules + 10k map\treq/s\t%.0f\t%.0f\t%.2f\t\n", hapRules.rps, lbdRules.rps, lbdRules.rps/hapRules.rps)
	fmt.Fprintf(tw, "\tp99 ms\t%.2f\t%.2f\t%.2f\t\n", hapRules.p99ms, lbdRules.p99ms, lbdRules.p99ms/hapRules.p99ms)
	fmt.Fprintf(tw, "\tCPU s/1k req\t%.4f\t%.4f\t%.2f\t\n", hapRules.cpuPer1k, lbdRules.cpuPer1k, lbdRules.cpuPer1k/hapRules.cpuPer1k)
	fmt.Fprintf(tw, "\tlbd rules/no rules req/s\t\t%.0f/%.0f\t%.2f\t\n", lbdRules.rps, plain.rps, lbdRules.rps/plain.rps)
	fmt.Fprintf(tw, "\tlbd rules/no rules CPU s/1k\t\t%.4f/%.4f\t%.2f\t\n", lbdRules.cpuPer1k, plain.cpuPer1k, lbdRules.cpuPer1k/plain.cpuPer1k)
	if n := hapRules.errors + lbdRules.errors; n > 0 {
		fmt.Fprintf(tw, "\terrors\t%d\t%d\t\t\n", hapRules.errors, lbdRules.errors)
	}

	script := r.path("clients.lua")
	if err := os.WriteFile(script, []byte(clientsLua), 0o644); err != nil {
		return err
	}
	extra := []string{"-s", script}
	type limRes struct {
		quiet, elsewhere, flooded, tarpit result
		flood, tarpitFlood                [2]int64 // requests, 429s
	}
	var hap, lbd limRes
	underFlood := func(name, url, target string, fs *floodStats) (result, error) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for j := 0; j < flooders; j++ {
			wg.Add(1)
			go func() { defer wg.Done(); flood(target, stop, fs) }()
		}
		res, err := r.measureWith(name, url, extra)
		close(stop)
		wg.Wait()
		return res, err
	}
	for i := 0; i < *rounds; i++ {
		for _, c := range []struct {
			name, port, tarpit string
			dst                *limRes
		}{{"haproxy_pol", "hap_lim", "hap_tar", &hap}, {"lbd_pol", "lbd_lim", "lbd_tar", &lbd}} {
			url := "http://" + r.ports[c.port] + "/"
			q, err := r.measureWith(c.name, url, extra)
			if err != nil {
				return err
			}
			// The same flood at nginx directly: what the flooder takes
			// from wrk and nginx on the load CPU, without the proxy.
			e, err := underFlood(c.name, url, r.ports["nginx"], &floodStats{})
			if err != nil {
				return err
			}
			fs := &floodStats{}
			f, err := underFlood(c.name, url, r.ports[c.port], fs)
			if err != nil {
				return err
			}
			// The best quiet round on its own; the flooded and elsewhere
			// runs as a pair, from the round where the flood cost least.
			c.dst.quiet = better(c.dst.quiet, q)
			if c.dst.flooded.rps == 0 || f.rps/e.rps > c.dst.flooded.rps/c.dst.elsewhere.rps {
				c.dst.elsewhere, c.dst.flooded, c.dst.flood = e, f, [2]int64{fs.total.Load(), fs.refused.Load()}
			}
			ts := &floodStats{}
			t, err := underFlood(c.name, "http://"+r.ports[c.tarpit]+"/", r.ports[c.tarpit], ts)
			if err != nil {
				return err
			}
			if t.rps > c.dst.tarpit.rps {
				c.dst.tarpit, c.dst.tarpitFlood = t, [2]int64{ts.total.Load(), ts.refused.Load()}
			}
		}
	}
	secs := (*warmup + *duration).Seconds()
	fmt.Fprintf(tw, "rate limited, quiet\treq/s\t%.0f\t%.0f\t%.2f\t\n", hap.quiet.rps, lbd.quiet.rps, lbd.quiet.rps/hap.quiet.rps)
	fmt.Fprintf(tw, "rate limited, flood at nginx\treq/s\t%.0f\t%.0f\t%.2f\t\n", hap.elsewhere.rps, lbd.elsewhere.rps, lbd.elsewhere.rps/hap.elsewhere.rps)
	fmt.Fprintf(tw, "rate limited, one client flooding\treq/s\t%.0f\t%.0f\t%.2f\t\n", hap.flooded.rps, lbd.flooded.rps, lbd.flooded.rps/hap.flooded.rps)
	fmt.Fprintf(tw, "\tflooded/quiet\t%.2f\t%.2f\t\t\n", hap.flooded.rps/hap.quiet.rps, lbd.flooded.rps/lbd.quiet.rps)
	fmt.Fprintf(tw, "\tflooded/flood at nginx\t%.2f\t%.2f\t\t\n", hap.flooded.rps/hap.elsewhere.rps, lbd.flooded.rps/lbd.elsewhere.rps)
	fmt.Fprintf(tw, "\tCPU s/1k req quiet, flooded\t%.4f, %.4f\t%.4f, %.4f\t\t\n", hap.quiet.cpuPer1k, hap.flooded.cpuPer1k, lbd.quiet.cpuPer1k, lbd.flooded.cpuPer1k)
	fmt.Fprintf(tw, "\tflood req/s (429s)\t%.0f (%.0f)\t%.0f (%.0f)\t\t\n",
		float64(hap.flood[0])/secs, float64(hap.flood[1])/secs, float64(lbd.flood[0])/secs, float64(lbd.flood[1])/secs)
	fmt.Fprintf(tw, "rate limited by tarpit, one client flooding\treq/s\t%.0f\t%.0f\t%.2f\t\n", hap.tarpit.rps, lbd.tarpit.rps, lbd.tarpit.rps/hap.tarpit.rps)
	fmt.Fprintf(tw, "\tflooded/quiet\t%.2f\t%.2f\t\t\n", hap.tarpit.rps/hap.quiet.rps, lbd.tarpit.rps/lbd.quiet.rps)
	fmt.Fprintf(tw, "\tflood req/s (429s)\t%.1f (%.1f)\t%.1f (%.1f)\t\t\n",
		float64(hap.tarpitFlood[0])/secs, float64(hap.tarpitFlood[1])/secs, float64(lbd.tarpitFlood[0])/secs, float64(lbd.tarpitFlood[1])/secs)
	errs := func(l limRes) int { return l.flooded.errors + l.quiet.errors + l.tarpit.errors }
	if n := errs(hap) + errs(lbd); n > 0 { // 429s to wrk's clients
		fmt.Fprintf(tw, "\tnon-2xx to wrk\t%d\t%d\t\t\n", errs(hap), errs(lbd))
	}
	return nil
}

func better(a, b result) result {
	if b.rps > a.rps {
		return b
	}
	return a
}

// clientsLua makes wrk's requests come from 10,000 clients (X-Client).
const clientsLua = `
local n = 0
local h = {}
init = function(args)
  for k, v in pairs(wrk.headers) do h[k] = v end
end
request = function()
  n = n + 1
  h["X-Client"] = "c" .. (n % 10000)
  return wrk.format("GET", "/", h)
end
`

type floodStats struct{ total, refused atomic.Int64 }

// flood sends requests as one client (X-Client: flood), a new connection
// for each (the proxies close after a 429 anyway), as fast as answers
// come, until stop.
func flood(addr string, stop chan struct{}, fs *floodStats) {
	req := []byte("GET / HTTP/1.1\r\nHost: bench\r\nX-Client: flood\r\nConnection: close\r\n\r\n")
	buf := make([]byte, 4096)
	for {
		select {
		case <-stop:
			return
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			time.Sleep(time.Millisecond)
			continue
		}
		c.SetDeadline(time.Now().Add(10 * time.Second)) // longer than the tarpit
		if _, err := c.Write(req); err == nil {
			if n, _ := readResponse(c, buf); n > 0 {
				fs.total.Add(1)
				if strings.HasPrefix(string(buf[:min(n, 12)]), "HTTP/1.1 429") {
					fs.refused.Add(1)
				}
			}
		}
		c.Close()
	}
}

// The rate-limited frontends' table and tracking (the 429 one and the
// tarpit one differ only in the action).
const (
	hapLimiter = `  stick-table type string len 32 size 100k expire 1m store http_req_rate(10s)
  http-request track-sc0 req.hdr(x-client)
`
	lbdLimiter = `  stick_table {
    type   = "string"
    size   = "100k"
    expire = "1m"
    store  = ["http_req_rate(10s)"]
  }
  http_request "track_sc0" { key = "req.hdr(x-client)" }
  acl "flood" { sc0_http_req_rate = ["gt 100"] }
`
)

func (r *runner) writePolicyConfigs() error {
	// The map: 10,000 hosts, and the one the benchmark sends.
	var m strings.Builder
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&m, "host%d.example.com be_%d\n", i, i%10)
	}
	for _, p := range []string{"hap_pol", "lbd_pol"} {
		fmt.Fprintf(&m, "%s be_http\n", r.ports[p])
	}
	if err := os.WriteFile(r.path("hosts.map"), []byte(m.String()), 0o644); err != nil {
		return err
	}
	hap := fmt.Sprintf(`global
  maxconn %[5]d
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
  timeout http-keep-alive 60s
frontend fe_pol
  bind %[1]s
  acl a1 path_beg /api/
  acl a2 path_end .php
  acl a3 hdr_end(host) -i .example.com
  acl a4 hdr_sub(User-Agent) -i badbot
  acl a5 src 10.0.0.0/8
  acl a6 method POST
  acl a7 urlp(debug) 1
  acl a8 req.cook(beta) -m found
  acl a9 path_reg ^/old/(.*)$
  acl a10 hdr(X-Forwarded-Proto) https
  http-request deny deny_status 403 if a4
  http-request deny if a2 a5
  http-request redirect location /new/ if a9
  http-request set-header X-Backend-Hint %%[req.hdr(host),lower,map(%[4]s/hosts.map,none)]
  http-request del-header X-Debug-Token
  http-request set-header X-Client-IP %%[src]
  http-request return status 200 if a7
  http-request add-header X-Beta 1 if a8
  http-request set-log-level silent if a1
  http-request deny deny_status 401 if a6 a10
  http-request set-header X-Sub 1 if a3
  http-response set-header Strict-Transport-Security max-age=31536000
  http-response del-header Server
  default_backend be_http
frontend fe_lim
  bind %[2]s
%[7]s  http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100 }
  default_backend be_http
frontend fe_tar
  bind %[6]s
  timeout tarpit 5s
%[7]s  http-request tarpit deny_status 429 if { sc_http_req_rate(0) gt 100 }
  default_backend be_http
backend be_http
  server n1 %[3]s
`, r.ports["hap_pol"], r.ports["hap_lim"], r.ports["nginx"], r.dir, r.maxcon, r.ports["hap_tar"], hapLimiter)
	if err := os.WriteFile(r.path("haproxy_pol.cfg"), []byte(hap), 0o644); err != nil {
		return err
	}
	lbd := fmt.Sprintf(`global {
  maxconn      = %[5]d
  log_level    = "warn"
  admin_socket = "%[4]s/admin_pol.sock"
}
defaults {
  mode = "http"
  timeouts {
    connect         = "5s"
    client          = "60s"
    server          = "60s"
    http_request    = "10s"
    http_keep_alive = "60s"
  }
}
map "hosts" {
  file = "%[4]s/hosts.map"
}
frontend "fe_pol" {
  bind            = ["%[1]s"]
  default_backend = "be_http"
  acl "a1" { path_beg = ["/api/"] }
  acl "a2" { path_end = [".php"] }
  acl "a3" { host_end = [".example.com"] }
  acl "a4" {
    hdr "User-Agent" { sub = ["badbot"] }
    ignore_case = true
  }
  acl "a5" { src = ["10.0.0.0/8"] }
  acl "a6" { method = ["POST"] }
  acl "a7" {
    url_param "debug" { value = ["1"] }
  }
  acl "a8" {
    cookie "beta" { found = true }
  }
  acl "a9" { path_reg = ["^/old/(.*)$"] }
  acl "a10" {
    hdr "X-Forwarded-Proto" { value = ["https"] }
  }
  http_request "deny" {
    if     = "a4"
    status = 403
  }
  http_request "deny" { if = "a2 a5" }
  http_request "redirect" {
    if       = "a9"
    location = "/new/"
  }
  http_request "set_header" {
    name  = "X-Backend-Hint"
    value = "%%[req.hdr(host),lower,map(hosts,none)]"
  }
  http_request "del_header" { name = "X-Debug-Token" }
  http_request "set_header" {
    name  = "X-Client-IP"
    value = "%%[src]"
  }
  http_request "return" {
    if     = "a7"
    status = 200
  }
  http_request "add_header" {
    if    = "a8"
    name  = "X-Beta"
    value = "1"
  }
  http_request "set_log_level" {
    if    = "a1"
    level = "silent"
  }
  http_request "deny" {
    if     = "a6 a10"
    status = 401
  }
  http_request "set_header" {
    if    = "a3"
    name  = "X-Sub"
    value = "1"
  }
  http_response "set_header" {
    name  = "Strict-Transport-Security"
    value = "max-age=31536000"
  }
  http_response "del_header" { name = "Server" }
}
frontend "fe_lim" {
  bind            = ["%[2]s"]
  default_backend = "be_http"
%[7]s  http_request "deny" {
    if     = "flood"
    status = 429
  }
}
frontend "fe_tar" {
  bind            = ["%[6]s"]
  default_backend = "be_http"
%[7]s  http_request "tarpit" {
    if     = "flood"
    status = 429
    delay  = "5s"
  }
}
backend "be_http" {
  server "n1" {
    address = "%[3]s"
    check   = false
  }
}
`, r.ports["lbd_pol"], r.ports["lbd_lim"], r.ports["nginx"], r.dir, r.maxcon, r.ports["lbd_tar"], lbdLimiter)
	return os.WriteFile(r.path("lbd_pol.hcl"), []byte(lbd), 0o644)
}
