# lbd configuration written by `lbctl import` from:
#   001-haproxy.cfg (HAProxy)
#   001-keepalived.conf (keepalived)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

global {
  maxconn = 4096      # 001-haproxy.cfg:6
  log_tag = "haproxy" # HAProxy's syslog tag, so that rsyslog rules keep matching

  log "127.0.0.1" {
    facility = "local0" # 001-haproxy.cfg:5
    level    = "debug"  # 001-haproxy.cfg:5: HAProxy sends every level without one
  }
}

# from 001-haproxy.cfg:10: defaults
defaults {
  mode = "http" # 001-haproxy.cfg:12

  timeouts {
    connect         = "5s" # 001-haproxy.cfg:16
    client          = "5s" # 001-haproxy.cfg:17
    server          = "5s" # 001-haproxy.cfg:15
    http_request    = "5s" # HAProxy's timeout http-request defaults to timeout client
    http_keep_alive = "5s" # HAProxy's timeout http-keep-alive defaults to timeout http-request
    queue           = "5s" # HAProxy's timeout queue defaults to timeout connect
    tunnel          = "5s" # without timeout tunnel, HAProxy times tunnels by timeout client and server
  }
}

# from 001-haproxy.cfg:18: listen tcp_service_a :14900
frontend "tcp_service_a" {
  bind            = ["*:14900"]     # 001-haproxy.cfg:18
  mode            = "tcp"           # 001-haproxy.cfg:19
  default_backend = "tcp_service_a" # 001-haproxy.cfg:18: the listen section's own servers
  log_format      = "tcplog"        # 001-haproxy.cfg:20
}

# from 001-haproxy.cfg:18: listen tcp_service_a :14900
backend "tcp_service_a" {
  mode    = "tcp"        # 001-haproxy.cfg:19
  # tcp-check send PING
  # tcp-check expect string PONG
  balance = "roundrobin" # 001-haproxy.cfg:24

  server "tcp_service_a_01" {
    address = "192.0.2.1:4900" # 001-haproxy.cfg:25
  }

  server "tcp_service_a_02" {
    address = "192.0.2.2:4900" # 001-haproxy.cfg:26
  }

  health_check {
    fast_interval = "2s" # HAProxy's fastinter defaults to inter
    down_interval = "2s" # HAProxy's downinter defaults to inter
    timeout       = "2s" # without timeout check, HAProxy bounds a check by inter
  }
}

# from 001-haproxy.cfg:27: listen stats :80
stats {
  bind    = "*:80"           # 001-haproxy.cfg:27
  uri     = "/haproxy.stats" # 001-haproxy.cfg:33
  refresh = "30s"            # 001-haproxy.cfg:32
}

# Configuation for the virtual interface
# from 001-keepalived.conf:24: vrrp_instance VI_1
vrrp_instance "VI_1" {
  interface         = "eth0"             # 001-keepalived.conf:26
  state             = "MASTER"           # 001-keepalived.conf:27 # set this to BACKUP on the other machine
  virtual_router_id = 51                 # 001-keepalived.conf:29
  priority          = 101                # 001-keepalived.conf:28 # set this to 100 on the other machine
  auth_pass         = "myPassw0"         # 001-keepalived.conf:35 # Set this to some secret phrase
  virtual_ipaddress = ["192.0.2.100/32"] # 001-keepalived.conf:39

  # replaces vrrp_script chk_haproxy (killall -0 haproxy) tracked at 001-keepalived.conf:45
  track_backend "tcp_service_a" {
    min_up = 1 # 001-keepalived.conf:17: the proxy serves while one server is usable
    weight = 2 # 001-keepalived.conf:45
  }
}
