# lbd configuration written by `lbctl import` from:
#   keepalived.conf.vrrp (keepalived)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

# from keepalived.conf.vrrp:13: vrrp_instance VI_1
vrrp_instance "VI_1" {
  interface         = "eth0" # keepalived.conf.vrrp:15
  state             = "MASTER" # keepalived.conf.vrrp:14
  virtual_router_id = 51 # keepalived.conf.vrrp:18
  priority          = 100 # keepalived.conf.vrrp:19
  advert_int        = "1s" # keepalived.conf.vrrp:20
  auth_pass         = "1111" # keepalived.conf.vrrp:23
  virtual_ipaddress = ["192.168.200.16/32", "192.168.200.17/32", "192.168.200.18/32"] # keepalived.conf.vrrp:25
  garp_master_delay = "10s" # keepalived.conf.vrrp:16
}

# from keepalived.conf.vrrp:36: vrrp_instance VI_2
vrrp_instance "VI_2" {
  interface         = "eth0" # keepalived.conf.vrrp:37
  virtual_router_id = 50 # keepalived.conf.vrrp:39
  priority          = 50 # keepalived.conf.vrrp:40
  advert_int        = "1s" # keepalived.conf.vrrp:41
  virtual_ipaddress = ["192.168.200.13/32", "192.168.200.14/32", "192.168.200.15/32"] # keepalived.conf.vrrp:42
}

# from keepalived.conf.vrrp:49: vrrp_instance VI_3
vrrp_instance "VI_3" {
  interface         = "eth1" # keepalived.conf.vrrp:51
  state             = "MASTER" # keepalived.conf.vrrp:50
  virtual_router_id = 52 # keepalived.conf.vrrp:53
  priority          = 100 # keepalived.conf.vrrp:54
  advert_int        = "1s" # keepalived.conf.vrrp:55
  auth_pass         = "1111" # keepalived.conf.vrrp:58
  virtual_ipaddress = ["192.168.201.13/32", "192.168.201.14/32", "192.168.201.15/32"] # keepalived.conf.vrrp:60
}

# from keepalived.conf.vrrp:67: vrrp_instance VI_4
vrrp_instance "VI_4" {
  interface         = "eth1" # keepalived.conf.vrrp:68
  virtual_router_id = 53 # keepalived.conf.vrrp:70
  priority          = 50 # keepalived.conf.vrrp:71
  advert_int        = "1s" # keepalived.conf.vrrp:72
  virtual_ipaddress = ["192.168.201.16/32", "192.168.201.17/32", "192.168.201.18/32"] # keepalived.conf.vrrp:73
}
