# lbd configuration written by `lbctl import` from:
#   keepalived.conf.vrrp.scripts (keepalived)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

# from keepalived.conf.vrrp.scripts:16: vrrp_instance VI_1
vrrp_instance "VI_1" {
  interface         = "eth0" # keepalived.conf.vrrp.scripts:18
  state             = "MASTER" # keepalived.conf.vrrp.scripts:17
  virtual_router_id = 51 # keepalived.conf.vrrp.scripts:20
  priority          = 100 # keepalived.conf.vrrp.scripts:21
  advert_int        = "1s" # keepalived.conf.vrrp.scripts:22
  auth_pass         = "1111" # keepalived.conf.vrrp.scripts:25
  virtual_ipaddress = ["192.168.200.16/32", "192.168.200.17/32", "192.168.200.18/32"] # keepalived.conf.vrrp.scripts:27
  notify_master     = "/usr/local/bin/vrrp.sh  MASTER  VI_1" # keepalived.conf.vrrp.scripts:33
  notify_backup     = "/usr/local/bin/vrrp.sh  BACKUP   VI_1" # keepalived.conf.vrrp.scripts:32
  notify_fault      = "/usr/local/bin/vrrp.sh  FAULT  VI_1" # keepalived.conf.vrrp.scripts:34
}

# from keepalived.conf.vrrp.scripts:38: vrrp_instance VI_2
vrrp_instance "VI_2" {
  interface         = "eth0"                 # keepalived.conf.vrrp.scripts:39
  state             = "MASTER"               # keepalived.conf.vrrp.scripts:40
  virtual_router_id = 52                     # keepalived.conf.vrrp.scripts:41
  priority          = 150                    # keepalived.conf.vrrp.scripts:42
  virtual_ipaddress = ["192.168.200.100/27"] # keepalived.conf.vrrp.scripts:43
}

# from keepalived.conf.vrrp.scripts:48: vrrp_instance VI_3
vrrp_instance "VI_3" {
  interface         = "eth0"                 # keepalived.conf.vrrp.scripts:49
  state             = "MASTER"               # keepalived.conf.vrrp.scripts:50
  virtual_router_id = 53                     # keepalived.conf.vrrp.scripts:51
  priority          = 150                    # keepalived.conf.vrrp.scripts:52
  virtual_ipaddress = ["192.168.200.101/27"] # keepalived.conf.vrrp.scripts:53
}

# from keepalived.conf.vrrp.scripts:6: vrrp_sync_group G1
vrrp_sync_group "G1" {
  group         = ["VI_2", "VI_3"]                      # keepalived.conf.vrrp.scripts:8
  notify_master = "/usr/local/bin/vrrp.mast arg1 arg2"  # keepalived.conf.vrrp.scripts:12
  notify_backup = "/usr/local/bin/vrrp.back arg1 arg2"  # keepalived.conf.vrrp.scripts:11
  notify_fault  = "/usr/local/bin/vrrp.fault arg1 arg2" # keepalived.conf.vrrp.scripts:13
}
