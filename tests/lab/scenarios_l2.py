"""Issue 4 scenarios: 802.1Q (semantics.md §10.4, T-VL-xx, seed 001), veth (§5, §10.5 T-VE-01,
seed 002) and the learning bridge (§6, §10.5 T-BR-xx, ageing, VEPA through a bridge, STP).

Registered in scenarios.CASES (run_oracle.py imports this module). These cases do not use TOPO:
they run in a lab of kind "l2" or "vlan" (lab.Lab(kind=...)), whose build() makes only ns h (where
subnicd runs) and starts the backend; each case builds its own namespaces and devices, all named
with the run's prefix, and every namespace has IPv6 off (`Lab.quiet`: no router solicitations or
DAD frames to learn from or count).

Backends. A device the case calls "virtual" (a vlan, a veth pair, a bridge, a macvlan upper) is
made by the backend: `kernel` = `ip`/`bridge` (the Linux drivers, the oracle), `subnic` = the
`subnic` CLI (`subnic -n NS ...`, talking to the subnicd of ns h). Plumbing is always kernel veth
pairs made with `ip` (switch ports, host ends), and up/down and addresses are plain `ip`, as in the
macvlan lab. Reads: `ip -j` for netdev state; the backend's own `-d -j link show` for bridge and
port attributes (a kernel veth enslaved to a subnic bridge has its bridge_slave data only in
`subnic`), the backend's `fdb show` for the forwarding database.

- kind "l2" (T-VE-01, SEED-002, T-BR-01/02/03, BR-AGEING, BR-VEPA, BR-STP, BR-STP-MIXED): the
  kernel has veth and bridge, so `--backend both` runs the oracle and subnic and compares the
  observations cell by cell (no cell is excluded). BR-STP-MIXED: on the subnic backend one of the
  two bridges is subnic's and the other stays a Linux bridge; on the kernel backend both are Linux.
- kind "vlan" (T-VL-01..05, SEED-001): the build kernel has no 8021q, so the expectations are
  semantics.md's and the default (and ctest's `auto` here) is subnic; `--backend kernel` on a kernel
  without 8021q exits 77. On a kernel with 8021q `auto` runs both. The external host's VLAN devices
  are the backend's too (a subnic vlan on x0), the switch is a Linux bridge (no vlan_filtering: it
  forwards tagged frames as they are), tags are read with tcpdump -e on the lower's switch port.
"""

import json
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time

import lab as L
from lab import LabError, LabSkip, errname, run, wait_until
from scenarios import CASES, Case

BCAST = "ff:ff:ff:ff:ff:ff"
ET = 0x88B5  # EtherType of raw probes (IEEE local experimental)
STATE_WAIT = 3.0  # bound on waiting for a backend to follow an event (the kernel: at once)


class L2Case(Case):
    """A case of an issue-4 lab: kind "l2" (oracle: veth, bridge) or "vlan" (no 8021q here)."""

    def __init__(self, cid, title, func, expect, kind, notes):
        super().__init__(cid, title, func, expect, None)
        self.kind = kind
        self.reasons = {}
        self.notes = list(notes or [])
        if kind == "vlan":
            self.default_backend = "subnic"


def l2case(cid, title, expect, kind="l2", notes=None):
    def deco(func):
        assert cid not in CASES, cid
        CASES[cid] = L2Case(cid, title, func, expect, kind, notes)
        return func
    return deco


# ---------------------------------------------------------------- helpers: names, namespaces


def P(lab, short):
    name = lab.prefix + short
    assert len(name) <= 15, name
    return name


def nsq(lab, short):
    """A namespace of this run with IPv6 off."""
    ns = lab.add_ns(short)
    lab.quiet(ns)
    return ns


def mac(a, b):
    """A fixed MAC of the lab: group a (0 switch side, 1 host side, ...), number b."""
    return "02:5e:%02x:00:%02x:%02x" % (0x10 + a, (b >> 8) & 0xFF, b & 0xFF)


def veth(lab, ns_a, a, ns_b, b, mac_a=None, mac_b=None, up=True):
    """A kernel veth pair (plumbing), a in ns_a, b in ns_b."""
    args = ["link", "add", a] + (["address", mac_a] if mac_a else []) + ["type", "veth", "peer", "name", b,
                                                                            "netns", ns_b]
    if mac_b:
        args += ["address", mac_b]
    lab.ip(ns_a, *args)
    if up:
        lab.ip(ns_a, "link", "set", a, "up")
        lab.ip(ns_b, "link", "set", b, "up")


# ---------------------------------------------------------------- helpers: the backend's tool


def impl_of(lab):
    return lab.backend.name  # "kernel" or "subnic"


def tool(lab, impl, ns, *args, timeout=L.CMD_TIMEOUT):
    """`ip -n NS ARGS` (kernel) or `subnic -n NS ARGS` (subnic; the CLI runs in ns h and talks
    to the lab's subnicd). Same words: subnic speaks `ip link`."""
    if impl == "subnic":
        return lab.backend._cli("-n", ns, *args, timeout=timeout)
    return run(["ip", "-n", ns, *args], timeout=timeout)


def must(r):
    if not r.ok:
        raise LabError("command failed (%d): %s: %s" % (r.rc, " ".join(r.argv), r.err.strip()))
    return r


def cell(r):
    """{rc, err} of a command; `ip` prints the kernel's extack text where there is one."""
    if r.ok:
        return {"rc": 0, "err": None}
    err = errname(r.err)
    if err is None:
        for text, name in EXTACK.items():
            if text in r.err:
                err = name
    return {"rc": r.rc, "err": err or "?"}


# 8021q's extack messages (vlan_netlink.c, vlan.c), which `ip` prints instead of strerror.
EXTACK = {
    "VLAN device already exists": "EEXIST",
    "Invalid VLAN id": "ERANGE",
    "Invalid VLAN protocol": "EPROTONOSUPPORT",
    "VLANs not supported on device": "ENOTSUP",
}


def show(lab, impl, ns, name):
    """The backend's `-d -j link show NAME` in NS, or None."""
    if impl == "subnic":
        r = lab.backend._cli("-n", ns, "-d", "-j", "link", "show", name)
    else:
        r = run(["ip", "-n", ns, "-d", "-j", "link", "show", "dev", name])
    if not r.ok:
        return None
    try:
        v = json.loads(r.out)
    except ValueError:
        return None
    return v[0] if isinstance(v, list) and v else None


def slave_data(lab, impl, ns, port):
    return ((show(lab, impl, ns, port) or {}).get("linkinfo") or {}).get("info_slave_data") or {}


def br_data(lab, impl, ns, br):
    return ((show(lab, impl, ns, br) or {}).get("linkinfo") or {}).get("info_data") or {}


def state(lab, ns, name):
    """The `ip -j link show` fields compared (as lab.state, for any device in any namespace)."""
    st = lab.link(name, ns=ns)
    if st is None:
        return {"exists": False}
    flags = st.get("flags", [])
    return {"exists": True, "admin_up": "UP" in flags, "no_carrier": "NO-CARRIER" in flags,
            "lower_up": "LOWER_UP" in flags, "mtu": st.get("mtu")}


