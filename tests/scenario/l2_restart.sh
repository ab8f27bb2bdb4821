#!/usr/bin/env bash
# Restart with issue 4's devices: a VLAN with a macvlan stacked on it, a veth pair, a bridge
# whose port is a subnic veth end. subnicd is killed with -9 and started again: every device
# is back in its namespace with its settings (hairpin), and traffic flows through each.
source "$(dirname "$0")/lib.sh"
lab_up
add_ns c1; add_ns c2; add_ns c3
daemon_start
# VLAN 10 on eth0 with a macvlan upper in c1; the external host's own VLAN 10 device.
sn link add link eth0 name eth0.10 type vlan id 10
sn link set eth0.10 up
sn link add mv10 link eth0.10 type macvlan mode bridge
sn link set mv10 netns "$P"c1
ip -n "$P"c1 addr add 10.10.0.1/24 dev mv10 && ip -n "$P"c1 link set mv10 up
sn -n "$P"ext link add link ext0 name ext0.10 type vlan id 10
sn -n "$P"ext link set ext0.10 up
ip -n "$P"ext addr add 10.10.0.100/24 dev ext0.10
# A bridge in host with address 10.30.0.254; its port bp1 is one end of a subnic veth whose
# other end is in c2.
sn link add br0 type bridge
sn link add bp1 type veth peer name q1 netns "$P"c2
sn link set bp1 up
sn link set bp1 master br0
sn link set bp1 type bridge_slave hairpin on
sn link set br0 up
ip -n "$P"host addr add 10.30.0.254/24 dev br0
ip -n "$P"c2 addr add 10.30.0.1/24 dev q1 && ip -n "$P"c2 link set q1 up

check_traffic() {
  in_ns c1 ping -c 2 -i 0.2 -W 1 10.10.0.100 >/dev/null || fail "$1: macvlan on VLAN 10 to the external host"
  in_ns c2 ping -c 2 -i 0.2 -W 1 10.30.0.254 >/dev/null || fail "$1: veth through the bridge"
}
sleep 0.5
check_traffic "before the restart"
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=""
daemon_start
sleep 1
check_traffic "after the restart"
sn -j -d link show | python3 -c '
import json, sys
links = {l["ifname"]: l for l in json.load(sys.stdin)}
want = {"eth0.10", "ext0.10", "mv10", "br0", "bp1", "q1"}
assert want <= set(links), sorted(links)
assert links["eth0.10"]["linkinfo"]["info_data"]["id"] == 10, links["eth0.10"]
assert links["mv10"]["link"] == "eth0.10" and links["mv10"]["netns"].endswith("c1"), links["mv10"]
assert links["q1"]["link"] == "bp1" and links["q1"]["netns"].endswith("c2"), links["q1"]
assert links["bp1"].get("master") == "br0", links["bp1"]
assert links["bp1"]["linkinfo"]["info_slave_data"]["hairpin"] is True, links["bp1"]
' || fail "link show after restart"
echo "PASS: vlan, stacked macvlan, veth and bridge survive kill -9 and a restart"
