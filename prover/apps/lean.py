"""``proofforge-lean``: report on (``doctor``), set up (``setup``) or check (``selftest``) the Lean side.

``doctor`` prints the toolchain, Mathlib and REPL versions found in ``lean_project``
(pins, manifest, and the checked-out packages' own ``lean-toolchain``) and says
whether they agree: a REPL built for another Lean gives wrong verdicts (repl #76).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from prover.exit_codes import SETUP, USAGE
from prover.lean import pins
from prover.lean.project import (
    LeanMissingError,
    find_lake,
    find_lean_project,
    lakefile_requires,
    manifest_packages,
    repl_binary,
)


@dataclass
class PinReport:
    """What the Lake project says about each pin, and whether they agree."""

    toolchain: str | None = None
    mathlib_rev: str | None = None
    repl_rev: str | None = None
    manifest: dict[str, str] = field(default_factory=dict)
    package_toolchains: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_pins(project: Path) -> PinReport:
    """Compare lean-toolchain, lakefile.toml, lake-manifest.json and the packages' toolchains with pins.py."""
    r = PinReport()
    r.toolchain = (project / "lean-toolchain").read_text().strip()
    if r.toolchain != pins.LEAN_TOOLCHAIN:
        r.problems.append(f"lean-toolchain is {r.toolchain}, pins.py says {pins.LEAN_TOOLCHAIN}")
    lakefile = project / "lakefile.toml"
    requires = lakefile_requires(project)
    if requires is not None:
        r.mathlib_rev, r.repl_rev = requires.get("mathlib"), requires.get("REPL")
        if r.mathlib_rev != pins.MATHLIB_REV:
            r.problems.append(f"lakefile.toml requires mathlib {r.mathlib_rev}, pins.py says {pins.MATHLIB_REV}")
        if r.repl_rev != pins.REPL_REV:
            r.problems.append(f"lakefile.toml requires REPL {r.repl_rev}, pins.py says {pins.REPL_REV}")
    else:
        r.problems.append(f"{lakefile} is missing")
    version = pins.LEAN_TOOLCHAIN.split(":")[-1]
    for tag, name in ((r.mathlib_rev, "mathlib"), (r.repl_rev, "REPL")):
        if tag and tag.startswith("v") and tag != version:
            r.problems.append(f"{name} tag {tag} does not match the toolchain {version}")
    for pkg in manifest_packages(project):
        r.manifest[pkg.get("name", "?")] = pkg.get("inputRev") or pkg.get("rev", "?")
    for pkg in ("mathlib", "REPL"):
        tc = project / ".lake" / "packages" / pkg / "lean-toolchain"
        if tc.exists():
            r.package_toolchains[pkg] = tc.read_text().strip()
            if r.package_toolchains[pkg] != r.toolchain:
                r.problems.append(f"the checked-out {pkg} is built for {r.package_toolchains[pkg]}, not {r.toolchain}")
    return r