def wait_state(lab, ns, name, want, timeout=STATE_WAIT):
    """state() once it contains `want` (bounded); the kernel satisfies it at once."""
    return wait_until(lambda: state(lab, ns, name),
                      lambda s: all(s.get(k) == v for k, v in want.items()), timeout)


# ---------------------------------------------------------------- helpers: bridges


def br_add(lab, impl, ns, br, *opts, mac=None):
    must(tool(lab, impl, ns, "link", "add", br, *(["address", mac] if mac else []), "type", "bridge", *opts))


def br_set(lab, impl, ns, br, *opts):
    return must(tool(lab, impl, ns, "link", "set", "dev", br, "type", "bridge", *opts))


def enslave(lab, impl, ns, port, br):
    must(tool(lab, impl, ns, "link", "set", "dev", port, "master", br))


def port_set(lab, impl, ns, port, *words):
    """`link set PORT type bridge_slave WORDS`, then wait (bounded) until the backend shows them."""
    must(tool(lab, impl, ns, "link", "set", "dev", port, "type", "bridge_slave", *words))
    want = {words[i]: words[i + 1] == "on" for i in range(0, len(words), 2)}
    got = wait_until(lambda: slave_data(lab, impl, ns, port),
                     lambda d: all(d.get(k) == v for k, v in want.items()), STATE_WAIT)
    if not all(got.get(k) == v for k, v in want.items()):
        raise LabError("%s: bridge_slave %s not shown after %ss: %s" % (port, want, STATE_WAIT, got))


def dev_up(lab, impl, ns, name):
    """Bring a backend device up: `ip link set up` (kernel) or `subnic link set up`."""
    must(tool(lab, impl, ns, "link", "set", "dev", name, "up"))


def fdb_learned(lab, impl, ns, br):
    """Learned (not permanent/static) entries of bridge BR as sorted [mac, port] pairs."""
    if impl == "subnic":
        r = lab.backend._cli("-n", ns, "-j", "fdb", "show", "br", br)
    else:
        r = run(["bridge", "-n", ns, "-j", "fdb", "show", "br", br])
    if not r.ok:
        raise LabError("fdb show failed: %r" % r)
    out = []
    for e in json.loads(r.out or "[]"):
        if e.get("master") != br or e.get("state", "") in ("permanent", "static") or "vlan" in e:
            continue
        out.append([e.get("mac", "").lower(), e.get("ifname")])
    return sorted(out)


def wait_fdb(lab, impl, ns, br, pred, timeout=STATE_WAIT):
    return wait_until(lambda: fdb_learned(lab, impl, ns, br), pred, timeout)


def wait_forwarding(lab, impl, ns, ports, timeout=STATE_WAIT):
    """Ports of a bridge with STP off go straight to forwarding (§6); bounded wait for subnic."""
    def states():
        return {p: slave_data(lab, impl, ns, p).get("state") for p in ports}
    got = wait_until(states, lambda s: all(v == "forwarding" for v in s.values()), timeout)
    if not all(v == "forwarding" for v in got.values()):
        tail = ("\n--- subnicd log tail ---\n" + lab.backend.log_tail(1500)) if impl == "subnic" else ""
        raise LabError("bridge ports not forwarding after %ss: %s%s" % (timeout, got, tail))


def star(lab, impl, n, opts=(), ns_br=None, down_enslaved=()):
    """Bridge br0 (the backend's) in ns h (or ns_br) with ports p1..pn (kernel veths); the far
    end qI of pI is in its own namespace nI. Ports are up when enslaved, except those numbered in
    `down_enslaved` (enslaved DOWN, then set up, which the kernel allows: the port is disabled
    until it is up). Returns (ns_br, br, [(port, ns, host_if, host_mac)])."""
    ns_br = ns_br or lab.ns_h
    br = P(lab, "br0")
    br_add(lab, impl, ns_br, br, *opts, mac=mac(0, 0xFE))
    ports = []
    for i in range(1, n + 1):
        ns = nsq(lab, "n%d" % i)
        p, q = P(lab, "p%d" % i), P(lab, "q%d" % i)
        veth(lab, ns_br, p, ns, q, mac_a=mac(0, i), mac_b=mac(1, i), up=False)
        if i in down_enslaved:
            enslave(lab, impl, ns_br, p, br)
            lab.ip(ns_br, "link", "set", p, "up")
        else:
            lab.ip(ns_br, "link", "set", p, "up")
            enslave(lab, impl, ns_br, p, br)
        lab.ip(ns, "link", "set", q, "up")
        ports.append((p, ns, q, mac(1, i)))
    dev_up(lab, impl, ns_br, br)
    wait_forwarding(lab, impl, ns_br, [p for p, _, _, _ in ports])
    return ns_br, br, ports


# ---------------------------------------------------------------- helpers: traffic


def raw_window(lab, listeners, sends, window=None, match="raw", pkttypes=False):
    """One counting window. listeners: {label: (ns, iface)}; sends: [(ns, iface, dst MAC, src
    MAC)], raw frames (EtherType 0x88b5) sent in order. Returns per send {label: frames} (or
    {label: {frames, pkttypes}} with pkttypes=True)."""
    nonces = [secrets.token_hex(8) for _ in sends]
    specs = {lbl: dict(ns=ns, iface=ifc, port=0, match=match, join=None, ethertypes=[ET])
             for lbl, (ns, ifc) in listeners.items()}

    def action():
        for n, (ns, ifc, dst, src) in zip(nonces, sends):
            lab.send(ns, "raw", n, iface=ifc, dst=dst, src=src, ethertype=ET)

    _, counts = lab.capture(specs, action, nonces, window=window or L.WINDOW)
    out = []
    for n in nonces:
        c = counts[n]
        out.append({lbl: ({"frames": c[lbl]["frames"], "pkttypes": c[lbl]["pkttypes"]} if pkttypes
                          else c[lbl]["frames"]) for lbl in listeners})
    return out


def ping(lab, ns, dst, *namespaces):
    """ping -c2 -W1 (lab.ping), neighbour caches of `namespaces` flushed first. {"ok": bool}."""
    for n in namespaces:
        lab.ip(n, "neigh", "flush", "all")
    return lab.ping(ns, dst)


