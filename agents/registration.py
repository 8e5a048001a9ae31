"""Register MA-LoT with the strategy registry (``prover.name=malot``)."""

from __future__ import annotations

from prover.lean.verifier import Verifier
from prover.llm.generator import Generator
from prover.search.registry import register_strategy
from prover.search.strategy import Strategy
from prover.settings import MALoTSettings


def _build_malot(settings: MALoTSettings, generator: Generator, verifier: Verifier) -> Strategy:
    from agents.loop import MALoT

    corrector = settings.corrector_sampling.params() if settings.corrector_sampling else None
    return MALoT(generator, verifier, settings.sampling.params(), settings.prompt_style, corrector_sampling=corrector)


def register() -> None:
    """Register ``malot`` (idempotent)."""
    register_strategy("malot", settings=MALoTSettings, build=_build_malot)
