"""ipvlan scenarios: semantics.md §10.3 (T-IV-xx) and the mode x flag matrix (IPVLAN-*).

Registered in scenarios.CASES (run_oracle.py imports this module). Each case runs in a lab
of kind "ipvlan" (lab.Lab(kind="ipvlan")): uppers are `type ipvlan`, forwarding is off in
ns h, and on subnic `settle()` waits until subnicd knows every upper's addresses.

Expectations are semantics.md's (written from the kernel sources; the build kernel has no
ipvlan, so there is no oracle run here): `expect` holds the kernel's values, cited per case.
Where subnic knowingly differs, the cell is a *deviation*: {path: (subnic value, reason)}.
Deviation cells replace the expectation on the subnic backend (like [CONSUME] cells of the
macvlan cases) and are excluded from a kernel == subnic comparison (`--backend both`, on a
kernel that has ipvlan). The deviations (see README.md, "ipvlan"):

(a) AF_PACKET cannot take a frame away from the lower's host stack: unicast the kernel hands
    to an upper (l2/l3) also reaches ns h's stack (semantics.md §13); forwarding off there
    drops it instead of routing it back. subnicd closes this with an nftables ingress hook
    on the lower (src/sys/steer.hpp) and then consumes like the kernel; where it cannot, it
    says so (a "consume:" entry in `subnic -j -d link show`'s subnic.deviations). These cells
    are *fallback* deviations: the observation's `lower_consumes` cell records which case
    holds, and the (a) values apply only when it is false.
(b) `ip addr add` of an address another upper owns cannot be refused inside a namespace
    (the kernel: EADDRINUSE, §3.2); subnic keeps the first owner and reports the conflict in
    `subnic -j -d link show` under "subnic".
(c) l3s: subnic delivers to the upper from the lower's packet socket, so ns h's INPUT hook
    does not see the packet (the kernel moves it at the end of INPUT, §3.5, §13).
(d) l2: a frame an upper sends to the lower's MAC for an address no upper owns enters ns h
    through its IP output (a raw socket): it arrives on lo, not on eth0 (§3.3).
(e) subnic's DHCP extension (src/core/dhcp.hpp): in l2 a DHCP reply answering an upper's
    request goes to that upper (by xid and client id), so a client without the BOOTP
    broadcast flag gets a lease; the kernel gives the unicast offer to the lower's stack.

Lab addressing: "lan" uppers are TOPO's (10.0.0.N/24, fd00::N/64); "routed" uppers (l3/l3s,
T-IV-09 style) have 10.1.0.N/32 and fd01::N/128 with `default dev <upper>`, and X routes
10.1.0.0/24 via 10.0.0.254 and fd01::/64 via fd00::254 (the lower's addresses).
"""

import errno
import json
import os
import secrets
import socket
import subprocess

import lab as L
from lab import MAC_ETH0, MAC_X, UPPER_INDEX, LabError, norm_addr, run, wait_until
from scenarios import CASES, Case, cmd, frames, host, ok, pings, rx, rxs

# ---------------------------------------------------------------- case registration

DEV_A = ("(a) only when subnicd reports it cannot consume (no nftables ingress hook: a \"consume:\" "
         "deviation): AF_PACKET cannot take the frame from the lower's host stack, so unicast the "
         "kernel hands to an upper also reaches ns h's stack (semantics.md §13; forwarding is off there)")
DEV_B = ("(b) subnic cannot veto `ip addr add` in a namespace: the kernel's EADDRINUSE (§3.2) is "
         "success; subnic keeps the first owner and lists the address in subnic.address_conflicts")
DEV_C = ("(c) l3s: subnic delivers to the upper from the lower's packet socket, so ns h's INPUT "
         "hook does not see it (the kernel moves it at the end of INPUT, §3.5)")
DEV_D = ("(d) l2: a frame for the lower's MAC and an address no upper owns enters ns h through its "
         "IP output (raw socket): received on lo, not eth0 (the kernel re-receives it on eth0, §3.3)")
DEV_E = ("(e) subnic's DHCP extension (src/core/dhcp.hpp): in l2 a DHCP reply goes to the upper "
         "whose request it answers, so no broadcast flag is needed; the kernel gives the unicast "
         "offer to the lower's stack (§3.5)")


class IpvlanCase(Case):
    """A case with deviations {path: (subnic value, reason)} and fallback deviations (a),
    which apply only when the observation says the lower's stack was not spared
    (`lower_consumes` false)."""
    kind = "ipvlan"
    default_backend = "subnic"

    def __init__(self, cid, title, func, expect, deviations, notes, fallback):
        super().__init__(cid, title, func, expect, {p: v for p, (v, _) in deviations.items()})
        self.reasons = {p: r for p, (_, r) in deviations.items()}
        self.notes = list(notes or [])
        self.fallback = dict(fallback)
        for path in self.fallback:
            assert path in self.expect, "%s: fallback cell %s has no kernel expectation" % (cid, path)
        if self.fallback:
            self.notes.append("fallback deviation (a) for %s, if subnicd reports it cannot consume"
                              % ", ".join(sorted(self.fallback)))

    def _fallback_on(self, obs):
        return bool(self.fallback) and isinstance(obs, dict) and obs.get("lower_consumes") is False

    def consume_for(self, obs):
        """The subnic values to assert for this observation."""
        c = dict(self.consume)
        if self._fallback_on(obs):
            c.update({p: v for p, (v, _) in self.fallback.items()}, lower_consumes=False)
        return c

    def reasons_for(self, obs):
        r = dict(self.reasons)
        if self._fallback_on(obs):
            r.update({p: why for p, (_, why) in self.fallback.items()}, lower_consumes=DEV_A)
        return r


def lower_consumes(lab):
    """Whether frames for the uppers are kept from ns h's stack as the kernel's rx handler
    does: always on the kernel; on subnic unless an upper's `subnic.deviations` has a
    "consume:" entry (subnicd could not install its nftables ingress hook)."""
    if lab.backend.name == "kernel":
        return True
    for u in lab.uppers.values():
        v = lab.backend.show(u.name) or {}
        if any(str(d).startswith("consume:") for d in (v.get("subnic") or {}).get("deviations", [])):
            return False
    return True


def ivcase(cid, title, expect, deviations=None, notes=None, fallback=None):
    def deco(func):
        assert cid not in CASES, cid
        run = func
        exp = dict(expect)
        if fallback:
            exp["lower_consumes"] = True

            def run(lab):
                obs = func(lab)
                obs["lower_consumes"] = lower_consumes(lab)
                return obs
            run.__name__ = func.__name__
        CASES[cid] = IpvlanCase(cid, title, run, exp, deviations or {}, notes, fallback or {})
        return func
    return deco


# ---------------------------------------------------------------- helpers

GROUP = "239.1.1.1"
GROUP_MAC = "01:00:5e:01:01:01"
MC_PORT = 9998
ROUTED4 = "10.1.0.%d"
ROUTED6 = "fd01::%x"