class Tcpdump:
    """tcpdump -e on one interface for the duration of a `with` block; then the VLAN IDs of the
    frames seen (`vlan N` in tcpdump -e output) and the count of untagged IPv4/ARP frames."""

    def __init__(self, lab, ns, iface):
        if shutil.which("tcpdump") is None:
            raise LabSkip("tool missing: tcpdump")
        self.lab, self.ns, self.iface = lab, ns, iface
        self.vids, self.untagged, self.lines = {}, 0, []

    def __enter__(self):
        self.p = subprocess.Popen(["ip", "netns", "exec", self.ns, "tcpdump", "-i", self.iface, "-e", "-n", "-l",
                                   "-U", "-s", "128", "--immediate-mode"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  bufsize=0)
        self.lab.procs.append(self.p)
        deadline = time.monotonic() + L.READY_TIMEOUT
        err = b""
        fd = self.p.stderr.fileno()
        while time.monotonic() < deadline and b"listening on" not in err:
            r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(fd, 4096) if r else b""
            if not chunk:
                break
            err += chunk
        if b"listening on" in err:
            time.sleep(0.2)
            return self
        self.lab._reap(self.p)
        raise LabError("tcpdump did not start on %s: %s" % (self.iface, err.decode(errors="replace")))

    def __exit__(self, *exc):
        time.sleep(0.5)
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)  # by PID, a process we started
        try:
            out = self.p.communicate(timeout=5)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            self.lab._reap(self.p)
            out = ""
        self.lab._reap(self.p)
        for line in out.splitlines():
            self.lines.append(line)
            if "802.1Q" in line or "802.1ad" in line or "QinQ" in line:
                for vid in re.findall(r"vlan (\d+),", line):
                    self.vids[int(vid)] = self.vids.get(int(vid), 0) + 1
                    break
            elif "ethertype IPv4" in line or "ethertype ARP" in line:
                self.untagged += 1
        L.log("tcpdump %s: vids %s untagged %d" % (self.iface, self.vids, self.untagged))
        return False


# ---------------------------------------------------------------- veth (§5, §10.5)


@l2case("T-VE-01", "veth pair: foreign dst MAC, carrier, delete", expect={
    # "foreign frames reach the peer (its stack drops them as other host)"
    "foreign.v1.frames": 1, "foreign.v1.pkttypes.otherhost": 1, "foreign.v0.frames": 0,
    # "carrier off on both ends while either is down"
    "v1_down.v0.admin_up": True, "v1_down.v0.no_carrier": True, "v1_down.v0.lower_up": False,
    "v1_down.v1.admin_up": False, "v1_down.v1.lower_up": False,
    # "sends dropped": a frame sent while the peer is down is not delivered later
    "v1_down.later_on_v1": 0,
    "v1_up.v0.lower_up": True, "v1_up.v1.lower_up": True, "v1_up.v0.no_carrier": False,
    "v1_up.v1.no_carrier": False,
    "v0_down.v1.admin_up": True, "v0_down.v1.no_carrier": True, "v0_down.v1.lower_up": False,
    "v0_down.v0.admin_up": False,
    # "deleting one end deletes both"
    "deleted.v0": False, "deleted.v1": False,
}, notes=["both ends in their own namespaces (`link add v0 type veth peer name v1 netns n1`, in n0); "
          "up/down with plain `ip`; deleted with the backend's `link del`"])
def t_ve_01(lab):
    impl = impl_of(lab)
    n0, n1 = nsq(lab, "n0"), nsq(lab, "n1")
    v0, v1 = P(lab, "v0"), P(lab, "v1")
    m0, m1 = mac(2, 0), mac(2, 1)
    must(tool(lab, impl, n0, "link", "add", v0, "address", m0, "type", "veth", "peer", "name", v1, "netns", n1,
              "address", m1))
    lab.ip(n0, "link", "set", v0, "up")
    lab.ip(n1, "link", "set", v1, "up")
    both = {"lower_up": True, "no_carrier": False}
    wait_state(lab, n0, v0, both)
    wait_state(lab, n1, v1, both)
    obs = {}
    (f,) = raw_window(lab, {"v0": (n0, v0), "v1": (n1, v1)}, [(n0, v0, "02:5e:99:00:00:99", m0)], pkttypes=True)
    obs["foreign"] = {"v1": f["v1"], "v0": {"frames": f["v0"]["frames"]}}

    lab.ip(n1, "link", "set", v1, "down")
    s0 = wait_state(lab, n0, v0, {"no_carrier": True})
    s1 = state(lab, n1, v1)
    # a frame sent now must be dropped, not queued for later
    nonce = secrets.token_hex(8)
    sent = run(["ip", "netns", "exec", n0, sys.executable, str(L.PROBE), "send", "--kind", "raw", "--iface", v0,
                "--dst", m1, "--nonce", nonce, "--ethertype", hex(ET)])
    L.log("send with the peer down: %r %s" % (sent, sent.out.strip()))
    specs = {"v1": dict(ns=n1, iface=v1, port=0, match="raw", join=None, ethertypes=[ET])}

    def v1_up():
        lab.ip(n1, "link", "set", v1, "up")
    _, later = lab.capture(specs, v1_up, [nonce])
    obs["v1_down"] = {"v0": s0, "v1": s1, "later_on_v1": later[nonce]["v1"]["frames"]}
    obs["v1_up"] = {"v0": wait_state(lab, n0, v0, both), "v1": wait_state(lab, n1, v1, both)}

    lab.ip(n0, "link", "set", v0, "down")
    obs["v0_down"] = {"v1": wait_state(lab, n1, v1, {"no_carrier": True}), "v0": state(lab, n0, v0)}
    lab.ip(n0, "link", "set", v0, "up")
    wait_state(lab, n1, v1, both)

    must(tool(lab, impl, n0, "link", "del", v0))
    gone0 = wait_state(lab, n0, v0, {"exists": False})
    gone1 = wait_state(lab, n1, v1, {"exists": False})
    obs["deleted"] = {"v0": gone0["exists"], "v1": gone1["exists"]}
    return obs


@l2case("SEED-002", "seed 002: veth01 (NS0) <-> veth10 (NS1), ping, address removed, rx still counts", expect={
    "add.rc": 0, "add.err": None, "up0.rc": 0, "up1.rc": 0,
    "ns0_lists_veth01": True,
    "ping.ok": True,
    "ping_after_del.ok": False, "rx_still_counting": True, "show_s_text_has_rx": True,
}, notes=["the seed's commands with the backend's tool in place of `ip` for link add/set/show; "
          "addresses with `ip` (subnic has no addr command); ping from NS0 to 192.168.254.11 after "
          "the address is removed: its ARP requests still arrive on veth10 (rx packets grow)"])
