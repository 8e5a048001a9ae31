"""Each strategy's settings (``configs/prover/*.yaml``) and its own budget type."""

# OmegaConf 2.3 reads ``Optional[X]``/``Union`` but not PEP 604 ``X | None`` in a structured config.
# ruff: noqa: UP007, UP045

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from prover.settings.sampling import SamplingSettings

__all__ = [
    "BestFirstBudget",
    "BestFirstSettings",
    "Budget",
    "MALoTBudget",
    "MALoTSettings",
    "WholeProofBudget",
    "WholeProofSettings",
]


def _check_budget(budget: Any, spent: str) -> None:
    for f in dataclasses.fields(budget):
        value = getattr(budget, f.name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{f.name} must be an integer, got {value!r}")
        if value < 0:
            raise ValueError(f"{f.name} must be >= 0, got {value}")
    if getattr(budget, spent) < 1:
        raise ValueError(f"{spent} must be >= 1 for a {type(budget).__name__}, got {getattr(budget, spent)}")


@dataclass
class WholeProofBudget:
    """Whole-proof sampling: ``samples`` whole proofs per problem (pass@k's n), verified in one batch."""

    samples: int = 8

    def __post_init__(self) -> None:
        _check_budget(self, "samples")


@dataclass
class MALoTBudget:
    """MA-LoT: ``samples`` first-round proofs, then up to ``rounds`` correction rounds of ``corrections``
    revisions per failed attempt (agents/loop.py)."""

    samples: int = 4
    rounds: int = 5
    corrections: int = 2

    def __post_init__(self) -> None:
        _check_budget(self, "samples")


@dataclass
class BestFirstBudget:
    """Best-first tactic search: ``expansions`` node expansions per problem (one search)."""

    expansions: int = 64

    def __post_init__(self) -> None:
        _check_budget(self, "expansions")


#: What a strategy may spend on one problem; each strategy takes its own kind.
Budget = Union[WholeProofBudget, MALoTBudget, BestFirstBudget]




@dataclass
class WholeProofSettings:
    """``configs/prover/wholeproof.yaml``: DeepSeek-Prover-V1.5's whole-proof sampling."""

    name: str = "wholeproof"
    prompt_style: str = "tiny"  # tiny | deepseek | goedel | kimina
    cot: bool = False  # deepseek style only: the "with explanatory comments" prompt
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    budget: WholeProofBudget = field(default_factory=WholeProofBudget)


@dataclass
class MALoTSettings:
    """``configs/prover/malot.yaml``: the MA-LoT prover agent, then chained corrector rounds."""

    name: str = "malot"
    prompt_style: str = "tiny"
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    corrector_sampling: Optional[SamplingSettings] = None  # None: the same as ``sampling``
    budget: MALoTBudget = field(default_factory=MALoTBudget)


@dataclass
class BestFirstSettings:
    """``configs/prover/bestfirst.yaml``: best-first search over REPL proof states."""

    name: str = "bestfirst"
    prompt_style: str = "tiny"
    tactics_per_expansion: int = 4  # tactics sampled per expanded node (sampling.n)
    max_depth: int = 50  # branches deeper than this are cut
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    budget: BestFirstBudget = field(default_factory=BestFirstBudget)

    def __post_init__(self) -> None:
        if self.tactics_per_expansion < 1:
            raise ValueError(f"tactics_per_expansion must be >= 1, got {self.tactics_per_expansion}")
        if self.max_depth < 1:
            raise ValueError(f"max_depth must be >= 1, got {self.max_depth}")
