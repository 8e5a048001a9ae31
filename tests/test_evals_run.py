"""The eval job: scripted end-to-end runs, resume after a SIGKILL mid-run, Hydra sweeps, clear failures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from evals import components as eval_components
from evals.data import dataset_from_cfg
from evals.run import EvalConfigError, run_eval
from evals.summary import load_outcomes, write_summary
from prover.apps import eval as eval_app
from prover.config import REPO_ROOT, compose
from prover.lean.double_pools import scripted_verifier
from prover.llm.scripted import ScriptedGenerator
from prover.llm.wrappers import SerializedGenerator

RULES = [{"match": "omega", "response": {}}]  # an `omega` proof passes; anything else: "unsolved goals"

MODEL_YAML = """\
name: scripted
backend: scripted
prompt_style: tiny
script:
  - ["Fix the following", "  omega\\n```"]
  - ["theorem demo_(and|or|imp|not)", "  simp\\n```"]
  - ["Complete the following", ["  omega\\n```", "  simp\\n```"]]
"""
LEAN_YAML = """\
backend: scripted
rules:
  - {match: "omega", response: {}, delay: 0.1}
workers: 1
timeout: 10
header_timeout: 10
memory_limit_gb: 0
"""


def script(text: str, sample: int, call: int) -> str:
    if text.startswith("Fix the following"):
        return "  omega\n```"
    if "theorem demo_and" in text or "theorem demo_or" in text or "theorem demo_imp" in text \
            or "theorem demo_not" in text:
        return "  simp\n```"
    return "  omega\n```" if sample % 2 == 0 else "  simp\n```"


def _cfg(out: Path, *extra: str):
    return compose("eval", ["prover=wholeproof", f"out_dir={out}", "prover.budget.samples=4", *extra])


def test_scripted_run_end_to_end_and_resume(tmp_path):
    out = tmp_path / "run"
    gen = ScriptedGenerator(script)
    path = run_eval(_cfg(out), generator=gen, verifier=scripted_verifier(RULES, workers=2), progress=False)
    assert path == out.resolve()
    for f in ("config.yaml", "outcomes.jsonl", "summary.json", "report.md", "report.html", "pass_at_k.png"):
        assert (out / f).exists(), f
    outcomes = load_outcomes(out)
    assert len(outcomes) == 18 and len({o.problem.name for o in outcomes}) == 18
    meta = outcomes[0].meta["eval"]
    assert meta["dataset"]["name"] == "demo" and meta["dataset"]["version"] == "core-v4.24"
    assert meta["dataset"]["file"].endswith("demo.jsonl") and meta["dataset"]["split"] == "all"
    assert meta["lean"]["backend"] == "injected" and meta["strategy"] == "wholeproof"
    assert meta["budget"]["samples"] == 4 and "4 samples/problem" in meta["budget_text"]
    summary = json.loads((out / "summary.json").read_text())
    g = summary["groups"]
    # 14 non-logic problems: 2 of 4 samples pass (n=4, c=2); 4 logic problems: none.
    assert g["all"]["pass_at_k"]["1"] == pytest.approx(14 / 18 * 0.5)
    assert g["all"]["pass_at_k"]["2"] == pytest.approx(14 / 18 * (1 - 1 / 6))
    assert g["source=logic"]["solved"] == 0 and g["source=arith"]["pass_at_k"]["4"] == 1.0
    assert OmegaConf.load(out / "config.yaml").prover.budget.samples == 4
    # a fresh run summarises what it wrote without reading outcomes.jsonl back: the same file
    kept = (out / "summary.json").read_text()
    write_summary(path, dataset_from_cfg(_cfg(out).dataset).problems)
    assert (out / "summary.json").read_text() == kept

    # rerun on the same folder: nothing is generated or written again
    gen2 = ScriptedGenerator(script)
    run_eval(_cfg(out), generator=gen2, verifier=scripted_verifier(RULES), progress=False)
    assert gen2.calls == [] and len(load_outcomes(out)) == 18
    assert (out / "summary.json").read_text() == kept  # resumed: summarised from the file

    # a different config in the same folder is refused, naming what changed
    with pytest.raises(EvalConfigError, match="prover"):
        run_eval(_cfg(out, "prover.budget.samples=2"), generator=gen2, verifier=scripted_verifier(RULES),
                 progress=False)


def test_a_problem_that_raises_is_logged_and_the_report_says_the_run_is_incomplete(tmp_path):
    data = tmp_path / "mixed.jsonl"
    rows = [{"name": "ok", "formal_statement": "theorem ok (n : Nat) : n + 0 = n := by", "source": "arith"},
            {"name": "bad", "formal_statement": "theorem bad : True", "source": "arith"}]  # no ':='
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "run"
    cfg = _cfg(out, "dataset.name=mixed", f"dataset.path={data}")
    run_eval(cfg, generator=ScriptedGenerator(script), verifier=scripted_verifier(RULES), progress=False)
    assert [o.problem.name for o in load_outcomes(out)] == ["ok"]
    [err] = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert err["problem"] == "bad" and "formal_statement must end with ':='" in err["error"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["expected_problems"] == 2 and len(summary["problems"]) == 1
    note = "Incomplete run: 1 of 2 problems recorded"
    assert note in (out / "report.md").read_text() and note in (out / "report.html").read_text()

    # nothing recorded at all: the summary and report still say what was run
    only_bad = tmp_path / "bad.jsonl"
    only_bad.write_text(json.dumps(rows[1]) + "\n")
    out2 = tmp_path / "run2"
    run_eval(_cfg(out2, "dataset.name=mixed", f"dataset.path={only_bad}"), generator=ScriptedGenerator(script),
             verifier=scripted_verifier(RULES), progress=False)
    summary = json.loads((out2 / "summary.json").read_text())
    assert summary["problems"] == [] and summary["strategy"] == "wholeproof"
    assert "4 samples/problem" in summary["budget_text"] and summary["dataset"]["name"] == "mixed"
    assert "Incomplete run: 0 of 1" in (out2 / "report.md").read_text()


@pytest.mark.parametrize("damage,message", [
    ('garbage\n{"problem": {"name": "a"}}\n', r"outcomes.jsonl:1: not valid JSON"),
    ('{"x": 1}\n', r"outcomes.jsonl: a record without problem.name"),
])
def test_damaged_outcomes_file_is_one_line_before_anything_runs(tmp_path, damage, message):
    out = tmp_path / "run"
    out.mkdir()
    (out / "outcomes.jsonl").write_text(damage)
    gen = ScriptedGenerator(script)
    with pytest.raises(EvalConfigError, match=message + r".*repair or delete that line"):
        run_eval(_cfg(out, "report=false"), generator=gen, verifier=scripted_verifier(RULES), progress=False)
    assert gen.calls == [] and (out / "outcomes.jsonl").read_text() == damage  # nothing run, nothing lost


def _cli(tmp_path: Path, *args: str, flags: tuple[str, ...] = ()) -> list[str]:
    extra = tmp_path / "extra_configs"
    (extra / "model").mkdir(parents=True, exist_ok=True)
    (extra / "lean").mkdir(parents=True, exist_ok=True)
    (extra / "model" / "scripted_test.yaml").write_text(MODEL_YAML)
    (extra / "lean" / "scripted_test.yaml").write_text(LEAN_YAML)
    return [sys.executable, "-m", "prover.apps.eval", *flags, "--config-dir", str(extra), "model=scripted_test",
            "lean=scripted_test", "prover=wholeproof", "prover.budget.samples=4", "report=false", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    return env


def _key(o) -> tuple:
    return (o.problem.name, tuple(v.status for v in o.verdicts), o.proved)


def test_resume_after_kill_loses_and_duplicates_nothing(tmp_path):
    run_dir = tmp_path / "killed"
    jsonl = run_dir / "outcomes.jsonl"
    argv = _cli(tmp_path, f"hydra.run.dir={run_dir}")
    proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=_env(), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if jsonl.exists() and len(jsonl.read_text().splitlines()) >= 3:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"the run ended before it could be killed:\n{proc.stdout.read()}"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    partial = len(jsonl.read_text().splitlines())
    assert 3 <= partial < 18
    # a report of the killed run (proofforge-report writes the summary it lacks) says it covers part of the dataset
    from evals.report import incomplete_note

    summary = write_summary(run_dir)
    assert summary["expected_problems"] == 18 and len(summary["problems"]) == partial
    assert incomplete_note(summary).startswith(f"Incomplete run: {partial} of 18 problems recorded")
    (run_dir / "summary.json").unlink()
    (run_dir / "outcomes.jsonl").open("a").write('{"problem": {"name": "torn')  # a torn last write

    done = subprocess.run(argv, cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (run_dir / ".hydra" / "config.yaml").exists() and (run_dir / "config.yaml").exists()
    resumed = load_outcomes(run_dir)
    names = Counter(o.problem.name for o in resumed)
    assert len(names) == 18 and max(names.values()) == 1  # nothing lost, nothing duplicated
    lean = resumed[0].meta["eval"]["lean"]
    assert lean["backend"] == "scripted" and "not real Lean" in lean["pins"]["note"]

    # the same job uninterrupted (in-process, same generator script and rules without the delay)
    fresh = tmp_path / "fresh"
    run_eval(_cfg(fresh, "report=false"), generator=ScriptedGenerator(script),
             verifier=scripted_verifier(RULES), progress=False)
    assert sorted(map(_key, resumed)) == sorted(map(_key, load_outcomes(fresh)))
    s1 = json.loads((run_dir / "summary.json").read_text())["groups"]
    s2 = json.loads((fresh / "summary.json").read_text())["groups"]
    assert s1 == s2


def test_ctrl_c_is_one_line_saying_how_to_resume(tmp_path):
    run_dir = tmp_path / "interrupted"
    jsonl = run_dir / "outcomes.jsonl"
    proc = subprocess.Popen(_cli(tmp_path, f"hydra.run.dir={run_dir}"), cwd=REPO_ROOT, env=_env(),
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if jsonl.exists() and len(jsonl.read_text().splitlines()) >= 2:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    kept = len(jsonl.read_text().splitlines())
    # no KeyboardInterrupt traceback through the eval (the lean pool may still print a GC warning about a
    # killed REPL's transport after its loop closed: a prover/lean issue, not checked here)
    assert proc.returncode == 130 and "KeyboardInterrupt" not in err and "evals/run.py" not in err, err
    assert f"interrupted; {kept} problem(s) recorded in {jsonl}; rerun with hydra.run.dir={run_dir}" in err


def test_hydra_multirun_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    argv = _cli(tmp_path, "prover.budget.samples=1,2", "dataset.limit=3", f"hydra.sweep.dir={sweep}",
                flags=("--multirun",))
    done = subprocess.run(argv, cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    jobs = sorted(p.parent for p in sweep.glob("*/outcomes.jsonl"))
    assert len(jobs) == 2
    ns = sorted(json.loads((j / "summary.json").read_text())["groups"]["all"]["n"] for j in jobs)
    assert ns == [1, 2]
    for j in jobs:
        assert len(load_outcomes(j)) == 3 and (j / "config.yaml").exists() and (j / ".hydra").is_dir()


def _main(monkeypatch, tmp_path: Path, *overrides: str) -> None:
    """``proofforge-eval <overrides>`` in this process (Hydra composes them as on the command line)."""
    monkeypatch.setattr(sys, "argv", ["proofforge-eval", f"hydra.run.dir={tmp_path / 'hydra'}", *overrides])
    eval_app.main()


def test_lean_missing_is_one_sentence_and_exit_4(tmp_path, monkeypatch, capsys):
    from prover.lean import verifier_factory as factory
    from prover.lean.project import LeanMissingError

    def no_lean(cfg):
        raise LeanMissingError("Lean is not installed: install elan from https://github.com/leanprover/elan.")

    monkeypatch.setattr(factory, "build_verifier", no_lean)
    built = []
    monkeypatch.setattr("prover.llm.generator_factory.build_generator", lambda cfg: built.append(cfg))
    with pytest.raises(SystemExit) as e:
        _main(monkeypatch, tmp_path, f"out_dir={tmp_path / 'x'}")
    assert e.value.code == 4 and built == []  # setup error (prover/exit_codes.py), before the model was built
    err = capsys.readouterr().err
    assert "Lean is not installed" in err and "Traceback" not in err


def test_bad_dataset_is_a_clear_error(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit) as e:
        _main(monkeypatch, tmp_path, f"out_dir={tmp_path / 'x'}", "dataset.name=custom",
              f"dataset.path={tmp_path / 'nope.jsonl'}")
    assert e.value.code == 3 and "nope.jsonl: no such dataset file" in capsys.readouterr().err  # input error


@pytest.mark.parametrize("override,message", [
    ("model.backend=nope", "unknown model.backend 'nope'"),
    ("prover.name=nope", "prover.name must be one of"),
    ("lean.backend=nope", "unknown backend 'nope'"),
    ("prover.budget.samples=0", "prover.budget.samples must be >= 1 for a MALoTBudget"),
])
def test_bad_component_config_is_one_line(tmp_path, monkeypatch, capsys, override, message):
    base = [f"out_dir={tmp_path / 'x'}", "model.backend=scripted"]
    if not override.startswith("lean."):
        base.append("lean=scripted")
    with pytest.raises(SystemExit) as e:
        _main(monkeypatch, tmp_path, *base, override)
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err and "Traceback" not in err


def test_bad_prover_config_fails_before_lean_or_the_model_is_built(tmp_path, monkeypatch, capsys):
    built = []
    monkeypatch.setattr("prover.lean.verifier_factory.build_verifier", lambda cfg: built.append("lean"))
    monkeypatch.setattr("prover.llm.generator_factory.build_generator", lambda cfg: built.append("model"))
    with pytest.raises(SystemExit) as e:
        _main(monkeypatch, tmp_path, f"out_dir={tmp_path / 'x'}", "prover=bestfirst", "prover.budget.expansions=0")
    assert e.value.code == 2 and built == []
    assert "prover.budget.expansions must be >= 1 for a BestFirstBudget" in capsys.readouterr().err


def test_main_job_stops_before_anything_expensive_without_lean(monkeypatch, capsys):
    import prover.main as main_job
    from prover.lean import install as setup
    from prover.lean.project import LeanMissingError

    def no_lean(mathlib=False, project_dir=None):
        raise LeanMissingError("Lean is not installed and elan could not be downloaded (no network?).")

    monkeypatch.setattr(setup, "ensure_lean", no_lean)
    monkeypatch.setattr(eval_app, "main", lambda: pytest.fail("the eval must not start"))
    assert main_job.main([]) == 4  # a setup error (prover/exit_codes.py)
    assert "elan could not be downloaded" in capsys.readouterr().err
    assert main_job.needs_mathlib(["experiment=minif2f_malot"]) is True
    assert main_job.needs_mathlib([]) is False


def test_lean_meta_records_project_pins():
    local = eval_components.lean_meta({"backend": "local", "mathlib": True})
    assert local["pins"]["lean"].startswith("leanprover/lean4:v") and "mathlib" in local["pins"]
    assert local["mathlib"] is True


async def test_serialized_generator_one_call_at_a_time():
    import asyncio

    from prover.llm.generator import SamplingParams

    state = {"now": 0, "max": 0}

    class Slow(ScriptedGenerator):
        def generate(self, prompts, sampling):
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
            time.sleep(0.05)
            state["now"] -= 1
            return super().generate(prompts, sampling)

    gen = SerializedGenerator(Slow(lambda t, s, c: "x"))
    out = await asyncio.gather(*(gen.agenerate([f"p{i}"], SamplingParams()) for i in range(4)))
    assert state["max"] == 1 and [o[0][0].text for o in out] == ["x"] * 4
    assert gen.name == "scripted" and gen.calls  # attributes pass through to the wrapped backend


def test_the_manifest_records_which_decode_attention_ran(tmp_path):
    """A generator with a decode attention (the HF backend) gets it and the kernel self-checks recorded."""

    class AttnScripted(ScriptedGenerator):
        attn_implementation = "lean_attention"

    out = tmp_path / "run"
    run_eval(_cfg(out, "dataset.limit=2", "report=false"), generator=AttnScripted(script),
             verifier=scripted_verifier(RULES), progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["attention"] == {"implementation": "lean_attention", "checks": []}  # no CUDA: nothing compiled
    plain = tmp_path / "plain"
    run_eval(_cfg(plain, "dataset.limit=1", "report=false"), generator=ScriptedGenerator(script),
             verifier=scripted_verifier(RULES), progress=False)
    assert "attention" not in json.loads((plain / "manifest.json").read_text())


def test_a_model_that_cannot_be_built_closes_the_pool_started_for_it(tmp_path, monkeypatch):
    from prover.lean import verifier_factory as factory
    from prover.llm.errors import GeneratorError

    pool = scripted_verifier(RULES)
    closed = []
    real_close = pool.close
    monkeypatch.setattr(pool, "close", lambda: (closed.append(True), real_close()))
    monkeypatch.setattr(factory, "build_verifier", lambda cfg: pool)

    def no_model(cfg):
        raise GeneratorError("no such checkpoint")

    monkeypatch.setattr("prover.llm.generator_factory.build_generator", no_model)
    with pytest.raises(GeneratorError, match="no such checkpoint"):
        run_eval(_cfg(tmp_path / "run", "lean=scripted"), progress=False)
    assert closed == [True]
