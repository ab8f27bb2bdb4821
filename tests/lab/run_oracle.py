#!/usr/bin/env python3
"""Kernel-oracle runner for the lab cases of semantics.md §10.1 (macvlan), §10.3 (ipvlan), §10.4
(802.1Q) and §10.5 (veth, bridge; scenarios_l2.py).

    run_oracle.py --case T-MV-01 [--backend kernel|subnic|both|auto]
                  [--subnic BIN] [--subnicd BIN] [--show] [--json FILE]
    run_oracle.py --all [...]        every registered case
    run_oracle.py --list

kernel  builds a fresh lab, runs the case on kernel macvlan, checks the
        observation against the expectation from semantics.md.
subnic  the same on subnicd (expectations with the case's [CONSUME] cells
        replaced by subnic's known values).
both    kernel (checked against semantics.md), then a fresh lab on subnic;
        the two observations must be identical except the [CONSUME] cells,
        where subnic's known value is asserted instead.
auto    (what ctest runs for ipvlan and vlan cases) ipvlan/vlan cases: subnic
        under CI=true, else both when this kernel has the driver (ipvlan, 8021q),
        else subnic; other cases: the default below.
Default: both when the subnic binaries exist, else kernel. ipvlan cases
(T-IV-xx, IPVLAN-*) default to subnic: their expectations come from
semantics.md because the build kernel has no ipvlan; the kernel backend on a
kernel without ipvlan reports that and exits 77 (also under CI=true). For
ipvlan cases the subnic-specific cells are "deviations" (each with its
reason, see --list), handled like the [CONSUME] cells.

Exit status: 0 pass, 1 fail, 77 skip (not root, tool or binary missing).
With CI=true in the environment a missing prerequisite is a failure (1).
"""

import argparse
import json
import os
import shutil
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lab as L  # noqa: E402
from scenarios import CASES  # noqa: E402
import scenarios_ipvlan  # noqa: E402,F401 - registers the ipvlan cases in CASES
import scenarios_l2  # noqa: E402,F401 - registers the vlan, veth and bridge cases (issue 4)
import scenarios_vm  # noqa: E402,F401 - registers the VM cases: macvtap/ipvtap (issue 5)

EXIT_PASS, EXIT_FAIL, EXIT_SKIP = 0, 1, 77
MISSING = "<missing>"


def flatten(obs, prefix=""):
    """Nested dict -> {dotted.path: leaf}. Lists are leaves."""
    out = {}
    if isinstance(obs, dict):
        for k, v in obs.items():
            p = "%s.%s" % (prefix, k) if prefix else str(k)
            if isinstance(v, dict) and v:
                out.update(flatten(v, p))
            else:
                out[p] = v
    else:
        out[prefix] = obs
    return out


def fmt(v):
    return json.dumps(v, sort_keys=True) if v is not MISSING else MISSING


def check_expect(obs, expect, overrides=None):
    """Failures of `obs` against {path: value} (overrides replace values)."""
    flat = flatten(obs)
    exp = dict(expect)
    exp.update(overrides or {})
    fails = []
    for path, want in sorted(exp.items()):
        got = flat.get(path, MISSING)
        if got != want:
            fails.append("  %-32s expected %s, got %s" % (path, fmt(want), fmt(got)))
    return fails


def compare(kobs, sobs, consume):
    """Cells where subnic differs from the kernel (consume cells excluded)."""
    k, s = flatten(kobs), flatten(sobs)
    diffs = []
    for path in sorted(set(k) | set(s)):
        if path in consume:
            continue
        kv, sv = k.get(path, MISSING), s.get(path, MISSING)
        if kv != sv:
            diffs.append("  %-32s kernel %s | subnic %s" % (path, fmt(kv), fmt(sv)))
    return diffs


def skip(reason):
    if os.environ.get("CI") == "true":
        print("FAIL (CI=true, prerequisite missing): %s" % reason)
        return EXIT_FAIL
    print("SKIP: %s" % reason)
    return EXIT_SKIP


def preflight():
    """None if the lab can run, else the reason."""
    if os.geteuid() != 0:
        return "not root (the lab creates network namespaces)"
    for tool in ("ip", "bridge", "ping"):
        if shutil.which(tool) is None:
            return "tool missing: %s" % tool
    if not os.path.isdir("/proc/self/ns") or not os.path.exists("/proc/self/ns/net"):
        return "no network namespaces"
    return None


