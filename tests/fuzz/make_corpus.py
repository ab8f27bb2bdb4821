#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/ (seed-*.bin).

Frames are built by hand: Ethernet, 802.1Q/802.1ad, ARP, IPv4, IPv6, UDP, TCP, ICMPv6, DHCP,
STP BPDUs, PAUSE, with the MACs and addresses of the targets' pools (fuzz_input.hpp): lower
02:00:00:00:00:00, uppers 02:00:00:00:00:0k, groups 01:00:5e:00:00:0k, 10.0.0.k, fd00::k.
Control lines follow docs/PROTOCOL.md, CLI words README.md. Files named repro-* (minimised
inputs of bugs the fuzzers found) are kept. Run: python3 tests/fuzz/make_corpus.py
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def mac(k):
    return bytes([2, 0, 0, 0, 0, k])


def mcast(k):
    return bytes([1, 0, 0x5E, 0, 0, k])


BCAST = b"\xff" * 6
STP = bytes([1, 0x80, 0xC2, 0, 0, 0])
PAUSE = bytes([1, 0x80, 0xC2, 0, 0, 1])
LLDP = bytes([1, 0x80, 0xC2, 0, 0, 0x0E])


def ip4(k):
    return bytes([10, 0, 0, k])


def ip6(k):
    return bytes([0xFD] + [0] * 14 + [k])


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth(dst, src, etype, payload, tags=()):
    h = dst + src
    for tpid, tci in tags:
        h += struct.pack("!HH", tpid, tci)
    return h + struct.pack("!H", etype) + payload


def ipv4(src, dst, proto, payload, ident=1, frag=0x4000, options=b""):
    ihl = 5 + len(options) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(payload), ident, frag, 64,
                    proto, 0, src, dst) + options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, nh, payload, hop=64):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, hop, src, dst) + payload


def pseudo4(src, dst, proto, n):
    return src + dst + struct.pack("!BBH", 0, proto, n)


def pseudo6(src, dst, proto, n):
    return src + dst + struct.pack("!IxxxB", n, proto)


def udp(sport, dport, payload, pseudo=None):
    u = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if pseudo:
        c = csum(pseudo(17, len(u)) + u) or 0xFFFF
        u = u[:6] + struct.pack("!H", c) + u[8:]
    return u


def tcp(sport, dport, seq, payload, flags=0x18, pseudo=None, checksum=True):
    t = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload
    if pseudo and checksum:
        t = t[:16] + struct.pack("!H", csum(pseudo(6, len(t)) + t)) + t[18:]
    return t


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa


def dhcp(op, xid, chaddr, msgtype, client_id=None):
    b = struct.pack("!BBBBIHH4s4s4s4s", op, 1, 6, 0, xid, 0, 0x8000, b"\0" * 4,
                    ip4(9) if op == 2 else b"\0" * 4, b"\0" * 4, b"\0" * 4)
    b += chaddr + b"\0" * 10 + b"\0" * 192 + bytes([99, 130, 83, 99])
    b += bytes([53, 1, msgtype])
    if client_id is not None:
        b += bytes([61, len(client_id)]) + client_id
    return b + bytes([255])


def dhcp_frame(op, xid, client, msgtype, client_id=None, src=None, dst=None):
    if op == 1:
        u = udp(68, 67, dhcp(1, xid, client, msgtype, client_id))
        return eth(BCAST, src or client, 0x0800, ipv4(b"\0" * 4, b"\xff" * 4, 17, u, frag=0))
    u = udp(67, 68, dhcp(2, xid, client, msgtype, client_id))
    return eth(dst or BCAST, mac(7), 0x0800, ipv4(ip4(9), b"\xff" * 4, 17, u, frag=0))


def icmp6_ns(src, target, dst):
    body = struct.pack("!BBHI16s", 135, 0, 0, 0, target)
    c = csum(pseudo6(src, dst, 58, len(body)) + body)
    body = body[:2] + struct.pack("!H", c) + body[4:]
    return ipv6(src, dst, 58, body, hop=255)