def seed_002(lab):
    impl = impl_of(lab)
    ns0, ns1 = nsq(lab, "ns0"), nsq(lab, "ns1")
    v01, v10 = P(lab, "veth01"), P(lab, "veth10")
    # `ip link add veth01 netns netns0 type veth peer name veth10 netns netns1`, run in ns h
    words = ["link", "add", v01, "netns", ns0, "type", "veth", "peer", "name", v10, "netns", ns1]
    r = lab.backend._cli(*words) if impl == "subnic" else tool(lab, impl, lab.ns_h, *words)
    obs = {"add": cell(r)}
    if not r.ok:
        return obs
    obs["up0"] = cell(tool(lab, impl, ns0, "link", "set", v01, "up"))
    obs["up1"] = cell(tool(lab, impl, ns1, "link", "set", v10, "up"))
    lab.ip(ns0, "addr", "add", "192.168.254.10/24", "dev", v01)
    lab.ip(ns1, "addr", "add", "192.168.254.11/24", "dev", v10)
    wait_state(lab, ns0, v01, {"lower_up": True})
    wait_state(lab, ns1, v10, {"lower_up": True})
    # `ip -n netns0 link`
    r = tool(lab, impl, ns0, "-j", "link")
    links = json.loads(r.out) if r.ok and r.out.strip() else []
    mine = [l for l in links if l.get("ifname") == v01]
    obs["ns0_lists_veth01"] = bool(mine)
    obs["ping"] = lab.ping(ns0, "192.168.254.11")
    lab.ip(ns1, "addr", "del", "192.168.254.11/24", "dev", v10)

    def rx_packets():
        r = tool(lab, impl, ns1, "-s", "-j", "link", "show", v10)
        try:
            return json.loads(r.out)[0]["stats64"]["rx"]["packets"]
        except (ValueError, LookupError, TypeError):
            return None
    before = rx_packets()
    lab.ip(ns0, "neigh", "flush", "all")
    obs["ping_after_del"] = lab.ping(ns0, "192.168.254.11")
    after = wait_until(rx_packets, lambda v: v is not None and before is not None and v > before, STATE_WAIT)
    obs["rx_still_counting"] = before is not None and after is not None and after > before
    r = tool(lab, impl, ns1, "-s", "link", "show", v10)
    obs["show_s_text_has_rx"] = r.ok and "RX:" in r.out
    return obs


# ---------------------------------------------------------------- bridge (§6, §10.5)


@l2case("T-BR-01", "bridge hairpin", expect={
    "learned": [[mac(1, 1), "P1"]],
    # off: to-M dropped, broadcast to p2 and the bridge device only
    "off.to_M.p1": 0, "off.to_M.p2": 0, "off.to_M.p3": 0, "off.to_M.br": 0,
    "off.bcast.p1": 0, "off.bcast.p2": 1, "off.bcast.p3": 1, "off.bcast.br": 1,
    # on: to-M sent back out p1, broadcast also out p1
    "on.to_M.p1": 1, "on.to_M.p2": 0, "on.to_M.p3": 0, "on.to_M.br": 0,
    "on.bcast.p1": 1, "on.bcast.p2": 1, "on.bcast.p3": 1, "on.bcast.br": 1,
}, notes=["bridge br0 in ns h with ports p1..p3 (kernel veths), their far ends q1..q3 in n1..n3; "
          "M = q1's MAC, learned on p1 by a broadcast from q1; frames are raw 0x88b5 from q1; "
          "pN = frames out of port pN (received on qN), br = frames to the bridge device"])
def t_br_01(lab):
    impl = impl_of(lab)
    nsb, br, ports = star(lab, impl, 3)
    (p1, n1, q1, m1) = ports[0]
    lst = {"p%d" % (i + 1): (ns, q) for i, (_, ns, q, _) in enumerate(ports)}
    lst["br"] = (nsb, br)
    lab.send(n1, "raw", secrets.token_hex(8), iface=q1, dst=BCAST, src=m1, ethertype=ET)
    learned = wait_fdb(lab, impl, nsb, br, lambda f: [m1, p1] in f)
    obs = {"learned": [[m, "P%s" % p[len(lab.prefix) + 1:]] for m, p in learned]}
    for label, hp in (("off", None), ("on", "on")):
        if hp:
            port_set(lab, impl, nsb, p1, "hairpin", "on")
        to_m, bc = raw_window(lab, lst, [(n1, q1, m1, m1), (n1, q1, BCAST, m1)])
        obs[label] = {"to_M": to_m, "bcast": bc}
    return obs


@l2case("T-BR-02", "bridge learning and flooding", expect={
    # unknown unicast from p1: flooded to all other ports (not to the bridge device)
    "first.p1": 0, "first.p2": 1, "first.p3": 1, "first.br": 0,
    "fdb_after_first": [[mac(1, 1), "P1"]],
    "reply.p1": 1, "reply.p2": 0, "reply.p3": 0, "reply.br": 0,
    "fdb_after_reply": [[mac(1, 1), "P1"], [mac(1, 2), "P2"]],
    # afterwards sent to p2 only
    "repeat.p1": 0, "repeat.p2": 1, "repeat.p3": 0, "repeat.br": 0,
}, notes=["as T-BR-01's star, but p3 is enslaved while DOWN and set up afterwards (the kernel allows "
          "it); first = q1 -> q2's MAC (unknown), reply = q2 -> q1, repeat = first again"])
def t_br_02(lab):
    impl = impl_of(lab)
    nsb, br, ports = star(lab, impl, 3, down_enslaved=(3,))
    (p1, n1, q1, m1), (p2, n2, q2, m2) = ports[0], ports[1]
    lst = {"p%d" % (i + 1): (ns, q) for i, (_, ns, q, _) in enumerate(ports)}
    lst["br"] = (nsb, br)

    def fdb(pred):
        f = wait_fdb(lab, impl, nsb, br, pred)
        return [[m, "P%s" % p[len(lab.prefix) + 1:]] for m, p in f]
    obs = {}
    (obs["first"],) = raw_window(lab, lst, [(n1, q1, m2, m1)])
    obs["fdb_after_first"] = fdb(lambda f: [m1, p1] in f)
    (obs["reply"],) = raw_window(lab, lst, [(n2, q2, m1, m2)])
    obs["fdb_after_reply"] = fdb(lambda f: [m2, p2] in f)
    (obs["repeat"],) = raw_window(lab, lst, [(n1, q1, m2, m1)])
    return obs


@l2case("BR-AGEING", "bridge ageing_time 200 (2 s): learned entries gone after ~3 s", expect={
    "ageing_time": 200,
    "learned": [[mac(1, 1), "P1"], [mac(1, 2), "P2"]],
    "present_after_1s": True,
    "gone_within_4s": True,
}, notes=["`link add br0 type bridge ageing_time 200`; q1 and q2 each send one frame; the fdb is "
          "read 1 s later (both entries there) and then until empty (bounded 8 s)"])
def br_ageing(lab):
    impl = impl_of(lab)
    nsb, br, ports = star(lab, impl, 2, opts=("ageing_time", "200"))
    (p1, n1, q1, m1), (p2, n2, q2, m2) = ports
    obs = {"ageing_time": br_data(lab, impl, nsb, br).get("ageing_time")}
    lab.send(n1, "raw", secrets.token_hex(8), iface=q1, dst=BCAST, src=m1, ethertype=ET)
    lab.send(n2, "raw", secrets.token_hex(8), iface=q2, dst=BCAST, src=m2, ethertype=ET)
    t0 = time.monotonic()
    f = wait_fdb(lab, impl, nsb, br, lambda f: [m1, p1] in f and [m2, p2] in f, timeout=1.0)
    obs["learned"] = [[m, "P%s" % p[len(lab.prefix) + 1:]] for m, p in f]
    time.sleep(max(0.0, t0 + 1.0 - time.monotonic()))
    obs["present_after_1s"] = len(fdb_learned(lab, impl, nsb, br)) == 2
    wait_fdb(lab, impl, nsb, br, lambda f: not f, timeout=max(0.0, t0 + 8.0 - time.monotonic()))
    gone_at = time.monotonic() - t0
    L.log("fdb empty %.2f s after the last frame" % gone_at)
    obs["gone_within_4s"] = not fdb_learned(lab, impl, nsb, br) and gone_at <= 4.0
    return obs