# ip prints the kernel's extended ack message instead of strerror when there is one
# ("Error: MSG."); these are ipvlan's (ipvlan_main.c), for kernel runs.
EXTACK = {"Address already assigned to an ipvlan device": "EADDRINUSE",
          "Master is either lo or non-ether device": "EINVAL",
          "Device is already in use": "EBUSY"}


def cell(r):
    """A command's {rc, err} cell; an extack message of EXTACK names the errno."""
    c = r.cell()
    if c["err"] == "?":
        for msg, name in EXTACK.items():
            if msg in r.err:
                c["err"] = name
    return c


def iv_create(lab, letter, mode="l2", flag=None, words=None, lower=None, mac=None):
    """Create ipvlan upper `letter` in ns h: `type ipvlan mode MODE [FLAG]`, or exactly
    `words` (a list; [] = no ipvlan words at all). No `address` unless `mac` is given."""
    if words is None:
        words = ["mode", mode] + ([flag] if flag else [])
    return lab.create(letter, None, args=words, mac=mac, lower=lower)


def iv_setup(lab, mode, flag=None, letters="AB", routed=False, down=(), x_routes=True):
    """Uppers `letters` with `mode flag`, each in its own namespace, addressed "lan" or
    "routed" (module docstring), then settled (subnicd knows the addresses and, for IPv6
    neighbour discovery, the multicast lists)."""
    for letter in letters:
        r = iv_create(lab, letter, mode, flag)
        if not r.ok:
            raise LabError("creating upper %s failed: %r" % (letter, r))
    for letter in letters:
        up = letter not in down
        if routed:
            idx = UPPER_INDEX[letter]
            u = lab.place(letter, ip4=ROUTED4 % idx, prefix4=32, ip6=ROUTED6 % idx, prefix6=128, up=up)
            if up:
                lab.ip(u.ns, "route", "add", "default", "dev", u.name)
                lab.ip(u.ns, "-6", "route", "add", "default", "dev", u.name)
        else:
            lab.place(letter, up=up)
    if routed and x_routes:
        x_routes_add(lab)
    lab.settle()
    lab.backend.settle_mcast()


def x_routes_add(lab):
    lab.ip(lab.ns_x, "route", "add", "10.1.0.0/24", "via", "10.0.0.254")
    lab.ip(lab.ns_x, "-6", "route", "add", "fd01::/64", "via", "fd00::254")


def ivinfo(lab, name):
    """The ipvlan fields of the backend's `-j -d link show NAME`: kind, mode and the flag
    word (ip -j prints it as a key: "bridge"/"private"/"vepa")."""
    v = lab.backend.show(name)
    li = (v or {}).get("linkinfo", {})
    d = li.get("info_data", {}) or {}
    flag = next((w for w in ("private", "vepa", "bridge") if w in d), d.get("flags"))
    return {"kind": li.get("info_kind"), "mode": d.get("mode"), "flag": flag}


def noarp(lab, name, want=None):
    """NOARP in `ip -j link show NAME` (the upper's namespace). With `want`, waits (bounded)
    for that value first: subnicd sets the flag on its TAPs after the mode changes."""
    def get():
        st = lab.link(name)
        return None if st is None else "NOARP" in st.get("flags", [])
    if want is None:
        return get()
    return wait_until(get, lambda v: v == want, L.SETTLE_TIMEOUT)


def mac_of(lab, name, want=None):
    def get():
        st = lab.link(name)
        return None if st is None else st.get("address")
    v = get() if want is None else wait_until(get, lambda m: m == want, L.SETTLE_TIMEOUT)
    return lab.macname(v)


def sysctl(lab, ns, key):
    r = run(["ip", "netns", "exec", ns, "sysctl", "-n", key], check=True)
    return int(r.out.strip())


def snmp(lab, ns, proto, field):
    """A counter of /proc/net/snmp in namespace `ns` (e.g. Icmp InEchos)."""
    r = run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"], check=True)
    lines = [l.split() for l in r.out.splitlines() if l.startswith(proto + ":")]
    names, values = lines[0], lines[1]
    return int(values[names.index(field)])


def nft(lab, ns, ruleset):
    """Loads an nftables ruleset in namespace `ns` (needs `nft`, Debian package nftables)."""
    r = run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=ruleset)
    if not r.ok:
        raise LabError("nft -f failed in %s: %s" % (ns, r.err.strip()))


def nft_count(lab, ns, counter, table="snlab"):
    """Packets of named counter `counter` of table inet `table` in namespace `ns`."""
    r = run(["ip", "netns", "exec", ns, "nft", "-j", "list", "counter", "inet", table, counter], check=True)
    for item in json.loads(r.out).get("nftables", []):
        if "counter" in item:
            return item["counter"]["packets"]
    raise LabError("no counter %s in %s" % (counter, ns))


def nft_prerouting_counter(lab, v4, v6=(), name="to_uppers"):
    """A counter on ns h's prerouting hook for packets addressed to `v4`/`v6` addresses."""
    rules = []
    if v4:
        rules.append("ip daddr { %s } counter name %s" % (", ".join(v4), name))
    if v6:
        rules.append("ip6 daddr { %s } counter name %s" % (", ".join(v6), name))
    nft(lab, lab.ns_h, "table inet snlab {\n counter %s { }\n chain pre {\n"
        "  type filter hook prerouting priority -300; policy accept;\n  %s\n }\n}\n"
        % (name, "\n  ".join(rules)))


def watch_ping(lab, src, dst_ip, arp=None, at=None, detail=False):
    """ping from `src` (nonce pattern) while counting on es_l the echo frames (wire_in: from
    eth0 to the switch, wire_out: from the switch to eth0) and, for each {label: IPv4} in
    `arp`, ARP requests for it (arp_req_<label>) and replies from it (arp_rep_<label>), on
    es_l (wire_in/wire_out) and on each extra interface {name: (ns, iface)} of `at` (frames
    received there). `detail`: also the src>dst MACs and TTLs of the echo frames eth0 put on
    the wire (symbolic MACs)."""
    nonce = secrets.token_hex(8)
    arp_n = {}
    for label, ip in (arp or {}).items():
        b = socket.inet_aton(ip).hex()
        arp_n["arp_req_" + label] = "01" + b
        arp_n["arp_rep_" + label] = "02" + b
    specs = {"wire": dict(ns=lab.ns_es, iface=lab.es_l, port=0, match="icmp", join=None, detail=detail)}
    if arp_n:
        specs["wire_arp"] = dict(ns=lab.ns_es, iface=lab.es_l, port=0, match="arp", join=None)
        for name, (ns, iface) in (at or {}).items():
            specs["at_" + name] = dict(ns=ns, iface=iface, port=0, match="arp", join=None)
    ns, _ = lab.sender(src)
    res, counts = lab.capture(specs, lambda: lab.ping(ns, dst_ip, nonce=nonce), [nonce] + list(arp_n.values()))
    w = counts[nonce]["wire"]
    out = {"ok": res["ok"], "wire_in": w["frames"], "wire_out": w["out"]}
    if detail:
        d = w.get("detail", {})
        out["macs"] = sorted(">".join(lab.macname(m) for m in pair.split(">")) for pair in d.get("macs", []))
        out["hops"] = d.get("hops", [])
    for key, n in arp_n.items():
        c = {"wire_in": counts[n]["wire_arp"]["frames"], "wire_out": counts[n]["wire_arp"]["out"]}
        for name in at or {}:
            c[name] = counts[n]["at_" + name]["frames"]
        out[key] = c
    return out


