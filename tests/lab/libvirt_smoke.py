#!/usr/bin/env python3
"""By-hand check that libvirt's `<interface type='vhostuser'>` works with subnic's macvtap.

    sudo python3 tests/lab/libvirt_smoke.py --subnic build/src/cli/subnic \\
         --subnicd build/src/daemon/subnicd

Needs a running libvirtd with the QEMU driver (qemu:///system) that may run QEMU as root
(not part of CI: Debian's libvirt-daemon-system pulls in systemd). In the lab's topology
(scenarios.py TOPO, subnic backend) it creates `subnic link add PREFIXvt1 link eth0 type
macvtap mode bridge vhost-user SOCK`, defines a transient domain from the README's XML
(memfd shared memory, the vhostuser interface in client mode with reconnect; plus direct
kernel boot of the lab's guest, its serial console on a unix socket, and, under TCG, the
virtio-net device's `vectors=0` through `<qemu:override>`), waits for the guest's shell on the
console, gives eth0 10.0.0.11/24 and pings the external host 10.0.0.100 and back. Prints
PASS or FAIL; the domain is destroyed and the lab removed on exit.
"""

import argparse
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import lab as L  # noqa: E402
import vm as V  # noqa: E402

MAC = "02:5e:00:00:01:01"

DOMAIN = """<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <memoryBacking>
    <source type='memfd'/>
    <access mode='shared'/>
  </memoryBacking>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 subnic.name=lv1</cmdline>
  </os>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>{qemu}</emulator>
    <interface type='vhostuser'>
      <mac address='{mac}'/>
      <source type='unix' path='{sock}' mode='client'>
        <reconnect enabled='yes' timeout='1'/>
      </source>
      <model type='virtio'/>
      <alias name='ua-net0'/>
    </interface>
    <serial type='unix'>
      <source mode='bind' path='{console}'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
  <qemu:override>
    <qemu:device alias='ua-net0'>
      <qemu:frontend>
        <qemu:property name='vectors' type='unsigned' value='0'/>
      </qemu:frontend>
    </qemu:device>
  </qemu:override>
</domain>
"""


class Console:
    def __init__(self, path, timeout=120):
        deadline = time.monotonic() + 30
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.buf = ""
        self.expect(re.compile(re.escape(V.READY)), timeout)

    def expect(self, rx, timeout):
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise L.LabError("console: %r not seen; tail: %r" % (rx.pattern, self.buf[-500:]))
            self.s.settimeout(left)
            data = self.s.recv(4096)
            if not data:
                raise L.LabError("console closed")
            self.buf += data.decode(errors="replace")

    def run(self, cmd, timeout=30):
        tok = os.urandom(4).hex()
        self.s.sendall(("{ %s\n} </dev/null 2>&1; echo __E_%s_$?\n" % (cmd, tok)).encode())
        return int(self.expect(re.compile(r"__E_%s_(\d+)" % tok), timeout).group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    build = HERE.parent.parent / "build"
    ap.add_argument("--subnic", default=str(build / "src/cli/subnic"))
    ap.add_argument("--subnicd", default=str(build / "src/daemon/subnicd"))
    args = ap.parse_args()
    guest = V.ensure_guest()
    with L.Lab("subnic", subnic=args.subnic, subnicd=args.subnicd) as lab:
        lab.build()
        name = lab.prefix + "vt1"
        sock = os.path.join(lab.tmpdir, "vt1.sock")
        r = lab.backend._cli("link", "add", name, "link", lab.eth0, "address", MAC, "type",
                             "macvtap", "mode", "bridge", "vhost-user", sock)
        if not r.ok:
            raise L.LabError("subnic link add: %s" % r.err)
        lab.backend._cli("link", "set", name, "up")
        console = os.path.join(lab.tmpdir, "console.sock")
        dom = lab.prefix + "-lv"
        xml = Path(lab.tmpdir, "domain.xml")
        xml.write_text(DOMAIN.format(name=dom, kernel=Path(guest, "vmlinuz"),
                                     initrd=Path(guest, "initrd.gz"), qemu=V.qemu_binary(),
                                     mac=MAC, sock=sock, console=console))
        r = L.run(["virsh", "-c", "qemu:///system", "create", str(xml)], timeout=60)
        if not r.ok:
            raise L.LabError("virsh create: %s" % r.err.strip())
        try:
            con = Console(console)
            con.run("ip addr add 10.0.0.11/24 dev eth0 && ip link set eth0 up")
            out = con.run("ping -c 3 -W 2 10.0.0.100", timeout=20)
            back = lab.ping(lab.ns_x, "10.0.0.11")["ok"]
            show = lab.backend.show(name) or {}
            connected = show.get("subnic", {}).get("vm", {}).get("connected")
            print("guest -> x: %s, x -> guest: %s, subnic sees the guest connected: %s"
                  % (out == 0, bool(back), connected))
            ok = out == 0 and bool(back) and connected is True
        finally:
            L.run(["virsh", "-c", "qemu:///system", "destroy", dom], timeout=30)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
