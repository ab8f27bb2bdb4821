#!/usr/bin/env python3
"""Smoke test of the VM harness (vm.py) on the kernel's macvtap, the oracle for subnic's VM ports.

    ns x:  x0 10.0.0.100/24, dnsmasq (leases 10.0.0.50-99) ── veth ── ns h: lower PREFIXl
                                                                          ├ macvtap PREFIXvt1 (bridge) ─ VM
                                                                          └ macvtap PREFIXvt2 (bridge) ─ VM

1. one VM on vt1 (netdev tap,fd=N): boots, udhcpc gets a lease from dnsmasq, pings x0;
2. two VMs at once on vt1 and vt2: both get leases, ping x0 and each other (macvtap bridge
   mode: VM-to-VM frames turn around in the lower's macvlan port);
3. (--stream, default on) two VMs on `-netdev stream` connected by a Python hub on a unix
   socket (4-byte big-endian length + frame): static addresses, VM-to-VM ping.

Prints boot and phase times. Everything carries the lab's per-run prefix and is removed at the
end, also on failure or ^C (lab.Lab teardown, VMs stopped and QEMU/dnsmasq killed by PID).
Exit: 0 pass, 1 fail, 77 skip (not root, tool missing; with CI=true a failure).
"""

import argparse
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab as L  # noqa: E402
import vm as V  # noqa: E402

MAC1, MAC2 = "02:5e:00:00:01:01", "02:5e:00:00:01:02"


def skip(reason):
    if os.environ.get("CI") == "true":
        print("FAIL (CI=true, prerequisite missing): %s" % reason)
        return 1
    print("SKIP: %s" % reason)
    return 77


def check(cond, what):
    print("  %-58s %s" % (what, "ok" if cond else "FAIL"))
    if not cond:
        raise AssertionError(what)


