"""proofforge-check: inputs, resumable verdicts, clear errors, exit 4 without Lean (prover/exit_codes.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prover.apps.check import CheckInputError, load_candidates, run_check
from prover.config import REPO_ROOT, compose
from prover.records import Candidate, read_jsonl, write_jsonl

RULES = [{"match": "by simp", "response": {}}]


def files(tmp_path: Path) -> list[str]:
    (tmp_path / "ok.lean").write_text("import Mathlib.Tactic\n\ntheorem ok : 1 = 1 := by simp\n")
    (tmp_path / "bad.lean").write_text("theorem bad : 1 = 1 := by omega\n")
    write_jsonl(tmp_path / "more.jsonl", [Candidate("more", "theorem m : 2 = 2 := by simp"),
                                          Candidate("evil", "theorem e : 2 = 2 := by\n  #eval 1")])
    return [str(tmp_path / n) for n in ("ok.lean", "bad.lean", "more.jsonl")]


def cfg(tmp_path: Path, inputs: list[str]):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(RULES))
    return compose("check", [f"inputs=[{','.join(inputs)}]", "lean=scripted", f"lean.rules_file={rules}",
                             "progress=false"])


def test_check_writes_verdicts_and_resumes_without_duplicates(tmp_path: Path) -> None:
    inputs = files(tmp_path)
    run_dir = tmp_path / "run"
    counts = run_check(cfg(tmp_path, inputs), run_dir)
    assert counts == {"proved": 2, "failed": 1, "rejected": 1}
    out = run_dir / "verdicts.jsonl"
    first = read_jsonl(out)
    assert {d["problem"]: d["status"] for d in first} == {"ok": "proved", "bad": "failed", "more": "proved",
                                                          "evil": "rejected"}
    assert (run_dir / "config.yaml").exists()
    # a crash mid-write leaves a torn line: the rerun repairs it and re-checks only that candidate
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])
    counts = run_check(cfg(tmp_path, inputs), run_dir)
    again = read_jsonl(out)
    assert counts == {"proved": 2, "failed": 1, "rejected": 1} and len(again) == 4
    assert sorted(d["candidate"] for d in again) == sorted(d["candidate"] for d in first)


def test_bad_inputs_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(CheckInputError, match="missing.lean: no such file"):
        load_candidates([str(tmp_path / "missing.lean")])
    bad = tmp_path / "c.jsonl"
    bad.write_text('{"problem": "p", "code": "x"}\n{oops\n{"problem": "q", "code": "y"}\n')
    with pytest.raises(CheckInputError, match=r"c.jsonl:2"):
        load_candidates([str(bad)])
    wrong = tmp_path / "w.jsonl"
    wrong.write_text('{"code": "x"}\n')
    with pytest.raises(CheckInputError, match=r"w.jsonl: record 1"):
        load_candidates([str(wrong)])
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(CheckInputError, match="expected a .lean file"):
        load_candidates([str(tmp_path / "x.txt")])
    with pytest.raises(CheckInputError, match="no inputs"):
        load_candidates([])


def _cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=str(Path(sys.executable).parent), ELAN_HOME=str(tmp_path / "no-elan"),
               PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-m", "prover.apps.check", *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)


def test_entry_point_exits_2_with_one_sentence_without_lean(tmp_path: Path) -> None:
    (tmp_path / "a.lean").write_text("theorem a : True := trivial\n")
    r = _cli(["inputs=[a.lean]", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert r.returncode == 4, r.stderr
    assert "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("proofforge-check: ") and "install" in last
    r = _cli(["inputs=[nope.lean]", "lean=scripted", f"hydra.run.dir={tmp_path / 'run2'}"], tmp_path)
    assert r.returncode == 3 and "nope.lean: no such file" in r.stderr and "Traceback" not in r.stderr


def test_resume_with_other_lean_settings_is_refused_unless_some_statuses_are_rechecked(tmp_path: Path) -> None:
    from prover.apps.check import CheckConfigError

    inputs = files(tmp_path)
    run_dir = tmp_path / "run"
    run_check(cfg(tmp_path, inputs), run_dir)
    assert json.loads((run_dir / "manifest.json").read_text())["lean"]["timeout"] == 10
    with pytest.raises(CheckConfigError, match=r"different lean settings.*recheck=\[timeout,crashed\]"):
        run_check(compose("check", [*_overrides(tmp_path, inputs), "lean.timeout=99"]), run_dir)
    # the verdicts of chosen statuses are judged again under the new settings; the others are kept
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([*RULES, {"match": "omega", "response": {}}]))
    counts = run_check(compose("check", [*_overrides(tmp_path, inputs), "lean.timeout=99", "recheck=[failed]"]),
                       run_dir)
    assert counts == {"proved": 3, "rejected": 1}
    verdicts = read_jsonl(run_dir / "verdicts.jsonl")
    assert len(verdicts) == 4 and {d["problem"]: d["status"] for d in verdicts}["bad"] == "proved"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["lean"]["timeout"] == 99 and manifest["rechecks"][-1]["changed"] == ["lean.timeout"]
    with pytest.raises(CheckConfigError, match=r"recheck: unknown status"):
        run_check(compose("check", [*_overrides(tmp_path, inputs), "recheck=[slow]"]), run_dir)
    # only speed settings changed: a plain resume
    assert run_check(compose("check", [*_overrides(tmp_path, inputs), "lean.timeout=99", "lean.workers=2"]),
                     run_dir) == {"proved": 3, "rejected": 1}


def _overrides(tmp_path: Path, inputs: list[str]) -> list[str]:
    return [f"inputs=[{','.join(inputs)}]", "lean=scripted", f"lean.rules_file={tmp_path / 'rules.json'}",
            "progress=false"]


def test_a_torn_last_input_line_and_an_empty_input_stop_the_run(tmp_path: Path) -> None:
    torn = tmp_path / "torn.jsonl"
    torn.write_text('{"problem": "p", "code": "theorem p : 1 = 1 := by simp"}\n{"problem": "q", "co')
    with pytest.raises(CheckInputError, match=r"torn.jsonl:2: not valid JSON"):
        run_check(cfg(tmp_path, [str(torn)]), tmp_path / "run")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(CheckInputError, match=r"empty.jsonl: no candidates to check"):
        run_check(cfg(tmp_path, [str(empty)]), tmp_path / "run2")
    assert not (tmp_path / "run").exists() and not (tmp_path / "run2").exists()  # nothing written
