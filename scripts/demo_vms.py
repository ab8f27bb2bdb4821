#!/usr/bin/env python3
"""The demo's seed-003 part: two VMs on subnic macvtaps in bridge mode, next to the containers.

    demo_vms.py PREFIX SUBNIC SOCKET TMPDIR CONTAINER_IP

Called by scripts/demo.sh inside its lab (namespaces PREFIXhost, PREFIXext, PREFIXc1; subnicd
listening on SOCKET in PREFIXhost; dnsmasq on the switch). Creates macvtap vm1 (vhost-user) and
vm2 (QEMU stream) on eth0, boots a QEMU guest on each (tests/lab/vm.py: Debian kernel +
busybox, TCG), lets both take a DHCP lease, and pings VM to VM, VM to container, VM to the
external host and back. The VMs are stopped (by PID) on exit; the uppers go with the lab.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "lab"))
import vm as V  # noqa: E402

EXT = "10.20.0.100"


def main():
    prefix, subnic, sock, tmp, c1_ip = sys.argv[1:6]
    host = prefix + "host"

    def sn(*args):
        argv = ["ip", "netns", "exec", host, subnic, "--socket", sock, *args]
        print("$ subnic " + " ".join(args), flush=True)
        r = subprocess.run(argv, text=True, capture_output=True, timeout=30)
        sys.stdout.write(r.stdout)
        if r.returncode != 0:
            sys.exit("demo: subnic %s failed: %s" % (" ".join(args), r.stderr.strip()))

    def step(text):
        print("\n== " + text, flush=True)

    def ping(vm, dst):
        print("$ [%s] ping -c 3 %s" % (vm.name, dst), flush=True)
        rc, out = vm.run("ping -c 3 -W 2 %s" % dst, timeout=30)
        print(out.rstrip().splitlines()[-2] if out.strip() else "", flush=True)
        if rc != 0:
            sys.exit("demo: %s could not reach %s" % (vm.name, dst))

    step("seed 003: two macvtap uppers in bridge mode on eth0, each the NIC of a VM")
    macs = {"vm1": "02:5e:00:00:03:01", "vm2": "02:5e:00:00:03:02"}
    paths = {"vm1": os.path.join(tmp, "vm1.sock"), "vm2": os.path.join(tmp, "vm2.sock")}
    sn("link", "add", "vm1", "link", "eth0", "address", macs["vm1"], "type", "macvtap", "mode",
       "bridge", "vhost-user", paths["vm1"])
    sn("link", "add", "vm2", "link", "eth0", "address", macs["vm2"], "type", "macvtap", "mode",
       "bridge", "stream", paths["vm2"])
    sn("link", "set", "vm1", "up")
    sn("link", "set", "vm2", "up")
    step("QEMU: vm1 on vhost-user (shared memfd RAM), vm2 on -netdev stream; both boot")
    V.ensure_guest()
    vms = [V.Vm("vm1", V.VhostUser(paths["vm1"]), macs["vm1"], workdir=tmp),
           V.Vm("vm2", V.Stream(paths["vm2"]), macs["vm2"], workdir=tmp)]
    V.start_all(vms)
    try:
        vm1, vm2 = vms
        for v in vms:
            print("%s booted in %.1f s" % (v.name, v.boot_seconds or 0), flush=True)
        step("each VM asks the DHCP server behind the external switch for a lease")
        ip1, ip2 = vm1.dhcp(), vm2.dhcp()
        print("leases: vm1 %s, vm2 %s" % (ip1, ip2), flush=True)
        step("vm1 -> vm2 (bridge mode: switched inside subnic), vm1 -> container c1, "
             "vm2 -> the external host")
        ping(vm1, ip2)
        ping(vm1, c1_ip)
        ping(vm2, EXT)
        step("the external host -> vm1")
        r = subprocess.run(["ip", "netns", "exec", prefix + "ext", "ping", "-c", "3", "-i", "0.2",
                            "-W", "2", ip1], text=True, capture_output=True, timeout=30)
        print(r.stdout.strip().splitlines()[-2] if r.stdout.strip() else r.stderr, flush=True)
        if r.returncode != 0:
            sys.exit("demo: the external host could not reach vm1")
        step("VM traffic is counted like any upper's; the VM endpoint is in -d")
        sn("-s", "-d", "link", "show", "vm1")
    finally:
        for v in vms:
            v.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
