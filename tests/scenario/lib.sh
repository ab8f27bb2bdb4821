# Scenario tests' preamble: skip or fail without root and tools, then the shared lab of
# scripts/lab.sh with a per-run prefix, removed on exit. Needs SUBNIC and SUBNICD set.
set -euo pipefail

skip_or_fail() {  # no privilege or tool: a skip (77) outside CI, a failure under CI=true
  if [[ "${CI:-}" == "true" ]]; then echo "FAIL: $*" >&2; exit 1; fi
  echo "SKIP: $*" >&2; exit 77
}
[[ $EUID -eq 0 ]] || skip_or_fail "needs root for network namespaces"
for t in ip ping dnsmasq busybox python3; do
  command -v "$t" >/dev/null || skip_or_fail "missing tool: $t"
done
[[ -x ${SUBNIC:-} && -x ${SUBNICD:-} ]] || { echo "FAIL: SUBNIC/SUBNICD not set" >&2; exit 1; }

P=st$(printf '%04x' $((RANDOM)))
TMP=$(mktemp -d /tmp/subnic-scenario.XXXXXX)
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lab.sh"
trap lab_cleanup EXIT INT TERM

# Two macvlan bridge uppers of eth0: mv1 in c1 (10.20.0.11/24) and mv2 in c2 (10.20.0.12/24),
# up, and a ping between them. Needs lab_up, add_ns c1 c2 and daemon_start first.
two_uppers() {
  sn link add mv1 link eth0 type macvlan mode bridge
  sn link add mv2 link eth0 type macvlan mode bridge
  ip -n "$P"host link set mv1 netns "$P"c1
  ip -n "$P"host link set mv2 netns "$P"c2
  ip -n "$P"c1 addr add 10.20.0.11/24 dev mv1 && ip -n "$P"c1 link set mv1 up
  ip -n "$P"c2 addr add 10.20.0.12/24 dev mv2 && ip -n "$P"c2 link set mv2 up
  in_ns c1 ping -c 2 -W 1 10.20.0.12 >/dev/null || fail "ping mv1 -> mv2 before the test"
}
