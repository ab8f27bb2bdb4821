#!/usr/bin/env bash
# `link add NAME link LOWER netns NS type macvlan`: the upper is created in NS, as rtnl_newlink
# creates it there; a name taken in NS fails the add with EEXIST and leaves nothing behind; an
# unknown NS fails as ip fails.
source "$(dirname "$0")/lib.sh"
lab_up
add_ns c1
daemon_start
sn link add mv1 link eth0 netns "$P"c1 type macvlan mode bridge
ip -n "$P"c1 link show mv1 >/dev/null || fail "mv1 is not in ${P}c1"
ip -n "$P"host link show mv1 >/dev/null 2>&1 && fail "mv1 is still beside its lower"
sn -j link show | python3 -c '
import json, sys
links = {l["ifname"]: l for l in json.load(sys.stdin)}
assert set(links) == {"mv1"} and links["mv1"]["netns"].endswith(sys.argv[1] + "c1"), links
' "$P" || fail "link show does not put mv1 in ${P}c1"
ip -n "$P"c1 addr add 10.20.0.11/24 dev mv1 && ip -n "$P"c1 link set mv1 up
in_ns c1 ping -c 2 -W 1 10.20.0.100 >/dev/null || fail "mv1 does not reach the external host"

ip -n "$P"c1 link add mv2 type veth peer name vp2
out=$(sn link add mv2 link eth0 netns "$P"c1 type macvlan mode bridge 2>&1) && fail "a taken name was accepted"
[[ $out == *"File exists"* ]] || fail "taken name: unexpected message: $out"
ip -n "$P"host link show mv2 >/dev/null 2>&1 && fail "the refused upper's TAP was left beside its lower"
out=$(sn link add mv3 link eth0 netns "${P}nosuch" type macvlan mode bridge 2>&1) && fail "an unknown netns was accepted"
[[ $out == *"Cannot open network namespace"* ]] || fail "unknown netns: unexpected message: $out"
[[ $(sn -j link show | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))') == 1 ]] ||
  fail "a refused add left an upper in link show"
echo "PASS: add_netns"