def dhcp_server(lab, ns, iface):
    t = lab.tmpdir
    p = subprocess.Popen(
        ["ip", "netns", "exec", ns, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
         "--no-resolv", "--no-hosts", "--port=0", "--no-ping", "--interface=" + iface, "--bind-interfaces",
         "--dhcp-range=10.0.0.50,10.0.0.99,255.255.255.0,1h", "--dhcp-leasefile=%s/leases" % t,
         "--pid-file=", "--log-dhcp", "--log-facility=%s/dnsmasq.log" % t],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lab.procs.append(p)  # killed by PID at teardown
    lab.note_daemon(p.pid)
    time.sleep(0.3)
    if p.poll() is not None:
        raise L.LabError("dnsmasq exited at start (%s)" % p.returncode)
    return p


def macvtap(lab, ns, lower, short, mac):
    name = lab.prefix + short
    lab.ip(ns, "link", "add", name, "link", lower, "address", mac, "type", "macvtap", "mode", "bridge")
    lab.ip(ns, "link", "set", name, "up")
    return name


class Hub:
    """A stream-netdev hub: accepts QEMU `-netdev stream` clients on a unix socket and repeats
    every frame (4-byte big-endian length + frame) to all other clients. A thread; stop()."""

    def __init__(self, path):
        self.path = path
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(4)
        self.srv.settimeout(0.2)
        self.clients, self.frames, self.stopping = [], 0, False
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(0.2)
            with self.lock:
                self.clients.append(c)
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            self.threads.append(t)
            t.start()

    def _recv(self, c, n):
        b = b""
        while len(b) < n and not self.stopping:
            try:
                chunk = c.recv(n - len(b))
            except socket.timeout:
                continue
            if not chunk:
                return None
            b += chunk
        return b if len(b) == n else None

    def _serve(self, c):
        while not self.stopping:
            hdr = self._recv(c, 4)
            if hdr is None:
                break
            (n,) = struct.unpack("!I", hdr)
            frame = self._recv(c, n) if 0 < n <= 65536 + 18 else None
            if frame is None:
                break
            self.frames += 1
            with self.lock:
                others = [o for o in self.clients if o is not c]
            for o in others:
                try:
                    o.sendall(hdr + frame)
                except OSError:
                    pass
        with self.lock:
            if c in self.clients:
                self.clients.remove(c)
        c.close()

    def stop(self):
        self.stopping = True
        self.srv.close()
        for t in self.threads:
            t.join(timeout=2)
        with self.lock:
            for c in self.clients:
                c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-stream", action="store_true", help="skip phase 3 (stream netdev hub)")
    ap.add_argument("--guest", help="guest dir (default: $SUBNIC_GUEST_DIR or build/guest)")
    ap.add_argument("-v", action="store_true", help="log every command (SUBNIC_LAB_VERBOSE)")
    args = ap.parse_args()
    if args.v:
        os.environ["SUBNIC_LAB_VERBOSE"] = "1"
    if os.geteuid() != 0:
        return skip("not root (the test creates network namespaces)")
    for tool in ("ip", "dnsmasq", V.QEMU):
        if shutil.which(tool) is None:
            return skip("tool missing: %s" % tool)
    t_total = time.monotonic()
    try:
        guest = V.ensure_guest(args.guest)
    except L.LabSkip as e:
        return skip(str(e))
    print("guest %s (accel %s), built/checked in %.1f s" % (guest, V.accel(), time.monotonic() - t_total))

    L.clean_stale()
    lab = L.Lab("kernel")
    status = 1
    try:
        h, x = lab.add_ns("h"), lab.add_ns("x")
        lower, x0 = lab.prefix + "l", lab.prefix + "x0"
        lab.ip(h, "link", "add", lower, "type", "veth", "peer", "name", x0, "netns", x)
        lab.ip(x, "addr", "add", "10.0.0.100/24", "dev", x0)
        lab.ip(x, "link", "set", x0, "up")
        lab.ip(h, "link", "set", lower, "up")
        r = lab.ip(h, "link", "add", lab.prefix + "q", "link", lower, "type", "macvtap", check=False)
        if not r.ok:
            return skip("kernel has no macvtap: %s" % r.err.strip())
        lab.ip(h, "link", "del", lab.prefix + "q")
        dhcp_server(lab, x, x0)
        vt1 = macvtap(lab, h, lower, "vt1", MAC1)
        vt2 = macvtap(lab, h, lower, "vt2", MAC2)
        print("lab %s: ns %s, %s; macvtaps %s %s (bridge) on %s" % (lab.prefix, h, x, vt1, vt2, lower))

        print("1. one VM on kernel macvtap %s" % vt1)
        t = time.monotonic()
        with V.Vm("vm1", V.TapFd.open_macvtap(h, vt1, lab.tmpdir), MAC1, lab=lab, guest=guest) as vm:
            print("  boot %.1f s" % vm.boot_seconds)
            t1 = time.monotonic()
            ip = vm.dhcp()
            check(ip is not None and ip.startswith("10.0.0."), "udhcpc lease %s (%.1f s)" % (ip, time.monotonic() - t1))
            _, out = vm.run("ip -4 route")
            check("default via 10.0.0.100" in out, "the udhcpc script set the default route")
            check(vm.ping("10.0.0.100"), "VM pings x0 10.0.0.100")
            rx = L.run(["ip", "netns", "exec", x, "ping", "-c", "1", "-W", "2", ip])
            check(rx.ok, "x0 pings the VM %s" % ip)
            leases = Path(lab.tmpdir, "leases").read_text()
            check(MAC1 in leases and ip in leases, "dnsmasq lease file has %s %s" % (MAC1, ip))
            rc, out = vm.run("false")
            check(rc == 1, "run() returns the exit status (false -> %d)" % rc)
            try:
                vm.run("sleep 30", timeout=2)
                check(False, "run() timeout raises VmTimeout")
            except V.VmTimeout:
                rc, out = vm.run("echo alive")
                check(rc == 0 and out.strip() == "alive", "after a timeout (^C) the shell still runs")
        print("  phase 1: %.1f s" % (time.monotonic() - t))

        print("2. two VMs at once on %s and %s" % (vt1, vt2))
        t = time.monotonic()
        a = V.Vm("vma", V.TapFd.open_macvtap(h, vt1, lab.tmpdir), MAC1, lab=lab, guest=guest)
        b = V.Vm("vmb", V.TapFd.open_macvtap(h, vt2, lab.tmpdir), MAC2, lab=lab, guest=guest)
        V.start_all([a, b])
        try:
            print("  boot %.1f s / %.1f s (concurrent)" % (a.boot_seconds, b.boot_seconds))
            ia, ib = a.dhcp(), b.dhcp()
            check(ia and ib and ia != ib, "leases %s %s" % (ia, ib))
            check(a.ping(ib), "vma pings vmb (macvtap bridge mode)")
            check(b.ping(ia), "vmb pings vma")
            check(b.ping("10.0.0.100"), "vmb pings x0")
            if a.run("command -v iperf3")[0] == 0:
                b.run("iperf3 -s -D -1", check=True)
                time.sleep(0.5)
                rc, out = a.run("iperf3 -c %s -t 3 -f m | tail -4" % ib, timeout=40)
                check(rc == 0, "iperf3 vma -> vmb")
                print("    " + "\n    ".join(l for l in out.strip().splitlines() if "sender" in l or "receiver" in l))
        finally:
            a.stop()
            b.stop()
        print("  phase 2: %.1f s" % (time.monotonic() - t))

        if not args.no_stream:
            print("3. two VMs on -netdev stream through a Python hub")
            t = time.monotonic()
            hub = Hub(os.path.join(lab.tmpdir, "hub.sock"))
            try:
                a = V.Vm("vsa", V.Stream(hub.path), MAC1, lab=lab, guest=guest)
                b = V.Vm("vsb", V.Stream(hub.path), MAC2, lab=lab, guest=guest)
                V.start_all([a, b])
                try:
                    a.set_ip("192.168.77.1/24")
                    b.set_ip("192.168.77.2/24")
                    check(a.ping("192.168.77.2", count=1, wait=3), "vsa pings vsb over the stream hub")
                    check(hub.frames >= 4, "hub relayed %d frames" % hub.frames)
                finally:
                    a.stop()
                    b.stop()
            finally:
                hub.stop()
            print("  phase 3: %.1f s" % (time.monotonic() - t))
        status = 0
    except AssertionError:
        status = 1
    except L.LabSkip as e:
        status = skip(str(e))
    except L.LabError as e:
        print("FAIL: %s" % e)
        status = 1
    except L.LabInterrupted as e:
        print("INTERRUPTED (%s)" % e)
        status = 130
    finally:
        problems = lab.teardown()
        for p in problems:
            print("teardown: %s" % p)
            status = status or 1
    print("%s in %.1f s" % ({0: "PASS", 77: "SKIP", 130: "INTERRUPTED"}.get(status, "FAIL"),
                            time.monotonic() - t_total))
    return status


if __name__ == "__main__":
    sys.exit(main())
