"""Issue 5 lab cases: VMs on macvtap uppers, the kernel's macvtap as the oracle.

Registered in scenarios.CASES (run_oracle.py imports this module). Each case builds the lab's
standard topology (scenarios.py TOPO: external switch `sw` in ns es, external host x0
10.0.0.100 in ns x, the lower eth0 in ns h) and boots QEMU guests (tests/lab/vm.py: a Debian
kernel with a busybox initramfs, under TCG) whose one virtio-net NIC is:

    kernel  a kernel macvtap on eth0, `-netdev tap,fd=N` on its /dev/tapN (drivers/net/tap.c)
    subnic  a subnic macvtap on eth0 served on a unix socket: vhost-user (VM-* cases) or
            QEMU's stream netdev (VM-*-STREAM cases)

and compares what the guests, a container (a macvlan upper in its own namespace) and the
external host can reach. The guests use the upper's MAC (QEMU `-device ...,mac=`).

    VM-BRIDGE        two bridge VMs + a bridge container: VM1 gets a DHCP lease from dnsmasq
                     on x0; every pair pings, the lower's own address does not answer (no
                     hairpin); both uppers count the VM traffic; a guest that changes its MAC
                     is refused by subnic (src_mac), not by the kernel (a deviation cell)
    VM-MODES         VM1 vepa, VM2 private, the container vepa: with the switch's hairpin off
                     each reaches only the outside; with hairpin on the vepa VM and the vepa
                     container reach each other, the private VM still only the outside
    VM-RECONNECT     (subnic only) a vhost-user VM and a stream VM; subnicd is killed with -9
                     and restarted: the vhost-user guest's traffic resumes (QEMU reconnects),
                     the stream guest's after its VM restarts (QEMU 7.2 streams do not
                     reconnect)
    IPVTAP-L2        (subnic only: the build kernel has no ipvtap) a VM on an ipvtap l2 upper
                     and an ipvlan l2 container ping each other and the outside
    IPVTAP-L3        (subnic only) a VM on an ipvtap l3 upper reaches the outside through the
                     lower namespace's routing, pings and a TCP transfer (the guest's TSO
                     super-frames are cut before the raw IP output), none failing to route

The VM cases share one resource lock in ctest (QEMU under TCG takes a whole CPU per guest).
"""

import json
import os
import subprocess
import time

import lab as L
import vm as V
from lab import LabError, run
from scenarios import CASES, Case
from scenarios_l2 import P, must

X_IP = "10.0.0.100"
ETH0_IP = "10.0.0.254"
C_IP = "10.0.0.3"  # the container: upper C (lab.place)
VM_MAC = {1: "02:5e:00:00:01:01", 2: "02:5e:00:00:01:02"}
VM_IP = {1: "10.0.0.11", 2: "10.0.0.12"}
DHCP_RANGE = ("10.0.0.50", "10.0.0.99")
SPOOF_MAC = "02:5e:00:00:09:09"
PING = ["ping", "-c", "3", "-i", "0.3", "-W", "2"]
RECONNECT_WAIT = 20.0  # s: bound on traffic resuming after a restart (QEMU retries every 1 s)


class VmCase(Case):
    """A VM case: runs on the kernel's macvtap and on subnic with `endpoint` (vhost-user or
    stream). kind "macvlan": the lab's standard topology; "ipvlan" for ipvtap."""

    def __init__(self, cid, title, func, expect, consume, endpoint, kind, reasons):
        super().__init__(cid, title, func, expect, consume)
        self.endpoint = endpoint
        self.kind = kind
        self.reasons = reasons or {}
        if kind == "ipvlan":
            self.default_backend = "subnic"


def vmcase(cid, title, expect, consume=None, endpoint="vhost-user", kind="macvlan", reasons=None):
    def deco(func):
        assert cid not in CASES, cid
        CASES[cid] = VmCase(cid, title, lambda lab: func(lab, endpoint), expect, consume, endpoint,
                            kind, reasons)
        return func
    return deco


# ---------------------------------------------------------------- helpers


