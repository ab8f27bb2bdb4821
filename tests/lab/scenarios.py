"""macvlan scenarios of semantics.md §10.1 (T-MV-xx), run on a Lab.

Each case is a function `f(lab) -> observation` registered with `@case`.
The observation is a nested dict (see README.md, "Observation schema"):
probe counts per listener, ping results, command results ({"rc", "err"}),
link state fields. Every case declares:

- `expect`: {dotted.path: value} — what semantics.md says, cited per case.
  The kernel run must match every entry. Where the kernel contradicts
  semantics.md the kernel value is encoded and the disagreement is written in
  a comment starting with "KERNEL DISAGREES".
- `consume`: {dotted.path: subnic value} — cells where subnic knowingly
  differs from the kernel: excluded from the kernel == subnic comparison,
  subnic's known value is asserted instead. Every other cell of the two
  observations must be identical. No macvlan case has one now: the cells
  semantics.md marks `[CONSUME]` (an AF_PACKET dataplane cannot take a frame
  away from the lower host stack, §13) are compared like the others, because
  subnicd drops those frames on the lower's nftables ingress hook
  (src/sys/steer.hpp, `macvlan_steer_rules`).

Listener names in probe observations: an upper's letter (frames on its
interface, stack = UDP socket in its namespace), "host" (eth0 taps + the lower
host stack), "X" (x0), "wire" (es_l: frames = from eth0 to the switch,
out = from the switch to eth0).
"""

from lab import MAC_ETH0, MAC_X, LabError, wait_until

CASES = {}


class Case:
    def __init__(self, cid, title, func, expect, consume):
        self.id, self.title, self.func = cid, title, func
        self.expect, self.consume = expect, consume or {}
        for path in self.consume:
            assert path in self.expect, "%s: [CONSUME] cell %s has no kernel expectation" % (cid, path)


def case(cid, title, expect, consume=None):
    def deco(func):
        assert cid not in CASES, cid
        CASES[cid] = Case(cid, title, func, expect, consume)
        return func
    return deco


# ---------------------------------------------------------------- helpers
# Expectation builders. "N receives n" = n frames on its interface and n
# datagrams on its stack (§10.0); for the sender only frames count, its UDP
# socket also gets the local loopback copy ("does not count", §10.0); for the
# lower host "lower host n" is its stack, eth0 taps are "host.frames".


def rx(probe, who, n):
    return {"%s.%s.frames" % (probe, who): n, "%s.%s.stack" % (probe, who): n}


def rxs(probe, n, *whos):
    d = {}
    for w in whos:
        d.update(rx(probe, w, n))
    return d


def frames(probe, who, n):
    return {"%s.%s.frames" % (probe, who): n}


def host(probe, n):
    return {"%s.host.stack" % probe: n}


def ok(path, value=True):
    return {"%s.ok" % path: value}


def cmd(path, err):
    """Expected command cell: err None = success (rc 0); else rc 2 + errno."""
    return {"%s.rc" % path: 0 if err is None else 2, "%s.err" % path: err}


def pings(lab, pairs, flush=True):
    """Sequential pings, neighbour caches flushed before each (§10.0)."""
    out = {}
    for src, dst_ip, key in pairs:
        if flush:
            lab.flush_neigh()
        ns, _ = lab.sender(src)
        out[key] = lab.ping(ns, dst_ip)
    return out


def upper_ip(lab, letter):
    return lab.uppers[letter].ip4


def promiscuity(lab, dev):
    st = lab.link(dev, details=True, ns=lab.ns_h)
    return st["promiscuity"] if st else None


def mvinfo(lab, name):
    """The macvlan fields of the backend's `-j -d link show NAME`."""
    v = lab.backend.show(name)
    li = (v or {}).get("linkinfo", {})
    d = li.get("info_data", {})
    return {"exists": v is not None, "kind": li.get("info_kind"), "mode": d.get("mode"), "flags": d.get("flags"),
            "bcqueuelen": d.get("bcqueuelen"), "usedbcqueuelen": d.get("usedbcqueuelen"),
            "macaddr_count": d.get("macaddr_count", 0),
            "macaddr_data": sorted(lab.macname(m) for m in d.get("macaddr_data", []))}


# ---------------------------------------------------------------- bridge/vepa/private connectivity


@case("T-MV-01", "bridge <-> bridge, hp off", expect={
    # ping OK; no A<->B ICMP on the wire
    **ok("ping_A_B"), "ping_A_B.wire_in": 0, "ping_A_B.wire_out": 0,
    # broadcast: B 1, C 0, D 0, A 0, lower host 0, X 1 (one wire copy)
    **rx("bc_A", "B", 1), **rxs("bc_A", 0, "C", "D"), **frames("bc_A", "A", 0),
    **host("bc_A", 0), **rx("bc_A", "X", 1), "bc_A.wire.frames": 1, "bc_A.wire.out": 0,
})
def t_mv_01(lab):
    lab.uppers_setup({"A": "bridge", "B": "bridge", "C": "vepa", "D": "private"})
    lab.flush_neigh()
    return {"ping_A_B": lab.ping_wire("A", "10.0.0.2"), "bc_A": lab.probe("bcast", "A")}


@case("T-MV-03", "bridge broadcast with hp on", expect={
    # B 1 (local copy only), C 1 (reflected), D 0, A 0, lower host 1, X 1
    **rxs("bc_A", 1, "B", "C"), **rx("bc_A", "D", 0), **frames("bc_A", "A", 0),
    **host("bc_A", 1), **rx("bc_A", "X", 1), "bc_A.wire.frames": 1, "bc_A.wire.out": 1,
})
def t_mv_03(lab):
    lab.uppers_setup({"A": "bridge", "B": "bridge", "C": "vepa", "D": "private"})
    lab.hairpin(True)
    return {"bc_A": lab.probe("bcast", "A")}


