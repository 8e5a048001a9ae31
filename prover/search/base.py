"""The strategy seam: ``prove(problem, budget) -> Outcome``.

A strategy composes a :class:`~prover.llm.base.Generator` and a
:class:`~prover.lean.base.Verifier`; it never starts processes itself.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass

from prover.records import Outcome, Problem


@dataclass
class Budget:
    """How much a strategy may spend on one problem.

    ``samples``: whole proofs sampled (pass@k's n); ``rounds``: correction rounds
    (MA-LoT); ``corrections``: corrections per round; ``expansions``: best-first
    node expansions.
    """

    samples: int = 1
    rounds: int = 0
    corrections: int = 1
    expansions: int = 0


class Strategy(ABC):
    name: str = "strategy"

    @abstractmethod
    async def aprove(self, problem: Problem, budget: Budget) -> Outcome:
        """Try to prove ``problem`` within ``budget``; record every attempt in the Outcome."""

    def prove(self, problem: Problem, budget: Budget) -> Outcome:
        return asyncio.run(self.aprove(problem, budget))
