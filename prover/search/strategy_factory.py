"""Build a strategy and its budget from the ``prover`` settings (``configs/prover/*.yaml``).

    settings = prover_settings(cfg.prover)     # WholeProofSettings | MALoTSettings | BestFirstSettings
    strategy = build_strategy(settings, generator, verifier)
    budget = settings.budget                   # the strategy's own budget type

Each strategy has its own settings class in :mod:`prover.settings`, registered with the strategy
(``prover.search.registry``), so ``prover.budget.expansions`` under ``prover=wholeproof`` is an
unknown key, not a knob silently ignored. Plain mappings (a dict, a DictConfig node) work as well as
the typed settings; every error is a :class:`ConfigError` naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prover.lean.verifier import Verifier
from prover.llm.generator import Generator
from prover.search.prompts import PROMPT_STYLES
from prover.search.registry import register_strategy, registered_strategies, strategy_spec
from prover.search.strategy import Budget, Strategy
from prover.settings import BestFirstSettings, WholeProofSettings, settings_from

__all__ = [
    "ConfigError",
    "budget_from_cfg",
    "build_strategy",
    "check_strategy_fits",
    "prover_settings",
]


class ConfigError(ValueError):
    """A prover config is unusable; the message names the key."""


def prover_settings(cfg: Any) -> Any:
    """``cfg`` as the settings of the strategy it names (returned as is when already typed)."""
    if isinstance(cfg, Mapping) or cfg is None:
        name = (cfg or {}).get("name")
    else:
        name = getattr(cfg, "name", None)
    spec = strategy_spec(str(name)) if isinstance(name, str) else None
    if spec is None:
        known = ", ".join(registered_strategies())
        hint = "" if "malot" in registered_strategies() else " (MA-LoT registers when `agents` is imported)"
        raise ConfigError(f"prover.name must be one of {known}; got {name!r}{hint}")
    if not isinstance(cfg, Mapping) and not isinstance(cfg, spec.settings):
        raise ConfigError(f"prover settings for {name} must be {spec.settings.__name__}, got {type(cfg).__name__}")
    settings = settings_from(spec.settings, cfg, "prover", error=ConfigError)
    if settings.prompt_style not in PROMPT_STYLES:
        raise ConfigError(
            f"prover.prompt_style must be one of {', '.join(PROMPT_STYLES)}; got {settings.prompt_style!r}"
        )
    return settings


def budget_from_cfg(cfg: Any) -> Budget:
    """The budget of the strategy ``cfg`` configures (its own type: ``WholeProofBudget``, ...).

    Reads and checks the whole prover node without building anything, so a typo in ``prover.*`` costs a
    second, not a model load.
    """
    return prover_settings(cfg).budget


def check_strategy_fits(cfg: Any, lean_cfg: Any) -> None:
    """Refuse, when the config is composed, a strategy that needs tactic-mode sessions over a
    verifier backend that has none (``prover=bestfirst lean=ray``), with a sentence saying why."""
    from prover.lean.verifier_factory import has_sessions, lean_settings

    settings = prover_settings(cfg)
    spec = strategy_spec(settings.name)
    if spec is None or not spec.needs_sessions or has_sessions(lean_cfg):
        return
    raise ConfigError(
        f"prover={spec.name} needs tactic-mode REPL sessions (one REPL's proof states held across many "
        f"tactic calls), which lean={lean_settings(lean_cfg).backend} does not offer (its REPLs live inside Ray "
        f"actors that take one candidate per call); use lean=local for {spec.name}, "
        "or a whole-proof strategy (prover=wholeproof or prover=malot) with lean=ray."
    )


def build_strategy(cfg: Any, generator: Generator, verifier: Verifier) -> Strategy:
    """The strategy registered under ``cfg.name``, over ``generator`` and ``verifier``."""
    settings = prover_settings(cfg)
    spec = strategy_spec(settings.name)
    assert spec is not None  # checked by prover_settings
    return spec.build(settings, generator, verifier)


def _build_wholeproof(settings: WholeProofSettings, generator: Generator, verifier: Verifier) -> Strategy:
    from prover.search.wholeproof import WholeProofSampling

    return WholeProofSampling(generator, verifier, settings.sampling.params(), settings.prompt_style, cot=settings.cot)


def _build_bestfirst(settings: BestFirstSettings, generator: Generator, verifier: Verifier) -> Strategy:
    from prover.search.bestfirst import BestFirstSearch

    sampling = settings.sampling.params(n=settings.tactics_per_expansion, logprobs=True)
    return BestFirstSearch(generator, verifier, sampling, settings.prompt_style, max_depth=settings.max_depth)


register_strategy("wholeproof", settings=WholeProofSettings, build=_build_wholeproof)
register_strategy("bestfirst", settings=BestFirstSettings, build=_build_bestfirst, needs_sessions=True)
