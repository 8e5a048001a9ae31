"""Errors a generator backend raises for a problem the user can fix.

Why a dedicated type: entry points catch :class:`GeneratorError` and print its one
sentence (what failed, where, what to install or check) instead of a deep traceback.
"""

from __future__ import annotations


class GeneratorError(RuntimeError):
    """A generator could not be built or reached; the message says what to do."""


class BackendUnavailable(GeneratorError):
    """An optional dependency (vLLM, LeanAttention) is missing; the message names what to install."""


class GeneratorConfigError(GeneratorError):
    """A ``model.*`` value is unusable (unknown backend, a non-number...): a config error (exit 2), not setup."""
