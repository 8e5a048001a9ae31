"""Build a Verifier from the ``lean`` settings (:class:`prover.settings.LeanSettings`, configs/lean/*.yaml).

Why one factory: every entry point (check, eval, synth, formalize) picks its
verifier by ``lean.backend`` without knowing how a backend starts its processes.

Backends: ``local`` (LeanPool over the real REPL in ``project_dir``), ``scripted``
(LeanPool over the scripted double with ``rules``: tests and offline demos; its
verdicts are not real), ``replay`` (LeanPool over the recorded REPL transcripts),
``ray`` (RayPool: Lean workers as Ray actors on a cluster).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from prover.lean.verifier import Verifier
from prover.settings import LeanSettings, SettingsError, settings_from

__all__ = ["BACKENDS", "SESSION_BACKENDS", "build_verifier", "has_sessions", "lean_settings", "pool_kwargs"]

BACKENDS = ("local", "scripted", "replay", "ray")
#: Backends whose verifier offers tactic-mode sessions (``LeanPool.session``, for best-first search).
#: The Ray pool does not: its REPLs live inside actors, and a search holds one REPL's proof states
#: across many calls, which a per-call actor dispatch cannot keep.
SESSION_BACKENDS = ("local", "scripted", "replay")


def lean_settings(cfg: LeanSettings | Mapping[str, Any] | None) -> LeanSettings:
    """``cfg`` as LeanSettings (a mapping is read key by key; errors name ``lean.<key>``)."""
    settings = settings_from(LeanSettings, cfg, "lean")
    if settings.backend not in BACKENDS:
        raise SettingsError(f"lean.backend: unknown backend {settings.backend!r}; expected one of {', '.join(BACKENDS)}")
    return settings


def has_sessions(cfg: LeanSettings | Mapping[str, Any] | None) -> bool:
    """Whether the verifier these settings build offers tactic-mode sessions."""
    return lean_settings(cfg).backend in SESSION_BACKENDS


def pool_kwargs(settings: LeanSettings) -> dict[str, Any]:
    """The LeanPool keyword arguments the settings give."""
    return {
        "workers": settings.workers,
        "timeout": settings.timeout,
        "header_timeout": settings.header_timeout,
        "memory_limit_gb": settings.memory_limit_gb or None,  # 0 or None: no RLIMIT_AS
        "max_uses": settings.max_uses,
        "max_rss_gb": settings.max_rss_gb,
        "allowed_axioms": frozenset(settings.allowed_axioms),
    }


def load_rules_file(path: str) -> list[dict[str, Any]]:
    """Scripted-double rules from a JSON file (a list of rule objects)."""
    import json
    from pathlib import Path

    try:
        rules = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise SettingsError(f"lean.rules_file: cannot read {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise SettingsError(f"lean.rules_file: {path} is not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(rules, list):
        raise SettingsError(f"lean.rules_file: {path} must hold a JSON list of rule objects")
    return rules


def build_verifier(cfg: LeanSettings | Mapping[str, Any] | None) -> Verifier:
    """A Verifier for the ``lean`` settings (or a mapping of their fields, e.g. ``{"backend": "scripted"}``).

    Raises ``LeanMissingError`` (one sentence) for ``local`` without a toolchain and
    :class:`~prover.settings.SettingsError` (a ValueError) naming the key for a bad setting.
    """
    settings = lean_settings(cfg)
    backend = settings.backend
    kwargs = pool_kwargs(settings)
    if backend == "local":
        from prover.lean.pool import LeanPool

        mathlib = settings.mathlib if settings.mathlib == "auto" else bool(settings.mathlib)
        return LeanPool(project_dir=settings.project_dir, mathlib=mathlib, **kwargs)
    if backend == "scripted":
        from prover.lean.double_pools import scripted_verifier
        from prover.lean.selftest import scripted_rules

        rules = list(settings.rules)
        if settings.rules_file:
            rules += load_rules_file(settings.rules_file)
        kwargs["workers"] = kwargs["workers"] or 1
        # The acceptance suite's rules go first: they match only its own `selftest_*` theorems, and
        # let the self-check (proofforge-lean selftest, the smoke at pool start) run on this double.
        return scripted_verifier(scripted_rules() + rules, core_only=settings.core_only, **kwargs)
    if backend == "replay":
        from prover.lean.double_pools import replay_verifier, transcripts_folder

        kwargs["workers"] = kwargs["workers"] or 1
        return replay_verifier(transcripts_folder(settings.transcripts), settings.transcript, **kwargs)
    # ray
    from prover.lean.ray_pool import RayPool

    if settings.actor_backend not in ("local", "scripted"):
        raise SettingsError(
            f"lean.actor_backend: {settings.actor_backend!r}; each Ray actor runs a local or scripted pool"
        )
    # Each actor builds its own pool from these settings with the actor's backend (plain fields: they
    # travel to the actors pickled).
    inner = dataclasses.replace(settings, backend=settings.actor_backend, address=None, actors=None)
    return RayPool(actors=settings.actors, address=settings.address, pool_config=dataclasses.asdict(inner),
                   build_pool=build_verifier)
