# lbd configuration written by `lbctl import` from:
#   keepalived.conf.vrrp.static_ipaddress (keepalived)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

# from keepalived.conf.vrrp.static_ipaddress:13: vrrp_instance VI_1
vrrp_instance "VI_1" {
  interface         = "eth0"                # keepalived.conf.vrrp.static_ipaddress:15
  state             = "MASTER"              # keepalived.conf.vrrp.static_ipaddress:14
  virtual_router_id = 51                    # keepalived.conf.vrrp.static_ipaddress:16
  priority          = 100                   # keepalived.conf.vrrp.static_ipaddress:17
  virtual_ipaddress = ["192.168.200.20/32"] # keepalived.conf.vrrp.static_ipaddress:18
}
