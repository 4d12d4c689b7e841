# lbd configuration written by `lbctl import` from:
#   002-haproxy.cfg (HAProxy)
#   002-keepalived-master.conf (keepalived)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

global {
  maxconn = 50000     # 002-haproxy.cfg:4 # 최대 수용 가능한 커넥션 수치입니다. defaults, frontend 등 하위 항목에 동일 설정이 있다면 하위 항목의 설정값이 우선입니다.
  log_tag = "haproxy" # HAProxy's syslog tag, so that rsyslog rules keep matching

  log "/dev/log" {
    facility = "local0" # 002-haproxy.cfg:5 # 로그를 syslog로 보낼 수 있습니다. syslog 설정을 통해 원하는 파일에 로그를 남길 수 있습니다.
    level    = "debug"  # 002-haproxy.cfg:5: HAProxy sends every level without one
  }
}

# from 002-haproxy.cfg:7: defaults
defaults {
  mode = "http" # 002-haproxy.cfg:12

  timeouts {
    connect         = "10s" # 002-haproxy.cfg:8
    client          = "30s" # 002-haproxy.cfg:9
    server          = "30s" # 002-haproxy.cfg:10
    http_request    = "30s" # HAProxy's timeout http-request defaults to timeout client
    http_keep_alive = "30s" # HAProxy's timeout http-keep-alive defaults to timeout http-request
    queue           = "10s" # HAProxy's timeout queue defaults to timeout connect
    tunnel          = "30s" # without timeout tunnel, HAProxy times tunnels by timeout client and server
  }
}

# from 002-haproxy.cfg:22: frontend haproxy_web
frontend "haproxy_web" {
  bind            = ["*:80"]      # 002-haproxy.cfg:23
  maxconn         = 3000          # 002-haproxy.cfg:14: inherited from defaults
  default_backend = "web_servers" # 002-haproxy.cfg:24
  log_format      = "httplog"     # 002-haproxy.cfg:13 # httplog 옵션을 사용하면 로그를 조금 더 http 포맷에 맞게 상세히 남길 수 있습니다.(기본 로그는 tcplog)
}

# from 002-haproxy.cfg:26: backend web_servers
backend "web_servers" {
  balance = "roundrobin" # 002-haproxy.cfg:27 # 로드밸런싱 방식을 지정합니다.

  server "server1" {
    address = "web1.premisan.shop:80" # 002-haproxy.cfg:30 # 실제 트래픽을 전달받을 서버에 대한 설정값입니다.
    maxconn = 20                      # 002-haproxy.cfg:29
  }

  server "server2" {
    address = "web2.premisan.shop:8080" # 002-haproxy.cfg:31
    maxconn = 20                        # 002-haproxy.cfg:29
  }

  health_check {
    type          = "http"      # 002-haproxy.cfg:28 # 헬스체크에 대한 옵션을 지정합니다.
    method        = "HEAD"      # 002-haproxy.cfg:28
    path          = "/"         # 002-haproxy.cfg:28
    expect_status = ["200-399"] # HAProxy's httpchk passes 2xx and 3xx
    fast_interval = "2s"        # HAProxy's fastinter defaults to inter
    down_interval = "2s"        # HAProxy's downinter defaults to inter
    timeout       = "2s"        # without timeout check, HAProxy bounds a check by inter
  }
}

# from 002-haproxy.cfg:16: listen stats
stats {
  bind    = "*:8404"   # 002-haproxy.cfg:17
  uri     = "/monitor" # 002-haproxy.cfg:19
  refresh = "5s"       # 002-haproxy.cfg:20
}

# from 002-keepalived-master.conf:11: vrrp_instance VI_1
vrrp_instance "VI_1" {
  interface         = "enp0s8"             # 002-keepalived-master.conf:13
  state             = "MASTER"             # 002-keepalived-master.conf:12
  virtual_router_id = 51                   # 002-keepalived-master.conf:14
  priority          = 100                  # 002-keepalived-master.conf:15 # 마스터 서버의 우선 순위입니다.
  advert_int        = "1s"                 # 002-keepalived-master.conf:16
  auth_pass         = "1111"               # 002-keepalived-master.conf:19
  virtual_ipaddress = ["192.168.2.100/32"] # 002-keepalived-master.conf:21

  # replaces vrrp_script my_chk (/usr/local/bin/http_check.sh: curl http://localhost/) tracked at 002-keepalived-master.conf:25
  track_backend "web_servers" {
    min_up = 1  # 002-keepalived-master.conf:3: the proxy serves while one server is usable
    weight = 10 # 002-keepalived-master.conf:25 # 스크립트를 수행할 것을 명시하는 부분입니다.
  }
}
