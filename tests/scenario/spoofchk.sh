#!/usr/bin/env bash
# spoofchk and maxmacs (issue 7) with real frames. A namespace with a macvlan upper sends frames
# with a forged source MAC (AF_PACKET, tests/scenario/pkt.py) to another upper: with spoofchk off
# (the default) they arrive, as they do between two kernel macvlans of the same lab; with it on
# none arrives and the sender's "spoofed" drop counter rises by the number sent; frames with its
# own MAC still arrive. The same for ipvlan with a forged source IP. Then maxmacs on the lower: a macvlan upper beyond it is
# refused with ENOSPC, a limit below the count with EBUSY, and the limit and spoofchk survive a
# restart of subnicd.
source "$(dirname "$0")/lib.sh"
PKT="python3 $(dirname "$0")/pkt.py"
N=200
FORGED=02:00:de:ad:be:ef

lab_up
lower_add eth1
lower_add eth2
add_ns c1; add_ns c2; add_ns c3; add_ns c4; add_ns k1; add_ns k2
daemon_start

# Drop counter $2 of upper $1 (0 when absent).
drops() {
  sn -s -j link show "$1" | python3 -c '
import json, sys
v = json.load(sys.stdin)
v = v[0] if isinstance(v, list) else v
print(v.get("drops", {}).get(sys.argv[1], 0))' "$2"
}
# {"sent": N, "received": K} -> K
received() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["received"])' "$1"; }

# ---- the kernel, the oracle of "off": its macvlan forwards a forged source MAC ------------------
ip -n "$P"host link add km1 link eth2 type macvlan mode bridge
ip -n "$P"host link add km2 link eth2 type macvlan mode bridge
ip -n "$P"host link set km1 netns "$P"k1 && ip -n "$P"k1 link set km1 up
ip -n "$P"host link set km2 netns "$P"k2 && ip -n "$P"k2 link set km2 up
r=$($PKT probe --tx "$P"k1:km1 --rx "$P"k2:km2 --count $N --dst "$(mac_of k2 km2)" --src $FORGED)
KERNEL=$(received "$r")
echo "kernel macvlan, forged source MAC: $r"
(( KERNEL == N )) || fail "the kernel's macvlan did not forward the forged frames: $r"

# ---- macvlan: forged source MAC ---------------------------------------------------------------
sn link add mv1 link eth0 type macvlan mode bridge
sn link add mv2 link eth0 spoofchk off type macvlan mode bridge
ip -n "$P"host link set mv1 netns "$P"c1 && ip -n "$P"c1 link set mv1 up
ip -n "$P"host link set mv2 netns "$P"c2 && ip -n "$P"c2 link set mv2 up
MV1=$(mac_of c1 mv1); MV2=$(mac_of c2 mv2)
sleep 0.5
sn -d link show mv1 | grep -q "subnic spoofchk off" || fail "spoofchk is not off by default"

r=$($PKT probe --tx "$P"c1:mv1 --rx "$P"c2:mv2 --count $N --dst "$MV2" --src $FORGED)
[[ $(received "$r") == "$KERNEL" ]] || fail "spoofchk off: forged MAC frames should all arrive, as with the kernel: $r"
echo "macvlan spoofchk off, forged source MAC: $r"

sn link set mv1 spoofchk on
sn -d link show mv1 | grep -q "subnic spoofchk on" || fail "-d does not show spoofchk on"
sn -j -d link show mv1 | python3 -c 'import json,sys; assert json.load(sys.stdin)[0]["subnic"]["spoofchk"] is True' ||
  fail "-j -d: subnic.spoofchk is not true"
before=$(drops mv1 spoofed)
r=$($PKT probe --tx "$P"c1:mv1 --rx "$P"c2:mv2 --count $N --dst "$MV2" --src $FORGED)
after=$(drops mv1 spoofed)
[[ $(received "$r") == 0 ]] || fail "spoofchk on: forged MAC frames arrived: $r"
(( after - before == N )) || fail "spoofchk on: spoofed counter rose by $((after - before)), not $N"
echo "macvlan spoofchk on, forged source MAC: $r, spoofed +$((after - before))"
r=$($PKT probe --tx "$P"c1:mv1 --rx "$P"c2:mv2 --count $N --dst "$MV2" --src "$MV1")
[[ $(received "$r") == "$N" ]] || fail "spoofchk on: frames with the upper's own MAC should arrive: $r"
echo "macvlan spoofchk on, own source MAC: $r"

