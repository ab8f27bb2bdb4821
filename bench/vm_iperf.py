#!/usr/bin/env python3
"""iperf3 between a VM and a container on one lower, subnic against the kernel's macvtap.

    sudo python3 bench/vm_iperf.py [--subnic BIN --subnicd BIN] [--seconds 5] [--rounds 3]

One lab (tests/lab TOPO) per system and round, interleaved: kernel macvtap (`-netdev tap,fd=`),
subnic macvtap over vhost-user, subnic macvtap over QEMU's stream netdev. Each lab has a
container C (a macvlan bridge upper of the same backend, 10.0.0.3, iperf3 server) and one VM
on a macvtap bridge upper of eth0 (10.0.0.11, a QEMU guest under TCG: tests/lab/vm.py). The
VM runs `iperf3 -c 10.0.0.3 -t SECONDS` (VM -> container) and with `-R` (container -> VM).
Prints the median Mbit/s of each system and direction and the ratio to the kernel's.

This is a benchmark, not a test: the figures depend on the machine (TCG guests are CPU-bound)
and go into BENCHMARKS.md with the command that made them.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "lab"))
import lab as L  # noqa: E402
import scenarios_vm as S  # noqa: E402
import vm as V  # noqa: E402

SYSTEMS = ("kernel", "subnic vhost-user", "subnic stream")


def one(system, args):
    backend = "kernel" if system == "kernel" else "subnic"
    endpoint = system.split()[-1] if backend == "subnic" else None
    with L.Lab(backend, subnic=args.subnic, subnicd=args.subnicd) as lab:
        lab.build()
        cns = S.container(lab, "bridge")
        server = subprocess.Popen(["ip", "netns", "exec", cns, "iperf3", "-s"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        lab.procs.append(server)
        lab.note_daemon(server.pid)
        nd = S.vm_upper(lab, 1, "bridge", endpoint)
        vm = V.Vm("vm1", nd, S.VM_MAC[1], lab=lab).start()
        vm.set_ip(S.VM_IP[1] + "/24")
        if not S.vm_ping(vm, S.C_IP):
            raise L.LabError("%s: the VM cannot reach the container" % system)
        out = {}
        for label, extra in (("vm_to_c", ""), ("c_to_vm", " -R")):
            rc, text = vm.run("iperf3 -J -c %s -t %d%s" % (S.C_IP, args.seconds, extra),
                              timeout=args.seconds + 30)
            if rc != 0:
                raise L.LabError("%s: iperf3%s failed: %s" % (system, extra, text[-500:]))
            j = json.loads(text[text.index("{"):])
            out[label] = j["end"]["sum_received"]["bits_per_second"] / 1e6
        vm.stop()
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    build = HERE.parent / "build"
    ap.add_argument("--subnic", default=str(build / "src/cli/subnic"))
    ap.add_argument("--subnicd", default=str(build / "src/daemon/subnicd"))
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("vm_iperf.py: needs root (namespaces, QEMU, macvtap)")
        return 1
    results = {s: {"vm_to_c": [], "c_to_vm": []} for s in SYSTEMS}
    for r in range(args.rounds):
        for s in SYSTEMS:
            got = one(s, args)
            for k, v in got.items():
                results[s][k].append(v)
            print("round %d %-18s VM->C %8.0f Mbit/s   C->VM %8.0f Mbit/s"
                  % (r + 1, s, got["vm_to_c"], got["c_to_vm"]), flush=True)
    print()
    print("| system | VM -> container (Mbit/s) | container -> VM (Mbit/s) |")
    print("|---|---|---|")
    base = {k: statistics.median(results["kernel"][k]) for k in ("vm_to_c", "c_to_vm")}
    for s in SYSTEMS:
        cells = []
        for k in ("vm_to_c", "c_to_vm"):
            m = statistics.median(results[s][k])
            cells.append("%.0f (%.2fx)" % (m, m / base[k]) if base[k] else "%.0f" % m)
        print("| %s | %s | %s |" % (s, cells[0], cells[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
