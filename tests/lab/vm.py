"""QEMU guests for the lab: a small Linux VM whose one NIC (virtio-net, eth0 in the guest) is
backed by a kernel macvtap, a QEMU `stream` socket or a vhost-user socket.

    import lab as L, vm as V
    guest = V.ensure_guest()                           # build/guest: vmlinuz + initrd.gz (cached)
    tap = V.TapFd.open_macvtap(ns_h, "snab12vt1", lab.tmpdir)   # kernel macvtap, as the oracle
    with V.Vm("vm1", tap, "02:5e:00:00:01:01", lab=lab) as vm:  # boots, waits for the shell
        ip = vm.dhcp()                                 # udhcpc -i eth0 -q -n; the leased address
        rc, out = vm.run("ping -c 1 -W 2 10.0.0.100", timeout=10)

The guest (tests/lab/guest/build.sh) is a Debian kernel + busybox initramfs: /init loads the
virtio modules, brings lo up (eth0 stays down until udhcpc or `ip link set eth0 up`) and runs a
non-interactive shell on the serial console (ttyS0) with tty echo off. QEMU's serial port is
its stdin/stdout (`-chardev stdio`), which this module reads in a thread (every byte also goes
to WORKDIR/NAME.console.log). `run()` writes one command and reads up to a unique end marker
that carries the exit status.

QEMU: `qemu-system-x86_64 -nodefaults -accel tcg -m 256 -smp 1 -display none -no-reboot
-kernel vmlinux (uncompressed, PVH entry; vmlinuz when there is none) -initrd .. -append 'console=ttyS0 quiet panic=-1 subnic.name=NAME'` (`-nodefaults`
+ `-display none` instead of `-nographic`: no VGA, no monitor multiplexed on the console),
`-device virtio-net-pci,netdev=n0,mac=MAC,romfile=` (no iPXE ROM: faster), a QMP socket
WORKDIR/NAME.qmp (`Vm.qmp()`), and the netdev of the back end:

    TapFd(fd)          -netdev tap,id=n0,fd=N,vhost=off      (fd: an open /dev/tapIFINDEX node
                                                              of a kernel macvtap, passed down)
    Stream(path)       -netdev stream,id=n0,addr.type=unix,addr.path=P,server=off
                       (QEMU >= 7.2; 4-byte big-endian length + Ethernet frame, no vnet header)
    VhostUser(path)    -chardev socket,id=c0,path=P,reconnect=1 -netdev vhost-user,id=n0,chardev=c0
                       -object memory-backend-memfd,id=mem,size=256M,share=on
                       -machine memory-backend=mem; the device gets vectors=0 (no MSI-X: under
                       TCG QEMU 7.2 has no irqfd for vhost-user's call eventfds).

QEMU runs in network namespace `netns` (`ip netns exec NS qemu...`) when given; the back ends
above do not need it (fd / unix socket path), it is there for back ends that do.

Environment: SUBNIC_GUEST_DIR (where the guest is built, default REPO/build/guest),
SUBNIC_VM_ACCEL (tcg default; kvm where /dev/kvm works), SUBNIC_VM_BOOT_TIMEOUT (seconds,
default 180 on tcg, 60 on kvm).

Errors: a missing QEMU or guest image (no network for apt-get) raises lab.LabSkip (runners turn
that into 77, or a failure under CI=true); a VM that does not boot or a command that outlives
its timeout raises VmError / VmTimeout (lab.LabError). Every VM is stopped (poweroff -f, then
SIGTERM/SIGKILL by PID, always reaped) by stop(), by the context manager, at exit, or, when
created with `lab=`, by the lab's teardown (its Popen is in lab.procs, its PID in the lab's
marker so that the next run kills it after a SIGKILL of this one).
"""

import atexit
import os
import re
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time
import json
from pathlib import Path

import lab as L

HERE = Path(__file__).resolve().parent
BUILD_SH = HERE / "guest" / "build.sh"
QEMU = "qemu-system-x86_64"
READY = "subnic-guest: ready"
SHELL_EXITED = "subnic-guest: shell exited"
MAX_LINE = 3500  # the guest tty reads at most 4095 bytes per line (n_tty canonical mode)