@case("T-MV-04", "vepa <-> vepa, hp off", expect={
    **ok("ping_A_B", False),
    # B 0, A 0, lower host 0, X 1
    **rx("bc_A", "B", 0), **frames("bc_A", "A", 0), **host("bc_A", 0), **rx("bc_A", "X", 1),
})
def t_mv_04(lab):
    lab.uppers_setup({"A": "vepa", "B": "vepa"})
    out = pings(lab, [("A", "10.0.0.2", "ping_A_B")])
    out["bc_A"] = lab.probe("bcast", "A")
    return out


@case("T-MV-05", "vepa <-> vepa, hp on", expect={
    # ping OK, each ICMP crosses es_l twice (out and back): 2 requests + 2 replies
    **ok("ping_A_B"), "ping_A_B.wire_in": 4, "ping_A_B.wire_out": 4,
    # broadcast: B 1, E 1, A 0, lower host 1, X 1
    **rxs("bc_A", 1, "B", "E"), **frames("bc_A", "A", 0), **host("bc_A", 1), **rx("bc_A", "X", 1),
})
def t_mv_05(lab):
    lab.uppers_setup({"A": "vepa", "B": "vepa", "E": "bridge"})
    lab.hairpin(True)
    lab.flush_neigh()
    return {"ping_A_B": lab.ping_wire("A", "10.0.0.2"), "bc_A": lab.probe("bcast", "A")}


@case("T-MV-06", "private <-> private, hp off", expect={
    **ok("ping_A_B", False),
    **rx("bc_A", "B", 0), **frames("bc_A", "A", 0), **host("bc_A", 0), **rx("bc_A", "X", 1),
})
def t_mv_06(lab):
    lab.uppers_setup({"A": "private", "B": "private"})
    out = pings(lab, [("A", "10.0.0.2", "ping_A_B")])
    out["bc_A"] = lab.probe("bcast", "A")
    return out


@case("T-MV-07", "private echo with hp on", expect={
    **ok("ping_A_B", False),
    # A 1 (its own frame returns to it), B 0, C 0, E 0, lower host stack 0
    # [CONSUME] (eth0 taps do see it), X 1
    **frames("bc_A", "A", 1), **rxs("bc_A", 0, "B", "C", "E"), **host("bc_A", 0),
    **frames("bc_A", "host", 1), **rx("bc_A", "X", 1),
})
def t_mv_07(lab):
    lab.uppers_setup({"A": "private", "B": "private", "C": "vepa", "E": "bridge"})
    lab.hairpin(True)
    out = pings(lab, [("A", "10.0.0.2", "ping_A_B")])
    out["bc_A"] = lab.probe("bcast", "A")
    return out


@case("T-MV-08", "private <-> host asymmetry, hp on", expect={
    # (a) fails (D's ARP request only comes back to D); (b) OK; (c) OK
    # (a) fails only because the kernel consumes D's reflected ARP request
    # (§2.3 private-source row, [CONSUME]); subnic's ingress table does too.
    **ok("a_D_host", False), **ok("b_host_D"), **ok("c_D_host"),
})
def t_mv_08(lab):
    lab.uppers_setup({"D": "private"})
    lab.hairpin(True)
    out = {}
    lab.flush_neigh(lab.uppers["D"].ns, lab.ns_h)
    out["a_D_host"] = lab.ping(lab.uppers["D"].ns, "10.0.0.254")
    lab.flush_neigh(lab.uppers["D"].ns, lab.ns_h)
    out["b_host_D"] = lab.ping(lab.ns_h, "10.0.0.4")
    out["c_D_host"] = lab.ping(lab.uppers["D"].ns, "10.0.0.254")  # no flush: D learnt the host in (b)
    return out


@case("T-MV-09", "private does not filter unicast", expect={
    # hp on: OK (reflected unicast delivered by MAC); hp off: fails
    **ok("hp_on_D_A"), **ok("hp_off_D_A", False),
})
def t_mv_09(lab):
    lab.uppers_setup({"A": "bridge", "D": "private"})
    a, d = lab.uppers["A"], lab.uppers["D"]
    lab.ip(a.ns, "neigh", "replace", d.ip4, "lladdr", d.mac, "dev", a.name, "nud", "permanent")
    lab.ip(d.ns, "neigh", "replace", a.ip4, "lladdr", a.mac, "dev", d.name, "nud", "permanent")
    lab.hairpin(True)
    out = {"hp_on_D_A": lab.ping(d.ns, a.ip4)}
    lab.hairpin(False)
    out["hp_off_D_A"] = lab.ping(d.ns, a.ip4)
    return out


@case("T-MV-10", "bridge <-> vepa, hp off", expect={
    **ok("ping_C_A", False), **ok("ping_A_C", False),
    # A's broadcast: C 0; C's broadcast: A 0
    **rx("bc_A", "C", 0), **rx("bc_C", "A", 0),
})
def t_mv_10(lab):
    lab.uppers_setup({"A": "bridge", "C": "vepa"})
    out = pings(lab, [("C", "10.0.0.1", "ping_C_A"), ("A", "10.0.0.3", "ping_A_C")])
    out["bc_A"], out["bc_C"] = lab.probes([{"kind": "bcast", "src": "A"}, {"kind": "bcast", "src": "C"}])
    return out