def conflict_view(lab, addr):
    """subnic's view of `addr` on uppers A and B (`subnic -j -d link show`, key "subnic"):
    every leaf None on the kernel backend, which has no such key."""
    def sub(letter):
        v = lab.backend.show(lab.uppers[letter].name) or {}
        return v.get("subnic")
    a, b = sub("A"), sub("B")
    if a is None or b is None:
        return {"A_owns": None, "B_owns": None, "B_conflict": None, "B_conflicts_seen": None}

    def has(s, key):
        return addr in {norm_addr(x) for x in s.get(key) or []}
    return {"A_owns": has(a, "addresses"), "B_owns": has(b, "addresses"),
            "B_conflict": has(b, "address_conflicts"), "B_conflicts_seen": b.get("address_conflicts_seen")}


# ---------------------------------------------------------------- l2 (§3.3, §3.5, §3.7)


@ivcase("T-IV-01", "l2 bridge: slave <-> slave locally", expect={
    # ping OK, ICMP not on the wire, ARP request on the wire once
    **ok("ping_A_B"), "ping_A_B.wire_in": 0, "ping_A_B.wire_out": 0,
    "ping_A_B.arp_req_B.wire_in": 1,
    # broadcast: B 1, C 1, A 0, master host stack 0, X 1
    **rxs("bc_A", 1, "B", "C", "X"), **frames("bc_A", "A", 0), **host("bc_A", 0),
    "bc_A.wire.frames": 1, "bc_A.wire.out": 0,
})
def t_iv_01(lab):
    iv_setup(lab, "l2", "bridge", "ABC")
    lab.flush_neigh()
    return {"ping_A_B": watch_ping(lab, "A", "10.0.0.2", arp={"B": "10.0.0.2"}),
            "bc_A": lab.probe("bcast", "A")}


@ivcase("T-IV-02", "l2 broadcast with hp on", expect={
    # UDP: B 1, C 1, A 0, master host stack 1, X 1
    **rxs("bc_A", 1, "B", "C", "X"), **frames("bc_A", "A", 0), **host("bc_A", 1),
    # raw 0x88b5: B 2, C 2, A 1, X 1 (no L3 key: the reflected copy counts as outside); the
    # lower's taps see the reflected copy (§1.1 step 2; §3.7 "master host stack 1")
    "raw_A.B.frames": 2, "raw_A.C.frames": 2, "raw_A.A.frames": 1, "raw_A.X.frames": 1,
    "raw_A.host.frames": 1,
})
def t_iv_02(lab):
    iv_setup(lab, "l2", "bridge", "ABC")
    lab.hairpin(True)
    return {"bc_A": lab.probe("bcast", "A"),
            "raw_A": lab.probe("raw", "A", dst="ff:ff:ff:ff:ff:ff", ethertype=0x88B5)}


@ivcase("T-IV-03", "l2 private", expect={
    # ping fails; B still receives A's broadcast (1); the probe reaches the master host stack
    **ok("ping_A_B", False), **rx("bc_A", "B", 1),
    **host("uc_A_host", 1), "uc_A_host.wire.frames": 0,
    # the kernel re-receives the frame on eth0 (dev_forward_skb): eth0's taps see it
    **frames("uc_A_host", "host", 1),
}, deviations={
    "uc_A_host.host.frames": (0, DEV_D),
})
def t_iv_03(lab):
    iv_setup(lab, "l2", "private")
    out = pings(lab, [("A", "10.0.0.2", "ping_A_B")])
    out["bc_A"] = lab.probe("bcast", "A")
    a = lab.uppers["A"]
    lab.ip(a.ns, "neigh", "replace", "10.0.0.254", "lladdr", MAC_ETH0, "dev", a.name, "nud", "permanent")
    out["uc_A_host"] = lab.probe("ucast", "A", dst="10.0.0.254", uppers=("B",))
    return out


@ivcase("T-IV-04", "l2 vepa", expect={
    # hp off: fails, but B gets A's broadcast (1)
    **ok("hp_off.ping_A_B", False), **rx("hp_off.bc_A", "B", 1),
    # hp on: OK, every ICMP on the wire with src MAC = dst MAC = eth0's MAC (2 requests and 2
    # replies, each out and back)
    **ok("hp_on.ping_A_B"), "hp_on.ping_A_B.wire_in": 4, "hp_on.ping_A_B.wire_out": 4,
    "hp_on.ping_A_B.macs": ["mac(eth0)>mac(eth0)"],
})
def t_iv_04(lab):
    iv_setup(lab, "l2", "vepa")
    out = {"hp_off": pings(lab, [("A", "10.0.0.2", "ping_A_B")])}
    out["hp_off"]["bc_A"] = lab.probe("bcast", "A")
    lab.hairpin(True)
    lab.flush_neigh()
    out["hp_on"] = {"ping_A_B": watch_ping(lab, "A", "10.0.0.2", detail=True)}
    out["hp_on"]["ping_A_B"].pop("hops")
    return out


@ivcase("T-IV-05", "l2 outside host", expect={
    # OK; X's neighbour entry for 10.0.0.1 is eth0's MAC; the probe reaches A only
    **ok("ping_X_A"), "X_neigh_A": "mac(eth0)",
    **rx("uc_X_A", "A", 1), **rx("uc_X_A", "B", 0), **host("uc_X_A", 0), **frames("uc_X_A", "host", 1),
})
def t_iv_05(lab):
    iv_setup(lab, "l2", "bridge")
    out = pings(lab, [("X", "10.0.0.1", "ping_X_A")])
    n = lab.ipj(lab.ns_x, "neigh", "show", "10.0.0.1", "dev", lab.x0)
    out["X_neigh_A"] = lab.macname(n[0].get("lladdr")) if n else None
    out["uc_X_A"] = lab.probe("ucast", "X", dst="10.0.0.1")
    return out