@l2case("T-BR-03", "bridge isolated ports", expect={
    "isolated.p1_p2.ok": False, "isolated.p1_p3.ok": True,
    "p2_unisolated.p1_p2.ok": True,
}, notes=["as T-BR-01's star with q1..q3 at 10.9.0.1..3/24; p1 and p2 isolated; then p2 not"])
def t_br_03(lab):
    impl = impl_of(lab)
    nsb, br, ports = star(lab, impl, 3)
    for i, (_, ns, q, _) in enumerate(ports):
        lab.ip(ns, "addr", "add", "10.9.0.%d/24" % (i + 1), "dev", q)
    nss = [ns for _, ns, _, _ in ports]
    p1, p2 = ports[0][0], ports[1][0]
    port_set(lab, impl, nsb, p1, "isolated", "on")
    port_set(lab, impl, nsb, p2, "isolated", "on")
    obs = {"isolated": {"p1_p2": ping(lab, nss[0], "10.9.0.2", *nss), "p1_p3": ping(lab, nss[0], "10.9.0.3", *nss)}}
    port_set(lab, impl, nsb, p2, "isolated", "off")
    obs["p2_unisolated"] = {"p1_p2": ping(lab, nss[0], "10.9.0.2", *nss)}
    return obs


@l2case("BR-VEPA", "macvlan vepa uppers through a bridge: hairpin decides", expect={
    "hp_off.ok": False, "hp_on.ok": True, "hp_off_again.ok": False,
}, notes=["switch: the backend's bridge in ns s with port ps (kernel veth), whose peer l0 in ns h is "
          "the lower of the backend's macvlan uppers A, B (mode vepa, ns a/b, 10.0.0.1/.2); "
          "ping A -> B with `bridge_slave hairpin` off, on, off"])
def br_vepa(lab):
    impl = impl_of(lab)
    nss = nsq(lab, "s")
    sw, ps, l0 = P(lab, "sw"), P(lab, "ps"), P(lab, "l0")
    br_add(lab, impl, nss, sw, mac=mac(0, 0xFE))
    veth(lab, nss, ps, lab.ns_h, l0, mac_a=mac(0, 1), mac_b=L.MAC_ETH0, up=False)
    lab.ip(nss, "link", "set", ps, "up")
    enslave(lab, impl, nss, ps, sw)
    lab.ip(lab.ns_h, "link", "set", l0, "up")
    dev_up(lab, impl, nss, sw)
    wait_forwarding(lab, impl, nss, [ps])
    lab.lowers.add(l0)
    for letter in "AB":
        nsq(lab, letter.lower())
        r = lab.create(letter, "vepa", lower=l0)
        if not r.ok:
            raise LabError("creating upper %s failed: %r" % (letter, r))
        lab.place(letter, ip6=None)
    lab.settle()
    a, b = lab.uppers["A"], lab.uppers["B"]
    obs = {"hp_off": ping(lab, a.ns, b.ip4, a.ns, b.ns)}
    port_set(lab, impl, nss, ps, "hairpin", "on")
    obs["hp_on"] = ping(lab, a.ns, b.ip4, a.ns, b.ns)
    port_set(lab, impl, nss, ps, "hairpin", "off")
    obs["hp_off_again"] = ping(lab, a.ns, b.ip4, a.ns, b.ns)
    return obs


# ---------------------------------------------------------------- STP


FWD_DELAY_CS = 200  # 2 s: the Linux minimum with STP, so the cases stay short
CONVERGE = 2 * FWD_DELAY_CS / 100 + 4.0  # listening + learning + margin


def bid(s):
    """'7000.2:5e:0:0:0:fe' -> (0x7000, (2, 0x5e, 0, 0, 0, 0xfe)), comparable."""
    try:
        prio, m = str(s).split(".", 1)
        return int(prio, 16), tuple(int(x, 16) for x in m.split(":"))
    except ValueError:
        return None


def stp(lab, impls):
    """Two STP bridges b1 (ns s1) and b2 (ns s2) joined by two veth links (k1a-k1b, k2a-k2b), a host
    on each (qa in ns ha on b1's port pa, qb in ns hb on b2's pb). impls: (b1's, b2's) backend.
    Phase 1: b1 priority 0x7000, b2 0x8000; phase 2: b2 set to 0x6000."""
    s1, s2, ha, hb = nsq(lab, "s1"), nsq(lab, "s2"), nsq(lab, "ha"), nsq(lab, "hb")
    b1, b2 = P(lab, "b1"), P(lab, "b2")
    k1a, k1b, k2a, k2b = P(lab, "k1a"), P(lab, "k1b"), P(lab, "k2a"), P(lab, "k2b")
    pa, qa, pb, qb = P(lab, "pa"), P(lab, "qa"), P(lab, "pb"), P(lab, "qb")
    br = {"b1": (impls[0], s1, b1), "b2": (impls[1], s2, b2)}
    links = {k1a: "b1", k2a: "b1", k1b: "b2", k2b: "b2"}
    hosts = {pa: "b1", pb: "b2"}
    for label, prio, i in (("b1", 0x7000, 1), ("b2", 0x8000, 2)):
        impl, ns, name = br[label]
        br_add(lab, impl, ns, name, "stp_state", "1", "forward_delay", str(FWD_DELAY_CS), "priority", str(prio),
               mac=mac(0, 0xF0 + i))
    veth(lab, s1, k1a, s2, k1b, mac_a=mac(3, 0x11), mac_b=mac(3, 0x21), up=False)
    veth(lab, s1, k2a, s2, k2b, mac_a=mac(3, 0x12), mac_b=mac(3, 0x22), up=False)
    veth(lab, s1, pa, ha, qa, mac_a=mac(3, 0x1A), mac_b=mac(4, 0x0A), up=False)
    veth(lab, s2, pb, hb, qb, mac_a=mac(3, 0x2B), mac_b=mac(4, 0x0B), up=False)
    for port, label in list(links.items()) + list(hosts.items()):
        impl, ns, name = br[label]
        lab.ip(ns, "link", "set", port, "up")
        enslave(lab, impl, ns, port, name)
    lab.ip(ha, "link", "set", qa, "up")
    lab.ip(hb, "link", "set", qb, "up")
    for label in ("b1", "b2"):
        impl, ns, name = br[label]
        dev_up(lab, impl, ns, name)

    def port_states():
        st = {}
        for port, label in list(links.items()) + list(hosts.items()):
            impl, ns, _ = br[label]
            st[port] = slave_data(lab, impl, ns, port).get("state")
        return st

    def converged(st):
        ls = sorted(st[p] or "" for p in links)
        return ls == ["blocking", "forwarding", "forwarding", "forwarding"] and all(
            st[p] == "forwarding" for p in hosts)

    def phase():
        t0 = time.monotonic()
        st = wait_until(port_states, converged, CONVERGE, interval=0.25)
        took = time.monotonic() - t0
        L.log("STP states after %.1f s: %s" % (took, st))
        data = {label: br_data(lab, *br[label]) for label in br}
        L.log("STP bridges: %s" % {lb: {k: d.get(k) for k in ("bridge_id", "root_id", "root_port", "priority")} for lb, d in data.items()})
        ids = {label: bid(d.get("bridge_id")) for label, d in data.items()}
        roots = {}
        for label, d in data.items():
            # iproute2 6.1 prints the bridge's own id as its root_id (iplink_bridge.c reads
            # IFLA_BR_BRIDGE_ID for it); a port's root_id (its designated root) is right, and the
            # host port is always designated. subnic's ports have no root_id: its bridge's is used.
            hp = next(p for p, lb in hosts.items() if lb == label)
            r = bid(slave_data(lab, *br[label][:2], hp).get("root_id") or d.get("root_id"))
            roots[label] = next((lb for lb, i in ids.items() if i is not None and i == r), d.get("root_id"))
        lowest = min((i, lb) for lb, i in ids.items() if i is not None)[1] if all(ids.values()) else None
        blocking = [p for p in links if st[p] == "blocking"]
        # no storm: one broadcast from qa is received once at qb and never comes back to qa
        (bc,) = raw_window(lab, {"qa": (ha, qa), "qb": (hb, qb)}, [(ha, qa, BCAST, mac(4, 0x0A))], window=2.0)
        return {"converged": converged(st), "blocking": len(blocking),
                "blocking_on": sorted({links[p] for p in blocking}),
                "hosts_forwarding": all(st[p] == "forwarding" for p in hosts),
                "root_b1": roots["b1"], "root_b2": roots["b2"], "root_is_lowest_id": roots["b1"] == lowest,
                "bcast_at_qb": bc["qb"], "bcast_back_at_qa": bc["qa"]}

    obs = {"phase1": phase()}
    impl, ns, name = br["b2"]
    br_set(lab, impl, ns, name, "priority", str(0x6000))
    obs["phase2"] = phase()
    return obs


