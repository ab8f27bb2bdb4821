#!/usr/bin/env python3
"""Traffic probes for the subnic lab: one listener or one sender, run inside a
namespace with `ip netns exec NS python3 probe.py ...`.

Standard library only. Every wait is bounded.

listen  Counts, for a bounded window, copies of one or more probes (one
        --nonce each) on a packet socket bound to one interface ("frame
        receipt": sll_pkttype != PACKET_OUTGOING, broken down by pkttype;
        outgoing copies are counted apart as "out") and on a UDP socket bound
        to 0.0.0.0:PORT ("stack receipt"). Protocol on stdio: prints "READY"
        once its sockets are bound, then waits (bounded) for a "GO" line on
        stdin, then keeps counting for --time seconds and prints one JSON
        object {"go": bool, "counts": {nonce: {frames, out, pkttypes, stack}}}
        (frames/out/pkttypes are null without --iface, stack null with
        --port 0). Frames that arrive before GO are queued and counted.
send    Sends one probe: UDP broadcast, UDP unicast, UDP multicast (TTL 1) or
        a raw Ethernet frame from a packet socket. Prints one JSON object.

A probe is recognised by an 8-byte random nonce (hex on the command line)
after the marker "SNPROBE:" in its payload; the listener also checks the
protocol (--match) so that, e.g., an ICMP error quoting a probe datagram is
not counted as a copy of it. ICMP echo probes use `ping -p NONCE`, which fills
the echo payload with the nonce bytes (no marker).

ARP frames carry no nonce: with --match arp a "nonce" is 5 bytes (10 hex
digits), the ARP opcode then an IPv4 address: 01<ip> counts requests whose
target is <ip>, 02<ip> replies whose sender is <ip>.

--join-mac MAC (listen): a link-layer multicast membership on the packet
socket (PACKET_ADD_MEMBERSHIP, PACKET_MR_MULTICAST), so the interface's
multicast list holds MAC as long as the listener runs (raw multicast probes
need no UDP socket). --detail (listen): per probe, the sorted set of
"src>dst" MACs and of IPv4 TTL / IPv6 hop limit values of the frames counted
in "frames".
"""

import argparse
import errno
import json
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_MULTICAST = 0
PKTTYPES = {0: "host", 1: "broadcast", 2: "multicast", 3: "otherhost", 4: "outgoing"}
PACKET_OUTGOING = 4
MARKER = b"SNPROBE:"

# Bounds on everything this file waits for.
MAX_WINDOW = 10.0  # seconds, longest counting window accepted
GO_TIMEOUT = 30.0  # seconds to wait for "GO" after READY
MAX_FRAMES = 100000  # frames read per listener before giving up


def _ip4_payload(frame):
    """Return (proto, l4 bytes, l4 offset) of an untagged IPv4 frame, or None."""
    if len(frame) < 34:
        return None
    ethertype = struct.unpack("!H", frame[12:14])[0]
    if ethertype != ETH_P_IP:
        return None
    ihl = (frame[14] & 0x0F) * 4
    proto = frame[23]
    frag = struct.unpack("!H", frame[20:22])[0]
    if frag & 0x1FFF:  # not the first fragment
        return None
    return proto, frame[14 + ihl:]


def _mac(b):
    return ":".join("%02x" % x for x in b)


def frame_detail(frame):
    """("src>dst" MACs, IPv4 TTL or IPv6 hop limit or None) of a frame."""
    macs = "%s>%s" % (_mac(frame[6:12]), _mac(frame[0:6]))
    hops = None
    if len(frame) >= 34:
        et = struct.unpack("!H", frame[12:14])[0]
        if et == ETH_P_IP:
            hops = frame[22]
        elif et == ETH_P_IPV6 and len(frame) >= 54:
            hops = frame[21]
    return macs, hops


