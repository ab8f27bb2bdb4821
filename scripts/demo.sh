#!/usr/bin/env bash
# The subnic demo: seed 001's example — two macvlan bridge uppers in two "containers" on one
# lower — recreated with subnic on a lab this script builds, with an external host and a DHCP
# server behind an external switch; then seed 004's ipvlan example (its section 6: namespaces
# ns0/ns1 with ipvlan l2 uppers ipvl0/ipvl1 on one lower, addresses, default routes via a
# router) on a second lower; then seed 002's veth pair (veth01 in netns0 <-> veth10 in netns1,
# made by subnic) and seed 001's two VLANs (subnic vlans eth2.10/eth2.20 on a third lower, two
# macvlan bridge uppers on each, the external host with subnic vlans ext0.10/ext0.20); then seed
# 003's macvtap: two QEMU guests (TCG) on macvtap bridge uppers of eth0, one over vhost-user,
# one over QEMU's stream netdev, with DHCP leases, pinging each other, c1 and the external host
# (scripts/demo_vms.py).
# Everything it creates carries a per-run prefix and is removed on exit, even on failure. Run
# as root after scripts/build.sh.
#
#   [ext 10.20.0.100]--+                                   +-- mv1 (bridge) -> netns c1, DHCP
#                      +--[switch "sw"]--veth--[eth0: subnicd]
#   [dnsmasq 10.20.0.2]+   |   |                           +-- mv2 (bridge) -> netns c2, DHCP
#                          |   +------------veth--[eth1: subnicd]-- ipvl0 (l2) -> ns0 10.20.0.30
#   [router 10.20.0.1]-----+                               +-- ipvl1 (l2) -> ns1 10.20.0.31
#   [router 10.30.0.1]--veth--[far host 10.30.0.100]       (default routes via 10.20.0.1)
#
#   [netns0: veth01 192.168.254.10] <-- subnic veth pair --> [netns1: veth10 192.168.254.11]
#
#   [ext: ext0.10 172.16.10.100/24,  --switch "sw" (tagged frames pass)--[eth2: subnicd]
#         ext0.20 172.16.20.100/24]     eth2.10: mymacvlan1 -> vl1 172.16.10.1/16, mymacvlan2 -> vl2 .10.2
#                                       eth2.20: mymacvlan3 -> vl3 172.16.20.3/16, mymacvlan4 -> vl4 .20.4
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

# Waits (at most 3 s) until device $2 in namespace $1 has carrier (LOWER_UP).
wait_lower_up() {
  local i
  for i in $(seq 30); do
    ip -n "$P$1" -o link show dev "$2" | grep -q LOWER_UP && return 0
    sleep 0.1
  done
  fail "$2 in $1 has no carrier"
}

# ---- veth: seed 002 (netns0 veth01 -ping-> veth10 netns1), the pair made by subnic
step "veth: two namespaces, and a veth pair between them, as seed 002 makes it with ip"
add_ns netns0
add_ns netns1
run sn link add veth01 netns "$P"netns0 type veth peer name veth10 netns "$P"netns1
run sn -n "$P"netns0 link set veth01 up
run sn -n "$P"netns1 link set veth10 up
run ip -n "$P"netns0 addr add 192.168.254.10/24 dev veth01
run ip -n "$P"netns1 addr add 192.168.254.11/24 dev veth10
wait_lower_up netns0 veth01
wait_lower_up netns1 veth10
run sn -n "$P"netns0 link show veth01
step "netns0 -> netns1 over the pair"
run in_ns netns0 ping -c 3 -i 0.2 -W 1 192.168.254.11
run sn -s -n "$P"netns1 link show veth10

# ---- vlan: seed 001's two VLAN sub-interfaces, two macvlan bridge uppers on each
step "vlan: a third lower eth2 on the switch (a Linux bridge: tagged frames pass as they are)"
lower_add eth2
step "two VLAN devices on eth2, as seed 001 makes them with vconfig"
run sn link add link eth2 name eth2.10 type vlan id 10
run sn link add link eth2 name eth2.20 type vlan id 20
run sn link set eth2.10 up
run sn link set eth2.20 up
step "two macvlan bridge uppers on each VLAN (stacked inside subnic), each in its own namespace"
declare -A VLAN_OF=([1]=10 [2]=10 [3]=20 [4]=20)
for i in 1 2 3 4; do
  v=${VLAN_OF[$i]}
  add_ns vl$i
  run sn link add mymacvlan$i link eth2.$v type macvlan mode bridge
  ip -n "$P"host link set mymacvlan$i netns "$P"vl$i
  # a /16: the other VLAN's addresses look on-link, so a cross-VLAN ping ARPs on its own VLAN
  ip -n "$P"vl$i addr add 172.16.$v.$i/16 dev mymacvlan$i
  ip -n "$P"vl$i link set mymacvlan$i up
done
for i in 1 2 3 4; do wait_lower_up vl$i mymacvlan$i; done
step "the external host joins both VLANs with subnic vlans on ext0 (answering ARP per interface)"
in_ns ext sysctl -qw net.ipv4.conf.all.arp_ignore=1
for v in 10 20; do
  run sn -n "$P"ext link add link ext0 name ext0.$v type vlan id $v
  ip -n "$P"ext addr add 172.16.$v.100/24 dev ext0.$v
  ip -n "$P"ext link set ext0.$v up
  wait_lower_up ext ext0.$v
done
run sn -d link show eth2.10

step "within VLAN 10: mymacvlan1 -> mymacvlan2 (switched inside subnic), -> the external host"
run in_ns vl1 ping -c 3 -i 0.2 -W 1 172.16.10.2
run in_ns vl2 ping -c 3 -i 0.2 -W 1 172.16.10.100
step "within VLAN 20: mymacvlan3 -> mymacvlan4, the external host -> mymacvlan4"
run in_ns vl3 ping -c 3 -i 0.2 -W 1 172.16.20.4
run in_ns ext ping -c 3 -i 0.2 -W 1 172.16.20.4
step "across VLANs: mymacvlan1 -> mymacvlan3 and -> the external host's VLAN 20 address must fail"
for dst in 172.16.20.3 172.16.20.100; do
  printf '$ in_ns vl1 ping -c 2 -i 0.2 -W 1 %s\n' "$dst"
  if in_ns vl1 ping -c 2 -i 0.2 -W 1 "$dst" >/dev/null 2>&1; then
    fail "mymacvlan1 (VLAN 10) reached $dst (VLAN 20)"
  fi
  echo "no answer: VLAN 10 and VLAN 20 are separate broadcast domains"
done
run sn -s link show eth2.20

# ---- macvtap: seed 003 (VMs on the lower, through QEMU's vhost-user and stream back ends)
python3 scripts/demo_vms.py "$P" "$SUBNIC" "$SOCK" "$TMP" "$ip1"
echo
echo "demo: OK"
