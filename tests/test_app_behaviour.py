"""Behaviour every Hydra app shares (prover/config.py hydra_app): library loggers, run folders, exit codes."""

from __future__ import annotations

import logging
import sys

import pytest

from prover.config import hydra_app


def _run_app(monkeypatch, task, *args: str, errors=None):
    monkeypatch.setattr(sys, "argv", ["proofforge-test", *args])
    hydra_app("check", task, prefix="proofforge-test: ", errors=errors or {})()


def test_library_loggers_stay_at_warning_unless_asked(monkeypatch, tmp_path):
    seen: list[int] = []
    for name in ("httpx", "httpcore"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)

    def task(cfg):
        seen.append(logging.getLogger("httpx").getEffectiveLevel())

    _run_app(monkeypatch, task, f"hydra.run.dir={tmp_path / 'a'}")
    assert seen == [logging.WARNING]
    logging.getLogger("httpx").setLevel(logging.NOTSET)
    _run_app(monkeypatch, task, f"hydra.run.dir={tmp_path / 'b'}", "hydra.verbose=httpx")
    assert seen[-1] == logging.DEBUG  # asked for: left alone


@pytest.fixture(autouse=True)
def _restore_logging():
    levels = {n: logging.getLogger(n).level for n in ("httpx", "httpcore")}
    yield
    for n, lv in levels.items():
        logging.getLogger(n).setLevel(lv)


def test_two_runs_started_in_the_same_second_get_their_own_folders(monkeypatch, tmp_path):
    import time

    from hydra.core.hydra_config import HydraConfig

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(time, "strftime", lambda fmt, *a: "2026-01-01_00-00-00")
    dirs = []

    def task(cfg):
        out = HydraConfig.get().runtime.output_dir
        dirs.append(out)
        (tmp_path / out / "verdicts.jsonl").write_text("{}\n")

    _run_app(monkeypatch, task)
    _run_app(monkeypatch, task)
    assert [p.split("runs/check/")[-1] for p in dirs] == ["2026-01-01_00-00-00", "2026-01-01_00-00-00-2"]


def test_a_run_that_fails_before_it_started_leaves_no_run_folder(monkeypatch, tmp_path):
    from hydra.core.hydra_config import HydraConfig

    from prover.config import write_run_manifest

    monkeypatch.chdir(tmp_path)

    def fails_early(cfg):
        (HydraConfig.get().runtime.output_dir / __import__("pathlib").Path("config.yaml")).write_text("x: 1\n")
        raise ValueError("lean.timeout must be > 0, got 0")

    with pytest.raises(SystemExit) as e:
        _run_app(monkeypatch, fails_early, errors={(ValueError,): 2})
    assert e.value.code == 2 and not (tmp_path / "runs").exists()

    def fails_late(cfg):
        write_run_manifest(HydraConfig.get().runtime.output_dir, {"model": "m"})
        raise ValueError("boom")

    with pytest.raises(SystemExit):
        _run_app(monkeypatch, fails_late, errors={(ValueError,): 1})
    [kept] = list((tmp_path / "runs" / "check").iterdir())  # a started run keeps its folder (to resume)
    assert (kept / "manifest.json").exists()
    # a folder the user named is never removed
    with pytest.raises(SystemExit):
        _run_app(monkeypatch, fails_early, f"hydra.run.dir={tmp_path / 'mine'}", errors={(ValueError,): 2})
    assert (tmp_path / "mine").is_dir()


def test_check_with_a_missing_input_exits_1_and_leaves_nothing(monkeypatch, tmp_path, capsys):
    from prover.lean.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["proofforge-check", "inputs=[nope.lean]", "lean=scripted"])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code != 0 and not (tmp_path / "runs").exists()
    assert capsys.readouterr().err.strip().startswith("proofforge-check: nope.lean")


def test_eval_writes_its_manifest_only_once_lean_and_the_model_are_up(tmp_path):
    from evals.run import run_eval
    from prover.config import compose
    from prover.llm.errors import GeneratorError

    cfg = compose("eval", [f"out_dir={tmp_path / 'run'}", "lean=scripted", "model.path=/no/such/ckpt",
                           "dataset.limit=1", "report=false"])
    with pytest.raises(GeneratorError):
        run_eval(cfg)
    assert not (tmp_path / "run" / "manifest.json").exists()
