#!/usr/bin/env bash
# DHCP: two macvlan uppers on one lower get distinct leases from an ordinary dnsmasq behind the
# external switch, as seed 001 says containers can; then they reach each other and the outside.
source "$(dirname "$0")/lib.sh"
lab_up
add_ns c1; add_ns c2
dhcp_server_start
daemon_start
for c in 1 2; do
  sn link add mv$c link eth0 type macvlan mode bridge
  ip -n "$P"host link set mv$c netns "$P"c$c
  ip -n "$P"c$c link set mv$c up
  dhcp_lease c$c mv$c >"$TMP/udhcpc$c.log" ||
    fail "c$c got no lease: $(cat "$TMP/udhcpc$c.log")"
done
a1=$(ipv4_of c1 mv1); a2=$(ipv4_of c2 mv2)
echo "leases: mv1 $a1, mv2 $a2"
[[ $a1 == 10.20.0.* && $a2 == 10.20.0.* && $a1 != "$a2" ]] || fail "leases not distinct: '$a1' '$a2'"
[[ $(wc -l <"$TMP/leases") -eq 2 ]] || fail "dnsmasq should hold two leases: $(cat "$TMP/leases")"
in_ns c1 ping -c 2 -W 1 "$a2" >/dev/null || fail "c1 -> c2"
in_ns c2 ping -c 2 -W 1 10.20.0.100 >/dev/null || fail "c2 -> external host"
echo "PASS: dhcp"
