#!/usr/bin/env bash
# Crashes (issue 7): kill -9 subnicd at random moments, 50 times, while a ping runs between two
# uppers and a churn loop adds and deletes a third upper (so many kills land during a state
# save). After every kill: the state file parses; after every restart: link show lists mv1 and
# mv2 in their namespaces with their addresses, the churned upper exists in link show exactly
# when its TAP exists, and traffic between the two uppers resumes within 1 s of the restart.
source "$(dirname "$0")/lib.sh"
CYCLES=${CYCLES:-50}
lab_up
add_ns c1; add_ns c2
daemon_start
two_uppers
# Pinned neighbours: each kill detaches the TAP queues, the TAPs lose carrier and the kernel
# flushes their ARP entries (neigh_carrier_down); re-resolution would then wait for ARP's 1 s
# retransmit timer, which measures the kernel's neighbour code, not subnicd.
ip -n "$P"c1 neigh replace 10.20.0.12 lladdr "$(mac_of c2 mv2)" dev mv1 nud permanent
ip -n "$P"c2 neigh replace 10.20.0.11 lladdr "$(mac_of c1 mv1)" dev mv2 nud permanent

# Background traffic for the whole run (bounded by count), and the churn loop (bounded by a
# stop file and a count); both ignore failures while the daemon is down.
in_ns c1 ping -q -c 100000 -i 0.01 -W 1 10.20.0.12 >"$TMP/ping.txt" 2>&1 &
PIDS+=($!)
# Each CLI call is bounded by `timeout`, so one stuck call cannot stall the loop; the last step
# taken is left in $TMP/step for the failure message.
churn() {
  echo "$1" >"$TMP/step"
  timeout 5 ip netns exec "$P"host "$SUBNIC" --socket "$SOCK" link "$@" >/dev/null 2>&1 || true
}
(
  set +e
  for _ in $(seq 100000); do
    [[ -e $TMP/stop ]] && exit 0
    if [[ -e $TMP/pause ]]; then
      echo pause >"$TMP/step"
      cp "$TMP/pause" "$TMP/paused.tmp" 2>/dev/null && mv "$TMP/paused.tmp" "$TMP/paused"
      sleep 0.02
      continue
    fi
    churn add mvx link eth0 type macvlan mode bridge
    churn del mvx
  done
) &
CHURN_PID=$!
PIDS+=($CHURN_PID)

worst_ms=0
for i in $(seq "$CYCLES"); do
  sleep "0.$(printf '%02d' $((RANDOM % 60 + 5)))"
  kill -9 "$DAEMON_PID"
  wait "$DAEMON_PID" 2>/dev/null || true
  DAEMON_PID=""
  python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$TMP/state/state.json" ||
    fail "cycle $i: the state file does not parse after kill -9"
  start=$(date +%s%N)
  daemon_start
  answer_ms=$((($(date +%s%N) - start) / 1000000))
  # Traffic resumes: one ping with a short wait, retried, bounded at 3 s.
  ok=""
  for _ in $(seq 30); do
    if in_ns c1 ping -c 1 -W 0.1 10.20.0.12 >/dev/null 2>&1; then ok=1; break; fi
  done
  [[ -n $ok ]] || fail "cycle $i: no traffic between mv1 and mv2 3 s after the restart"
  ms=$((($(date +%s%N) - start) / 1000000))
  ((ms > worst_ms)) && worst_ms=$ms
  ((ms <= 1000)) || fail "cycle $i: traffic resumed only $ms ms after the restart (limit 1000; control socket answered after $answer_ms ms)"
  # Hold the churn loop between two operations, then compare link show with the TAPs.
  # The loop acknowledges with this cycle's number, so an old acknowledgement never counts.
  echo "$i" >"$TMP/pause"
  for _ in $(seq 250); do [[ "$(cat "$TMP/paused" 2>/dev/null)" == "$i" ]] && break; sleep 0.02; done
  [[ "$(cat "$TMP/paused" 2>/dev/null)" == "$i" ]] ||
    fail "cycle $i: the churn loop did not pause (last step: $(cat "$TMP/step" 2>/dev/null);" \
      "loop alive: $(kill -0 "$CHURN_PID" 2>/dev/null && echo yes || echo no))"
  sn -j link show >"$TMP/links.json" || fail "cycle $i: link show after the restart"
  tap_present=0
  ip -n "$P"host link show mvx >/dev/null 2>&1 && tap_present=1
  python3 - "$TMP/links.json" "$P" "$tap_present" <<'EOF' || fail "cycle $i: link show does not match the namespaces"
import json, sys
links = {l["ifname"]: l for l in json.load(open(sys.argv[1]))}
prefix, tap_present = sys.argv[2], sys.argv[3] == "1"
assert {"mv1", "mv2"} <= set(links) <= {"mv1", "mv2", "mvx"}, sorted(links)
assert links["mv1"]["netns"].endswith(prefix + "c1") and links["mv2"]["netns"].endswith(prefix + "c2"), links
assert ("mvx" in links) == tap_present, ("mvx listed", "mvx" in links, "TAP present", tap_present)
EOF
  [[ "$(ipv4_of c1 mv1)" == "10.20.0.11" && "$(ipv4_of c2 mv2)" == "10.20.0.12" ]] ||
    fail "cycle $i: an upper lost its address"
  rm -f "$TMP/pause"
done
touch "$TMP/stop"
echo "PASS: kill_loop ($CYCLES kill -9 and restarts; state file always parsed; worst time from restart to traffic: $worst_ms ms)"
