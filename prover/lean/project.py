"""Locating Lean: the Lake project, the ``lake`` executable and the REPL binary.

The REPL runs as ``lake env <repl>`` inside ``lean_project`` so it sees Mathlib
(new Mathlib does not ship the REPL: ``lake exe repl`` there gives "unknown
executable repl", repl #54). Without a toolchain we fail with one sentence that
says what to install, never a traceback from deep inside a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

from prover.lean.pins import LEAN_VERSION
from prover.paths import REPO_ROOT, cache_dir


class LeanMissingError(RuntimeError):
    """Lean (elan/lake), the Lake project or the REPL binary is not there. The message is one sentence."""


def find_lake() -> Path | None:
    """``lake`` on PATH, else elan's default install location."""
    found = shutil.which("lake")
    if found:
        return Path(found)
    elan_home = Path(os.environ.get("ELAN_HOME", Path.home() / ".elan"))
    candidate = elan_home / "bin" / "lake"
    return candidate if candidate.exists() else None


def find_lean_project(path: str | os.PathLike[str] | None = None) -> Path:
    """The Lake project: ``path``, ``$PROOFFORGE_LEAN_PROJECT``, or the checkout's ``lean_project``."""
    chosen = path or os.environ.get("PROOFFORGE_LEAN_PROJECT") or REPO_ROOT / "lean_project"
    project = Path(chosen).expanduser().resolve()
    if not (project / "lean-toolchain").is_file():
        raise LeanMissingError(
            f"{project} is not a Lake project (no lean-toolchain): pass lean.project_dir or set "
            "PROOFFORGE_LEAN_PROJECT to ProofForge's lean_project folder."
        )
    return project


def repl_binary(project_dir: Path) -> Path:
    """Where ``lake build repl`` puts the REPL executable inside a project."""
    return project_dir / ".lake" / "packages" / "REPL" / ".lake" / "build" / "bin" / "repl"


def core_repl_dir() -> Path:
    """A standalone REPL checkout (no Mathlib) used for Lean-core problems such as the demo set."""
    return cache_dir() / f"repl-{LEAN_VERSION}"


def repl_command(project_dir: Path | None = None, *, mathlib: bool = True) -> tuple[list[str], Path]:
    """The argv that starts a REPL and the folder to start it in.

    ``mathlib=True``: ``lake env <repl>`` in the Lake project. ``mathlib=False``: the
    standalone REPL built by :func:`prover.lean.install.ensure_lean`, run in its checkout.
    Raises :class:`LeanMissingError` when the toolchain or the binary is missing.
    """
    lake = find_lake()
    if lake is None:
        raise LeanMissingError(
            "Lean is not installed: install elan (https://github.com/leanprover/elan), then run "
            "`make run` (or `cd lean_project && lake exe cache get && lake build ProofForgeLean repl`)."
        )
    if mathlib:
        project = find_lean_project(project_dir)
        binary = repl_binary(project)
        if not binary.exists():
            raise LeanMissingError(
                f"the Lean REPL is not built in {project}: run "
                f"`cd {project} && lake exe cache get && lake build ProofForgeLean repl`."
            )
        return [str(lake), "env", str(binary)], project
    checkout = core_repl_dir()
    binary = checkout / ".lake" / "build" / "bin" / "repl"
    if not binary.exists():
        raise LeanMissingError(
            f"the standalone Lean REPL is not built in {checkout}: run `make run` or "
            "`proofforge-lean setup --core` to build it."
        )
    return [str(lake), "env", str(binary)], checkout


# ---------------------------------------------------------------------------- the Lake project's files
def lakefile_requires(project: Path) -> dict[str, str | None] | None:
    """``lakefile.toml``'s ``[[require]]`` entries as name -> rev (None: no lakefile.toml).

    The one reader of the lakefile (the doctor's pin check and the run records use it).
    """
    lakefile = Path(project) / "lakefile.toml"
    if not lakefile.exists():
        return None
    return {str(q["name"]): q.get("rev") for q in tomllib.loads(lakefile.read_text()).get("require", [])}


def manifest_packages(project: Path) -> list[dict]:
    """``lake-manifest.json``'s packages ([] without a manifest or with an unreadable one)."""
    manifest = Path(project) / "lake-manifest.json"
    if not manifest.exists():
        return []
    try:
        packages = json.loads(manifest.read_text()).get("packages", [])
    except (json.JSONDecodeError, AttributeError):
        return []
    return [p for p in packages if isinstance(p, dict)]


def project_pins(project_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The Lean toolchain and package revisions of the project the verifier uses (what a run records).

    Revisions come from ``lake-manifest.json`` when there is one (what was resolved), else from
    ``lakefile.toml`` (what is required).
    """
    project = Path(project_dir) if project_dir else REPO_ROOT / "lean_project"
    pins: dict[str, str] = {"project": str(project)}
    toolchain = project / "lean-toolchain"
    if toolchain.exists():
        pins["lean"] = toolchain.read_text().strip()
    packages = manifest_packages(project)
    if packages:
        for pkg in packages:
            pins[str(pkg.get("name", "?")).lower()] = str(pkg.get("rev", ""))
    else:
        for name, rev in (lakefile_requires(project) or {}).items():
            if rev:
                pins[name.lower()] = str(rev)
    return pins
