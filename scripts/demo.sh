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
SOCK=$TMP/subnicd.sock
PIDS=()
cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  for ns in sw host ext dhcp c1 c2; do ip netns del "$P$ns" 2>/dev/null; done
  rm -rf "$TMP"
  echo "== cleaned up: namespaces $P*, subnicd and dnsmasq stopped"
}
trap cleanup EXIT INT TERM

step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
in_ns() { local ns=$1; shift; ip netns exec "$P$ns" "$@"; }
sn() { in_ns host "$SUBNIC" --socket "$SOCK" "$@"; }

step "lab: an external switch, an external host, a DHCP server, and the lower eth0"
for ns in sw host ext dhcp c1 c2; do ip netns add "$P$ns"; ip -n "$P$ns" link set lo up; done
ip -n "$P"sw link add sw type bridge stp_state 0
ip -n "$P"sw link set sw up
for port in ext dhcp host; do
  ip -n "$P"sw link add "sw-$port" type veth peer name peer netns "$P$port"
  ip -n "$P"sw link set "sw-$port" master sw up
done
ip -n "$P"host link set peer name eth0
ip -n "$P"ext link set peer name ext0
ip -n "$P"dhcp link set peer name dhcp0
ip -n "$P"host link set eth0 up
ip -n "$P"ext addr add 10.20.0.100/24 dev ext0 && ip -n "$P"ext link set ext0 up
ip -n "$P"dhcp addr add 10.20.0.2/24 dev dhcp0 && ip -n "$P"dhcp link set dhcp0 up
ip netns exec "$P"dhcp dnsmasq --keep-in-foreground --no-resolv --no-hosts --port=0 --interface=dhcp0 \
  --bind-interfaces --dhcp-range=10.20.0.50,10.20.0.99,255.255.255.0,1h \
  --dhcp-leasefile="$TMP/leases" --pid-file="$TMP/dnsmasq.pid" --log-facility="$TMP/dnsmasq.log" >/dev/null 2>&1 &
PIDS+=($!)

step "subnicd on the lower's namespace"
ip netns exec "$P"host "$SUBNICD" --socket "$SOCK" --state-dir "$TMP/state" >/dev/null 2>"$TMP/subnicd.log" &
PIDS+=($!)
for _ in $(seq 50); do sn link show >/dev/null 2>&1 && break; sleep 0.1; done

step "two macvlan uppers in bridge mode, as seed 001 makes them with ip"
run sn link add mv1 link eth0 type macvlan mode bridge
run sn link add mv2 link eth0 type macvlan mode bridge
step "each goes to its container with plain ip; subnic keeps forwarding"
run ip -n "$P"host link set mv1 netns "$P"c1
run ip -n "$P"host link set mv2 netns "$P"c2
cat >"$TMP/udhcpc.sh" <<'EOF'
#!/bin/sh
case "$1" in
  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/${mask:-24}" dev "$interface" ;;
esac
EOF
chmod +x "$TMP/udhcpc.sh"
for c in 1 2; do
  ip -n "$P"c$c link set mv$c up
  step "c$c asks the DHCP server behind the external switch for a lease"
  run in_ns c$c busybox udhcpc -i mv$c -n -q -t 5 -T 1 -s "$TMP/udhcpc.sh" 2>&1 | grep -i lease
done
ip1=$(ip -n "$P"c1 -j addr show mv1 | python3 -c 'import json,sys; print([a["local"] for a in json.load(sys.stdin)[0]["addr_info"] if a["family"]=="inet"][0])')
ip2=$(ip -n "$P"c2 -j addr show mv2 | python3 -c 'import json,sys; print([a["local"] for a in json.load(sys.stdin)[0]["addr_info"] if a["family"]=="inet"][0])')
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
