#!/usr/bin/env bash
# A macvlan upper stacked on a subnic VLAN device, with bcqueuelen 0: every broadcast the
# VLAN device receives overflows the macvlan port's broadcast queue (macvlan_broadcast_enqueue
# drops it), yet macvlan_handle_frame returns RX_HANDLER_PASS, so the VLAN device's own stack
# still gets the frame. Checked with ARP: the external host pings the VLAN device's own
# address, which needs its broadcast ARP request to reach the VLAN device; the drops are
# counted as bc_queue_full on the VLAN device.
source "$(dirname "$0")/lib.sh"
lab_up
add_ns c1
daemon_start
sn link add link eth0 name eth0.10 type vlan id 10
sn link set eth0.10 up
ip -n "$P"host addr add 10.10.0.254/24 dev eth0.10
sn link add mv10 link eth0.10 type macvlan mode bridge bcqueuelen 0
sn link set mv10 netns "$P"c1
ip -n "$P"c1 link set mv10 up
sn -n "$P"ext link add link ext0 name ext0.10 type vlan id 10
sn -n "$P"ext link set ext0.10 up
ip -n "$P"ext addr add 10.10.0.100/24 dev ext0.10
bcfull() {
  sn -s -j link show eth0.10 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0].get("drops", {}).get("bc_queue_full", 0))'
}
before=$(bcfull)
sleep 0.3
in_ns ext ping -c 2 -i 0.2 -W 1 10.10.0.254 >/dev/null ||
  fail "the external host cannot reach the VLAN device: its broadcast ARP request was lost with the macvlan port's full queue"
after=$(bcfull)
((after > before)) || fail "no broadcast was dropped by the full queue (bc_queue_full $before -> $after): the case was not exercised"
echo "PASS: vlan_bcqueue (bc_queue_full on eth0.10: $before -> $after; the VLAN device still answered ARP)"