def run_on(case, backend, args):
    """Build a fresh lab on `backend`, run the case, tear down.
    Returns (observation, [problems])."""
    lab = L.Lab(backend, subnic=args.subnic, subnicd=args.subnicd, kind=getattr(case, "kind", "macvlan"))
    obs, problems = None, []
    try:
        lab.build()
        obs = case.func(lab)
    finally:
        problems = lab.teardown()
    return obs, problems


def run_case(case, args):
    """Returns EXIT_* for one case and prints the report."""
    backend = args.backend
    if backend == "auto":
        backend = auto_backend(case, args)
    backend = backend or case_default_backend(case, args)
    args = argparse.Namespace(**dict(vars(args), backend=backend))
    print("== %s %s (backend %s)" % (case.id, case.title, args.backend))
    observations = {}
    failed = False
    word = "deviation" if getattr(case, "kind", "macvlan") != "macvlan" else "[CONSUME]"
    consume, reasons = case.consume, getattr(case, "reasons", {})
    backends = ["kernel", "subnic"] if args.backend == "both" else [args.backend]
    for b in backends:
        if b != "kernel" and not args.have_subnic:
            return skip("subnic binaries missing: %s, %s" % (args.subnic, args.subnicd))
        try:
            obs, problems = run_on(case, b, args)
        except L.LabKernelLacks as e:
            print("SKIP %s %s: %s" % (case.id, b, e))
            return EXIT_SKIP
        except L.LabSkip as e:
            return skip("%s: %s" % (b, e))
        except L.LabError as e:
            print("FAIL %s %s: lab error: %s" % (case.id, b, e))
            if os.environ.get("SUBNIC_LAB_VERBOSE"):
                traceback.print_exc()
            return EXIT_FAIL
        except Exception:  # noqa: BLE001 - a scenario crashed; the lab is already torn down
            print("FAIL %s %s: scenario raised:" % (case.id, b))
            traceback.print_exc(file=sys.stdout)
            return EXIT_FAIL
        observations[b] = obs
        if b != "kernel" and hasattr(case, "consume_for"):
            consume, reasons = case.consume_for(obs), case.reasons_for(obs)
        if args.show:
            print("-- observation (%s):" % b)
            print(json.dumps(obs, indent=1, sort_keys=True))
        for p in problems:
            print("FAIL %s %s: %s" % (case.id, b, p))
            failed = True
        if b == "kernel":
            fails = check_expect(obs, case.expect)
            label = "kernel vs semantics.md"
        elif args.backend == "subnic":
            fails = check_expect(obs, case.expect, consume)
            label = "subnic vs semantics.md (%s cells: subnic's known values)" % word
        else:
            fails = check_expect(obs, {p: consume[p] for p in consume})
            label = "subnic %s cells vs subnic's known values" % word
        if fails:
            failed = True
            print("FAIL %s %s: %s:" % (case.id, b, label))
            print("\n".join(fails))
        else:
            n = len(case.expect) if b == "kernel" or args.backend == "subnic" else len(consume)
            print("ok   %s %s: %s (%d cells)" % (case.id, b, label, n))
        if b != "kernel" and reasons:
            by_reason = {}
            for path in sorted(reasons):
                by_reason.setdefault(reasons[path], []).append(path)
            for reason, paths in by_reason.items():
                print("     deviation %s" % reason)
                print("       kernel -> subnic: %s" % ", ".join(
                    "%s %s->%s" % (p, fmt(case.expect[p]), fmt(consume[p])) for p in paths))
    if args.backend == "both":
        diffs = compare(observations["kernel"], observations["subnic"], consume)
        if diffs:
            failed = True
            print("FAIL %s: observations differ (kernel | subnic), %s cells excluded: %s"
                  % (case.id, word, ", ".join(sorted(consume)) or "none"))
            print("\n".join(diffs))
        else:
            n = len(flatten(observations["kernel"]))
            print("ok   %s: kernel and subnic observations identical (%d cells, %d %s excluded)"
                  % (case.id, n - len(consume), len(consume), word))
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps({"case": case.id, "observations": observations}, sort_keys=True) + "\n")
    print("%s %s" % ("FAIL" if failed else "PASS", case.id))
    return EXIT_FAIL if failed else EXIT_PASS


