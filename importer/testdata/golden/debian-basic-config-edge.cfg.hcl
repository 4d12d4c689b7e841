# lbd configuration written by `lbctl import` from:
#   basic-config-edge.cfg (HAProxy)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

global {
  log_tag = "haproxy" # HAProxy's syslog tag, so that rsyslog rules keep matching
  # do not keep old processes longer than that after a reload
  grace   = "5m"      # basic-config-edge.cfg:27: how long connections may finish on stop and reload

  log "stderr" {
    # send logs to stderr for logging via the service manager
    facility = "local0" # basic-config-edge.cfg:35
    level    = "info"   # basic-config-edge.cfg:35
  }

  ssl_default_bind {
    # intermediate security for SSL, from https://ssl-config.mozilla.org/
    ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384" # basic-config-edge.cfg:38
  }
}

# default settings common to all HTTP proxies below
# from basic-config-edge.cfg:43: defaults http
defaults {
  mode = "http" # basic-config-edge.cfg:44

  timeouts {
    connect         = "10s" # basic-config-edge.cfg:49
    client          = "1m"  # basic-config-edge.cfg:47
    server          = "1m"  # basic-config-edge.cfg:48
    http_request    = "1m"  # HAProxy's timeout http-request defaults to timeout client
    http_keep_alive = "2m"  # basic-config-edge.cfg:50
    queue           = "15s" # basic-config-edge.cfg:51
    tunnel          = "4h"  # basic-config-edge.cfg:52 # for websocket
  }
}

# First incoming public service. Supports HTTP/1.x and HTTP/2, using HSTS,
# redirects clear to TLS. Uses a dedicated host name for the stats page.
# from basic-config-edge.cfg:67: frontend pub1
frontend "pub1" {
  bind            = ["*:80"]  # basic-config-edge.cfg:68
  default_backend = "app1"    # basic-config-edge.cfg:92
  forward_for     = true      # basic-config-edge.cfg:82
  redirect_https  = 301       # basic-config-edge.cfg:74
  log_format      = "httplog" # basic-config-edge.cfg:45

  tls {
    bind = ["*:443"]    # basic-config-edge.cfg:69
    crt  = ["pub1.pem"] # basic-config-edge.cfg:69
    alpn = ["http/1.1"] # basic-config-edge.cfg:69
  }

  http_request "del_header" {
    # pass client's IP address to the server and prevent against attempts
    # to inject bad contents
    name = "x-forwarded-for" # basic-config-edge.cfg:81
  }
}

# First application
# from basic-config-edge.cfg:103: backend app1
backend "app1" {
  # Algorithm:
  # - roundrobin is usually better for short requests,
  # - leastconn is better for mixed slow ones, and long transfers,
  # - random is generally good when using multiple load balancers
  balance = "random" # basic-config-edge.cfg:108

  server "srv1" {
    # do not overload the servers (100 concurrent conns max each)
    address = "192.0.2.1:80" # basic-config-edge.cfg:121
    maxconn = 100            # basic-config-edge.cfg:121
    cookie  = "s1"           # basic-config-edge.cfg:121
  }

  server "srv2" {
    address = "192.0.2.2:80" # basic-config-edge.cfg:122
    maxconn = 100            # basic-config-edge.cfg:122
    cookie  = "s2"           # basic-config-edge.cfg:122
  }

  server "srv3" {
    address = "192.0.2.3:80" # basic-config-edge.cfg:123
    maxconn = 100            # basic-config-edge.cfg:123
    cookie  = "s3"           # basic-config-edge.cfg:123
  }

  server "srv4" {
    address = "192.0.2.4:80" # basic-config-edge.cfg:124
    maxconn = 100            # basic-config-edge.cfg:124
    cookie  = "s4"           # basic-config-edge.cfg:124
  }

  health_check {
    # check the servers' health using HTTP requests
    type          = "http"             # basic-config-edge.cfg:117
    method        = "GET"              # basic-config-edge.cfg:118
    path          = "/"                # basic-config-edge.cfg:118
    host          = "svc1.example.com" # basic-config-edge.cfg:118
    expect_status = ["200-399"]        # HAProxy's httpchk passes 2xx and 3xx
    interval      = "1s"               # basic-config-edge.cfg:121
    down_interval = "1s"               # HAProxy's downinter defaults to inter
  }

  cookie "app1" {
    # insert a session cookie for user stickiness
    mode     = "insert" # basic-config-edge.cfg:114
    indirect = true     # basic-config-edge.cfg:114
    nocache  = true     # basic-config-edge.cfg:114
    httponly = false    # basic-config-edge.cfg:114: not on the HAProxy line
    maxidle  = "0s"     # basic-config-edge.cfg:114: no maxidle on the HAProxy line
    maxlife  = "0s"     # basic-config-edge.cfg:114: no maxlife on the HAProxy line
  }
}

# provide a stats page on port 8181
# from basic-config-edge.cfg:55: frontend stats
stats {
  bind = "*:8181" # basic-config-edge.cfg:56
  # provide advanced stats (ssl, h2, ...)
  uri  = "/"      # basic-config-edge.cfg:58
}