def frame_nonce(frame, nonces, match, port, ethertypes):
    """The nonce of the probe `frame` is a copy of, or None."""
    if match == "arp":
        if len(frame) < 42 or struct.unpack("!H", frame[12:14])[0] != ETH_P_ARP:
            return None
        op = struct.unpack("!H", frame[20:22])[0]
        spa, tpa = frame[28:32], frame[38:42]
        for n in nonces:
            if len(n) == 5 and n[0] == op and (tpa if op == 1 else spa) == n[1:]:
                return n
        return None
    if match == "raw":
        if len(frame) < 14 or struct.unpack("!H", frame[12:14])[0] not in ethertypes:
            return None
        body = frame[14:]
        for n in nonces:
            if (MARKER + n) in body:
                return n
        return None
    ip = _ip4_payload(frame)
    if ip is None:
        return None
    proto, l4 = ip
    if match == "udp":
        if proto != 17 or len(l4) < 8 or struct.unpack("!H", l4[2:4])[0] != port:
            return None
        body, marker = l4[8:], MARKER
    elif match == "icmp":
        # echo request (8) or echo reply (0) only; errors quote other packets
        if proto != 1 or len(l4) < 8 or l4[0] not in (0, 8):
            return None
        body, marker = l4[8:], b""
    else:
        raise ValueError(match)
    for n in nonces:
        if (marker + n) in body:
            return n
    return None


def listen(args):
    nonces = [bytes.fromhex(n) for n in args.nonce]
    window = min(max(args.time, 0.0), MAX_WINDOW)
    ethertypes = set(args.ethertype or [0x88B5])
    counts = {}
    for n in nonces:
        counts[n] = {"frames": None, "out": None, "pkttypes": None, "stack": None}
    details = {n: (set(), set()) for n in nonces} if args.detail else None
    socks = []
    psock = None
    if args.iface:
        # protocol 0 at creation, ETH_P_ALL at bind: no frame of another
        # interface is ever queued on this socket.
        psock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        psock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        psock.bind((args.iface, ETH_P_ALL))
        for mac in args.join_mac or []:
            mreq = struct.pack("@iHH8s", socket.if_nametoindex(args.iface), PACKET_MR_MULTICAST, 6,
                               bytes.fromhex(mac.replace(":", "")))
            psock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        socks.append(psock)
        for c in counts.values():
            c.update(frames=0, out=0, pkttypes={})
    usock = None
    if args.port:
        usock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        usock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        usock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        usock.bind(("0.0.0.0", args.port))
        for group in args.join or []:
            ifindex = socket.if_nametoindex(args.iface) if args.iface else 0
            mreqn = socket.inet_aton(group) + socket.inet_aton("0.0.0.0") + struct.pack("@i", ifindex)
            usock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
        socks.append(usock)
        for c in counts.values():
            c["stack"] = 0
    for s in socks:
        s.setblocking(False)

    sys.stdout.write("READY\n")
    sys.stdout.flush()

    # Wait (bounded) for GO; frames arriving meanwhile stay queued.
    got_go = False
    deadline = time.monotonic() + GO_TIMEOUT
    while time.monotonic() < deadline:
        r, _, _ = select.select([sys.stdin], [], [], max(0.0, deadline - time.monotonic()))
        if r:
            line = sys.stdin.readline()
            if not line or line.strip() == "GO":
                got_go = bool(line)
                break

    end = time.monotonic() + window
    seen = 0
    while seen < MAX_FRAMES:
        left = end - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select(socks, [], [], left)
        for s in r:
            while seen < MAX_FRAMES:
                try:
                    data, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                except OSError as e:
                    # a packet socket on a DOWN interface reports ENETDOWN
                    # once (sk_err); nothing was received
                    if e.errno == errno.ENETDOWN:
                        seen += 1
                        continue
                    raise
                seen += 1
                if s is psock:
                    n = frame_nonce(data, nonces, args.match, args.match_port or args.port or 9999, ethertypes)
                    if n is None:
                        continue
                    c = counts[n]
                    if addr[2] == PACKET_OUTGOING:
                        c["out"] += 1
                    else:
                        c["frames"] += 1
                        if details is not None:
                            macs, hops = frame_detail(data)
                            details[n][0].add(macs)
                            if hops is not None:
                                details[n][1].add(hops)
                        name = PKTTYPES.get(addr[2], str(addr[2]))
                        c["pkttypes"][name] = c["pkttypes"].get(name, 0) + 1
                else:
                    for n in nonces:
                        if (MARKER + n) in data:
                            counts[n]["stack"] += 1
                            break
    for s in socks:
        s.close()
    if details is not None:
        for n, (macs, hops) in details.items():
            counts[n]["detail"] = {"macs": sorted(macs), "hops": sorted(hops)}
    print(json.dumps({"go": got_go, "counts": {n.hex(): c for n, c in counts.items()}}, sort_keys=True))
    return 0


