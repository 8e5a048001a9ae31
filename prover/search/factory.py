"""Build a strategy and its budget from a ``prover`` config node (``configs/prover/*.yaml``).

    strategy = build_strategy(cfg.prover, generator, verifier)
    budget = budget_from_cfg(cfg.prover)

Keys: ``name`` (wholeproof | malot | bestfirst), ``prompt_style`` (tiny | deepseek |
goedel | kimina), ``cot``, ``sampling`` (temperature, top_p, max_tokens, seed, stop),
``corrector_sampling`` (MA-LoT; null = same as ``sampling``), ``tactics_per_expansion``
(best-first) and ``budget`` (samples, rounds, corrections, expansions). Plain dicts work
as well as DictConfigs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prover.config import to_container
from prover.lean.base import Verifier
from prover.llm.base import Generator, SamplingParams
from prover.llm.sampling import sampling_from_config
from prover.search.base import Budget, Strategy
from prover.search.prompts import PROMPT_STYLES
from prover.search.registry import register_strategy, registered_strategies, strategy_spec

_BUDGET_KEYS = ("samples", "rounds", "corrections", "expansions")


class ConfigError(ValueError):
    """A prover config is unusable; the message names the key."""


def _plain(cfg: Any) -> dict[str, Any]:
    data = to_container(cfg)
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"prover config must be a mapping, got {type(data).__name__}")
    return dict(data)


def sampling_from_cfg(node: Any, *, n: int = 1, what: str = "prover.sampling", **force: Any) -> SamplingParams:
    """SamplingParams from a ``sampling`` node (:func:`prover.llm.sampling.sampling_from_config`)."""
    return sampling_from_config(node, what=what, defaults={"n": n}, error=ConfigError, **force)


def budget_from_cfg(cfg: Any) -> Budget:
    """The Budget in ``cfg.budget`` (or, for a bare node, its top-level budget keys)."""
    data = _plain(cfg)
    node = data.get("budget", data) or {}
    if not isinstance(node, Mapping):
        raise ConfigError(f"prover.budget must be a mapping, got {type(node).__name__}")
    values = {}
    for k in _BUDGET_KEYS:
        if k in node and node[k] is not None:
            try:
                values[k] = int(node[k])
            except (TypeError, ValueError):
                raise ConfigError(f"prover.budget.{k} must be an integer, got {node[k]!r}") from None
            if values[k] < 0:
                raise ConfigError(f"prover.budget.{k} must be >= 0, got {values[k]}")
    budget = Budget(**values)
    # the budget a strategy spends per problem must not be empty: otherwise every problem fails
    # the same way inside the run (logged per problem) instead of the run failing once, up front
    spec = strategy_spec(str(data.get("name")))
    spent = spec.spends if spec else None
    if spent and getattr(budget, spent) < 1:
        raise ConfigError(
            f"prover.budget.{spent} must be >= 1 for the {data.get('name')} strategy, got {getattr(budget, spent)}"
        )
    return budget


def _name_and_style(data: dict[str, Any]) -> tuple[str, str]:
    name = data.get("name")
    if not isinstance(name, str) or strategy_spec(name) is None:
        known = ", ".join(registered_strategies())
        hint = "" if "malot" in registered_strategies() else " (MA-LoT registers when `agents` is imported)"
        raise ConfigError(f"prover.name must be one of {known}; got {name!r}{hint}")
    style = data.get("prompt_style") or "tiny"
    if style not in PROMPT_STYLES:
        raise ConfigError(f"prover.prompt_style must be one of {', '.join(PROMPT_STYLES)}; got {style!r}")
    return str(name), str(style)


def check_prover_cfg(cfg: Any) -> Budget:
    """Validate a prover node without building anything and return its Budget.

    The eval calls this before it starts Lean or loads a model, so a typo in ``prover.*``
    costs a second, not a model load.
    """
    data = _plain(cfg)
    _name_and_style(data)
    sampling_from_cfg(data.get("sampling"))
    if data.get("corrector_sampling"):
        sampling_from_cfg(data["corrector_sampling"], what="prover.corrector_sampling")
    return budget_from_cfg(data)


def check_strategy_fits(cfg: Any, lean_cfg: Any) -> None:
    """Refuse, when the config is composed, a strategy that needs tactic-mode sessions over a
    verifier backend that has none (``prover=bestfirst lean=ray``), with a sentence saying why."""
    from prover.lean.factory import has_sessions

    data = _plain(cfg)
    spec = strategy_spec(str(data.get("name", "")))
    if spec is None or not spec.needs_sessions or has_sessions(lean_cfg):
        return
    lean = _plain(lean_cfg) if lean_cfg is not None else {}
    raise ConfigError(
        f"prover={spec.name} needs tactic-mode REPL sessions (one REPL's proof states held across many "
        f"tactic calls), which lean={lean.get('backend')} does not offer (its REPLs live inside Ray actors "
        f"that take one candidate per call); use lean=local for {spec.name}, "
        "or a whole-proof strategy (prover=wholeproof or prover=malot) with lean=ray."
    )


def build_strategy(cfg: Any, generator: Generator, verifier: Verifier) -> Strategy:
    """The strategy registered under ``cfg.name``, over ``generator`` and ``verifier``."""
    data = _plain(cfg)
    name, style = _name_and_style(data)
    spec = strategy_spec(name)
    assert spec is not None  # checked by _name_and_style
    return spec.build(data, generator, verifier, style)


def _build_wholeproof(data: Mapping[str, Any], generator: Generator, verifier: Verifier, style: str) -> Strategy:
    from prover.search.wholeproof import WholeProofSampling

    sampling = sampling_from_cfg(data.get("sampling"))
    return WholeProofSampling(generator, verifier, sampling, style, cot=bool(data.get("cot", False)))


def _build_bestfirst(data: Mapping[str, Any], generator: Generator, verifier: Verifier, style: str) -> Strategy:
    from prover.search.bestfirst import BestFirstSearch

    n = int(data.get("tactics_per_expansion") or 4)
    sampling = sampling_from_cfg(data.get("sampling"), n=n, logprobs=True)
    return BestFirstSearch(generator, verifier, sampling, style, max_depth=int(data.get("max_depth") or 50))


register_strategy("wholeproof", spends="samples", build=_build_wholeproof)
register_strategy("bestfirst", spends="expansions", build=_build_bestfirst, needs_sessions=True)