def bpdu_config(src, root_prio=0x8000, root=mac(7), cost=0, bridge=mac(7), port=0x8001, flags=0):
    b = struct.pack("!HBBB", 0, 0, 0, flags)
    b += struct.pack("!H6sI", root_prio, root, cost) + struct.pack("!H6s", 0x8000, bridge)
    b += struct.pack("!HHHHH", port, 0, 20 * 256, 2 * 256, 15 * 256)
    llc = bytes([0x42, 0x42, 0x03]) + b
    return STP + src + struct.pack("!H", len(llc)) + llc


def bpdu_tcn(src):
    llc = bytes([0x42, 0x42, 0x03, 0, 0, 0, 0x80])
    return STP + src + struct.pack("!H", len(llc)) + llc


def pad(f, n=60):
    return f + b"\0" * max(0, n - len(f))


def frames():
    """(name, frame) of every kind the targets see."""
    p4 = lambda s, d: (lambda proto, n: pseudo4(s, d, proto, n))  # noqa: E731
    p6 = lambda s, d: (lambda proto, n: pseudo6(s, d, proto, n))  # noqa: E731
    f = []
    f.append(("bcast-arp-req", pad(eth(BCAST, mac(1), 0x0806,
                                       arp(1, mac(1), ip4(1), b"\0" * 6, ip4(2))))))
    f.append(("arp-reply", pad(eth(mac(1), mac(2), 0x0806, arp(2, mac(2), ip4(2), mac(1),
                                                                 ip4(1))))))
    f.append(("arp-from-lower", pad(eth(BCAST, mac(0), 0x0806,
                                        arp(1, mac(0), ip4(1), b"\0" * 6, ip4(3))))))
    f.append(("ipv4-udp-unicast", eth(mac(2), mac(1), 0x0800,
                                      ipv4(ip4(1), ip4(2), 17, udp(1000, 2000, b"hello",
                                                                    p4(ip4(1), ip4(2)))))))
    f.append(("ipv4-udp-to-lower", eth(mac(0), mac(5), 0x0800,
                                       ipv4(ip4(5), ip4(1), 17, udp(1000, 2000, b"x" * 20,
                                                                     p4(ip4(5), ip4(1)))))))
    f.append(("ipv4-tcp", eth(mac(0), mac(1), 0x0800,
                              ipv4(ip4(1), ip4(2), 6, tcp(1, 2, 100, b"data" * 8,
                                                          pseudo=p4(ip4(1), ip4(2)))))))
    f.append(("ipv4-options", eth(mac(0), mac(1), 0x0800,
                                  ipv4(ip4(1), ip4(2), 17, udp(7, 7, b"opt"),
                                       options=b"\x94\x04\0\0"))))
    f.append(("ipv4-fragment", eth(mac(0), mac(1), 0x0800,
                                   ipv4(ip4(1), ip4(2), 17, b"\0" * 16, frag=0x2001))))
    f.append(("ipv4-multicast", pad(eth(mcast(1), mac(1), 0x0800,
                                        ipv4(ip4(1), bytes([224, 0, 0, 1]), 17,
                                             udp(5353, 5353, b"mdns"))))))
    f.append(("ipv4-bcast", pad(eth(BCAST, mac(3), 0x0800, ipv4(ip4(3), b"\xff" * 4, 17,
                                                                   udp(9, 9, b""))))))
    f.append(("ipv4-truncated", eth(mac(2), mac(1), 0x0800, ipv4(ip4(1), ip4(2), 17,
                                                                  udp(1, 2, b"abc"))[:30])))
    f.append(("ipv6-udp", eth(mac(2), mac(1), 0x86DD,
                              ipv6(ip6(1), ip6(2), 17, udp(1, 2, b"six", p6(ip6(1), ip6(2)))))))
    f.append(("ipv6-tcp", eth(mac(0), mac(1), 0x86DD,
                              ipv6(ip6(1), ip6(2), 6, tcp(1, 2, 5, b"t" * 40,
                                                          pseudo=p6(ip6(1), ip6(2)))))))
    f.append(("ipv6-ns-dad", eth(bytes([0x33, 0x33, 0xFF, 0, 0, 2]), mac(1), 0x86DD,
                                 icmp6_ns(b"\0" * 16, ip6(2),
                                          bytes([0xFF, 2] + [0] * 11 + [1, 0xFF, 0, 0, 2]))
                                 [:-8] + b"\0" * 8)))
    f.append(("ipv6-ns", eth(bytes([0x33, 0x33, 0xFF, 0, 0, 2]), mac(1), 0x86DD,
                             icmp6_ns(ip6(1), ip6(2),
                                      bytes([0xFF, 2] + [0] * 11 + [1, 0xFF, 0, 0, 2])))))
    f.append(("ipv6-hopbyhop", eth(mac(2), mac(1), 0x86DD,
                                   ipv6(ip6(1), ip6(2), 0, bytes([17, 0, 1, 4, 0, 0, 0, 0]) +
                                        udp(1, 2, b"hbh")))))
    f.append(("vlan10-ipv4", eth(mac(2), mac(1), 0x0800,
                                 ipv4(ip4(1), ip4(2), 17, udp(1, 2, b"tagged")),
                                 tags=[(0x8100, 10)])))
    f.append(("vlan3-arp", pad(eth(BCAST, mac(1), 0x0806,
                                   arp(1, mac(1), ip4(1), b"\0" * 6, ip4(2)),
                                   tags=[(0x8100, 0x2003)]))))
    f.append(("qinq-2-5", pad(eth(mac(2), mac(1), 0x0800, ipv4(ip4(1), ip4(2), 17, udp(1, 2, b"")),
                                  tags=[(0x88A8, 2), (0x8100, 5)]))))
    f.append(("prio-tag", pad(eth(mac(2), mac(1), 0x0800, ipv4(ip4(1), ip4(2), 17, udp(1, 2, b"")),
                                  tags=[(0x8100, 0xA000)]))))
    f.append(("vlan-truncated", eth(mac(2), mac(1), 0x8100, b"\0\x01")))
    f.append(("runt", mac(2) + mac(1)))
    f.append(("pause", pad(eth(PAUSE, mac(3), 0x8808, struct.pack("!HH", 1, 0xFFFF)))))
    f.append(("lldp", pad(eth(LLDP, mac(3), 0x88CC, b"\x02\x07\x04" + mac(3)))))
    f.append(("bpdu-config", bpdu_config(mac(7))))
    f.append(("bpdu-config-better-root", bpdu_config(mac(6), root_prio=0x1000, root=mac(6),
                                                     bridge=mac(6), flags=0x01)))
    f.append(("bpdu-tcn", pad(bpdu_tcn(mac(7)))))
    f.append(("dhcp-discover", dhcp_frame(1, 0x1234, mac(0), 1, b"\x01" + mac(1))))
    f.append(("dhcp-offer", dhcp_frame(2, 0x1234, mac(0), 2, b"\x01" + mac(1))))
    f.append(("dhcp-request-noid", dhcp_frame(1, 0x5678, mac(0), 3)))
    f.append(("dhcp-ack-unicast", dhcp_frame(2, 0x5678, mac(0), 5, dst=mac(0))))
    f.append(("multicast-other", pad(eth(mcast(2), mac(4), 0x88B5, b"mc"))))
    f.append(("experimental", pad(eth(mac(3), mac(4), 0x88B5, b"marker"))))
    f.append(("src-multicast", pad(eth(mac(3), mcast(1), 0x88B5, b"bad src"))))
    return f


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as fh:
        fh.write(data)


