#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions called through show, wait_for and traps
# deploy/lab/demo.sh — what `make demo` runs: a narrated tour of an lbd pair in
# the network-namespace lab (deploy/lab/lab.sh). It builds, brings the lab up,
# starts two web backends and lbd on two nodes, shows traffic through each
# node, the backends' health and the VRRP state, then (when this build of lbd
# speaks VRRP) crashes the master, brings it back, and hands the VIP over on
# purpose, measuring what a client polling every 20 ms went through, then
# measures a keepalived pair with the same VRRPv3 settings the same way. It
# ends by itself and removes the lab on every exit, Ctrl-C included.
#
# Options: --no-build (use the binaries already in LAB_BIN, default REPO/bin).
# Environment: LAB_PREFIX (default lbddemo), LAB_BIN, LAB_RUNDIR (see lab.sh).
# Exit status: 0 when every shown check passed (skipped parts do not count),
# 1 when one failed; the logs are then kept and their place is printed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export LAB_PREFIX=${LAB_PREFIX:-lbddemo}
export LAB_BIN=${LAB_BIN:-$REPO/bin}
export LAB_RUNDIR=${LAB_RUNDIR:-/run/lbd-lab/$LAB_PREFIX}
LAB=$HERE/lab.sh
BIN=$LAB_BIN
RUNDIR=$LAB_RUNDIR
CLIENT=$LAB_PREFIX-client
VIP=192.0.2.100
declare -A ADDR=([lb1]=192.0.2.11 [lb2]=192.0.2.12 [web1]=192.0.2.21 [web2]=192.0.2.22)

if [[ -t 1 ]]; then
	B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' Y=$'\e[33m' N=$'\e[0m'
else
	B='' G='' R='' Y='' N=''
fi
STEP=0
RESULTS=()   # one line per check, for the summary
FAILED=0
T0=$SECONDS

step() { STEP=$((STEP + 1)); printf '\n%s== %d. %s%s\n' "$B" "$STEP" "$*" "$N"; }
say() { printf '   %s\n' "$*"; }
show() { # show CMD...: print the command, run it, indent its output; never fails
	local rc=0 shown="$*"
	case $1 in
	lbctl) shown="[$2] lbctl ${*:3}" ;;
	in_client) shown="[client] ${*:2}" ;;
	esac
	printf '   %s$ %s%s\n' "$B" "$shown" "$N"
	"$@" >"$RUNDIR/show.out" 2>&1 || rc=$?
	sed 's/^/     /' "$RUNDIR/show.out"
	if [[ $rc -ne 0 ]]; then printf '     (exit status %d)\n' "$rc"; fi
	return 0
}
pass() { printf '   %s✓ %s%s\n' "$G" "$*" "$N"; RESULTS+=("ok       $*"); }
fail() { printf '   %s✗ %s%s\n' "$R" "$*" "$N"; RESULTS+=("FAILED   $*"); FAILED=1; }
skip() { printf '   %sskipped: %s%s\n' "$Y" "$*" "$N"; RESULTS+=("skipped  $*"); }
die() { printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }

# --- build (as the invoking user), then root -----------------------------------
BUILD=1
case ${1:-} in
--no-build) BUILD=0 ;;
"") ;;
*) die "usage: $0 [--no-build]" ;;
esac
if [[ $BUILD == 1 ]]; then
	step "Build: bin/lbd, bin/lbctl, and the lab's web server and probe"
	make -C "$REPO" --no-print-directory build lab-tools
fi
for b in lbd lbctl lab-webserver lab-probe; do
	[[ -x $BIN/$b ]] || die "$BIN/$b is missing (make build lab-tools)"
done
if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null || die "the lab needs root (network namespaces); run: sudo make demo"
	say "the lab needs root (network namespaces): continuing with sudo"
	exec sudo LAB_PREFIX="$LAB_PREFIX" LAB_BIN="$LAB_BIN" LAB_RUNDIR="$LAB_RUNDIR" "$0" --no-build
fi

