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
    for name in ("httpx", "httpcore", "httpx2"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)

    def task(cfg):
        seen.append(logging.getLogger("httpx").getEffectiveLevel())
        seen.append(logging.getLogger("httpx2").getEffectiveLevel())  # what openai's client logs through

    _run_app(monkeypatch, task, f"hydra.run.dir={tmp_path / 'a'}")
    assert seen == [logging.WARNING, logging.WARNING]
    logging.getLogger("httpx").setLevel(logging.NOTSET)
    _run_app(monkeypatch, task, f"hydra.run.dir={tmp_path / 'b'}", "hydra.verbose=httpx")
    assert seen[-2] == logging.DEBUG  # asked for: left alone


@pytest.fixture(autouse=True)
def _restore_logging():
    levels = {n: logging.getLogger(n).level for n in ("httpx", "httpcore", "httpx2")}
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
        from pathlib import Path

        out = Path(HydraConfig.get().runtime.output_dir)
        (out / "config.yaml").write_text("x: 1\n")
        (out / "outcomes.jsonl").touch()  # opened before the failure, nothing written
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
    from prover.apps.check import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["proofforge-check", "inputs=[nope.lean]", "lean=scripted"])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 3 and not (tmp_path / "runs").exists()
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


SLOW_SORRY = ('[{"match": "sorry", "delay": 0.3, "response": {"messages": [{"severity": "warning", '
              '"pos": {"line": 1, "column": 8}, "data": "declaration uses \'sorry\'"}]}}]')


@pytest.mark.parametrize("module,watch", [("prover.apps.formalize", "results.jsonl"),
                                          ("prover.apps.synth", "round_1/formalized.jsonl")])
def test_ctrl_c_in_formalize_and_synth_is_one_line_and_exit_130(tmp_path, module, watch):
    import os
    import signal
    import subprocess
    import time

    from prover.config import REPO_ROOT

    rules = tmp_path / "rules.json"
    rules.write_text(SLOW_SORRY)
    run = tmp_path / "run"
    argv = [sys.executable, "-m", module, f"hydra.run.dir={run}", "lean=scripted", f"lean.rules_file={rules}",
            "model.backend=scripted", "model.default='theorem x : 1 = 1 := by sorry'", "lean.selftest=false"]
    argv += ["batch_size=1", "progress=false"] if module == "prover.apps.formalize" else \
        ["finetune.enabled=false", "formalize.batch_size=1"]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None and not (
                (run / watch).exists() and (run / watch).stat().st_size):
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    lines = [ln for ln in err.splitlines() if ln.strip() and "%|" not in ln]  # tqdm bars aside
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Task was destroyed" not in err, err
    assert lines[-1].endswith(f"interrupted; finished work is kept in {run}; rerun with hydra.run.dir={run} "
                              "(same config) to resume") or "rerun with out_dir=" in lines[-1], err
    assert len([ln for ln in lines if "interrupted" in ln]) == 1
    # the REPL pool went with it: nothing of the run's process group is left
    for _ in range(100):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("REPL processes outlived the interrupted run")


def test_the_readme_exit_code_table_is_the_one_the_apps_use():
    from prover.config import REPO_ROOT
    from prover.exit_codes import TABLE

    readme = (REPO_ROOT / "README.md").read_text()
    for code, name, meaning in TABLE:
        assert f"| {code} | {name} | {meaning} |" in readme
    # every app maps its errors onto the table (no literal exit numbers of its own)
    import re

    import tomllib

    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    # one convention: proofforge-<name> is prover.apps.<name>:main (prover/apps/__init__.py)
    assert {cmd: target for cmd, target in scripts.items()} == {
        cmd: f"prover.apps.{cmd.removeprefix('proofforge-').replace('-', '_')}:main" for cmd in scripts}
    for app in sorted((REPO_ROOT / "prover" / "apps").glob("*.py")):
        if app.name == "__init__.py":
            continue
        text = app.read_text()
        assert "prover.exit_codes import" in text, app
        assert not re.search(r"\)\s*:\s*\d+\s*[,}]", text), app  # e.g. "(ValueError,): 1"


