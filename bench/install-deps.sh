#!/bin/sh
# Installs what bench/e2e.py measures with and against (issue 6), on Debian 12:
#   iperf3, sockperf          the load and the round trip
#   openvswitch-switch        OVS with its userspace datapath (datapath_type=netdev)
#   vde2                      vde_switch, vde_plug2tap, vde_pcapplug
#   python3                   the script itself
#
#   sudo sh bench/install-deps.sh
#
# e2e.py starts its own ovsdb-server / ovs-vswitchd (own db, sockets, pid and log files in a
# temp dir) and its own vde_switch, and kills them by PID; no system service is needed. So the
# packages' services must not be left running: while installing, a policy-rc.d that refuses
# every service start is put in place (only if the machine has none; removed afterwards), and
# should the system Open vSwitch run all the same, it is stopped and disabled.
set -eu

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: needs root" >&2
    exit 1
fi

POLICY=/usr/sbin/policy-rc.d
ours=
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# bench/install-deps.sh: no service starts while it installs\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"
    ours=1
fi
cleanup() {
    if [ -n "$ours" ]; then rm -f "$POLICY"; fi
}
trap cleanup EXIT INT TERM

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends iperf3 sockperf openvswitch-switch vde2 python3

# A system Open vSwitch started despite the policy (e.g. systemd as PID 1 with a unit that was
# already enabled): stop it and keep it from starting at boot.
# `systemctl disable` also works without systemd running (it only removes the unit's links).
if [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ] && command -v systemctl >/dev/null; then
    systemctl disable --now openvswitch-switch.service ovs-vswitchd.service ovsdb-server.service \
        >/dev/null 2>&1 || true
else
    if [ -s /var/run/openvswitch/ovs-vswitchd.pid ] || [ -s /var/run/openvswitch/ovsdb-server.pid ]; then
        /usr/share/openvswitch/scripts/ovs-ctl stop >/dev/null 2>&1 || true
    fi
    if command -v systemctl >/dev/null; then
        systemctl disable openvswitch-switch.service >/dev/null 2>&1 || true
    fi
fi
if command -v update-rc.d >/dev/null; then
    update-rc.d openvswitch-switch disable >/dev/null 2>&1 || true
fi

for t in iperf3 sockperf ovsdb-server ovs-vswitchd ovs-vsctl ovsdb-tool vde_switch vde_plug2tap \
         vde_pcapplug; do
    command -v "$t" >/dev/null || { echo "install-deps.sh: $t missing after install" >&2; exit 1; }
done
echo "install-deps.sh: ok"