@ivcase("T-IV-06", "l2 slave <-> master host", expect={
    # hp off: both fail; hp on: both OK
    **ok("hp_off.A_host", False), **ok("hp_off.host_A", False),
    **ok("hp_on.A_host"), **ok("hp_on.host_A"),
})
def t_iv_06(lab):
    # (d) applies to A -> 10.0.0.254 with hp on (the echo enters ns h through its IP output);
    # the ping result is the same, so no cell differs.
    iv_setup(lab, "l2", "bridge", "A")
    out = {"hp_off": pings(lab, [("A", "10.0.0.254", "A_host"), ("host", "10.0.0.1", "host_A")])}
    lab.hairpin(True)
    out["hp_on"] = pings(lab, [("A", "10.0.0.254", "A_host"), ("host", "10.0.0.1", "host_A")])
    return out


# ---------------------------------------------------------------- l3 / l3s (§3.4, §3.5)


@ivcase("T-IV-07", "l3 bridge: slave <-> slave, no broadcast", expect={
    # A has NOARP; ping OK with no ARP anywhere; broadcast: nobody (not B, not the wire)
    "A_noarp": True,
    **ok("ping_A_B"), "ping_A_B.wire_in": 0, "ping_A_B.wire_out": 0,
    "ping_A_B.arp_req_B.wire_in": 0, "ping_A_B.arp_req_B.B": 0, "ping_A_B.arp_rep_B.A": 0,
    **rxs("bc_A", 0, "B", "C", "X"), **frames("bc_A", "A", 0), **host("bc_A", 0),
    "bc_A.wire.frames": 0,
})
def t_iv_07(lab):
    iv_setup(lab, "l3", "bridge", "ABC")
    a, b = lab.uppers["A"], lab.uppers["B"]
    out = {"A_noarp": noarp(lab, a.name, want=True)}
    lab.flush_neigh()
    out["ping_A_B"] = watch_ping(lab, "A", "10.0.0.2", arp={"B": "10.0.0.2"},
                                 at={"A": (a.ns, a.name), "B": (b.ns, b.name)})
    out["bc_A"] = lab.probe("bcast", "A")
    return out


@ivcase("T-IV-08", "l3 private", expect={
    # A -> B fails; A -> X OK (with T-IV-09's routing)
    **ok("ping_A_B", False), **ok("ping_A_X"),
})
def t_iv_08(lab):
    iv_setup(lab, "l3", "private", routed=True)
    return pings(lab, [("A", ROUTED4 % 2, "ping_A_B"), ("A", "10.0.0.100", "ping_A_X")])


@ivcase("T-IV-09", "l3 to outside is routed by the master", expect={
    # OK; frames carry eth0's MAC as source, IP TTL as sent by A (64, not decremented);
    # without X's route the replies are lost
    **ok("ping_A_X"), "ping_A_X.macs": ["mac(eth0)>mac(X)"], "ping_A_X.hops": [64],
    **ok("ping_A_X_noroute", False),
})
def t_iv_09(lab):
    iv_setup(lab, "l3", "bridge", "A", routed=True)
    lab.flush_neigh()
    out = {"ping_A_X": watch_ping(lab, "A", "10.0.0.100", detail=True)}
    for k in ("wire_in", "wire_out"):
        out["ping_A_X"].pop(k)
    lab.ip(lab.ns_x, "route", "del", "10.1.0.0/24")
    out.update(pings(lab, [("A", "10.0.0.100", "ping_A_X_noroute")]))
    return out


@ivcase("T-IV-10", "l3: nobody answers ARP for slave addresses", expect={
    # fails; X's ARP requests get no reply
    **ok("ping_X_A", False), "ping_X_A.X_asked": True, "ping_X_A.answered": False,
})
def t_iv_10(lab):
    iv_setup(lab, "l3", "bridge", "A")
    lab.flush_neigh()
    w = watch_ping(lab, "X", "10.0.0.1", arp={"A": "10.0.0.1"})
    return {"ping_X_A": {"ok": w["ok"], "X_asked": w["arp_req_A"]["wire_out"] > 0,
                         "answered": w["arp_rep_A"]["wire_in"] + w["arp_rep_A"]["wire_out"] > 0}}


@ivcase("T-IV-11", "l3 slave -> master host", expect={
    # ping fails, but InEchos increases (requests arrive; replies cannot reach A)
    **ok("ping_A_host", False), "InEchos_increased": True,
})
def t_iv_11(lab):
    iv_setup(lab, "l3", "bridge", "A")
    before = snmp(lab, lab.ns_h, "Icmp", "InEchos")
    out = pings(lab, [("A", "10.0.0.254", "ping_A_host")])
    out["InEchos_increased"] = snmp(lab, lab.ns_h, "Icmp", "InEchos") > before
    return out


@ivcase("T-IV-12", "l3s runs the master's netfilter", expect={
    # l3s: fails (ns h's INPUT drops it); l3: OK. The packets cross ns h's PREROUTING in l3s,
    # not in l3 (the rx handler takes them before the IP layer, §3.5).
    **ok("l3s.ping_X_A", False), "l3s.prerouting": True,
    **cmd("set_l3", None), **ok("l3.ping_X_A"), "l3.prerouting": False,
}, deviations={
    "l3s.ping_X_A.ok": (True, DEV_C),
}, fallback={
    "l3.prerouting": (True, DEV_A),
})
def t_iv_12(lab):
    # semantics.md uses `iptables -A INPUT -d 10.1.0.1 -j DROP`; the same rule in nftables.
    iv_setup(lab, "l3s", "bridge", "A", routed=True)
    a = ROUTED4 % 1
    nft(lab, lab.ns_h, "table inet snlab {\n counter to_A { }\n"
        " chain pre { type filter hook prerouting priority -300; policy accept; ip daddr %s counter name to_A; }\n"
        " chain input { type filter hook input priority 0; policy accept; ip daddr %s drop; }\n}\n" % (a, a))
    out = {}
    before = nft_count(lab, lab.ns_h, "to_A")
    out["l3s"] = pings(lab, [("X", a, "ping_X_A")])
    out["l3s"]["prerouting"] = nft_count(lab, lab.ns_h, "to_A") > before
    out["set_l3"] = lab.backend.set(lab.uppers["A"].name, ["mode", "l3"]).cell()
    lab.settle()
    before = nft_count(lab, lab.ns_h, "to_A")
    out["l3"] = pings(lab, [("X", a, "ping_X_A")])
    out["l3"]["prerouting"] = nft_count(lab, lab.ns_h, "to_A") > before
    return out


# ---------------------------------------------------------------- multicast, addresses, DOWN


