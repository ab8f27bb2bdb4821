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
