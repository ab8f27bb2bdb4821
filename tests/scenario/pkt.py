#!/usr/bin/env python3
"""Raw frames between the lab's namespaces, for the scenario tests (spoofchk.sh, hostile.sh).

One process opens AF_PACKET sockets inside several network namespaces (setns(2) into each in
turn: a socket stays in the namespace it was made in), sends hand-built Ethernet frames from
one and counts what arrives at another. Needs root. Namespaces are given as NAME:IFNAME with
NAME under /run/netns.

  pkt.py probe --tx NS:IF --rx NS:IF --count N --dst MAC --src MAC [--ip4 SRC DST]
      sends N frames (EtherType 0x88b5 with a per-run marker, or with --ip4 IPv4/UDP from SRC
      to DST port 9999) and prints {"sent": N, "received": K}: how many of them arrived at --rx.
  pkt.py hostile {--tx NS:IF | --stream PATH} --dst MAC --src MAC --count N --seed S
      sends N frames of each bad kind at full speed, through a TAP or a VM stream endpoint,
      and prints {kind: {"sent": N, "refused": R}} as JSON.
"""
import argparse
import ctypes
import json
import os
import random
import select
import socket
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
MARK_TYPE = 0x88B5  # IEEE 802 local experimental EtherType

_libc = ctypes.CDLL(None, use_errno=True)


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def open_packet(spec):
    """A raw socket bound to IF inside namespace NS ("NS:IF")."""
    ns, ifname = spec.split(":", 1)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        setns(f"/run/netns/{ns}")
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((ifname, 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        return s
    finally:
        if _libc.setns(home, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns back")
        os.close(home)


def mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_udp(src, dst, payload, sport=40000, dport=9999):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + udp


def drain(rx, want, quiet=1.0, deadline=10.0):
    """Counts frames arriving at rx that contain `want`, until `quiet` s without one of them
    (or `deadline` s in all)."""
    got = 0
    end = time.monotonic() + deadline
    last = time.monotonic()
    while time.monotonic() < end and time.monotonic() - last < quiet:
        r, _, _ = select.select([rx], [], [], 0.1)
        if not r:
            continue
        while True:
            try:
                data, addr = rx.recvfrom(65535, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            if addr[2] != PACKET_OUTGOING and want in data:
                got += 1
                last = time.monotonic()
    return got


def probe(a):
    tx = open_packet(a.tx)
    rx = open_packet(a.rx)
    marker = b"subnic-probe-" + os.urandom(8).hex().encode()
    eth = mac(a.dst) + mac(a.src)
    if a.ip4:
        frame = eth + struct.pack("!H", 0x0800) + ipv4_udp(a.ip4[0], a.ip4[1], marker)
    else:
        frame = eth + struct.pack("!H", MARK_TYPE) + marker + b"\0" * 20
    for i in range(a.count):
        tx.send(frame)
        if i % 50 == 49:
            time.sleep(0.002)  # bounded bursts: nothing is lost to a full queue
    print(json.dumps({"sent": a.count, "received": drain(rx, marker)}))


# ---- hostile frames ---------------------------------------------------------------------------


def hostile_kinds(dst, src, rng, big):
    """(kind, list of frames) for each bad kind; every frame is what the kind says."""
    e = dst + src
    kinds = []
    # Runts: shorter than an Ethernet header (the TAP still takes them), and 14..59 bytes (a
    # whole header, below the 60-byte minimum: legal on a TAP, which does not pad).
    kinds.append(("runt_lt14", [os.urandom(n) for n in (1, 6, 12, 13)]))
    kinds.append(("runt_lt60", [e + struct.pack("!H", MARK_TYPE) + b"r" * n for n in (0, 10, 45)]))
    # Giants: far above every other upper's MTU (1500) and the lower's.
    kinds.append(("giant", [e + struct.pack("!H", 0x0800) + ipv4_udp("10.20.0.11", "10.20.0.12",
                                                                    b"g" * (big - 42))]))
    # Truncated headers: the Ethernet header only, claiming IPv4/IPv6/ARP/802.1Q/802.1ad.
    kinds.append(("trunc_l3", [e + struct.pack("!H", t) for t in (0x0800, 0x86DD, 0x0806)]))
    kinds.append(("trunc_vlan", [e + struct.pack("!H", t) for t in (0x8100, 0x88A8)] +
                  [e + struct.pack("!HB", 0x8100, 0)]))
    # Bad VLAN tags: a tag with nothing behind its TCI, VID 4095 (reserved), stacked tags.
    kinds.append(("vlan_no_inner", [e + struct.pack("!HH", 0x8100, 10)]))
    kinds.append(("vlan_4095", [e + struct.pack("!HHH", 0x8100, 0x0FFF, 0x0800) +
                                ipv4_udp("10.20.0.11", "10.20.0.12", b"v" * 20)]))
    kinds.append(("vlan_stacked", [e + struct.pack("!HHHHHH", 0x88A8, 100, 0x8100, 200, 0x8100, 300)
                                   + struct.pack("!H", 0x0800) +
                                   ipv4_udp("10.20.0.11", "10.20.0.12", b"q" * 20)]))
    # Random bytes, 14..1514 long; the first bytes may say anything.
    kinds.append(("random", [bytes(rng.getrandbits(8) for _ in range(rng.randint(14, 1514)))
                             for _ in range(32)]))
    return kinds


def open_stream(path):
    """A QEMU `-netdev stream` peer: each frame is a 4-byte big-endian length and the frame."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def hostile(a):
    """Sends --count frames of each kind at full speed through a TAP (--tx) or a VM stream
    endpoint (--stream); prints {kind: {"sent": N, "refused": R}}: R frames the sender's kernel
    refused (a TAP: EINVAL under 14 bytes, EMSGSIZE above the MTU), N the others."""
    rng = random.Random(a.seed)
    tx = open_stream(a.stream) if a.stream else open_packet(a.tx)
    out = {}
    for kind, frames in hostile_kinds(mac(a.dst), mac(a.src), rng, a.big):
        sent = refused = 0
        for i in range(a.count):
            f = frames[i % len(frames)]
            if a.stream:
                tx.sendall(struct.pack("!I", len(f)) + f)
                sent += 1
                continue
            while True:
                try:
                    tx.send(f)
                    sent += 1
                    break
                except OSError as e:
                    if e.errno in (22, 90):  # EINVAL, EMSGSIZE: refused before the TAP
                        refused += 1
                        break
                    if e.errno not in (105, 11):  # ENOBUFS, EAGAIN: retry
                        raise
                    time.sleep(0.0005)
        out[kind] = {"sent": sent, "refused": refused}
    if a.stream:
        time.sleep(0.5)  # the daemon reads what is in flight before the peer goes
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("probe")
    p.add_argument("--tx", required=True)
    p.add_argument("--rx", required=True)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--dst", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--ip4", nargs=2, metavar=("SRC", "DST"))
    h = sub.add_parser("hostile")
    h.add_argument("--tx")
    h.add_argument("--stream")
    h.add_argument("--dst", required=True)
    h.add_argument("--src", required=True)
    h.add_argument("--count", type=int, default=1000)
    h.add_argument("--seed", type=int, default=7)
    h.add_argument("--big", type=int, default=9000)
    a = ap.parse_args()
    {"probe": probe, "hostile": hostile}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
