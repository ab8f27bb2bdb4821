#!/usr/bin/env bash
# Privileges (issue 7): after start-up every thread of subnicd (the control thread and the
# datapath thread) has exactly the kept capabilities — cap_net_admin, cap_net_raw,
# cap_sys_ptrace, cap_sys_admin — effective, permitted and bounding, none inheritable or
# ambient, and no_new_privs set. With that, the daemon still does its whole job: an upper
# created straight into another namespace, one moved by `ip` into an unnamed namespace of a
# root process (found again at restart through /proc/PID/ns/net: what cap_sys_ptrace is kept
# for), traffic through both, and both restored after a restart.
source "$(dirname "$0")/lib.sh"
for t in setpriv unshare nsenter; do command -v $t >/dev/null || skip_or_fail "missing tool: $t"; done
lab_up
add_ns c1
daemon_start
# cap_net_admin 12, cap_net_raw 13, cap_sys_ptrace 19, cap_sys_admin 21.
WANT=0000000000283000

check_caps() {  # every task of the daemon
  local tasks=0 st
  for st in /proc/"$DAEMON_PID"/task/*/status; do
    tasks=$((tasks + 1))
    local name eff prm bnd inh amb nnp
    name=$(awk '/^Name:/ {print $2}' "$st")
    eff=$(awk '/^CapEff:/ {print $2}' "$st"); prm=$(awk '/^CapPrm:/ {print $2}' "$st")
    bnd=$(awk '/^CapBnd:/ {print $2}' "$st"); inh=$(awk '/^CapInh:/ {print $2}' "$st")
    amb=$(awk '/^CapAmb:/ {print $2}' "$st"); nnp=$(awk '/^NoNewPrivs:/ {print $2}' "$st")
    [[ $eff == "$WANT" && $prm == "$WANT" && $bnd == "$WANT" ]] ||
      fail "task $st ($name): CapEff $eff CapPrm $prm CapBnd $bnd, want $WANT"
    [[ $inh == 0000000000000000 && $amb == 0000000000000000 ]] ||
      fail "task $st ($name): CapInh $inh CapAmb $amb, want none"
    [[ $nnp == 1 ]] || fail "task $st ($name): NoNewPrivs $nnp"
  done
  ((tasks >= 2)) || fail "expected the control and the datapath thread, found $tasks task(s)"
  echo "  $tasks threads: CapEff=CapPrm=CapBnd=$WANT ($(capsh --decode=$WANT 2>/dev/null | cut -d= -f2)), no inheritable/ambient, no_new_privs"
}
check_caps
grep -q "capabilities kept: cap_net_admin,cap_net_raw,cap_sys_ptrace,cap_sys_admin" "$TMP/subnicd.log" ||
  fail "the log does not say which capabilities are kept"

# An unnamed namespace of a root process (as a container runtime makes), with all capabilities.
unshare -n sleep 600 &
UPID=$!
PIDS+=($UPID)
sleep 0.2
# Why cap_sys_ptrace is kept: without it the kernel refuses to open that process's namespace.
if setpriv --inh-caps=-all --bounding-set=-all,+net_admin,+net_raw,+sys_admin -- \
  cat /proc/$UPID/ns/net >/dev/null 2>&1; then
  fail "opened /proc/$UPID/ns/net without cap_sys_ptrace: the kept set could be smaller"
fi

sn link add mv1 link eth0 netns "$P"c1 type macvlan mode bridge || fail "upper created in another namespace"
sn link add mv3 link eth0 type macvlan mode bridge || fail "upper in the home namespace"
ip -n "$P"host link set mv3 netns "$UPID" || fail "ip link set mv3 netns PID"
ip -n "$P"c1 addr add 10.20.0.11/24 dev mv1 && ip -n "$P"c1 link set mv1 up
nsenter -t "$UPID" -n ip link set lo up
nsenter -t "$UPID" -n ip addr add 10.20.0.13/24 dev mv3 && nsenter -t "$UPID" -n ip link set mv3 up
in_ns c1 ping -c 2 -W 1 10.20.0.100 >/dev/null || fail "ping from mv1 (named namespace)"
nsenter -t "$UPID" -n ping -c 2 -W 1 10.20.0.11 >/dev/null || fail "ping from mv3 (unnamed namespace) to mv1"

kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=""
daemon_start
check_caps
ino=$(stat -L -c %i /proc/$UPID/ns/net)
sn -j link show | python3 -c '
import json, sys
links = {l["ifname"]: l["netns"] for l in json.load(sys.stdin)}
want = {"mv1": sys.argv[1], "mv3": "nsfs:[" + sys.argv[2] + "]"}
assert links == want, (links, want)' "$P"c1 "$ino" || fail "uppers after the restart"
nsenter -t "$UPID" -n ping -c 3 -i 0.2 -W 1 10.20.0.11 >/dev/null || fail "ping after the restart"
nsenter -t "$UPID" -n ping -c 2 -W 1 10.20.0.100 >/dev/null || fail "external host after the restart"
echo "PASS: privileges (kept exactly $WANT in every thread; uppers in a named and an unnamed namespace restored, traffic flows)"