def _version(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "not runnable"


def _fail(message: object, code: int) -> int:
    """One line on stderr, ``proofforge-lean: <what went wrong>``, and the exit code of the table."""
    print(f"proofforge-lean: {message}", file=sys.stderr)
    return code


def doctor(project_dir: str | None = None) -> int:
    try:
        project = find_lean_project(project_dir)
    except LeanMissingError as e:
        return _fail(e, SETUP)
    report = check_pins(project)
    lake = find_lake()
    print(f"Lake project : {project}")
    print(f"toolchain    : {report.toolchain}   (pinned {pins.LEAN_TOOLCHAIN})")
    print(f"Mathlib      : {report.mathlib_rev}   (pinned {pins.MATHLIB_REV})")
    print(f"REPL         : {report.repl_rev}   (pinned {pins.REPL_REV})")
    for name, rev in sorted(report.manifest.items()):
        print(f"manifest     : {name} @ {rev}")
    for name, tc in sorted(report.package_toolchains.items()):
        print(f"checked out  : {name} built for {tc}")
    print(f"lake         : {lake or 'not installed (install elan: https://github.com/leanprover/elan)'}")
    if lake:
        print(f"lean         : {_version([str(lake), 'env', 'lean', '--version'])}")
    binary = repl_binary(project)
    print(f"repl binary  : {binary if binary.exists() else 'not built (lake build ProofForgeLean repl)'}")
    if report.ok:
        print("pins agree   : yes")
        return 0
    print("pins agree   : NO")
    for p in report.problems:
        print(f"  - {p}")
    return 1


def selftest(overrides: list[str], *, only: str | None = None, timeout_case: float | None = None) -> int:
    """Run the acceptance suite (:mod:`prover.lean.selftest`) on the pool ``lean=...`` overrides configure.

    Prints a table (case, needs, expected, got, seconds); 0 only if every verdict that ran matched,
    1 on a mismatch, 2 for a bad config, 4 when the pool cannot start (no Lean, no Ray): the codes of
    :mod:`prover.exit_codes`.
    """
    import asyncio

    from prover.config import compose
    from prover.lean import selftest as st
    from prover.lean.ray_pool import ClusterMissingError
    from prover.lean.verifier_factory import build_verifier

    try:
        lean = compose("check", list(overrides)).lean
    except Exception as e:  # Hydra's errors name the bad override
        return _fail(f"selftest: {e}", USAGE)
    backend = str(lean.get("backend", "local"))
    if backend == "replay":
        return _fail(f"selftest: {st.REPLAY_NOTE}.", USAGE)
    cases = [c for c in st.CASES if only is None or c.needs == only]
    try:
        verifier = build_verifier(lean)
    except (LeanMissingError, ClusterMissingError) as e:
        return _fail(f"selftest: {e}", SETUP)
    except ValueError as e:
        return _fail(f"selftest: {e}", USAGE)

    async def go() -> st.SelftestReport:
        try:
            return await st.run_cases(verifier, cases, backend=backend,
                                      timeout_case_seconds=timeout_case or st.TIMEOUT_CASE_SECONDS)
        finally:
            await verifier.aclose()

    try:
        report = asyncio.run(go())
    except LeanMissingError as e:
        return _fail(f"selftest: {e}", SETUP)
    print(st.format_table(report))
    if backend == "scripted":
        print("note: lean=scripted is the REPL double: this checks ProofForge's code path, not a real Lean.")
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="proofforge-lean", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("doctor", help="report toolchain, Mathlib and REPL pins and whether they agree")
    d.add_argument("--project", default=None)
    s = sub.add_parser("setup", help="install elan and build the REPL (and lean_project with --mathlib)")
    kind = s.add_mutually_exclusive_group()
    kind.add_argument("--mathlib", action="store_true", help="also fetch Mathlib and build lean_project")
    kind.add_argument("--core", action="store_true", help="only the standalone Lean-core REPL (the default)")
    s.add_argument("--project", default=None)
    t = sub.add_parser("selftest", help="run the acceptance suite on the configured pool (exit 0 if all match)")
    t.add_argument("overrides", nargs="*", help="config overrides, e.g. lean=scripted lean.workers=4")
    t.add_argument("--only", choices=("core", "mathlib"), default=None, help="run only these cases")
    t.add_argument("--timeout-case", type=float, default=None,
                   help="seconds for the timeout case (default: 5)")
    args, extra = parser.parse_known_args(argv)
    if extra and (args.command != "selftest" or any("=" not in x or x.startswith("-") for x in extra)):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "selftest":
        args.overrides = [*args.overrides, *extra]  # overrides given after an option
    if args.command == "doctor":
        return doctor(args.project)
    if args.command == "selftest":
        return selftest(args.overrides, only=args.only, timeout_case=args.timeout_case)
    from prover.lean.install import ensure_lean

    try:
        setup = ensure_lean(mathlib=args.mathlib, project_dir=args.project)
    except LeanMissingError as e:
        return _fail(e, SETUP)
    print(f"REPL ready: {' '.join(setup.argv)} (in {setup.cwd})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
