"""The verification service behind every route: cache, admission, timeout, then the pool.

Why one place: ``/api/check``, ``/verify`` and ``/v1/verify`` differ only in their wire
shapes. Each candidate goes through ``Verifier.verify([candidate])`` exactly as
``proofforge-check`` calls it (prover/apps/check.py), so policy, integrity checks and the
verdict rule are the pool's own; this module adds nothing to a verdict but its cache flag.
Cancelling :meth:`LeanService.verify` (a client disconnect) cancels that request's pool
work only: the pool kills just the REPLs running those candidates.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from prover.lean.verdict import ALLOWED_AXIOMS
from prover.lean.verifier import Verifier
from prover.records import Candidate, Verdict
from prover.serving.lean_server.admission import Admission
from prover.serving.lean_server.cache import CACHEABLE, VerdictCache
from prover.serving.lean_server.metrics import Metrics


@dataclass
class Checked:
    verdict: Verdict
    cached: bool


class LeanService:
    def __init__(self, verifier: Verifier, *, max_pending: int, cache_size: int, max_timeout: float) -> None:
        self.verifier = verifier
        self.allowed = frozenset(getattr(verifier, "allowed", ALLOWED_AXIOMS))
        self.cache = VerdictCache(cache_size, self.allowed)
        self.workers = int(getattr(verifier, "max_workers", 1) or 1)
        self.admission = Admission(max_pending, self.workers)
        self.metrics = Metrics(lambda: getattr(self.verifier, "stats", {}))
        self.max_timeout = float(max_timeout)
        self.verdict_counts: Counter[str] = Counter()
        self._inflight: dict[str, asyncio.Future[Verdict | None]] = {}  # cache key -> the check running now
        self.started = time.monotonic()

    def request_timeout(self, asked: float | None) -> float:
        """The request's deadline in seconds: what it asked for, capped at ``max_timeout`` (0/None = the cap)."""
        if not asked or asked <= 0:
            return self.max_timeout
        return min(float(asked), self.max_timeout)

    async def verify(self, candidates: Sequence[Candidate], timeout: float, *, use_cache: bool = True) -> list[Checked]:
        """One result per candidate, in order. Raises ``Busy``/``TooLarge`` before any work starts.

        With the cache on, a proof is checked at most once at a time: a copy in the same request,
        or one another request is checking right now, waits for that answer (a cache hit) instead
        of taking a worker. If that check does not give a cacheable verdict (its client left, it
        timed out), the waiting candidate is checked on its own.
        """
        out: list[Checked | None] = [None] * len(candidates)
        use_cache = use_cache and self.cache.size > 0
        keys = [self.cache.key(c) if use_cache else "" for c in candidates]
        todo: list[int] = []
        for i, c in enumerate(candidates):
            hit = self.cache.get(keys[i], c) if use_cache else None
            if hit is not None:
                self.metrics.cache_hits.inc()
                out[i] = Checked(hit, True)
            else:
                todo.append(i)
        leader: dict[str, int] = {}
        copies: list[int] = []
        waiting: dict[int, asyncio.Future[Verdict | None]] = {}
        if use_cache:
            for i in todo:
                if keys[i] in leader:
                    copies.append(i)
                elif keys[i] in self._inflight:
                    waiting[i] = self._inflight[keys[i]]
                else:
                    leader[keys[i]] = i
            todo = list(leader.values())
            self.metrics.cache_misses.inc(len(todo))
            shared = len(copies) + len(waiting)
            self.cache.misses -= shared  # get() counted them as misses; they are answered without a check of their own
            self.cache.hits += shared

        mine: dict[str, asyncio.Future[Verdict | None]] = {}

        async def run_mine() -> None:
            for i, v in zip(todo, await self._run([candidates[i] for i in todo], timeout), strict=True):
                out[i] = Checked(v, False)
                if use_cache:
                    self.cache.put(keys[i], v)
                    mine[keys[i]].set_result(v if v.status in CACHEABLE else None)

        async def wait_others() -> None:
            again: list[int] = []
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            for i, f in waiting.items():
                try:
                    v = await asyncio.wait_for(asyncio.shield(f), max(0.0, deadline - loop.time()))
                except asyncio.TimeoutError:
                    v = Verdict("timeout", reason=f"request deadline of {timeout:g} s passed (waiting for the "
                                "same proof in another request)", seconds=timeout)
                if v is None:
                    again.append(i)
                    continue
                v = copy.deepcopy(v)
                v.candidate, v.problem = candidates[i].id, candidates[i].problem
                out[i] = Checked(v, v.status in CACHEABLE)
                if out[i].cached:
                    self.metrics.cache_hits.inc()
            if again:
                self.metrics.cache_misses.inc(len(again))
                for i, v in zip(again, await self._run([candidates[i] for i in again], timeout), strict=True):
                    out[i] = Checked(v, False)
                    self.cache.put(keys[i], v)

        with contextlib.ExitStack() as stack:
            if todo:
                stack.enter_context(self.admission.admit(len(todo)))
                self.metrics.queue_depth.set(self.admission.pending)
            if use_cache:  # registered before any await, so a request looked up after this one waits on it
                loop = asyncio.get_running_loop()
                for i in todo:
                    mine[keys[i]] = self._inflight[keys[i]] = loop.create_future()
            try:
                await asyncio.gather(run_mine(), wait_others())
            finally:
                self.metrics.queue_depth.set(self.admission.pending - len(todo))
                for k, f in mine.items():
                    if self._inflight.get(k) is f:
                        del self._inflight[k]
                    if not f.done():
                        f.set_result(None)  # cancelled or failed: whoever waits on it checks for themselves
        for i in copies:
            first = out[leader[keys[i]]]
            assert first is not None
            v = copy.deepcopy(first.verdict)
            v.candidate, v.problem = candidates[i].id, candidates[i].problem
            out[i] = Checked(v, True)
            self.metrics.cache_hits.inc()
        for r in out:
            assert r is not None
            self.verdict_counts[r.verdict.status] += 1
            self.metrics.verdicts.labels(r.verdict.status).inc()
        return out  # type: ignore[return-value]

    async def _run(self, candidates: list[Candidate], timeout: float) -> list[Verdict]:
        async def one(c: Candidate) -> Verdict:
            t0 = time.monotonic()
            try:
                (v,) = await asyncio.wait_for(self.verifier.verify([c]), timeout)
            except asyncio.TimeoutError:
                v = Verdict("timeout", reason=f"request deadline of {timeout:g} s passed (queue wait included)",
                            seconds=time.monotonic() - t0)
            v.candidate, v.problem = c.id, c.problem
            self.admission.observe(v.seconds)
            return v

        return list(await asyncio.gather(*(one(c) for c in candidates)))

    def health(self) -> dict[str, object]:
        v = self.verifier
        pids = v.pids() if hasattr(v, "pids") else None
        return {
            "status": "ok",
            "workers": {"alive": len(pids) if pids is not None else None, "max": self.workers},
            "queue_depth": self.admission.pending,
            "max_pending": self.admission.max_pending,
            "verdicts": dict(self.verdict_counts),
            "cache": {"entries": len(self.cache), "size": self.cache.size, "hits": self.cache.hits,
                      "misses": self.cache.misses},
            "uptime_s": round(time.monotonic() - self.started, 3),
        }
