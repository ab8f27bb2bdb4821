#!/usr/bin/env bash
# DHCP over ipvlan: two l2 uppers on one lower share the lower's MAC. Each runs busybox udhcpc
# WITHOUT the BOOTP broadcast flag and with a client identifier of its own (option 61; with one
# MAC the default identifiers would be equal), both at once, and both get distinct leases from
# an ordinary dnsmasq behind the external switch. The kernel's ipvlan would hand the unicast
# offers (to the shared MAC, for an address no upper owns yet) to the lower's own stack
# (semantics.md T-IV-22); subnic hands each reply to the upper whose request it answers
# (src/core/dhcp.hpp). Then both uppers reach the DHCP server.
source "$(dirname "$0")/lib.sh"
lab_up
add_ns c1
add_ns c2
# semantics.md §13: the lower's stack also sees the uppers' unicast; it must not route it back.
[[ $(in_ns host sysctl -n net.ipv4.ip_forward) == 0 ]] || fail "forwarding is on in the lower's namespace"
dhcp_server_start
daemon_start

for c in 1 2; do
  sn link add ipvl$c link eth0 type ipvlan mode l2
  ip -n "$P"host link set ipvl$c netns "$P"c$c
  ip -n "$P"c$c link set ipvl$c up
done
mac=$(mac_of host eth0)
[[ $(mac_of c1 ipvl1) == "$mac" && $(mac_of c2 ipvl2) == "$mac" ]] || fail "the uppers do not have the lower's MAC $mac"

# Both clients at once: two transactions in flight for one MAC. No -B: no broadcast flag.
declare -A CPID
for c in 1 2; do
  dhcp_lease c$c ipvl$c -x 0x3d:01025e0000aa0$c >"$TMP/udhcpc$c.log" 2>&1 &
  CPID[$c]=$!
  PIDS+=("${CPID[$c]}")
done
for c in 1 2; do
  wait "${CPID[$c]}" || fail "c$c got no lease: $(cat "$TMP/udhcpc$c.log")"
done
cat "$TMP/udhcpc1.log" "$TMP/udhcpc2.log"
a1=$(ipv4_of c1 ipvl1)
a2=$(ipv4_of c2 ipvl2)
echo "leases: ipvl1 $a1, ipvl2 $a2 (both with MAC $mac)"
[[ $a1 == 10.20.0.* && $a2 == 10.20.0.* && $a1 != "$a2" ]] || fail "leases not distinct: '$a1' '$a2'"
[[ $(wc -l <"$TMP/leases") -eq 2 ]] || fail "dnsmasq should hold two leases: $(cat "$TMP/leases")"

# subnicd learns each upper's address from its namespace's address events (bounded wait).
wait_upper_addr ipvl1 "$a1"
wait_upper_addr ipvl2 "$a2"
in_ns c1 ping -c 2 -W 1 10.20.0.2 >/dev/null || fail "c1 -> DHCP server"
in_ns c2 ping -c 2 -W 1 10.20.0.2 >/dev/null || fail "c2 -> DHCP server"
echo "PASS: ipvlan_dhcp"