@ivcase("T-IV-13", "multicast", expect={
    # l2: B 1, A 0, master host stack copy; with allmulti A 1 (frame level; A's stack did not
    # join); l3: A 0, B 0 (the master host stack still gets it)
    **rx("mc_l2", "B", 1), **rx("mc_l2", "A", 0), **host("mc_l2", 1),
    **cmd("allmulti_A", None), **rx("mc_allmulti", "B", 1), **frames("mc_allmulti", "A", 1),
    "mc_allmulti.A.stack": 0,
    **cmd("set_l3", None), **rxs("mc_l3", 0, "A", "B"), **host("mc_l3", 1),
})
def t_iv_13(lab):
    # The kernel's per-slave filter is a 256-bucket hash (ipvlan_mac_hash): a false positive
    # for A in mc_l2 is possible there (~2%); subnic's filter is exact.
    iv_setup(lab, "l2", "bridge")
    join = {"B": [GROUP], "host": [GROUP]}
    out = {"mc_l2": lab.probe("mcast", "X", dst=GROUP, port=MC_PORT, join=join)}
    out["allmulti_A"] = lab.set_link("A", "allmulticast", "on").cell()
    out["mc_allmulti"] = lab.probe("mcast", "X", dst=GROUP, port=MC_PORT, join=join)
    out["set_l3"] = lab.backend.set(lab.uppers["A"].name, ["mode", "l3"]).cell()
    lab.settle()
    out["mc_l3"] = lab.probe("mcast", "X", dst=GROUP, port=MC_PORT, join=join)
    return out


def _t_iv_14_expect():
    e, d = {}, {}
    seen = 0
    for step in ("v4_A_up", "v4_A_down", "v6_A_up", "v6_A_down"):
        seen += 1
        e.update(cmd(step + ".add", "EADDRINUSE"))
        e[step + ".B_has"] = False
        d[step + ".add.rc"] = (0, DEV_B)
        d[step + ".add.err"] = (None, DEV_B)
        d[step + ".B_has"] = (True, DEV_B)
        for leaf, val in (("A_owns", True), ("B_owns", False), ("B_conflict", True), ("B_conflicts_seen", seen)):
            e["%s.view.%s" % (step, leaf)] = None  # the kernel has no such report
            d["%s.view.%s" % (step, leaf)] = (val, DEV_B)
    # traffic to the address reaches its first owner only (A up), nobody while A is down
    e.update(rx("v4_A_up.uc_X", "A", 1))
    e.update(rx("v4_A_up.uc_X", "B", 0))
    e.update(frames("v4_A_down.uc_X", "A", 0))
    e.update(rx("v4_A_down.uc_X", "B", 0))
    # the master's address on C: accepted; inbound traffic to it goes to C (§3.2)
    e.update(cmd("master_on_C.add", None))
    e.update(rx("master_on_C.uc_X", "C", 1))
    e.update(host("master_on_C.uc_X", 0))
    f = {"master_on_C.uc_X.host.stack": (1, DEV_A + "; here ns h owns 10.0.0.254 itself")}
    return e, d, f


_E14, _D14, _F14 = _t_iv_14_expect()


@ivcase("T-IV-14", "one address, one slave", expect=_E14, deviations=_D14, fallback=_F14)
def t_iv_14(lab):
    iv_setup(lab, "l2", "bridge", "ABC")
    a, b, c = (lab.uppers[k] for k in "ABC")
    # A keeps its IPv6 address while down (keep_addr_on_down), as it keeps its IPv4 address,
    # so that "A down" tests an address a DOWN slave still has (the kernel default would
    # delete it at down, and then B could take it).
    run(["ip", "netns", "exec", a.ns, "sysctl", "-qw", "net.ipv6.conf.all.keep_addr_on_down=1"], check=True)
    run(["ip", "netns", "exec", a.ns, "sysctl", "-qw", "net.ipv6.conf.%s.keep_addr_on_down=1" % a.name],
        check=True)
    # X reaches 10.0.0.1 without ARP (with A down nobody would answer it)
    lab.ip(lab.ns_x, "neigh", "replace", "10.0.0.1", "lladdr", MAC_ETH0, "dev", lab.x0, "nud", "permanent")
    lab.ip(lab.ns_x, "neigh", "replace", "10.0.0.254", "lladdr", MAC_ETH0, "dev", lab.x0, "nud", "permanent")

    def try_B(addr, plen):
        extra = ["nodad"] if ":" in addr else []
        r = lab.ip(b.ns, "addr", "add", "%s/%d" % (addr, plen), "dev", b.name, *extra, check=False)
        lab.settle()
        res = {"add": cell(r), "B_has": addr in (lab.addrs(b.name)[0] or set()),
               "view": conflict_view(lab, addr)}
        return res

    def undo_B(addr, plen):
        lab.ip(b.ns, "addr", "del", "%s/%d" % (addr, plen), "dev", b.name, check=False)
        lab.settle()

    def set_A(up):
        lab.ip(a.ns, "link", "set", a.name, "up" if up else "down")
        lab.settle()

    out = {}
    out["v4_A_up"] = try_B("10.0.0.1", 24)
    out["v4_A_up"]["uc_X"] = lab.probe("ucast", "X", dst="10.0.0.1", uppers=("A", "B"), x=False, wire=False)
    undo_B("10.0.0.1", 24)
    set_A(False)
    out["v4_A_down"] = try_B("10.0.0.1", 24)
    out["v4_A_down"]["uc_X"] = lab.probe("ucast", "X", dst="10.0.0.1", uppers=("A", "B"), x=False, wire=False)
    undo_B("10.0.0.1", 24)
    set_A(True)

    r = lab.ip(c.ns, "addr", "add", "10.0.0.254/24", "dev", c.name, check=False)
    lab.settle()
    out["master_on_C"] = {"add": cell(r),
                          "uc_X": lab.probe("ucast", "X", dst="10.0.0.254", uppers=("C",), x=False, wire=False)}
    lab.ip(c.ns, "addr", "del", "10.0.0.254/24", "dev", c.name, check=False)
    lab.settle()

    out["v6_A_up"] = try_B("fd00::1", 64)
    undo_B("fd00::1", 64)
    set_A(False)
    out["v6_A_down"] = try_B("fd00::1", 64)
    undo_B("fd00::1", 64)
    return out


@ivcase("T-IV-15", "DOWN slave", expect={
    # ping fails; A 0 copies; unicast to 10.0.0.1 reaches the master host stack (its
    # PREROUTING hook counts it; not a local address there, so dropped)
    **ok("ping_X_A", False), **frames("bc_X", "A", 0), **rx("bc_X", "B", 1),
    **frames("uc_X_A", "A", 0), "uc_X_A_host_prerouting": True,
})
def t_iv_15(lab):
    iv_setup(lab, "l2", "bridge", down=("A",))
    nft_prerouting_counter(lab, ["10.0.0.1"])
    out = pings(lab, [("X", "10.0.0.1", "ping_X_A")])
    out["bc_X"] = lab.probe("bcast", "X")
    lab.ip(lab.ns_x, "neigh", "replace", "10.0.0.1", "lladdr", MAC_ETH0, "dev", lab.x0, "nud", "permanent")
    before = nft_count(lab, lab.ns_h, "to_uppers")
    out["uc_X_A"] = lab.probe("ucast", "X", dst="10.0.0.1")
    out["uc_X_A_host_prerouting"] = nft_count(lab, lab.ns_h, "to_uppers") > before
    return out


