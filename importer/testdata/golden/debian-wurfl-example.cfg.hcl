# lbd configuration written by `lbctl import` from:
#   wurfl-example.cfg (HAProxy)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

# from wurfl-example.cfg:24: defaults
defaults {
  mode = "http" # wurfl-example.cfg:25

  timeouts {
    connect         = "30s" # wurfl-example.cfg:26
    client          = "30s" # wurfl-example.cfg:27
    server          = "30s" # wurfl-example.cfg:28
    http_request    = "30s" # HAProxy's timeout http-request defaults to timeout client
    http_keep_alive = "30s" # HAProxy's timeout http-keep-alive defaults to timeout http-request
    tunnel          = "30s" # without timeout tunnel, HAProxy times tunnels by timeout client and server
  }
}

# from wurfl-example.cfg:30: frontend TheFrontend
frontend "TheFrontend" {
  bind            = ["192.168.1.22:80"] # wurfl-example.cfg:31
  default_backend = "TheBackend"        # wurfl-example.cfg:32
  access_log      = false               # no "log global" for this proxy in HAProxy: it logs nothing
}

# from wurfl-example.cfg:40: backend TheBackend
backend "TheBackend" {
  server "TheWebServer" {
    address = "192.168.0.40:80" # wurfl-example.cfg:41
    check   = false             # wurfl-example.cfg:41: no check on the HAProxy server line
  }
}