@case("T-MV-11", "bridge <-> vepa, hp on", expect={
    **ok("ping_C_A"), **ok("ping_A_C"),
    # C's broadcast: A 1, B 1, C 0, lower host 1, X 1
    **rxs("bc_C", 1, "A", "B", "X"), **frames("bc_C", "C", 0), **host("bc_C", 1),
})
def t_mv_11(lab):
    lab.uppers_setup({"A": "bridge", "B": "bridge", "C": "vepa"})
    lab.hairpin(True)
    out = pings(lab, [("C", "10.0.0.1", "ping_C_A"), ("A", "10.0.0.3", "ping_A_C")])
    out["bc_C"] = lab.probe("bcast", "C")
    return out


@case("T-MV-12", "private isolation in a mixed port", expect={
    # D receives 0 from A and from C; A and C receive 0 from D; D receives 1 from X
    **rx("bc_A", "D", 0), **rx("bc_C", "D", 0), **rxs("bc_D", 0, "A", "C"), **rx("bc_X", "D", 1),
    # not named in T-MV-12 but fixed by §2.4 ("private upper, hp on": sender
    # 1, lower host stack 0 [CONSUME])
    **frames("bc_D", "D", 1), **host("bc_D", 0),
})
def t_mv_12(lab):
    lab.uppers_setup({"A": "bridge", "C": "vepa", "D": "private"})
    lab.hairpin(True)
    r = lab.probes([{"kind": "bcast", "src": s} for s in ("A", "C", "D", "X")])
    return dict(zip(("bc_A", "bc_C", "bc_D", "bc_X"), r))


@case("T-MV-13", "outside broadcast fan-out", expect={
    # A 1, B 1, C 1, D 1, S 0, F 0, lower host 1
    **rxs("bc_X", 1, "A", "B", "C", "D"), **rxs("bc_X", 0, "S", "F"), **host("bc_X", 1),
})
def t_mv_13(lab):
    lab.uppers_setup({"A": "bridge", "B": "bridge", "C": "vepa", "D": "private", "S": "source",
                      "F": "vepa"}, down=("F",))
    return {"bc_X": lab.probe("bcast", "X")}


@case("T-MV-14", "outside unicast", expect={
    **ok("ping_X_A"), **ok("ping_X_C"), **ok("ping_X_D"), **ok("ping_X_host"),
    # the probe reaches A once and not the lower host stack (eth0 taps see it)
    **rx("uc_X_A", "A", 1), **host("uc_X_A", 0), **frames("uc_X_A", "host", 1),
})
def t_mv_14(lab):
    lab.uppers_setup({"A": "bridge", "C": "vepa", "D": "private"})
    out = pings(lab, [("X", "10.0.0.1", "ping_X_A"), ("X", "10.0.0.3", "ping_X_C"),
                      ("X", "10.0.0.4", "ping_X_D"), ("X", "10.0.0.254", "ping_X_host")])
    out["uc_X_A"] = lab.probe("ucast", "X", dst="10.0.0.1")
    return out


@case("T-MV-15", "upper <-> lower host, hp off", expect={
    **ok("A_host", False), **ok("C_host", False), **ok("D_host", False),
    **ok("host_A", False), **ok("host_C", False), **ok("host_D", False),
})
def t_mv_15(lab):
    lab.uppers_setup({"A": "bridge", "C": "vepa", "D": "private"})
    return pings(lab, [("A", "10.0.0.254", "A_host"), ("C", "10.0.0.254", "C_host"),
                       ("D", "10.0.0.254", "D_host"), ("host", "10.0.0.1", "host_A"),
                       ("host", "10.0.0.3", "host_C"), ("host", "10.0.0.4", "host_D")])


@case("T-MV-16", "upper <-> lower host, hp on", expect={
    **ok("A_host"), **ok("C_host"), **ok("host_C"),
})
def t_mv_16(lab):
    lab.uppers_setup({"A": "bridge", "C": "vepa"})
    lab.hairpin(True)
    return pings(lab, [("A", "10.0.0.254", "A_host"), ("C", "10.0.0.254", "C_host"),
                       ("host", "10.0.0.3", "host_C")])


@case("T-MV-17", "DOWN upper", expect={
    "B_state.admin_up": False,
    # all B traffic 0; pings fail
    **ok("ping_X_B", False), **ok("ping_A_B", False), **rx("bc_X", "B", 0), **rx("bc_X", "A", 1),
    # frames for B's MAC reach only eth0 taps and the lower host stack
    # (dropped there as other host)
    **rx("uc_X_B", "B", 0), **rx("uc_X_B", "A", 0), **frames("uc_X_B", "host", 1),
    "uc_X_B.host.pkttypes.otherhost": 1, **host("uc_X_B", 0),
})
def t_mv_17(lab):
    lab.uppers_setup({"A": "bridge", "B": "bridge"})
    set_down = lab.set_link("B", "down")
    if not set_down.ok:
        raise LabError("set B down failed: %r" % set_down)
    out = {"B_state": lab.state("B")}
    out.update(pings(lab, [("X", "10.0.0.2", "ping_X_B")]))
    out["bc_X"] = lab.probe("bcast", "X")
    out.update(pings(lab, [("A", "10.0.0.2", "ping_A_B")]))
    # A unicast for B's MAC: X is given B's MAC statically (ARP cannot work).
    b = lab.uppers["B"]
    lab.ip(lab.ns_x, "neigh", "replace", b.ip4, "lladdr", b.mac, "dev", lab.x0, "nud", "permanent")
    out["uc_X_B"] = lab.probe("ucast", "X", dst=b.ip4)
    return out


