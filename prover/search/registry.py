"""The strategy registry: strategies register a builder under their ``prover.name``.

Why a registry: the strategy factory (``prover.search.strategy_factory``) sits in the strategy layer
beside ``agents``, which builds on ``prover.search``. If the factory imported ``agents`` to build
MA-LoT, the two packages would import each other. Instead each strategy package registers its
own builders when it is imported (``prover.search`` registers whole-proof sampling and best-first
search; importing ``agents`` registers MA-LoT), and the stages and entry points, which sit above
both layers, import the packages whose strategies they offer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prover.lean.verifier import Verifier
from prover.llm.generator import Generator
from prover.search.strategy import Strategy

#: builder(the strategy's typed settings, generator, verifier) -> strategy
StrategyBuilder = Callable[[Any, Generator, Verifier], Strategy]


@dataclass(frozen=True)
class StrategySpec:
    """One registered strategy: its config name, its settings class (with its own budget type), its builder."""

    name: str
    settings: type
    build: StrategyBuilder
    needs_sessions: bool = False  # tactic-mode REPL sessions (``verifier.session``), e.g. best-first search


_REGISTRY: dict[str, StrategySpec] = {}


def register_strategy(name: str, *, settings: type, build: StrategyBuilder, needs_sessions: bool = False) -> None:
    """Register ``build`` as the strategy ``prover.name=<name>``, configured by ``settings`` (a dataclass of
    :mod:`prover.settings` whose ``budget`` field is the strategy's budget type). Re-registering replaces it."""
    _REGISTRY[name] = StrategySpec(name=name, settings=settings, build=build, needs_sessions=needs_sessions)


def registered_strategies() -> tuple[str, ...]:
    """The registered strategy names, in registration order."""
    return tuple(_REGISTRY)


def strategy_spec(name: str) -> StrategySpec | None:
    """The spec registered under ``name``, or None."""
    return _REGISTRY.get(name)