def vm_upper(lab, n, mode, endpoint, kind="macvtap", mac=None):
    """Creates VM n's upper on eth0 (admin up) and returns its QEMU netdev (vm.py)."""
    name = P(lab, "vt%d" % n)
    mac = mac or VM_MAC[n]
    modeargs = ["mode", mode] if mode else []
    if lab.backend.name == "kernel":
        lab.ip(lab.ns_h, "link", "add", name, "link", lab.eth0, "address", mac, "type", kind,
               *modeargs)
        lab.ip(lab.ns_h, "link", "set", name, "up")
        return V.TapFd.open_macvtap(lab.ns_h, name, lab.tmpdir)
    path = os.path.join(lab.tmpdir, "%s.sock" % name)
    gen = ["address", mac] if kind == "macvtap" else []
    must(lab.backend._cli("link", "add", name, "link", lab.eth0, *gen, "type", kind, *modeargs,
                          endpoint, path))
    must(lab.backend._cli("link", "set", name, "up"))
    return V.VhostUser(path) if endpoint == "vhost-user" else V.Stream(path)


def boot(lab, specs):
    """Boots the VMs [(n, netdev, mac)] at once; returns {n: Vm}."""
    vms = {n: V.Vm("vm%d" % n, netdev, mac, lab=lab) for n, netdev, mac in specs}
    V.start_all(list(vms.values()))
    return vms


