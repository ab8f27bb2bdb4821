#!/usr/bin/env bash
# packaging/subnicd.service: systemd accepts every line of it (systemd-analyze verify, with
# ExecStart pointed at the built subnicd), its CapabilityBoundingSet= is the set subnicd keeps
# (`subnicd --capabilities`) plus CAP_CHOWN and CAP_SETPCAP (used at start only), and its
# directories are subnicd's default paths. No root needed.
set -euo pipefail
UNIT=$(dirname "$0")/../../packaging/subnicd.service
[[ -x ${SUBNICD:-} ]] || { echo "FAIL: SUBNICD not set" >&2; exit 1; }
SUBNICD=$(realpath "$SUBNICD")  # systemd wants an absolute ExecStart=
fail() { echo "FAIL: $*" >&2; exit 1; }
key() { sed -n "s/^$1=//p" "$UNIT"; }

# 1. The capability sets.
kept=$("$SUBNICD" --capabilities | awk -F: '{print toupper($1)}' | sort | xargs)
bounding=$(key CapabilityBoundingSet | tr ' ' '\n' | grep -vx -e CAP_CHOWN -e CAP_SETPCAP | sort | xargs)
[[ -n $kept && $kept == "$bounding" ]] ||
  fail "CapabilityBoundingSet= less CAP_CHOWN CAP_SETPCAP is '$bounding'; subnicd keeps '$kept'"
[[ $(key NoNewPrivileges) == yes && -z $(key AmbientCapabilities) ]] || fail "NoNewPrivileges/AmbientCapabilities"

# 2. Paths: the unit's directories are where subnicd puts its socket and state by default.
help=$(env -u SUBNIC_SOCKET "$SUBNICD" --help)
grep -q -- '--socket TEXT=/run/subnic/subnicd.sock' <<<"$help" || fail "subnicd's default socket moved"
grep -q -- '--state-dir TEXT=/var/lib/subnic' <<<"$help" || fail "subnicd's default state dir moved"
grep -q -- '--group TEXT=subnic' <<<"$help" || fail "subnicd's default group changed"
grep -qx 'g subnic - -' "$(dirname "$0")/../../packaging/subnic.sysusers" || fail "sysusers group"
[[ $(key RuntimeDirectory) == subnic && $(key StateDirectory) == subnic ]] || fail "Runtime/StateDirectory"
exec_start=$(key ExecStart)
[[ $exec_start == *"--socket /run/subnic/subnicd.sock"* && $exec_start == *"--state-dir /var/lib/subnic"* ]] ||
  fail "ExecStart paths: $exec_start"
for k in PrivateNetwork PrivateDevices ProtectProc; do
  [[ -z $(key $k) ]] || fail "$k= would break subnicd (README, Running under systemd)"
done

# 3. systemd's own parser: any complaint about the unit is a failure (verify exits 0 on
# unknown keys and bad values, so its output is checked).
if command -v systemd-analyze >/dev/null; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  sed "s#^ExecStart=[^ ]*#ExecStart=$SUBNICD#" "$UNIT" >"$tmp/subnicd.service"
  out=$(systemd-analyze verify "$tmp/subnicd.service" 2>&1) || fail "systemd-analyze verify: $out"
  grep -q "subnicd.service" <<<"$out" && fail "systemd-analyze verify: $out"
  score=$(systemd-analyze security --offline=yes "$tmp/subnicd.service" 2>/dev/null |
    sed -n 's/.*Overall exposure level for subnicd.service: \([0-9.]*\).*/\1/p')
  echo "systemd-analyze verify: clean; security --offline exposure: ${score:-n/a}"
elif [[ "${CI:-}" == "true" ]]; then
  fail "systemd-analyze missing (package systemd)"
else
  echo "systemd-analyze not installed: unit not verified by systemd"
fi
echo "PASS: systemd_unit (bounding set = kept + CAP_CHOWN CAP_SETPCAP: $kept)"
