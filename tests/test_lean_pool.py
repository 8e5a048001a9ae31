"""LeanPool over the scripted double: verdict flow, header reuse, LRU, retirement, faults, tactic sessions."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import psutil
import pytest

from prover.lean.double_pools import scripted_verifier
from prover.lean.pool import LeanPool
from prover.lean.repl import CommandResponse, ReplError, TacticResponse
from prover.records import Candidate, Pos

HEADER = "import Mathlib.Tactic\nimport Mathlib.Data.Real.Basic\n\n"
SORRY_WARNING = {"severity": "warning", "pos": {"line": 1, "column": 8}, "endPos": {"line": 1, "column": 9},
                 "data": "declaration uses 'sorry'"}  # v4.24.0 wording


def cand(body: str, header: str = "", problem: str = "p") -> Candidate:
    return Candidate(problem=problem, code=header + body)


def assert_no_processes(pids: list[int]) -> None:
    for pid in pids:
        with pytest.raises(psutil.NoSuchProcess):
            psutil.Process(pid)


async def run(pool: LeanPool, cands: list[Candidate]) -> list[Any]:
    try:
        return await pool.verify(cands)
    finally:
        pids = pool.pids()
        await pool.aclose()
        assert_no_processes(pids)


async def test_verdict_flow_proved_failed_rejected_and_in_order() -> None:
    rules = [
        {"match": "by simp", "response": {}},
        {"match": "by native", "response": {}},
        {"match": "#print axioms native_thm",
         "response": {"messages": [{"severity": "info", "pos": {"line": 1, "column": 0}, "endPos": None,
                                    "data": "'native_thm' depends on axioms: [propext, Lean.ofReduceBool]"}]}},
        {"match": "by sorry", "response": {"messages": [SORRY_WARNING],
                                           "sorries": [{"pos": {"line": 1, "column": 24}, "goal": "⊢ 1 = 1",
                                                        "endPos": {"line": 1, "column": 29}}]}},
        {"match": "by env_gone", "response": {"message": "Unknown environment."}},
    ]
    pool = scripted_verifier(rules, workers=2)
    cands = [
        cand("theorem a : 1 = 1 := by simp", HEADER),
        cand("theorem b : 1 = 1 := by omega", HEADER),
        cand("theorem native_thm : 1 = 1 := by native"),
        cand("theorem c : 1 = 1 := by sorry", HEADER),
        cand("theorem d : 1 = 1 := by\n  #eval 1"),
        cand("theorem e : 1 = 1 := by env_gone"),
        Candidate("p", "theorem f : 1 = 1 := by simp \ud800", id="lone-surrogate"),
    ]
    vs = await run(pool, cands)
    assert [v.status for v in vs] == ["proved", "failed", "failed", "failed", "rejected", "failed", "rejected"]
    assert vs[0].axioms == ["propext", "Classical.choice", "Quot.sound"] and vs[0].proved
    assert "unsolved goals" in vs[1].reason
    assert "Lean.ofReduceBool" in vs[2].reason
    assert "sorry" in vs[3].reason
    assert vs[4].reason.startswith("refused")
    assert "Unknown environment" in vs[5].reason
    assert [v.candidate for v in vs] == [c.id for c in cands]
    assert all(v.problem == "p" and v.seconds > 0 for v in vs)


async def test_positions_of_messages_and_sorries_shift_back_by_the_header() -> None:
    # no messages at all, only a sorry: kimina would leave the sorry unshifted
    rules = [
        {"match": "lonely", "response": {"sorries": [{"pos": {"line": 1, "column": 3}, "goal": "⊢ True",
                                                      "endPos": {"line": 1, "column": 8}}]}},
        {"match": "tactic_mode", "response": {"sorries": [{"goal": "⊢ True"}]}},
    ]
    pool = scripted_verifier(rules)
    v1, v2, v3 = await run(pool, [cand("theorem t : True := lonely", HEADER),
                                  cand("theorem t : True := tactic_mode", HEADER),
                                  cand("theorem t : True := by omega", HEADER)])
    assert v1.status == "failed" and v1.messages == []
    assert v1.sorries[0]["pos"] == {"line": 4, "column": 3} and v1.sorries[0]["endPos"]["line"] == 4
    assert "pos" not in v2.sorries[0]  # tactic-mode sorries carry no position: nothing invented
    assert v3.messages[0].pos == Pos(4, 0)


async def test_header_env_is_built_once_per_worker_and_reused() -> None:
    pool = scripted_verifier([{"match": "ok", "response": {}}], workers=2)
    cands = [cand(f"theorem t{i} : True := ok", HEADER) for i in range(6)]
    vs = await run(pool, cands)
    assert all(v.proved for v in vs)
    assert pool.stats["started"] <= 2 and pool.stats["evicted"] == 0


async def test_lru_eviction_and_queueing_when_saturated() -> None:
    pool = scripted_verifier([{"match": "ok", "response": {}}], workers=1)
    headers = ["import A\n", "import B\n", "import A\n"]
    vs = await run(pool, [cand("theorem t : True := ok", h) for h in headers])
    assert all(v.proved for v in vs)
    assert pool.stats["started"] >= 2 and pool.stats["evicted"] >= 1


async def test_header_errors_timeouts_and_empty_header() -> None:
    rules = [
        {"match": "^import Broken", "response": {"messages": [
            {"severity": "error", "pos": {"line": 1, "column": 0}, "endPos": None,
             "data": "unknown module prefix 'Broken'"}]}},
        {"match": "^import Slow", "delay": 30},
        {"match": "ok", "response": {}},
    ]
    pool = scripted_verifier(rules, workers=2, header_timeout=3.0)
    vs = await run(pool, [cand("theorem t : True := ok", "import Broken\n"),
                          cand("theorem t : True := ok", "import Slow\n"),
                          cand("theorem t : True := ok")])
    assert vs[0].status == "failed" and "header error" in vs[0].reason
    assert vs[1].status == "timeout" and "header" in vs[1].reason
    assert vs[2].proved


@pytest.mark.parametrize(
    ("rule", "status", "why"),
    [
        ({"match": "fault", "delay": 30}, "timeout", "did not answer"),
        ({"match": "fault", "die": True, "response": {}}, "crashed", "died mid-response"),
        ({"match": "fault", "garbage": True}, "crashed", "unparseable"),
        ({"match": "fault", "bytes": 50_000_000}, "crashed", "exceeded"),
        ({"match": "fault", "grow_mb": 400}, "crashed", "allocation failure"),
    ],
    ids=["hang", "die", "garbage", "50MB", "memory"],
)
async def test_each_fault_ends_in_its_status_and_the_pool_keeps_serving(rule, status, why) -> None:
    timeout = 1.0 if rule.get("delay") else 15.0  # generous where no hang is meant: the machine may be busy
    pool = scripted_verifier([rule, {"match": "ok", "response": {}}], workers=1, timeout=timeout,
                             memory_limit_gb=0.25, max_response_bytes=1 << 20)
    try:
        first = await pool.verify([cand("theorem f : True := fault")])
        seen = pool.pids() + [p for p in _double_pids()]
        rest = await pool.verify([cand(f"theorem t{i} : True := ok") for i in range(3)])
    finally:
        live = pool.pids()
        await pool.aclose()
    assert first[0].status == status and why in first[0].reason
    assert all(v.proved for v in rest)
    assert_no_processes(live + [p for p in seen if p not in _double_pids()])
    assert not _double_pids()


def _double_pids() -> list[int]:
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if any("proofforge-scripted-" in a for a in p.cmdline()):
                out.append(p.pid)
        except psutil.Error:
            continue
    return out


async def test_one_hanging_candidate_does_not_block_the_others() -> None:
    pool = scripted_verifier([{"match": "hang", "delay": 30}, {"match": "ok", "response": {}}],
                             workers=2, timeout=3.0)
    vs = await run(pool, [cand("theorem h : True := hang")] + [cand(f"theorem t{i} : True := ok") for i in range(4)])
    assert vs[0].status == "timeout"
    assert all(v.proved for v in vs[1:])
    assert max(v.seconds for v in vs[1:]) < vs[0].seconds  # they finished while the hang was pending


async def test_allocation_failure_is_retried_once_on_a_fresh_process() -> None:
    rules = [
        {"match": "flaky", "once": True, "die": True, "stderr": "INTERNAL PANIC: failed to create thread"},
        {"match": "flaky", "response": {}},
    ]
    pool = scripted_verifier(rules)
    (v,) = await run(pool, [cand("theorem t : True := flaky")])
    assert v.proved and pool.stats["crashes"] == 1 and pool.stats["started"] == 2


async def test_workers_retire_after_max_uses_and_above_max_rss() -> None:
    pool = scripted_verifier([{"match": "ok", "response": {}}], max_uses=2)
    vs = await run(pool, [cand(f"theorem t{i} : True := ok") for i in range(5)])
    assert all(v.proved for v in vs)
    assert pool.stats["retired"] == 2 and pool.stats["started"] == 3
    pool = scripted_verifier([{"match": "fat", "grow_mb": 80, "response": {}}, {"match": "ok", "response": {}}],
                             max_rss_gb=0.05)
    vs = await run(pool, [cand("theorem t : True := fat"), cand("theorem u : True := ok")])
    assert all(v.proved for v in vs) and pool.stats["retired"] >= 1 and pool.stats["started"] == 2


async def test_tactic_session_gives_proof_states_never_verdicts() -> None:
    rules = [
        {"match": "theorem s", "response": {"sorries": [{"goal": "⊢ 2 + 2 = 4", "pos": {"line": 1, "column": 30},
                                                         "endPos": {"line": 1, "column": 35}}]}},
        {"match": "^norm_num$", "response": {"goals": []}},
        {"match": "^intro$", "response": {"goals": ["h : True ⊢ 2 + 2 = 4"]}},
        {"match": "^open Real", "response": {}},
    ]
    pool = scripted_verifier(rules)
    try:
        async with pool.session(HEADER) as s:
            start = await s.command("theorem s : 2 + 2 = 4 := by sorry")
            assert isinstance(start, CommandResponse)
            ps = start.sorries[0]["proofState"]
            step = await s.tactic("intro", ps)
            assert isinstance(step, TacticResponse) and not step.completed
            done = await s.tactic("norm_num", step.proof_state)
            assert isinstance(done, TacticResponse) and done.completed
            bad = await s.tactic("norm_num", 999)
            assert isinstance(bad, ReplError) and bad.unknown_proof_state
        async with pool.session(HEADER + "open Real\n") as s:  # a preamble gets its own env on the header's
            assert s.env == 2  # env 0: header, env 1: the sorry theorem above
    finally:
        await pool.aclose()


def test_verify_sync_keeps_workers_warm_until_close() -> None:
    pool = scripted_verifier([{"match": "ok", "response": {}}])
    assert pool.verify_sync([cand("theorem t : True := ok")])[0].proved
    warm = pool.pids()
    assert pool.verify_sync([cand("theorem t : True := nope")])[0].status == "failed"
    assert pool.pids() == warm
    pool.close()
    assert pool.pids() == []
    assert_no_processes(warm)


async def test_verify_sync_works_inside_a_running_loop() -> None:
    pool = scripted_verifier([{"match": "ok", "response": {}}])
    try:
        assert pool.verify_sync([cand("theorem t : True := ok")])[0].proved  # e.g. from a notebook cell
    finally:
        await pool.aclose()


async def test_many_candidates_concurrently() -> None:
    pool = scripted_verifier([{"match": "even", "response": {}}], workers=3)
    cands = [cand(f"theorem t{i} : True := {'even' if i % 2 == 0 else 'odd'}", HEADER) for i in range(30)]
    vs = await run(pool, cands)
    assert [v.proved for v in vs] == [i % 2 == 0 for i in range(30)]


async def test_bad_rules_fail_at_construction() -> None:
    with pytest.raises(ValueError, match="rule 0"):
        scripted_verifier([{"match": "(unclosed"}])


async def test_concurrent_sessions_and_verify_share_the_cap(tmp_path: Path) -> None:
    pool = scripted_verifier([{"match": "ok", "response": {}}], workers=1)
    try:
        async with pool.session("") as s:
            assert s.env == 0
            task = asyncio.create_task(pool.verify([cand("theorem t : True := ok")]))
            await asyncio.sleep(0.3)
            assert not task.done()  # the only worker is held by the session
        (v,) = await task
        assert v.proved
    finally:
        await pool.aclose()


def test_pool_serves_one_event_loop_after_another() -> None:
    pool = scripted_verifier([{"match": "ok", "response": {}}])
    assert asyncio.run(pool.verify([cand("theorem t : True := ok")]))[0].proved
    warm = pool.pids()
    assert warm
    assert asyncio.run(pool.verify([cand("theorem u : True := ok")]))[0].proved  # as Strategy.prove does
    assert pool.pids() == warm and pool.stats["started"] == 1  # the warm worker was reused
    asyncio.run(pool.aclose())
    assert_no_processes(warm)
    assert pool.pids() == []


async def test_an_idle_worker_that_died_is_replaced_not_blamed() -> None:
    import os
    import signal

    pool = scripted_verifier([{"match": "ok", "response": {}}])
    try:
        assert (await pool.verify([cand("theorem t : True := ok")]))[0].proved
        (pid,) = pool.pids()
        os.kill(pid, signal.SIGKILL)  # e.g. the OOM killer, while the worker sits idle
        for _ in range(100):
            if pool.pids() != [pid]:
                break
            await asyncio.sleep(0.02)
        (v,) = await pool.verify([cand("theorem u : True := ok")])
        assert v.proved, v.reason
        assert pool.stats["started"] == 2
    finally:
        await pool.aclose()


async def test_the_scripted_double_loads_module_and_public_import_headers():
    """The header grammar's `module` / `public import` forms build a worker on the double as on Lean."""
    pool = scripted_verifier([{"match": "omega", "response": {}}])
    try:
        code = "module\n\npublic import Std\n\ntheorem t (n : Nat) : n + 0 = n := by\n  omega\n"
        [v] = await pool.verify([Candidate(problem="t", code=code)])
        assert v.status == "proved", v.reason
    finally:
        await pool.aclose()
