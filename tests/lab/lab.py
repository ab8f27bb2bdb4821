"""Namespace lab for subnic: builds TOPO (semantics.md §10.0) and runs probes.

    ns x:  x0 10.0.0.100/24 ──┐
                              ├─ ns es: Linux bridge sw (STP off), ports es_x, es_l
    ns h:  lower eth0 ────────┘        (hairpin is set on es_l)
           10.0.0.254/24 (the lower host stack)
    uppers A..E on eth0, each moved to its own ns a..e, 10.0.0.1..5/24

Every namespace and device carries a per-run prefix ("sn" + 4 hex digits) and
is at most 15 characters. Nothing is created in, attached to, or sent through
the root namespace. State is read with `ip -j` only.

Teardown always runs (try/finally in the runner, atexit here, SIGTERM/SIGINT/
SIGHUP turned into an exception) and kills only processes this module started,
by PID. A run that was killed with SIGKILL leaves a marker file; the next run
removes what the marker lists (namespaces of that prefix, its daemon PID if the
PID still belongs to the same process).

Two backends create and configure the uppers: `kernel` (ip ... type macvlan)
and `subnic` (subnicd in ns h, `subnic` CLI). Everything else (moving to a
namespace, addresses, up/down, MTU, MAC) is plain `ip` for both.

A lab is of one kind, `macvlan` (default) or `ipvlan` (`Lab(kind="ipvlan")`):
the backends create `type <kind>` uppers. An ipvlan lab keeps forwarding off in
ns h (semantics.md §13: should an AF_PACKET lower's stack see the uppers'
unicast, it must not route it back), and on subnic `settle()` also waits until
subnicd knows every upper's addresses.
"""

import atexit
import errno
import ipaddress
import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PROBE = HERE / "probe.py"
MARKER_DIR = Path("/run/subnic-lab")

WINDOW = 1.5  # seconds a listener counts after the action (semantics.md §10.0)
CMD_TIMEOUT = 15.0  # bound on any single command
READY_TIMEOUT = 10.0  # bound on listener start-up
DAEMON_START_TIMEOUT = 10.0
DAEMON_STOP_TIMEOUT = 10.0
SETTLE_TIMEOUT = 3.0  # bound on waiting for subnicd to follow an `ip` change
# subnicd learns an upper's multicast joins by watching its namespace; no
# event or API reports when it has, so a listener that joined a group is
# given this much time before the probe is sent (subnic backend only).
MCAST_SETTLE = float(os.environ.get("SUBNIC_LAB_MCAST_SETTLE", "1.0"))

# Deterministic MACs so that observations of both backends can be compared.
MAC_ETH0 = "02:5e:00:00:00:fe"
MAC_X = "02:5e:00:00:00:64"
UPPER_INDEX = {c: i + 1 for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}


def upper_mac(letter):
    return "02:5e:00:00:00:%02x" % UPPER_INDEX[letter[0]] if len(letter) == 1 else None


class LabError(Exception):
    """The lab could not be built or driven (a failure, not a test result)."""


class LabSkip(Exception):
    """A prerequisite (privilege, tool, kernel feature) is missing."""


class LabKernelLacks(LabSkip):
    """The kernel backend was asked for a driver this kernel does not have (ipvlan on the
    build machine): always a skip (77), also under CI=true (where ctest's `--backend auto`
    runs such cases on subnic only)."""


class LabInterrupted(BaseException):
    """SIGTERM/SIGINT/SIGHUP arrived; unwinds through every finally."""


def log(msg):
    if os.environ.get("SUBNIC_LAB_VERBOSE"):
        sys.stderr.write("lab: %s\n" % msg)
        sys.stderr.flush()


# ---------------------------------------------------------------- commands

# strerror text -> errno name, longest text first so "Address already in use"
# is not shadowed by a shorter text it contains.
_STRERROR = sorted(
    ((os.strerror(n), name) for n, name in errno.errorcode.items()),
    key=lambda t: -len(t[0]),
)


def errname(text):
    """Errno name of the first strerror text found in `text`, or None."""
    for msg, name in _STRERROR:
        if msg in text:
            return name
    return None


class Result:
    def __init__(self, argv, rc, out, err):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err

    @property
    def ok(self):
        return self.rc == 0

    def cell(self):
        """The observation of a command: exit status and errno name.
        `ip` prints "RTNETLINK answers: <strerror>" and exits 2; subnic prints
        the same strerror text and exits 2 (docs/PROTOCOL.md)."""
        return {"rc": self.rc, "err": None if self.rc == 0 else (errname(self.err) or "?")}

    def __repr__(self):
        return "Result(%r, rc=%d, err=%r)" % (" ".join(self.argv), self.rc, self.err.strip())


def run(argv, check=False, timeout=CMD_TIMEOUT, input=None):
    argv = [str(a) for a in argv]
    try:
        p = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:  # subprocess.run killed the child
        raise LabError("timed out after %ss: %s" % (timeout, " ".join(argv))) from e
    except FileNotFoundError as e:
        raise LabSkip("tool missing: %s" % argv[0]) from e
    r = Result(argv, p.returncode, p.stdout, p.stderr)
    log("%s -> %d %s" % (" ".join(argv), r.rc, r.err.strip()))
    if check and not r.ok:
        raise LabError("command failed (%d): %s: %s" % (r.rc, " ".join(argv), r.err.strip()))
    return r