# ---------------------------------------------------------------- MAC rules


@case("T-MV-18", "duplicate MAC is detected at up, not at add", expect={
    # add succeeds; first B up -> EADDRINUSE; B up after A down succeeds;
    # A up -> EADDRINUSE
    **cmd("add_B", None), **cmd("up_B_1", "EADDRINUSE"), "state_1.B": False,
    "state_1_plain_ip.B": False, "state_1_plain_ip.A": True,
    **cmd("down_A", None), **cmd("up_B_2", None), "state_2.B": True,
    **cmd("up_A", "EADDRINUSE"), "state_3.A": False, "state_3.B": True,
})
def t_mv_18(lab):
    lab.uppers_setup({"A": "bridge"})
    ma = lab.uppers["A"].mac
    out = {"add_B": lab.create("B", "bridge", mac=ma).cell()}
    lab.place("B", up=False)
    lab.settle()

    def states():
        return {k: lab.state(k)["admin_up"] for k in ("A", "B")}
    out["up_B_1"] = lab.set_link("B", "up").cell()
    out["state_1"] = states()
    lab.ip_set_link("B", "up")  # plain ip: refused by the kernel, undone by subnic
    out["state_1_plain_ip"] = states()
    out["down_A"] = lab.set_link("A", "down").cell()
    out["up_B_2"] = lab.set_link("B", "up").cell()
    out["state_2"] = states()
    out["up_A"] = lab.set_link("A", "up").cell()
    out["state_3"] = states()
    return out


@case("T-MV-19", "upper with the lower's MAC", expect={
    # add succeeds; up -> EADDRINUSE
    **cmd("add_U", None), **cmd("up_U", "EADDRINUSE"), "U_up": False, "U_up_plain_ip": False,
})
def t_mv_19(lab):
    out = {"add_U": lab.create("U", "bridge", mac=MAC_ETH0).cell()}
    lab.place("U", up=False)
    lab.settle()
    out["up_U"] = lab.set_link("U", "up").cell()
    out["U_up"] = lab.state("U")["admin_up"]
    lab.ip_set_link("U", "up")  # plain ip: refused by the kernel, undone by subnic
    out["U_up_plain_ip"] = lab.state("U")["admin_up"]
    return out


@case("T-MV-20", "address change rules", expect={
    # EADDRINUSE, EADDRINUSE, EADDRNOTAVAIL, EADDRNOTAVAIL; the shared MAC is
    # accepted on both DOWN uppers; M3 up OK; D1 up -> EADDRINUSE
    **cmd("M_to_Ma", "EADDRINUSE"), **cmd("M_to_eth0", "EADDRINUSE"),
    **cmd("M_to_mcast", "EADDRNOTAVAIL"), **cmd("M_to_zero", "EADDRNOTAVAIL"),
    **cmd("M_to_shared", None), **cmd("N_to_shared", None),
    "M_addr": "02:5e:00:00:00:99", "N_addr": "02:5e:00:00:00:99",
    "M_addr_plain_ip": "02:5e:00:00:00:99",
    **cmd("up_M", None), **cmd("up_N", "EADDRINUSE"), "M_up": True, "N_up": False,
})
def t_mv_20(lab):
    # M plays "M3", N plays "D1" (both created DOWN in their namespaces).
    lab.uppers_setup({"A": "bridge", "M": "bridge", "N": "bridge"}, down=("M", "N"))
    ma = lab.uppers["A"].mac
    shared = "02:5e:00:00:00:99"
    out = {}
    for key, mac in (("M_to_Ma", ma), ("M_to_eth0", MAC_ETH0), ("M_to_mcast", "01:00:5e:00:00:01"),
                     ("M_to_zero", "00:00:00:00:00:00"), ("M_to_shared", shared)):
        out[key] = lab.set_link("M", "address", mac).cell()
    out["N_to_shared"] = lab.set_link("N", "address", shared).cell()
    lab.ip_set_link("M", "address", ma)  # plain ip: refused by the kernel, undone by subnic
    out["M_addr_plain_ip"] = lab.link(lab.uppers["M"].name)["address"]
    out["M_addr"] = lab.link(lab.uppers["M"].name)["address"]
    out["N_addr"] = lab.link(lab.uppers["N"].name)["address"]
    out["up_M"] = lab.set_link("M", "up").cell()
    out["up_N"] = lab.set_link("N", "up").cell()
    out["M_up"] = lab.state("M")["admin_up"]
    out["N_up"] = lab.state("N")["admin_up"]
    return out


# ---------------------------------------------------------------- passthru


@case("T-MV-21", "passthru is exclusive", expect={
    # P created; second add -> EINVAL; passthru on eth0 -> EINVAL
    **cmd("add_P", None), **cmd("add_Q", "EINVAL"), **cmd("add_R", "EINVAL"),
})
def t_mv_21(lab):
    lab.uppers_setup({"A": "bridge"})  # eth0 has uppers
    l1 = lab.add_lower("l1", attach=False, mac="02:5e:00:00:01:01")
    return {"add_P": lab.create("P", "passthru", mac=None, lower=l1).cell(),
            "add_Q": lab.create("Q", "vepa", mac=None, lower=l1).cell(),
            "add_R": lab.create("R", "passthru", mac=None).cell()}


M1 = "02:5e:00:00:01:01"
M2 = "02:5e:00:00:01:02"


