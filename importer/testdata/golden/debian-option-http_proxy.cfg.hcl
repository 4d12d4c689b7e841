# lbd configuration written by `lbctl import` from:
#   option-http_proxy.cfg (HAProxy)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

global {
  maxconn = 20000     # option-http_proxy.cfg:6
  log_tag = "haproxy" # HAProxy's syslog tag, so that rsyslog rules keep matching

  log "127.0.0.1" {
    facility = "local0" # option-http_proxy.cfg:8
    level    = "debug"  # option-http_proxy.cfg:8: HAProxy sends every level without one
  }
}

defaults {
  mode = "tcp" # HAProxy's default mode
}

# from option-http_proxy.cfg:14: frontend test-proxy
frontend "test-proxy" {
  bind            = ["192.168.200.10:8080"] # option-http_proxy.cfg:15
  mode            = "http"                  # option-http_proxy.cfg:16
  maxconn         = 8000                    # option-http_proxy.cfg:20
  default_backend = "test-proxy-srv"        # option-http_proxy.cfg:33
  log_format      = "httplog"               # option-http_proxy.cfg:18

  timeouts {
    client          = "30s" # option-http_proxy.cfg:21
    http_request    = "30s" # HAProxy's timeout http-request defaults to timeout client
    http_keep_alive = "30s" # HAProxy's timeout http-keep-alive defaults to timeout http-request
  }

  acl "allow_host" {
    # layer3: Valid users
    src = ["192.168.200.150/32"] # option-http_proxy.cfg:24
  }

  http_request "deny" {
    if = "!allow_host" # option-http_proxy.cfg:25
  }
}

# from option-http_proxy.cfg:36: backend test-proxy-srv
backend "test-proxy-srv" {
  mode    = "http" # option-http_proxy.cfg:37
  retries = 2      # option-http_proxy.cfg:40

  timeouts {
    connect = "5s" # option-http_proxy.cfg:38
    server  = "5s" # option-http_proxy.cfg:39
    queue   = "5s" # HAProxy's timeout queue defaults to timeout connect
  }
}
