# The namespace lab shared by the demo and the scenario tests: an external switch "sw" with an
# external host (10.20.0.100) and a DHCP server (10.20.0.2), the lower eth0 in namespace
# "host", subnicd there. Sourced; the caller sets SUBNIC, SUBNICD, P (per-run prefix of every
# namespace name) and TMP (a private temporary directory), and traps lab_cleanup on exit.

SOCK=$TMP/subnicd.sock
declare -a PIDS=()
DAEMON_PID=""
NSES=(sw host ext dhcp)

# Stops what the lab started (by PID), deletes its namespaces and the temporary directory.
lab_cleanup() {
  set +e
  [[ -n $DAEMON_PID ]] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  for ns in "${NSES[@]}"; do ip netns del "$P$ns" 2>/dev/null; done
  rm -rf "$TMP"
}

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

# Backgrounds `ip netns exec` itself (not a shell function) so $! is the daemon's own PID.
# Arguments are more subnicd options (e.g. --group NAME).
daemon_start() {
  ip netns exec "$P"host "$SUBNICD" --socket "$SOCK" --state-dir "$TMP/state" "$@" >/dev/null 2>>"$TMP/subnicd.log" &
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

# A second lower: veth "$1" in namespace "host", its peer "sw-$1" a port of the switch.
lower_add() {
  ip -n "$P"sw link add "sw-$1" type veth peer name "$1" netns "$P"host
  ip -n "$P"sw link set "sw-$1" master sw up
  ip -n "$P"host link set "$1" up
}

# Asks for a lease on device $2 in namespace $1 (busybox udhcpc, 5 tries of 1 s) and puts the
# address on the device; prints udhcpc's output. Further arguments go to udhcpc (e.g.
# `-x 0x3d:01...` for a client identifier of its own).
dhcp_lease() {
  if [[ ! -x $TMP/udhcpc.sh ]]; then
    cat >"$TMP/udhcpc.sh" <<'EOS'
#!/bin/sh
case "$1" in
  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/${mask:-24}" dev "$interface" ;;
esac
EOS
    chmod +x "$TMP/udhcpc.sh"
  fi
  in_ns "$1" busybox udhcpc -i "$2" -n -q -t 5 -T 1 -s "$TMP/udhcpc.sh" "${@:3}" 2>&1
}

# ipvlan: waits (at most 3 s) until subnicd lists address $2 as owned by upper $1 (it learns
# addresses from each upper's namespace); fails the script otherwise.
wait_upper_addr() {
  local i
  for i in $(seq 30); do
    sn -j -d link show "$1" | python3 -c '
import json, sys
v = json.load(sys.stdin)
v = v[0] if isinstance(v, list) else v
sys.exit(0 if sys.argv[1] in [a.split("/")[0] for a in v.get("subnic", {}).get("addresses", [])] else 1)' "$2" &&
      return 0
    sleep 0.1
  done
  fail "subnicd does not list $2 as an address of $1"
}

mac_of() {  # ns dev
  ip -n "$P$1" -j link show "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])'
}

ipv4_of() {  # ns dev
  ip -n "$P$1" -j addr show "$2" | python3 -c \
    'import json,sys; print(" ".join(a["local"] for a in json.load(sys.stdin)[0]["addr_info"] if a["family"]=="inet"))'
}
