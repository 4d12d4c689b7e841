# lbd configuration written by `lbctl import` from:
#   keepalived.conf.vrrp.routes (keepalived)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

# from keepalived.conf.vrrp.routes:15: vrrp_instance VI_1
vrrp_instance "VI_1" {
  interface         = "eth0"                # keepalived.conf.vrrp.routes:17
  state             = "MASTER"              # keepalived.conf.vrrp.routes:16
  virtual_router_id = 51                    # keepalived.conf.vrrp.routes:18
  priority          = 100                   # keepalived.conf.vrrp.routes:19
  virtual_ipaddress = ["192.168.200.16/32"] # keepalived.conf.vrrp.routes:20
}
