"""RayPool: the verifier spread over a Ray cluster, one Lean worker set per actor.

Why: one machine's cores bound how many REPLs can run; on a cluster each node runs
an actor holding its own :class:`~prover.lean.pool.LeanPool` (warm header
environments stay on that node), and the driver only ships candidates and verdicts
as plain dicts. Same ``Verifier`` interface, so strategies cannot tell the difference.

Each actor reserves ``num_cpus`` (``lean.actor_cpus``, default its REPL ``workers``) so
Ray does not pile actors onto one node's cores, and is started with Ray's
``max_restarts`` / ``max_task_retries``: an actor process that dies is restarted and its
in-flight calls are retried on it (Ray's actor fault tolerance; ray-project/ray
``python/ray/actor.py``, ``doc/source/ray-core/fault_tolerance/actors.rst``). What Ray
cannot retry is retried once by the driver on another actor, else that one candidate is
``crashed``; the pool keeps serving.

Dispatch is one candidate per call, pulled by per-actor slots (as many as the actor's REPL
workers) from one queue, so a slow candidate occupies one slot and never holds up the
rest of a batch. A slot prefers candidates whose header that actor already has warm.

Ray is imported lazily (``cluster`` extra). Dispatch is kept separate from Ray so it can
be tested with stand-in actor handles: any object whose ``verify.remote(batch)`` returns
an awaitable of verdict dicts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from prover.lean.header import split_header
from prover.lean.verifier import Verifier
from prover.records import Candidate, Verdict

NO_RAY = "Ray is not installed: install the cluster extra: pip install 'proofforge[cluster]'."

#: Driver-side attempts per candidate (on distinct actors), on top of Ray's own task retries.
ATTEMPTS = 2
#: Consecutive failed calls after which an actor's slots stop taking candidates for this batch.
SLOT_FAILURES = 2


class ClusterMissingError(RuntimeError):
    """Ray is missing; the message is one sentence saying what to install."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ClusterMissingError(NO_RAY) from None
    return ray


def balance(n: int, actors: int) -> list[list[int]]:
    """Split candidate indices 0..n-1 into ``actors`` contiguous groups whose sizes differ by at most 1."""
    actors = max(1, actors)
    base, extra = divmod(n, actors)
    out, start = [], 0
    for a in range(actors):
        size = base + (1 if a < extra else 0)
        out.append(list(range(start, start + size)))
        start += size
    return out