def wait_until(fn, pred, timeout, interval=0.05):
    """Call fn() until pred(value) holds or `timeout` s passed; return last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if pred(v) or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# ---------------------------------------------------------------- cleanup

_LIVE = []  # labs not yet torn down
_handlers_installed = False


def _on_signal(signum, frame):
    raise LabInterrupted("signal %d" % signum)


def install_handlers():
    global _handlers_installed
    if _handlers_installed:
        return
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, _on_signal)
    atexit.register(_teardown_all)
    _handlers_installed = True


def _teardown_all():
    for lab in list(_LIVE):
        try:
            lab.teardown()
        except Exception as e:  # noqa: BLE001 - best effort at exit
            sys.stderr.write("lab: teardown at exit failed: %s\n" % e)


def _proc_starttime(pid):
    try:
        stat = Path("/proc/%d/stat" % pid).read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def clean_stale():
    """Remove what runs that died without teardown (SIGKILL) left behind:
    only the namespaces, temp dirs and daemon PIDs their marker lists."""
    if not MARKER_DIR.is_dir():
        return
    for marker in MARKER_DIR.glob("sn*.json"):
        try:
            info = json.loads(marker.read_text())
        except (OSError, ValueError):
            continue
        pid = info.get("pid")
        if pid and _proc_starttime(pid) == info.get("starttime"):
            continue  # still running
        prefix = info.get("prefix", "")
        if not prefix.startswith("sn"):
            continue
        for d in info.get("daemons", []):
            if _proc_starttime(d["pid"]) == d["starttime"]:
                try:
                    os.kill(d["pid"], signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for ns in info.get("netns", []):
            if ns.startswith(prefix) and Path("/run/netns", ns).exists():
                run(["ip", "netns", "del", ns])
        for t in info.get("tmpdirs", []):
            if Path(t).name.startswith(prefix):
                shutil.rmtree(t, ignore_errors=True)
        marker.unlink(missing_ok=True)


def kernel_has(kind):
    """Whether this kernel can create a `kind` upper (e.g. "ipvlan"): tried on a veth in a
    namespace of a throw-away lab, removed at once."""
    lab = Lab("kernel", kind="macvlan")
    try:
        ns = lab.add_ns("kp")
        v0, v1, q = lab.prefix + "kv0", lab.prefix + "kv1", lab.prefix + "kq"
        lab.ip(ns, "link", "add", v0, "type", "veth", "peer", "name", v1)
        extra = ["id", "10"] if kind == "vlan" else []
        return lab.ip(ns, "link", "add", q, "link", v0, "type", kind, *extra, check=False).ok
    finally:
        lab.teardown()


# ---------------------------------------------------------------- backends


class KernelBackend:
    """Uppers are kernel macvlan devices created in ns h on the lower."""

    name = "kernel"

    def __init__(self, lab):
        self.lab = lab

    def start(self):
        pass

    def stop(self):
        return None

    def _ip(self, *args):
        return run(["ip", *args])

    def add(self, name, lower, generic, typeargs, kind=None):
        return self._ip("-n", self.lab.ns_h, "link", "add", name, "link", lower, *generic,
                        "type", kind or self.lab.upper_kind, *typeargs)

    def set(self, name, args):
        return self._ip("-n", self.lab.where(name), "link", "set", name, "type", self.lab.upper_kind, *args)

    def link_set(self, name, args):
        return self._ip("-n", self.lab.where(name), "link", "set", "dev", name, *args)

    def delete(self, name):
        return self._ip("-n", self.lab.where(name), "link", "del", name)

    def show(self, name):
        r = self._ip("-n", self.lab.where(name), "-j", "-d", "link", "show", "dev", name)
        return json.loads(r.out)[0] if r.ok else None

    def settle(self):
        pass

    def settle_mcast(self):
        pass


class SubnicBackend:
    """Uppers are TAPs owned by subnicd, which runs in ns h."""

    name = "subnic"

    def __init__(self, lab, subnic, subnicd):
        self.lab = lab
        self.subnic = str(subnic)
        self.subnicd = str(subnicd)
        self.proc = None
        self.sock = None
        self.logf = None
        self.logpath = None

    def _cli(self, *args, timeout=CMD_TIMEOUT):
        return run(["ip", "netns", "exec", self.lab.ns_h, self.subnic, "--socket", self.sock, *args],
                   timeout=timeout)

    def start(self):
        for b in (self.subnic, self.subnicd):
            if not (os.path.isfile(b) and os.access(b, os.X_OK)):
                raise LabSkip("subnic binary missing: %s" % b)
        tmp = self.lab.tmpdir
        self.sock = os.path.join(tmp, "subnicd.sock")
        state = os.path.join(tmp, "state")
        os.makedirs(state, exist_ok=True)
        self.logpath = os.path.join(tmp, "subnicd.log")
        self.logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.lab.ns_h, self.subnicd, "--socket", self.sock, "--state-dir", state],
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT)
        self.lab.note_daemon(self.proc.pid)
        deadline = time.monotonic() + DAEMON_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabError("subnicd exited at start (%d): %s" % (self.proc.returncode, self.log_tail()))
            if os.path.exists(self.sock) and self._cli("link", "show", timeout=3).ok:
                return
            time.sleep(0.05)
        raise LabError("subnicd did not answer within %ss: %s" % (DAEMON_START_TIMEOUT, self.log_tail()))

    def log_tail(self, n=4000):
        try:
            return Path(self.logpath).read_bytes()[-n:].decode(errors="replace")
        except (OSError, TypeError):
            return ""

    def stop(self):
        """SIGTERM the daemon (by PID); returns an error string or None."""
        if self.proc is None:
            return None
        p, self.proc = self.proc, None
        problem = None
        if p.poll() is not None:
            problem = "subnicd had already exited with %d" % p.returncode
        else:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=DAEMON_STOP_TIMEOUT)
                if p.returncode != 0:
                    problem = "subnicd exited with %d after SIGTERM" % p.returncode
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
                problem = "subnicd ignored SIGTERM for %ss (killed)" % DAEMON_STOP_TIMEOUT
        if self.logf:
            self.logf.close()
        if problem:
            problem += "\n--- subnicd log tail ---\n" + self.log_tail()
        return problem

    def add(self, name, lower, generic, typeargs, kind=None):
        return self._cli("link", "add", name, "link", lower, *generic, "type", kind or self.lab.upper_kind,
                         *typeargs)

    def set(self, name, args):
        return self._cli("link", "set", name, "type", self.lab.upper_kind, *args)

    def link_set(self, name, args):
        return self._cli("link", "set", "dev", name, *args)

    def delete(self, name):
        return self._cli("link", "del", name)

    def show(self, name):
        r = self._cli("-j", "-d", "link", "show", name)
        if not r.ok:
            return None
        v = json.loads(r.out)
        return v[0] if isinstance(v, list) and v else None

    def settle(self):
        """Wait (bounded) until subnicd's view of every upper matches what
        `ip -j` shows in the upper's namespace (admin state, MAC, MTU)."""
        def mismatch():
            r = self._cli("-j", "link", "show")
            try:
                links = {l["ifname"]: l for l in json.loads(r.out)} if r.ok else {}
            except ValueError:
                links = {}
            bad = []
            for u in self.lab.uppers.values():
                lk = links.get(u.name)
                st = self.lab.link(u.name)
                if lk is None or st is None:
                    continue
                watched = {"UP", "PROMISC", "ALLMULTI"}
                if (watched & set(lk.get("flags", [])) != watched & set(st["flags"])
                        or lk.get("address") != st["address"] or lk.get("mtu") != st["mtu"]):
                    bad.append(u.name)
            return bad
        bad = wait_until(mismatch, lambda b: not b, SETTLE_TIMEOUT)
        if bad:
            log("subnicd's view still differs from ip's for %s" % bad)
        if self.lab.kind == "ipvlan":
            self.settle_addrs()

    def settle_addrs(self):
        """ipvlan: wait (bounded) until subnicd's addresses of every upper (owned and in
        conflict, `subnic -j -d link show`) are the addresses `ip -j addr` shows on it,
        tentative ones left out (subnicd learns them from address events)."""
        def mismatch():
            bad = []
            for u in self.lab.uppers.values():
                have, tentative = self.lab.addrs(u.name)
                if have is None:
                    continue
                v = self.show(u.name)
                if v is None:
                    continue
                sub = v.get("subnic") or {}
                known = {norm_addr(a) for a in (sub.get("addresses") or []) + (sub.get("address_conflicts") or [])}
                if known - tentative != have:
                    bad.append(u.name)
            return bad
        bad = wait_until(mismatch, lambda b: not b, SETTLE_TIMEOUT, interval=0.1)
        if bad:
            log("subnicd's addresses still differ from ip's for %s" % bad)

    def settle_mcast(self):
        time.sleep(min(MCAST_SETTLE, 5.0))


