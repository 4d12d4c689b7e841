#!/usr/bin/env bash
# shellcheck disable=SC2016 # bash -c/sh -c bodies take their values as arguments
# deploy/lab/lab.sh — the lbd network-namespace lab: two appliance nodes, two
# web backends and a client on one Ethernet segment, all on this machine.
#
#   lab.sh up               build the topology (removes leftovers of the prefix first)
#   lab.sh down             stop everything in the lab and remove it (idempotent)
#   lab.sh status           show what exists; exit 0 all up, 1 partly, 3 nothing
#   lab.sh start            start-web web1 web2, then start-lbd lb1 lb2
#   lab.sh start-web HOST   run bin/lab-webserver in web1 or web2
#   lab.sh start-lbd NODE   run bin/lbd in lb1 (MASTER/150) or lb2 (BACKUP/100)
#                           with deploy/lab/lab.hcl.tmpl, admin socket in the run dir
#   lab.sh stop HOST [SIG]  signal the process started in HOST (default TERM)
#
# Environment:
#   LAB_PREFIX   name prefix of everything made (default lbdlab); runs with
#                different prefixes never collide
#   LAB_BIN      where lbd, lbctl, lab-webserver are (default REPO/bin)
#   LAB_RUNDIR   configs, pid files, logs, admin sockets (default /run/lbd-lab/PREFIX)
#   LAB_NONLOCAL_BIND=1  also set net.ipv4.ip_nonlocal_bind=1 on the lb nodes
#   LAB_SYSTEMD=1  lb1 and lb2 are each a real systemd (PID 1 in its own PID,
#                mount and network namespaces, deploy/lab/systemd-ns): install
#                lbd there with deploy/install.sh and drive it with systemctl
#                (start-lbd does not apply); the e2e tests of the unit use it
#
# Topology (192.0.2.0/24, TEST-NET-1, only; no default route anywhere):
#
#   PREFIX-br      bridge br0 (no address), one port per host, named after it
#   PREFIX-lb1     eth0 192.0.2.11     appliance node A
#   PREFIX-lb2     eth0 192.0.2.12     appliance node B
#   PREFIX-web1    eth0 192.0.2.21     backend (HTTP :80 :8080, TCP :9000)
#   PREFIX-web2    eth0 192.0.2.22     backend
#   PREFIX-client  eth0 192.0.2.50     where requests come from
#   VIP            192.0.2.100/24      not configured here: lbd's VRRP adds it
#
# Each veth pair is created directly inside its two namespaces, so nothing is
# ever named in the root namespace. Should that fail (old iproute2), the pair
# is made in the root namespace as vHHHHHHNa/b (HHHHHH: a hash of the prefix)
# and moved at once; `down` sweeps such names too.
set -euo pipefail

P=${LAB_PREFIX:-lbdlab}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN=${LAB_BIN:-$REPO/bin}
RUNDIR=${LAB_RUNDIR:-/run/lbd-lab/$P}
TEMPLATE=$HERE/lab.hcl.tmpl

HOSTS=(lb1 lb2 web1 web2 client)
declare -A ADDR=([lb1]=192.0.2.11 [lb2]=192.0.2.12 [web1]=192.0.2.21 [web2]=192.0.2.22 [client]=192.0.2.50)
VIP=192.0.2.100
PLEN=24

die() { echo "lab: $*" >&2; exit 1; }
say() { echo "lab: $*"; }

if ! [[ $P =~ ^[A-Za-z0-9][A-Za-z0-9_]{0,31}$ ]]; then
	die "LAB_PREFIX '$P' must be 1-32 letters, digits or _ (it names namespaces)"
fi
HASH=$(printf '%s' "$P" | md5sum | cut -c1-6)

need_root() {
	[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces); try: sudo $0 $*"
	command -v ip >/dev/null || die "needs iproute2 (ip)"
}

nsname() { echo "$P-$1"; }
ALLNS=("$(nsname br)")
for h in "${HOSTS[@]}"; do ALLNS+=("$(nsname "$h")"); done

