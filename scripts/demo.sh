#!/usr/bin/env bash
# The subnic demo: seed 001's example — two macvlan bridge uppers in two "containers" on one
# lower — recreated with subnic on a lab this script builds, with an external host and a DHCP
# server behind an external switch; then seed 004's ipvlan example (its section 6: namespaces
# ns0/ns1 with ipvlan l2 uppers ipvl0/ipvl1 on one lower, addresses, default routes via a
# router) on a second lower. Everything it creates carries a per-run prefix and is removed on
# exit, even on failure. Run as root after scripts/build.sh.
#
#   [ext 10.20.0.100]--+                                   +-- mv1 (bridge) -> netns c1, DHCP
#                      +--[switch "sw"]--veth--[eth0: subnicd]
#   [dnsmasq 10.20.0.2]+   |   |                           +-- mv2 (bridge) -> netns c2, DHCP
#                          |   +------------veth--[eth1: subnicd]-- ipvl0 (l2) -> ns0 10.20.0.30
#   [router 10.20.0.1]-----+                               +-- ipvl1 (l2) -> ns1 10.20.0.31
#   [router 10.30.0.1]--veth--[far host 10.30.0.100]       (default routes via 10.20.0.1)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
SUBNIC=$PWD/$BUILD_DIR/src/cli/subnic
SUBNICD=$PWD/$BUILD_DIR/src/daemon/subnicd
[[ -x $SUBNIC && -x $SUBNICD ]] || { echo "demo: build first (scripts/build.sh)" >&2; exit 1; }
[[ $EUID -eq 0 ]] || { echo "demo: needs root (network namespaces)" >&2; exit 1; }

P=sd$(printf '%04x' $((RANDOM)))  # per-run prefix
TMP=$(mktemp -d /tmp/subnic-demo.XXXXXX)
source scripts/lab.sh
trap 'lab_cleanup; echo "== cleaned up: namespaces $P*, subnicd and dnsmasq stopped"' EXIT INT TERM

step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "lab: an external switch, an external host, a DHCP server, and the lower eth0"
lab_up
add_ns c1
add_ns c2
dhcp_server_start

step "subnicd on the lower's namespace"
daemon_start

step "two macvlan uppers in bridge mode, as seed 001 makes them with ip"
run sn link add mv1 link eth0 type macvlan mode bridge
run sn link add mv2 link eth0 type macvlan mode bridge
step "each goes to its container with plain ip; subnic keeps forwarding"
run ip -n "$P"host link set mv1 netns "$P"c1
run ip -n "$P"host link set mv2 netns "$P"c2
for c in 1 2; do
  ip -n "$P"c$c link set mv$c up
  step "c$c asks the DHCP server behind the external switch for a lease"
  run dhcp_lease c$c mv$c | grep -i lease
done
ip1=$(ipv4_of c1 mv1)
ip2=$(ipv4_of c2 mv2)
echo "leases: c1 $ip1, c2 $ip2 (dnsmasq: $(wc -l <"$TMP/leases") leases)"
[[ $ip1 != "$ip2" ]]

step "c1 -> c2 (bridge mode: switched inside subnic, never on the wire)"
run in_ns c1 ping -c 3 -i 0.2 -W 1 "$ip2"
step "c2 -> the external host"
run in_ns c2 ping -c 3 -i 0.2 -W 1 10.20.0.100
step "the external host -> c1"
run in_ns ext ping -c 3 -i 0.2 -W 1 "$ip1"

step "what the kernel hides: per-upper counters and drop reasons"
run sn -s -d link show

# ---- ipvlan: seed 004, section 6 ("Example configuration")
step "ipvlan: a second lower eth1 on the switch (eth0 is a macvlan port: one kind per lower)"
lower_add eth1
step "a router between the switch (10.20.0.1) and a far network (10.30.0.1), with a far host"
add_ns rtr
add_ns far
ip -n "$P"sw link add sw-rtr type veth peer name rtr0 netns "$P"rtr
ip -n "$P"sw link set sw-rtr master sw up
ip -n "$P"rtr link add rtr1 type veth peer name far0 netns "$P"far
ip -n "$P"rtr addr add 10.20.0.1/24 dev rtr0 && ip -n "$P"rtr link set rtr0 up
ip -n "$P"rtr addr add 10.30.0.1/24 dev rtr1 && ip -n "$P"rtr link set rtr1 up
in_ns rtr sysctl -qw net.ipv4.ip_forward=1
ip -n "$P"far addr add 10.30.0.100/24 dev far0 && ip -n "$P"far link set far0 up
ip -n "$P"far route add default via 10.30.0.1
ROUTER=10.20.0.1

step "(a) two network namespaces, ns0 and ns1"
add_ns ns0
add_ns ns1
step "(b) two ipvlan l2 uppers on the lower, as the seed makes them with ip"
run sn link add link eth1 ipvl0 type ipvlan mode l2
run sn link add link eth1 ipvl1 type ipvlan mode l2
step "(c) each to its namespace with plain ip"
run ip -n "$P"host link set dev ipvl0 netns "$P"ns0
run ip -n "$P"host link set dev ipvl1 netns "$P"ns1
step "(d) inside each namespace: up, address, default route via the router"
for c in 0 1; do
  IPADDR=10.20.0.3$c/24
  run ip -n "$P"ns$c link set dev ipvl$c up
  run ip -n "$P"ns$c -4 addr add $IPADDR dev ipvl$c
  run ip -n "$P"ns$c -4 route add default via $ROUTER dev ipvl$c
  wait_upper_addr ipvl$c 10.20.0.3$c  # subnicd learns the address from ns$c (well under 1 s)
done
echo "every upper has the lower's MAC: eth1 $(mac_of host eth1), ipvl0 $(mac_of ns0 ipvl0), ipvl1 $(mac_of ns1 ipvl1)"

step "ns0 -> ns1 (l2 bridge: switched by IP address inside subnic)"
run in_ns ns0 ping -c 3 -i 0.2 -W 1 10.20.0.31
step "ns0 -> the router, ns1 -> the far host through the default route"
run in_ns ns0 ping -c 3 -i 0.2 -W 1 $ROUTER
run in_ns ns1 ping -c 3 -i 0.2 -W 1 10.30.0.100
step "the external host -> ns0"
run in_ns ext ping -c 3 -i 0.2 -W 1 10.20.0.30
step "an ipvlan upper in detail: mode, flag, the addresses it owns"
run sn -d link show ipvl0
echo
echo "demo: OK"
