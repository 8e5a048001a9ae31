"""The acceptance suite (prover/lean/selftest.py) on the scripted double; the smoke at pool start;
the `mathlib: auto` setup error. With a real toolchain tests/test_lean_integration.py runs the suite for real."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from prover.apps.lean import main as lean_main
from prover.config import check_run_manifest
from prover.lean import policy
from prover.lean import selftest as st
from prover.lean.double_pools import scripted_verifier
from prover.lean.pool import MathlibMissingError, non_core_imports, require_mathlib_for
from prover.lean.verifier import Verifier
from prover.lean.verifier_factory import build_verifier
from prover.records import Candidate, Verdict

MINIF2F = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "minif2f" / "minif2f-lean4-v4.24.jsonl"


def test_the_suite_covers_what_the_issue_lists() -> None:
    names = [c.name for c in st.CASES]
    assert len(names) == len(set(names)) and 28 <= len(names) <= 40
    expected = {c.expected for c in st.CASES}
    assert expected == {"proved", "failed", "timeout", "rejected"}
    assert {c.needs for c in st.CASES} == {"core", "mathlib"}
    codes = " ".join(c.code for c in st.CASES)
    for tactic in ("decide", "omega", "norm_num", "nlinarith", "calc", "sorry", "native_decide", "axiom"):
        assert tactic in codes
    assert [c.name for c in st.SMOKE] == ["selftest_decide", "selftest_sorry", "selftest_native_decide"]
    assert [c.expected for c in st.SMOKE] == ["proved", "failed", "failed"]


@pytest.mark.parametrize("case", st.CASES, ids=lambda c: c.name)
def test_each_case_checks_the_theorem_it_is_named_after(case: st.Case) -> None:
    cand = case.candidate()
    assert policy.target_theorem(cand.code, cand.statement) == case.name
    refusal = policy.check_candidate(cand.code, cand.statement)
    assert (refusal is not None) == (case.expected == "rejected"), refusal


def test_selftest_cli_on_the_scripted_double_passes_and_prints_the_table(capsys: pytest.CaptureFixture) -> None:
    code = lean_main(["selftest", "lean=scripted", "lean.workers=2", "--timeout-case", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    for c in st.CASES:
        row = next(line for line in out.splitlines() if line.startswith(c.name + " "))
        assert row.split()[2:4] == [c.expected, c.expected], row
    assert f"{len(st.CASES)} as expected, 0 mismatched, 0 skipped" in out
    assert "not a real Lean" in out


async def test_a_verdict_for_the_wrong_reason_is_a_mismatch() -> None:
    # the sorry case answered with an unrelated error: still "failed", but not because of sorry
    rules = [{"match": r"theorem selftest_sorry\b", "response": {"messages": [
        {"severity": "error", "pos": {"line": 1, "column": 0}, "endPos": None, "data": "unknown tactic"}]}}]
    pool = scripted_verifier(rules + st.scripted_rules())
    try:
        report = await st.run_cases(pool, st.SMOKE)
    finally:
        await pool.aclose()
    assert [r.name for r in report.mismatches] == ["selftest_sorry"]
    assert report.mismatches[0].got == "failed" and not report.ok


async def test_the_smoke_stops_with_one_sentence_when_lean_disagrees() -> None:
    # a Lean whose `#print axioms` does not list ofReduceBool would let native_decide pass
    lying = [{"match": r"#print\s+axioms\s+selftest_native_decide",
              "response": {"messages": [{"severity": "info", "pos": {"line": 1, "column": 0}, "endPos": None,
                                         "data": "'selftest_native_decide' depends on axioms: [propext]"}]}}]
    pool = scripted_verifier(lying + st.scripted_rules())
    try:
        with pytest.raises(st.SelftestFailed) as err:
            await st.start_checks(pool, {"backend": "scripted"})
    finally:
        await pool.aclose()
    msg = str(err.value)
    assert "\n" not in msg and "selftest_native_decide should be failed but is proved" in msg
    assert "lean.selftest=false" in msg and "proofforge-lean selftest" in msg


async def test_start_checks_records_or_skips() -> None:
    pool = build_verifier({"backend": "scripted"})
    try:
        rec = await st.start_checks(pool, {"backend": "scripted"})
        assert rec["smoke"] == "passed" and rec["passed"] == 3 and "not real Lean" in rec["note"]
        assert [c["got"] for c in rec["cases"]] == ["proved", "failed", "failed"]
        off = await st.start_checks(pool, {"backend": "scripted", "selftest": False})
        assert off == {"smoke": "skipped", "why": "lean.selftest=false"}
        assert (await st.start_checks(pool, {}, injected=True))["smoke"] == "skipped"
        assert "replay double" in (await st.start_checks(pool, {"backend": "replay"}))["why"]
    finally:
        await pool.aclose()


def test_the_record_goes_into_the_manifest_without_breaking_resume(tmp_path: Path) -> None:
    fp = {"model": {"name": "m"}}
    check_run_manifest(tmp_path, fp, error=ValueError, describe=str)
    st.record_in_manifest(tmp_path, {"smoke": "passed", "seconds": 0.1})
    st.record_in_manifest(tmp_path, {"smoke": "passed", "seconds": 0.2})  # a resume
    data = json.loads((tmp_path / "manifest.json").read_text())
    assert [r["seconds"] for r in data["selftest"]] == [0.1, 0.2] and data["model"] == {"name": "m"}
    assert check_run_manifest(tmp_path, fp, error=ValueError, describe=str) is None  # resume still accepted


async def test_mathlib_cases_are_skipped_with_the_reason_on_a_core_repl() -> None:
    pool = scripted_verifier(st.scripted_rules(), core_only=True)
    try:
        report = await st.run_cases(pool, [c for c in st.CASES if c.expected != "timeout"])
    finally:
        await pool.aclose()
    skipped = [r for r in report.results if r.skipped]
    assert {r.name for r in skipped} == {c.name for c in st.CASES if c.needs == "mathlib"}
    assert all("proofforge-lean setup --mathlib" in r.reason for r in skipped)
    assert report.ok and not report.mismatches


class _NoTimeout(Verifier):
    async def verify(self, candidates: Sequence[Candidate]) -> list[Verdict]:
        return [Verdict("failed", reason="x") for _ in candidates]


async def test_the_timeout_case_is_skipped_where_the_timeout_cannot_be_lowered() -> None:
    report = await st.run_cases(_NoTimeout(), [st.case("selftest_timeout")])
    assert report.results[0].skipped and "cannot be lowered" in report.results[0].reason


def test_replay_backend_is_refused_by_the_cli(capsys: pytest.CaptureFixture) -> None:
    assert lean_main(["selftest", "lean=scripted", "lean.backend=replay"]) == 2  # a usage error
    assert "proofforge-lean: selftest: " in capsys.readouterr().err


def test_lean_missing_is_a_setup_error(tmp_path, capsys: pytest.CaptureFixture) -> None:
    """No Lake project (no toolchain): exit 4 (setup error, prover/exit_codes.py) with one line on stderr."""
    assert lean_main(["doctor", "--project", str(tmp_path)]) == 4
    err = capsys.readouterr().err
    assert err.startswith("proofforge-lean: ") and "not a Lake project" in err and err.count("\n") == 1


# ------------------------------------------------------------------ mathlib: auto


def test_non_core_imports_reads_the_header() -> None:
    assert non_core_imports("import Mathlib\nimport Aesop\n\nopen Real\n") == ["Mathlib", "Aesop"]
    assert non_core_imports("import Lean\nimport Std.Data.HashMap\n") == []
    assert non_core_imports("import Mathlib.Tactic -- the tactics\n") == ["Mathlib.Tactic"]
    assert non_core_imports(None) == [] and non_core_imports("theorem x : True := trivial") == []
    # the header grammar of v4.24.0: `public`/`meta` imports after `module` count too
    assert non_core_imports("module\n\npublic import Mathlib.Tactic\nmeta import Std\n") == ["Mathlib.Tactic"]


async def test_a_mathlib_candidate_on_a_core_repl_is_a_setup_error_naming_the_fix() -> None:
    pool = scripted_verifier([{"match": "trivial", "response": {}}], core_only=True)
    try:
        (ok,) = await pool.verify([Candidate("p", "theorem p : True := trivial")])
        assert ok.status == "proved"
        with pytest.raises(MathlibMissingError, match=r"proofforge-lean setup --mathlib"):
            await pool.verify([Candidate("q", "import Mathlib\n\ntheorem q : True := trivial")])
        with pytest.raises(MathlibMissingError):
            require_mathlib_for(pool, ["import Lean\n", "import Mathlib\nimport Aesop\n"])
        require_mathlib_for(pool, ["import Lean\n", None])  # core imports are fine
        require_mathlib_for(scripted_verifier([]), ["import Mathlib\n"])  # a Mathlib pool: no error
    finally:
        await pool.aclose()


def test_the_eval_stops_before_judging_anything_when_only_core_lean_is_built(tmp_path: Path) -> None:
    from prover.config import compose
    from prover.lean.project import LeanMissingError

    out = tmp_path / "run"
    cfg = compose("eval", ["prover=wholeproof", f"out_dir={out}", "prover.budget.samples=1", "report=false",
                           "model.backend=scripted", "lean=scripted", "lean.core_only=true", "dataset=minif2f",
                           f"dataset.path={MINIF2F}", "dataset.limit=2", "dataset.informal_from=null"])
    from evals.run import run_eval

    with pytest.raises(LeanMissingError, match="proofforge-lean setup --mathlib"):
        run_eval(cfg, progress=False)
    outcomes = out / "outcomes.jsonl"
    assert not outcomes.exists() or outcomes.read_text() == ""


def _demo_eval(out: Path, *extra: str):  # type: ignore[no-untyped-def]
    from prover.config import compose

    return compose("eval", ["prover=wholeproof", f"out_dir={out}", "prover.budget.samples=1", "report=false",
                            "model.backend=scripted", "lean=scripted", "dataset.limit=1", *extra])


def test_the_eval_runs_the_smoke_and_records_it(tmp_path: Path) -> None:
    from evals.run import run_eval

    run_eval(_demo_eval(tmp_path / "run"), progress=False)
    (rec,) = json.loads((tmp_path / "run" / "manifest.json").read_text())["selftest"]
    assert rec["smoke"] == "passed" and [c["name"] for c in rec["cases"]] == [c.name for c in st.SMOKE]


def test_the_eval_stops_before_judging_when_the_smoke_disagrees(tmp_path: Path) -> None:
    from evals.run import run_eval

    # allowing native_decide's axiom makes the native_decide case pass: the run must not start
    cfg = _demo_eval(tmp_path / "run", "lean.allowed_axioms=[propext,Classical.choice,Quot.sound,Lean.ofReduceBool]")
    with pytest.raises(st.SelftestFailed, match="selftest_native_decide should be failed but is proved"):
        run_eval(cfg, progress=False)
    outcomes = tmp_path / "run" / "outcomes.jsonl"
    assert not outcomes.exists() or outcomes.read_text() == ""
    run_eval(_demo_eval(tmp_path / "off", "lean.allowed_axioms=[propext,Lean.ofReduceBool]", "lean.selftest=false"),
             progress=False)
    (rec,) = json.loads((tmp_path / "off" / "manifest.json").read_text())["selftest"]
    assert rec["smoke"] == "skipped" and rec["why"] == "lean.selftest=false"


def test_formalize_runs_the_smoke_on_its_configured_pool(tmp_path: Path) -> None:
    from autoformalize.cli import run_formalize
    from prover.config import compose

    cfg = compose("formalize", [f"out_dir={tmp_path / 'run'}", "lean=scripted", "progress=false", "n=1",
                                "limit=1", "model.backend=scripted"])
    run = run_formalize(cfg)
    (rec,) = json.loads((run / "manifest.json").read_text())["selftest"]
    assert rec["smoke"] == "passed" and "not real Lean" in rec["note"]
    with pytest.raises(MathlibMissingError):  # its default header imports Mathlib
        run_formalize(compose("formalize", [f"out_dir={tmp_path / 'core'}", "lean=scripted", "lean.core_only=true",
                                            "progress=false", "n=1", "limit=1", "model.backend=scripted"]))
    assert not (tmp_path / "core" / "results.jsonl").exists()


def test_synth_runs_the_smoke_on_its_configured_pool(tmp_path: Path) -> None:
    from prover.config import compose
    from prover.synthetic.pipeline import run_synth

    out = run_synth(compose("synth", [f"out_dir={tmp_path / 'run'}", "lean=scripted", "model.backend=scripted",
                                      "limit=1", "rounds=1", "finetune.enabled=false"]), progress=False)
    (rec,) = json.loads((out / "manifest.json").read_text())["selftest"]
    assert rec["smoke"] == "passed"


def test_selftest_cli_exits_1_and_marks_the_mismatch(capsys: pytest.CaptureFixture) -> None:
    code = lean_main(["selftest", "lean=scripted", "--only", "core", "--timeout-case", "1",
                      "lean.allowed_axioms=[propext,Classical.choice,Quot.sound,Lean.ofReduceBool]"])
    out = capsys.readouterr().out
    assert code == 1
    row = next(line for line in out.splitlines() if line.startswith("selftest_native_decide "))
    assert row.split()[2:4] == ["failed", "proved"] and "MISMATCH" in row
    assert "selftest_norm_num" not in out  # --only core


@pytest.fixture()
def core_only_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine with lake and the standalone Lean-core REPL built, and lean_project without its REPL."""
    from prover.lean.pins import LEAN_VERSION

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "lake").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "lake").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("PROOFFORGE_CACHE", str(tmp_path / "cache"))
    core = tmp_path / "cache" / f"repl-{LEAN_VERSION}" / ".lake" / "build" / "bin"
    core.mkdir(parents=True)
    (core / "repl").write_text("")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "lean-toolchain").write_text("leanprover/lean4:v4.24.0\n")
    return project


