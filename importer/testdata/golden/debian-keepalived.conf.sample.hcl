# lbd configuration written by `lbctl import` from:
#   keepalived.conf.sample (keepalived)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

# from keepalived.conf.sample:13: vrrp_instance VI_1
vrrp_instance "VI_1" {
  interface         = "eth0" # keepalived.conf.sample:14
  virtual_router_id = 50 # keepalived.conf.sample:15
  priority          = 100 # keepalived.conf.sample:17
  advert_int        = "1s" # keepalived.conf.sample:18
  preempt           = false # keepalived.conf.sample:16
  virtual_ipaddress = ["192.168.200.11/32", "192.168.200.12/32", "192.168.200.13/32"] # keepalived.conf.sample:19
}
