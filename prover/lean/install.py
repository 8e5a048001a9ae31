"""Installing Lean on a user's machine: elan, the pinned toolchain, the REPL, Mathlib.

``ensure_lean(mathlib=False)`` is what the main job calls first: it installs elan
when missing, builds a standalone REPL at the pinned tag (Lean core only, quick),
and with ``mathlib=True`` fetches Mathlib's cache and builds ``lean_project``.
Where the network is unreachable it stops with one clear sentence
(:class:`~prover.lean.project.LeanMissingError`) before anything expensive.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prover.lean import pins
from prover.lean.project import (
    LeanMissingError,
    core_repl_dir,
    find_lake,
    find_lean_project,
    repl_command,
)


@dataclass
class LeanSetup:
    """How to start a REPL: ``argv`` run in ``cwd``."""

    argv: list[str]
    cwd: Path
    mathlib: bool


def _run(cmd: Sequence[str], cwd: Path | None, what: str, timeout: float) -> None:
    print(f"[proofforge] {what}: {' '.join(cmd)}", flush=True)
    try:
        subprocess.run(list(cmd), cwd=cwd, check=True, timeout=timeout)
    except FileNotFoundError as e:
        raise LeanMissingError(f"{what} failed: {e.filename} is not installed.") from None
    except subprocess.TimeoutExpired:
        raise LeanMissingError(f"{what} did not finish within {timeout:.0f} s: run `{' '.join(cmd)}` by hand.") from None
    except subprocess.CalledProcessError as e:
        raise LeanMissingError(
            f"{what} failed (exit {e.returncode}): check your network and run `{' '.join(cmd)}` by hand."
        ) from None


def install_elan(timeout: float = 120.0) -> Path:
    """Install elan without a default toolchain (each project's lean-toolchain picks it)."""
    script = (
        f"curl --fail --silent --show-error --location --max-time 60 {pins.ELAN_INIT_URL} "
        "| sh -s -- -y --default-toolchain none --no-modify-path"
    )
    print("[proofforge] Lean is not installed: installing elan ...", flush=True)
    try:
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        proc = None
    lake = find_lake()
    if proc is None or proc.returncode != 0 or lake is None:
        raise LeanMissingError(
            "Lean is not installed and elan could not be downloaded (no network?): install elan from "
            "https://github.com/leanprover/elan, then run `make run` again."
        )
    os.environ["PATH"] = f"{lake.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return lake


def ensure_core_repl(timeout: float = 1800.0) -> LeanSetup:
    """Clone and build the REPL at the pinned tag, for Lean-core problems (no Mathlib)."""
    checkout = core_repl_dir()
    if not (checkout / "lakefile.toml").exists() and not (checkout / "lakefile.lean").exists():
        checkout.parent.mkdir(parents=True, exist_ok=True)
        _run(["git", "clone", "--depth", "1", "--branch", pins.REPL_REV, pins.REPL_GIT, str(checkout)],
             None, "cloning the Lean REPL", timeout)
    toolchain = (checkout / "lean-toolchain").read_text().strip()
    if toolchain != pins.LEAN_TOOLCHAIN:
        raise LeanMissingError(
            f"{checkout} is pinned to {toolchain}, not {pins.LEAN_TOOLCHAIN}: delete it and run `make run` again."
        )
    _run([str(find_lake()), "build", "repl"], checkout, "building the Lean REPL", timeout)
    argv, cwd = repl_command(mathlib=False)
    return LeanSetup(argv, cwd, mathlib=False)


def ensure_project(project_dir: str | Path | None = None, timeout: float = 7200.0) -> LeanSetup:
    """Fetch Mathlib's build cache and build ``lean_project`` (the header module and the REPL)."""
    project = find_lean_project(project_dir)
    lake = str(find_lake())
    _run([lake, "exe", "cache", "get"], project, "fetching Mathlib's build cache", timeout)
    _run([lake, "build", "ProofForgeLean", "repl"], project, "building lean_project", timeout)
    argv, cwd = repl_command(project, mathlib=True)
    return LeanSetup(argv, cwd, mathlib=True)


def ensure_lean(mathlib: bool = False, project_dir: str | Path | None = None) -> LeanSetup:
    """Make a REPL available, installing what is missing; return how to start it."""
    try:
        argv, cwd = repl_command(project_dir, mathlib=mathlib)
        return LeanSetup(argv, cwd, mathlib)
    except LeanMissingError:
        pass
    if find_lake() is None:
        install_elan()
    return ensure_project(project_dir) if mathlib else ensure_core_repl()
