#!/usr/bin/env bash
# macvtap/ipvtap endpoints without QEMU: the control path's errors, `link show`, a stream socket
# driven by hand (frames with the upper's source MAC go out and are counted, others are dropped
# as src_mac, a frame from the external host reaches the stream; a down upper drops its guest's
# frames), and kill -9 + restart: with the path unusable the upper stays a macvtap that says
# so; with it free the endpoint listens again. (tests/lab's VM-* cases boot real guests.)
source "$(dirname "$0")/lib.sh"
lab_up
daemon_start
S1=$TMP/vm1.sock
MAC1=02:5e:00:00:0a:01

# Errors name what is wrong.
out=$(sn link add vt0 link eth0 type macvtap mode bridge 2>&1) && fail "macvtap without endpoint accepted"
[[ $out == *"macvtap needs an endpoint: stream PATH or vhost-user PATH"* ]] || fail "no-endpoint error: $out"
touch "$TMP/plain"
out=$(sn link add vt0 link eth0 type macvtap stream "$TMP/plain" 2>&1) && fail "a regular file taken as a socket"
[[ $out == *"File exists"* || $out == *"EEXIST"* || $out == *"exists"* ]] || fail "regular-file error: $out"
[[ -f $TMP/plain ]] || fail "the regular file was removed"

sn link add vt1 link eth0 address $MAC1 type macvtap mode bridge stream "$S1" || fail "macvtap add"
[[ -S $S1 ]] || fail "no socket at $S1"
out=$(sn link add vt2 link eth0 type macvtap stream "$S1" 2>&1) && fail "a second upper on the same path"
[[ $out == *"is already the endpoint of vt1"* ]] || fail "shared-path error: $out"
out=$(sn link set vt1 type macvtap vhost-user "$TMP/other.sock" 2>&1) && fail "endpoint changed by link set"
[[ $out == *"keeps the endpoint it was created with"* ]] || fail "link set endpoint error: $out"
# The upper's netdev sends what the host's stack sends through it: no IPv6 there, so the
# counters below hold only the stream's frames.
in_ns host sysctl -qw net.ipv6.conf.vt1.disable_ipv6=1
sn link set vt1 up || fail "link set up"
sn -d link show vt1 | grep -q "macvtap mode bridge .*stream $S1" || fail "link show -d: $(sn -d link show vt1)"

# Frames over the stream by hand: 4-byte big-endian length + Ethernet frame.
cat >"$TMP/stream.py" <<'EOF'
import socket, struct, sys, time
path, mine, other = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", "")), bytes.fromhex("025e00000b0b")
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
def arp(src):  # an ARP request for 10.20.0.100 from 10.20.0.77 with source MAC src
    return (b"\xff" * 6 + src + b"\x08\x06" + bytes.fromhex("0001080006040001") + src +
            bytes([10, 20, 0, 77]) + b"\x00" * 6 + bytes([10, 20, 0, 100]) + b"\x00" * 18)
for src in (other, other, mine):
    f = arp(src)
    s.sendall(struct.pack(">I", len(f)) + f)
# the external host answers the one with our MAC: a reply to `mine` arrives on the stream
s.settimeout(5)
buf, deadline = b"", time.monotonic() + 5
while time.monotonic() < deadline:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    if not chunk:
        break
    buf += chunk
    while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">I", buf[:4])[0]:
        n = struct.unpack(">I", buf[:4])[0]
        f, buf = buf[4:4 + n], buf[4 + n:]
        if f[:6] == mine and f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02":
            print("reply")
            sys.exit(0)
sys.exit(1)
EOF
in_ns host python3 "$TMP/stream.py" "$S1" $MAC1 | grep -q reply || fail "no ARP reply through the stream"
sn -s -j link show vt1 | python3 -c '
import json, sys
l = json.load(sys.stdin)[0]
assert l["drops"]["src_mac"] == 2, l["drops"]
assert l["stats64"]["tx"]["packets"] == 1, l["stats64"]
assert l["stats64"]["rx"]["packets"] >= 1, l["stats64"]
' || fail "counters: $(sn -s -j link show vt1)"

# A down upper: its guest's frames are drained and dropped (upper_down), nothing answers.
sn link set vt1 down || fail "link set down"
in_ns host python3 "$TMP/stream.py" "$S1" $MAC1 | grep -q reply && fail "a down macvtap forwarded its guest's frames"
sn -s -j link show vt1 | python3 -c '
import json, sys
l = json.load(sys.stdin)[0]
assert l["drops"].get("upper_down", 0) >= 1, l["drops"]
' || fail "upper_down not counted: $(sn -s -j link show vt1)"
sn link set vt1 up || fail "link set up again"

# kill -9, and the path taken by a regular file meanwhile: the upper comes back a macvtap
# that says what is wrong, and keeps its endpoint in the state file.
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=""
rm -f "$S1"; touch "$S1"
daemon_start
sn -d -j link show vt1 | python3 -c '
import json, sys
l = json.load(sys.stdin)[0]
assert l["linkinfo"]["info_kind"] == "macvtap", l["linkinfo"]
assert l["subnic"]["vm"]["connected"] is False and "error" in l["subnic"]["vm"], l["subnic"]
' || fail "macvtap with an unusable path after restart: $(sn -d -j link show vt1)"
# kill -9 and restart with the path free: the upper is back with its endpoint, listening again.
kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=""
rm -f "$S1"
daemon_start
sn -d -j link show vt1 | python3 -c '
import json, sys
l = json.load(sys.stdin)[0]
assert l["linkinfo"]["info_kind"] == "macvtap", l["linkinfo"]
assert l["linkinfo"]["info_data"]["vm"]["type"] == "stream", l["linkinfo"]
' || fail "macvtap after restart: $(sn -d -j link show vt1)"
in_ns host python3 "$TMP/stream.py" "$S1" $MAC1 | grep -q reply || fail "no ARP reply after the restart"

sn link del vt1 || fail "link del"
[[ ! -e $S1 ]] || fail "socket file left after link del"
echo "PASS: macvtap endpoint errors, stream frames, src_mac drops, restart, delete"
