#!/usr/bin/env python3
"""End-to-end: two endpoints on one lower, subnic against the kernel and the userspace switches
in the same run (issue 6).

    sudo sh bench/install-deps.sh        # iperf3, sockperf, openvswitch-switch, vde2
    sudo python3 bench/e2e.py [--rounds 3] [--seconds 4] [--systems kernel,subnic,...]
                              [--scale | --no-scale] [--subnic BIN --subnicd BIN]

Topology (tests/lab TOPO: external switch in ns es, external host x, the lower eth0 in ns h),
built afresh per system and round, the systems interleaved (--systems picks some, by key):

    kernel      kernel macvlan    A, B: kernel macvlan bridge uppers of eth0 in ns a / ns b
    bridge      linux bridge      A, B: veth pairs into a Linux bridge in ns h whose other port
                                  is eth0
    ovs         ovs userspace     Open vSwitch, datapath_type=netdev, userspace TSO on: an
                                  ovsdb-server and an ovs-vswitchd started in ns h by this
                                  script with their own db, sockets, pid and log files in the
                                  lab's temp dir (OVS_RUNDIR/OVS_DBDIR/OVS_LOGDIR point there
                                  too; never the system's /var/run/openvswitch), and
                                  other_config:userspace-tso-enable=true written to the db
                                  before ovs-vswitchd starts. Ports: eth0 (a netdev "system"
                                  port) and two `type=internal` ports, which a netdev bridge
                                  makes TAPs, moved to ns a / ns b.
    ovs-notso   ovs userspace,    the same with userspace-tso-enable=false
                TSO off
    vde         vde2              vde_switch (own control dir in the temp dir) with two TAP
                                  ports of its own (-t), moved to ns a / ns b; the lower joins
                                  through vde_pcapplug with libpcap's immediate mode forced on
                                  by a small LD_PRELOAD shim compiled with cc (vde_pcapplug
                                  calls pcap_open_live(), which has no such option, and loses
                                  frames without it); with no C compiler the lower is left out
                                  (A <-> B traffic does not cross it) and the script says so.
    subnic      subnic macvlan    A, B: subnic macvlan bridge uppers of eth0 (subnicd in ns h)

Daemons are started without --detach and killed by their PID (SIGTERM, then SIGKILL) on
teardown, which runs on failure too.

Between A (10.0.0.1) and B (10.0.0.2) it measures: TCP throughput with iperf3, 1 stream and
4 streams (A -> B); UDP datagrams of 64 bytes delivered per second (iperf3 -u -l 64 -b 0, what
B received); round-trip time (sockperf ping-pong over UDP when sockperf is installed, else
the average of `ping -i 0.002`). Prints the median of the rounds and the ratio to the
kernel's macvlan.

Scale (on by default, --no-scale skips it; kernel and subnic only, each in one lab per round):
TCP 1 stream and UDP 64 B between A and B with 2 uppers, then with 64 and 512 uppers on the
lower (the extra ones created in one extra namespace u, IPv6 off there, and set up: the kernel's
with `ip -batch`, subnic's over subnicd's control socket), each as a ratio to the 2-upper figure
of the same lab; broadcast fan-out with 64 uppers: X sends 60-byte UDP broadcasts to
10.0.0.255 for --seconds and the rx_packets of the 64 uppers (ip -s) are summed (frames
delivered per second, and the share of sent x 64 that arrived); memory per upper:
(RSS512 - RSS2) / 510 of subnicd (VmRSS), and for both the kernel's Slab + Percpu growth
(/proc/meminfo) over the same 510 uppers (noisy: the machine is shared).

Not a test: figures go to BENCHMARKS.md with the command that made them.
"""

import argparse
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "lab"))
import lab as L  # noqa: E402

SYSTEMS = {  # key -> name, in the order they run in a round
    "kernel": "kernel macvlan",
    "bridge": "linux bridge",
    "ovs": "ovs userspace",
    "ovs-notso": "ovs userspace, TSO off",
    "vde": "vde2",
    "subnic": "subnic macvlan",
}
SCALE_SYSTEMS = ("kernel", "subnic")
METRICS = ("tcp1", "tcp4", "udp64_pps", "rtt_us")
A_IP, B_IP = "10.0.0.1", "10.0.0.2"
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
DAEMON_WAIT = 15.0  # bound on a daemon's start-up / socket appearing
NOTES = []  # said once at the end


