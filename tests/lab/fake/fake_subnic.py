#!/usr/bin/env python3
"""A stand-in for subnic/subnicd used only to self-test the lab harness
(tests/lab): the "daemon" listens on the control socket and exits 0 on
SIGTERM; the "CLI" turns each command into the same `ip` command on kernel
macvlan. With it, `run_oracle.py --backend both` must report identical
observations (and pass every macvlan case: none excludes a cell).
Never used to test subnic itself.
"""
import json
import os
import signal
import socket
import subprocess
import sys


def daemon(argv):
    sock = argv[argv.index("--socket") + 1]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock)
    srv.listen(8)
    signal.signal(signal.SIGTERM, lambda *a: (srv.close(), os.unlink(sock), sys.exit(0)))
    sys.stderr.write("fake subnicd: listening on %s\n" % sock)
    while True:
        c, _ = srv.accept()
        try:
            c.sendall(b'{"subnicd": "fake", "protocol": 1}\n')
        except OSError:
            pass
        c.close()


def where(name):
    """Namespace of a lab device (searched among namespaces of its prefix)."""
    prefix = name[:6]
    cands = [None] + sorted(n for n in os.listdir("/run/netns") if n.startswith(prefix))
    for ns in cands:
        args = ["ip"] + (["-n", ns] if ns else []) + ["link", "show", "dev", name]
        if subprocess.run(args, capture_output=True).returncode == 0:
            return ns
    return None


def ip(ns, args):
    return subprocess.run(["ip"] + (["-n", ns] if ns else []) + args, capture_output=True, text=True)


def cli(argv):
    sock = argv[argv.index("--socket") + 1]
    del argv[argv.index("--socket"):argv.index("--socket") + 2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.close()
    opts = []
    ns = None
    while argv and argv[0].startswith("-"):
        o = argv.pop(0)
        if o in ("-n", "-netns"):
            ns = argv.pop(0)
        else:
            opts.append(o)
    if ns is not None:
        # issue-4 lab cases (scenarios_l2.py): `subnic -n NS ...` -> `ip -n NS ...` (vlan, veth,
        # bridge, bridge_slave are ip's words too) and `fdb show` -> `bridge -n NS fdb show`
        if argv[0] == "fdb":
            r = subprocess.run(["bridge", "-n", ns] + opts + argv, capture_output=True, text=True)
        elif argv[:2] == ["link", "show"] and len(argv) == 3:
            r = ip(ns, opts + ["link", "show", "dev", argv[2]])
        else:
            r = ip(ns, opts + argv)
        sys.stdout.write(r.stdout)
        sys.stderr.write(r.stderr)
        return r.returncode
    assert argv[0] == "link", argv
    verb, rest = argv[1], argv[2:]
    if verb == "add":
        r = ip(None, ["link", "add"] + rest)
    elif verb in ("set", "del"):
        r = ip(where(rest[0]), ["link", verb] + rest)
    elif verb == "show":
        if rest:
            ns = where(rest[0])
            r = ip(ns, opts + ["link", "show", "dev", rest[0]])
        else:
            links = []
            prefix_ns = sorted(os.listdir("/run/netns"))
            for ns in [None] + prefix_ns:
                rr = ip(ns, ["-j", "-d", "link", "show", "type", "macvlan"])
                if rr.returncode == 0 and rr.stdout.strip():
                    links += [l for l in json.loads(rr.stdout) if l["ifname"].startswith("sn")]
            print(json.dumps(links))
            return 0
    else:
        sys.stderr.write("fake subnic: unsupported %s\n" % verb)
        return 1
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    return r.returncode


if __name__ == "__main__":
    role, args = sys.argv[1], sys.argv[2:]
    sys.exit(daemon(args) if role == "daemon" else cli(args))
