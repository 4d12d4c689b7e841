# lbd configuration written by `lbctl import` from:
#   keepalived.conf.IPv6 (keepalived)
# Each block names the line it came from; a comment after a value says
# why a value nobody wrote is set (HAProxy's or keepalived's default).
# Check it with: lbd -c -f FILE
