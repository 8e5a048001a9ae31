"""Hydra sweeps: a failing job does not end the multirun, the exit status counts failures, the sweep folder
resumes job by job (folders named by overrides), and ``proofforge-report`` renders a sweep table and plot."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from prover.config import JOB_STATUS, REPO_ROOT, SWEEP_STATUS, job_dir_name

MODEL_YAML = """\
name: scripted
backend: scripted
prompt_style: tiny
script:
  - ["Complete the following", ["  omega\\n```", "  simp\\n```"]]
"""
LEAN_YAML = """\
backend: scripted
rules:
  - {match: "omega", response: {}}
workers: 1
timeout: 10
header_timeout: 10
memory_limit_gb: 0
"""


def _argv(tmp_path: Path, *args: str) -> list[str]:
    extra = tmp_path / "extra_configs"
    (extra / "model").mkdir(parents=True, exist_ok=True)
    (extra / "lean").mkdir(parents=True, exist_ok=True)
    (extra / "model" / "sweep_test.yaml").write_text(MODEL_YAML)
    (extra / "lean" / "sweep_test.yaml").write_text(LEAN_YAML)
    return [sys.executable, "-m", "prover.apps.eval", "--multirun", "--config-dir", str(extra), "model=sweep_test",
            "lean=sweep_test", "prover=wholeproof", "prover.budget.samples=2", "report=false",
            "dataset.limit=3", *args]


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180)


def test_job_dir_names_come_from_overrides():
    assert job_dir_name("a=1,b=x") == "a=1,b=x"
    assert job_dir_name("dataset.path=/d/p.jsonl") == "dataset.path=%d%p.jsonl"  # one job, one folder
    assert job_dir_name("") == "default"
    long = ",".join(f"key{i}=value{i}" for i in range(40))
    assert len(job_dir_name(long)) <= 160 and job_dir_name(long) != job_dir_name(long + "x")


def test_failing_job_does_not_end_the_sweep_then_resume_and_report(tmp_path):
    sweep = tmp_path / "sweep"
    data = tmp_path / "late.jsonl"  # does not exist yet: job 0's dataset.path is bad
    argv = _argv(tmp_path, f"dataset.path={data},null", f"hydra.sweep.dir={sweep}")
    first = _run(argv)
    assert first.returncode == 1, first.stdout + first.stderr  # the exit status counts the failed jobs
    assert "1 of 2 sweep jobs failed" in first.stderr and "Traceback" not in first.stderr
    jobs = {p.name: p for p in sweep.iterdir() if p.is_dir()}
    bad = next(p for n, p in jobs.items() if "late.jsonl" in n)
    good = next(p for n, p in jobs.items() if "dataset.path=null" in n)
    status = json.loads((bad / JOB_STATUS).read_text())
    assert status["status"] == "failed" and "late.jsonl: no such dataset file" in status["error"]
    assert json.loads((good / JOB_STATUS).read_text())["status"] == "ok"  # job 1 ran after job 0 failed
    assert len((good / "outcomes.jsonl").read_text().splitlines()) == 3
    assert json.loads((sweep / SWEEP_STATUS).read_text())["failed"] == [bad.name]

    from prover.apps.report import main as report_main

    assert report_main([str(sweep)]) == 0
    md = (sweep / "sweep_report.md").read_text()
    assert "Swept: `dataset.path`" in md and "1 of 2 jobs did not finish" in md
    assert "failed: proofforge-eval:" in md and "| ok | 3/3 |" in md
    assert (sweep / "sweep_pass_at_k.png").stat().st_size > 0
    assert "data:image/png;base64," in (sweep / "sweep_report.html").read_text()

    # resume: fix the bad input and rerun the same command; each job keeps its folder
    shutil.copy(REPO_ROOT / "evals" / "demo" / "demo.jsonl", data)
    before = (good / "outcomes.jsonl").read_text()
    second = _run(argv)
    assert second.returncode == 0, second.stdout + second.stderr
    assert {p.name for p in sweep.iterdir() if p.is_dir()} == set(jobs)  # no renumbering, no new folders
    assert (good / "outcomes.jsonl").read_text() == before  # the finished job had nothing left to do
    names = Counter(json.loads(line)["problem"]["name"] for line in (bad / "outcomes.jsonl").open())
    assert len(names) == 3 and max(names.values()) == 1
    assert json.loads((sweep / SWEEP_STATUS).read_text())["failed"] == []
    assert report_main([str(sweep)]) == 0
    assert "All 2 jobs finished." in (sweep / "sweep_report.md").read_text()


def test_two_job_sweep_through_submitits_local_executor(tmp_path):
    # hydra/launcher=local: hydra-submitit-launcher's local executor, each job pickled and run in its own process
    sweep = tmp_path / "submitit"
    done = _run(_argv(tmp_path, "hydra/launcher=local", "prover.budget.samples=1,3", f"hydra.sweep.dir={sweep}"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Submitit 'local' sweep output dir" in done.stdout + done.stderr
    jobs = sorted(p.parent for p in sweep.glob("*/outcomes.jsonl"))
    assert len(jobs) == 2
    ns = sorted(json.loads((j / "summary.json").read_text())["groups"]["all"]["n"] for j in jobs)
    assert ns == [1, 3]
    for j in jobs:
        assert json.loads((j / JOB_STATUS).read_text())["status"] == "ok"
        assert len((j / "outcomes.jsonl").read_text().splitlines()) == 3
    assert any((sweep / ".submitit").iterdir())  # submitit's own job pickles and logs
    assert json.loads((sweep / SWEEP_STATUS).read_text())["jobs"] == 2


def test_slurm_preset_composes_with_the_documented_keys():
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from prover.config import config_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = hydra_compose("eval", overrides=["hydra/launcher=slurm", "hydra.launcher.partition=gpu",
                                               "hydra.launcher.gpus_per_node=1"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert (launcher.partition, launcher.gpus_per_node, launcher.cpus_per_task) == ("gpu", 1, 8)
    assert launcher.timeout_min == 240
