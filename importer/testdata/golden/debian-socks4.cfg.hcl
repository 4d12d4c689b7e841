# lbd configuration written by `lbctl import` from:
#   socks4.cfg (HAProxy)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

global {
  log_tag = "haproxy" # HAProxy's syslog tag, so that rsyslog rules keep matching

  log "/dev/log" {
    facility = "local0" # socks4.cfg:2
    level    = "debug"  # socks4.cfg:2: HAProxy sends every level without one
  }

  log "/dev/log" {
    facility = "local1" # socks4.cfg:3
    level    = "notice" # socks4.cfg:3
  }
}

# from socks4.cfg:6: defaults
defaults {
  mode = "http" # socks4.cfg:8

  timeouts {
    connect         = "5s"  # socks4.cfg:11
    client          = "50s" # socks4.cfg:12
    server          = "50s" # socks4.cfg:13
    http_request    = "50s" # HAProxy's timeout http-request defaults to timeout client
    http_keep_alive = "50s" # HAProxy's timeout http-keep-alive defaults to timeout http-request
    queue           = "5s"  # HAProxy's timeout queue defaults to timeout connect
    tunnel          = "50s" # without timeout tunnel, HAProxy times tunnels by timeout client and server
  }
}

# from socks4.cfg:15: listen SMTP-20025
frontend "SMTP-20025" {
  bind            = ["0.0.0.0:20025"] # socks4.cfg:16
  mode            = "tcp"             # socks4.cfg:17
  maxconn         = 2000              # socks4.cfg:19
  default_backend = "SMTP-20025"      # socks4.cfg:15: the listen section's own servers
  log_format      = "tcplog"          # socks4.cfg:18

  timeouts {
    client = "50s" # socks4.cfg:21
  }
}

# from socks4.cfg:27: listen SSL-20080
frontend "SSL-20080" {
  bind            = ["0.0.0.0:20080"] # socks4.cfg:28
  mode            = "tcp"             # socks4.cfg:29
  maxconn         = 2000              # socks4.cfg:31
  default_backend = "SSL-20080"       # socks4.cfg:27: the listen section's own servers
  log_format      = "tcplog"          # socks4.cfg:30

  timeouts {
    client = "50s" # socks4.cfg:33
  }
}

# from socks4.cfg:15: listen SMTP-20025
backend "SMTP-20025" {
  mode = "tcp" # socks4.cfg:17

  timeouts {
    connect = "5s"  # socks4.cfg:20
    server  = "50s" # socks4.cfg:22
  }

  server "SMTPS1" {
    address = "192.0.2.1:25" # socks4.cfg:24
  }

  server "SMTPS2_Via_SocksProxy1" {
    address = "192.0.2.2:25" # socks4.cfg:25
    backup  = true           # socks4.cfg:25
  }

  health_check {
    interval      = "30s" # socks4.cfg:24
    fast_interval = "1s"  # socks4.cfg:24: HAProxy's fastinter defaults to inter
    down_interval = "30s" # HAProxy's downinter defaults to inter
    timeout       = "30s" # without timeout check, HAProxy bounds a check by inter
  }
}

# from socks4.cfg:27: listen SSL-20080
backend "SSL-20080" {
  mode = "tcp" # socks4.cfg:29

  timeouts {
    connect = "5s"  # socks4.cfg:32
    server  = "50s" # socks4.cfg:34
  }

  server "HTTPS1_Via_SocksProxy1" {
    address = "192.0.2.1:443" # socks4.cfg:36

    tls {
      verify = "none" # socks4.cfg:36
    }
  }

  server "HTTPS2" {
    address = "192.0.2.2:443" # socks4.cfg:37
    backup  = true            # socks4.cfg:37

    tls {
      verify = "none" # socks4.cfg:37
    }
  }

  health_check {
    interval      = "30s" # socks4.cfg:36
    fast_interval = "1s"  # socks4.cfg:36: HAProxy's fastinter defaults to inter
    down_interval = "30s" # HAProxy's downinter defaults to inter
    timeout       = "30s" # without timeout check, HAProxy bounds a check by inter
  }
}

# HAProxy web ui
# from socks4.cfg:40: listen stats
stats {
  bind = "0.0.0.0:20936" # socks4.cfg:41
  uri  = "/haproxy"      # socks4.cfg:52: HAProxy's /haproxy?stats; lbd serves the page at /haproxy with any query
}
