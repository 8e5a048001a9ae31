"""Real LeanPools over REPL doubles, for tests and offline demos (no Lean needed).

Why: strategies, evals, agents and pipelines must be tested through the same pool,
process and protocol code that talks to the real REPL; only the executable is
swapped. :func:`scripted_verifier` is the one other parts build on::

    from prover.lean.double_pools import scripted_verifier
    pool = scripted_verifier([{"match": "by simp", "response": {}}])   # clean reply -> proved
    verdicts = pool.verify_sync([candidate])

A rule's ``response: {}`` is a clean REPL reply (no messages), which with the default
``#print axioms`` answer makes a candidate ``proved``; anything unmatched fails with
"unsolved goals". See :mod:`prover.lean.doubles.scripted` for every rule field.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prover.lean.pool import LeanPool
from prover.paths import REPO_ROOT

#: Where the REPL's own recorded test transcripts live in a source checkout (the project's shared data
#: beside it); an installed wheel has none there and must be given ``lean.transcripts``.
TRANSCRIPTS_DIR = REPO_ROOT.parent / "shared" / "data" / "repl-transcripts"


def transcripts_folder(path: str | os.PathLike[str] | None = None) -> Path:
    """``path`` (or the checkout's default) if it holds REPL transcripts, else a ValueError naming the option."""
    folder = Path(path).expanduser() if path else TRANSCRIPTS_DIR
    if not folder.is_dir() or not any(folder.glob("*.in")):
        raise ValueError(
            f"lean.transcripts: no REPL transcripts (*.in) in {folder}; set lean.transcripts to a folder holding "
            "leanprover-community/repl's test/*.in and *.expected.out (tag v4.24.0)"
        )
    return folder


def double_env() -> dict[str, str]:
    """The environment for a double: this checkout importable, UTF-8 I/O."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONIOENCODING"] = "utf-8"
    env.pop("PYTHONSTARTUP", None)
    return env


def scripted_argv(rules_path: str | os.PathLike[str]) -> list[str]:
    return [sys.executable, "-m", "prover.lean.doubles.scripted", "--rules", str(rules_path)]


def replay_argv(transcripts: str | os.PathLike[str] = TRANSCRIPTS_DIR, name: str | None = None) -> list[str]:
    argv = [sys.executable, "-m", "prover.lean.doubles.replay", "--transcripts", str(transcripts)]
    if name:
        argv += ["--name", name]
    return argv


def check_rules(rules: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate rules up front so a typo fails here, naming the rule, not inside a subprocess."""
    out = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            raise ValueError(f"scripted rule {i}: expected a dict, got {type(rule).__name__}")
        try:
            re.compile(str(rule.get("match", "")))
        except re.error as e:
            raise ValueError(f"scripted rule {i}: bad regex {rule.get('match')!r}: {e}") from None
        if "response" in rule and not isinstance(rule["response"], dict):
            raise ValueError(f"scripted rule {i}: 'response' must be a JSON object")
        out.append(dict(rule))
    json.dumps(out)  # must be JSON-serialisable
    return out


def write_rules(rules: Sequence[dict[str, Any]], folder: str | os.PathLike[str]) -> Path:
    path = Path(folder) / "rules.json"
    path.write_text(json.dumps(check_rules(rules), ensure_ascii=False), encoding="utf-8")
    return path


def scripted_verifier(
    rules: list[dict[str, Any]], *, workers: int = 1, timeout: float = 10.0, **pool_kwargs: Any
) -> LeanPool:
    """A real :class:`LeanPool` whose REPL is the scripted double reading ``rules``.

    ``pool_kwargs`` go to :class:`LeanPool` (``max_uses``, ``max_rss_gb``,
    ``memory_limit_gb``, ``header_timeout`` (default: ``timeout``), ``allowed_axioms``...).
    The temporary rules folder is removed when the pool is garbage-collected.
    """
    folder = tempfile.mkdtemp(prefix="proofforge-scripted-")
    try:
        path = write_rules(rules, folder)
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    pool_kwargs.setdefault("header_timeout", timeout)
    pool = LeanPool(
        scripted_argv(path),
        folder,
        workers=workers,
        timeout=timeout,
        process_env=double_env(),
        **pool_kwargs,
    )
    weakref.finalize(pool, shutil.rmtree, folder, True)
    return pool


def replay_verifier(
    transcripts: str | os.PathLike[str] = TRANSCRIPTS_DIR,
    name: str | None = None,
    *,
    workers: int = 1,
    timeout: float = 10.0,
    **pool_kwargs: Any,
) -> LeanPool:
    """A :class:`LeanPool` over the replay double (answers only requests found in the transcripts)."""
    transcripts = transcripts_folder(transcripts)
    pool_kwargs.setdefault("header_timeout", timeout)
    return LeanPool(
        replay_argv(transcripts, name),
        str(Path(transcripts)),
        workers=workers,
        timeout=timeout,
        process_env=double_env(),
        **pool_kwargs,
    )