@case("T-MV-22", "passthru MAC and promiscuity", expect={
    # P has M1; promiscuity 1 after up; L1 becomes M2 (P too); promiscuity 0
    # after nopromisc; after delete L1 is M1 again
    "promisc_0": 0, **cmd("add_P", None), "P_mac": M1, "promisc_up": 1,
    **cmd("P_to_M2", None), "L1_mac_2": M2, "P_mac_2": M2,
    **cmd("nopromisc", None), "promisc_nopromisc": 0,
    **cmd("del_P", None), "L1_mac_end": M1,
})
def t_mv_22(lab):
    l1 = lab.add_lower("l1", attach=False, mac=M1)
    out = {"promisc_0": promiscuity(lab, l1)}
    out["add_P"] = lab.create("P", "passthru", mac=None, lower=l1).cell()
    lab.place("P", ip4=None, ip6=None, up=False)
    p = lab.uppers["P"].name
    out["P_mac"] = lab.link(p)["address"]
    lab.set_link("P", "up")
    out["promisc_up"] = promiscuity(lab, l1)
    out["P_to_M2"] = lab.set_link("P", "address", M2).cell()
    out["L1_mac_2"] = wait_until(lambda: lab.link(l1, ns=lab.ns_h)["address"], lambda v: v == M2, 3)
    out["P_mac_2"] = lab.link(p)["address"]
    out["nopromisc"] = lab.backend.set(p, ["mode", "passthru", "nopromisc"]).cell()
    out["promisc_nopromisc"] = wait_until(lambda: promiscuity(lab, l1), lambda v: v == 0, 3)
    out["del_P"] = lab.backend.delete(p).cell()
    out["L1_mac_end"] = wait_until(lambda: lab.link(l1, ns=lab.ns_h)["address"], lambda v: v == M1, 3)
    return out


@case("T-MV-23", "passthru receives everything unicast", expect={
    # first ping OK; ping to the lower host's IP fails (its unicast goes to
    # P) [CONSUME]; the raw frame reaches P, marked "for this host"
    **ok("ping_X_P"), **ok("ping_X_L1", False),
    "raw.P.frames": 1, "raw.P.pkttypes.host": 1,
})
def t_mv_23(lab):
    l1 = lab.add_lower("l1", attach=True, mac=M1)
    lab.ip(lab.ns_h, "addr", "add", "10.0.1.254/24", "dev", l1)
    lab.ip(lab.ns_x, "addr", "add", "10.0.1.100/24", "dev", lab.x0)
    r = lab.create("P", "passthru", mac=None, lower=l1)
    if not r.ok:
        raise LabError("creating P failed: %r" % r)
    lab.place("P", ip4="10.0.1.5", ip6=None)
    lab.settle()
    out = pings(lab, [("X", "10.0.1.5", "ping_X_P"), ("X", "10.0.1.254", "ping_X_L1")])
    raw = lab.probe("raw", "X", dst="02:de:ad:be:ef:01", host=False, wire=False,
                    extra={"L1": dict(ns=lab.ns_h, iface=l1, port=0)})
    out["raw"] = raw
    return out


# ---------------------------------------------------------------- mode changes, source mode


@case("T-MV-25", "runtime mode change", expect={
    # ping C->A (fails); set C mode bridge; second ping OK at once
    **ok("ping_1", False), **cmd("set_bridge", None), "C_mode": "bridge", **ok("ping_2"),
})
def t_mv_25(lab):
    lab.uppers_setup({"A": "bridge", "C": "vepa"})
    out = pings(lab, [("C", "10.0.0.1", "ping_1")])
    out["set_bridge"] = lab.backend.set(lab.uppers["C"].name, ["mode", "bridge"]).cell()
    out["C_mode"] = mvinfo(lab, lab.uppers["C"].name)["mode"]
    out.update(pings(lab, [("C", "10.0.0.1", "ping_2")]))
    return out


def _source_setup(lab):
    lab.uppers_setup({"A": "bridge", "B": "bridge", "C": "vepa", "D": "private"})
    r = lab.create("S", "source", args=["macaddr", "add", MAC_X])
    if not r.ok:
        raise LabError("creating S failed: %r" % r)
    lab.place("S")
    lab.settle()


@case("T-MV-26", "source mode receives by source MAC", expect={
    # X's broadcast: S 1 (plus A, B, C, D 1 each, lower host 1)
    **rxs("bc_X", 1, "S", "A", "B", "C", "D"), **host("bc_X", 1),
    # X->A unicast: A 1, S 1 copy marked other host (S's stack ignores it),
    # lower host stack 0
    **rx("uc_X_A", "A", 1), **frames("uc_X_A", "S", 1), "uc_X_A.S.pkttypes.otherhost": 1,
    "uc_X_A.S.stack": 0, **host("uc_X_A", 0),
    # A's broadcast: S 0
    **rx("bc_A", "S", 0),
})
def t_mv_26(lab):
    _source_setup(lab)
    r = lab.probes([{"kind": "bcast", "src": "X"}, {"kind": "ucast", "src": "X", "dst": "10.0.0.1"},
                    {"kind": "bcast", "src": "A"}])
    return dict(zip(("bc_X", "uc_X_A", "bc_A"), r))


