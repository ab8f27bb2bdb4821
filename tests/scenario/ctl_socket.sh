#!/usr/bin/env bash
# Control socket (issue 7): mode 0660, owner root, group --group; a real unprivileged user
# (nobody, uid 65534, run with setpriv: no user is created) is refused, first by the file mode
# (connect: EACCES) and, with the mode widened to 0666, by subnicd's SO_PEERCRED check (an error
# line naming why, printed by the CLI, logged by the daemon); a member of the group (primary or
# supplementary) is accepted; an oversize request, malformed JSON and an unknown method get
# error replies and the daemon lives.
source "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || skip_or_fail "missing tool: setpriv (util-linux)"
lab_up
# nobody must reach the socket: $TMP is 0700 from mktemp; let others traverse it, not list it.
chmod 0711 "$TMP"
install -m 0755 "$SUBNIC" "$TMP/subnic"  # the build tree may not be readable by nobody
as_user() {  # UID GID [--groups G|--clear-groups] -- CLI words...
  local uid=$1 gid=$2 groups=$3
  shift 4
  setpriv --reuid="$uid" --regid="$gid" $groups "$TMP/subnic" --socket "$SOCK" "$@"
}
sock_stat() { stat -c '%a %U %G' "$SOCK"; }
pass=0

# 1. A group that does not exist: root only, said in the log.
NOGRP=${P}nogrp
getent group "$NOGRP" >/dev/null && fail "group $NOGRP exists"
daemon_start --group "$NOGRP"
[[ "$(sock_stat)" == "660 root root" ]] || fail "socket mode/owner: $(sock_stat), want 660 root root"
grep -q "group $NOGRP does not exist: root only" "$TMP/subnicd.log" || fail "no 'root only' log line"
sn link show >/dev/null || fail "root refused"
# nobody: the file mode refuses at connect(2).
if out=$(as_user 65534 65534 --clear-groups -- link show 2>&1); then fail "nobody connected: $out"; fi
[[ $out == *"Permission denied"* ]] || fail "nobody on a 0660 socket: '$out', want Permission denied"
pass=$((pass + 1))
# The SO_PEERCRED path: widen the mode as an administrator might; subnicd still refuses.
chmod 0666 "$SOCK"
if out=$(as_user 65534 65534 --clear-groups -- link show 2>&1); then fail "nobody accepted: $out"; fi
want="Error: uid 65534 is neither root nor in group $NOGRP (the group does not exist: root only)"
[[ $out == "$want" ]] || fail "refusal message: '$out', want '$want'"
grep -q "control: refused pid [0-9]* uid 65534 gid 65534: $want" "$TMP/subnicd.log" ||
  fail "the refusal is not logged"
kill -0 "$DAEMON_PID" && sn link show >/dev/null || fail "subnicd died after a refusal"
pass=$((pass + 1))
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=""

# 2. --group nogroup (gid 65534): its members are in, by primary or supplementary group.
daemon_start --group nogroup
[[ "$(sock_stat)" == "660 root nogroup" ]] || fail "socket mode/owner: $(sock_stat), want 660 root nogroup"
as_user 65534 65534 --clear-groups -- link add nb1 link eth0 type macvlan mode bridge ||
  fail "a member (primary group) was refused"
[[ "$(as_user 65534 65534 --clear-groups -- -j link show nb1 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["ifname"])')" == nb1 ]] ||
  fail "link show as a member"
as_user 65534 100 --groups=65534 -- link del nb1 || fail "a member (supplementary group) was refused"
pass=$((pass + 1))
chmod 0666 "$SOCK"
if out=$(as_user 65534 100 --clear-groups -- link show 2>&1); then fail "a non-member was accepted"; fi
[[ $out == "Error: uid 65534 is neither root nor in group nogroup" ]] || fail "refusal message: '$out'"
pass=$((pass + 1))

# 3. Bad requests, as root, on one connection: each gets its error reply, in order, and the
# connection and the daemon stay usable.
python3 - "$SOCK" <<'EOF' || fail "bad requests"
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(10)
f = s.makefile("rb")
greet = json.loads(f.readline())
assert "subnicd" in greet, greet

def ask(raw):
    s.sendall(raw)
    return json.loads(f.readline())

def expect_error(raw, code, words, rid=None):
    r = ask(raw)
    assert r.get("id") == rid and r["error"]["code"] == code and words in r["error"]["message"], r
    print(f"  {code}: {r['error']['message']}")

big = b'{"id":1,"method":"ping","params":{"pad":"' + b"x" * (1 << 20) + b'"}}\n'  # > 1 MiB line
expect_error(big, "EPROTO", "line longer than 1048576 bytes")
expect_error(b'{"id":2,"method":"link.add","params":{"name":"x"\n', "EPROTO", "not a JSON value")
expect_error(b"[1,2,3]\n", "EPROTO", "not a JSON object")
expect_error(b'\x00\xff\xfe garbage\n', "EPROTO", "not a JSON value")
expect_error(b'{"id":3,"method":"link.frobnicate","params":{}}\n', "EOPNOTSUPP",
             'unknown method "link.frobnicate"', 3)
expect_error(b'{"id":4,"method":"link.add","params":{"name":5,"link":[]}}\n', "EINVAL", "", 4)
assert ask(b'{"id":5,"method":"ping","params":{}}\n') == {"id": 5, "result": {"pong": True}}
# A client that leaves in the middle of a line, and one that leaves without reading.
t = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); t.connect(sys.argv[1])
t.sendall(b'{"id":9,"method":"li'); t.close()
t = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); t.connect(sys.argv[1])
t.sendall(b'{"id":9,"method":"link.show","params":{}}\n' * 50); t.close()
assert ask(b'{"id":6,"method":"ping","params":{}}\n') == {"id": 6, "result": {"pong": True}}
EOF
kill -0 "$DAEMON_PID" || fail "subnicd died on bad requests"
sn link add mv1 link eth0 type macvlan mode bridge && sn link del mv1 || fail "subnicd unusable after bad requests"
pass=$((pass + 1))
echo "PASS: ctl_socket ($pass checks: file mode, SO_PEERCRED refusal, group members, bad requests)"