# --- cleanup on every exit -------------------------------------------------------
PROBE_PID=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $PROBE_PID ]]; then kill "$PROBE_PID" 2>/dev/null || true; fi
	if [[ $rc -ne 0 && -d $RUNDIR ]]; then
		local keep
		keep=$(mktemp -d /tmp/lbd-demo-logs.XXXXXX)
		cp "$RUNDIR"/*.log "$RUNDIR"/*.hcl "$RUNDIR"/*.out "$keep"/ 2>/dev/null || true
		printf '\n   logs kept in %s\n' "$keep"
	fi
	"$LAB" down >/dev/null 2>&1 || "$LAB" down || true
	printf '\n%s== the lab is removed (nothing left with prefix %s)%s\n' "$B" "$LAB_PREFIX" "$N"
	exit "$rc"
}
trap cleanup EXIT
trap 'printf "\n   interrupted\n"; exit 130' INT TERM

# --- helpers ------------------------------------------------------------------------
lbctl() { local node=$1; shift; "$BIN/lbctl" --socket "$RUNDIR/$node.sock" "$@"; }
in_client() { ip netns exec "$CLIENT" "$@"; }

# vip_state NODE: the state of the (only) VRRP instance, "" if none or no answer.
vip_state() {
	lbctl "$1" --json vip status 2>/dev/null | tr -d ' \n\t' | grep -o '"state":"[A-Z]*"' | head -n1 | cut -d'"' -f4 || true
}

# wait_for SECONDS CMD...: poll CMD every 100 ms until it succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < end)) || return 1
		sleep 0.1
	done
}
state_is() { [[ $(vip_state "$1") == "$2" ]]; }
servers_up() { # all four servers (2 backends x 2) UP on NODE
	local n
	n=$(lbctl "$1" --json backend status 2>/dev/null | tr -d ' \n\t' | grep -o '"state":"UP"' | wc -l || true)
	[[ $n -ge 4 ]]
}

# who URL: the X-Server of one answer, HTTPnnn for another status, or FAIL.
who() {
	local out code server
	if ! out=$(in_client curl -s -m 2 -o /dev/null -D - -w '%{http_code}\n' "$1" 2>&1); then
		echo FAIL
		return
	fi
	out=$(tr -d '\r' <<<"$out")
	code=$(tail -n1 <<<"$out")
	server=$(awk -F': ' 'tolower($1)=="x-server"{print $2}' <<<"$out")
	if [[ $code == 200 && -n $server ]]; then echo "$server"; else echo "HTTP$code"; fi
}

# requests LABEL URL N: N requests from the client; checks both backends answer.
requests() {
	local label=$1 url=$2 n=$3 i seen=() line
	for ((i = 0; i < n; i++)); do seen+=("$(who "$url")"); done
	line="${seen[*]}"
	say "client -> $label: $line"
	if [[ $line == *web1* && $line == *web2* && $line != *FAIL* && $line != *HTTP* ]]; then
		pass "requests through $label reach web1 and web2"
	else
		fail "requests through $label: $line"
	fi
}

# probe_start NAME [URL]: the client starts polling the VIP every 20 ms.
probe_start() {
	# Started directly (not through a function) so that $! is the probe.
	ip netns exec "$CLIENT" "$BIN/lab-probe" -url "${2:-http://$VIP/}" -interval 20ms -timeout 250ms >"$RUNDIR/$1.out" 2>&1 &
	PROBE_PID=$!
	sleep 1
}

# probe_stop NAME: stop the probe; sets GAP (e.g. 3.71s), FAILS, REQS, SERVERS.
probe_stop() {
	# TERM: background jobs of a script start with SIGINT ignored.
	kill -TERM "$PROBE_PID" 2>/dev/null || true
	wait "$PROBE_PID" || true
	PROBE_PID=
	local sum
	sum=$(grep '^summary ' "$RUNDIR/$1.out" || true)
	[[ -n $sum ]] || { fail "probe $1 printed no summary"; cat "$RUNDIR/$1.out"; return 1; }
	grep -v '^summary ' "$RUNDIR/$1.out" | sed 's/^/     probe: /' || true
	GAP=$(sed -n 's/.* longest_gap=\([^ ]*\).*/\1/p' <<<"$sum")
	FAILS=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$sum")
	REQS=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$sum")
	SERVERS=$(sed -n 's/.* servers=\([^ ]*\).*/\1/p' <<<"$sum")
}