# ---------------------------------------------------------------- configuration (§3.8)


@ivcase("T-IV-16", "mode and flags are per port", expect={
    # after B: A is l3 with NOARP; after C: A, B, C are l2 private (NOARP cleared); after the
    # set: flags back to bridge for all
    **cmd("add_A", None), **cmd("add_B", None), **cmd("add_C", None),
    "after_B.A.kind": "ipvlan", "after_B.A.mode": "l3", "after_B.A.flag": "bridge", "after_B.A_noarp": True,
    **{"after_C.%s.mode" % k: "l2" for k in "ABC"}, **{"after_C.%s.flag" % k: "private" for k in "ABC"},
    "after_C.A_noarp": False, "after_C.B_noarp": False,
    **cmd("set_A", None), **{"after_set.%s.flag" % k: "bridge" for k in "ABC"},
    **{"after_set.%s.mode" % k: "l2" for k in "ABC"},
})
def t_iv_16(lab):
    n = {k: lab.upper_name(k) for k in "ABC"}
    out = {"add_A": iv_create(lab, "A", words=["mode", "l2"]).cell(),
           "add_B": iv_create(lab, "B", words=[]).cell()}
    out["after_B"] = {"A": ivinfo(lab, n["A"]), "A_noarp": noarp(lab, n["A"], want=True)}
    out["add_C"] = iv_create(lab, "C", words=["mode", "l2", "private"]).cell()
    out["after_C"] = {k: ivinfo(lab, n[k]) for k in "ABC"}
    out["after_C"]["A_noarp"] = noarp(lab, n["A"], want=False)
    out["after_C"]["B_noarp"] = noarp(lab, n["B"], want=False)
    out["set_A"] = lab.backend.set(n["A"], ["mode", "l2"]).cell()
    out["after_set"] = {k: ivinfo(lab, n[k]) for k in "ABC"}
    return out


@ivcase("T-IV-17", "invalid flags and modes", expect={
    # CLI `private vepa`: error "unknown option", nothing created
    "cli_private_vepa.rejected": True, "cli_private_vepa.unknown_option": True,
    "cli_private_vepa.exists": False,
}, notes=["the netlink creations with flags private|vepa and with mode 3 (EINVAL) are not run: "
          "neither ip nor subnic's CLI can send them"])
def t_iv_17(lab):
    name = lab.upper_name("A")
    r = lab.backend.add(name, lab.eth0, [], ["mode", "l2", "private", "vepa"])
    return {"cli_private_vepa": {"rejected": r.rc != 0, "unknown_option": "unknown option" in r.err,
                                 "exists": lab.link(name, ns=lab.ns_h) is not None}}


NEW_ETH0_MAC = "02:00:00:00:00:03"
# EOPNOTSUPP, as the lab names errno 95 from its strerror text ("Operation not supported"):
# on Linux EOPNOTSUPP and ENOTSUP are the same errno, and Python names it ENOTSUP.
EOPNOTSUPP = L.errname(os.strerror(errno.EOPNOTSUPP))


@ivcase("T-IV-18", "MAC rules", expect={
    # A = eth0's MAC; EOPNOTSUPP; D has eth0's MAC; all slaves now show 02:00:00:00:00:03
    "A_mac": "mac(eth0)", **cmd("set_A_addr", EOPNOTSUPP), "A_mac_after": "mac(eth0)",
    "A_mac_plain_ip": "mac(eth0)",
    **cmd("add_D", None), "D_mac": "mac(eth0)",
    **cmd("eth0_addr", None), "A_mac_new": NEW_ETH0_MAC, "D_mac_new": NEW_ETH0_MAC,
})
def t_iv_18(lab):
    # A_mac_plain_ip: plain `ip link set A address` in A's namespace; the kernel refuses it
    # (no ndo_set_mac_address), a TAP accepts it and subnicd restores the lower's MAC.
    iv_setup(lab, "l2", "bridge", "A")
    a = lab.uppers["A"].name
    out = {"A_mac": mac_of(lab, a)}
    out["set_A_addr"] = lab.set_link("A", "address", "02:00:00:00:00:01").cell()
    out["A_mac_after"] = mac_of(lab, a)
    lab.ip_set_link("A", "address", "02:00:00:00:00:01")
    out["A_mac_plain_ip"] = mac_of(lab, a, want=MAC_ETH0)
    out["add_D"] = iv_create(lab, "D", "l2", mac="02:00:00:00:00:02").cell()
    d = lab.upper_name("D")
    out["D_mac"] = mac_of(lab, d)
    out["eth0_addr"] = lab.ip(lab.ns_h, "link", "set", "dev", lab.eth0, "address", NEW_ETH0_MAC, check=False).cell()
    out["A_mac_new"] = mac_of(lab, a, want=NEW_ETH0_MAC)
    out["D_mac_new"] = mac_of(lab, d, want=NEW_ETH0_MAC)
    return out


@ivcase("T-IV-19", "MTU rules", expect={
    # accepted; accepted; all slaves 1400; all slaves 1500 (B too)
    **cmd("A_9000", None), "A_mtu": 9000, **cmd("B_1300", None), "B_mtu": 1300,
    **cmd("eth0_1400", None), "low.A": 1400, "low.B": 1400,
    **cmd("eth0_1500", None), "high.A": 1500, "high.B": 1500,
})
def t_iv_19(lab):
    iv_setup(lab, "l2", "bridge")
    a, b = lab.uppers["A"].name, lab.uppers["B"].name

    def mtu(name, want):
        return wait_until(lambda: (lab.link(name) or {}).get("mtu"), lambda v: v == want, L.SETTLE_TIMEOUT)
    out = {"A_9000": lab.set_link("A", "mtu", "9000").cell()}
    out["A_mtu"] = mtu(a, 9000)
    out["B_1300"] = lab.set_link("B", "mtu", "1300").cell()
    out["B_mtu"] = mtu(b, 1300)
    out["eth0_1400"] = lab.set_link(lab.eth0, "mtu", "1400").cell()
    out["low"] = {"A": mtu(a, 1400), "B": mtu(b, 1400)}
    out["eth0_1500"] = lab.set_link(lab.eth0, "mtu", "1500").cell()
    out["high"] = {"A": mtu(a, 1500), "B": mtu(b, 1500)}
    return out


@ivcase("T-IV-20", "stacking rules", expect={
    # EBUSY; EBUSY; attached to eth0; EINVAL
    **cmd("macvlan_on_master", "EBUSY"), **cmd("macvlan_on_l1", None), **cmd("ipvlan_on_l1", "EBUSY"),
    **cmd("ipvlan_on_A", None), "V_link": "eth0", **cmd("ipvlan_on_lo", "EINVAL"),
}, notes=["`vlan id 10 on A` (EOPNOTSUPP, VLAN_CHALLENGED) is not run: subnic's CLI has no vlan "
          "type, and a TAP upper is not VLAN_CHALLENGED for plain ip"])
