# lbd configuration written by `lbctl import` from:
#   transparent_proxy.cfg (HAProxy)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

# from transparent_proxy.cfg:9: defaults
defaults {
  mode = "tcp" # HAProxy's default mode

  timeouts {
    connect         = "30s" # transparent_proxy.cfg:12
    client          = "30s" # transparent_proxy.cfg:10
    server          = "30s" # transparent_proxy.cfg:11
    http_request    = "30s" # HAProxy's timeout http-request defaults to timeout client
    http_keep_alive = "30s" # HAProxy's timeout http-keep-alive defaults to timeout http-request
    tunnel          = "30s" # without timeout tunnel, HAProxy times tunnels by timeout client and server
  }
}

# from transparent_proxy.cfg:14: frontend MyFrontend
frontend "MyFrontend" {
  bind            = ["192.168.1.22:80"]    # transparent_proxy.cfg:15
  mode            = "http"                 # transparent_proxy.cfg:14: HAProxy upgrades this tcp frontend's connections to HTTP for its http backends
  default_backend = "TransparentBack_http" # transparent_proxy.cfg:16
  access_log      = false                  # no "log global" for this proxy in HAProxy: it logs nothing
}

# from transparent_proxy.cfg:18: backend TransparentBack_http
backend "TransparentBack_http" {
  mode = "http" # transparent_proxy.cfg:19

  server "MyWebServer" {
    address = "192.168.0.40:80" # transparent_proxy.cfg:21
    check   = false             # transparent_proxy.cfg:21: no check on the HAProxy server line
  }
}
