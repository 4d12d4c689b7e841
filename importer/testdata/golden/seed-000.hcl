# lbd configuration written by `lbctl import` from:
#   000-haproxy.cfg (HAProxy)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

global {
  maxconn = 4000      # 000-haproxy.cfg:16 # 프로세스당 최대 연결 개수
  log_tag = "haproxy" # HAProxy's syslog tag, so that rsyslog rules keep matching

  log "127.0.0.1" {
    facility = "local1" # 000-haproxy.cfg:6 # 지정한 ip (127.0.0.1) 또는 소켓 (/dev/log)에 로그를 보냄
    level    = "notice" # 000-haproxy.cfg:6
  }

  ssl_default_bind {
    ciphers = "ECDH+AESGCM:DH+AESGCM:ECDH+AES256:DH+AES256:ECDH+AES128:DH+AES:RSA+AESGCM:RSA+AES:!aNULL:!MD5:!DSS" # 000-haproxy.cfg:19
  }
}

# from 000-haproxy.cfg:21: defaults
defaults {
  mode = "http" # 000-haproxy.cfg:23 # http 프로토콜을 사용하는 로드밸런싱 모드

  timeouts {
    connect         = "10s" # 000-haproxy.cfg:30 # TCP 패킷 손실을 막기위한 Real 서버로의 연결 최대 지연시간 설정 (Backend에 적용되나 전역으로 설정 가능)
    client          = "1m"  # 000-haproxy.cfg:31 # 외부 클라이언트 요청이나 데이터와의 연결 최대 시간 (Request와 같이 사용하여 서버 안정성을 구현)
    server          = "1m"  # 000-haproxy.cfg:32 # 서버가 데이터를 승인하거나 전송해야할 때의 연결 최대 시간
    http_request    = "10s" # 000-haproxy.cfg:28 # Request시의 헤더에만 적용, DDos 방어를 위해 HTTP 요청 타임아웃시간 설정 (클라이언트의 연결 타임아웃과는 무관한 HAProxy 서버의 옵션임)
    http_keep_alive = "10s" # 000-haproxy.cfg:29 # 클라이언트 요청에 따른 응답 전송 후 다음 요청 대기시간 설정 (http-request가 선행함)
    queue           = "1m"  # 000-haproxy.cfg:33 # 서버의 maxconn 도달시 무한정 보류상태로 두지 않고 HTTP 503 응답을 보내면서 연결을 버리는 시간 설정 (Surge Queue Time)
    tunnel          = "1m"  # without timeout tunnel, HAProxy times tunnels by timeout client and server
  }
}

# from 000-haproxy.cfg:48: frontend haproxy
frontend "haproxy" {
  bind            = ["*:80"]  # 000-haproxy.cfg:49 # 접속 포트 지정
  mode            = "http"    # 000-haproxy.cfg:50 # 프로토콜 유형 설정
  default_backend = "server"  # 000-haproxy.cfg:51 # Front서버에서 전달할 기본 backend
  forward_for     = true      # 000-haproxy.cfg:26: inherited from defaults # 클라이언트 정보 전달 (X-Forwarded-For 헤더를 넣어서 전달)
  log_format      = "httplog" # 000-haproxy.cfg:24 # 기본 Log는 SIP, DIP와 Name만 표기하므로 이 옵션을 사용해 좀 더 자세하게 출력

  error_file {
    # 에러 파일 설정
    status = 400                            # 000-haproxy.cfg:35: inherited from defaults
    path   = "/etc/haproxy/errors/400.http" # 000-haproxy.cfg:35
  }

  error_file {
    status = 403                            # 000-haproxy.cfg:36: inherited from defaults
    path   = "/etc/haproxy/errors/403.http" # 000-haproxy.cfg:36
  }

  error_file {
    status = 408                            # 000-haproxy.cfg:37: inherited from defaults
    path   = "/etc/haproxy/errors/408.http" # 000-haproxy.cfg:37
  }

  error_file {
    status = 500                            # 000-haproxy.cfg:38: inherited from defaults
    path   = "/etc/haproxy/errors/500.http" # 000-haproxy.cfg:38
  }

  error_file {
    status = 502                            # 000-haproxy.cfg:39: inherited from defaults
    path   = "/etc/haproxy/errors/502.http" # 000-haproxy.cfg:39
  }

  error_file {
    status = 503                            # 000-haproxy.cfg:40: inherited from defaults
    path   = "/etc/haproxy/errors/503.http" # 000-haproxy.cfg:40
  }

  error_file {
    status = 504                            # 000-haproxy.cfg:41: inherited from defaults
    path   = "/etc/haproxy/errors/504.http" # 000-haproxy.cfg:41
  }
}

# from 000-haproxy.cfg:52: backend server
backend "server" {
  mode    = "http"       # 000-haproxy.cfg:53 # 프로토콜 유형 설정
  balance = "roundrobin" # 000-haproxy.cfg:54 # LoadBalancer 유형 설정

  server "web01" {
    address = "192.168.50.11:80" # 000-haproxy.cfg:58 # real server
    cookie  = "web01"            # 000-haproxy.cfg:58
  }

  server "web02" {
    address = "192.168.50.12:80" # 000-haproxy.cfg:59 # real server
    cookie  = "web02"            # 000-haproxy.cfg:59
  }

  health_check {
    type          = "http" # 000-haproxy.cfg:56 # healthcheck uri로 GET 뒤의 경로에 curl 명령으로 http header 값 [200 OK] 확인 (server 옵션에서 inter값으로 주기 설정)
    method        = "GET"  # 000-haproxy.cfg:56
    path          = "/"    # 000-haproxy.cfg:56
    expect_status = [200]  # 000-haproxy.cfg:57 # http check시 header 값이 200이면 정상을 의미
    interval      = "3s"   # 000-haproxy.cfg:58
    fast_interval = "3s"   # HAProxy's fastinter defaults to inter
    down_interval = "3s"   # HAProxy's downinter defaults to inter
    timeout       = "3s"   # without timeout check, HAProxy bounds a check by inter
    rise          = 2      # 000-haproxy.cfg:58
    fall          = 5      # 000-haproxy.cfg:58
  }

  cookie "SVID" {
    mode     = "insert" # 000-haproxy.cfg:55 # Sticky Session 설정 (maxlife는 유지기간 설정)
    indirect = true     # 000-haproxy.cfg:55
    nocache  = true     # 000-haproxy.cfg:55
    httponly = false    # 000-haproxy.cfg:55: not on the HAProxy line
    maxidle  = "0s"     # 000-haproxy.cfg:55: no maxidle on the HAProxy line
    maxlife  = "10m"    # 000-haproxy.cfg:55
  }
}

# from 000-haproxy.cfg:42: listen stats_page
stats {
  bind = "*:8080" # 000-haproxy.cfg:43 # 접속 포트 지정
  uri  = "/"      # 000-haproxy.cfg:46 # 접근할 URI 경로

  auth {
    user     = "admin" # 000-haproxy.cfg:47 # 인증 추가 (auth [User]:[Password])
    password = "admin" # 000-haproxy.cfg:47
  }
}