def note(msg):
    if msg not in NOTES:
        NOTES.append(msg)
        print("note: " + msg, flush=True)


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


# ---------------------------------------------------------------- daemons of ours

def daemon(lab, ns, argv, name, env=None, stdin=subprocess.DEVNULL):
    """Start a daemon in the foreground (no --detach) inside `ns`; `ip netns exec` execs it, so
    the Popen PID is the daemon's. Kept in lab.bench_daemons, killed by stop_daemons()."""
    logf = open(os.path.join(lab.tmpdir, name + ".out"), "wb")
    p = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdin=stdin, stdout=logf,
                         stderr=subprocess.STDOUT, env=env)
    logf.close()
    lab.bench_daemons.append((name, p))
    lab.note_daemon(p.pid)
    return p


def stop_daemons(lab):
    """SIGTERM each daemon we started (by PID, last started first), SIGKILL after 5 s."""
    for name, p in reversed(getattr(lab, "bench_daemons", [])):
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    print("warning: %s (pid %d) did not die" % (name, p.pid), file=sys.stderr)
        if p.stdin:
            p.stdin.close()
    if hasattr(lab, "bench_daemons"):
        lab.bench_daemons.clear()


def teardown(lab):
    try:
        stop_daemons(lab)
    finally:
        for problem in lab.teardown():
            print("teardown: " + problem.splitlines()[0], file=sys.stderr)


def tail(path, n=600):
    try:
        return Path(path).read_bytes()[-n:].decode(errors="replace")
    except OSError:
        return ""