@case("T-MV-27", "source mode with nodst", expect={
    **cmd("set_nodst", None),
    # X's broadcast: S 1, every other upper 0, lower host stack 0 [CONSUME]
    **rx("bc_X", "S", 1), **rxs("bc_X", 0, "A", "B", "C", "D"), **host("bc_X", 0),
    # X->A probe: A 0 (X is given A's MAC statically, see below)
    **rx("uc_X_A", "A", 0),
    # ping X->A fails; ping X->S OK
    **ok("ping_X_A", False), **ok("ping_X_S"),
})
def t_mv_27(lab):
    _source_setup(lab)
    out = {"set_nodst": lab.backend.set(lab.uppers["S"].name, ["mode", "source", "nodst"]).cell()}
    out.update(pings(lab, [("X", "10.0.0.1", "ping_X_A"), ("X", "10.0.0.19", "ping_X_S")]))
    # ARP from X is consumed by S too, so a probe to A's IP would never leave
    # X; give X A's MAC so that the unicast frame itself is tested.
    a = lab.uppers["A"]
    lab.ip(lab.ns_x, "neigh", "replace", a.ip4, "lladdr", a.mac, "dev", lab.x0, "nud", "permanent")
    r = lab.probes([{"kind": "bcast", "src": "X"}, {"kind": "ucast", "src": "X", "dst": a.ip4}])
    out["bc_X"], out["uc_X_A"] = r
    return out


@case("T-MV-28", "source list operations", expect={
    # EINVAL on the vepa upper; duplicates and absent deletes succeed;
    # remotes = {M3, M4} after set, empty after flush; leaving source mode
    # empties the list
    **cmd("vepa_add", "EINVAL"),
    **cmd("add_1", None), **cmd("add_2", None), "list_add": ["02:5e:00:00:02:01"],
    **cmd("del_absent", None), **cmd("set", None), "list_set": ["02:5e:00:00:02:03", "02:5e:00:00:02:04"],
    **cmd("flush", None), "list_flush": [],
    **cmd("add_3", None), **cmd("to_vepa", None), **cmd("to_source", None), "list_back": [],
})
def t_mv_28(lab):
    m, m2, m3, m4 = ("02:5e:00:00:02:%02x" % i for i in (1, 2, 3, 4))
    lab.uppers_setup({"C": "vepa", "S": "source"})
    c, s = lab.uppers["C"].name, lab.uppers["S"].name
    b = lab.backend
    out = {"vepa_add": b.set(c, ["macaddr", "add", m]).cell()}
    out["add_1"] = b.set(s, ["macaddr", "add", m]).cell()
    out["add_2"] = b.set(s, ["macaddr", "add", m]).cell()
    out["list_add"] = mvinfo(lab, s)["macaddr_data"]
    out["del_absent"] = b.set(s, ["macaddr", "del", m2]).cell()
    out["set"] = b.set(s, ["macaddr", "set", m3, m4]).cell()
    out["list_set"] = mvinfo(lab, s)["macaddr_data"]
    out["flush"] = b.set(s, ["macaddr", "flush"]).cell()
    out["list_flush"] = mvinfo(lab, s)["macaddr_data"]
    out["add_3"] = b.set(s, ["macaddr", "add", m]).cell()
    out["to_vepa"] = b.set(s, ["mode", "vepa"]).cell()
    out["to_source"] = b.set(s, ["mode", "source"]).cell()
    out["list_back"] = mvinfo(lab, s)["macaddr_data"]
    return out


@case("T-MV-29", "source-mode upper is not a flood target", expect={
    # S receives nothing; the unicast reaches the lower host taps only
    **rxs("bc_X", 0, "S"), **rxs("bc_A", 0, "S"), **rx("uc_X_S", "S", 0), **rx("uc_X_S", "A", 0),
    **frames("uc_X_S", "host", 1), **host("uc_X_S", 0),
})
def t_mv_29(lab):
    lab.uppers_setup({"S": "source", "A": "vepa"})
    lab.hairpin(True)
    s = lab.uppers["S"]
    lab.ip(lab.ns_x, "neigh", "replace", s.ip4, "lladdr", s.mac, "dev", lab.x0, "nud", "permanent")
    r = lab.probes([{"kind": "bcast", "src": "X"}, {"kind": "bcast", "src": "A"},
                    {"kind": "ucast", "src": "X", "dst": s.ip4}])
    return dict(zip(("bc_X", "bc_A", "uc_X_S"), r))


# ---------------------------------------------------------------- multicast, broadcast queue

GROUP = "239.1.1.1"
MC_PORT = 9998


@case("T-MV-30", "per-upper multicast filter", expect={
    # first: B 1, A 0, C 0; second: A 1 (frame level), B 1, C 0
    **rx("mc_1", "B", 1), **rxs("mc_1", 0, "A", "C"),
    **cmd("allmulti_A", None),
    **rx("mc_2", "B", 1), **frames("mc_2", "A", 1), "mc_2.A.stack": 0, **rx("mc_2", "C", 0),
})
def t_mv_30(lab):
    lab.uppers_setup({"A": "bridge", "B": "bridge", "C": "bridge"})
    join = {"B": [GROUP]}
    out = {"mc_1": lab.probe("mcast", "X", dst=GROUP, port=MC_PORT, join=join)}
    out["allmulti_A"] = lab.set_link("A", "allmulticast", "on").cell()
    out["mc_2"] = lab.probe("mcast", "X", dst=GROUP, port=MC_PORT, join=join)
    return out