def actor_options(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Ray actor options from the ``lean`` config: the CPU reservation and the fault-tolerance knobs."""
    cpus = cfg.get("actor_cpus")
    if cpus is None:
        cpus = cfg.get("workers") or 1
    try:
        opts = {
            "num_cpus": float(cpus),
            "max_restarts": int(cfg.get("max_restarts", 1)),
            "max_task_retries": int(cfg.get("max_task_retries", 1)),
        }
    except (TypeError, ValueError):
        raise ValueError("lean.actor_cpus, lean.max_restarts and lean.max_task_retries must be numbers") from None
    if opts["num_cpus"] < 0:
        raise ValueError(f"lean.actor_cpus must be >= 0, got {cpus}")
    return {**opts, "scheduling_strategy": "SPREAD"}


def _actor_class(ray: Any) -> Any:
    @ray.remote
    class LeanWorkerActor:  # pragma: no cover - runs inside Ray (tests/test_lean_ray.py exercises it)
        """Holds one LeanPool on its node; verdicts travel back as dicts."""

        def __init__(self, build_pool: Callable[[dict[str, Any]], Verifier], pool_config: dict[str, Any]) -> None:
            self.pool = build_pool(pool_config)

        async def info(self) -> dict[str, Any]:
            import os

            return {"workers": int(getattr(self.pool, "max_workers", 1)),
                    "core_only": bool(getattr(self.pool, "core_only", False)), "pid": os.getpid()}

        async def verify(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
            verdicts = await self.pool.verify([Candidate.from_dict(d) for d in batch])
            return [v.to_dict() for v in verdicts]

        async def close(self) -> None:
            await self.pool.aclose()

    return LeanWorkerActor


class RayPool(Verifier):
    """Verifier over Ray actors. ``actors`` defaults to the number of alive nodes.

    ``pool_config`` is the ``lean`` config each actor builds its local pool from (backend
    ``local`` by default; it also carries ``actor_cpus``, ``max_restarts``, ``max_task_retries``).
    ``build_pool`` builds that pool inside each actor (``prover.lean.verifier_factory.build_verifier``, passed
    in by the factory rather than imported here, so the factory and this module do not import each
    other; Ray pickles the function by reference). ``handles`` injects ready actor handles (tests),
    each taking ``capacity`` calls at a time.
    """

    def __init__(
        self,
        actors: int | None = None,
        address: str | None = None,
        pool_config: dict[str, Any] | None = None,
        *,
        build_pool: Callable[[dict[str, Any]], Verifier] | None = None,
        handles: Sequence[Any] | None = None,
        capacity: int = 1,
    ) -> None:
        self.pool_config = dict(pool_config or {"backend": "local"})
        self.build_pool = build_pool
        self.options = actor_options(self.pool_config)  # a bad value fails here, naming the key
        self.address = address
        self.n_actors = actors
        self._handles: list[Any] | None = list(handles) if handles is not None else None
        self._capacity: list[int] = [max(1, capacity)] * len(self._handles or [])
        self._warm: list[set[str]] = [set() for _ in self._handles or []]
        self._ray: Any = None
        #: the Lean-core-only REPL is what the actors run (see prover.lean.pool.require_mathlib_for)
        self.core_only = False
        #: actor index that judged each candidate of the last batch (-1: none could); for monitoring
        self.assignments: list[int] = []
        if handles is None:
            self._ray = import_ray()  # fail now, with one sentence, not at the first batch

    async def start(self) -> list[Any]:
        """Start (or connect to) Ray and the actors; ask each how many REPL workers it runs."""
        if self._handles is not None:
            return self._handles
        ray = self._ray
        if not ray.is_initialized():
            ray.init(address=self.address, ignore_reinit_error=True)
        n = self.n_actors or max(1, sum(1 for node in ray.nodes() if node.get("Alive")))
        cls = _actor_class(ray)
        if self.build_pool is None:
            raise ValueError("RayPool needs build_pool (the function each actor builds its pool with)")
        handles = [cls.options(**self.options).remote(self.build_pool, self.pool_config) for _ in range(n)]
        infos = await asyncio.gather(*(h.info.remote() for h in handles))
        self._capacity = [max(1, int(i.get("workers", 1))) for i in infos]
        self.core_only = any(bool(i.get("core_only")) for i in infos)
        self._warm = [set() for _ in handles]
        self._handles = handles
        return handles

    @property
    def handles(self) -> list[Any]:
        return list(self._handles or [])

    async def verify(self, candidates: Sequence[Candidate]) -> list[Verdict]:
        handles = await self.start()
        if self.core_only:
            from prover.lean.pool import require_mathlib_for

            require_mathlib_for(self, [c.code for c in candidates])
        n = len(candidates)
        dicts = [c.to_dict() for c in candidates]
        headers = [split_header(c.code).header for c in candidates]
        results: list[Verdict | None] = [None] * n
        tried: list[set[int]] = [set() for _ in range(n)]
        errors: list[BaseException | None] = [None] * n
        assigned = [-1] * n
        pending = list(range(n))
        attempts = min(ATTEMPTS, len(handles))
        state = {"inflight": 0}
        cond = asyncio.Condition()

        def pick(a: int) -> int | None:
            first = None
            for pos, i in enumerate(pending):
                if a in tried[i]:
                    continue
                if headers[i] in self._warm[a]:
                    return pending.pop(pos)
                if first is None:
                    first = pos
            return pending.pop(first) if first is not None else None

        async def slot(a: int) -> None:
            failures = 0
            while failures < SLOT_FAILURES:
                async with cond:
                    while (i := pick(a)) is None and state["inflight"]:
                        await cond.wait()  # a candidate in flight elsewhere may come back for a retry
                    if i is None:
                        return
                    state["inflight"] += 1
                out: list[Any] | None = None
                try:
                    out = await handles[a].verify.remote([dicts[i]])
                except Exception as e:  # the actor died (after Ray's retries) or its call raised
                    errors[i] = e
                async with cond:
                    state["inflight"] -= 1
                    if out is not None:
                        failures = 0
                        self._warm[a].add(headers[i])
                        assigned[i] = a
                        results[i] = (_verdict(out[0]) if len(out) == 1 else
                                      _crashed(candidates[i], RuntimeError("actor returned a wrong number of verdicts")))
                    else:
                        failures += 1
                        tried[i].add(a)
                        if len(tried[i]) >= attempts:
                            results[i] = _crashed(candidates[i], errors[i])
                        else:
                            pending.insert(0, i)
                    cond.notify_all()

        await asyncio.gather(*(slot(a) for a in range(len(handles)) for _ in range(self._capacity[a])))
        self.assignments = assigned
        return [v if v is not None else _crashed(candidates[i], errors[i] or RuntimeError("no Ray actor could take it"))
                for i, v in enumerate(results)]

    async def aclose(self) -> None:
        handles, self._handles = self._handles, ([] if self._ray is None else None)
        if not handles or self._ray is None:
            return
        for h in handles:
            with contextlib.suppress(Exception):
                await h.close.remote()
            self._ray.kill(h)


def _verdict(v: Any) -> Verdict:
    return v if isinstance(v, Verdict) else Verdict.from_dict(v)


def _crashed(c: Candidate, err: BaseException | None) -> Verdict:
    why = f"{type(err).__name__}: {str(err).splitlines()[0][:500] if str(err) else ''}" if err else "unknown"
    return Verdict("crashed", reason=f"Ray actor failed: {why}", candidate=c.id, problem=c.problem)
