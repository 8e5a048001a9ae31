"""What ends an eval run and how: the eval's config error and the two families of run-ending errors.

Everything a strategy raises that is not in :func:`fatal_errors` is one problem's failure (logged to
``errors.jsonl``, retried on rerun).
"""

from __future__ import annotations

from evals.data import DatasetError


class EvalConfigError(ValueError):
    """The eval cannot start with this config or run folder; the message says what to change."""


def fatal_errors() -> tuple[type[BaseException], ...]:
    """Errors that end the whole run with one sentence: no Lean, or a model that cannot be built or reached.

    Anything else a strategy raises is one problem's failure: logged to ``errors.jsonl``, retried on rerun.
    """
    from prover.lean.project import LeanMissingError
    from prover.llm.errors import GeneratorError

    return (LeanMissingError, GeneratorError)


def config_errors() -> tuple[type[BaseException], ...]:
    from prover.search.strategy_factory import ConfigError

    return (DatasetError, EvalConfigError, ConfigError)
