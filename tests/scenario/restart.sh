#!/usr/bin/env bash
# Restart: kill -9 subnicd while a ping runs between two uppers; start it again; the uppers are
# still in their namespaces with their addresses, and the ping recovers (issue 2, State).
source "$(dirname "$0")/lib.sh"
lab_up
add_ns c1; add_ns c2
daemon_start
two_uppers

# A ping of 12 s at 10 per second; subnicd dies 1 s in and is back 2 s later.
in_ns c1 ping -c 120 -i 0.1 -W 1 10.20.0.12 >"$TMP/ping.txt" 2>&1 &
PING=$!
PIDS+=($PING)
sleep 1
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=""
sleep 2
[[ "$(ipv4_of c1 mv1)" == "10.20.0.11" ]] || fail "mv1 lost its address or namespace while subnicd was down"
daemon_start
sleep 1
# After the restart: same devices, same namespaces, same addresses, traffic flowing.
[[ "$(ipv4_of c1 mv1)" == "10.20.0.11" && "$(ipv4_of c2 mv2)" == "10.20.0.12" ]] || fail "addresses after restart"
sn -j link show | python3 -c '
import json, sys
links = {l["ifname"]: l for l in json.load(sys.stdin)}
assert set(links) == {"mv1", "mv2"}, links.keys()
assert links["mv1"]["netns"].endswith("c1") and links["mv2"]["netns"].endswith("c2"), links
' || fail "link show after restart"
in_ns c1 ping -c 3 -i 0.2 -W 1 10.20.0.12 >/dev/null || fail "ping after the restart"
in_ns c2 ping -c 3 -i 0.2 -W 1 10.20.0.100 >/dev/null || fail "external host after the restart"
wait "$PING" || true
tail -3 "$TMP/ping.txt"
grep -q " 0% packet loss" "$TMP/ping.txt" && fail "the ping never saw the outage (was subnicd killed?)"
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMP/ping.txt")
(( received >= 60 )) || fail "the ping did not recover: $received of 120 replies"
echo "PASS: restart (ping replies: $received of 120 across a kill -9 and restart)"