def dhcp_server(lab):
    """dnsmasq on x0 in ns x (leases DHCP_RANGE), killed by PID at teardown."""
    t = lab.tmpdir
    p = subprocess.Popen(
        ["ip", "netns", "exec", lab.ns_x, "dnsmasq", "--keep-in-foreground",
         "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--port=0",
         "--interface=" + lab.x0, "--bind-interfaces",
         "--dhcp-range=%s,%s,255.255.255.0,1h" % DHCP_RANGE, "--dhcp-leasefile=%s/leases" % t,
         "--no-ping", "--pid-file=", "--log-facility=%s/dnsmasq.log" % t],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lab.procs.append(p)
    lab.note_daemon(p.pid)


def in_range(ip):
    if not ip:
        return False
    last = int(ip.rsplit(".", 1)[1])
    return int(DHCP_RANGE[0].rsplit(".", 1)[1]) <= last <= int(DHCP_RANGE[1].rsplit(".", 1)[1])


def vm_ping(vm, dst):
    rc, _ = vm.run(" ".join(PING + [dst]), timeout=20)
    return rc == 0


def ns_ping(ns, dst):
    return run(["ip", "netns", "exec", ns] + PING + [dst], timeout=20).ok


def link_json(lab, name):
    """`ip -s -j link show` (kernel) / `subnic -s -j link show` (subnic) of upper `name`."""
    if lab.backend.name == "kernel":
        r = run(["ip", "-n", lab.ns_h, "-s", "-j", "link", "show", "dev", name])
    else:
        r = lab.backend._cli("-s", "-j", "link", "show", name)
    must(r)
    v = json.loads(r.out)
    return v[0] if v else {}


def counted(lab, n):
    """Whether the upper of VM n counted frames both ways (`-s link show`)."""
    st = link_json(lab, P(lab, "vt%d" % n)).get("stats64", {})
    return {"rx": st.get("rx", {}).get("packets", 0) > 0,
            "tx": st.get("tx", {}).get("packets", 0) > 0}


def container(lab, mode, kind_args=()):
    """Upper C (macvlan/ipvlan of the lab's kind) in ns c with 10.0.0.3/24."""
    r = lab.create("C", mode, args=kind_args)
    if not r.ok:
        raise LabError("creating upper C failed: %r" % r)
    lab.place("C", ip6=None)
    return lab.uppers["C"].ns


# ---------------------------------------------------------------- VM-BRIDGE

BRIDGE_EXPECT = {
    "vm1_lease": True,
    "vm1.vm2": True, "vm1.c": True, "vm1.x": True, "vm1.eth0": False,
    "vm2.vm1": True, "vm2.c": True, "vm2.x": True,
    "c.vm1": True, "c.vm2": True, "x.vm1": True, "x.vm2": True,
    "counted.vm1.rx": True, "counted.vm1.tx": True,
    "counted.vm2.rx": True, "counted.vm2.tx": True,
    # the guest takes another MAC: the kernel's macvtap passes its frames (x learns the MAC),
    # subnic drops and counts them
    "spoof.x": True, "spoof.src_mac_drops": False,
}
BRIDGE_CONSUME = {"spoof.x": False, "spoof.src_mac_drops": True}
BRIDGE_REASONS = {p: "vm: a guest's frames must carry its upper's MAC (issue 5); the kernel's "
                     "macvtap does not check" for p in BRIDGE_CONSUME}


def vm_bridge(lab, endpoint):
    dhcp_server(lab)
    cns = container(lab, "bridge")
    nd1 = vm_upper(lab, 1, "bridge", endpoint)
    nd2 = vm_upper(lab, 2, "bridge", endpoint)
    vms = boot(lab, [(1, nd1, VM_MAC[1]), (2, nd2, VM_MAC[2])])
    vm1, vm2 = vms[1], vms[2]
    lease = vm1.dhcp()
    vm2.set_ip(VM_IP[2] + "/24")
    ip1 = lease or VM_IP[1]
    obs = {"vm1_lease": in_range(lease)}
    obs["vm1"] = {"vm2": vm_ping(vm1, VM_IP[2]), "c": vm_ping(vm1, C_IP), "x": vm_ping(vm1, X_IP),
                  "eth0": vm_ping(vm1, ETH0_IP)}
    obs["vm2"] = {"vm1": vm_ping(vm2, ip1), "c": vm_ping(vm2, C_IP), "x": vm_ping(vm2, X_IP)}
    obs["c"] = {"vm1": ns_ping(cns, ip1), "vm2": ns_ping(cns, VM_IP[2])}
    obs["x"] = {"vm1": ns_ping(lab.ns_x, ip1), "vm2": ns_ping(lab.ns_x, VM_IP[2])}
    obs["counted"] = {"vm1": counted(lab, 1), "vm2": counted(lab, 2)}
    # Last: VM2 sends with a MAC that is not its upper's.
    # (Replies to that MAC cannot come back in either case: no upper has it. What differs is
    # whether its frames reach the wire: x learns the sender's new MAC from its ARP request.)
    vm2.run("ip link set eth0 down; ip link set eth0 address %s; ip link set eth0 up; "
            "ip neigh flush all" % SPOOF_MAC, timeout=10)
    lab.ip(lab.ns_x, "neigh", "flush", "all")
    vm_ping(vm2, X_IP)
    r = lab.ip(lab.ns_x, "neigh", "show", VM_IP[2], check=False)
    drops = link_json(lab, P(lab, "vt2")).get("drops", {}).get("src_mac", 0)
    obs["spoof"] = {"x": SPOOF_MAC in r.out.lower(), "src_mac_drops": drops > 0}
    return obs


vmcase("VM-BRIDGE", "two bridge VMs (vhost-user) + a container, DHCP, counters",
       BRIDGE_EXPECT, BRIDGE_CONSUME, reasons=BRIDGE_REASONS)(vm_bridge)
vmcase("VM-BRIDGE-STREAM", "two bridge VMs (stream) + a container, DHCP, counters",
       BRIDGE_EXPECT, BRIDGE_CONSUME, endpoint="stream", reasons=BRIDGE_REASONS)(vm_bridge)


# ---------------------------------------------------------------- VM-MODES


def vm_modes(lab, endpoint):
    cns = container(lab, "vepa")
    nd1 = vm_upper(lab, 1, "vepa", endpoint)
    nd2 = vm_upper(lab, 2, "private", endpoint)
    vms = boot(lab, [(1, nd1, VM_MAC[1]), (2, nd2, VM_MAC[2])])
    vm1, vm2 = vms[1], vms[2]
    vm1.set_ip(VM_IP[1] + "/24")
    vm2.set_ip(VM_IP[2] + "/24")

    def matrix():
        for v in (vm1, vm2):
            v.run("ip neigh flush all", timeout=10)
        lab.ip(cns, "neigh", "flush", "all")
        return {"vm1": {"x": vm_ping(vm1, X_IP), "c": vm_ping(vm1, C_IP), "vm2": vm_ping(vm1, VM_IP[2])},
                "vm2": {"x": vm_ping(vm2, X_IP), "vm1": vm_ping(vm2, VM_IP[1])},
                "c": {"vm1": ns_ping(cns, VM_IP[1])}}

    lab.hairpin(False)
    obs = {"hp_off": matrix()}
    lab.hairpin(True)
    obs["hp_on"] = matrix()
    return obs


MODES_EXPECT = {
    # vepa: everything goes to the switch; without hairpin nothing comes back
    "hp_off.vm1.x": True, "hp_off.vm1.c": False, "hp_off.vm1.vm2": False,
    "hp_off.vm2.x": True, "hp_off.vm2.vm1": False, "hp_off.c.vm1": False,
    # hairpin (reflective relay): vepa uppers meet through the switch; private never does
    "hp_on.vm1.x": True, "hp_on.vm1.c": True, "hp_on.vm1.vm2": False,
    "hp_on.vm2.x": True, "hp_on.vm2.vm1": False, "hp_on.c.vm1": True,
}
vmcase("VM-MODES", "a vepa VM and a private VM behind a hairpin switch (vhost-user)",
       MODES_EXPECT)(vm_modes)


# ---------------------------------------------------------------- VM-RECONNECT (subnic only)


def kill9_restart(lab):
    b = lab.backend
    b.proc.kill()
    b.proc.wait(timeout=10)
    b.logf.close()
    b.proc = None
    b.start()


def wait_ping(vm, dst, bound=RECONNECT_WAIT):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if vm_ping(vm, dst):
            return True
    return False


def vm_reconnect(lab, _endpoint):
    if lab.backend.name == "kernel":
        raise LabError("VM-RECONNECT restarts subnicd: run it with --backend subnic")
    nd1 = vm_upper(lab, 1, "bridge", "vhost-user")
    nd2 = vm_upper(lab, 2, "bridge", "stream")
    vms = boot(lab, [(1, nd1, VM_MAC[1]), (2, nd2, VM_MAC[2])])
    vm1, vm2 = vms[1], vms[2]
    vm1.set_ip(VM_IP[1] + "/24")
    vm2.set_ip(VM_IP[2] + "/24")
    obs = {"before": {"vm1.x": vm_ping(vm1, X_IP), "vm2.x": vm_ping(vm2, X_IP),
                      "vm1.vm2": vm_ping(vm1, VM_IP[2])}}
    kill9_restart(lab)
    obs["after_restart"] = {"vm1.x": wait_ping(vm1, X_IP)}
    # The stream guest: its VM restarts and connects again.
    vm2.stop()
    vm2 = V.Vm("vm2b", nd2, VM_MAC[2], lab=lab).start()
    vm2.set_ip(VM_IP[2] + "/24")
    obs["vm_restarted"] = {"vm2.x": wait_ping(vm2, X_IP), "vm2.vm1": vm_ping(vm2, VM_IP[1])}
    show = lab.backend.show(P(lab, "vt2")) or {}
    obs["vm2_connects"] = show.get("subnic", {}).get("vm", {}).get("connects", 0) >= 1
    return obs


RECONNECT_EXPECT = {
    "before.vm1.x": True, "before.vm2.x": True, "before.vm1.vm2": True,
    "after_restart.vm1.x": True,
    "vm_restarted.vm2.x": True, "vm_restarted.vm2.vm1": True,
    "vm2_connects": True,
}
vmcase("VM-RECONNECT", "subnicd kill -9 + restart under a vhost-user VM; a stream VM restarts",
       RECONNECT_EXPECT)(vm_reconnect)


# ---------------------------------------------------------------- IPVTAP-L2 (subnic only)


def ipvtap_l2(lab, endpoint):
    cns = container(lab, "l2")
    # ipvlan: every upper has the lower's MAC; the guest must use it
    nd1 = vm_upper(lab, 1, "l2", endpoint, kind="ipvtap")
    vms = boot(lab, [(1, nd1, L.MAC_ETH0)])
    vm1 = vms[1]
    vm1.set_ip(VM_IP[1] + "/24")
    # ipvtap switches on the addresses of its netdev, as the kernel's ipvlan does
    lab.ip(lab.ns_h, "addr", "add", VM_IP[1] + "/32", "dev", P(lab, "vt1"))
    lab.backend.settle()
    return {"vm1": {"x": vm_ping(vm1, X_IP), "c": vm_ping(vm1, C_IP)},
            "c": {"vm1": ns_ping(cns, VM_IP[1])},
            "x": {"vm1": ns_ping(lab.ns_x, VM_IP[1])}}


vmcase("IPVTAP-L2", "a VM on an ipvtap l2 upper and an ipvlan l2 container (vhost-user)",
       {"vm1.x": True, "vm1.c": True, "c.vm1": True, "x.vm1": True},
       kind="ipvlan")(ipvtap_l2)


# ---------------------------------------------------------------- IPVTAP-L3 (subnic only)


def ipvtap_l3(lab, endpoint):
    """As scenarios_ipvlan.py's routed l3 uppers: nobody answers ARP for an l3 upper's address
    (T-IV-10), so the guest has a routed address (10.1.0.11) and x a route to it via the
    lower host (10.0.0.254)."""
    ip1 = "10.1.0.11"
    nd1 = vm_upper(lab, 1, "l3", endpoint, kind="ipvtap")
    vms = boot(lab, [(1, nd1, L.MAC_ETH0)])
    vm1 = vms[1]
    # l3 uppers are NOARP (ipvlan_set_port_mode): so is the guest's NIC (its frames then carry
    # its own MAC as destination, which l3 mode does not look at)
    vm1.run("ip link set eth0 arp off && ip addr add %s/32 dev eth0 && ip link set eth0 up && "
            "ip route add default dev eth0" % ip1, timeout=10, check=True)
    # The upper's netdev holds the guest's address (ipvlan learns it there) in a namespace of
    # its own, as an l3 upper's would be: in the lower's namespace it would be a local
    # address of the lower host.
    vns = lab.add_ns("v")
    lab.ip(lab.ns_h, "link", "set", P(lab, "vt1"), "netns", vns)
    lab.ip(vns, "addr", "add", ip1 + "/32", "dev", P(lab, "vt1"))
    lab.ip(vns, "link", "set", P(lab, "vt1"), "up")
    lab.ip(lab.ns_x, "route", "add", "10.1.0.0/24", "via", ETH0_IP)
    lab.backend.settle()
    server = subprocess.Popen(["ip", "netns", "exec", lab.ns_x, "iperf3", "-s", "-1"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    lab.procs.append(server)
    lab.note_daemon(server.pid)
    obs = {"vm1.x": vm_ping(vm1, X_IP), "x.vm1": ns_ping(lab.ns_x, ip1)}
    rc, _ = vm1.run("iperf3 -c %s -n 4M" % X_IP, timeout=60)
    obs["tcp_4MiB"] = rc == 0
    r = lab.backend._cli("-s", "-j", "-n", vns, "link", "show", P(lab, "vt1"))
    must(r)
    obs["route_failed"] = (json.loads(r.out) or [{}])[0].get("drops", {}).get("route_failed", 0)
    return obs


vmcase("IPVTAP-L3", "a VM on an ipvtap l3 upper: routed pings and TCP (vhost-user)",
       {"vm1.x": True, "x.vm1": True, "tcp_4MiB": True, "route_failed": 0},
       kind="ipvlan")(ipvtap_l3)


# ---------------------------------------------------------------- T-MT-02 (semantics.md §10.2)


def t_mt_02(lab, endpoint):
    """No reader: frames for a macvtap go to its netdev's own stack; with a queue open (kernel:
    /dev/tapN opened; subnic: a guest connected to the stream socket) and nobody reading, to
    the queue; closed again, to the stack."""
    import socket
    mt = P(lab, "mt")
    ns_e = lab.add_ns("e")
    if lab.backend.name == "kernel":
        lab.ip(lab.ns_h, "link", "add", mt, "link", lab.eth0, "type", "macvtap", "mode", "bridge")
    else:
        path = os.path.join(lab.tmpdir, "mt.sock")
        must(lab.backend._cli("link", "add", mt, "link", lab.eth0, "type", "macvtap", "mode",
                              "bridge", endpoint, path))
    lab.ip(lab.ns_h, "link", "set", mt, "netns", ns_e)
    lab.ip(ns_e, "addr", "add", "10.0.0.9/24", "dev", mt)
    lab.ip(ns_e, "link", "set", mt, "up")
    lab.backend.settle()

    def x_ping():
        lab.ip(lab.ns_x, "neigh", "flush", "all")
        return lab.ping(lab.ns_x, "10.0.0.9")["ok"]

    obs = {"no_reader": x_ping()}
    if lab.backend.name == "kernel":
        queue = V.TapFd.open_macvtap(ns_e, mt, lab.tmpdir)
        obs["queue_open"] = x_ping()
        queue.close()
    else:
        queue = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        queue.connect(path)
        queue.send(b"")  # connected, never reads
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            show = lab.backend._cli("-d", "-j", "-n", ns_e, "link", "show", mt)
            if show.ok and json.loads(show.out)[0].get("subnic", {}).get("vm", {}).get("connected"):
                break
            time.sleep(0.05)
        obs["queue_open"] = x_ping()
        queue.close()
        time.sleep(0.2)  # subnicd sees the hang-up
    obs["queue_closed"] = x_ping()
    return obs


vmcase("T-MT-02", "macvtap with no reader: its netdev's stack answers; with a queue, not",
       {"no_reader": True, "queue_open": False, "queue_closed": True},
       endpoint="stream")(t_mt_02)
