"""The strategy seam: ``prove(problem, budget) -> Outcome``.

A strategy composes a :class:`~prover.llm.generator.Generator` and a
:class:`~prover.lean.verifier.Verifier`; it never starts processes itself.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod

from prover.records import Outcome, Problem
from prover.settings import BestFirstBudget, Budget, MALoTBudget, WholeProofBudget

__all__ = ["BestFirstBudget", "Budget", "MALoTBudget", "Strategy", "WholeProofBudget"]


class Strategy(ABC):
    """A way to spend a budget on one problem. Each strategy takes its own budget type
    (:data:`budget_type`: ``WholeProofBudget``, ``MALoTBudget``, ``BestFirstBudget``), so a knob of
    another strategy cannot be passed and silently ignored."""

    name: str = "strategy"
    budget_type: type = WholeProofBudget

    def check_budget(self, budget: Budget) -> None:
        """Refuse a budget of another strategy's type, naming both."""
        if not isinstance(budget, self.budget_type):
            raise TypeError(f"{self.name} takes a {self.budget_type.__name__}, got {type(budget).__name__}")

    @abstractmethod
    async def aprove(self, problem: Problem, budget: Budget) -> Outcome:
        """Try to prove ``problem`` within ``budget``; record every attempt in the Outcome."""

    def prove(self, problem: Problem, budget: Budget) -> Outcome:
        return asyncio.run(self.aprove(problem, budget))
