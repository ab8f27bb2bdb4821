#!/usr/bin/env python3
"""N clients at once on subnicd's control socket, adding and deleting macvlan uppers.

Usage: ctl_clients.py SOCKET SUBNIC_CLI OTHER_NETNS N OUT_JSON

Every client has a connection of its own and starts at the same moment (a barrier). Client i
adds three uppers of its own, kI_a, kI_b and kI_c (kI_c created in OTHER_NETNS with `netns`,
as `ip link add NAME netns NS`, for every third client), deletes its own kI_b, and deletes its
neighbour's k(I+1)_a, which may not exist yet (then ENODEV, and the neighbour's add succeeds
later). Every fifth client goes through the real CLI binary (one process per request, so one
connection per request); the others speak the protocol on one socket of their own.

Any error other than that ENODEV fails the run. From the outcomes it writes to OUT_JSON the
uppers that must exist now: [[name, netns], ...] (netns "" = the daemon's own), and prints
the requests made and the time taken.
"""
import json
import socket
import subprocess
import sys
import threading
import time

sock_path, cli, other_ns, n, out_path = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
barrier = threading.Barrier(n)
results = {}  # client -> list of (op, name, netns, code) with code None for success
errors = []


class Conn:
    """One protocol connection: greeting, then request/reply lines."""

    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(60)
        self.s.connect(sock_path)
        self.f = self.s.makefile("rb")
        greet = json.loads(self.f.readline())
        assert greet.get("protocol") == 1, greet
        self.next_id = 1

    def call(self, method, params):
        rid = self.next_id
        self.next_id += 1
        self.s.sendall(json.dumps({"id": rid, "method": method, "params": params}).encode() + b"\n")
        reply = json.loads(self.f.readline())
        assert reply.get("id") == rid, reply
        return None if "result" in reply else reply["error"]["code"]


def cli_call(method, params):
    words = {"link.add": ["link", "add"], "link.del": ["link", "del"]}[method]
    args = [cli, "--socket", sock_path] + words + [params["name"]]
    if method == "link.add":
        if "to_netns" in params:
            args += ["netns", params["to_netns"]]
        args += ["link", params["link"], "type", "macvlan", "mode", "bridge"]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if p.returncode == 0:
        return None
    # The CLI prints the daemon's message; ENODEV is the one we allow (link del of a missing name).
    if "Cannot find device" in p.stderr or "does not exist" in p.stderr:
        return "ENODEV"
    return f"exit {p.returncode}: {p.stderr.strip()}"


def client(i):
    use_cli = i % 5 == 0
    conn = None if use_cli else Conn()
    call = cli_call if use_cli else conn.call
    me, nb = f"k{i:03d}", f"k{(i + 1) % n:03d}"
    log = []
    barrier.wait()
    c_ns = other_ns if i % 3 == 0 else ""
    plan = [
        ("link.add", {"name": me + "_a", "link": "eth0", "type": "macvlan", "info_data": {"mode": "bridge"}}),
        ("link.add", {"name": me + "_b", "link": "eth0", "type": "macvlan", "info_data": {"mode": "bridge"}}),
        ("link.del", {"name": nb + "_a"}),
        ("link.add", dict({"name": me + "_c", "link": "eth0", "type": "macvlan", "info_data": {"mode": "bridge"}},
                          **({"to_netns": c_ns} if c_ns else {}))),
        ("link.del", {"name": me + "_b"}),
    ]
    for method, params in plan:
        code = call(method, params)
        ns = params.get("to_netns", "")
        log.append((method, params["name"], ns, code))
        allowed = code is None or (method == "link.del" and params["name"] == nb + "_a" and code == "ENODEV")
        if not allowed:
            errors.append(f"client {i}: {method} {params['name']}: {code}")
    results[i] = log


t0 = time.monotonic()
threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join(120)
elapsed = time.monotonic() - t0
if any(t.is_alive() for t in threads) or len(results) != n:
    sys.exit(f"FAIL: only {len(results)} of {n} clients finished")
if errors:
    sys.exit("FAIL: " + "; ".join(errors[:10]))

# What must exist: an add that succeeded, minus a delete that succeeded.
expect = {}
for i, log in results.items():
    for method, name, ns, code in log:
        if code is not None:
            continue
        if method == "link.add":
            expect[name] = ns
for i, log in results.items():
    for method, name, ns, code in log:
        if method == "link.del" and code is None:
            expect.pop(name, None)
requests = sum(len(log) for log in results.values())
raced = sum(1 for log in results.values() for m, name, ns, code in log if m == "link.del" and code == "ENODEV")
with open(out_path, "w") as f:
    json.dump(sorted([name, ns] for name, ns in expect.items()), f)
print(f"{n} clients, {requests} requests in {elapsed:.2f} s ({requests / elapsed:.0f}/s); "
      f"{len(expect)} uppers left; {raced} deletes of a neighbour's upper came before its add")
