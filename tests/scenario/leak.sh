#!/usr/bin/env bash
# Leaks (issue 7): CYCLES (10,000) create/delete cycles of a macvlan upper over one control
# connection. subnicd's open fds must come back to their level after a warm-up, and its RSS
# may grow by at most 1 MiB (allocator caches, not a per-cycle leak: 10,000 cycles leaking
# 100 bytes each would already show). Prints both figures.
source "$(dirname "$0")/lib.sh"
CYCLES=${CYCLES:-10000}
lab_up
daemon_start
python3 - "$SOCK" "$DAEMON_PID" "$CYCLES" "$P" <<'EOF' || fail "leak check"
import json, os, socket, sys, time

sock, pid, cycles, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(sock)
f = s.makefile("rwb")
json.loads(f.readline())  # greeting
seq = 0


def call(method, params):
    global seq
    seq += 1
    f.write((json.dumps({"id": seq, "method": method, "params": params}) + "\n").encode())
    f.flush()
    rep = json.loads(f.readline())
    if "error" in rep:
        raise SystemExit("%s %s: %s" % (method, params, rep["error"]))
    return rep


def fds():
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


def cycle(n):
    for _ in range(n):
        call("link.add", {"netns": prefix + "host", "name": "lk0", "link": "eth0",
                          "type": "macvlan", "info_data": {"mode": "bridge"}})
        call("link.del", {"netns": prefix + "host", "name": "lk0"})


cycle(200)  # warm-up: netns handles, allocator pools, the state file's buffers
fd0, rss0 = fds(), rss_kib()
t0 = time.monotonic()
cycle(cycles)
secs = time.monotonic() - t0
fd1, rss1 = fds(), rss_kib()
print("leak: %d create/delete cycles in %.1f s; open fds %d -> %d; RSS %d -> %d KiB (%+d)"
      % (cycles, secs, fd0, fd1, rss0, rss1, rss1 - rss0))
if fd1 != fd0:
    raise SystemExit("open fds changed: %d -> %d" % (fd0, fd1))
if rss1 - rss0 > 1024:
    raise SystemExit("RSS grew by %d KiB" % (rss1 - rss0))
EOF
ip -n "$P"host link show lk0 >/dev/null 2>&1 && fail "the last upper's TAP is still there"
echo "PASS: leak"