def t_iv_20(lab):
    r = iv_create(lab, "A", "l2")  # stays in ns h, so that `link A` names it there
    if not r.ok:
        raise LabError("creating A failed: %r" % r)
    b = lab.backend
    out = {"macvlan_on_master": cell(b.add(lab.prefix + "M", lab.eth0, [], ["mode", "bridge"], kind="macvlan"))}
    l1 = lab.add_lower("l1", attach=False)
    out["macvlan_on_l1"] = cell(b.add(lab.prefix + "N", l1, [], ["mode", "bridge"], kind="macvlan"))
    out["ipvlan_on_l1"] = cell(iv_create(lab, "W", "l2", lower=l1))
    out["ipvlan_on_A"] = cell(iv_create(lab, "V", "l2", lower=lab.uppers["A"].name))
    v = b.show(lab.upper_name("V")) if out["ipvlan_on_A"]["rc"] == 0 else None
    lk = (v or {}).get("link")
    out["V_link"] = "eth0" if lk == lab.eth0 else lk
    out["ipvlan_on_lo"] = cell(iv_create(lab, "L", "l2", lower="lo"))
    return out


@ivcase("T-IV-21", "master deleted", expect={
    # all slaves gone, also in other namespaces
    **cmd("add_U", None), **cmd("add_V", None), "before.U": True, "before.V": True, **cmd("del_L9", None),
    "after.U": False, "after.V": False,
})
def t_iv_21(lab):
    l9 = lab.add_lower("l9", attach=False)
    out = {"add_U": iv_create(lab, "U", "l2", lower=l9).cell(),
           "add_V": iv_create(lab, "V", "l2", lower=l9).cell()}
    for k in "UV":
        if k in lab.uppers:
            lab.place(k)
    lab.settle()
    names = {k: lab.upper_name(k) for k in "UV"}
    out["before"] = {k: lab.link(names[k]) is not None for k in "UV"}
    out["del_L9"] = lab.ip(lab.ns_h, "link", "del", l9, check=False).cell()
    out["after"] = {k: wait_until(lambda n=names[k]: lab.link(n) is not None, lambda v: not v, L.SETTLE_TIMEOUT)
                    for k in "UV"}
    return out


