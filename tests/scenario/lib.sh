# Shared lab for the scenario tests: an external switch with an external host and a DHCP
# server, a lower eth0 in its own namespace, subnicd there. Per-run prefix; everything is
# removed on exit. Sourced by the tests; needs SUBNIC and SUBNICD set.
set -euo pipefail

skip_or_fail() {  # no privilege or tool: a skip (77) outside CI, a failure under CI=true
  if [[ "${CI:-}" == "true" ]]; then echo "FAIL: $*" >&2; exit 1; fi
  echo "SKIP: $*" >&2; exit 77
}
[[ $EUID -eq 0 ]] || skip_or_fail "needs root for network namespaces"
for t in ip ping dnsmasq busybox python3; do
  command -v "$t" >/dev/null || skip_or_fail "missing tool: $t"
done
[[ -x ${SUBNIC:-} && -x ${SUBNICD:-} ]] || { echo "FAIL: SUBNIC/SUBNICD not set" >&2; exit 1; }

P=st$(printf '%04x' $((RANDOM)))
TMP=$(mktemp -d /tmp/subnic-scenario.XXXXXX)
SOCK=$TMP/subnicd.sock
declare -a PIDS=()
DAEMON_PID=""
NSES=(sw host ext dhcp)

lab_cleanup() {
  set +e
  [[ -n $DAEMON_PID ]] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  for ns in "${NSES[@]}"; do ip netns del "$P$ns" 2>/dev/null; done
  rm -rf "$TMP"
}
trap lab_cleanup EXIT INT TERM

in_ns() { local ns=$1; shift; ip netns exec "$P$ns" "$@"; }
sn() { in_ns host "$SUBNIC" --socket "$SOCK" "$@"; }
fail() { echo "FAIL: $*" >&2; [[ -f $TMP/subnicd.log ]] && tail -20 "$TMP/subnicd.log" >&2; exit 1; }

add_ns() { ip netns add "$P$1"; ip -n "$P$1" link set lo up; NSES+=("$1"); }

lab_up() {
  for ns in sw host ext dhcp; do ip netns add "$P$ns"; ip -n "$P$ns" link set lo up; done
  ip -n "$P"sw link add sw type bridge stp_state 0
  ip -n "$P"sw link set sw up
  for port in ext dhcp host; do
    ip -n "$P"sw link add "sw-$port" type veth peer name peer netns "$P$port"
    ip -n "$P"sw link set "sw-$port" master sw up
  done
  ip -n "$P"host link set peer name eth0 && ip -n "$P"host link set eth0 up
  ip -n "$P"ext link set peer name ext0 && ip -n "$P"ext link set ext0 up
  ip -n "$P"ext addr add 10.20.0.100/24 dev ext0
  ip -n "$P"dhcp link set peer name dhcp0 && ip -n "$P"dhcp link set dhcp0 up
  ip -n "$P"dhcp addr add 10.20.0.2/24 dev dhcp0
}

daemon_start() {
  ip netns exec "$P"host "$SUBNICD" --socket "$SOCK" --state-dir "$TMP/state" >/dev/null 2>>"$TMP/subnicd.log" &
  DAEMON_PID=$!
  for _ in $(seq 100); do sn link show >/dev/null 2>&1 && return 0; sleep 0.05; done
  fail "subnicd did not answer within 5 s"
}

dhcp_server_start() {
  ip netns exec "$P"dhcp dnsmasq --keep-in-foreground --no-resolv --no-hosts --port=0 --interface=dhcp0 \
    --bind-interfaces --dhcp-range=10.20.0.50,10.20.0.99,255.255.255.0,1h \
    --dhcp-leasefile="$TMP/leases" --pid-file="$TMP/dnsmasq.pid" --log-facility="$TMP/dnsmasq.log" >/dev/null 2>&1 &
  PIDS+=($!)
}

ipv4_of() {  # ns dev
  ip -n "$P$1" -j addr show "$2" | python3 -c \
    'import json,sys; print(" ".join(a["local"] for a in json.load(sys.stdin)[0]["addr_info"] if a["family"]=="inet"))'
}
