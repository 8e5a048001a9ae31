"""ProofForge agents: MA-LoT's prover and corrector agents over one generator.

Importing this package registers the ``malot`` strategy with :mod:`prover.search.registry`, so
``prover=malot`` builds :class:`agents.loop.MALoT` through ``prover.search.strategy_factory.build_strategy``.
"""

from agents.registration import register

register()

__all__ = ["register"]