# ---- ipvlan: forged source IP -----------------------------------------------------------------
sn link add iv1 link eth1 type ipvlan mode l2
sn link add iv2 link eth1 type ipvlan mode l2
ip -n "$P"host link set iv1 netns "$P"c3 && ip -n "$P"host link set iv2 netns "$P"c4
ip -n "$P"c3 addr add 10.30.0.1/24 dev iv1 && ip -n "$P"c3 link set iv1 up
ip -n "$P"c4 addr add 10.30.0.2/24 dev iv2 && ip -n "$P"c4 link set iv2 up
wait_upper_addr iv1 10.30.0.1
wait_upper_addr iv2 10.30.0.2
IVMAC=$(mac_of c3 iv1)

r=$($PKT probe --tx "$P"c3:iv1 --rx "$P"c4:iv2 --count $N --dst "$IVMAC" --src "$IVMAC" --ip4 10.30.0.77 10.30.0.2)
[[ $(received "$r") == "$N" ]] || fail "ipvlan spoofchk off: forged IP frames should all arrive: $r"
echo "ipvlan spoofchk off, forged source IP: $r"
sn link set iv1 spoofchk on
before=$(drops iv1 spoofed)
r=$($PKT probe --tx "$P"c3:iv1 --rx "$P"c4:iv2 --count $N --dst "$IVMAC" --src "$IVMAC" --ip4 10.30.0.77 10.30.0.2)
after=$(drops iv1 spoofed)
[[ $(received "$r") == 0 ]] || fail "ipvlan spoofchk on: forged IP frames arrived: $r"
(( after - before == N )) || fail "ipvlan spoofchk on: spoofed counter rose by $((after - before)), not $N"
echo "ipvlan spoofchk on, forged source IP: $r, spoofed +$((after - before))"
r=$($PKT probe --tx "$P"c3:iv1 --rx "$P"c4:iv2 --count $N --dst "$IVMAC" --src "$IVMAC" --ip4 10.30.0.1 10.30.0.2)
[[ $(received "$r") == "$N" ]] || fail "ipvlan spoofchk on: frames from its own address should arrive: $r"
echo "ipvlan spoofchk on, own source IP: $r"
in_ns c3 ping -c 2 -W 1 10.30.0.2 >/dev/null || fail "ipvlan spoofchk on: ping (ARP and IP from its own address) fails"

# ---- maxmacs ----------------------------------------------------------------------------------
sn link set eth0 maxmacs 2                       # mv1, mv2: exactly full
if out=$(sn link add mv3 link eth0 type macvlan mode bridge 2>&1); then
  fail "a third MAC on eth0 (maxmacs 2) was accepted"
fi
[[ $out == "Error: eth0 already carries 2 MACs, its maxmacs limit" ]] || fail "maxmacs refusal says: $out"
echo "maxmacs 2, third upper: $out"
if out=$(sn link set eth0 maxmacs 1 2>&1); then fail "maxmacs below the count was accepted"; fi
[[ $out == *"carries 2 MACs, more than maxmacs 1"* ]] || fail "lowering maxmacs says: $out"
if out=$(sn -n "$P"c1 link set mv1 maxmacs 4 2>&1); then fail "maxmacs on an upper was accepted"; fi
[[ $out == "Error: mv1 is a macvlan upper; maxmacs belongs to its lower eth0" ]] || fail "maxmacs on an upper says: $out"
echo "maxmacs on an upper: $out"
sn -d link show mv2 | grep -q "subnic lower eth0 macs 2 maxmacs 2" || fail "-d does not show the lower's maxmacs"
# ipvlan uppers add no MAC: a limit of 1 on eth1 does not stop a third ipvlan upper.
sn link set eth1 maxmacs 1
sn link add iv3 link eth1 type ipvlan mode l2 || fail "ipvlan upper refused by maxmacs"

# Both survive a restart.
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=""
daemon_start
sn -d link show mv1 | grep -q "subnic spoofchk on" || fail "spoofchk on mv1 lost in the restart"
sn -d link show mv2 | grep -q "subnic spoofchk off" || fail "spoofchk of mv2 after the restart"
sn -d link show iv1 | grep -q "subnic spoofchk on" || fail "spoofchk on iv1 lost in the restart"
if sn link add mv3 link eth0 type macvlan mode bridge 2>/dev/null; then
  fail "maxmacs of eth0 lost in the restart"
fi
r=$($PKT probe --tx "$P"c1:mv1 --rx "$P"c2:mv2 --count $N --dst "$MV2" --src $FORGED)
[[ $(received "$r") == 0 ]] || fail "after the restart, forged MAC frames arrived: $r"
sn link set eth0 maxmacs 0
sn link add mv3 link eth0 type macvlan mode bridge || fail "maxmacs 0 (no limit) still refuses"
echo "PASS: spoofchk (macvlan MAC, ipvlan IP) and maxmacs, across a restart"
