#!/usr/bin/env bash
# 100 clients at once (issue 7): each on a connection of its own (every fifth through the real
# CLI binary) adds and deletes macvlan uppers, its own and its neighbour's, some created in a
# second namespace. Afterwards `subnic -j link show` lists exactly the uppers the clients'
# outcomes say must exist, each one a TAP in its namespace and no other TAP is there; after a
# kill -9 the state file lists the same set, and so does the restarted daemon.
source "$(dirname "$0")/lib.sh"
N=${CLIENTS:-100}
lab_up
add_ns c1
# The daemon keeps one fd per upper and per client: leave room above the usual 1024.
ulimit -n 4096
daemon_start

python3 "$(dirname "$0")/ctl_clients.py" "$SOCK" "$SUBNIC" "$P"c1 "$N" "$TMP/expect.json" ||
  fail "the clients"

# Uppers subnicd lists, TAPs present in each namespace, uppers in the state file: each as
# "name@netns" ("" = the daemon's own namespace, host), sorted.
listed() {
  sn -j link show | python3 -c '
import json, sys
print("\n".join(sorted(l["ifname"] + "@" + l["netns"] for l in json.load(sys.stdin))))'
}
taps() {
  { ip -n "$P"host -j -d link show | python3 -c '
import json, sys
print("\n".join(l["ifname"] + "@" for l in json.load(sys.stdin) if l.get("linkinfo", {}).get("info_kind") == "tun"))'
    ip -n "$P"c1 -j -d link show | python3 -c '
import json, sys
print("\n".join(l["ifname"] + "@" + sys.argv[1] for l in json.load(sys.stdin) if l.get("linkinfo", {}).get("info_kind") == "tun"))' "$P"c1
  } | sed '/^$/d' | sort
}
saved() {
  python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print("\n".join(sorted(u["name"] + "@" + u["netns"] for u in s["uppers"])))' "$TMP/state/state.json"
}
python3 -c '
import json, sys
print("\n".join(sorted(n + "@" + ns for n, ns in json.load(open(sys.argv[1])))))' "$TMP/expect.json" >"$TMP/expect.txt"
count=$(wc -l <"$TMP/expect.txt")
((count >= N)) || fail "only $count uppers expected: the clients did not add enough"

listed >"$TMP/listed.txt"
diff -u "$TMP/expect.txt" "$TMP/listed.txt" || fail "link show differs from the clients' outcomes"
taps >"$TMP/taps.txt"
diff -u "$TMP/expect.txt" "$TMP/taps.txt" || fail "the TAPs in the namespaces differ from link show"

kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=""
saved >"$TMP/saved.txt"
diff -u "$TMP/expect.txt" "$TMP/saved.txt" || fail "the state file differs after kill -9"
daemon_start
listed >"$TMP/listed2.txt"
diff -u "$TMP/expect.txt" "$TMP/listed2.txt" || fail "link show differs after the restart"
taps >"$TMP/taps2.txt"
diff -u "$TMP/expect.txt" "$TMP/taps2.txt" || fail "the TAPs differ after the restart"
echo "PASS: ctl_concurrency ($N clients; $count uppers listed, present as TAPs, saved and restored)"