def stp_expect():
    e = {}
    for ph, root, nonroot in (("phase1", "b1", "b2"), ("phase2", "b2", "b1")):
        e.update({"%s.converged" % ph: True, "%s.blocking" % ph: 1, "%s.blocking_on" % ph: [nonroot],
                  "%s.hosts_forwarding" % ph: True, "%s.root_b1" % ph: root, "%s.root_b2" % ph: root,
                  "%s.root_is_lowest_id" % ph: True, "%s.bcast_at_qb" % ph: 1, "%s.bcast_back_at_qa" % ph: 0})
    return e


STP_NOTES = ["b1 (ns s1) and b2 (ns s2), stp_state 1, forward_delay 200, joined by two veth links; "
             "host qa on b1, qb on b2. Phase 1: b1 priority 0x7000 (root), b2 0x8000; phase 2: b2 set "
             "to 0x6000 (root). Each phase: within 2*forward_delay+4 s exactly one of the four link "
             "ports is blocking, on the non-root bridge, host ports forwarding, both sides name the "
             "lowest bridge id as root; one broadcast from qa reaches qb once in 2 s and never "
             "comes back to qa (no storm)"]


@l2case("BR-STP", "STP loop of two bridges: one blocking port, no storm", expect=stp_expect(),
        notes=STP_NOTES + ["kernel: two Linux bridges; subnic: two subnic bridges"])
def br_stp(lab):
    impl = impl_of(lab)
    return stp(lab, (impl, impl))


@l2case("BR-STP-MIXED", "STP loop of a subnic bridge and a Linux bridge", expect=stp_expect(),
        notes=STP_NOTES + ["kernel: two Linux bridges; subnic: b1 is subnic's, b2 a Linux bridge"])
def br_stp_mixed(lab):
    return stp(lab, (impl_of(lab), "kernel"))


# ---------------------------------------------------------------- 802.1Q (§4, §10.4)


def vlan_add(lab, impl, ns, lower, name, vid, *extra, generic=()):
    return tool(lab, impl, ns, "link", "add", "link", lower, "name", name, *generic, "type", "vlan", "id", str(vid),
                *extra)


def switch(lab, lower_short, x_short="x0"):
    """ns s: Linux bridge sw (STP off, no vlan_filtering: tagged frames pass as they are) with
    port `p<lower>` whose peer is the lower in ns h, and port px whose peer x0 is in ns x (the
    external host; arp_ignore 1 there, so that it answers ARP only on the interface that has the
    address). Returns (ns s, lower's switch port, lower, ns x, x0)."""
    s, x = nsq(lab, "s"), nsq(lab, "x")
    run(["ip", "netns", "exec", x, "sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1"], check=True)
    sw = P(lab, "sw")
    lab.ip(s, "link", "add", sw, "type", "bridge", "stp_state", "0", "mcast_snooping", "0")
    low, plow = P(lab, lower_short), P(lab, "p" + lower_short)
    x0, px = P(lab, x_short), P(lab, "px")
    veth(lab, s, plow, lab.ns_h, low, mac_b=L.MAC_ETH0, up=False)
    veth(lab, s, px, x, x0, mac_b=L.MAC_X, up=False)
    for p in (plow, px):
        lab.ip(s, "link", "set", p, "master", sw)
        lab.ip(s, "link", "set", p, "up")
    lab.ip(s, "link", "set", sw, "up")
    lab.ip(lab.ns_h, "link", "set", low, "up")
    lab.ip(x, "link", "set", x0, "up")
    lab.lowers.add(low)
    return s, plow, low, x, x0


def vlan_up(lab, ns, name, addr=None):
    """Address (plain ip) and up; then wait (bounded) until it has carrier."""
    if addr:
        lab.ip(ns, "addr", "add", addr, "dev", name)
    lab.ip(ns, "link", "set", name, "up")
    st = wait_state(lab, ns, name, {"admin_up": True, "lower_up": True})
    if not st.get("lower_up"):
        raise LabError("%s did not come up: %s" % (name, st))


def x_vlans(lab, x, x0, impl, vids=(10, 20)):
    """The external host's VLAN devices x0.V (the backend's), 10.V.0.100/24."""
    out = {}
    for v in vids:
        name = P(lab, "x0.%d" % v)
        must(vlan_add(lab, impl, x, x0, name, v))
        vlan_up(lab, x, name, "10.%d.0.100/24" % v)
        out[v] = name
    return out


