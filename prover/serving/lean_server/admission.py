"""Back-pressure: a bounded number of candidates admitted at once; beyond it, 429 + Retry-After.

Why count candidates, not requests: one kimina request can carry a batch of snippets, and
what fills the pool is candidates. A request is admitted whole or refused whole (never half
run), so a refused client can simply resend it; nothing admitted is ever dropped. The pool
itself queues admitted candidates beyond its workers, so ``max_pending`` is workers plus the
queue length. ``Retry-After`` estimates when the current backlog will have drained.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager


class Busy(Exception):
    """The queue is full; ``retry_after`` is whole seconds (>= 1)."""

    def __init__(self, retry_after: int, pending: int, limit: int) -> None:
        super().__init__(f"server busy: {pending} candidates pending, limit max_pending={limit}; retry later")
        self.retry_after = retry_after


class TooLarge(Exception):
    """A single request holds more candidates than could ever be admitted."""


class Admission:
    def __init__(self, max_pending: int, workers: int) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        self.max_pending = max_pending
        self.workers = max(1, workers)
        self.pending = 0
        self._mean_seconds = 1.0  # per candidate, exponentially averaged over answered candidates

    def observe(self, seconds: float) -> None:
        self._mean_seconds = 0.9 * self._mean_seconds + 0.1 * max(0.0, seconds)

    def retry_after(self) -> int:
        return max(1, math.ceil(self.pending * self._mean_seconds / self.workers))

    @contextmanager
    def admit(self, n: int) -> Iterator[None]:
        """Hold ``n`` slots for the block, or raise :class:`Busy` / :class:`TooLarge` at once."""
        if n > self.max_pending:
            raise TooLarge(f"{n} candidates in one request; this server admits at most max_pending={self.max_pending}")
        if self.pending + n > self.max_pending:
            raise Busy(self.retry_after(), self.pending, self.max_pending)
        self.pending += n
        try:
            yield
        finally:
            self.pending -= n
