# lbd configuration written by `lbctl import` from:
#   keepalived.conf.track_interface (keepalived)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE

# from keepalived.conf.track_interface:14: vrrp_instance VI_1
vrrp_instance "VI_1" {
  interface         = "eth0.1"              # keepalived.conf.track_interface:16 # Vlaned interface
  state             = "MASTER"              # keepalived.conf.track_interface:15
  virtual_router_id = 51                    # keepalived.conf.track_interface:21
  priority          = 100                   # keepalived.conf.track_interface:22
  virtual_ipaddress = ["192.168.200.16/32"] # keepalived.conf.track_interface:23
  track_interface   = ["eth0", "eth1"]      # keepalived.conf.track_interface:17
}
