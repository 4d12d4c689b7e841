# lbd configuration written by `lbctl import` from:
#   content-sw-sample.cfg (HAProxy)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

global {
  maxconn = 10000     # content-sw-sample.cfg:11
  log_tag = "haproxy" # HAProxy's syslog tag, so that rsyslog rules keep matching

  log "127.0.0.1" {
    facility = "local0" # content-sw-sample.cfg:13
    level    = "debug"  # content-sw-sample.cfg:13: HAProxy sends every level without one
  }
}

defaults {
  mode = "tcp" # HAProxy's default mode
}

# The public 'www' address in the DMZ
# from content-sw-sample.cfg:20: frontend public
frontend "public" {
  bind            = ["192.168.1.10:80"] # content-sw-sample.cfg:21
  # bind            192.168.1.10:443 ssl crt /etc/haproxy/haproxy.pem
  mode            = "http"              # content-sw-sample.cfg:23
  maxconn         = 8000                # content-sw-sample.cfg:28
  default_backend = "dynamic"           # content-sw-sample.cfg:34
  log_format      = "httplog"           # content-sw-sample.cfg:25

  timeouts {
    client          = "30s" # content-sw-sample.cfg:29
    http_request    = "30s" # HAProxy's timeout http-request defaults to timeout client
    http_keep_alive = "30s" # HAProxy's timeout http-keep-alive defaults to timeout http-request
  }

  acl "anon_1" {
    host_beg = ["img"] # content-sw-sample.cfg:32: lbd compares the host without its port and without case
  }

  route "static" {
    if      = "anon_1" # content-sw-sample.cfg:32
    backend = "static" # content-sw-sample.cfg:32
  }

  route "static_2" {
    path_prefix = ["/img", "/css"] # content-sw-sample.cfg:33
    backend     = "static"         # content-sw-sample.cfg:33
  }
}

# The static backend backend for 'Host: img', /img and /css.
# from content-sw-sample.cfg:37: backend static
backend "static" {
  mode    = "http"       # content-sw-sample.cfg:38
  balance = "roundrobin" # content-sw-sample.cfg:39
  retries = 2            # content-sw-sample.cfg:41

  timeouts {
    connect = "5s" # content-sw-sample.cfg:43
    server  = "5s" # content-sw-sample.cfg:44
    queue   = "5s" # HAProxy's timeout queue defaults to timeout connect
  }

  server "statsrv1" {
    address = "192.168.1.8:80" # content-sw-sample.cfg:46
  }

  server "statsrv2" {
    address = "192.168.1.9:80" # content-sw-sample.cfg:47
  }

  health_check {
    type          = "http"         # content-sw-sample.cfg:45
    method        = "HEAD"         # content-sw-sample.cfg:45
    path          = "/favicon.ico" # content-sw-sample.cfg:45
    expect_status = ["200-399"]    # HAProxy's httpchk passes 2xx and 3xx
    interval      = "1s"           # content-sw-sample.cfg:46
    down_interval = "1s"           # HAProxy's downinter defaults to inter
  }
}

# the application servers go here
# from content-sw-sample.cfg:50: backend dynamic
backend "dynamic" {
  mode    = "http"       # content-sw-sample.cfg:51
  balance = "roundrobin" # content-sw-sample.cfg:52
  retries = 2            # content-sw-sample.cfg:53

  timeouts {
    connect = "5s"  # content-sw-sample.cfg:55
    server  = "30s" # content-sw-sample.cfg:56
    queue   = "30s" # content-sw-sample.cfg:57
  }

  server "dynsrv1" {
    address = "192.168.1.1:80" # content-sw-sample.cfg:61
    maxconn = 500              # content-sw-sample.cfg:61
    cookie  = "s1"             # content-sw-sample.cfg:61
  }

  server "dynsrv2" {
    address = "192.168.1.2:80" # content-sw-sample.cfg:62
    maxconn = 500              # content-sw-sample.cfg:62
    cookie  = "s2"             # content-sw-sample.cfg:62
  }

  server "dynsrv3" {
    address = "192.168.1.3:80" # content-sw-sample.cfg:63
    maxconn = 500              # content-sw-sample.cfg:63
    cookie  = "s3"             # content-sw-sample.cfg:63
  }

  server "dynsrv4" {
    address = "192.168.1.4:80" # content-sw-sample.cfg:64
    maxconn = 500              # content-sw-sample.cfg:64
    cookie  = "s4"             # content-sw-sample.cfg:64
  }

  health_check {
    type          = "http"       # content-sw-sample.cfg:58
    method        = "HEAD"       # content-sw-sample.cfg:58
    path          = "/login.php" # content-sw-sample.cfg:58
    expect_status = ["200-399"]  # HAProxy's httpchk passes 2xx and 3xx
    interval      = "1s"         # content-sw-sample.cfg:61
    down_interval = "1s"         # HAProxy's downinter defaults to inter
  }

  cookie "DYNSRV" {
    mode     = "insert" # content-sw-sample.cfg:59
    indirect = true     # content-sw-sample.cfg:59
    nocache  = true     # content-sw-sample.cfg:59
    httponly = false    # content-sw-sample.cfg:59: not on the HAProxy line
    maxidle  = "0s"     # content-sw-sample.cfg:59: no maxidle on the HAProxy line
    maxlife  = "0s"     # content-sw-sample.cfg:59: no maxlife on the HAProxy line
  }
}
