"""Prover strategies that are not agents, and the strategy seam every strategy implements.

Public API: :class:`Strategy` (``await strategy.aprove(problem, budget) -> Outcome``), :data:`Budget` (each strategy's own: :class:`WholeProofBudget`, :class:`MALoTBudget`, :class:`BestFirstBudget`),
:func:`build_strategy` / :func:`budget_from_cfg` from a ``prover`` config node, and
:func:`register_strategy` for a new strategy. Importing this package registers ``wholeproof`` and
``bestfirst``; importing :mod:`agents` registers ``malot``.
"""

from prover.search.registry import register_strategy, registered_strategies
from prover.search.strategy import BestFirstBudget, Budget, MALoTBudget, Strategy, WholeProofBudget
from prover.search.strategy_factory import ConfigError, budget_from_cfg, build_strategy

__all__ = [
    "BestFirstBudget",
    "Budget",
    "MALoTBudget",
    "WholeProofBudget",
    "ConfigError",
    "Strategy",
    "budget_from_cfg",
    "build_strategy",
    "register_strategy",
    "registered_strategies",
]
