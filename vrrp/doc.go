// Package vrrp is lbd's VRRP speaker, version 2 (RFC 3768) and version 3
// (RFC 5798, IPv4 and IPv6): keepalived's vrrp_instance and vrrp_script
// inside the load balancer, wire-compatible with keepalived 2.2 and FRR's
// vrrpd so that a pair may mix lbd with either during a migration.
//
// # Layout
//
//   - packet.go: the advert codec (RFC 3768 and RFC 5798 section 5), the
//     only place versions and families differ besides the announcer.
//   - validate.go: receive validation (section 7.1), every drop counted by
//     Reason.
//   - fsm.go, instance.go: the state machine (section 6.4) with keepalived's
//     FAULT state, tracking and preempt_delay. Beside the RFC state, each
//     sub-machine keeps its phase in one field, a type per phase, with the
//     one timer that phase uses: vips.go (the VIPs: absent, claimed,
//     announced, leaving), switch.go (leaving: the moment the VIPs move to
//     a live successor), handover.go (a master's planned departure:
//     staying, awaiting a successor, handing off; its purpose, release,
//     sync or shutdown, decides where it ends). reload.go applies a
//     reload in place (speaker.go restarts an instance whose identity
//     changed, after a planned handover). sync.go: vrrp_sync_group,
//     instances that change state together. It all runs against a clock and an instanceIO, so
//     that the unit tests drive it with a fake clock over a simulated
//     segment.
//   - track.go, command.go: tracked scripts, interfaces and backends;
//     script and notify execution.
//   - host_linux.go, vrrpsock_linux.go: raw IP sockets to send (protocol
//     112), a packet socket to receive (with each advert's Ethernet
//     source), netlink (VIPs, link and address events); the announcers:
//     arp_linux.go (gratuitous ARP), nd_linux.go (unsolicited neighbour
//     advertisements); vmac_linux.go (use_vmac), pull_linux.go (see
//     below), leftovers_linux.go (lbd --cleanup). Other systems get a stub.
//   - speaker.go: the public API the daemon wires up.
//
// # Behaviour, where RFC 3768 leaves room (as keepalived 2.2 does)
//
//   - Adverts: IPv4 protocol 112 to 224.0.0.18 (or each unicast peer), TTL
//     255, TOS 0xc0, source the interface's primary address (or
//     unicast_src), VIPs in config order, auth type 1 (RFC 2338 simple
//     password) when auth_pass is set.
//   - Receive: TTL 255 is only checked in multicast mode; the VIP list is
//     compared as a set; packets for other VRIDs are filtered by the socket.
//     A dropped packet never changes state; it is counted and logged at most
//     once per reason per 10s.
//   - Master_Down_Interval = 3 x advert_int + (256 - effective priority)/256 s.
//   - state MASTER only matters to the address owner (priority 255), which
//     becomes master at once; anyone else starts BACKUP and waits the master
//     down interval, as keepalived 2.x. nopreempt is ignored with state
//     MASTER and by the address owner.
//   - An instance waits in INIT until each tracked script has given its
//     first result. A script starts at rise-1: the first result decides;
//     then rise successes make it OK and fall failures KO. weight > 0 adds
//     while OK, < 0 subtracts while KO, 0 means FAULT while KO; the same
//     for track_backend (OK = at least min_up usable servers). The instance's
//     own interface and track_interface entries put it in FAULT while down
//     (not IFF_UP and IFF_RUNNING). The effective priority is clamped to
//     1..254; the address owner ignores weights.
//   - A master entering FAULT sends priority 0. VIPs are added on MASTER
//     (after the first advert, so that a lower master steps down before our
//     ARPs; before it on a takeover from a live master, below), removed on
//     leaving it, and put back if something else deletes them while we
//     are master. VIPs found on the interface at start are removed (left
//     over by a crash). Gratuitous ARPs: garp_master_repeat on
//     becoming master (held back on a takeover from a live master, below),
//     again garp_master_delay later, then one every garp_master_refresh; a
//     burst also answers a lower-priority master.
//   - notify_master/backup/fault run without arguments, notify with
//     "INSTANCE name STATE priority" (and STOP on shutdown), in order per
//     instance, each bounded by 30s. Commands never go through a shell.
//
// # Beyond keepalived: planned failover
//
// Shutdown and Release make a master send priority 0 but keep its VIPs,
// and its frontends serving, until the peer's first advert as master
// (bounded by the master down interval): the VIP is never nowhere. A
// release nobody answers is abandoned (the node stays MASTER and Release
// returns an error); a released node stays BACKUP, even when the peer
// disappears, until Reclaim. Released is not persisted across restarts.
//
// The moment the VIPs move (switch.go) is chosen by the leaving master,
// the only node that knows what it has in flight: a client whose ARP entry
// for a VIP changes while it has a connection open with the old master
// sends the rest of that connection to the new one, which resets it. So
// between two live nodes - a handover, or a preemption of a lower master:
//
//   - The new master adds its VIPs before its first advert (the old one may
//     move the clients as soon as it hears it) and holds back its first
//     burst of gratuitous ARPs while another node still answers for the
//     VIPs: it broadcasts an ARP request for them from its own address
//     every 5ms (the answers are read off the socket when the round ends,
//     so a late goroutine of ours cannot miss one), and the first round
//     nobody else answers starts
//     keepalived's schedule (garp_master_repeat now, again
//     garp_master_delay later, then garp_master_refresh); 200ms after
//     taking over at the latest. A master that dropped its VIPs before
//     leaving (keepalived, lbd entering FAULT) thus costs one round. After
//     a master went silent (a crash), the ARPs go out at once as before.
//   - The old master, on the new master's first advert, keeps serving and
//     asks its Quiescer (the proxy) for a quiet moment on the VIPs: no
//     connection to them with a request in progress, none in an accept
//     queue; meanwhile idle keep-alive connections to the VIPs close, busy
//     ones after their response, so that their clients reconnect. No
//     sooner than 10ms after the advert (a successor that adds its VIPs
//     after its advert has them by then), 120ms at the latest. Then it
//     sends the gratuitous ARPs itself, announcing the VIPs at the new
//     master's MAC (the Ethernet source of its adverts, else its
//     neighbour entry, resolved through the kernel on the advert; the
//     frames still come from our own MAC), and removes the VIPs at once. The new master's probe finds nobody and its own burst
//     follows. If that MAC is unknown, the old master keeps the VIPs until
//     the new master's own ARPs are out (250ms after its advert).
//
// A master stepping down for a higher one does the same, in state BACKUP.
// What is left to chance: a connection whose handshake reaches the old
// master between its last look and the clients' processing of its
// gratuitous ARP (microseconds, unless the scheduler stalls lbd), and
// whatever is in flight when the 120ms bound expires under steady load.
// Servers on the VIP other than lbd's proxy are not asked. With keepalived
// as the new master, which sends its ARPs at once, the old lbd master's
// wait changes nothing for clients.
//
// # VRRPv3
//
// version = 3 follows RFC 5798 as keepalived and FRR do: the interval in
// centiseconds, a checksum over the IPv4 or IPv6 pseudo-header (the packet's
// own destination, as keepalived), no authentication, and a backup that
// times the master down interval with the master's advertised interval.
// IPv6 adverts go to ff02::12 from the interface's link-local address, the
// VIPs are announced by unsolicited neighbour advertisements (Override set,
// Router as the interface forwards, from the VIP, as keepalived) and added
// without duplicate address detection. A VRRPv2 and a VRRPv3 advert on one
// VRID are refused ("version"), as keepalived refuses them.
//
// # Clients follow the master
//
//   - A leaving master points its clients at the MAC its successor's
//     adverts come from (FRR's and keepalived's virtual MACs included).
//   - While the VIPs are ours the announcer watches for another node
//     announcing them (a split brain: the adverts do not pass, both are
//     master). Such VIPs are contested: probed every contestProbeEvery
//     until nobody else answers, then announced again, since keepalived,
//     losing the election once the adverts pass, lets go without telling
//     the clients.
//   - A peer that drops its VIPs the moment it hears a higher priority
//     (keepalived, FRR), told by how it lets go (it stops answering without
//     pointing the clients at us, or announces the VIPs itself when it takes
//     over from us), is preempted by pulling its clients (pull.go): they
//     are pointed at us before we have the VIPs, their frames passed on to
//     it, and the VIPs taken right after the last connection ends.
//   - use_vmac puts the VIPs on a macvlan with the virtual router MAC, up
//     only while they are ours.
//
// # Privileges
//
// CAP_NET_RAW (raw and packet sockets, SO_BINDTODEVICE) and CAP_NET_ADMIN
// (addresses) suffice; root is not needed.
package vrrp