def chunk(frame):
    return struct.pack("!H", len(frame)) + frame


def clear(target):
    d = os.path.join(OUT, target)
    if os.path.isdir(d):
        for n in os.listdir(d):
            if n.startswith("seed-"):
                os.remove(os.path.join(d, n))


def main():
    fr = dict(frames())
    for t in ("frame", "macvlan", "ipvlan", "bridge", "vlan", "gso", "ctl", "cli"):
        clear(t)

    for name, f in fr.items():
        write("frame", name, f)

    # macvlan: [lower] [n] n x [mode, ops, mac|open, rx] [changes] then [how] [len] [frame].
    # mode: 0 private 1 vepa 2 bridge 3 passthru 4 source; c: 0x80 open, low nibble the MAC.
    macvlan_cfgs = {
        "bridge3": bytes([0x03, 3, 2, 0, 0x81, 0x04, 2, 0, 0x82, 0, 1, 0, 0x83, 0x08, 0]),
        "vepa-private": bytes([0x03, 2, 1, 0, 0x81, 0, 0, 0, 0x82, 0x03, 0]),
        "passthru": bytes([0x03, 1, 3, 0, 0x81, 0, 0]),
        "source": bytes([0x03, 2, 4, 0x05 | (3 << 2), 0x84, 0, 2, 0, 0x82, 0, 0]),
        "source-nodst": bytes([0x03, 1, 0x54, 0x09, 0x84, 0, 0]),
        "bclim-promisc": bytes([0x0F, 3, 0x82, 0x2C, 0x81, 0x05, 1, 0, 0x82, 0x04, 1, 0, 0x83,
                                0x04, 0]),
        "changes": bytes([0x03, 2, 2, 0, 0x81, 0, 2, 0, 0x82, 0, 4, 0x01, 0x03, 0, 0x09, 1, 0,
                          0x06, 0x01, 0x03]),
    }
    sets = {
        "rx": [(0, "bcast-arp-req"), (0, "ipv4-udp-unicast"), (0, "multicast-other"),
               (0, "dhcp-offer"), (0, "ipv4-udp-to-lower"), (0, "runt")],
        "tx": [(1, "ipv4-udp-unicast"), (1 | 4, "bcast-arp-req"), (1, "multicast-other"),
               (3, "ipv4-tcp"), (1 | 8, "experimental"), (1, "pause")],
        "reflect": [(0, "arp-from-lower"), (0, "bcast-arp-req"), (1 | 4, "ipv6-ns")],
    }
    for cname, cfg in macvlan_cfgs.items():
        for sname, evs in sets.items():
            write("macvlan", cname + "-" + sname,
                  cfg + b"".join(bytes([h]) + chunk(fr[n]) for h, n in evs))

    # ipvlan: [port: mode|flags] [n] n x [addr bits, family, open|mtu|change, rx] [changes] then
    # [how] [len] [frame]. port byte: bits 0-1 mode (l2 l3 l3s), 0x08 flags present, 0x10
    # private, 0x20 vepa.
    ipvlan_cfgs = {
        "l2": bytes([0x00, 3, 0x02, 0, 0x90, 0, 0x04, 0, 0x90, 0, 0x04, 0x08, 0x90, 0x01]),
        "l3": bytes([0x01, 2, 0x02, 0, 0x90, 0, 0x04, 0x88, 0x90, 0]),
        "l3s": bytes([0x02, 2, 0x02, 0x08, 0x90, 0, 0x06, 0, 0x90, 0]),
        "l3-private": bytes([0x19, 2, 0x02, 0, 0x90, 0, 0x04, 0, 0x90, 0]),
        "l2-vepa": bytes([0x28, 2, 0x02, 0, 0x90, 0, 0x04, 0, 0x90, 0]),
        "l2-conflicts": bytes([0x00, 3, 0x06, 0, 0x90, 0, 0x06, 0, 0x90, 0, 0x02, 0, 0x10, 0,
                               3, 0x01, 0, 0, 0x09, 0, 0, 0x0F, 0x02, 0x00]),
    }
    isets = {
        "rx": [(0, "ipv4-udp-unicast"), (0, "bcast-arp-req"), (0, "ipv6-udp"), (0, "ipv6-ns-dad"),
               (0, "multicast-other"), (0, "arp-from-lower"), (0, "ipv4-udp-to-lower")],
        "tx": [(1, "ipv4-udp-unicast"), (1 | 8, "ipv6-udp"), (1, "bcast-arp-req"),
               (1, "ipv4-bcast"), (1, "pause"), (1, "ipv4-multicast"), (1, "experimental")],
        "dhcp": [(1, "dhcp-discover"), (4, "dhcp-offer"), (1 | 8, "dhcp-request-noid"),
                 (4, "dhcp-ack-unicast"), (4 | 0x40, "dhcp-offer")],
    }
    for cname, cfg in ipvlan_cfgs.items():
        for sname, evs in isets.items():
            write("ipvlan", cname + "-" + sname,
                  cfg + b"".join(bytes([h]) + chunk(fr[n]) for h, n in evs))

    # bridge: [cfg] [times] [n] n x [flags, priority] then [event] [time] [payload].
    # cfg 0x01: STP on; times 0x1e: forward delay 15 s, hello 2 s. Events: low nibble the kind
    # (0-2 rx, 3 tx, 4 BPDU, 5-6 tick, 7 carrier, 8 state, 9 port config, 10 bridge config,
    # 11 remove, 12 add, 13 up/down, 14 port MAC, 15 bridge MAC), high nibble the port.
    def rx(port, name, dt=1):
        return bytes([port << 4, dt]) + chunk(fr[name])

    def tx(name, dt=1):
        return bytes([3, dt]) + chunk(fr[name])

    def bpdu(port, name, dt=1):
        return bytes([(port << 4) | 4, dt]) + chunk(fr[name])

    learn = (rx(0, "experimental") + rx(1, "arp-reply") + rx(2, "ipv4-udp-unicast") +
             rx(1, "ipv4-udp-unicast") + tx("bcast-arp-req") + tx("ipv4-udp-unicast") +
             rx(0, "lldp") + rx(0, "pause") + rx(2, "src-multicast") + rx(1, "multicast-other"))
    stp = (bpdu(1, "bpdu-config") + bytes([5, 20]) + bpdu(2, "bpdu-config-better-root") +
           bytes([6, 100]) + bpdu(0, "bpdu-tcn") + bytes([5, 150]) + rx(0, "bpdu-config"))
    bridge_cfgs = {"nostp": bytes([0x00, 0x1E, 3, 0, 32, 0, 32, 0x01, 32]),
                   "stp": bytes([0x01, 0x1E, 3, 0, 32, 0, 32, 0, 16]),
                   "stp-limited": bytes([0x45, 0x11, 4, 0, 32, 0x20, 32, 0x20, 32, 0x02, 32])}
    ops = (bytes([0x17, 5]) + bytes([0x08, 0, 4]) + bytes([0x19, 0, 0x01, 32]) +
           bytes([0x0A, 0, 0x01, 0x1E]) + bytes([0x2B, 3]) + bytes([0x5C, 1]) + bytes([0x1D, 0]) +
           bytes([0x0D, 0]) + bytes([0x3E, 0, 5]) + bytes([0x4F, 0]))
    for cname, cfg in bridge_cfgs.items():
        write("bridge", cname + "-learn", cfg + learn)
        write("bridge", cname + "-stp", cfg + stp + bytes([5, 255]) * 3 + learn)
        write("bridge", cname + "-ops", cfg + stp + ops + learn)
    for n in ("experimental", "ipv4-udp-unicast", "bcast-arp-req", "lldp", "pause", "bpdu-config",
              "bpdu-tcn", "multicast-other", "src-multicast", "runt"):
        write("bridge", "nostp-rx-" + n, bridge_cfgs["nostp"] + rx(1, n) + tx(n))

    # vlan: [lower] [n] n x [vid|ad, flags, open|mtu|mac] then [len] [frame].
    vlan_cfgs = {"q2-q5-ad2": bytes([0x01, 3, 0x02, 0x01, 0x08, 0x05, 0x01, 0x08, 0x82, 0x01, 0x08]),
                 "prio0-down": bytes([0x00, 2, 0x00, 0x01, 0x08, 0x03, 0x05, 0x0D]),
                 "edges": bytes([0x01, 3, 0x40, 0x01, 0x08, 0x41, 0x01, 0x08, 0x03, 0x3F, 0x0B])}
    vframes = ["vlan10-ipv4", "vlan3-arp", "qinq-2-5", "prio-tag", "vlan-truncated", "runt",
               "ipv4-udp-unicast", "bpdu-config"]
    for cname, cfg in vlan_cfgs.items():
        write("vlan", cname, cfg + b"".join(chunk(fr[n]) for n in vframes))
        for n in vframes:
            write("vlan", cname + "-" + n, cfg + chunk(fr[n]))

    # gso: [offloads] [virtio_net_hdr, host (little-endian) order] [frame].
    def vnet(flags, gso_type, hdr_len, gso_size, cs_start, cs_off):
        return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size, cs_start, cs_off)

    s4, d4 = ip4(1), ip4(2)
    s6, d6 = ip6(1), ip6(2)
    payload = bytes(range(256)) * 4
    # Partial checksums hold the pseudo-header sum, as the kernel leaves them.
    t4 = tcp(1, 2, 1000, payload, flags=0x19, checksum=False)
    ps4 = 0xFFFF - csum(pseudo4(s4, d4, 6, len(t4)))
    t4 = t4[:16] + struct.pack("!H", ps4) + t4[18:]
    tso4 = eth(mac(2), mac(1), 0x0800, ipv4(s4, d4, 6, t4))
    t6 = tcp(1, 2, 1000, payload, checksum=False)
    tso6 = eth(mac(2), mac(1), 0x86DD, ipv6(s6, d6, 6, t6))
    u4 = udp(5, 6, payload)
    ufo4 = eth(mac(2), mac(1), 0x0800, ipv4(s4, d4, 17, u4, frag=0))
    ufo6 = eth(mac(2), mac(1), 0x86DD, ipv6(s6, d6, 17, udp(5, 6, payload)))
    tso4_vlan = eth(mac(2), mac(1), 0x0800, ipv4(s4, d4, 6, tcp(1, 2, 7, payload[:300])),
                    tags=[(0x8100, 10)])
    l4 = 14 + 20
    gso = {
        "tso4-to-plain": bytes([0x00]) + vnet(1, 1, l4 + 20, 200, l4, 16) + tso4,
        "tso4-to-csum": bytes([0x01]) + vnet(1, 1, l4 + 20, 200, l4, 16) + tso4,
        "tso4-fits": bytes([0x03]) + vnet(1, 1, l4 + 20, 200, l4, 16) + tso4,
        "tso4-ecn": bytes([0x03]) + vnet(1, 0x81, l4 + 20, 200, l4, 16) + tso4,
        "tso4-nocsum": bytes([0x00]) + vnet(0, 1, l4 + 20, 512, 0, 0) + tso4,
        "tso6": bytes([0x00]) + vnet(1, 4, 14 + 40 + 20, 300, 14 + 40, 16) + tso6,
        "tso6-csum": bytes([0x01]) + vnet(0, 4, 14 + 40 + 20, 100, 0, 0) + tso6,
        "ufo4": bytes([0x00]) + vnet(1, 3, l4 + 8, 200, l4, 6) + ufo4,
        "ufo6": bytes([0x01]) + vnet(0, 3, 14 + 40 + 8, 496, 0, 0) + ufo6,
        "uso4": bytes([0x00]) + vnet(1, 5, l4 + 8, 100, l4, 6) + ufo4,
        "csum-only": bytes([0x00]) + vnet(1, 0, 0, 0, l4, 16) + tso4,
        "plain": bytes([0x1F]) + vnet(0, 0, 0, 0, 0, 0) + fr["ipv4-udp-unicast"],
        "tso4-vlan": bytes([0x00]) + vnet(0, 1, 18 + 20 + 20, 100, 0, 0) + tso4_vlan,
        "tso4-stop-early": bytes([0x80]) + vnet(0, 1, l4 + 20, 100, 0, 0) + tso4,
        "ipv4-options": bytes([0x00]) + vnet(0, 5, 0, 8, 0, 0) + fr["ipv4-options"],
        "hopbyhop": bytes([0x00]) + vnet(0, 3, 0, 8, 0, 0) + fr["ipv6-hopbyhop"],
    }
    for name, data in gso.items():
        write("gso", name, data)

    # ctl: [max line - 16] [piece - 1] then request lines (docs/PROTOCOL.md).
    reqs = [
        {"id": 1, "method": "link.add", "params": {"name": "mv1", "link": "eth0",
                                                  "type": "macvlan",
                                                  "info_data": {"mode": "bridge"}}},
        {"id": 2, "method": "link.add", "params": {
            "name": "mv4", "link": "eth0", "type": "macvlan", "address": "02:00:00:00:00:02",
            "mtu": 1400, "info_data": {"mode": "source", "flags": ["nodst"],
                                       "macaddr": {"op": "add", "addrs": ["02:00:00:00:00:99"]},
                                       "bcqueuelen": 2000, "bclim": 4}}},
        {"id": "a", "method": "link.add", "params": {"name": "ipvl0", "link": "eth0",
                                                    "type": "ipvlan",
                                                    "info_data": {"mode": "l2",
                                                                  "flags": "private"}}},
        {"id": 3, "method": "link.add", "params": {"name": "eth2.10", "link": "eth2",
                                                  "type": "vlan",
                                                  "info_data": {"id": 10,
                                                                "protocol": "802.1Q"}}},
        {"id": 4, "method": "link.add", "params": {"name": "veth01", "type": "veth",
                                                  "info_data": {"peer": {"name": "veth10"}}}},
        {"id": 5, "method": "link.add", "params": {"name": "br0", "type": "bridge",
                                                  "info_data": {"stp_state": 1,
                                                                "forward_delay": 400}}},
        {"id": None, "method": "link.set", "params": {"name": "mv1", "up": True, "mtu": 1400,
                                                     "address": "02:00:00:00:00:11"}},
        {"id": 6, "method": "link.set", "params": {"name": "eth1", "master": "br0"}},
        {"id": 7, "method": "link.set", "params": {
            "name": "eth1", "type": "bridge_slave",
            "info_slave_data": {"state": 3, "priority": 32, "cost": 100, "hairpin": True}}},
        {"id": 8, "method": "link.del", "params": {"name": "mv1", "netns": "c1"}},
        {"id": 9, "method": "link.show", "params": {"stats": True, "details": True}},
        {"id": 10, "method": "fdb.show", "params": {"br": "br0", "dev": "eth1", "stats": True}},
        {"id": 11, "method": "ping", "params": {}},
    ]
    lines = [json.dumps(r, separators=(",", ":")).encode() for r in reqs]
    for i, line in enumerate(lines):
        write("ctl", "req-%02d" % i, bytes([0xFF, 0xFF]) + line + b"\n")
    write("ctl", "all-small-pieces", bytes([0xFF, 6]) + b"\n".join(lines) + b"\n")
    write("ctl", "overlong", bytes([0x10, 0x40]) + lines[1] + b"\n" + lines[0] + b"\n")
    write("ctl", "malformed", bytes([0xFF, 0xFF]) +
          b'{"id":1}\n[1,2]\n{"method":"x","params":[]}\n{"id":1.5,"method":"x","params":{}}\n'
          b'not json\n{"id":1,"method":"","params":{}}\r\n')
    write("ctl", "unicode", bytes([0xFF, 0xFF]) +
          '{"id":"\u00e9","method":"link.set","params":{"name":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"}}\n'.encode())

    # cli: argv words separated by NUL (README.md's commands, without "subnic").
    cmds = [
        "link add mv1 link eth0 type macvlan mode bridge",
        "link add link eth0 name mv2 address 02:00:00:00:00:02 mtu 1400 type macvlan mode private",
        "link add mv3 link eth0 type macvlan mode passthru nopromisc",
        "link add mv4 link eth0 type macvlan mode source macaddr add 02:00:00:00:00:99",
        "link add mv5 link eth0 type macvlan mode vepa bcqueuelen 2000 bclim 4",
        "link set mv1 up",
        "link set mv1 address 02:00:00:00:00:11",
        "link set mv1 mtu 1400",
        "link set mv1 netns c1",
        "link set mv4 type macvlan macaddr set 02:00:00:00:00:97 02:00:00:00:00:96",
        "link set mv4 type macvlan macaddr flush",
        "link del mv1",
        "-d link show mv1",
        "-s -s link show",
        "-j -p -d link show",
        "-n H link add mv6 link eth0 type macvlan",
        "link add link eth2 name eth2.10 type vlan id 10 protocol 802.1ad reorder_hdr off gvrp on",
        "link add veth01 netns NS type veth peer name veth10 netns NS2 address 02:00:00:00:00:05 mtu 1400",
        "link add br0 type bridge ageing_time 30000 stp_state 1 forward_delay 400 hello_time 200 max_age 2000 priority 100 fdb_max_learned 10",
        "link set eth1 master br0",
        "link set eth1 nomaster",
        "link set eth1 type bridge_slave state 3 priority 32 cost 100 hairpin on learning off flood on mcast_flood off bcast_flood on isolated on",
        "-s -j fdb show br br0 brport eth1",
        "link help vlan",
        "link add ipvl1 link eth0 type ipvlan mode l3 private",
        "link set ipvl0 type ipvlan mode l3s vepa",
        "link add vm1 link eth0 type macvtap mode bridge address 02:5e:00:00:01:01 vhost-user /run/subnic/vm1.sock",
        "link add vm3 link eth0 type ipvtap mode l2 stream /run/subnic/vm3.sock",
        "--socket=/tmp/s link show up type macvlan",
        "-V",
    ]
    for i, c in enumerate(cmds):
        write("cli", "cmd-%02d" % i, c.replace(" ", "\0").encode())


if __name__ == "__main__":
    main()
