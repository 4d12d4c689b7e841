# lbd configuration written by `lbctl import` from:
#   003-haproxy.cfg (HAProxy)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

global {
  maxconn = 2000 # 003-haproxy.cfg:8
}

# from 003-haproxy.cfg:10: defaults
defaults {
  mode = "http" # 003-haproxy.cfg:11

  timeouts {
    connect         = "5s"  # 003-haproxy.cfg:12
    client          = "30s" # 003-haproxy.cfg:13
    server          = "30s" # 003-haproxy.cfg:14
    http_request    = "30s" # HAProxy's timeout http-request defaults to timeout client
    http_keep_alive = "30s" # HAProxy's timeout http-keep-alive defaults to timeout http-request
    queue           = "5s"  # HAProxy's timeout queue defaults to timeout connect
    tunnel          = "30s" # without timeout tunnel, HAProxy times tunnels by timeout client and server
  }
}

# from 003-haproxy.cfg:16: frontend localhost
frontend "localhost" {
  bind            = ["*:80"] # 003-haproxy.cfg:17
  default_backend = "nodes"  # 003-haproxy.cfg:18
  access_log      = false    # no "log global" for this proxy in HAProxy: it logs nothing
}

# from 003-haproxy.cfg:20: backend nodes
backend "nodes" {
  balance = "roundrobin" # 003-haproxy.cfg:21

  server "web01" {
    address = "192.0.2.21:80" # 003-haproxy.cfg:25
  }

  server "web02" {
    address = "192.0.2.22:80" # 003-haproxy.cfg:26
  }

  server "web03" {
    address = "192.0.2.23:80" # 003-haproxy.cfg:27
  }

  health_check {
    type          = "http" # 003-haproxy.cfg:22
    method        = "GET"  # 003-haproxy.cfg:22
    path          = "/"    # 003-haproxy.cfg:22
    expect_status = [200]  # 003-haproxy.cfg:23
    interval      = "1s"   # 003-haproxy.cfg:24
    down_interval = "1s"   # HAProxy's downinter defaults to inter
    rise          = 2      # 003-haproxy.cfg:24
    fall          = 3      # 003-haproxy.cfg:24
  }
}

# from 003-haproxy.cfg:29: listen stats
stats {
  bind    = "*:1936" # 003-haproxy.cfg:30
  uri     = "/"      # 003-haproxy.cfg:32
  refresh = "10s"    # 003-haproxy.cfg:33
}