holder() { # which node has the VIP on eth0
	local h out=""
	for h in lb1 lb2; do
		if ip -n "$LAB_PREFIX-$h" -4 -o addr show dev eth0 | grep -q " $VIP/"; then out+=" $h"; fi
	done
	echo "${out:- nobody}" | sed 's/^ //; s/ / and /'

}

# --- the tour -----------------------------------------------------------------------
step "The lab: five network namespaces on one bridge, 192.0.2.0/24 only"
"$LAB" up | sed 's/^/   /'
mkdir -p "$RUNDIR"
cat <<EOF
   client 192.0.2.50 ─┐
   lb1    192.0.2.11 ─┤  (lbd, MASTER 150)     VIP 192.0.2.100 belongs to whichever
   lb2    192.0.2.12 ─┼─ br0                   node is VRRP master (VRID 51)
   web1   192.0.2.21 ─┤  (HTTP :80 :8080, TCP :9000)
   web2   192.0.2.22 ─┘
EOF

step "Two web backends"
"$LAB" start-web web1 | sed 's/^/   /'
"$LAB" start-web web2 | sed 's/^/   /'
say "each answers with its own name, e.g. straight from the client:"
show in_client curl -s -i "http://${ADDR[web1]}/"

step "lbd on both nodes, one config template"
"$LAB" render lb1 >/dev/null
"$LAB" render lb2 >/dev/null
say "the two nodes' files differ only in state and priority:"
printf '   %s$ diff lb1.hcl lb2.hcl%s\n' "$B" "$N"
diff "$RUNDIR/lb1.hcl" "$RUNDIR/lb2.hcl" | sed 's/^/     /' || true
show "$BIN/lbd" -c -f "$RUNDIR/lb1.hcl"
"$LAB" start-lbd lb1 | sed 's/^/   /'
"$LAB" start-lbd lb2 | sed 's/^/   /'
say "below, [NODE] lbctl ... stands for: $BIN/lbctl --socket $RUNDIR/NODE.sock ..."

step "Health checks: lbctl backend status on both nodes"
if wait_for 20 servers_up lb1 && wait_for 10 servers_up lb2; then
	pass "both nodes see web1 and web2 UP (GET /health every second)"
elif lbctl lb1 --json backend status 2>/dev/null | tr -d ' \n\t' | grep -q '"state":"UNCHECKED"' &&
	! lbctl lb1 --json backend status 2>/dev/null | tr -d ' \n\t' | grep -Eq '"state":"(UP|DOWN)'; then
	skip "health checks: this build reports every server UNCHECKED (checks not running yet)"
else
	fail "not every server came UP within 20s"
fi
show lbctl lb1 backend status
show lbctl lb2 backend status

step "Requests through each node's own address (:8080)"
requests "lb1 (${ADDR[lb1]}:8080)" "http://${ADDR[lb1]}:8080/" 6
requests "lb2 (${ADDR[lb2]}:8080)" "http://${ADDR[lb2]}:8080/" 6

step "VRRP: lbctl vip status on both nodes"
VRRP=0
if ! out=$(lbctl lb1 --json vip status 2>&1); then
	show lbctl lb1 vip status
	skip "VRRP not available in this build (lbctl vip status: $(head -n1 <<<"$out"))"
else
	wait_for 10 state_is lb1 MASTER || true
	st1=$(vip_state lb1) st2=$(vip_state lb2)
	show lbctl lb1 vip status
	show lbctl lb2 vip status
	case $st1 in
	MASTER | BACKUP | FAULT)
		if [[ $st1 == MASTER && $st2 == BACKUP ]]; then
			pass "lb1 is MASTER, lb2 BACKUP; the VIP is on: $(holder)"
			VRRP=1
		else
			fail "after 10s lb1 is ${st1:-?} and lb2 ${st2:-?} (want MASTER and BACKUP)"
		fi
		;;
	*) skip "VRRP not available in this build (lb1 reports state '${st1:-none}')" ;;
	esac
