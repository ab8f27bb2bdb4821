#!/usr/bin/env python3
"""End-to-end: two endpoints on one lower, subnic against the kernel in the same run (issue 6).

    sudo python3 bench/e2e.py [--rounds 3] [--seconds 4] [--subnic BIN --subnicd BIN]

Topology (tests/lab TOPO: external switch in ns es, external host x, the lower eth0 in ns h),
built afresh per system and round, the systems interleaved:

    kernel macvlan   A, B: kernel macvlan bridge uppers of eth0 in ns a / ns b
    linux bridge     A, B: veth pairs into a Linux bridge in ns h whose other port is eth0
    subnic macvlan   A, B: subnic macvlan bridge uppers of eth0 (subnicd in ns h)

Between A (10.0.0.1) and B (10.0.0.2) it measures: TCP throughput with iperf3, 1 stream and
4 streams (A -> B); UDP datagrams of 64 bytes delivered per second (iperf3 -u -l 64 -b 0, what
B received); round-trip time (sockperf ping-pong over UDP when sockperf is installed, else
the average of `ping -i 0.002`). Prints the median of the rounds and the ratio to the
kernel's macvlan. Not a test: figures go to BENCHMARKS.md with the command that made them.

Not yet here (issue 6): Open vSwitch with its userspace datapath, VDE2, 64/512 uppers on one
lower, broadcast fan-out, daemon memory per upper.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "lab"))
import lab as L  # noqa: E402

SYSTEMS = ("kernel macvlan", "linux bridge", "subnic macvlan")
METRICS = ("tcp1", "tcp4", "udp64_pps", "rtt_us")
A_IP, B_IP = "10.0.0.1", "10.0.0.2"


def build(system, args):
    backend = "subnic" if system.startswith("subnic") else "kernel"
    lab = L.Lab(backend, subnic=args.subnic, subnicd=args.subnicd)
    lab.build()
    if system == "linux bridge":
        h = lab.ns_h
        br = lab.prefix + "br"
        lab.ip(h, "link", "add", br, "type", "bridge", "stp_state", "0")
        lab.ip(h, "addr", "flush", "dev", lab.eth0)
        lab.ip(h, "link", "set", lab.eth0, "master", br)
        lab.ip(h, "link", "set", br, "up")
        for letter, ip in (("a", A_IP), ("b", B_IP)):
            ns = lab.add_ns(letter)
            port, end = lab.prefix + "p" + letter, lab.prefix + "v" + letter
            lab.ip(h, "link", "add", port, "type", "veth", "peer", "name", end, "netns", ns)
            lab.ip(h, "link", "set", port, "master", br)
            lab.ip(h, "link", "set", port, "up")
            lab.ip(ns, "addr", "add", ip + "/24", "dev", end)
            lab.ip(ns, "link", "set", end, "up")
        return lab, lab.prefix + "a", lab.prefix + "b"
    for letter in "AB":
        r = lab.create(letter, "bridge")
        if not r.ok:
            raise L.LabError("creating %s: %s" % (letter, r.err))
        lab.place(letter, ip6=None)
    lab.settle()
    return lab, lab.uppers["A"].ns, lab.uppers["B"].ns


def sh(ns, *argv, timeout=60):
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                          timeout=timeout)


def server(lab, ns, *argv):
    p = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lab.procs.append(p)
    lab.note_daemon(p.pid)
    time.sleep(0.3)
    return p


def iperf(ns_a, args, extra):
    r = sh(ns_a, "iperf3", "-J", "-c", B_IP, "-t", str(args.seconds), *extra,
           timeout=args.seconds + 30)
    if r.returncode != 0:
        raise L.LabError("iperf3 %s: %s" % (" ".join(extra), r.stdout[-300:] + r.stderr[-300:]))
    return json.loads(r.stdout)["end"]


def measure(system, args):
    lab, ns_a, ns_b = build(system, args)
    try:
        if not lab.ping(ns_a, B_IP)["ok"]:
            raise L.LabError("%s: A cannot reach B" % system)
        server(lab, ns_b, "iperf3", "-s")
        out = {}
        out["tcp1"] = iperf(ns_a, args, [])["sum_received"]["bits_per_second"] / 1e9
        out["tcp4"] = iperf(ns_a, args, ["-P", "4"])["sum_received"]["bits_per_second"] / 1e9
        end = iperf(ns_a, args, ["-u", "-l", "64", "-b", "0"])
        s = end.get("sum_received") or end.get("sum")  # iperf3 3.12 reports "sum" for UDP
        if not s or not s.get("seconds"):
            raise L.LabError("%s: iperf3 UDP gave no summary: %s" % (system, json.dumps(end)[:300]))
        out["udp64_pps"] = (s["packets"] - s["lost_packets"]) / s["seconds"] / 1e3  # k/s
        if shutil.which("sockperf"):
            server(lab, ns_b, "sockperf", "server", "-i", B_IP, "-p", "11111")
            r = sh(ns_a, "sockperf", "ping-pong", "-i", B_IP, "-p", "11111", "-t",
                   str(args.seconds), timeout=args.seconds + 30)
            # "sockperf: Summary: Latency is 12.345 usec" (half the round trip)
            line = [x for x in r.stdout.splitlines() if "Summary: Latency is" in x]
            out["rtt_us"] = 2 * float(line[0].split("is")[1].split()[0]) if line else float("nan")
            out["rtt_tool"] = "sockperf"
        else:
            r = sh(ns_a, "ping", "-q", "-c", "500", "-i", "0.002", B_IP, timeout=60)
            avg = [x for x in r.stdout.splitlines() if "rtt" in x]
            out["rtt_us"] = float(avg[0].split("=")[1].split("/")[1]) * 1000 if avg else float("nan")
            out["rtt_tool"] = "ping"
        return out
    finally:
        lab.teardown()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    build_dir = HERE.parent / "build"
    ap.add_argument("--subnic", default=str(build_dir / "src/cli/subnic"))
    ap.add_argument("--subnicd", default=str(build_dir / "src/daemon/subnicd"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("e2e.py: needs root")
        return 1
    res = {s: {m: [] for m in METRICS} for s in SYSTEMS}
    tool = "?"
    for r in range(args.rounds):
        for s in SYSTEMS:
            try:
                got = measure(s, args)
            except L.LabError as e:
                print("round %d %s failed (%s); once more" % (r + 1, s, e), flush=True)
                got = measure(s, args)
            tool = got.get("rtt_tool", tool)
            for m in METRICS:
                res[s][m].append(got[m])
            print("round %d %-15s TCP1 %6.2f Gbit/s  TCP4 %6.2f Gbit/s  UDP64 %6.0f k/s  RTT %6.1f us"
                  % (r + 1, s, got["tcp1"], got["tcp4"], got["udp64_pps"], got["rtt_us"]), flush=True)
    med = {s: {m: statistics.median(res[s][m]) for m in METRICS} for s in SYSTEMS}
    base = med["kernel macvlan"]
    print()
    print("| system | TCP 1 stream (Gbit/s) | TCP 4 streams | UDP 64 B delivered (k/s) | RTT (us, %s) |"
          % tool)
    print("|---|---|---|---|---|")
    for s in SYSTEMS:
        cells = ["%.2f (%.2f)" % (med[s][m], med[s][m] / base[m]) if base[m] else "%.2f" % med[s][m]
                 for m in METRICS]
        print("| %s | %s |" % (s, " | ".join(cells)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
