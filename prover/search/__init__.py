"""Prover strategies that are not agents, and the strategy seam every strategy implements.

Public API: :class:`Strategy` (``await strategy.aprove(problem, budget) -> Outcome``), :class:`Budget`,
:func:`build_strategy` / :func:`budget_from_cfg` from a ``prover`` config node, and
:func:`register_strategy` for a new strategy. Importing this package registers ``wholeproof`` and
``bestfirst``; importing :mod:`agents` registers ``malot``.
"""

from prover.search.base import Budget, Strategy
from prover.search.factory import ConfigError, budget_from_cfg, build_strategy, check_prover_cfg
from prover.search.registry import register_strategy, registered_strategies

__all__ = [
    "Budget",
    "ConfigError",
    "Strategy",
    "budget_from_cfg",
    "build_strategy",
    "check_prover_cfg",
    "register_strategy",
    "registered_strategies",
]