fi

tour_vip() {
	step "Requests through the VIP ($VIP), HTTP and TCP"
	requests "the VIP" "http://$VIP/" 6
	local tcp
	tcp=$(in_client timeout 3 bash -c 'exec 3<>/dev/tcp/192.0.2.100/9000; printf "NAME\r\nPING\r\n" >&3; head -n2 <&3' 2>&1 | tr -d '\r' | paste -sd' ' - || true)
	say "client -> $VIP:9000: NAME, PING -> $tcp"
	if [[ $tcp =~ ^web[12]\ PONG$ ]]; then pass "TCP through the VIP"; else fail "TCP through the VIP: '$tcp'"; fi
}

tour_crash() {
	step "Crash: kill -9 the master (lb1) while the client polls the VIP every 20 ms"
	say "VRRPv3 with an advert every 100 ms (version = 3, advert_int = \"100ms\"): lb2 takes"
	say "over when lb1's adverts stop for 3 x 100 ms + skew (0.36 s)"
	probe_start crash
	say "kill -9 lbd on lb1 (pid $(cat "$RUNDIR/lb1.pid"))"
	"$LAB" stop lb1 KILL
	if wait_for 15 state_is lb2 MASTER; then
		say "lb2 took over: VIP on $(holder)"
		if [[ $(holder) == *lb1* ]]; then
			say "(lb1's kernel still has the address: a kill -9 gives lbd no chance to remove it;"
			say " the client follows the gratuitous ARP lb2 sent when it took over)"
		fi
	else
		fail "lb2 did not become MASTER within 15s (state $(vip_state lb2))"
	fi
	sleep 2
	probe_stop crash || return 0
	say "the client went ${GAP} without service: $FAILS of $REQS requests failed; answers came from $SERVERS"
	LBD_GAP=$GAP
	if [[ $FAILS -lt $REQS ]] && state_is lb2 MASTER; then
		pass "failover after a crash: longest gap $GAP, $FAILS failed requests"
	else
		fail "service did not come back through lb2"
	fi
	show lbctl lb2 vip status
}

tour_return() {
	step "The master comes back and preempts (lb1 priority 150 > lb2 100)"
	probe_start return
	"$LAB" start-lbd lb1 | sed 's/^/   /'
	if wait_for 20 state_is lb1 MASTER && wait_for 5 state_is lb2 BACKUP; then
		say "lb1 is MASTER again: VIP on $(holder)"
	else
		fail "lb1 did not preempt within 20s (lb1 $(vip_state lb1), lb2 $(vip_state lb2))"
	fi
	sleep 2
	probe_stop return || return 0
	say "during the return the client went at most $GAP without service: $FAILS of $REQS requests failed"
	if state_is lb1 MASTER; then pass "preemption: longest gap $GAP, $FAILS failed requests"; fi
	show lbctl lb1 vip status
}

tour_release() {
	step "Planned failover: lbctl vip release VI_1 on lb1"
	probe_start release
	local out
	if ! out=$(lbctl lb1 vip release VI_1 2>&1); then
		probe_stop release || true
		skip "lbctl vip release not available in this build: $(head -n1 <<<"$out")"
		return 0
	fi
	say "lbctl vip release VI_1: $out"
	if ! wait_for 15 state_is lb2 MASTER; then
		fail "lb2 did not become MASTER within 15s after the release"
	fi
	sleep 2
	probe_stop release || return 0
	say "VIP on $(holder); the client went at most $GAP without an answer: $FAILS of $REQS requests failed"
	if [[ $FAILS -eq 0 ]] && state_is lb2 MASTER; then
		pass "planned failover with zero failed requests"
	else
		fail "planned failover: $FAILS failed requests"
	fi
	show lbctl lb1 vip status
	say "lb1 stays BACKUP until: lbctl vip reclaim VI_1"
	show lbctl lb1 vip reclaim VI_1
	if wait_for 15 state_is lb1 MASTER; then
		pass "lbctl vip reclaim gives the VIP back to lb1"
	else
		fail "lb1 is $(vip_state lb1) 15s after vip reclaim"
	fi
}

