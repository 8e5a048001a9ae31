"""Build a Verifier from a ``lean`` config node (configs/lean/*.yaml).

Why one factory: every entry point (check, eval, synth, formalize) picks its
verifier by ``lean.backend`` without knowing how a backend starts its processes.

Backends: ``local`` (LeanPool over the real REPL in ``project_dir``), ``scripted``
(LeanPool over the scripted double with ``rules``: tests and offline demos; its
verdicts are not real), ``replay`` (LeanPool over the recorded REPL transcripts),
``ray`` (RayPool: Lean workers as Ray actors on a cluster).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prover.config import to_container
from prover.lean.base import Verifier
from prover.lean.verdict import ALLOWED_AXIOMS

BACKENDS = ("local", "scripted", "replay", "ray")
#: Backends whose verifier offers tactic-mode sessions (``LeanPool.session``, for best-first search).
#: The Ray pool does not: its REPLs live inside actors, and a search holds one REPL's proof states
#: across many calls, which a per-call actor dispatch cannot keep.
SESSION_BACKENDS = ("local", "scripted", "replay")


def has_sessions(cfg: Any) -> bool:
    """Whether the verifier a ``lean`` config node builds offers tactic-mode sessions."""
    node = to_container(cfg) if cfg is not None else {}
    return str((node or {}).get("backend", "local")) in SESSION_BACKENDS


def pool_kwargs(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The LeanPool keyword arguments a ``lean`` config node sets (absent/null keys keep defaults)."""
    out: dict[str, Any] = {}
    for key in ("workers", "timeout", "header_timeout", "memory_limit_gb", "max_uses", "max_rss_gb"):
        if key in cfg and cfg[key] is not None:
            out[key] = cfg[key]
    if "memory_limit_gb" in cfg and cfg["memory_limit_gb"] in (0, None):
        out["memory_limit_gb"] = None  # explicit 0/null: no RLIMIT_AS
    out["allowed_axioms"] = frozenset(cfg.get("allowed_axioms") or ALLOWED_AXIOMS)
    return out


def load_rules_file(path: str) -> list[dict[str, Any]]:
    """Scripted-double rules from a JSON file (a list of rule objects)."""
    import json
    from pathlib import Path

    try:
        rules = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise ValueError(f"lean.rules_file: cannot read {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"lean.rules_file: {path} is not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(rules, list):
        raise ValueError(f"lean.rules_file: {path} must hold a JSON list of rule objects")
    return rules


def build_verifier(cfg: Any) -> Verifier:
    """A Verifier for ``cfg`` (a DictConfig or dict with at least ``backend``).

    Raises ``LeanMissingError`` (one sentence) for ``local`` without a toolchain and
    ``ValueError`` naming the key for a bad config.
    """
    node = to_container(cfg) if cfg is not None else {}
    if not isinstance(node, Mapping):
        raise ValueError(f"lean config: expected a mapping, got {type(node).__name__}")
    backend = str(node.get("backend", "local"))
    kwargs = pool_kwargs(node)
    if backend == "local":
        from prover.lean.pool import LeanPool

        mathlib = node.get("mathlib", "auto")
        mathlib = mathlib if mathlib == "auto" else bool(mathlib)
        return LeanPool(project_dir=node.get("project_dir"), mathlib=mathlib, **kwargs)
    if backend == "scripted":
        from prover.lean.selftest import scripted_rules
        from prover.lean.testing import scripted_verifier

        rules = node.get("rules") or []
        if node.get("rules_file"):
            rules = list(rules) + load_rules_file(node["rules_file"])
        if not isinstance(rules, list):
            raise ValueError("lean.rules: expected a list of rule objects for the scripted backend")
        kwargs.setdefault("workers", 1)
        # The acceptance suite's rules go first: they match only its own `selftest_*` theorems, and
        # let the self-check (proofforge-lean selftest, the smoke at pool start) run on this double.
        rules = scripted_rules() + list(rules)
        return scripted_verifier(rules, core_only=bool(node.get("core_only", False)), **kwargs)
    if backend == "replay":
        from prover.lean.testing import replay_verifier, transcripts_folder

        kwargs.setdefault("workers", 1)
        return replay_verifier(transcripts_folder(node.get("transcripts")), node.get("transcript"), **kwargs)
    if backend == "ray":
        from prover.lean.ray_pool import RayPool

        inner = str(node.get("actor_backend") or "local")
        if inner not in ("local", "scripted"):
            raise ValueError(f"lean.actor_backend: {inner!r}; each Ray actor runs a local or scripted pool")
        skip = ("backend", "actors", "address", "actor_backend")
        return RayPool(
            actors=node.get("actors"),
            address=node.get("address"),
            pool_config={**{k: v for k, v in node.items() if k not in skip}, "backend": inner},
            build_pool=build_verifier,
        )
    raise ValueError(f"lean.backend: unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
