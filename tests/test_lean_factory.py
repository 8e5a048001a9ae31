"""build_verifier from the lean config group, and RayPool's dispatch (with stand-in actors)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from prover.config import compose
from prover.lean.pool import LeanPool
from prover.lean.project import LeanMissingError
from prover.lean.ray_pool import NO_RAY, ClusterMissingError, RayPool, balance
from prover.lean.verifier_factory import build_verifier
from prover.records import Candidate, Verdict


def test_scripted_backend_from_the_config_group(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps([{"match": "from_file", "response": {}}]))
    cfg = compose("check", ["lean=scripted", "+lean.rules=[{match: inline, response: {}}]",
                            f"lean.rules_file={rules_file}", "lean.max_uses=3"])
    v = build_verifier(cfg.lean)
    assert isinstance(v, LeanPool) and v.max_uses == 3 and v.max_workers == 1
    out = v.verify_sync([Candidate("p", "theorem a : True := inline"), Candidate("p", "theorem b : True := from_file"),
                         Candidate("p", "theorem c : True := other")])
    assert [x.status for x in out] == ["proved", "proved", "failed"]


def test_local_config_defaults() -> None:
    cfg = compose("check").lean
    assert cfg.backend == "local" and cfg.memory_limit_gb == 12 and cfg.header_timeout > cfg.timeout
    assert set(cfg.allowed_axioms) == {"propext", "Classical.choice", "Quot.sound"}


def test_local_backend_without_lean_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("ELAN_HOME", str(tmp_path / "no-elan"))
    with pytest.raises(LeanMissingError, match="install"):
        build_verifier({"backend": "local"})


def test_bad_backend_and_bad_rules_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lean.backend"):
        build_verifier({"backend": "nope"})
    bad = tmp_path / "rules.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="lean.rules_file"):
        build_verifier({"backend": "scripted", "rules_file": str(bad)})


async def test_replay_backend_loads_a_recorded_header() -> None:
    v = build_verifier({"backend": "replay", "transcript": "import_lean"})
    assert isinstance(v, LeanPool)
    try:
        async with v.session("import Lean\n") as s:  # the header request is the transcript's first request
            assert s.env == 0
    finally:
        await v.aclose()


def test_ray_backend_without_ray_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the cluster extra were not installed
    with pytest.raises(ClusterMissingError) as info:
        build_verifier(compose("check", ["lean=ray"]).lean)
    assert str(info.value) == NO_RAY


def test_balance_keeps_groups_contiguous_and_even() -> None:
    assert balance(7, 3) == [[0, 1, 2], [3, 4], [5, 6]]
    assert balance(2, 4) == [[0], [1], [], []]
    assert sum(len(g) for g in balance(100, 7)) == 100


class FakeActor:
    """Stands in for a Ray actor handle: ``verify.remote(batch)`` returns an awaitable."""

    def __init__(self, name: str, fail: bool = False) -> None:
        self.name, self.fail, self.batches = name, fail, []
        outer = self

        class _Method:
            def remote(self, batch: list[dict[str, Any]]):
                outer.batches.append(batch)
                return outer._run(batch)

        self.verify = _Method()

    async def _run(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        await asyncio.sleep(0)
        if self.fail:
            raise RuntimeError(f"actor {self.name} died")
        return [Verdict("proved" if "good" in d["code"] else "failed", candidate=d["id"], problem=d["problem"],
                        reason=self.name).to_dict() for d in batch]


async def test_ray_pool_dispatch_keeps_order_and_retries_a_dead_actor() -> None:
    actors = [FakeActor("a0"), FakeActor("a1", fail=True), FakeActor("a2")]
    pool = RayPool(handles=actors)
    cands = [Candidate(f"p{i}", f"theorem t : True := {'good' if i % 3 else 'bad'}") for i in range(8)]
    out = await pool.verify(cands)
    assert [v.candidate for v in out] == [c.id for c in cands]
    assert [v.proved for v in out] == [i % 3 != 0 for i in range(8)]
    assert {v.reason for v in out} <= {"a0", "a2"}  # what a1 took went to another actor
    assert 1 <= len(actors[1].batches) <= 2  # a1 stops taking work after two failed calls
    assert all(len(b) == 1 for a in actors for b in a.batches)  # one candidate per call


class GatedActor(FakeActor):
    """Its 'slow' candidate finishes only once every other candidate of the batch is done."""

    def __init__(self, name: str, shared: dict[str, Any]) -> None:
        super().__init__(name)
        self.shared = shared

    async def _run(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if "slow" in batch[0]["code"]:
            try:
                await asyncio.wait_for(self.shared["others_done"].wait(), 10)
            except asyncio.TimeoutError:
                return [Verdict("timeout", reason="held up", candidate=batch[0]["id"]).to_dict()]
        out = await super()._run(batch)
        if "slow" not in batch[0]["code"]:
            self.shared["done"] += 1
            if self.shared["done"] == self.shared["others"]:
                self.shared["others_done"].set()
        return out


async def test_ray_pool_one_slow_candidate_does_not_hold_up_the_rest() -> None:
    shared: dict[str, Any] = {"done": 0, "others": 7, "others_done": asyncio.Event()}
    pool = RayPool(handles=[GatedActor("a0", shared), GatedActor("a1", shared)])
    cands = [Candidate("slow", "theorem s : True := good slow")] + [
        Candidate(f"p{i}", f"theorem t{i} : True := good") for i in range(7)]
    out = await pool.verify(cands)
    assert [v.status for v in out] == ["proved"] * 8
    assert pool.assignments.count(pool.assignments[0]) == 1  # the slow one's actor did nothing else


async def test_ray_pool_keeps_a_header_on_the_actor_that_has_it_warm() -> None:
    actors = [FakeActor("a0"), FakeActor("a1")]
    pool = RayPool(handles=actors)
    cands = [Candidate(f"p{i}", f"import {'Mathlib' if i % 2 else 'Lean'}\ntheorem t{i} : True := good")
             for i in range(8)]
    await pool.verify(cands)
    seen = [{d["code"].splitlines()[0] for b in a.batches for d in b} for a in actors]
    assert seen == [{"import Lean"}, {"import Mathlib"}]


async def test_ray_pool_with_only_dead_actors_gives_crashed_verdicts() -> None:
    pool = RayPool(handles=[FakeActor("x", fail=True)])
    out = await pool.verify([Candidate("p", "good")])
    assert out[0].status == "crashed" and "actor x died" in out[0].reason


def test_bestfirst_over_ray_is_refused_when_the_config_is_composed(tmp_path: Path) -> None:
    from evals.run import run_eval
    from prover.search.strategy_factory import ConfigError, check_strategy_fits

    cfg = compose("eval", ["prover=bestfirst", "lean=ray", f"out_dir={tmp_path / 'run'}", "model.backend=scripted"])
    with pytest.raises(ConfigError) as err:
        run_eval(cfg, progress=False)  # before Ray, Lean or the model start
    msg = str(err.value)
    assert "prover=bestfirst needs tactic-mode REPL sessions" in msg and "lean=ray" in msg and "\n" not in msg
    check_strategy_fits(cfg.prover, compose("check", ["lean=local"]).lean)  # the local pool has sessions
    check_strategy_fits(compose("eval", ["prover=wholeproof"]).prover, cfg.lean)  # whole proofs over Ray: fine
    synth = compose("synth", ["prover=bestfirst", "lean=ray", f"out_dir={tmp_path / 's'}"])
    from prover.synthetic.pipeline import check_settings

    with pytest.raises(ConfigError, match="tactic-mode"):
        check_settings(synth)


def test_ray_actor_options_come_from_the_config() -> None:
    from prover.lean.ray_pool import actor_options

    assert actor_options({"workers": 3}) == {"num_cpus": 3.0, "max_restarts": 1, "max_task_retries": 1,
                                             "scheduling_strategy": "SPREAD"}
    assert actor_options({"workers": 3, "actor_cpus": 0.5, "max_restarts": 0})["num_cpus"] == 0.5
    with pytest.raises(ValueError, match="lean.actor_cpus"):
        build_verifier({"backend": "ray", "actor_cpus": "many"})
    with pytest.raises(ValueError, match="lean.actor_backend"):
        build_verifier({"backend": "ray", "actor_backend": "ray"})


def test_replay_without_transcripts_names_the_option(tmp_path):
    """An installed wheel has no shared transcripts beside it: lean=replay says which option to set."""
    with pytest.raises(ValueError, match=r"^lean.transcripts: no REPL transcripts \(\*.in\) in .*empty"):
        build_verifier({"backend": "replay", "transcripts": str(tmp_path / "empty")})