_KERNEL_HAS = {}


def auto_backend(case, args):
    """--backend auto: for a case of a kind the build kernel may lack (ipvlan), subnic under
    CI=true, else both if this kernel has the driver, else subnic; others: the default."""
    kind = getattr(case, "kind", "macvlan")
    if kind in ("macvlan", "l2"):
        return None
    if os.environ.get("CI") == "true":
        return "subnic"
    if kind not in _KERNEL_HAS:
        _KERNEL_HAS[kind] = L.kernel_has(kind)
        if not _KERNEL_HAS[kind]:
            print("note: this kernel has no %s driver: subnic backend only (expectations from semantics.md)"
                  % kind)
    return "both" if _KERNEL_HAS[kind] else "subnic"


def case_default_backend(case, args):
    """--backend not given: ipvlan cases run on subnic (no kernel oracle on the build
    machine); the others on both when the subnic binaries exist, else on the kernel."""
    if getattr(case, "default_backend", None):
        return case.default_backend
    return "both" if args.have_subnic else "kernel"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", action="append", help="case ID, e.g. T-MV-01 (repeatable)")
    ap.add_argument("--all", action="store_true", help="run every registered case")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--ids", action="store_true", help="print the case IDs, one a line (for CMake)")
    ap.add_argument("--backend", choices=("kernel", "subnic", "both", "auto"))
    ap.add_argument("--subnic", default=str(L.REPO / "build/src/cli/subnic"))
    ap.add_argument("--subnicd", default=str(L.REPO / "build/src/daemon/subnicd"))
    ap.add_argument("--show", action="store_true", help="print the observations")
    ap.add_argument("--json", help="append the observations as JSON lines to this file")
    ap.add_argument("-v", "--verbose", action="store_true", help="log every command (stderr)")
    args = ap.parse_args(argv)

    if args.ids:
        print("\n".join(CASES))
        return EXIT_PASS
    if args.list:
        for cid, c in CASES.items():
            reasons = getattr(c, "reasons", {})
            if reasons or getattr(c, "notes", None):
                print("%-8s %s" % (cid, c.title))
                by_reason = {}
                for path in sorted(reasons):
                    by_reason.setdefault(reasons[path], []).append(path)
                for reason, paths in by_reason.items():
                    print("           deviation %s" % reason)
                    print("             subnic: %s" % ", ".join("%s=%s" % (p, fmt(c.consume[p])) for p in paths))
                for note in getattr(c, "notes", []):
                    print("           note: %s" % note)
            else:
                print("%-8s %s%s" % (cid, c.title, "  [CONSUME: %s]" % ", ".join(c.consume) if c.consume else ""))
        return EXIT_PASS
    if args.verbose:
        os.environ["SUBNIC_LAB_VERBOSE"] = "1"
    ids = list(CASES) if args.all else (args.case or [])
    if not ids:
        ap.error("give --case ID, --all or --list")
    unknown = [c for c in ids if c not in CASES]
    if unknown:
        ap.error("unknown case(s): %s (see --list)" % ", ".join(unknown))

    args.subnic, args.subnicd = os.path.abspath(args.subnic), os.path.abspath(args.subnicd)
    have_subnic = all(os.path.isfile(p) and os.access(p, os.X_OK) for p in (args.subnic, args.subnicd))
    args.have_subnic = have_subnic
    if args.backend is None:
        if not have_subnic:
            print("note: subnic binaries not found (%s, %s): kernel backend only for macvlan cases"
                  % (args.subnic, args.subnicd))
    elif args.backend not in ("kernel", "auto") and not have_subnic:
        return skip("subnic binaries missing: %s, %s" % (args.subnic, args.subnicd))

    reason = preflight()
    if reason:
        return skip(reason)
    L.install_handlers()
    try:
        L.clean_stale()
        results = [run_case(CASES[cid], args) for cid in ids]
    except L.LabInterrupted as e:
        print("FAIL: interrupted (%s); lab torn down" % e)
        return EXIT_FAIL
    if any(r == EXIT_FAIL for r in results):
        return EXIT_FAIL
    if all(r == EXIT_SKIP for r in results):
        return EXIT_SKIP
    return EXIT_PASS


if __name__ == "__main__":
    sys.exit(main())
