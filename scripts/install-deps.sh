#!/usr/bin/env bash
# Installs every Debian package subnic needs to build, test and run its demo. Run as root.
set -euo pipefail
pkgs=(
  # build
  cmake ninja-build g++ pkg-config clang-format
  libfmt-dev libspdlog-dev nlohmann-json3-dev libexpected-dev libcli11-dev libmnl-dev
  libnftables-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # lab: namespaces, probes, DHCP, captures, netfilter counters (ipvlan lab)
  iproute2 iputils-ping dnsmasq-base busybox tcpdump procps python3 kmod nftables
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all ${#pkgs[@]} packages present"