@case("T-MV-31", "bcqueuelen 0 and the max rule", expect={
    # show A: bcqueuelen 0 usedbcqueuelen 0
    "show_1.bcqueuelen": 0, "show_1.usedbcqueuelen": 0,
    # no upper receives the broadcast or the multicast, lower host 1
    **rxs("bc_X", 0, "A", "B", "C"), **host("bc_X", 1), **rxs("mc_X", 0, "A", "B", "C"),
    # afterwards A shows usedbcqueuelen 5000
    **cmd("set_B_5000", None), "show_2.bcqueuelen": 0, "show_2.usedbcqueuelen": 5000,
})
def t_mv_31(lab):
    lab.uppers_setup({"A": "bridge", "B": "bridge", "C": "bridge"})
    out = {}
    for letter in "ABC":
        out["set_%s_0" % letter] = lab.backend.set(lab.uppers[letter].name, ["bcqueuelen", "0"]).cell()
    a = lab.uppers["A"].name
    out["show_1"] = mvinfo(lab, a)
    out["bc_X"] = lab.probe("bcast", "X")
    out["mc_X"] = lab.probe("mcast", "X", dst=GROUP, port=MC_PORT, join={"B": [GROUP], "C": [GROUP]})
    out["set_B_5000"] = lab.backend.set(lab.uppers["B"].name, ["bcqueuelen", "5000"]).cell()
    out["show_2"] = mvinfo(lab, a)
    return out


# ---------------------------------------------------------------- MTU, lower events, eligibility


@case("T-MV-34", "MTU rules", expect={
    # EINVAL; EINVAL; A becomes 1400; A stays 1400
    **cmd("add_mtu_9000", "EINVAL"), **cmd("A_mtu_1600", "EINVAL"), "A_mtu_after_1600": 1500,
    "A_mtu_plain_ip": 1500,
    **cmd("eth0_1400", None), "A_mtu_low": 1400, **cmd("eth0_1500", None), "A_mtu_high": 1400,
})
def t_mv_34(lab):
    lab.uppers_setup({"A": "bridge"})
    a = lab.uppers["A"].name
    out = {"add_mtu_9000": lab.create("Z", "bridge", generic=["mtu", "9000"]).cell()}
    out["A_mtu_1600"] = lab.set_link("A", "mtu", "1600").cell()
    lab.ip_set_link("A", "mtu", "1600")  # plain ip: refused by the kernel, undone by subnic
    out["A_mtu_plain_ip"] = lab.state("A")["mtu"]
    out["A_mtu_after_1600"] = lab.link(a)["mtu"]
    out["eth0_1400"] = lab.set_link(lab.eth0, "mtu", "1400").cell()
    out["A_mtu_low"] = wait_until(lambda: lab.link(a)["mtu"], lambda v: v == 1400, 3)
    out["eth0_1500"] = lab.set_link(lab.eth0, "mtu", "1500").cell()
    out["A_mtu_high"] = lab.link(a)["mtu"]
    return out


@case("T-MV-35", "lower down and up", expect={
    # A shows NO-CARRIER, still admin UP; ping fails; after up, A has
    # carrier and ping OK
    "A_down.admin_up": True, "A_down.no_carrier": True, "A_down.oper_up": False,
    **ok("ping_down", False),
    "A_up.admin_up": True, "A_up.no_carrier": False, "A_up.oper_up": True, **ok("ping_up"),
})
def t_mv_35(lab):
    lab.uppers_setup({"A": "bridge", "B": "bridge"})
    out = {"eth0_down": lab.set_link(lab.eth0, "down").cell()}
    out["A_down"] = wait_until(lambda: lab.state("A"), lambda s: s["no_carrier"], 3)
    out.update(pings(lab, [("A", "10.0.0.2", "ping_down")]))
    out["eth0_up"] = lab.set_link(lab.eth0, "up").cell()
    out["A_up"] = wait_until(lambda: lab.state("A"), lambda s: s["oper_up"], 3)
    out.update(pings(lab, [("A", "10.0.0.2", "ping_up")]))
    return out


@case("T-MV-36", "lower deleted", expect={
    # U no longer exists in ns e (here: its own ns u)
    **cmd("add_U", None), "U_before": True, **cmd("del_L9", None), "U_after": False,
})
def t_mv_36(lab):
    l9 = lab.add_lower("l9", attach=False)
    out = {"add_U": lab.create("U", "bridge", lower=l9).cell()}
    lab.place("U")
    lab.settle()
    name = lab.uppers["U"].name
    out["U_before"] = lab.link(name) is not None
    out["del_L9"] = lab.ip(lab.ns_h, "link", "del", l9, check=False).cell()
    out["U_after"] = wait_until(lambda: lab.link(name) is not None, lambda v: not v, 3)
    return out


@case("T-MV-37", "lower eligibility and stacking", expect={
    # EINVAL; EBUSY; the new upper's link is eth0, not A
    **cmd("on_lo", "EINVAL"), **cmd("on_bridge_port", "EBUSY"), **cmd("on_A", None), "V_link": "eth0",
})
def t_mv_37(lab):
    # A stays in ns h so that `link A` names it there.
    r = lab.create("A", "bridge")
    if not r.ok:
        raise LabError("creating A failed: %r" % r)
    br, p0, p1 = lab.prefix + "br", lab.prefix + "bp0", lab.prefix + "bp1"
    h = lab.ns_h
    lab.ip(h, "link", "add", br, "type", "bridge", "stp_state", "0")
    lab.ip(h, "link", "add", p0, "type", "veth", "peer", "name", p1)
    lab.ip(h, "link", "set", p0, "master", br)
    out = {"on_lo": lab.create("L", "bridge", lower="lo").cell(),
           "on_bridge_port": lab.create("W", "bridge", lower=p0).cell(),
           "on_A": lab.create("V", "bridge", lower=lab.uppers["A"].name).cell()}
    v = lab.backend.show(lab.upper_name("V")) if out["on_A"]["rc"] == 0 else None
    lk = (v or {}).get("link")
    out["V_link"] = "eth0" if lk == lab.eth0 else lk
    return out


