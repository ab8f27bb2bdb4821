#!/usr/bin/env bash
# The subnic demo: seed 001's example — two macvlan bridge uppers in two "containers" on one
# lower — recreated with subnic on a lab this script builds, with an external host and a DHCP
# server behind an external switch. Everything it creates carries a per-run prefix and is
# removed on exit, even on failure. Run as root after scripts/build.sh.
#
#   [ext 10.20.0.100]--+                                   +-- mv1 (bridge) -> netns c1, DHCP
#                      +--[switch "sw"]--veth--[eth0: subnicd]
#   [dnsmasq 10.20.0.2]+                                   +-- mv2 (bridge) -> netns c2, DHCP
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
echo
echo "demo: OK"