def send(args):
    nonce = bytes.fromhex(args.nonce)
    payload = MARKER + nonce
    out = {"kind": args.kind, "sent": 0, "error": None}
    try:
        if args.kind in ("bcast", "ucast", "mcast"):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            if args.iface:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, args.iface.encode())
            if args.kind == "bcast":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                dst = args.dst or "10.0.0.255"
            elif args.kind == "mcast":
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
                if args.iface:
                    ifindex = socket.if_nametoindex(args.iface)
                    mreqn = socket.inet_aton("0.0.0.0") * 2 + struct.pack("@i", ifindex)
                    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
                dst = args.dst
            else:
                dst = args.dst
            for _ in range(args.count):
                s.sendto(payload, (dst, args.port))
                out["sent"] += 1
            s.close()
        elif args.kind == "raw":
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            s.bind((args.iface, 0))
            src = bytes.fromhex(args.src.replace(":", "")) if args.src else s.getsockname()[4][:6]
            dst = bytes.fromhex(args.dst.replace(":", ""))
            frame = dst + src + struct.pack("!H", args.ethertype) + payload
            frame = frame.ljust(60, b"\0")
            for _ in range(args.count):
                s.send(frame)
                out["sent"] += 1
            s.close()
    except OSError as e:
        out["error"] = e.strerror
    print(json.dumps(out, sort_keys=True))
    return 0 if out["error"] is None else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    li = sub.add_parser("listen")
    li.add_argument("--iface", help="interface for the packet socket (frame receipt)")
    li.add_argument("--port", type=int, default=9999, help="UDP port for stack receipt (0: none)")
    li.add_argument("--nonce", required=True, action="append", help="repeatable: one per probe")
    li.add_argument("--match", choices=("udp", "icmp", "raw", "arp"), default="udp")
    li.add_argument("--match-port", type=int, default=0,
                    help="udp: destination port of the probe frames (default: --port, else 9999)")
    li.add_argument("--ethertype", type=lambda v: int(v, 0), action="append",
                    help="raw: EtherType(s) of the probes (repeatable, default 0x88b5)")
    li.add_argument("--join", action="append", help="multicast group to join on --iface")
    li.add_argument("--join-mac", action="append",
                    help="link-layer multicast MAC to add to --iface's list (repeatable)")
    li.add_argument("--detail", action="store_true",
                    help="record src>dst MACs and TTL/hop limit of the counted frames")
    li.add_argument("--time", type=float, default=1.5)
    se = sub.add_parser("send")
    se.add_argument("--kind", choices=("bcast", "ucast", "mcast", "raw"), required=True)
    se.add_argument("--iface")
    se.add_argument("--dst", help="IPv4 address or, for raw, MAC")
    se.add_argument("--src", help="raw: source MAC (default: the interface's)")
    se.add_argument("--port", type=int, default=9999)
    se.add_argument("--ethertype", type=lambda v: int(v, 0), default=0x88B5)
    se.add_argument("--nonce", required=True)
    se.add_argument("--count", type=int, default=1, choices=range(1, 11))
    args = p.parse_args(argv)
    return listen(args) if args.cmd == "listen" else send(args)


if __name__ == "__main__":
    sys.exit(main())
