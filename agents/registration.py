"""Register MA-LoT with the strategy registry (``prover.name=malot``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prover.lean.base import Verifier
from prover.llm.base import Generator
from prover.search.base import Strategy
from prover.search.factory import sampling_from_cfg
from prover.search.registry import register_strategy


def _build_malot(data: Mapping[str, Any], generator: Generator, verifier: Verifier, style: str) -> Strategy:
    from agents.loop import MALoT

    sampling = sampling_from_cfg(data.get("sampling"))
    corr = data.get("corrector_sampling")
    corrector = sampling_from_cfg(corr, what="prover.corrector_sampling") if corr else None
    return MALoT(generator, verifier, sampling, style, corrector_sampling=corrector)


def register() -> None:
    """Register ``malot`` (idempotent)."""
    register_strategy("malot", spends="samples", build=_build_malot)