def udp_window(lab, listeners, sends):
    """UDP probes to 255.255.255.255:9999. listeners {label: (ns, iface)} (frames on iface and
    the UDP socket of ns); sends [(ns, iface)] (SO_BINDTODEVICE iface). Per send {label: {frames, stack}}."""
    nonces = [secrets.token_hex(8) for _ in sends]
    specs = {lbl: dict(ns=ns, iface=ifc, port=9999, match="udp", join=None, ethertypes=None, match_port=9999)
             for lbl, (ns, ifc) in listeners.items()}

    def action():
        for n, (ns, ifc) in zip(nonces, sends):
            lab.send(ns, "bcast", n, iface=ifc, dst="255.255.255.255")

    _, counts = lab.capture(specs, action, nonces)
    return [{lbl: {"frames": counts[n][lbl]["frames"], "stack": counts[n][lbl]["stack"]} for lbl in listeners}
            for n in nonces]


@l2case("T-VL-01", "802.1Q tag demultiplexing", kind="vlan", expect={
    "ping_X_V10.ok": True, "wire.vlan10": True, "wire.vlan20": False, "wire.untagged": False,
    # VID 20: neither V10 nor the eth0 host stack (eth0 taps see it)
    "t20.V10.frames": 0, "t20.V10.stack": 0, "t20.host.frames": 1, "t20.host.stack": 0,
    # untagged: never V10 (the lower's stack takes it)
    "untagged.V10.frames": 0, "untagged.V10.stack": 0, "untagged.host.frames": 1, "untagged.host.stack": 1,
    # VID 10: V10 (tag removed), not the lower's stack; the lower's taps see every frame
    "t10.V10.frames": 1, "t10.V10.stack": 1, "t10.host.frames": 1, "t10.host.stack": 0,
}, notes=["V10 = vlan 10 on e0 (ns h), moved to ns v with `ip link set netns`, 10.10.0.1/24; X (ns x) "
          "has x0.10 10.10.0.100/24 and x0.20 10.20.0.100/24 (the backend's vlans on x0) and e0 has "
          "10.0.0.254/24; probes are UDP to 255.255.255.255:9999 from x0.20, x0 and x0.10; wire = "
          "tcpdump -e on e0's switch port during the ping"])
def t_vl_01(lab):
    impl = impl_of(lab)
    s, pe0, e0, x, x0 = switch(lab, "e0")
    v = nsq(lab, "v")
    lab.ip(lab.ns_h, "addr", "add", "10.0.0.254/24", "dev", e0)
    v10 = P(lab, "V10")
    must(vlan_add(lab, impl, lab.ns_h, e0, v10, 10))
    lab.ip(lab.ns_h, "link", "set", v10, "netns", v)
    vlan_up(lab, v, v10, "10.10.0.1/24")
    xv = x_vlans(lab, x, x0, impl)
    obs = {}
    with Tcpdump(lab, s, pe0) as td:
        obs["ping_X_V10"] = ping(lab, x, "10.10.0.1", x, v)
    obs["wire"] = {"vlan10": td.vids.get(10, 0) > 0, "vlan20": td.vids.get(20, 0) > 0, "untagged": td.untagged > 0}
    t20, u, t10 = udp_window(lab, {"V10": (v, v10), "host": (lab.ns_h, e0)}, [(x, xv[20]), (x, x0), (x, xv[10])])
    obs.update(t20=t20, untagged=u, t10=t10)
    return obs


@l2case("T-VL-02", "802.1Q creation errors", kind="vlan", expect={
    "first.rc": 0, "first.err": None,
    "same_id.rc": 2, "same_id.err": "EEXIST",
    "ad_same_id.rc": 0, "ad_same_id.err": None,
    "id_4095.rc": 2, "id_4095.err": "ERANGE",
    "mtu_above.rc": 2, "mtu_above.err": "EINVAL",
    "ad_protocol": "802.1ad", "default_mtu": 1500, "default_address_is_lower": True,
}, notes=["on e0 (ns h, MTU 1500): vlan 10; vlan 10 again; vlan 10 protocol 802.1ad; id 4095; "
          "mtu 1600; the 802.1ad device's protocol and V10's MTU and MAC from the backend's show / ip"])
def t_vl_02(lab):
    impl = impl_of(lab)
    switch(lab, "e0")
    e0, h = P(lab, "e0"), lab.ns_h
    obs = {"first": cell(vlan_add(lab, impl, h, e0, P(lab, "V10"), 10)),
           "same_id": cell(vlan_add(lab, impl, h, e0, P(lab, "V10b"), 10)),
           "ad_same_id": cell(vlan_add(lab, impl, h, e0, P(lab, "V10ad"), 10, "protocol", "802.1ad")),
           "id_4095": cell(vlan_add(lab, impl, h, e0, P(lab, "V4095"), 4095)),
           "mtu_above": cell(vlan_add(lab, impl, h, e0, P(lab, "Vmtu"), 30, generic=("mtu", "1600")))}
    d = ((show(lab, impl, h, P(lab, "V10ad")) or {}).get("linkinfo") or {}).get("info_data") or {}
    obs["ad_protocol"] = d.get("protocol")
    st = lab.link(P(lab, "V10"), ns=h) or {}
    obs["default_mtu"] = st.get("mtu")
    obs["default_address_is_lower"] = st.get("address") == L.MAC_ETH0
    return obs


@l2case("T-VL-03", "lower state drives the VLAN's admin state", kind="vlan", expect={
    "lower_down.V10.admin_up": False, "lower_down.V11.admin_up": True,
    "lower_up.V10.admin_up": True, "lower_up.V11.admin_up": True,
    "up_while_lower_down.rc": 2, "up_while_lower_down.err": "ENETDOWN",
    "up_while_lower_down_state.admin_up": False,
}, notes=["V10 (vlan 10) and V11 (vlan 11, loose_binding on) on e0 in ns h, both up; e0 down, up "
          "(plain ip); then e0 down and the backend's `link set V10 up` (a TAP accepts plain "
          "`ip link set up`, so the refusal is asked of the backend's CLI)"])
def t_vl_03(lab):
    impl = impl_of(lab)
    switch(lab, "e0")
    e0, h = P(lab, "e0"), lab.ns_h
    v10, v11 = P(lab, "V10"), P(lab, "V11")
    must(vlan_add(lab, impl, h, e0, v10, 10))
    must(vlan_add(lab, impl, h, e0, v11, 11, "loose_binding", "on"))
    vlan_up(lab, h, v10)
    vlan_up(lab, h, v11)
    obs = {}
    lab.ip(h, "link", "set", e0, "down")
    obs["lower_down"] = {"V10": wait_state(lab, h, v10, {"admin_up": False}), "V11": state(lab, h, v11)}
    lab.ip(h, "link", "set", e0, "up")
    obs["lower_up"] = {"V10": wait_state(lab, h, v10, {"admin_up": True}), "V11": state(lab, h, v11)}
    lab.ip(h, "link", "set", e0, "down")
    wait_state(lab, h, v10, {"admin_up": False})
    obs["up_while_lower_down"] = cell(tool(lab, impl, h, "link", "set", "dev", v10, "up"))
    time.sleep(0.5)
    obs["up_while_lower_down_state"] = state(lab, h, v10)
    return obs