# (grep without -q reads all its input: with pipefail, an early exit would
# fail the pipeline with SIGPIPE even on a match.)
ns_exists() { ip netns list | awk '{print $1}' | grep -xF -- "$1" >/dev/null; }

# nsysctl NS KEY VALUE sets a sysctl inside a namespace (/proc/sys/net is
# per network namespace); a key the kernel lacks (e.g. no IPv6) is skipped.
nsysctl() {
	local f=/proc/sys/${2//.//}
	ip netns exec "$1" sh -c '[ ! -e "$1" ] || echo "$2" > "$1"' _ "$f" "$3"
}

SYSTEMD_NS=$HERE/systemd-ns

# is_systemd_node NS: NS is lb1's or lb2's and the lab runs them under systemd.
is_systemd_node() {
	[[ ${LAB_SYSTEMD:-0} == 1 && ($1 == "$(nsname lb1)" || $1 == "$(nsname lb2)") ]]
}

mkns() {
	if is_systemd_node "$1"; then
		# systemd boots as PID 1 with its own network namespace, bound as
		# an ip netns name like the other hosts.
		"$SYSTEMD_NS" start "$1" >/dev/null || die "systemd did not boot in $1"
		"$SYSTEMD_NS" netns "$1"
	else
		ip netns add "$1"
	fi
	ip -n "$1" link set lo up
	# IPv4 only: no link-local IPv6 chatter (RS, MLD, DAD) on the segment.
	nsysctl "$1" net.ipv6.conf.all.disable_ipv6 1
	nsysctl "$1" net.ipv6.conf.default.disable_ipv6 1
}

# mac for 192.0.2.X is 02:00:c0:00:02:XX (locally administered), so packet
# captures and ARP tables read at a glance.
mac_of() { printf '02:00:c0:00:02:%02x' "${1##*.}"; }

# link_host HOST INDEX: a veth pair, eth0 in the host, HOST on br0.
link_host() {
	local h=$1 i=$2 hns brns
	hns=$(nsname "$h") brns=$(nsname br)
	if ! ip link add eth0 netns "$hns" address "$(mac_of "${ADDR[$h]}")" type veth peer name "$h" netns "$brns" 2>/dev/null; then
		local a=v${HASH}${i}a b=v${HASH}${i}b
		ip link add "$a" type veth peer name "$b"
		ip link set "$a" netns "$hns"
		ip link set "$b" netns "$brns"
		ip -n "$hns" link set "$a" name eth0 address "$(mac_of "${ADDR[$h]}")"
		ip -n "$brns" link set "$b" name "$h"
	fi
	ip -n "$brns" link set "$h" master br0 up
	ip -n "$hns" addr add "${ADDR[$h]}/$PLEN" dev eth0
	ip -n "$hns" link set eth0 up
}

# lb_sysctls NS: what keepalived/HAProxy nodes usually get.
lb_sysctls() {
	local ns=$1 k
	for k in all eth0; do
		# Answer ARP only for addresses configured on the interface the
		# request came in on, and source ARP from the best local address:
		# with a VIP on a shared segment, only the node holding it answers.
		nsysctl "$ns" "net.ipv4.conf.$k.arp_ignore" 1
		nsysctl "$ns" "net.ipv4.conf.$k.arp_announce" 2
	done
	# keepalived setups often set ip_nonlocal_bind so HAProxy can bind the
	# VIP on the backup. lbd binds with IP_FREEBIND instead, so the lab leaves
	# it off by default: that way the lab proves lbd does not need it.
	if [[ ${LAB_NONLOCAL_BIND:-0} == 1 ]]; then
		nsysctl "$ns" net.ipv4.ip_nonlocal_bind 1
	fi
}

cmd_up() {
	need_root up
	cleanup quiet
	# A half-built lab is worse than none: undo on any failure or interrupt.
	UP_BUILT=0
	trap '[[ $UP_BUILT == 1 ]] || { echo "lab: up failed; removing what was made" >&2; cleanup quiet; }' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	local brns i=0 h
	brns=$(nsname br)
	mkns "$brns"
	# STP off and no forward delay: ports forward as soon as they are up.
	# mcast_snooping 0: the bridge floods multicast to every port instead of
	# waiting for IGMP reports, so VRRP adverts (224.0.0.18, protocol 112)
	# reach the peer whatever IGMP does. Nothing filters the bridge: its
	# namespace has no firewall rules, and bridge-nf is switched off where the
	# kernel offers it per namespace.
	ip -n "$brns" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
	nsysctl "$brns" net.bridge.bridge-nf-call-iptables 0
	nsysctl "$brns" net.bridge.bridge-nf-call-arptables 0
	ip -n "$brns" link set br0 up
	for h in "${HOSTS[@]}"; do
		mkns "$(nsname "$h")"
		link_host "$h" "$i"
		i=$((i + 1))
	done
	lb_sysctls "$(nsname lb1)"
	lb_sysctls "$(nsname lb2)"
	# No default route: the only route in each host is the connected /24.
	for h in "${HOSTS[@]}"; do
		if [[ -n $(ip -n "$(nsname "$h")" -4 route show default) ]]; then
			die "unexpected default route in $(nsname "$h")"
		fi
	done
	UP_BUILT=1
	trap - EXIT INT TERM
	say "up: prefix $P, hosts ${HOSTS[*]} on br0 in $brns (VIP $VIP is lbd's to add)"
}

# ns_pids: the processes inside the lab's namespaces that exist now.
# (ip netns pids skips zombies, which kill -0 would count as alive.)
ns_pids() {
	local ns
	for ns in "${ALLNS[@]}"; do
		if ns_exists "$ns"; then ip netns pids "$ns" 2>/dev/null || true; fi
	done
}

# stop_lab_procs: TERM every process in the lab's namespaces (lbd then
# removes its VIPs), KILL what remains after 3s. Only processes inside the
# lab's own namespaces are touched.
stop_lab_procs() {
	local pids n
	pids=$(ns_pids)
	[[ -n $pids ]] || return 0
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null || true
	for n in $(seq 30); do
		pids=$(ns_pids)
		[[ -n $pids ]] || return 0
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null || true
}

# cleanup removes every namespace and root-namespace veth of this prefix;
# safe to run on nothing, on a half-built lab, and twice.
cleanup() {
	local ns l
	# A systemd node goes with its PID 1 (whatever LAB_SYSTEMD says now).
	for ns in "$(nsname lb1)" "$(nsname lb2)"; do
		if [[ -e /run/systemd-ns/$ns.pid ]]; then
			"$SYSTEMD_NS" stop "$ns" 2>/dev/null || true
		fi
	done
	stop_lab_procs
	for ns in "${ALLNS[@]}"; do
		if ns_exists "$ns"; then
			ip netns del "$ns" || echo "lab: cannot delete namespace $ns" >&2
		fi
	done
	# Fallback veths left in the root namespace by an interrupted up.
	for l in $(ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//'); do
		if [[ $l =~ ^v${HASH}[0-9][ab]$ ]]; then
			ip link del "$l" 2>/dev/null || true
		fi
	done
	if [[ -d $RUNDIR ]]; then
		rm -f "$RUNDIR"/*.pid "$RUNDIR"/*.sock "$RUNDIR"/*.hcl "$RUNDIR"/*.log "$RUNDIR"/*.fail "$RUNDIR"/*.out
		rmdir "$RUNDIR" 2>/dev/null || true
		[[ -n ${LAB_RUNDIR:-} ]] || rmdir /run/lbd-lab 2>/dev/null || true
	fi
	[[ ${1:-} == quiet ]] || say "down: nothing left with prefix $P"
}

cmd_down() {
	need_root down
	cleanup
}

cmd_status() {
	command -v ip >/dev/null || die "needs iproute2 (ip)"
	local ns h n=0 pidf
	for ns in "${ALLNS[@]}"; do ns_exists "$ns" && n=$((n + 1)); done
	if [[ $n -eq 0 ]]; then
		echo "lab $P: not up"
		return 3
	fi
	echo "lab $P: $n of ${#ALLNS[@]} namespaces"
	printf '  %-16s %-18s %-8s %s\n' NAMESPACE ADDRESS PROCS RUNNING
	for h in "${HOSTS[@]}"; do
		ns=$(nsname "$h")
		if ! ns_exists "$ns"; then
			printf '  %-16s %s\n' "$ns" "(missing)"
			continue
		fi
		local addrs procs run=""
		addrs=$(ip -n "$ns" -4 -o addr show dev eth0 2>/dev/null | awk '{print $4}' | paste -sd, -)
		procs=$(ip netns pids "$ns" 2>/dev/null | wc -l)
		pidf=$RUNDIR/$h.pid
		if alive "$h"; then
			run="$(cat "/proc/$(cat "$pidf")/comm") pid $(cat "$pidf")"
		fi
		printf '  %-16s %-18s %-8s %s\n' "$ns" "${addrs:-none}" "$procs" "$run"
	done
	ns=$(nsname br)
	if ns_exists "$ns"; then
		echo "  $ns br0 ports: $(ip -n "$ns" -o link show master br0 | awk -F': ' '{print $2}' | sed 's/@.*//' | paste -sd' ' -)"
	else
		echo "  $ns (missing)"
	fi
	echo "  run dir: $RUNDIR"
	[[ $n -eq ${#ALLNS[@]} ]] || return 1
}

# launch NAME NS CMD... runs CMD inside NS in its own session (so the lab
# outlives the shell that started it), output to RUNDIR/NAME.log, its pid
# in RUNDIR/NAME.pid.
launch() {
	local name=$1 ns=$2
	shift 2
	ns_exists "$ns" || die "namespace $ns does not exist; run: $0 up"
	mkdir -p "$RUNDIR"
	chmod 0750 "$RUNDIR"
	rm -f "$RUNDIR/$name.pid"
	setsid ip netns exec "$ns" bash -c 'echo $$ >"$0"; exec "$@"' "$RUNDIR/$name.pid" "$@" \
		</dev/null >>"$RUNDIR/$name.log" 2>&1 &
	local n
	for n in $(seq 50); do
		[[ -s $RUNDIR/$name.pid ]] && return 0
		sleep 0.1
	done
	die "$name did not start; see $RUNDIR/$name.log"
}

# alive NAME: the process started as NAME still runs (a zombie does not).
alive() {
	local pid st
	[[ -f $RUNDIR/$1.pid ]] || return 1
	pid=$(cat "$RUNDIR/$1.pid")
	st=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1) || return 1
	[[ -n $st && $st != Z && $st != X ]]
}

# wait_tcp FROMNS ADDR PORT: until a TCP connect from FROMNS succeeds (10s).
wait_tcp() {
	local n
	for n in $(seq 100); do
		if ip netns exec "$1" timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$2" "$3" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

cmd_start_web() {
	need_root start-web
	local h=$1 a
	[[ $h == web1 || $h == web2 ]] || die "start-web: HOST is web1 or web2"
	[[ -x $BIN/lab-webserver ]] || die "$BIN/lab-webserver missing; run: make bin/lab-webserver"
	alive "$h" && die "$h already runs (pid $(cat "$RUNDIR/$h.pid"))"
	a=${ADDR[$h]}
	launch "$h" "$(nsname "$h")" "$BIN/lab-webserver" -name "$h" \
		-http "$a:80" -http "$a:8080" -tcp "$a:9000" -fail-file "$RUNDIR/$h.fail"
	wait_tcp "$(nsname client)" "$a" 80 || die "$h does not answer on $a:80; see $RUNDIR/$h.log"
	say "$h: lab-webserver on $a:80 $a:8080 (http) $a:9000 (tcp), pid $(cat "$RUNDIR/$h.pid")"
}

# render NODE writes the node's config to RUNDIR/NODE.hcl and prints its path.
render() {
	local state prio
	case $1 in
	lb1) state=MASTER prio=150 ;;
	lb2) state=BACKUP prio=100 ;;
	*) die "NODE is lb1 or lb2" ;;
	esac
	mkdir -p "$RUNDIR"
	sed -e "s/@STATE@/$state/g" -e "s/@PRIORITY@/$prio/g" -e "s/@NODE@/$1/g" "$TEMPLATE" >"$RUNDIR/$1.hcl"
	echo "$RUNDIR/$1.hcl"
}

cmd_start_lbd() {
	need_root start-lbd
	local node=$1 cfg sock out n
	[[ $node == lb1 || $node == lb2 ]] || die "start-lbd: NODE is lb1 or lb2"
	[[ -x $BIN/lbd ]] || die "$BIN/lbd missing; run: make build"
	alive "$node" && die "lbd already runs in $node (pid $(cat "$RUNDIR/$node.pid"))"
	cfg=$(render "$node")
	sock=$RUNDIR/$node.sock
	if ! out=$("$BIN/lbd" -c -f "$cfg" 2>&1); then
		echo "$out" >&2
		die "$cfg is not valid"
	fi
	rm -f "$sock"
	launch "$node" "$(nsname "$node")" "$BIN/lbd" -f "$cfg" --socket "$sock"
	for n in $(seq 100); do
		[[ -S $sock ]] && break
		alive "$node" || break
		sleep 0.1
	done
	if ! [[ -S $sock ]] || ! alive "$node"; then
		tail -n 20 "$RUNDIR/$node.log" >&2 || true
		die "lbd in $node did not come up; see $RUNDIR/$node.log"
	fi
	say "$node: lbd pid $(cat "$RUNDIR/$node.pid"), config $cfg, admin socket $sock"
}

cmd_stop() {
	need_root stop
	local h=$1 sig=${2:-TERM}
	alive "$h" || die "nothing started in $h is running"
	kill "-$sig" "$(cat "$RUNDIR/$h.pid")"
}

cmd_start() {
	cmd_start_web web1
	cmd_start_web web2
	if [[ -x $BIN/lbd ]]; then
		cmd_start_lbd lb1
		cmd_start_lbd lb2
	else
		say "no $BIN/lbd yet (make build): lb1 and lb2 run nothing"
	fi
	cat <<EOF
lab: try it
  ip netns exec $P-client curl -s http://$VIP/            # through the VIP
  ip netns exec $P-client curl -s http://${ADDR[lb1]}:8080/    # node lb1 directly
  $BIN/lbctl --socket $RUNDIR/lb1.sock vip status
  $BIN/lbctl --socket $RUNDIR/lb2.sock backend status
  $0 stop lb1 KILL                                # crash the master
  logs: $RUNDIR/*.log      remove it all: $0 down
EOF
}

usage() {
	sed -n '3,13p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

# nargs MIN MAX "$@": the subcommand got between MIN and MAX arguments.
nargs() {
	local lo=$1 hi=$2
	shift 2
	if (($# - 1 < lo || $# - 1 > hi)); then usage; fi
}

case ${1:-} in
up) nargs 0 0 "$@" && cmd_up ;;
down) nargs 0 0 "$@" && cmd_down ;;
status) nargs 0 0 "$@" && cmd_status ;;
start) nargs 0 0 "$@" && need_root start && cmd_start ;;
start-web) nargs 1 1 "$@" && cmd_start_web "$2" ;;
start-lbd) nargs 1 1 "$@" && cmd_start_lbd "$2" ;;
stop) nargs 1 2 "$@" && cmd_stop "$2" "${3:-TERM}" ;;
render) nargs 1 1 "$@" && render "$2" ;;
*) usage ;;
esac