def test_mathlib_auto_resolving_to_the_core_repl_marks_the_pool(core_only_layout: Path) -> None:
    from prover.lean.pool import resolve_repl_kind
    from prover.lean.project import repl_binary

    assert resolve_repl_kind(core_only_layout, "auto")[2] is True
    assert resolve_repl_kind(core_only_layout, False)[2] is True
    pool = build_verifier({"backend": "local", "project_dir": str(core_only_layout), "mathlib": "auto"})
    assert pool.core_only  # type: ignore[attr-defined]
    with pytest.raises(MathlibMissingError, match="proofforge-lean setup --mathlib"):
        require_mathlib_for(pool, ["import Mathlib\n"])
    binary = repl_binary(core_only_layout)
    binary.parent.mkdir(parents=True)
    binary.write_text("")  # now the Mathlib REPL is built: auto picks it
    assert resolve_repl_kind(core_only_layout, "auto")[2] is False


def test_a_minif2f_eval_on_a_core_only_machine_stops_before_any_process_starts(core_only_layout: Path,
                                                                                tmp_path: Path) -> None:
    from evals.run import run_eval
    from prover.config import compose

    cfg = compose("eval", ["prover=wholeproof", f"out_dir={tmp_path / 'run'}", "prover.budget.samples=1",
                           "report=false", "model.backend=scripted", f"lean.project_dir={core_only_layout}",
                           "dataset=minif2f", f"dataset.path={MINIF2F}", "dataset.limit=2",
                           "dataset.informal_from=null"])
    with pytest.raises(MathlibMissingError, match="only the Lean-core REPL is built"):
        run_eval(cfg, progress=False)  # the fake lake would fail if any REPL were started
    outcomes = tmp_path / "run" / "outcomes.jsonl"
    assert not outcomes.exists() or outcomes.read_text() == ""