# keepalived_start NODE PRIO: keepalived with the lab's VRRPv3 instance, in
# its own session (kill -9 of its group is a crash of both its processes).
keepalived_start() {
	local node=$1 prio=$2 dir=$RUNDIR/keepalived-$1
	mkdir -p "$dir"
	cat >"$dir/keepalived.conf" <<EOF
global_defs {
  router_id $node
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority $prio
  version 3
  advert_int 0.1
  virtual_ipaddress {
    $VIP/24
  }
}
EOF
	setsid ip netns exec "$LAB_PREFIX-$node" keepalived -n -l -D -P -G -f "$dir/keepalived.conf" \
		-p "$dir/keepalived.pid" -r "$dir/vrrp.pid" >"$RUNDIR/keepalived-$node.log" 2>&1 &
	echo $! >"$dir/session.pid"
	disown
}

# web_on NODE: the lab web server on NODE's port 80, standing in for
# HAProxy next to keepalived, in its own session.
web_on() {
	setsid ip netns exec "$LAB_PREFIX-$1" "$BIN/lab-webserver" -name "$1" -http "0.0.0.0:80" >"$RUNDIR/web-$1.log" 2>&1 &
	echo $! >"$RUNDIR/web-$1.pid"
	disown
}

holds_vip() { ip -n "$LAB_PREFIX-$1" -4 -o addr show dev eth0 | grep -q " $VIP/"; }
holds_none() { ! holds_vip lb1 && ! holds_vip lb2; }

tour_keepalived() {
	step "For comparison: keepalived with the same VRRPv3 settings, kill -9 of its master"
	if ! command -v keepalived >/dev/null; then
		skip "keepalived is not installed"
		return 0
	fi
	"$LAB" stop lb1 TERM 2>/dev/null || true
	"$LAB" stop lb2 TERM 2>/dev/null || true
	wait_for 10 holds_none || true
	sleep 1
	say "lbd stopped on both nodes; keepalived 2.2 (vrrp_version 3, advert_int 0.1, priorities"
	say "150 and 100) on lb1 and lb2, each with a web server on :80 standing in for HAProxy"
	web_on lb1
	web_on lb2
	keepalived_start lb2 100
	keepalived_start lb1 150
	if ! wait_for 10 holds_vip lb1; then
		fail "keepalived on lb1 did not take the VIP"
		return 0
	fi
	sleep 1
	probe_start keepalived
	say "kill -9 keepalived and the web server on lb1"
	kill -KILL -- "-$(cat "$RUNDIR/keepalived-lb1/session.pid")" "-$(cat "$RUNDIR/web-lb1.pid")" 2>/dev/null || true
	if wait_for 10 holds_vip lb2; then
		say "keepalived on lb2 took over"
	else
		fail "keepalived on lb2 did not take the VIP within 10s"
	fi
	sleep 2
	probe_stop keepalived || return 0
	say "the client went ${GAP} without service with keepalived ($FAILS of $REQS requests failed),"
	say "${LBD_GAP:-?} with lbd: the same protocol timers, side by side"
	pass "keepalived VRRPv3 failover measured: longest gap $GAP (lbd: ${LBD_GAP:-?})"
}

if [[ $VRRP == 1 ]]; then
	tour_vip
	tour_crash
	tour_return
	tour_release
	tour_keepalived
else
	step "Through the VIP, crash of the master, preemption, planned failover"
	skip "VRRP not available in this build: nothing holds the VIP $VIP"
fi

step "Summary ($((SECONDS - T0))s)"
for r in "${RESULTS[@]}"; do say "$r"; done
if [[ $FAILED == 1 ]]; then
	say "${R}some checks failed${N}"
	exit 1
fi
exit 0
