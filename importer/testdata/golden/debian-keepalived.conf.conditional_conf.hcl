# lbd configuration written by `lbctl import` from:
#   keepalived.conf.conditional_conf (keepalived)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

# from keepalived.conf.conditional_conf:15: vrrp_instance VI_0
vrrp_instance "VI_0" {
  interface         = "eth0"            # keepalived.conf.conditional_conf:17
  state             = "BACKUP"          # keepalived.conf.conditional_conf:16
  virtual_router_id = 1                 # keepalived.conf.conditional_conf:18
  version           = 3                 # keepalived.conf.conditional_conf:22
  advert_int        = "12s"             # keepalived.conf.conditional_conf:21
  virtual_ipaddress = ["10.1.0.254/32"] # keepalived.conf.conditional_conf:31
  use_vmac          = true              # keepalived.conf.conditional_conf:23
  track_interface   = ["eth3"]          # keepalived.conf.conditional_conf:27
}