# ---------------------------------------------------------------- the lab


def norm_addr(a):
    """An IP address (optionally with /prefix) in canonical text form."""
    a = str(a).split("/")[0].split("%")[0]
    try:
        return str(ipaddress.ip_address(a))
    except ValueError:
        return a


class Upper:
    def __init__(self, letter, name, ns, mac, ip4, ip6, lower):
        self.letter, self.name, self.ns, self.mac = letter, name, ns, mac
        self.ip4, self.ip6, self.lower = ip4, ip6, lower


class Lab:
    """One instance of TOPO for one backend. Use as a context manager."""

    def __init__(self, backend="kernel", subnic=None, subnicd=None, kind="macvlan"):
        install_handlers()
        assert kind in ("macvlan", "ipvlan", "l2", "vlan"), kind
        self.kind = kind
        # the type of the uppers create() makes; l2/vlan labs (scenarios_l2.py) build their own
        # topology and use macvlan uppers where they need uppers
        self.upper_kind = kind if kind in ("macvlan", "ipvlan") else "macvlan"
        self.prefix = self._pick_prefix()
        self.ns_es = self.prefix + "es"
        self.ns_x = self.prefix + "x"
        self.ns_h = self.prefix + "h"
        self.sw = self.prefix + "sw"
        self.es_x = self.prefix + "esx"
        self.es_l = self.prefix + "esl"
        self.x0 = self.prefix + "x0"
        self.eth0 = self.prefix + "eth0"
        self.namespaces = []
        self.procs = []  # Popen objects of listeners we started
        self.daemons = []
        self.uppers = {}  # letter -> Upper
        self.lowers = {self.eth0}
        self.torn_down = False
        self.tmpdir = tempfile.mkdtemp(prefix=self.prefix + "-")
        self.marker = MARKER_DIR / (self.prefix + ".json")
        self.backend = (KernelBackend(self) if backend == "kernel"
                        else SubnicBackend(self, subnic, subnicd))
        _LIVE.append(self)
        self._write_marker()

    # -- bookkeeping
    @staticmethod
    def _pick_prefix():
        existing = set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()
        for _ in range(50):
            p = "sn" + secrets.token_hex(2)
            if not any(n.startswith(p) for n in existing) and not (MARKER_DIR / (p + ".json")).exists():
                return p
        raise LabError("no free prefix")

    def _write_marker(self):
        MARKER_DIR.mkdir(parents=True, exist_ok=True)
        info = {"prefix": self.prefix, "pid": os.getpid(), "starttime": _proc_starttime(os.getpid()),
                "netns": self.namespaces, "tmpdirs": [self.tmpdir], "daemons": self.daemons}
        tmp = self.marker.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.rename(self.marker)

    def note_daemon(self, pid):
        self.daemons.append({"pid": pid, "starttime": _proc_starttime(pid)})
        self._write_marker()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.teardown()
        return False

    # -- helpers
    def ip(self, ns, *args, check=True):
        return run(["ip", "-n", ns, *args], check=check)

    def ipj(self, ns, *args):
        r = run(["ip", "-n", ns, "-j", *args], check=True)
        return json.loads(r.out) if r.out.strip() else []

    def add_ns(self, short):
        name = self.prefix + short
        assert len(name) <= 15, name
        if name in self.namespaces:
            return name
        self.namespaces.append(name)
        self._write_marker()
        run(["ip", "netns", "add", name], check=True)
        self.ip(name, "link", "set", "lo", "up")
        return name

    def where(self, name):
        """Namespace a device of this lab is in now."""
        for u in self.uppers.values():
            if u.name == name:
                return u.ns
        return self.ns_h

    def link(self, name, details=False, ns=None):
        """`ip -j [-d] link show dev NAME` in its namespace, or None."""
        ns = ns or self.where(name)
        args = ["-n", ns, "-j"] + (["-d"] if details else []) + ["link", "show", "dev", name]
        r = run(["ip", *args])
        if not r.ok:
            return None
        v = json.loads(r.out)
        return v[0] if v else None

    def addrs(self, name, ns=None):
        """(addresses, tentative addresses) on device NAME from `ip -j addr show`, canonical
        text without prefix; (None, None) if the device is not there."""
        ns = ns or self.where(name)
        r = run(["ip", "-n", ns, "-j", "addr", "show", "dev", name])
        if not r.ok:
            return None, None
        try:
            v = json.loads(r.out)
        except ValueError:
            return None, None
        have, tent = set(), set()
        for link in v:
            for a in link.get("addr_info", []):
                if "local" not in a:
                    continue
                (tent if a.get("tentative") else have).add(norm_addr(a["local"]))
        return have, tent

    def macname(self, mac):
        """Symbolic name of a MAC known to the lab, so both backends compare."""
        if mac == MAC_ETH0:
            return "mac(eth0)"
        if mac == MAC_X:
            return "mac(X)"
        for u in self.uppers.values():
            if u.mac == mac:
                return "mac(%s)" % u.letter
        return mac

    # -- build
    def build(self):
        """Create TOPO without uppers, then start the backend."""
        if os.geteuid() != 0:
            raise LabSkip("not root")
        for tool in ("ip", "bridge", "ping"):
            if shutil.which(tool) is None:
                raise LabSkip("tool missing: %s" % tool)
        log("building lab %s (%s)" % (self.prefix, self.backend.name))
        if self.kind in ("l2", "vlan"):
            return self._build_bare()
        es, x, h = self.add_ns("es"), self.add_ns("x"), self.add_ns("h")
        r = self.ip(es, "link", "add", self.sw, "type", "bridge", "stp_state", "0", "mcast_snooping", "0",
                    check=False)
        if not r.ok:
            raise LabSkip("no Linux bridge support: %s" % r.err.strip())
        # veth pairs are created inside ns es; the far ends go straight to x / h
        self.ip(es, "link", "add", self.es_x, "type", "veth", "peer", "name", self.x0, "netns", x)
        self.ip(es, "link", "add", self.es_l, "type", "veth", "peer", "name", self.eth0, "netns", h)
        for port in (self.es_x, self.es_l):
            self.ip(es, "link", "set", port, "master", self.sw)
            self.ip(es, "link", "set", port, "up")
        self.ip(es, "link", "set", self.sw, "up")
        self.hairpin(False)
        self.ip(x, "link", "set", self.x0, "address", MAC_X)
        self.ip(x, "addr", "add", "10.0.0.100/24", "dev", self.x0)
        self.ip(x, "addr", "add", "fd00::100/64", "dev", self.x0, "nodad")
        self.ip(x, "link", "set", self.x0, "up")
        self.ip(h, "link", "set", self.eth0, "address", MAC_ETH0)
        self.ip(h, "addr", "add", "10.0.0.254/24", "dev", self.eth0)
        self.ip(h, "addr", "add", "fd00::254/64", "dev", self.eth0, "nodad")
        self.ip(h, "link", "set", self.eth0, "up")
        if self.kind == "ipvlan":
            # semantics.md §13: the lower's stack sees the uppers' unicast too (AF_PACKET); with
            # forwarding on it would route it back. Off is a new namespace's default; made sure.
            for key in ("net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"):
                run(["ip", "netns", "exec", h, "sysctl", "-qw", key + "=0"], check=True)
        if self.backend.name == "kernel":
            q = self.prefix + ("mvq" if self.kind == "macvlan" else "ivq")
            probe = self.ip(h, "link", "add", q, "link", self.eth0, "type", self.kind, check=False)
            if not probe.ok:
                if self.kind == "ipvlan":
                    raise LabKernelLacks(
                        "this kernel (%s) has no ipvlan driver (`ip link add ... type ipvlan`: %s); "
                        "the kernel backend cannot run ipvlan cases here, use --backend subnic"
                        % (os.uname().release, probe.err.strip()))
                raise LabSkip("kernel has no macvlan (needed as the oracle): %s" % probe.err.strip())
            self.ip(h, "link", "del", q)
        self.backend.start()
        return self

    def _build_bare(self):
        """l2/vlan labs (scenarios_l2.py): only ns h, where subnicd runs; the case builds the
        rest. A kernel backend for a vlan lab needs 8021q (the build kernel has none)."""
        h = self.add_ns("h")
        self.quiet(h)
        if self.backend.name == "kernel" and self.kind == "vlan":
            v0, v1, q = self.prefix + "kv0", self.prefix + "kv1", self.prefix + "kq"
            self.ip(h, "link", "add", v0, "type", "veth", "peer", "name", v1)
            probe = self.ip(h, "link", "add", "link", v0, "name", q, "type", "vlan", "id", "10", check=False)
            self.ip(h, "link", "del", v0)
            if not probe.ok:
                raise LabKernelLacks(
                    "this kernel (%s) has no 802.1Q driver (`ip link add ... type vlan`: %s); "
                    "the kernel backend cannot run vlan cases here, use --backend subnic"
                    % (os.uname().release, probe.err.strip()))
        self.backend.start()
        return self

    def quiet(self, ns):
        """No IPv6 in namespace `ns` (devices created in or moved to it later included): no
        router solicitations or DAD frames to learn from or to count."""
        for key in ("net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"):
            run(["ip", "netns", "exec", ns, "sysctl", "-qw", key + "=1"], check=True)

    def add_lower(self, short, attach=True, mac=None):
        """Another veth lower in ns h; its peer goes into ns es (on the switch
        if `attach`)."""
        name, peer = self.prefix + short, self.prefix + "p" + short
        assert len(name) <= 15 and len(peer) <= 15
        self.ip(self.ns_es, "link", "add", peer, "type", "veth", "peer", "name", name, "netns", self.ns_h)
        if attach:
            self.ip(self.ns_es, "link", "set", peer, "master", self.sw)
        self.ip(self.ns_es, "link", "set", peer, "up")
        if mac:
            self.ip(self.ns_h, "link", "set", name, "address", mac)
        self.ip(self.ns_h, "link", "set", name, "up")
        self.lowers.add(name)
        return name

    def hairpin(self, on):
        run(["ip", "netns", "exec", self.ns_es, "bridge", "link", "set", "dev", self.es_l,
             "hairpin", "on" if on else "off"], check=True)
        got = self.ipj(self.ns_es, "-d", "link", "show", "dev", self.es_l)[0]
        if got["linkinfo"]["info_slave_data"].get("hairpin") != on:
            raise LabError("hairpin did not become %s on %s" % (on, self.es_l))

    def flush_neigh(self, *namespaces):
        for ns in namespaces or ([self.ns_h, self.ns_x] + [u.ns for u in self.uppers.values()]):
            self.ip(ns, "neigh", "flush", "all")

    # -- uppers
    def upper_name(self, letter):
        return self.prefix + letter

    def create(self, letter, mode=None, args=(), mac="auto", lower=None, generic=()):
        """Create upper `letter` in ns h through the backend; returns the
        command result. `mac`: "auto" = the lab's fixed MAC for the letter,
        None = let the backend choose, else that MAC. `generic`: words that
        go before `type` (e.g. mtu 9000)."""
        name = self.upper_name(letter)
        lower = lower or self.eth0
        if mac == "auto":
            mac = upper_mac(letter)
        gen = (["address", mac] if mac else []) + list(generic)
        typeargs = (["mode", mode] if mode else []) + list(args)
        r = self.backend.add(name, lower, gen, typeargs)
        if r.ok:
            self.uppers[letter] = Upper(letter, name, self.ns_h, mac, None, None, lower)
            if mac is None:
                st = self.link(name, ns=self.ns_h)
                self.uppers[letter].mac = st["address"] if st else None
        return r

    def place(self, letter, ns_short=None, ip4="auto", ip6="auto", up=True, prefix4=24, prefix6=64):
        """Move upper `letter` to its namespace (default: lower-case letter),
        add addresses and set it up, with plain `ip`."""
        u = self.uppers[letter]
        ns = self.add_ns(ns_short or letter.lower())
        idx = UPPER_INDEX[letter]
        if ip4 == "auto":
            ip4 = "10.0.0.%d" % idx
        if ip6 == "auto":
            ip6 = "fd00::%x" % idx
        self.ip(self.ns_h, "link", "set", u.name, "netns", ns)
        u.ns = ns
        if ip4:
            self.ip(ns, "addr", "add", "%s/%d" % (ip4, prefix4), "dev", u.name)
        if ip6:
            self.ip(ns, "addr", "add", "%s/%d" % (ip6, prefix6), "dev", u.name, "nodad")
        u.ip4, u.ip6 = ip4, ip6
        if up:
            self.ip(ns, "link", "set", u.name, "up")
        return u

    def upper(self, letter, mode=None, args=(), up=True, **place_kw):
        """create + place; raises if creation fails."""
        r = self.create(letter, mode, args)
        if not r.ok:
            raise LabError("creating upper %s failed: %r" % (letter, r))
        return self.place(letter, up=up, **place_kw)

    def uppers_setup(self, modes, down=()):
        """modes: {"A": "bridge", ...}. All are created first, then placed."""
        for letter, mode in modes.items():
            r = self.create(letter, mode)
            if not r.ok:
                raise LabError("creating upper %s failed: %r" % (letter, r))
        for letter in modes:
            self.place(letter, up=letter not in down)
        self.settle()

    def set_link(self, letter_or_name, *args):
        """`link set NAME ARGS`: for an upper through the backend's own CLI (`ip` for the
        kernel's macvlan, `subnic` for subnic's, which is where their errors come from); for
        any other device plain `ip` in the device's namespace. A Result."""
        name = self.uppers[letter_or_name].name if letter_or_name in self.uppers else letter_or_name
        if letter_or_name in self.uppers or name in {u.name for u in self.uppers.values()}:
            r = self.backend.link_set(name, args)
        else:
            r = self.ip(self.where(name), "link", "set", "dev", name, *args, check=False)
        self.settle()
        return r

    def ip_set_link(self, letter_or_name, *args):
        """Plain `ip link set NAME ARGS` in the device's namespace, whatever the device is.
        On a subnic upper (a TAP) `ip` cannot fail where the kernel's macvlan would; subnic
        undoes the change instead, so callers compare the resulting state, not the exit code."""
        name = self.uppers[letter_or_name].name if letter_or_name in self.uppers else letter_or_name
        r = self.ip(self.where(name), "link", "set", "dev", name, *args, check=False)
        self.settle()
        return r

    def settle(self):
        self.backend.settle()

    def state(self, letter_or_name):
        """The `ip -j link show` fields both backends must agree on."""
        name = self.uppers[letter_or_name].name if letter_or_name in self.uppers else letter_or_name
        st = self.link(name)
        if st is None:
            return {"exists": False}
        flags = st.get("flags", [])
        return {"exists": True, "admin_up": "UP" in flags, "no_carrier": "NO-CARRIER" in flags,
                "lower_up": "LOWER_UP" in flags, "oper_up": st.get("operstate") == "UP",
                "mtu": st.get("mtu"), "address": self.macname(st.get("address"))}

    # -- traffic
    def ping(self, ns, dst, nonce=None, count=2, wait=1):
        """`ping -c2 -W1` (interval 0.2 s to keep the suite fast): ok = >= 1 reply."""
        args = ["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", str(count), "-W", str(wait),
                "-i", "0.2"]
        if nonce:
            args += ["-p", nonce]
        r = run(args + [dst], timeout=count * 0.2 + wait + 10)
        received = 0
        for line in r.out.splitlines():
            if "received" in line:
                for part in line.split(","):
                    if "received" in part:
                        received = int(part.split()[0])
        return {"ok": received > 0}

    def ping_size(self, ns, dst, size, count=2, wait=1):
        """A ping with `size` bytes of payload (above the MTU: IP fragments). ok = >= 1 reply."""
        args = ["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", str(count), "-W", str(wait),
                "-i", "0.2", "-s", str(size), dst]
        r = run(args, timeout=count * 0.2 + wait + 10)
        return {"ok": " 0 received" not in r.out and "received" in r.out}

    def tcp_transfer(self, src_ns, dst_ns, dst_ip, nbytes=4 << 20, port=5201, timeout=20):
        """Sends `nbytes` of seeded random bytes over TCP from src_ns to dst_ip:port (a
        listener in dst_ns) and compares SHA-256 on both ends. {"ok": same digest and length}.
        `timeout`: seconds each side waits for the connection and for each read."""
        recv = ("import hashlib,socket,sys\n"
                "s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET)\n"
                "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                "s.bind((sys.argv[1],int(sys.argv[2])));s.listen(1);s.settimeout(float(sys.argv[3]))\n"
                "print('ready',flush=True)\n"
                "c,_=s.accept();c.settimeout(float(sys.argv[3]));h=hashlib.sha256();n=0\n"
                "while True:\n"
                "  b=c.recv(1<<16)\n"
                "  if not b: break\n"
                "  h.update(b);n+=len(b)\n"
                "print(n,h.hexdigest(),flush=True)\n")
        send = ("import hashlib,random,socket,sys\n"
                "data=random.Random(7).randbytes(int(sys.argv[3]))\n"
                "s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=float(sys.argv[4]))\n"
                "s.sendall(data);s.shutdown(socket.SHUT_WR);s.recv(1)\n"
                "print(len(data),hashlib.sha256(data).hexdigest(),flush=True)\n")
        bind = "::" if ":" in dst_ip else "0.0.0.0"
        rp = subprocess.Popen(["ip", "netns", "exec", dst_ns, "python3", "-c", recv, bind, str(port),
                               str(timeout)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            if rp.stdout.readline().strip() != "ready":
                return {"ok": False}
            r = run(["ip", "netns", "exec", src_ns, "python3", "-c", send, dst_ip, str(port),
                     str(nbytes), str(timeout)], timeout=2 * timeout)
            got = rp.communicate(timeout=timeout + 10)[0].strip()
            return {"ok": r.ok and got == r.out.strip() and got.startswith(str(nbytes) + " ")}
        except subprocess.TimeoutExpired:
            return {"ok": False}
        finally:
            if rp.poll() is None:
                rp.kill()
                rp.wait(timeout=5)

    def listener_specs(self, match="udp", port=9999, join=None, ethertypes=None, uppers=None,
                       host=True, x=True, wire=True, extra=None, join_mac=None):
        """Listeners for a probe: every placed upper that exists, the lower
        host (eth0 in ns h: taps + stack), X (x0) and the wire (es_l, frames
        only). `join`: {listener: [groups]}; `join_mac`: {listener: [link-layer
        multicast MACs]} (added to the listener interface's multicast list)."""
        specs = {}
        for u in self.uppers.values():
            if uppers is not None and u.letter not in uppers:
                continue
            if u.ns != self.ns_h and self.link(u.name) is not None:
                specs[u.letter] = dict(ns=u.ns, iface=u.name, port=port, match=match,
                                       join=(join or {}).get(u.letter), ethertypes=ethertypes)
        if host:
            specs["host"] = dict(ns=self.ns_h, iface=self.eth0, port=port, match=match,
                                 join=(join or {}).get("host"), ethertypes=ethertypes)
        if x:
            specs["X"] = dict(ns=self.ns_x, iface=self.x0, port=port, match=match,
                              join=(join or {}).get("X"), ethertypes=ethertypes)
        if wire:
            specs["wire"] = dict(ns=self.ns_es, iface=self.es_l, port=0, match=match, join=None,
                                 ethertypes=ethertypes)
        for name, spec in (extra or {}).items():
            specs[name] = dict(dict(match=match, join=None, ethertypes=ethertypes, port=port), **spec)
        for name, spec in specs.items():
            spec["match_port"] = port  # frames are matched by the probe's port even without a socket
            if (join_mac or {}).get(name):
                spec["join_mac"] = join_mac[name]
        return specs

    def capture(self, specs, action, nonces, window=WINDOW):
        """Start all listeners in parallel, wait for READY, run action(),
        send GO, collect. Returns (action result, {nonce: {listener: counts}}).
        `window`: seconds each listener counts after GO (default WINDOW)."""
        procs = {}
        try:
            for name, s in specs.items():
                argv = ["ip", "netns", "exec", s["ns"], sys.executable, str(PROBE), "listen",
                        "--match", s["match"], "--time", str(window), "--port", str(s["port"] or 0)]
                for n in nonces:
                    argv += ["--nonce", n]
                if s.get("iface"):
                    argv += ["--iface", s["iface"]]
                if s.get("match_port"):
                    argv += ["--match-port", str(s["match_port"])]
                for et in s.get("ethertypes") or []:
                    argv += ["--ethertype", hex(et)]
                for g in s.get("join") or []:
                    argv += ["--join", g]
                for m in s.get("join_mac") or []:
                    argv += ["--join-mac", m]
                if s.get("detail"):
                    argv += ["--detail"]
                p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
                self.procs.append(p)
                procs[name] = p
            deadline = time.monotonic() + READY_TIMEOUT
            for name, p in procs.items():
                left = deadline - time.monotonic()
                r, _, _ = select.select([p.stdout], [], [], max(0.0, left))
                line = p.stdout.readline() if r else ""
                if line.strip() != "READY":
                    p.kill()
                    raise LabError("listener %s did not start: %s %s" % (name, line, p.stderr.read()))
            if any(s.get("join") or s.get("join_mac") for s in specs.values()):
                self.backend.settle_mcast()
            result = action()
            for p in procs.values():
                p.stdin.write("GO\n")
                p.stdin.flush()
            out = {n: {} for n in nonces}
            for name, p in procs.items():
                o, err = p.communicate(timeout=window + 10)
                if p.returncode != 0:
                    raise LabError("listener %s failed: %s" % (name, err))
                v = json.loads(o.strip().splitlines()[-1])
                if not v["go"]:
                    raise LabError("listener %s never got GO" % name)
                for n, c in v["counts"].items():
                    if name == "wire" or c["stack"] is None:
                        c.pop("stack")
                    out[n][name] = c
            return result, out
        finally:
            for p in procs.values():
                self._reap(p)

    def _reap(self, p):
        if p.poll() is None:
            p.kill()  # by PID, a process we started
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if p in self.procs and p.poll() is not None:
            self.procs.remove(p)

    def send(self, ns, kind, nonce, iface=None, dst=None, port=9999, ethertype=None, src=None):
        argv = ["ip", "netns", "exec", ns, sys.executable, str(PROBE), "send", "--kind", kind,
                "--nonce", nonce, "--port", str(port)]
        if iface:
            argv += ["--iface", iface]
        if dst:
            argv += ["--dst", dst]
        if src:
            argv += ["--src", src]
        if ethertype is not None:
            argv += ["--ethertype", hex(ethertype)]
        r = run(argv)
        if not r.ok:
            raise LabError("sender failed: %r %s" % (r, r.out))
        return json.loads(r.out)

    def sender(self, who):
        """(ns, iface) of a sender: an upper letter, "X" or "host"."""
        if who == "X":
            return self.ns_x, self.x0
        if who == "host":
            return self.ns_h, self.eth0
        if who == "wire":  # es_l itself: frames go straight to eth0, bypassing the switch
            return self.ns_es, self.es_l
        u = self.uppers[who]
        return u.ns, u.name

    def probes(self, probes, port=9999, join=None, **listen_kw):
        """Several independent probes in one counting window (each has its
        own nonce). probes: list of dicts kind=bcast|ucast|mcast|raw, src=
        letter|"X"|"host", dst=IP or MAC, ethertype=, srcmac=. All must use
        the same listener match (udp for the IP kinds, raw for raw).
        Returns one {listener: counts} per probe, in order."""
        kinds = {"raw" if p["kind"] == "raw" else "udp" for p in probes}
        assert len(kinds) == 1, "mixing raw and UDP probes in one window"
        match = kinds.pop()
        nonces = [secrets.token_hex(8) for _ in probes]
        ethertypes = sorted({p.get("ethertype", 0x88B5) for p in probes}) if match == "raw" else None
        specs = self.listener_specs(match=match, port=port if match == "udp" else 0, join=join,
                                    ethertypes=ethertypes, **listen_kw)

        def action():
            for n, p in zip(nonces, probes):
                ns, iface = self.sender(p["src"])
                dst = p.get("dst") or ("10.0.0.255" if p["kind"] == "bcast" else None)
                self.send(ns, p["kind"], n, iface=iface, dst=dst, port=p.get("port", port),
                          ethertype=p.get("ethertype"), src=p.get("srcmac"))

        _, counts = self.capture(specs, action, nonces)
        return [counts[n] for n in nonces]

    def probe(self, kind, src, dst=None, **kw):
        """One probe; {listener: counts}."""
        pr = {"kind": kind, "src": src, "dst": dst}
        for k in ("ethertype", "srcmac"):
            if k in kw:
                pr[k] = kw.pop(k)
        return self.probes([pr], **kw)[0]

    def ping_wire(self, src, dst_ip):
        """ping from `src` with a nonce pattern; counts the echo frames on es_l
        (wire_in: eth0 -> switch, wire_out: switch -> eth0)."""
        nonce = secrets.token_hex(8)
        ns, _ = self.sender(src)
        specs = {"wire": dict(ns=self.ns_es, iface=self.es_l, port=0, match="icmp", join=None)}
        res, counts = self.capture(specs, lambda: self.ping(ns, dst_ip, nonce=nonce), [nonce])
        w = counts[nonce]["wire"]
        return {"ok": res["ok"], "wire_in": w["frames"], "wire_out": w["out"]}

    # -- teardown
    def teardown(self):
        """Idempotent. Returns a list of problems (daemon exit status...)."""
        if self.torn_down:
            return []
        self.torn_down = True
        # A second SIGTERM/SIGINT must not cut the cleanup short.
        blocked = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            return self._teardown()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)

    def _teardown(self):
        problems = []
        for p in list(self.procs):
            self._reap(p)
        try:
            err = self.backend.stop()
            if err:
                problems.append(err)
        except Exception as e:  # noqa: BLE001
            problems.append("stopping the backend failed: %s" % e)
        for ns in reversed(self.namespaces):
            if Path("/run/netns", ns).exists():
                r = run(["ip", "netns", "del", ns])
                if not r.ok:
                    problems.append("ip netns del %s: %s" % (ns, r.err.strip()))
        # Devices of ours must never end up in the root namespace; if the
        # kernel moved one back there when its namespace died, remove it.
        r = run(["ip", "-j", "link", "show"])
        if r.ok:
            for l in json.loads(r.out):
                if l.get("ifname", "").startswith(self.prefix):
                    problems.append("device %s appeared in the root namespace" % l["ifname"])
                    run(["ip", "link", "del", l["ifname"]])
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        self.marker.unlink(missing_ok=True)
        if self in _LIVE:
            _LIVE.remove(self)
        return problems