@l2case("T-VL-04", "VLAN before macvlan on the same lower", kind="vlan", expect={
    "tagged.V10.frames": 1, "tagged.V10.pkttypes.otherhost": 1, "tagged.A.frames": 0, "tagged.A.pkttypes": {},
    "untagged.A.frames": 1, "untagged.A.pkttypes.host": 1, "untagged.V10.frames": 0, "untagged.V10.pkttypes": {},
}, notes=["macvlan A (bridge, the backend's) on e0, in ns a; V10 on e0 in ns h (up, no address); "
          "X sends raw frames to A's MAC from x0.10 (tagged 10) and from x0 (untagged)"])
def t_vl_04(lab):
    impl = impl_of(lab)
    s, pe0, e0, x, x0 = switch(lab, "e0")
    nsq(lab, "a")
    r = lab.create("A", "bridge", lower=e0)
    if not r.ok:
        raise LabError("creating upper A failed: %r" % r)
    lab.place("A", ip6=None)
    v10 = P(lab, "V10")
    must(vlan_add(lab, impl, lab.ns_h, e0, v10, 10))
    vlan_up(lab, lab.ns_h, v10)
    xv = x_vlans(lab, x, x0, impl, vids=(10,))
    lab.settle()
    a = lab.uppers["A"]
    tagged, untagged = raw_window(lab, {"A": (a.ns, a.name), "V10": (lab.ns_h, v10)},
                                  [(x, xv[10], a.mac, L.MAC_X), (x, x0, a.mac, L.MAC_X)], pkttypes=True)
    return {"tagged": tagged, "untagged": untagged}


@l2case("T-VL-05", "VLAN MTU follows the lower down", kind="vlan", expect={
    "V10_mtu_initial": 1500, "V10_mtu_after": 1400,
}, notes=["V10 on e0 (ns h) at 1500; `ip link set e0 mtu 1400`"])
def t_vl_05(lab):
    impl = impl_of(lab)
    switch(lab, "e0")
    e0, h, v10 = P(lab, "e0"), lab.ns_h, P(lab, "V10")
    must(vlan_add(lab, impl, h, e0, v10, 10))
    obs = {"V10_mtu_initial": state(lab, h, v10).get("mtu")}
    lab.ip(h, "link", "set", e0, "mtu", "1400")
    obs["V10_mtu_after"] = wait_state(lab, h, v10, {"mtu": 1400}).get("mtu")
    return obs


def seed_001_expect():
    e = {}
    for k in ("A_B", "C_D", "A_X", "B_X", "C_X", "D_X", "X_A", "X_D"):
        e["same.%s.ok" % k] = True
    for k in ("A_C", "B_D", "C_A", "A_X20", "C_X10"):
        e["cross.%s.ok" % k] = False
    e.update({"wire.vlan10": True, "wire.vlan20": True, "wire.untagged": False,
              "arp.A_for_C.at_B": True, "arp.A_for_C.at_C": False, "arp.A_for_C.at_D": False,
              "arp.C_for_A.at_D": True, "arp.C_for_A.at_A": False, "arp.C_for_A.at_B": False})
    return e


@l2case("SEED-001", "seed 001: two VLANs on eth2, two macvlan bridge uppers on each", kind="vlan",
        expect=seed_001_expect(), notes=[
            "eth2 = e2 in ns h, a veth to port pe2 of the Linux bridge sw (ns s); e2.10, e2.20 the "
            "backend's vlans on it; A, B macvlan bridge on e2.10 (10.10.0.1/.2 /8), C, D on e2.20 "
            "(10.20.0.3/.4 /8), each in its own namespace; X (ns x, arp_ignore 1): x0.10 "
            "10.10.0.100/24, x0.20 10.20.0.100/24. The /8 puts every upper on-link for the other "
            "VLAN's addresses, so a cross-VLAN ping ARPs on its own VLAN and must get no answer. "
            "arp = ARP requests for the other VLAN's upper counted at each upper (no arping here). "
            "wire = tcpdump -e on pe2 over all the pings"])
def seed_001(lab):
    impl = impl_of(lab)
    s, pe2, e2, x, x0 = switch(lab, "e2")
    h = lab.ns_h
    lows = {}
    for v in (10, 20):
        name = P(lab, "e2.%d" % v)
        must(vlan_add(lab, impl, h, e2, name, v))
        vlan_up(lab, h, name)
        lows[v] = name
    ips = {"A": "10.10.0.1", "B": "10.10.0.2", "C": "10.20.0.3", "D": "10.20.0.4"}
    for letter, v in (("A", 10), ("B", 10), ("C", 20), ("D", 20)):
        nsq(lab, letter.lower())
        r = lab.create(letter, "bridge", lower=lows[v])
        if not r.ok:
            raise LabError("creating upper %s on %s failed: %r" % (letter, lows[v], r))
    for letter in "ABCD":
        lab.place(letter, ip4=ips[letter], ip6=None, prefix4=8)
    x_vlans(lab, x, x0, impl)
    lab.settle()
    U = lab.uppers
    allns = [x] + [u.ns for u in U.values()]
    obs = {"same": {}, "cross": {}}
    with Tcpdump(lab, s, pe2) as td:
        for key, src, dst in (("A_B", "A", ips["B"]), ("C_D", "C", ips["D"]), ("A_X", "A", "10.10.0.100"),
                              ("B_X", "B", "10.10.0.100"), ("C_X", "C", "10.20.0.100"),
                              ("D_X", "D", "10.20.0.100"), ("X_A", x, ips["A"]), ("X_D", x, ips["D"])):
            obs["same"][key] = ping(lab, U[src].ns if src in U else src, dst, *allns)
        for key, src, dst in (("A_C", "A", ips["C"]), ("B_D", "B", ips["D"]), ("C_A", "C", ips["A"]),
                              ("A_X20", "A", "10.20.0.100"), ("C_X10", "C", "10.10.0.100")):
            obs["cross"][key] = ping(lab, U[src].ns, dst, *allns)
    obs["wire"] = {"vlan10": td.vids.get(10, 0) > 0, "vlan20": td.vids.get(20, 0) > 0, "untagged": td.untagged > 0}
    # who sees the ARP requests of a cross-VLAN ping
    obs["arp"] = {}
    for key, src, target, at in (("A_for_C", "A", ips["C"], "BCD"), ("C_for_A", "C", ips["A"], "DAB")):
        nonce = "01" + "".join("%02x" % int(o) for o in target.split("."))
        specs = {"at_" + w: dict(ns=U[w].ns, iface=U[w].name, port=0, match="arp", join=None, ethertypes=None)
                 for w in at}
        for n in allns:
            lab.ip(n, "neigh", "flush", "all")
        _, c = lab.capture(specs, lambda: lab.ping(U[src].ns, target), [nonce])
        obs["arp"][key] = {k: v["frames"] > 0 for k, v in c[nonce].items()}
    return obs
