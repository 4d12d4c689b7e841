# lbd configuration written by `lbctl import` from:
#   keepalived.conf.vrrp.sync (keepalived)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

# from keepalived.conf.vrrp.sync:25: vrrp_instance VI_1
vrrp_instance "VI_1" {
  interface         = "eth0"                # keepalived.conf.vrrp.sync:26
  state             = "MASTER"              # keepalived.conf.vrrp.sync:27
  virtual_router_id = 51                    # keepalived.conf.vrrp.sync:28
  priority          = 100                   # keepalived.conf.vrrp.sync:29
  virtual_ipaddress = ["192.168.200.18/25"] # keepalived.conf.vrrp.sync:30
}

# from keepalived.conf.vrrp.sync:35: vrrp_instance VI_2
vrrp_instance "VI_2" {
  interface         = "eth1"                # keepalived.conf.vrrp.sync:36
  state             = "MASTER"              # keepalived.conf.vrrp.sync:37
  virtual_router_id = 52                    # keepalived.conf.vrrp.sync:38
  priority          = 100                   # keepalived.conf.vrrp.sync:39
  virtual_ipaddress = ["192.168.201.18/26"] # keepalived.conf.vrrp.sync:40
}

# from keepalived.conf.vrrp.sync:45: vrrp_instance VI_3
vrrp_instance "VI_3" {
  interface         = "eth0"                # keepalived.conf.vrrp.sync:46
  virtual_router_id = 53                    # keepalived.conf.vrrp.sync:47
  priority          = 100                   # keepalived.conf.vrrp.sync:48
  virtual_ipaddress = ["192.168.200.19/27"] # keepalived.conf.vrrp.sync:49
}

# from keepalived.conf.vrrp.sync:54: vrrp_instance VI_4
vrrp_instance "VI_4" {
  interface         = "eth1"                # keepalived.conf.vrrp.sync:55
  virtual_router_id = 54                    # keepalived.conf.vrrp.sync:56
  priority          = 100                   # keepalived.conf.vrrp.sync:57
  virtual_ipaddress = ["192.168.201.19/28"] # keepalived.conf.vrrp.sync:58
}

# from keepalived.conf.vrrp.sync:63: vrrp_instance VI_5
vrrp_instance "VI_5" {
  interface         = "eth0"                # keepalived.conf.vrrp.sync:65
  state             = "MASTER"              # keepalived.conf.vrrp.sync:64
  virtual_router_id = 55                    # keepalived.conf.vrrp.sync:66
  priority          = 100                   # keepalived.conf.vrrp.sync:67
  virtual_ipaddress = ["192.168.200.20/27"] # keepalived.conf.vrrp.sync:68
}

# from keepalived.conf.vrrp.sync:73: vrrp_instance VI_6
vrrp_instance "VI_6" {
  interface         = "eth0"                # keepalived.conf.vrrp.sync:75
  state             = "MASTER"              # keepalived.conf.vrrp.sync:74
  virtual_router_id = 56                    # keepalived.conf.vrrp.sync:76
  priority          = 100                   # keepalived.conf.vrrp.sync:77
  virtual_ipaddress = ["192.168.200.21/27"] # keepalived.conf.vrrp.sync:78
}

# from keepalived.conf.vrrp.sync:83: vrrp_instance VI_7
vrrp_instance "VI_7" {
  interface         = "eth0"                # keepalived.conf.vrrp.sync:85
  state             = "MASTER"              # keepalived.conf.vrrp.sync:84
  virtual_router_id = 57                    # keepalived.conf.vrrp.sync:86
  priority          = 100                   # keepalived.conf.vrrp.sync:87
  virtual_ipaddress = ["192.168.200.22/27"] # keepalived.conf.vrrp.sync:88
}

# from keepalived.conf.vrrp.sync:93: vrrp_instance VI_8
vrrp_instance "VI_8" {
  interface         = "eth0"                # keepalived.conf.vrrp.sync:95
  state             = "MASTER"              # keepalived.conf.vrrp.sync:94
  virtual_router_id = 58                    # keepalived.conf.vrrp.sync:96
  priority          = 100                   # keepalived.conf.vrrp.sync:97
  virtual_ipaddress = ["192.168.200.23/27"] # keepalived.conf.vrrp.sync:98
}

# from keepalived.conf.vrrp.sync:103: vrrp_instance VI_9
vrrp_instance "VI_9" {
  interface         = "eth0"                # keepalived.conf.vrrp.sync:105
  state             = "MASTER"              # keepalived.conf.vrrp.sync:104
  virtual_router_id = 59                    # keepalived.conf.vrrp.sync:106
  priority          = 100                   # keepalived.conf.vrrp.sync:107
  virtual_ipaddress = ["192.168.200.24/27"] # keepalived.conf.vrrp.sync:108
}

# from keepalived.conf.vrrp.sync:3: vrrp_sync_group G1
vrrp_sync_group "G1" {
  group         = ["VI_1", "VI_2", "VI_5", "VI_6", "VI_7", "VI_8", "VI_9"] # keepalived.conf.vrrp.sync:5
  notify_master = "/usr/local/bin/vrrp.mast arg1 arg2" # keepalived.conf.vrrp.sync:14
  notify_backup = "/usr/local/bin/vrrp.back arg1 arg2" # keepalived.conf.vrrp.sync:13
  notify_fault  = "/usr/local/bin/vrrp.fault arg1 arg2" # keepalived.conf.vrrp.sync:15
}

# from keepalived.conf.vrrp.sync:18: vrrp_sync_group G2
vrrp_sync_group "G2" {
  group = ["VI_3", "VI_4"] # keepalived.conf.vrrp.sync:20
}