def test_an_eval_in_which_some_problems_raised_exits_1_after_writing_everything(monkeypatch, tmp_path, capsys):
    import json

    from prover.apps import eval as eval_run
    from prover.llm.scripted import ScriptedGenerator

    class Flaky(ScriptedGenerator):
        async def agenerate(self, prompts, sampling):
            if any("demo_nat_seven_mul_eight" in str(p) for p in prompts):
                raise RuntimeError("backend hiccup")
            return await super().agenerate(prompts, sampling)

    monkeypatch.setattr("prover.llm.generator_factory.build_generator",
                        lambda cfg: Flaky([("", "  decide\n```")]))
    out = tmp_path / "run"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["proofforge-eval", f"out_dir={out}", "lean=scripted", "prover=wholeproof",
                                      "prover.budget.samples=1", "dataset.limit=3", "report=false"])
    with pytest.raises(SystemExit) as e:
        eval_run.main()
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert "proofforge-eval: 1 problem(s) raised instead of being judged" in err and "errors.jsonl" in err
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["problems"]) == 2 and summary["expected_problems"] == 3  # the rest is written


@pytest.mark.parametrize("override,message", [
    ("concurrency=0", "concurrency must be >= 1, got 0"),
    ("dataset.limit=-1", "dataset.limit must be >= 1 or null, got -1"),
    ("lean.workers=-1", "lean.workers must be >= 1 or null"),
    ("lean.timeout=0", "lean.timeout must be > 0 seconds, got 0"),
    ("lean.header_timeout=-5", "lean.header_timeout must be > 0 seconds, got -5"),
])
def test_nonsense_values_are_refused_at_start_naming_the_key(tmp_path, override, message):
    from evals.run import EvalConfigError, run_eval
    from prover.apps.check import CheckConfigError, run_check
    from prover.config import compose
    from prover.synthetic.pipeline import check_settings

    with pytest.raises(EvalConfigError, match=f"^{message}"):  # before the model: its path does not exist
        run_eval(compose("eval", [f"out_dir={tmp_path / 'e'}", "lean=scripted", "model.path=/no/such/ckpt", override]))
    assert not (tmp_path / "e").exists()
    if override.startswith("lean."):
        with pytest.raises(CheckConfigError, match=f"^{message}"):
            run_check(compose("check", ["inputs=[x.lean]", override]), tmp_path / "c")
        with pytest.raises(ValueError, match=f"^{message}"):
            check_settings(compose("synth", [override]))


def test_formalize_checks_retrieval_files_and_the_judge_server_before_any_model(tmp_path):
    from autoformalize.cli import FormalizeConfigError, run_formalize
    from prover.config import compose
    from prover.llm.errors import GeneratorError
    from prover.serving.runner import free_port

    base = [f"out_dir={tmp_path / 'f'}", "lean=scripted", "model.path=/no/such/ckpt"]
    with pytest.raises(FormalizeConfigError, match=r"^retrieval.declarations .*nope.jsonl does not exist"):
        run_formalize(compose("formalize", [*base, "retrieval.enabled=true", f"retrieval.declarations={tmp_path}/nope.jsonl"]))
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(GeneratorError, match=rf"cannot reach the server at {url} \(judge_model.base_url\)"):
        run_formalize(compose("formalize", [*base, "+judge_model.backend=openai", f"+judge_model.base_url={url}"]))
    with pytest.raises(FormalizeConfigError, match=r"^limit must be >= 1 or null, got 0"):
        run_formalize(compose("formalize", [*base, "limit=0"]))


@pytest.mark.parametrize("app,want", [
    ("check", {"lean"}),
    ("formalize", {"lean", "model", "formalize_experiment"}),
    ("serve", {"model"}),
    ("eval", {"dataset", "experiment", "lean", "logger", "model", "prover"}),
])
def test_help_lists_only_the_config_groups_the_app_uses(app, want):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from prover.config import config_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        full = hydra_compose(config_name=app, return_hydra_config=True)
    template = OmegaConf.select(full, "hydra.help.template")  # what `--help` prints (Hydra's get_help)
    groups = template.split("== Configuration groups ==")[1].split("== Config ==")[0]
    listed = {line.split(":")[0] for line in groups.splitlines()[2:] if ":" in line}
    assert listed == want, groups


def test_a_config_hydra_refuses_at_composition_is_a_usage_error(tmp_path):
    """An unknown key or another strategy's knob stops composition with Hydra's message (the typed schemas of
    prover/settings/), and the exit status is the table's usage error, not Hydra's generic 1."""
    import os
    import subprocess

    from prover.config import REPO_ROOT

    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    for override, message in (("lean.timout=3", "Key 'timout' not in 'LeanSettings'"),
                              ("prover.budget.expansions=3", "Key 'expansions' not in 'MALoTBudget'")):
        proc = subprocess.run([sys.executable, "-m", "prover.apps.eval", override], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and message in proc.stderr, (override, proc.returncode, proc.stderr[-400:])
