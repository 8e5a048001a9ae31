"""The trust core: Lean REPL processes, the worker pool, the policy against untrusted code, the verdict.

Public API: build a verifier from a ``lean`` config node with :func:`build_verifier` (or use
:class:`LeanPool` directly), judge candidates with ``await verifier.verify(candidates)``, borrow a
tactic-mode session from a :class:`TacticSessions` verifier. Everything else is internal.
"""

from prover.lean.pool import LeanPool, MathlibMissingError
from prover.lean.project import LeanMissingError
from prover.lean.session import TacticSession, TacticSessions
from prover.lean.verifier import Verifier
from prover.lean.verifier_factory import build_verifier

__all__ = [
    "LeanMissingError",
    "LeanPool",
    "MathlibMissingError",
    "TacticSession",
    "TacticSessions",
    "Verifier",
    "build_verifier",
]
