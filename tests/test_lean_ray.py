"""lean=ray against a real local Ray instance (ray.init(num_cpus=2), one per module), the scripted double as REPL.

Covers: a batch through real actors, the per-actor CPU reservation, a slow candidate not holding up
the others, an actor killed mid-batch (Ray restarts it and retries; or the driver retries on
another actor) with the pool still serving, the smoke self-check through Ray, and
``prover=bestfirst lean=ray`` refused when the config is composed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from prover.lean.ray_pool import RayPool
from prover.lean.verifier_factory import build_verifier
from prover.records import Candidate

ray = pytest.importorskip("ray")

RULES = [
    {"match": "slow_ok", "response": {}, "delay": 3},
    {"match": "by good", "response": {}},
]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def _pool(**over: Any) -> RayPool:
    cfg = {"backend": "ray", "actor_backend": "scripted", "rules": RULES, "actors": 2, "workers": 1,
           "timeout": 30, "header_timeout": 30, "memory_limit_gb": 0, **over}
    pool = build_verifier(cfg)
    assert isinstance(pool, RayPool)
    return pool


def _cands(n: int, *, slow: bool = False) -> list[Candidate]:
    out = [Candidate("slow", "theorem slow : True := by slow_ok")] if slow else []
    return out + [Candidate(f"p{i}", f"theorem t{i} : True := by {'good' if i % 2 else 'bad'}") for i in range(n)]


def _cpus_free(r: Any, want: float, wait: float = 20.0) -> float:
    """Ray's available CPUs once they equal ``want`` (resource views update asynchronously), else the last seen."""
    deadline = time.monotonic() + wait
    free = r.available_resources().get("CPU", 0.0)
    while free != want and time.monotonic() < deadline:
        time.sleep(0.2)
        free = r.available_resources().get("CPU", 0.0)
    return free


async def test_a_batch_through_real_actors_each_reserving_its_cpus(local_ray: Any) -> None:
    pool = _pool()
    try:
        out = await pool.verify(_cands(6))
        assert [v.status for v in out] == ["failed", "proved"] * 3
        assert [v.candidate for v in out] == [c.id for c in _cands(6)]
        assert sorted(set(pool.assignments)) == [0, 1]  # both actors took work
        infos = [await h.info.remote() for h in pool.handles]
        assert len({i["pid"] for i in infos}) == 2 and all(i["workers"] == 1 for i in infos)
        assert _cpus_free(local_ray, 0.0) == 0.0  # 2 actors x num_cpus=1 of the 2 CPUs
    finally:
        await pool.aclose()
    assert _cpus_free(local_ray, 2.0) == 2.0  # released when the actors are killed


async def test_a_slow_candidate_does_not_hold_up_the_batch(local_ray: Any) -> None:
    pool = _pool()
    try:
        out = await pool.verify(_cands(5, slow=True))
        assert [v.status for v in out] == ["proved"] + ["failed", "proved", "failed", "proved", "failed"]
        slow_actor = pool.assignments[0]
        assert pool.assignments.count(slow_actor) == 1, pool.assignments  # the other actor did the rest
    finally:
        await pool.aclose()


async def test_an_actor_killed_mid_batch_is_restarted_and_its_call_retried(local_ray: Any) -> None:
    pool = _pool(actors=1, max_restarts=1, max_task_retries=1)
    try:
        await pool.start()
        pid = (await pool.handles[0].info.remote())["pid"]
        task = asyncio.ensure_future(pool.verify(_cands(0, slow=True)))
        await asyncio.sleep(1.0)  # the slow candidate is on the actor (or about to be)
        # SIGKILL of the actor's process, as a lost machine would: ``ray.kill`` may end the actor's child processes
        # first, and then the actor, still alive for a moment, reports its REPL's exit as a crashed verdict
        os.kill(pid, signal.SIGKILL)
        (v,) = await task
        assert v.status == "proved", v.reason  # Ray restarted the actor and retried the call on it
        after = await pool.verify(_cands(2))
        assert [x.status for x in after] == ["failed", "proved"]  # still serving
    finally:
        await pool.aclose()


async def test_an_actor_killed_for_good_leaves_the_other_serving(local_ray: Any) -> None:
    pool = _pool(max_restarts=0, max_task_retries=0)
    try:
        await pool.start()
        pid = (await pool.handles[0].info.remote())["pid"]
        task = asyncio.ensure_future(pool.verify(_cands(3, slow=True)))
        await asyncio.sleep(1.0)
        os.kill(pid, signal.SIGKILL)  # slot 0 took the slow candidate first; max_restarts=0: it stays dead
        out = await task
        assert [v.status for v in out] == ["proved", "failed", "proved", "failed"], [v.reason for v in out]
        after = await pool.verify(_cands(4))
        assert [v.status for v in after] == ["failed", "proved"] * 2
        assert set(pool.assignments) == {1}  # only the live actor judged
    finally:
        await pool.aclose()


async def test_a_candidate_whose_every_actor_died_is_crashed_not_lost(local_ray: Any) -> None:
    pool = _pool(actors=1, max_restarts=0, max_task_retries=0)
    try:
        await pool.start()
        local_ray.kill(pool.handles[0], no_restart=True)
        out = await pool.verify(_cands(2))
        assert [v.status for v in out] == ["crashed", "crashed"]
        assert all("Ray actor failed" in v.reason for v in out)
    finally:
        await pool.aclose()


async def test_the_smoke_self_check_runs_through_ray(local_ray: Any) -> None:
    from prover.lean.selftest import start_checks

    pool = _pool(actors=1)
    try:
        rec = await start_checks(pool, {"backend": "ray"}, headers=["import Mathlib\n"])
        assert rec["smoke"] == "passed" and rec["passed"] == 3
    finally:
        await pool.aclose()


async def test_a_mathlib_header_on_core_only_actors_is_a_setup_error(local_ray: Any) -> None:
    from prover.lean.pool import MathlibMissingError
    from prover.lean.selftest import start_checks

    pool = _pool(actors=1, core_only=True)
    try:
        with pytest.raises(MathlibMissingError, match="proofforge-lean setup --mathlib"):
            await start_checks(pool, {"backend": "ray"}, headers=["import Mathlib\n"])
        with pytest.raises(MathlibMissingError):
            await pool.verify([Candidate("m", "import Mathlib\ntheorem m : True := by good")])
    finally:
        await pool.aclose()
