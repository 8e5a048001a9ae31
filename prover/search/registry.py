"""The strategy registry: strategies register a builder under their ``prover.name``.

Why a registry: the strategy factory (``prover.search.factory``) sits in the strategy layer
beside ``agents``, which builds on ``prover.search``. If the factory imported ``agents`` to build
MA-LoT, the two packages would import each other. Instead each strategy package registers its
own builders when it is imported (``prover.search`` registers whole-proof sampling and best-first
search; importing ``agents`` registers MA-LoT), and the stages and entry points, which sit above
both layers, import the packages whose strategies they offer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from prover.lean.base import Verifier
from prover.llm.base import Generator
from prover.search.base import Strategy

#: builder(prover config as a plain dict, generator, verifier, prompt style) -> strategy
StrategyBuilder = Callable[[Mapping[str, Any], Generator, Verifier, str], Strategy]


@dataclass(frozen=True)
class StrategySpec:
    """One registered strategy: its config name, the budget key it spends, and its builder."""

    name: str
    spends: str
    build: StrategyBuilder
    needs_sessions: bool = False  # tactic-mode REPL sessions (``verifier.session``), e.g. best-first search


_REGISTRY: dict[str, StrategySpec] = {}


def register_strategy(name: str, *, spends: str, build: StrategyBuilder, needs_sessions: bool = False) -> None:
    """Register ``build`` as the strategy ``prover.name=<name>`` (re-registering replaces it)."""
    _REGISTRY[name] = StrategySpec(name=name, spends=spends, build=build, needs_sessions=needs_sessions)


def registered_strategies() -> tuple[str, ...]:
    """The registered strategy names, in registration order."""
    return tuple(_REGISTRY)


def strategy_spec(name: str) -> StrategySpec | None:
    """The spec registered under ``name``, or None."""
    return _REGISTRY.get(name)