class VmError(L.LabError):
    """A VM did not boot, died, or a command failed when check=True."""


class VmTimeout(VmError):
    """A command did not finish within its timeout (it was interrupted with ^C)."""


def accel():
    return os.environ.get("SUBNIC_VM_ACCEL", "tcg")


def guest_dir():
    return Path(os.environ.get("SUBNIC_GUEST_DIR", str(L.REPO / "build" / "guest")))


def ensure_guest(outdir=None, timeout=600):
    """Build (or reuse: build.sh is cached) the guest in `outdir`; returns the directory, which
    holds vmlinuz and initrd.gz. LabSkip when it cannot be built (no apt, no network)."""
    out = Path(outdir) if outdir else guest_dir()
    if not ((out / "vmlinuz").exists() and (out / "initrd.gz").exists()
            and (out / "initrd.gz").stat().st_mtime > BUILD_SH.stat().st_mtime):
        try:
            p = subprocess.run([str(BUILD_SH), str(out)], capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise L.LabSkip("guest build timed out after %ds" % timeout) from e
        if p.returncode != 0:
            raise L.LabSkip("guest build failed: %s" % (p.stderr.strip() or p.stdout.strip()))
    return out


def qemu_binary():
    q = shutil.which(QEMU)
    if q is None:
        raise L.LabSkip("tool missing: %s (Debian package qemu-system-x86)" % QEMU)
    return q


# ---------------------------------------------------------------- back ends


class TapFd:
    """`-netdev tap,fd=N,vhost=off`: N an open tap/macvtap character device. The Vm closes its
    own copy of the fd once QEMU has it when `owned` (the default)."""

    def __init__(self, fd, owned=True):
        self.fd, self.owned = fd, owned

    @classmethod
    def open_macvtap(cls, ns, ifname, tmpdir):
        """Opens the character device of kernel macvtap `ifname` in namespace `ns`: its
        major:minor from /sys/class/net/IFNAME/macvtap/tapIFINDEX/dev (read inside `ns`), a node
        made with mknod in `tmpdir` (/dev/tapN of devtmpfs is global and names collide across
        namespaces, so it is not used), opened O_RDWR (drivers/net/tap.c tap_open)."""
        r = L.run(["ip", "netns", "exec", ns, "sh", "-c",
                   "cat /sys/class/net/%s/macvtap/tap*/dev" % ifname], check=True)
        major, minor = (int(x) for x in r.out.strip().split(":"))
        node = os.path.join(tmpdir, "%s.tap" % ifname)
        if os.path.exists(node):
            os.unlink(node)
        os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(major, minor))
        try:
            fd = os.open(node, os.O_RDWR | os.O_CLOEXEC)
        finally:
            os.unlink(node)
        return cls(fd)

    def args(self, mem_mb):
        return ["-netdev", "tap,id=n0,fd=%d,vhost=off" % self.fd], ""

    def fds(self):
        return [self.fd]

    def close(self):
        if self.owned and self.fd is not None and self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Stream:
    """`-netdev stream,...,server=off`: QEMU connects to the unix socket `path` (subnicd's
    StreamPort or a test switch listens there)."""

    def __init__(self, path):
        self.path = str(path)

    def args(self, mem_mb):
        return ["-netdev", "stream,id=n0,addr.type=unix,addr.path=%s,server=off" % self.path], ""

    def fds(self):
        return []

    def close(self):
        pass


class VhostUser:
    """vhost-user client of the unix socket `path` (QEMU reconnects every `reconnect` s when the
    back end goes away); guest RAM in a shared memfd, the device without MSI-X (vectors=0)."""

    def __init__(self, path, reconnect=1):
        self.path, self.reconnect = str(path), reconnect

    def args(self, mem_mb):
        return ["-chardev", "socket,id=c0,path=%s,reconnect=%d" % (self.path, self.reconnect),
                "-netdev", "vhost-user,id=n0,chardev=c0",
                "-object", "memory-backend-memfd,id=mem,size=%dM,share=on" % mem_mb,
                "-machine", "memory-backend=mem"], ",vectors=0"

    def fds(self):
        return []

    def close(self):
        pass


