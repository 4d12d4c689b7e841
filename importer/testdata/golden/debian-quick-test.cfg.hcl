# lbd configuration written by `lbctl import` from:
#   quick-test.cfg (HAProxy)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

# from quick-test.cfg:13: defaults
defaults {
  mode = "http" # quick-test.cfg:14

  timeouts {
    connect         = "1s" # quick-test.cfg:18
    client          = "1m" # quick-test.cfg:16
    server          = "1m" # quick-test.cfg:17
    http_request    = "1m" # HAProxy's timeout http-request defaults to timeout client
    http_keep_alive = "1m" # HAProxy's timeout http-keep-alive defaults to timeout http-request
    queue           = "1s" # HAProxy's timeout queue defaults to timeout connect
    tunnel          = "1m" # without timeout tunnel, HAProxy times tunnels by timeout client and server
  }
}

# from quick-test.cfg:20: listen p
frontend "p" {
  # this is the address and port we'll listen to, the ones to aim the
  # load generators at
  bind            = ["*:8000"] # quick-test.cfg:23
  default_backend = "p"        # quick-test.cfg:20: the listen section's own servers
  access_log      = false      # no "log global" for this proxy in HAProxy: it logs nothing
}

# from quick-test.cfg:20: listen p
backend "p" {
  balance = "random" # quick-test.cfg:15: inherited from defaults # power-of-two-choices

  server "s1" {
    # Put the server's IP address and port below
    address = "172.31.32.33:8000" # quick-test.cfg:29
    check   = false               # quick-test.cfg:29: no check on the HAProxy server line
  }
}