def wait_for(pred, what, proc=None, logpath=None, timeout=DAEMON_WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise L.LabError("%s: exited (%d): %s" % (what, proc.returncode, tail(logpath)))
        if pred():
            return
        time.sleep(0.05)
    raise L.LabError("%s: not within %ss: %s" % (what, timeout, tail(logpath)))


# ---------------------------------------------------------------- systems

def build_bridge(lab):
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
    return lab.prefix + "a", lab.prefix + "b"


def place_taps(lab, taps):
    """Move TAPs (made in ns h by a switch) to ns a / ns b, address them, set them up."""
    out = []
    for (letter, ip), tap in zip((("a", A_IP), ("b", B_IP)), taps):
        ns = lab.add_ns(letter)
        lab.ip(lab.ns_h, "link", "set", tap, "netns", ns)
        lab.ip(ns, "addr", "add", ip + "/24", "dev", tap)
        lab.ip(ns, "link", "set", tap, "up")
        out.append(ns)
    return out


def build_ovs(lab, tso):
    for tool in ("ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl"):
        if shutil.which(tool) is None:
            raise L.LabSkip("%s missing (bench/install-deps.sh)" % tool)
    t = os.path.join(lab.tmpdir, "ovs")
    os.makedirs(t)
    env = dict(os.environ, OVS_RUNDIR=t, OVS_DBDIR=t, OVS_LOGDIR=t, OVS_SYSCONFDIR=t)
    db, sock = os.path.join(t, "conf.db"), os.path.join(t, "db.sock")
    L.run(["ovsdb-tool", "create", db, OVS_SCHEMA], check=True)
    srv = daemon(lab, lab.ns_h, ["ovsdb-server", db, "--remote=punix:" + sock,
                                 "--unixctl=" + os.path.join(t, "ovsdb-server.ctl"),
                                 "--pidfile=" + os.path.join(t, "ovsdb-server.pid"),
                                 "--log-file=" + os.path.join(t, "ovsdb-server.log"),
                                 "--no-chdir"], "ovsdb-server", env=env)
    wait_for(lambda: os.path.exists(sock), "ovsdb-server socket", srv, os.path.join(t, "ovsdb-server.log"))

    def vsctl(*args, wait=True):
        r = subprocess.run(["ovs-vsctl", "--db=unix:" + sock, "--timeout=20",
                            *([] if wait else ["--no-wait"]), *args],
                           capture_output=True, text=True, timeout=30, env=env)
        if r.returncode != 0:
            raise L.LabError("ovs-vsctl %s: %s" % (" ".join(args), r.stderr.strip() + tail(
                os.path.join(t, "ovs-vswitchd.log"))))
        return r.stdout

    vsctl("init", wait=False)
    # before ovs-vswitchd starts: it reads userspace-tso-enable once, at start
    vsctl("set", "Open_vSwitch", ".", "other_config:userspace-tso-enable=%s" % ("true" if tso else "false"),
          wait=False)
    vlog = os.path.join(t, "ovs-vswitchd.log")
    vsd = daemon(lab, lab.ns_h, ["ovs-vswitchd", "unix:" + sock,
                                 "--unixctl=" + os.path.join(t, "ovs-vswitchd.ctl"),
                                 "--pidfile=" + os.path.join(t, "ovs-vswitchd.pid"),
                                 "--log-file=" + vlog, "--no-chdir"], "ovs-vswitchd", env=env)
    wait_for(lambda: os.path.exists(os.path.join(t, "ovs-vswitchd.ctl")), "ovs-vswitchd", vsd, vlog)
    br, pa, pb = lab.prefix + "ovs", lab.prefix + "oa", lab.prefix + "ob"
    # one transaction, so that ovs-vswitchd does not reconfigure after the TAPs have moved away
    vsctl("add-br", br, "--", "set", "bridge", br, "datapath_type=netdev",
          "--", "add-port", br, lab.eth0,
          "--", "add-port", br, pa, "--", "set", "interface", pa, "type=internal",
          "--", "add-port", br, pb, "--", "set", "interface", pb, "type=internal")
    wait_for(lambda: lab.link(pa, ns=lab.ns_h) is not None and lab.link(pb, ns=lab.ns_h) is not None,
             "ovs internal ports", vsd, vlog)
    if tso:
        got = vsctl("get", "Open_vSwitch", ".", "other_config:userspace-tso-enable").strip()
        if got.strip('"') != "true":
            raise L.LabError("userspace-tso-enable is %s" % got)
        if "tcp segmentation offloading support enabled" not in tail(vlog, 100000).lower():
            note("ovs-vswitchd's log does not say that userspace TSO is on")
    lab.ip(lab.ns_h, "link", "set", br, "up")
    return place_taps(lab, (pa, pb))


PCAP_SHIM = r"""
/* LD_PRELOAD for vde_pcapplug (bench/e2e.py): pcap_open_live() with immediate mode on, so that
   frames are handed over at once and not when a TPACKET_V3 block fills or times out. */
#include <stdio.h>
typedef struct pcap pcap_t;
pcap_t *pcap_create(const char *, char *);
int pcap_set_snaplen(pcap_t *, int);
int pcap_set_promisc(pcap_t *, int);
int pcap_set_timeout(pcap_t *, int);
int pcap_set_immediate_mode(pcap_t *, int);
int pcap_activate(pcap_t *);
char *pcap_geterr(pcap_t *);
void pcap_close(pcap_t *);
pcap_t *pcap_open_live(const char *dev, int snaplen, int promisc, int to_ms, char *errbuf)
{
    pcap_t *p = pcap_create(dev, errbuf);
    if (!p) return 0;
    pcap_set_snaplen(p, snaplen);
    pcap_set_promisc(p, promisc);
    pcap_set_timeout(p, to_ms);
    pcap_set_immediate_mode(p, 1);
    if (pcap_activate(p) < 0) {
        snprintf(errbuf, 256, "%s", pcap_geterr(p));
        pcap_close(p);
        return 0;
    }
    fprintf(stderr, "pcap immediate mode on for %s\n", dev);
    return p;
}
"""


def pcap_shim(lab):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    src, so = os.path.join(lab.tmpdir, "pcapimm.c"), os.path.join(lab.tmpdir, "pcapimm.so")
    Path(src).write_text(PCAP_SHIM)
    # no -lpcap: the symbols resolve from vde_pcapplug's own libpcap (no libpcap-dev needed)
    r = L.run([cc, "-shared", "-fPIC", "-O2", "-o", so, src])
    return so if r.ok else None


def build_vde(lab):
    for tool in ("vde_switch", "vde_pcapplug"):
        if shutil.which(tool) is None:
            raise L.LabSkip("%s missing (bench/install-deps.sh)" % tool)
    t = os.path.join(lab.tmpdir, "vde")
    os.makedirs(t)
    ctl, mgmt = os.path.join(t, "ctl"), os.path.join(t, "mgmt")
    ta, tb = lab.prefix + "va", lab.prefix + "vb"
    # the console is on stdin: a pipe we keep open (EOF would stop the switch)
    sw = daemon(lab, lab.ns_h, ["vde_switch", "-s", ctl, "-M", mgmt, "-t", ta, "-t", tb],
                "vde_switch", stdin=subprocess.PIPE)
    out = os.path.join(lab.tmpdir, "vde_switch.out")
    wait_for(lambda: os.path.exists(os.path.join(ctl, "ctl")) and lab.link(ta, ns=lab.ns_h) is not None
             and lab.link(tb, ns=lab.ns_h) is not None, "vde_switch", sw, out)
    so = pcap_shim(lab)
    if so is None:
        note("vde2: no C compiler for the libpcap immediate-mode shim, the lower is left out "
             "(A <-> B traffic does not cross it)")
    else:
        plug = daemon(lab, lab.ns_h, ["vde_pcapplug", "-s", ctl, lab.eth0], "vde_pcapplug",
                      env=dict(os.environ, LD_PRELOAD=so))
        pout = os.path.join(lab.tmpdir, "vde_pcapplug.out")
        wait_for(lambda: "immediate mode on" in tail(pout), "vde_pcapplug", plug, pout)
    return place_taps(lab, (ta, tb))


def build(lab, system, args):
    lab.build()
    if system == "bridge":
        return build_bridge(lab)
    if system in ("ovs", "ovs-notso"):
        return build_ovs(lab, tso=(system == "ovs"))
    if system == "vde":
        return build_vde(lab)
    for letter in "AB":
        r = lab.create(letter, "bridge")
        if not r.ok:
            raise L.LabError("creating %s: %s" % (letter, r.err))
        lab.place(letter, ip6=None)
    lab.settle()
    return lab.uppers["A"].ns, lab.uppers["B"].ns


def new_lab(system, args):
    lab = L.Lab("subnic" if system == "subnic" else "kernel", subnic=args.subnic, subnicd=args.subnicd)
    lab.bench_daemons = []
    return lab


# ---------------------------------------------------------------- measurements

def iperf(ns_a, args, extra):
    r = sh(ns_a, "iperf3", "-J", "-c", B_IP, "-t", str(args.seconds), *extra,
           timeout=args.seconds + 30)
    if r.returncode != 0:
        raise L.LabError("iperf3 %s: %s" % (" ".join(extra), r.stdout[-300:] + r.stderr[-300:]))
    return json.loads(r.stdout)["end"]


def tcp(ns_a, args, streams):
    return iperf(ns_a, args, ["-P", str(streams)] if streams > 1 else [])["sum_received"]["bits_per_second"] / 1e9


def udp64(ns_a, args, system):
    end = iperf(ns_a, args, ["-u", "-l", "64", "-b", "0"])
    s = end.get("sum_received") or end.get("sum")  # iperf3 3.12 reports "sum" for UDP
    if not s or not s.get("seconds"):
        raise L.LabError("%s: iperf3 UDP gave no summary: %s" % (system, json.dumps(end)[:300]))
    return (s["packets"] - s["lost_packets"]) / s["seconds"] / 1e3  # k/s


def reach(lab, ns_a, system):
    # a TAP-based switch may still be learning / the OVS datapath still being set up
    ok = L.wait_until(lambda: lab.ping(ns_a, B_IP)["ok"], bool, 10.0, interval=0.2)
    if not ok:
        raise L.LabError("%s: A cannot reach B" % system)


def measure(system, args):
    lab = new_lab(system, args)
    try:
        ns_a, ns_b = build(lab, system, args)
        reach(lab, ns_a, system)
        server(lab, ns_b, "iperf3", "-s")
        out = {"tcp1": tcp(ns_a, args, 1), "tcp4": tcp(ns_a, args, 4), "udp64_pps": udp64(ns_a, args, system)}
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
        teardown(lab)


# ---------------------------------------------------------------- scale

def subnicd_rss_kib(lab):
    pid = lab.backend.proc.pid
    if Path("/proc/%d/comm" % pid).read_text().strip() != "subnicd":
        raise L.LabError("pid %d is not subnicd" % pid)
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise L.LabError("no VmRSS for subnicd")


def kernel_mem_kib():
    """Slab + Percpu of /proc/meminfo (the kernel's share of a netdev)."""
    v = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        k, rest = line.split(":", 1)
        v[k] = int(rest.split()[0])
    return v.get("Slab", 0) + v.get("Percpu", 0)


def mem_sample(lab, system):
    time.sleep(1.0)  # let RCU-freed objects go and the daemon settle
    return {"rss": subnicd_rss_kib(lab) if system == "subnic" else None, "kmem": kernel_mem_kib()}


def subnicd_rpc(sock, requests, timeout=30):
    """Send requests (method, params) over one connection to subnicd; replies in order."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        f = s.makefile("rwb")
        json.loads(f.readline())  # greeting
        out = []
        for i, (method, params) in enumerate(requests):
            f.write((json.dumps({"id": i, "method": method, "params": params}) + "\n").encode())
            f.flush()
            out.append(json.loads(f.readline()))
        return out
    finally:
        s.close()


def add_uppers(lab, system, ns_u, first, last):
    """Extra macvlan bridge uppers u<first>..u<last-1> on eth0, created in ns_u, set up."""
    names = ["%su%d" % (lab.prefix, i) for i in range(first, last)]
    if system == "kernel":
        batch = "".join("link add %s link %s type macvlan mode bridge\n" % (n, lab.eth0) for n in names)
        L.run(["ip", "-n", lab.ns_h, "-batch", "-"], check=True, input=batch, timeout=120)
    else:
        reqs = [("link.add", {"netns": lab.ns_h, "name": n, "link": lab.eth0, "type": "macvlan",
                              "info_data": {"mode": "bridge"}}) for n in names]
        for n, rep in zip(names, subnicd_rpc(lab.backend.sock, reqs, timeout=60)):
            if "error" in rep:
                raise L.LabError("subnic link.add %s: %s" % (n, rep["error"]))
    # created down in ns h (no IPv6 set-up yet), then moved with one `ip -batch`: both systems
    # take the same path
    L.run(["ip", "-n", lab.ns_h, "-batch", "-"], check=True, timeout=120,
          input="".join("link set %s netns %s\n" % (n, ns_u) for n in names))
    L.run(["ip", "-n", ns_u, "-batch", "-"], check=True, timeout=120,
          input="".join("link set %s up\n" % n for n in names))
    if system == "subnic":  # bounded wait until subnicd has seen them all up
        def not_up():
            r = lab.backend._cli("-j", "link", "show", timeout=60)
            up = {l["ifname"] for l in json.loads(r.out) if "UP" in l.get("flags", [])} if r.ok else set()
            return [n for n in names if n not in up]
        left = L.wait_until(not_up, lambda v: not v, 30.0, interval=0.5)
        if left:
            note("subnicd did not see %d of the new uppers up within 30 s" % len(left))
    return names


def rx_packets(ns, names):
    r = L.run(["ip", "-n", ns, "-s", "-j", "link", "show"], check=True, timeout=60)
    want = set(names)
    return sum(l["stats64"]["rx"]["packets"] for l in json.loads(r.out) if l["ifname"] in want)


BCAST_SENDER = r"""
import socket, sys, time
secs, cap = float(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(("10.0.0.100", 0))
data, dst = b"\0" * 18, ("10.0.0.255", 9)  # 14 + 20 + 8 + 18 = a 60-byte frame
n = 0
t0 = time.monotonic()
end = t0 + secs
while n < cap and time.monotonic() < end:
    for _ in range(64):
        try:
            s.sendto(data, dst)
            n += 1
        except OSError:  # ENOBUFS
            pass
print(n, time.monotonic() - t0)
"""


def fanout(lab, args, receivers):
    """X broadcasts for --seconds; frames delivered per second summed over `receivers`
    [(ns, name)...]. Returns (delivered k/s, sent k/s, delivered / (sent * receivers))."""
    by_ns = {}
    for ns, n in receivers:
        by_ns.setdefault(ns, []).append(n)
    before = sum(rx_packets(ns, names) for ns, names in by_ns.items())
    r = sh(lab.ns_x, sys.executable, "-c", BCAST_SENDER, str(args.seconds), "50000000",
           timeout=args.seconds + 30)
    if r.returncode != 0:
        raise L.LabError("broadcast sender: %s" % r.stderr[-300:])
    sent, secs = r.stdout.split()
    sent, secs = int(sent), float(secs)
    time.sleep(1.0)  # queued broadcasts (the kernel's bc_queue, subnicd's rings) drain
    got = sum(rx_packets(ns, names) for ns, names in by_ns.items()) - before
    return got / secs / 1e3, sent / secs / 1e3, got / (sent * len(receivers)) if sent else float("nan")


def measure_scale(system, args):
    lab = new_lab(system, args)
    try:
        ns_a, ns_b = build(lab, system, args)
        reach(lab, ns_a, system)
        ns_u = lab.add_ns("u")
        lab.quiet(ns_u)  # no IPv6 on 510 new devices: no RS/DAD/MLD floods between uppers
        server(lab, ns_b, "iperf3", "-s")
        out = {}

        def point(n):
            out["tcp1_%d" % n] = tcp(ns_a, args, 1)
            out["udp64_%d" % n] = udp64(ns_a, args, system)

        mem = {2: mem_sample(lab, system)}
        point(2)
        extra = add_uppers(lab, system, ns_u, 3, 65)
        mem[64] = mem_sample(lab, system)
        reach(lab, ns_a, system)
        point(64)
        recv = [(ns_a, lab.uppers["A"].name), (ns_b, lab.uppers["B"].name)] + [(ns_u, n) for n in extra]
        out["fanout_kps"], out["fanout_sent_kps"], out["fanout_share"] = fanout(lab, args, recv)
        add_uppers(lab, system, ns_u, 65, 513)
        mem[512] = mem_sample(lab, system)
        reach(lab, ns_a, system)
        point(512)
        for n in (64, 512):
            out["tcp1_r%d" % n] = out["tcp1_%d" % n] / out["tcp1_2"]
            out["udp64_r%d" % n] = out["udp64_%d" % n] / out["udp64_2"]
        out["kmem_per_upper"] = (mem[512]["kmem"] - mem[2]["kmem"]) / 510
        out["rss_per_upper"] = ((mem[512]["rss"] - mem[2]["rss"]) / 510 if system == "subnic"
                                else float("nan"))
        out["rss_2"] = mem[2]["rss"] if system == "subnic" else float("nan")
        out["rss_512"] = mem[512]["rss"] if system == "subnic" else float("nan")
        return out
    finally:
        teardown(lab)


# ---------------------------------------------------------------- main

def retry(fn, what, *a):
    try:
        return fn(*a)
    except L.LabError as e:
        print("%s failed (%s); once more" % (what, str(e)[:400]), flush=True)
        return fn(*a)


def med(xs):
    xs = [x for x in xs if not (isinstance(x, float) and math.isnan(x))]
    return statistics.median(xs) if xs else float("nan")


def fmt(v, spec="%.2f"):
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else spec % v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    build_dir = HERE.parent / "build"
    ap.add_argument("--subnic", default=str(build_dir / "src/cli/subnic"))
    ap.add_argument("--subnicd", default=str(build_dir / "src/daemon/subnicd"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--systems", default=",".join(SYSTEMS),
                    help="comma-separated keys out of: %s (default: all)" % ", ".join(SYSTEMS))
    ap.add_argument("--scale", action=argparse.BooleanOptionalAction, default=True,
                    help="64/512 uppers, broadcast fan-out, memory per upper (kernel and subnic "
                         "only; default on)")
    args = ap.parse_args()
    keys = [k.strip() for k in args.systems.split(",") if k.strip()]
    bad = [k for k in keys if k not in SYSTEMS]
    if bad or not keys:
        ap.error("unknown system(s) %s; pick from %s" % (", ".join(bad), ", ".join(SYSTEMS)))
    keys = [k for k in SYSTEMS if k in keys]
    scale_keys = [k for k in SCALE_SYSTEMS if k in keys] if args.scale else []
    if os.geteuid() != 0:
        print("e2e.py: needs root")
        return 1
    res = {k: {m: [] for m in METRICS} for k in keys}
    sres = {k: {} for k in scale_keys}
    skipped = {}
    tool = "?"
    for r in range(args.rounds):
        for k in keys:
            if k in skipped:
                continue
            try:
                got = retry(measure, "round %d %s" % (r + 1, SYSTEMS[k]), k, args)
            except L.LabSkip as e:
                skipped[k] = str(e)
                print("%s skipped: %s" % (SYSTEMS[k], e), flush=True)
                continue
            tool = got.get("rtt_tool", tool)
            for m in METRICS:
                res[k][m].append(got[m])
            print("round %d %-22s TCP1 %6.2f Gbit/s  TCP4 %6.2f Gbit/s  UDP64 %6.0f k/s  RTT %6.1f us"
                  % (r + 1, SYSTEMS[k], got["tcp1"], got["tcp4"], got["udp64_pps"], got["rtt_us"]), flush=True)
        for k in scale_keys:
            if k in skipped:
                continue
            got = retry(measure_scale, "round %d scale %s" % (r + 1, SYSTEMS[k]), k, args)
            for m, v in got.items():
                sres[k].setdefault(m, []).append(v)
            print("round %d %-22s scale: TCP1 %.2f/%.2f/%.2f Gbit/s  UDP64 %.0f/%.0f/%.0f k/s (2/64/512 "
                  "uppers)  fan-out %.0f k/s  RSS %s/upper  kmem %.1f KiB/upper"
                  % (r + 1, SYSTEMS[k], got["tcp1_2"], got["tcp1_64"], got["tcp1_512"], got["udp64_2"],
                     got["udp64_64"], got["udp64_512"], got["fanout_kps"],
                     fmt(got["rss_per_upper"], "%.1f KiB"), got["kmem_per_upper"]), flush=True)

    done = [k for k in keys if k not in skipped and res[k]["tcp1"]]
    medians = {k: {m: med(res[k][m]) for m in METRICS} for k in done}
    base = medians.get("kernel")
    print()
    print("| system | TCP 1 stream (Gbit/s) | TCP 4 streams | UDP 64 B delivered (k/s) | RTT (us, %s) |"
          % tool)
    print("|---|---|---|---|---|")
    for k in done:
        cells = []
        for m in METRICS:
            v = medians[k][m]
            ratio = " (%.2f)" % (v / base[m]) if base and base[m] and not math.isnan(v) else ""
            cells.append(fmt(v, "%.0f" if m == "udp64_pps" else "%.2f" if m != "rtt_us" else "%.1f") + ratio)
        print("| %s | %s |" % (SYSTEMS[k], " | ".join(cells)))
    if scale_keys:
        print()
        print("| system | TCP 1 stream, 2 / 64 / 512 uppers (Gbit/s) | UDP 64 B, 2 / 64 / 512 (k/s) "
              "| broadcast fan-out to 64 uppers (k frames/s delivered; share of sent x 64) "
              "| daemon RSS per upper (KiB; RSS at 2 -> 512) | kernel Slab+Percpu per upper (KiB) |")
        print("|---|---|---|---|---|---|")
        for k in scale_keys:
            if k in skipped or not sres[k]:
                continue
            m = {n: med(v) for n, v in sres[k].items()}
            print("| %s | %.2f / %.2f (%.2f) / %.2f (%.2f) | %.0f / %.0f (%.2f) / %.0f (%.2f) "
                  "| %.0f (%.2f; X sent %.0f k/s) | %s | %s |"
                  % (SYSTEMS[k], m["tcp1_2"], m["tcp1_64"], m["tcp1_r64"], m["tcp1_512"], m["tcp1_r512"],
                     m["udp64_2"], m["udp64_64"], m["udp64_r64"], m["udp64_512"], m["udp64_r512"],
                     m["fanout_kps"], m["fanout_share"], m["fanout_sent_kps"],
                     "n/a" if k != "subnic" else "%.1f (%.0f -> %.0f KiB)"
                     % (m["rss_per_upper"], m["rss_2"], m["rss_512"]),
                     fmt(m["kmem_per_upper"], "%.1f")))
        print("(ratios in brackets: to the 2-upper figure of the same lab; kernel memory is "
              "/proc/meminfo Slab+Percpu growth over 510 uppers, noisy on a shared machine)")
    for k, why in skipped.items():
        print("skipped %s: %s" % (SYSTEMS[k], why))
    for n in NOTES:
        print("note: " + n)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except L.LabInterrupted as e:  # the labs' finally blocks have run: daemons and namespaces gone
        print("e2e.py: interrupted (%s)" % e, file=sys.stderr)
        sys.exit(130)