# ---------------------------------------------------------------- the VM

_LIVE = []


def _stop_all():
    for vm in list(_LIVE):
        try:
            vm.stop()
        except Exception as e:  # noqa: BLE001 - best effort at exit
            L.log("vm: stop at exit failed: %s" % e)


atexit.register(_stop_all)


class Vm:
    """One QEMU guest. `start()` (or `with`) boots it and waits for its shell; `run()` runs
    shell commands; `stop()` powers it off. Not thread-safe except `output_since()`."""

    def __init__(self, name, netdev, mac, *, netns=None, guest=None, mem=256, workdir=None,
                 lab=None, append="", boot_timeout=None, extra_args=()):
        assert re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", name), name
        L.install_handlers()  # SIGTERM/SIGINT/SIGHUP unwind (LabInterrupted): VMs get stopped
        self.name, self.netdev, self.mac, self.netns = name, netdev, mac, netns
        self.guest = Path(guest) if guest else None
        self.mem, self.lab, self.append, self.extra_args = mem, lab, append, list(extra_args)
        # console log, QEMU's stderr, the QMP socket; a private temp dir (removed by stop())
        # unless a workdir or a lab (its tmpdir) is given
        self._own_workdir = not (workdir or lab)
        self.workdir = Path(workdir or (lab.tmpdir if lab else tempfile.mkdtemp(prefix="subnic-vm-")))
        self.accel = accel()
        self.boot_timeout = boot_timeout or float(
            os.environ.get("SUBNIC_VM_BOOT_TIMEOUT", "180" if self.accel == "tcg" else "60"))
        self.proc = None
        self.boot_seconds = None
        self.console_log = self.workdir / ("%s.console.log" % name)
        self.qmp_path = self.workdir / ("%s.qmp" % name)
        self._buf = ""
        self._cond = threading.Condition()
        self._eof = False
        self._reader = None
        self._t0 = None
        self._ready = False
        self._busy = False  # a run() is in progress (or was cut short by an exception)

    # -- lifecycle
    def argv(self):
        g = self.guest or ensure_guest()
        kernel = g / "vmlinux" if (g / "vmlinux").exists() else g / "vmlinuz"  # PVH: faster
        nargs, devextra = self.netdev.args(self.mem)
        cmdline = "console=ttyS0 quiet panic=-1 subnic.name=%s %s" % (self.name, self.append)
        argv = [qemu_binary(), "-nodefaults", "-no-user-config", "-name", self.name,
                "-accel", self.accel, "-m", str(self.mem), "-smp", "1", "-display", "none",
                "-no-reboot", "-kernel", str(kernel), "-initrd", str(g / "initrd.gz"),
                "-append", cmdline.strip(),
                "-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con",
                "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path]
        if self.accel == "kvm":
            argv += ["-cpu", "host"]
        argv += nargs
        argv += ["-device", "virtio-net-pci,netdev=n0,mac=%s,romfile=%s" % (self.mac, devextra)]
        argv += self.extra_args
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns] + argv
        return argv

    def spawn(self):
        """Starts QEMU without waiting for the guest (see wait_ready)."""
        assert self.proc is None, "started twice"
        argv = self.argv()
        self.workdir.mkdir(parents=True, exist_ok=True)
        L.log("vm %s: %s" % (self.name, " ".join(argv)))
        self._log = open(self.console_log, "wb")
        self._errlog = open(self.workdir / ("%s.qemu.log" % self.name), "wb")
        self._t0 = time.monotonic()
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._errlog, pass_fds=self.netdev.fds(),
                                         start_new_session=True)  # ^C on our terminal is ours
        except OSError as e:
            self._log.close()
            self._errlog.close()
            raise VmError("%s: cannot start QEMU: %s" % (self.name, e)) from e
        finally:
            self.netdev.close()
        _LIVE.append(self)
        if self.lab is not None:
            self.lab.procs.append(self.proc)
            self.lab.note_daemon(self.proc.pid)
        self._reader = threading.Thread(target=self._read, name="vm-%s" % self.name, daemon=True)
        self._reader.start()
        return self

    def wait_ready(self):
        """Waits (boot_timeout) for the guest's shell; sets boot_seconds (QEMU start to shell)."""
        try:
            self._expect(re.compile(re.escape(READY)), 0, self.boot_timeout)
        except VmError as e:
            raise VmError("%s did not boot: %s; console: %s; QEMU stderr: %s"
                          % (self.name, e, self.tail(), self.qemu_stderr())) from None
        self.boot_seconds = time.monotonic() - self._t0
        self._ready = True
        L.log("vm %s: ready after %.1f s" % (self.name, self.boot_seconds))
        return self

    def start(self):
        self.spawn()
        try:
            return self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        """poweroff -f in the guest (after ^C if a command may still run), then SIGTERM and
        SIGKILL to QEMU by PID; always reaped. Idempotent. Returns QEMU's exit status (None if
        never started)."""
        if self.proc is None:
            if self._own_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
            return None
        p = self.proc
        if p.poll() is None and self._ready:  # before its shell runs, the guest would not read it
            try:
                if self._busy:
                    self._write("\x03")  # the tty flushes its input on ^C: poweroff comes after
                    time.sleep(0.3)
                self._write("\npoweroff -f\n")
                p.wait(timeout=timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        for sig_fn in (p.terminate, p.kill):
            if p.poll() is None:
                sig_fn()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        if p.poll() is None:
            p.wait()  # SIGKILLed: cannot take long
        try:
            p.stdin.close()
        except OSError:
            pass
        if self._reader is not None:
            self._reader.join(timeout=5)
        for f in (self._log, self._errlog):
            f.close()
        if self in _LIVE:
            _LIVE.remove(self)
        if self.lab is not None and p in self.lab.procs:
            self.lab.procs.remove(p)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return p.returncode

    # -- console
    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                b = os.read(fd, 65536)
            except OSError:
                b = b""
            if not b:
                with self._cond:
                    self._eof = True
                    self._cond.notify_all()
                return
            try:
                self._log.write(b)
                self._log.flush()
            except ValueError:  # closed by stop()
                pass
            with self._cond:
                self._buf += b.decode("utf-8", "replace").replace("\r", "")
                self._cond.notify_all()

    def _write(self, s):
        self.proc.stdin.write(s.encode())
        self.proc.stdin.flush()

    def _expect(self, rx, pos, timeout):
        """First match of compiled `rx` in the console output from offset `pos`; VmError at
        EOF (QEMU exited), VmTimeout after `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self._buf, pos)
                if m:
                    return m
                if self._eof:
                    raise VmError("%s: QEMU exited (%s)" % (self.name, self.proc.poll()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise VmTimeout("%s: no %r within %.0f s" % (self.name, rx.pattern, timeout))
                self._cond.wait(min(left, 1.0))

    def output_since(self, pos=0):
        with self._cond:
            return self._buf[pos:]

    def qemu_stderr(self, n=1500):
        try:
            return (self.workdir / ("%s.qemu.log" % self.name)).read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def tail(self, n=1500):
        with self._cond:
            return self._buf[-n:]

    def run(self, cmd, timeout=30, check=False):
        """Runs shell command(s) `cmd` in the guest (stdin /dev/null, stderr into stdout);
        returns (exit status, output). On timeout the command gets ^C (SIGINT) and VmTimeout is
        raised. check=True: VmError on a non-zero status."""
        if not self.alive():
            raise VmError("%s is not running" % self.name)
        tok = secrets.token_hex(6)
        line = "echo __S_%s; { %s\n} </dev/null 2>&1; echo __E_%s_$?\n" % (tok, cmd, tok)
        if any(len(l) > MAX_LINE for l in line.split("\n")):
            raise VmError("command line longer than %d bytes" % MAX_LINE)
        with self._cond:
            pos = len(self._buf)
        self._busy = True
        self._write(line)
        start = self._expect(re.compile(r"^__S_%s\n|^%s" % (tok, re.escape(SHELL_EXITED)), re.M),
                             pos, timeout)
        if start.group(0).startswith(SHELL_EXITED):
            # the shell did not parse the line (a syntax error ends it); init starts another
            self._expect(re.compile(re.escape(READY)), start.end(), 15)
            self._busy = False
            raise VmError("%s: the guest shell rejected %r: %s"
                          % (self.name, cmd, self.output_since(pos)[:500].strip()))
        try:
            end = self._expect(re.compile(r"^__E_%s_(\d+)\n" % tok, re.M), start.end(), timeout)
            self._busy = False
        except VmTimeout:
            self._write("\x03")
            try:
                self._expect(re.compile(r"^__E_%s_(\d+)\n" % tok, re.M), start.end(), 5)
            except VmError:
                pass
            raise VmTimeout("%s: %r did not finish within %s s; output: %s"
                            % (self.name, cmd, timeout, self.output_since(start.end())[-1000:])) from None
        rc = int(end.group(1))
        out = self.output_since(start.end())[: end.start() - start.end()]
        if check and rc != 0:
            raise VmError("%s: %r exited %d: %s" % (self.name, cmd, rc, out.strip()))
        return rc, out

    # -- conveniences
    def dhcp(self, iface="eth0", tries=5, timeout=60):
        """busybox udhcpc (the guest's default script configures address and default route);
        returns the leased IPv4 address. VmError when no lease."""
        rc, out = self.run("udhcpc -i %s -q -n -t %d -T 2" % (iface, tries), timeout=timeout)
        if rc != 0:
            raise VmError("%s: no DHCP lease: %s" % (self.name, out.strip()))
        return self.ipv4(iface)

    def ipv4(self, iface="eth0"):
        _, out = self.run("ip -4 -o addr show dev %s" % iface, check=True)
        m = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
        return m.group(1) if m else None

    def set_ip(self, cidr, iface="eth0"):
        self.run("ip addr add %s dev %s && ip link set %s up" % (cidr, iface, iface), check=True)

    def ping(self, dst, count=1, wait=2, timeout=None):
        """True if `dst` answered (busybox ping -c count -W wait)."""
        rc, _ = self.run("ping -c %d -W %d %s" % (count, wait, dst), timeout=timeout or (count * wait + 10))
        return rc == 0

    def qmp(self, execute, timeout=10, **arguments):
        """One QMP command (e.g. qmp("set_link", name="n0", up=False)); returns its "return"
        value, VmError on an "error" reply."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(str(self.qmp_path))
            f = s.makefile("rwb")

            def reply():
                while True:
                    line = f.readline()
                    if not line:
                        raise VmError("%s: QMP closed" % self.name)
                    msg = json.loads(line)
                    if "return" in msg or "error" in msg:
                        return msg

            f.readline()  # greeting
            f.write(b'{"execute": "qmp_capabilities"}\n')
            f.flush()
            reply()
            cmd = {"execute": execute}
            if arguments:
                cmd["arguments"] = arguments
            f.write(json.dumps(cmd).encode() + b"\n")
            f.flush()
            msg = reply()
        except (OSError, ValueError) as e:
            raise VmError("%s: QMP %s: %s" % (self.name, execute, e)) from e
        finally:
            s.close()
        if "error" in msg:
            raise VmError("%s: QMP %s: %s" % (self.name, execute, msg["error"]))
        return msg["return"]


def start_all(vms):
    """Boots several VMs at once (their boots overlap); stops all of them if one fails."""
    try:
        for vm in vms:
            vm.spawn()
        for vm in vms:
            vm.wait_ready()
    except BaseException:
        for vm in vms:
            vm.stop()
        raise
    return vms
