"""How to sample: the generator seam's record and the ``sampling`` config node."""

# OmegaConf 2.3 reads ``Optional[X]``/``Union`` but not PEP 604 ``X | None`` in a structured config.
# ruff: noqa: UP007, UP045

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["SamplingParams", "SamplingSettings"]


@dataclass
class SamplingParams:
    """How to sample. ``n`` completions per prompt; ``seed`` makes a backend repeatable.

    The generator seam's record (``prover.llm.generator`` re-exports it); a config node is a
    :class:`SamplingSettings`.
    """

    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 512
    stop: list[str] = field(default_factory=list)
    seed: Optional[int] = None
    logprobs: bool = False

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"SamplingParams.n must be >= 1, got {self.n}")
        if not (self.temperature >= 0 and math.isfinite(self.temperature)):  # also catches NaN
            raise ValueError(f"SamplingParams.temperature must be a finite number >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"SamplingParams.top_p must be in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise ValueError(f"SamplingParams.max_tokens must be >= 1, got {self.max_tokens}")


@dataclass
class SamplingSettings:
    """A ``sampling`` node of the config (``prover.sampling``, ``model.sampling``, ...): what a user sets.

    ``n`` and ``logprobs`` are not here: the strategy sets them (whole-proof sampling's n is its
    budget's ``samples``, best-first's is ``tactics_per_expansion``). :meth:`params` gives the
    generator's :class:`SamplingParams`.
    """

    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 512
    seed: Optional[int] = None
    stop: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.params()  # the same range checks, at conversion

    def params(self, **more: Any) -> SamplingParams:
        """These settings as the generator's SamplingParams, with ``more`` (``n=4, logprobs=True``)."""
        return SamplingParams(**{**dataclasses.asdict(self), "stop": list(self.stop), **more})