@case("T-MV-38", "promisc upper still filters by MAC", expect={
    # B 0 frames; eth0 promiscuity increased by one while B is promisc and up
    **cmd("promisc_B", None), **rx("uc_X_A", "A", 1), **frames("uc_X_A", "B", 0), "eth0_promisc_delta": 1,
})
def t_mv_38(lab):
    lab.uppers_setup({"A": "bridge", "B": "bridge"})
    before = promiscuity(lab, lab.eth0)
    out = {"promisc_B": lab.set_link("B", "promisc", "on").cell()}
    out["eth0_promisc_delta"] = wait_until(lambda: promiscuity(lab, lab.eth0) - before, lambda d: d == 1, 3)
    out["uc_X_A"] = lab.probe("ucast", "X", dst="10.0.0.1")
    return out


@case("T-MV-39", "default mode is vepa", expect={
    **cmd("add", None), "show.kind": "macvlan", "show.mode": "vepa",
})
def t_mv_39(lab):
    out = {"add": lab.create("A", None).cell()}
    info = mvinfo(lab, lab.uppers["A"].name) if "A" in lab.uppers else {}
    out["show"] = {"kind": info.get("kind"), "mode": info.get("mode")}
    return out


@case("T-MV-40", "MAC-control frames are never distributed", expect={
    # (a) no upper; (b) every UP non-source upper 1; (c) no upper (not in any
    # upper's mc filter). eth0 taps see all three.
    **{"a.%s.frames" % u: 0 for u in "ACDSF"},
    **{"b.%s.frames" % u: 1 for u in "ACD"}, "b.S.frames": 0, "b.F.frames": 0,
    **{"c.%s.frames" % u: 0 for u in "ACDSF"},
    "a.host.frames": 1, "b.host.frames": 1, "c.host.frames": 1,
})
def t_mv_40(lab):
    lab.uppers_setup({"A": "bridge", "C": "vepa", "D": "private", "S": "source", "F": "vepa"}, down=("F",))
    r = lab.probes([{"kind": "raw", "src": "wire", "dst": "ff:ff:ff:ff:ff:ff", "ethertype": 0x8808},
                    {"kind": "raw", "src": "wire", "dst": "ff:ff:ff:ff:ff:ff", "ethertype": 0x88B5},
                    {"kind": "raw", "src": "wire", "dst": "01:80:c2:00:00:01", "ethertype": 0x88B5}],
                   wire=False)
    return dict(zip("abc", r))


@case("T-MV-42", "lower goes promiscuous on a veth", expect={
    # 0, 1, 0
    **cmd("add_U", None), "promisc_added": 0, "promisc_up": 1, "promisc_down": 0,
})
def t_mv_42(lab):
    l1 = lab.add_lower("l1", attach=False, mac=M1)
    out = {"add_U": lab.create("U", "bridge", lower=l1).cell()}
    lab.place("U", up=False)
    lab.settle()
    out["promisc_added"] = promiscuity(lab, l1)
    lab.set_link("U", "up")
    out["promisc_up"] = wait_until(lambda: promiscuity(lab, l1), lambda v: v == 1, 3)
    lab.set_link("U", "down")
    out["promisc_down"] = wait_until(lambda: promiscuity(lab, l1), lambda v: v == 0, 3)
    return out


# ---------------------------------------------------------------- traffic


@case("TRAFFIC-01", "IPv6, TCP with checksums, IP fragments through bridge, vepa and hairpin",
      expect={
    # issue 2: real pings (IPv4 and IPv6), a TCP transfer whose checksum is compared, IP
    # fragments. A, B bridge (local path, TAP to TAP), C vepa (through the hairpin switch),
    # X outside (through the lower).
    **ok("ping6_A_B"), **ok("ping6_X_A"), **ok("ping6_C_A"),
    **ok("tcp_A_B"), **ok("tcp_X_A"), **ok("tcp_C_B"), **ok("tcp6_B_A"),
    **ok("frag_A_B"), **ok("frag_X_C"), **ok("frag6_A_B"),
})
def traffic_01(lab):
    lab.uppers_setup({"A": "bridge", "B": "bridge", "C": "vepa"})
    lab.hairpin(True)
    lab.backend.settle_mcast()  # the uppers' solicited-node groups, for neighbour discovery
    a, b, c = (lab.uppers[k] for k in "ABC")
    out = {
        "ping6_A_B": lab.ping(a.ns, b.ip6),
        "ping6_X_A": lab.ping(lab.ns_x, a.ip6),
        "ping6_C_A": lab.ping(c.ns, a.ip6),
        "tcp_A_B": lab.tcp_transfer(a.ns, b.ns, b.ip4),
        "tcp_X_A": lab.tcp_transfer(lab.ns_x, a.ns, a.ip4),
        "tcp_C_B": lab.tcp_transfer(c.ns, b.ns, b.ip4),
        "tcp6_B_A": lab.tcp_transfer(b.ns, a.ns, a.ip6),
        "frag_A_B": lab.ping_size(a.ns, b.ip4, 4000),
        "frag_X_C": lab.ping_size(lab.ns_x, c.ip4, 4000),
        "frag6_A_B": lab.ping_size(a.ns, b.ip6, 4000),
    }
    return out
