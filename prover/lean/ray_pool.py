"""RayPool: the verifier spread over a Ray cluster, one Lean worker set per actor.

Why: one machine's cores bound how many REPLs can run; on a cluster each node runs
an actor holding its own :class:`~prover.lean.pool.LeanPool` (warm header
environments stay on that node), and the driver only ships candidates and verdicts
as plain dicts. Same ``Verifier`` interface, so strategies cannot tell the difference.

Ray is imported lazily (``cluster`` extra). Dispatch is kept separate from Ray so it
can be tested with stand-in actor handles: any object whose ``verify.remote(batch)``
returns an awaitable of verdict dicts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from prover.lean.base import Verifier
from prover.records import Candidate, Verdict

NO_RAY = "Ray is not installed: install the cluster extra: pip install 'proofforge[cluster]'."


class ClusterMissingError(RuntimeError):
    """Ray is missing; the message is one sentence saying what to install."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ClusterMissingError(NO_RAY) from None
    return ray


def balance(n: int, actors: int) -> list[list[int]]:
    """Split candidate indices 0..n-1 into ``actors`` contiguous groups whose sizes differ by at most 1.

    Contiguous groups keep candidates of one problem (same header) on one actor, so
    its warm header environment is reused.
    """
    actors = max(1, actors)
    base, extra = divmod(n, actors)
    out, start = [], 0
    for a in range(actors):
        size = base + (1 if a < extra else 0)
        out.append(list(range(start, start + size)))
        start += size
    return out


def _actor_class(ray: Any) -> Any:
    @ray.remote
    class LeanWorkerActor:  # pragma: no cover - runs inside Ray
        """Holds one LeanPool on its node; verdicts travel back as dicts."""

        def __init__(self, pool_config: dict[str, Any]) -> None:
            from prover.lean.factory import build_verifier

            self.pool = build_verifier(pool_config)

        async def verify(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
            verdicts = await self.pool.verify([Candidate.from_dict(d) for d in batch])
            return [v.to_dict() for v in verdicts]

        async def close(self) -> None:
            await self.pool.aclose()

    return LeanWorkerActor


class RayPool(Verifier):
    """Verifier over Ray actors. ``actors`` defaults to the number of alive nodes.

    ``pool_config`` is the ``lean`` config each actor builds its local pool from
    (backend ``local`` by default). ``handles`` injects ready actor handles (tests).
    """

    def __init__(
        self,
        actors: int | None = None,
        address: str | None = None,
        pool_config: dict[str, Any] | None = None,
        *,
        handles: Sequence[Any] | None = None,
    ) -> None:
        self.pool_config = dict(pool_config or {"backend": "local"})
        self.address = address
        self.n_actors = actors
        self._handles: list[Any] | None = list(handles) if handles is not None else None
        self._ray: Any = None
        if handles is None:
            self._ray = import_ray()  # fail now, with one sentence, not at the first batch

    def _start(self) -> list[Any]:
        if self._handles is not None:
            return self._handles
        ray = self._ray
        if not ray.is_initialized():
            ray.init(address=self.address, ignore_reinit_error=True)
        n = self.n_actors or max(1, sum(1 for node in ray.nodes() if node.get("Alive")))
        cls = _actor_class(ray)
        self._handles = [
            cls.options(scheduling_strategy="SPREAD").remote(self.pool_config) for _ in range(n)
        ]
        return self._handles

    async def verify(self, candidates: Sequence[Candidate]) -> list[Verdict]:
        handles = self._start()
        groups = [g for g in balance(len(candidates), len(handles)) if g]
        results: list[Verdict | None] = [None] * len(candidates)

        async def run(actor: int, idx: list[int]) -> None:
            batch = [candidates[i].to_dict() for i in idx]
            try:
                out = await handles[actor].verify.remote(batch)
            except Exception as first:  # actor died: one retry on the next actor
                if len(handles) < 2:
                    out = [_crashed(candidates[i], first) for i in idx]
                else:
                    try:
                        out = await handles[(actor + 1) % len(handles)].verify.remote(batch)
                    except Exception as e:
                        out = [_crashed(candidates[i], e) for i in idx]
            if len(out) != len(idx):
                out = [_crashed(candidates[i], RuntimeError("actor returned a wrong number of verdicts")) for i in idx]
            for i, v in zip(idx, out, strict=True):
                results[i] = v if isinstance(v, Verdict) else Verdict.from_dict(v)

        await asyncio.gather(*(run(a, idx) for a, idx in enumerate(groups)))
        return [v for v in results if v is not None]

    async def aclose(self) -> None:
        handles, self._handles = self._handles, ([] if self._ray is None else None)
        if not handles or self._ray is None:
            return
        for h in handles:
            with contextlib.suppress(Exception):
                await h.close.remote()
            self._ray.kill(h)


def _crashed(c: Candidate, err: BaseException) -> dict[str, Any]:
    return Verdict(
        "crashed", reason=f"Ray actor failed: {type(err).__name__}: {err}", candidate=c.id, problem=c.problem
    ).to_dict()
