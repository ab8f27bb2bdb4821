#!/usr/bin/env bash
# Installs every Debian package subnic needs to build, test and run its demo. Run as root.
set -euo pipefail
pkgs=(
  # build
  cmake ninja-build g++ pkg-config clang-format
  libfmt-dev libspdlog-dev nlohmann-json3-dev libexpected-dev libcli11-dev libmnl-dev
  libnftables-dev libcap-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # fuzzing (tests/fuzz): clang with libFuzzer and the sanitizer runtimes
  clang-14 libclang-rt-14-dev
  # lab: namespaces, probes, DHCP, captures, netfilter counters (ipvlan lab)
  # (busybox-static: the DHCP client in the lab and the VM guests' userland; it replaces busybox)
  iproute2 iputils-ping dnsmasq-base busybox-static tcpdump procps python3 kmod nftables
  # packaging: systemd-analyze verifies packaging/subnicd.service (tests/packaging)
  systemd
  # VM lab (issue 5): QEMU under TCG, the guest kernel is fetched with apt-get download;
  # iperf3 for the VM benchmark
  qemu-system-x86 iperf3
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
