# lbd configuration written by `lbctl import` from:
#   keepalived.conf.vrrp.localcheck (keepalived)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

# from keepalived.conf.vrrp.localcheck:11: vrrp_script chk_sshd
vrrp_script "chk_sshd" {
  script   = "killall -0 sshd" # keepalived.conf.vrrp.localcheck:12 # cheaper than pidof
  interval = "2s"              # keepalived.conf.vrrp.localcheck:13 # check every 2 seconds
  timeout  = "2s"              # keepalived's timeout defaults to the interval
  fall     = 2                 # keepalived.conf.vrrp.localcheck:15 # require 2 failures for KO
  rise     = 2                 # keepalived.conf.vrrp.localcheck:16 # require 2 successes for OK
  weight   = -4                # keepalived.conf.vrrp.localcheck:14 # default prio: -4 if KO
}

# from keepalived.conf.vrrp.localcheck:42: vrrp_instance VI_1
vrrp_instance "VI_1" {
  interface         = "eth0"                # keepalived.conf.vrrp.localcheck:43
  state             = "MASTER"              # keepalived.conf.vrrp.localcheck:44
  virtual_router_id = 51                    # keepalived.conf.vrrp.localcheck:45
  priority          = 100                   # keepalived.conf.vrrp.localcheck:46
  virtual_ipaddress = ["192.168.200.18/25"] # keepalived.conf.vrrp.localcheck:47
  track_script      = ["chk_sshd"]          # keepalived.conf.vrrp.localcheck:56 # use default weight from the script
  track_interface   = ["eth3"]              # keepalived.conf.vrrp.localcheck:50
}

# from keepalived.conf.vrrp.localcheck:64: vrrp_instance VI_2
vrrp_instance "VI_2" {
  interface         = "eth1"                # keepalived.conf.vrrp.localcheck:65
  state             = "MASTER"              # keepalived.conf.vrrp.localcheck:66
  virtual_router_id = 52                    # keepalived.conf.vrrp.localcheck:67
  priority          = 100                   # keepalived.conf.vrrp.localcheck:68
  virtual_ipaddress = ["192.168.201.18/26"] # keepalived.conf.vrrp.localcheck:69
  track_interface   = ["eth3"]              # keepalived.conf.vrrp.localcheck:72
}

# from keepalived.conf.vrrp.localcheck:85: vrrp_instance VI_3
vrrp_instance "VI_3" {
  interface         = "eth0"                # keepalived.conf.vrrp.localcheck:86
  virtual_router_id = 53                    # keepalived.conf.vrrp.localcheck:87
  priority          = 100                   # keepalived.conf.vrrp.localcheck:88
  virtual_ipaddress = ["192.168.200.19/27"] # keepalived.conf.vrrp.localcheck:89
}

# from keepalived.conf.vrrp.localcheck:94: vrrp_instance VI_4
vrrp_instance "VI_4" {
  interface         = "eth1"                # keepalived.conf.vrrp.localcheck:95
  virtual_router_id = 54                    # keepalived.conf.vrrp.localcheck:96
  priority          = 100                   # keepalived.conf.vrrp.localcheck:97
  virtual_ipaddress = ["192.168.201.19/28"] # keepalived.conf.vrrp.localcheck:98
}

# from keepalived.conf.vrrp.localcheck:103: vrrp_instance VI_5
vrrp_instance "VI_5" {
  interface         = "eth0"                # keepalived.conf.vrrp.localcheck:105
  state             = "MASTER"              # keepalived.conf.vrrp.localcheck:104
  virtual_router_id = 55                    # keepalived.conf.vrrp.localcheck:106
  priority          = 100                   # keepalived.conf.vrrp.localcheck:107
  virtual_ipaddress = ["192.168.200.20/27"] # keepalived.conf.vrrp.localcheck:108
}

# from keepalived.conf.vrrp.localcheck:114: vrrp_instance VI_6
vrrp_instance "VI_6" {
  interface         = "eth0"                # keepalived.conf.vrrp.localcheck:116
  state             = "MASTER"              # keepalived.conf.vrrp.localcheck:115
  virtual_router_id = 56                    # keepalived.conf.vrrp.localcheck:117
  priority          = 100                   # keepalived.conf.vrrp.localcheck:118
  virtual_ipaddress = ["192.168.200.21/27"] # keepalived.conf.vrrp.localcheck:119
}

# from keepalived.conf.vrrp.localcheck:124: vrrp_instance VI_7
vrrp_instance "VI_7" {
  interface         = "eth0"                # keepalived.conf.vrrp.localcheck:126
  state             = "MASTER"              # keepalived.conf.vrrp.localcheck:125
  virtual_router_id = 57                    # keepalived.conf.vrrp.localcheck:127
  priority          = 100                   # keepalived.conf.vrrp.localcheck:128
  virtual_ipaddress = ["192.168.200.22/27"] # keepalived.conf.vrrp.localcheck:129
}

# from keepalived.conf.vrrp.localcheck:134: vrrp_instance VI_8
vrrp_instance "VI_8" {
  interface         = "eth0"                # keepalived.conf.vrrp.localcheck:136
  state             = "MASTER"              # keepalived.conf.vrrp.localcheck:135
  virtual_router_id = 58                    # keepalived.conf.vrrp.localcheck:137
  priority          = 100                   # keepalived.conf.vrrp.localcheck:138
  virtual_ipaddress = ["192.168.200.23/27"] # keepalived.conf.vrrp.localcheck:139
}

# from keepalived.conf.vrrp.localcheck:144: vrrp_instance VI_9
vrrp_instance "VI_9" {
  interface         = "eth0"                # keepalived.conf.vrrp.localcheck:146
  state             = "MASTER"              # keepalived.conf.vrrp.localcheck:145
  virtual_router_id = 59                    # keepalived.conf.vrrp.localcheck:147
  priority          = 100                   # keepalived.conf.vrrp.localcheck:148
  virtual_ipaddress = ["192.168.200.24/27"] # keepalived.conf.vrrp.localcheck:149
}