def _dhcp_server(lab):
    """dnsmasq on X (x0, 10.0.0.100), leases 10.0.0.50-99; a process of this lab (killed by
    PID at teardown)."""
    t = lab.tmpdir
    p = subprocess.Popen(
        ["ip", "netns", "exec", lab.ns_x, "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
         "--port=0", "--interface=" + lab.x0, "--bind-interfaces",
         "--dhcp-range=10.0.0.50,10.0.0.99,255.255.255.0,1h", "--dhcp-leasefile=%s/leases" % t,
         "--pid-file=%s/dnsmasq.pid" % t, "--log-facility=%s/dnsmasq.log" % t],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lab.procs.append(p)
    if p.poll() is not None:
        raise LabError("dnsmasq exited at start")


def dhcp_lease(lab, letter, client_id, broadcast):
    """busybox udhcpc on upper `letter` with client identifier `client_id` (hex, option 61),
    with or without the BOOTP broadcast flag (-B); 3 discovers 1 s apart. True if a lease
    was obtained (the address is not configured: the script does nothing)."""
    script = os.path.join(lab.tmpdir, "udhcpc-noop.sh")
    if not os.path.exists(script):
        with open(script, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(script, 0o755)
    u = lab.uppers[letter]
    argv = ["ip", "netns", "exec", u.ns, "busybox", "udhcpc", "-i", u.name, "-n", "-q", "-t", "3", "-T", "1",
            "-s", script, "-x", "0x3d:" + client_id] + (["-B"] if broadcast else [])
    r = run(argv, timeout=20)
    return r.ok and "obtained" in (r.out + r.err)


@ivcase("T-IV-22", "DHCP in l2", expect={
    # without the flag no lease; with the flag A gets a lease; in l3/l3s no lease ever
    "lease_l2_noflag": False, "lease_l2_flag": True,
    **cmd("set_l3", None), "lease_l3_flag": False, **cmd("set_l3s", None), "lease_l3s_flag": False,
}, deviations={
    "lease_l2_noflag": (True, DEV_E),
})
def t_iv_22(lab):
    iv_setup(lab, "l2", "bridge", "A")  # A keeps its TOPO address: no upper owns the offers
    _dhcp_server(lab)
    cid = "01025e0000aa01"
    out = {"lease_l2_noflag": dhcp_lease(lab, "A", cid, broadcast=False),
           "lease_l2_flag": dhcp_lease(lab, "A", cid, broadcast=True)}
    name = lab.uppers["A"].name
    out["set_l3"] = lab.backend.set(name, ["mode", "l3"]).cell()
    lab.settle()
    out["lease_l3_flag"] = dhcp_lease(lab, "A", cid, broadcast=True)
    out["set_l3s"] = lab.backend.set(name, ["mode", "l3s"]).cell()
    lab.settle()
    out["lease_l3s_flag"] = dhcp_lease(lab, "A", cid, broadcast=True)
    return out


@ivcase("T-IV-23", "IPv6 link-local addresses differ", expect={
    # different although the MAC is shared (kernel: dev_id; subnic: addrgenmode random)
    "ll_count.A": 1, "ll_count.B": 1, "ll_differ": True,
})
def t_iv_23(lab):
    iv_setup(lab, "l2", "bridge")

    def ll(letter):
        have, tent = lab.addrs(lab.uppers[letter].name)
        return sorted(a for a in (have or set()) | (tent or set()) if a.startswith("fe80:"))
    got = {k: wait_until(lambda k=k: ll(k), lambda v: len(v) > 0, L.SETTLE_TIMEOUT) for k in "AB"}
    return {"ll_count": {k: len(v) for k, v in got.items()}, "ll_differ": set(got["A"]) != set(got["B"])}


# ---------------------------------------------------------------- the mode x flag matrix


def _matrix(mode, flag):
    """IPVLAN-<mode>-<flag>: uppers A (ns a) and B (ns b), X outside.

    - pings both ways, IPv4 and IPv6: A<->B, A<->X, B<->X (hp off; vepa also hp on)
    - one raw window (hp off): broadcast and multicast (01:00:5e:01:01:01, on B's list)
      frames from A and from X, EtherType 0x88b5: who receives a copy
    - TCP, 4 MiB with SHA-256 compared: A->B, B->A (IPv6), X->A, A->X, B->X (IPv6)
    - forwarding is off in ns h; l3/l3s uppers have /32 and /128 addresses in another
      subnet with `default dev <upper>`, and X reaches them only by its route via the
      lower's addresses (checked at the end by removing the routes)
    - an nftables counter on ns h's prerouting hook counts packets addressed to the uppers
    """
    l2 = mode == "l2"
    routed = not l2
    local_ok = flag == "bridge"  # upper <-> upper without the switch's help
    vepa = flag == "vepa"
    idx = {"A": 1, "B": 2}
    ip4 = {k: (ROUTED4 if routed else "10.0.0.%d") % i for k, i in idx.items()}
    ip6 = {k: (ROUTED6 if routed else "fd00::%x") % i for k, i in idx.items()}

    e = {"h_forwarding.ipv4": 0, "h_forwarding.ipv6": 0}
    # §3.3 (l2) / §3.4 (l3, l3s): bridge delivers locally; private drops slave-owned
    # destinations; vepa sends them to the wire: in l2 the hairpin switch brings them back
    # (§3.5 l2 unicast), in l3/l3s the master's namespace would have to resolve the upper's
    # address on the wire, and nobody answers ARP/ND for it (§3.5: NOARP; the lower has no
    # route to another upper's /32 or /128), so vepa never works between l3/l3s uppers.
    for fam in ("ping4", "ping6"):
        for pair in ("A_B", "B_A"):
            e["%s_%s.ok" % (fam, pair)] = local_ok
        for pair in ("A_X", "X_A", "B_X", "X_B"):
            e["%s_%s.ok" % (fam, pair)] = True  # private/vepa only concern slave <-> slave
    if vepa:
        for fam in ("ping4", "ping6"):
            for pair in ("A_B", "B_A"):
                e["hp_on.%s_%s.ok" % (fam, pair)] = l2
        e["hp_on.tcp_A_B.ok"] = l2
    else:
        e["tcp_A_B.ok"] = local_ok
        e["tcp6_B_A.ok"] = local_ok
    for t in ("tcp_X_A", "tcp_A_X", "tcp6_B_X"):
        e[t + ".ok"] = True
    # raw frames (§3.3 l2 bc/mc row: local copies to every UP slave whose filter accepts dst,
    # whatever the flag, then the wire, master host stack no; §3.5 l2 bc/mc from outside:
    # slaves and the master host stack; l3/l3s: slaves neither send nor receive bc/mc, §3.6)
    n = 1 if l2 else 0
    e.update({"rbc_A.A.frames": 0, "rbc_A.B.frames": n, "rbc_A.X.frames": n, "rbc_A.host.frames": 0,
              "rbc_A.wire.frames": n})
    e.update({"rmc_A.A.frames": 0, "rmc_A.B.frames": n, "rmc_A.X.frames": n, "rmc_A.host.frames": 0,
              "rmc_A.wire.frames": n})
    e.update({"rbc_X.A.frames": n, "rbc_X.B.frames": n, "rbc_X.host.frames": 1, "rbc_X.wire.out": 1})
    e.update({"rmc_X.A.frames": 0, "rmc_X.B.frames": n, "rmc_X.host.frames": 1, "rmc_X.wire.out": 1})
    # ns h's prerouting sees traffic to the uppers only in l3s (§3.5: the rx handler takes l2
    # and l3 unicast for an upper before the IP layer)
    e["prerouting_to_uppers"] = mode == "l3s"
    if routed:
        e["noroute.ping4_X_A.ok"] = False
        e["noroute.ping6_X_A.ok"] = False
    fb = {}
    if mode != "l3s":
        fb["prerouting_to_uppers"] = (True, DEV_A)

    def func(lab):
        iv_setup(lab, mode, flag, "AB", routed=routed)
        a, b = lab.uppers["A"], lab.uppers["B"]
        out = {"h_forwarding": {"ipv4": sysctl(lab, lab.ns_h, "net.ipv4.ip_forward"),
                                "ipv6": sysctl(lab, lab.ns_h, "net.ipv6.conf.all.forwarding")}}
        nft_prerouting_counter(lab, [ip4["A"], ip4["B"]], [ip6["A"], ip6["B"]])
        before = nft_count(lab, lab.ns_h, "to_uppers")
        # raw bc/mc window
        probes = [{"kind": "raw", "src": s, "dst": d, "ethertype": 0x88B5}
                  for s in ("A", "X") for d in ("ff:ff:ff:ff:ff:ff", GROUP_MAC)]
        r = lab.probes(probes, join_mac={"B": [GROUP_MAC]})
        out.update(dict(zip(("rbc_A", "rmc_A", "rbc_X", "rmc_X"), r)))
        # pings
        x4, x6 = "10.0.0.100", "fd00::100"
        plan = []
        for fam, ips, xip in (("ping4", ip4, x4), ("ping6", ip6, x6)):
            plan += [("A", ips["B"], "%s_A_B" % fam), ("B", ips["A"], "%s_B_A" % fam),
                     ("A", xip, "%s_A_X" % fam), ("X", ips["A"], "%s_X_A" % fam),
                     ("B", xip, "%s_B_X" % fam), ("X", ips["B"], "%s_X_B" % fam)]
        out.update(pings(lab, plan))
        # TCP
        if not vepa:
            t = 20 if local_ok else 4
            out["tcp_A_B"] = lab.tcp_transfer(a.ns, b.ns, ip4["B"], timeout=t)
            out["tcp6_B_A"] = lab.tcp_transfer(b.ns, a.ns, ip6["A"], timeout=t)
        out["tcp_X_A"] = lab.tcp_transfer(lab.ns_x, a.ns, ip4["A"])
        out["tcp_A_X"] = lab.tcp_transfer(a.ns, lab.ns_x, x4)
        out["tcp6_B_X"] = lab.tcp_transfer(b.ns, lab.ns_x, x6)
        if vepa:
            lab.hairpin(True)
            hp = pings(lab, [("A", ip4["B"], "ping4_A_B"), ("B", ip4["A"], "ping4_B_A"),
                             ("A", ip6["B"], "ping6_A_B"), ("B", ip6["A"], "ping6_B_A")])
            hp["tcp_A_B"] = lab.tcp_transfer(a.ns, b.ns, ip4["B"], timeout=20 if l2 else 4)
            out["hp_on"] = hp
            lab.hairpin(False)
        out["prerouting_to_uppers"] = nft_count(lab, lab.ns_h, "to_uppers") > before
        if routed:
            lab.ip(lab.ns_x, "route", "del", "10.1.0.0/24")
            lab.ip(lab.ns_x, "-6", "route", "del", "fd01::/64")
            out["noroute"] = pings(lab, [("X", ip4["A"], "ping4_X_A"), ("X", ip6["A"], "ping6_X_A")])
        return out

    func.__name__ = "matrix_%s_%s" % (mode, flag)
    ivcase("IPVLAN-%s-%s" % (mode, flag), "matrix: mode %s, flag %s (pings, raw bc/mc, TCP, prerouting)"
           % (mode, flag), expect=e, fallback=fb)(func)


for _mode in ("l2", "l3", "l3s"):
    for _flag in ("bridge", "private", "vepa"):
        _matrix(_mode, _flag)
