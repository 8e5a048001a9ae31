"""The verifier seam: candidates in, verdicts out, in the same order.

Backends: the local REPL pool (default), a Ray actor pool (``cluster`` extra) and,
for tests, the same pool driven by a replay double of the REPL executable.
Strategies only ever see this interface.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence

from prover.records import Candidate, Verdict


class Verifier(ABC):
    """Judges candidates with Lean. ``verify`` is async and batched; ``verify_sync`` wraps it."""

    @abstractmethod
    async def verify(self, candidates: Sequence[Candidate]) -> list[Verdict]:
        """Return one verdict per candidate, in order. Never raises for a bad candidate."""

    def verify_sync(self, candidates: Sequence[Candidate]) -> list[Verdict]:
        return asyncio.run(self._verify_and_close(candidates))

    async def _verify_and_close(self, candidates: Sequence[Candidate]) -> list[Verdict]:
        return await self.verify(candidates)

    async def aclose(self) -> None:
        """Release processes and other resources. Safe to call twice."""

    async def __aenter__(self) -> Verifier:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
