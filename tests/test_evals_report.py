"""Reports render from a run folder: files exist, HTML is self-contained with images, a table and proof anchors."""

from __future__ import annotations

import json

import pytest

from evals.report import ReportError, load_run, write_comparison, write_report
from evals.summary import OUTCOMES, write_summary
from prover.apps.report import main
from prover.records import Candidate, Outcome, Problem, Verdict, write_jsonl

META = {
    "dataset": {"name": "demo", "file": "demo.jsonl", "version": "core-v4.24", "split": "demo",
                "lean": "leanprover/lean4:v4.24.0", "mathlib": "none"},
    "lean": {"backend": "scripted", "pins": {"lean": "leanprover/lean4:v4.24.0"}},
    "model": "scripted", "strategy": "wholeproof", "budget": {"samples": 4},
    "budget_text": "wholeproof: 4 samples/problem",
}


def _run_folder(path, proved_pattern):
    outcomes = []
    for i, source in enumerate(["arith", "logic", "order", "parity", "logic"]):
        name = f"demo_p{i}<&>"  # names that need escaping in HTML and anchors
        p = Problem(name, f"theorem p{i} : True := by\n", split="demo", source=source)
        cands, verdicts = [], []
        for j in range(4):
            ok = proved_pattern(i, j)
            cands.append(Candidate(name, f"theorem p{i} : True := by\n  trivial -- {j} <b>", origin={"round": 0}))
            verdicts.append(Verdict("proved" if ok else "failed"))
        outcomes.append(Outcome(p, cands, verdicts, meta={"eval": META}))
    path.mkdir(parents=True)
    write_jsonl(path / OUTCOMES, outcomes)
    write_summary(path)
    return path


def test_single_report(tmp_path):
    run = _run_folder(tmp_path / "run", lambda i, j: (i + j) % 3 == 0)
    paths = write_report(run)
    for key in ("markdown", "html", "curve", "categories"):
        assert paths[key].exists() and paths[key].stat().st_size > 0
    page = paths["html"].read_text()
    assert page.count('src="data:image/png;base64,') == 2
    assert "<table>" in page and "pass@4" in page and "wholeproof: 4 samples/problem" in page
    # every proved problem links to its proof's anchor, and the proof text is escaped
    assert 'href="#proof-demo_p0---"' in page and 'id="proof-demo_p0---"' in page
    assert "&lt;b&gt;" in page and "<b>" not in page.split("<h2>Proofs</h2>")[1]
    md = paths["markdown"].read_text()
    assert "![pass@k](pass_at_k.png)" in md and "(#proof-demo_p0---)" in md and "```lean4" in md
    summary = json.loads((run / "summary.json").read_text())
    # problems 0..4 with (i+j)%3==0 over j<4: c = 2,1,1,2,1 of n=4 -> pass@1 = 7/20
    assert summary["groups"]["all"]["pass_at_k"]["1"] == pytest.approx(7 / 20)
    assert summary["groups"]["all"]["solved"] == 5


def test_comparison_and_cli(tmp_path, capsys):
    a = _run_folder(tmp_path / "a", lambda i, j: j == 0)
    b = _run_folder(tmp_path / "b", lambda i, j: False)
    paths = write_comparison([a, b], tmp_path / "cmp")
    page = paths["html"].read_text()
    overall = page.split("<h2>Overall</h2>")[1].split("</table>")[0]
    assert page.count("<img") == 2 and overall.count("<tr>") == 3  # header + one row per run
    assert "0.0%" in page and "25.0%" in page
    assert main([str(a)]) == 0 and (a / "report.html").exists()
    assert main([str(a), str(b), "--out", str(tmp_path / "cli")]) == 0
    assert (tmp_path / "cli" / "report.md").exists()
    assert main([str(tmp_path / "nothing")]) == 3  # an input error (prover/exit_codes.py)
    assert "not an eval run folder" in capsys.readouterr().err
    with pytest.raises(ReportError):
        load_run(tmp_path / "nothing")


def test_a_folder_without_results_is_said_so_not_reported_full_of_question_marks(tmp_path, capsys):
    run = tmp_path / "empty"
    run.mkdir()
    (run / OUTCOMES).write_text("")
    with pytest.raises(ReportError, match=r"empty: no results yet \(outcomes.jsonl holds no outcome\)"):
        write_report(run, need_results=True)
    assert main([str(run)]) == 3 and "no results yet" in capsys.readouterr().err
    assert not (run / "report.md").exists()


def _failing_run(path, *, backend="scripted", strategy="malot"):
    """Three problems: one proved in correction round 1, two unproved with different Lean errors."""
    from prover.records import Message, Pos

    meta = {**META, "strategy": strategy, "lean": {"backend": backend, "mathlib": True,
                                                   "pins": {"lean": "leanprover/lean4:v4.24.0", "mathlib": "v4.24.0",
                                                            "repl": "v4.24.0", "project": "lean_project"}}}

    def err(text):
        return Verdict("failed", messages=[Message("error", text, Pos(2, 2))], reason=f"Lean error at 2:2: {text}")

    rows = [
        ("fixed", [(0, err("unsolved goals\n⊢ 1 = 1")), (1, Verdict("proved"))]),
        ("stuck", [(0, err("type mismatch\n  h")), (1, err("unknown identifier 'foo'")),
                   (2, Verdict("failed", reason="no proof in model output"))]),
        ("slow", [(0, Verdict("timeout", reason="Lean REPL did not answer within 10 s")),
                  (1, Verdict("rejected", reason="refused: #eval runs code"))]),
    ]
    outcomes = []
    for name, attempts in rows:
        p = Problem(name, f"theorem {name} : True := by\n", split="test", source="algebra")
        cands = [Candidate(name, f"theorem {name} : True := by\n  try{r}", origin={"round": r}) for r, _ in attempts]
        outcomes.append(Outcome(p, cands, [v for _, v in attempts], meta={"eval": meta}))
    path.mkdir(parents=True)
    write_jsonl(path / OUTCOMES, outcomes)
    write_summary(path)
    return path


def test_report_has_a_verifier_banner_and_a_failure_section(tmp_path):
    run = _failing_run(tmp_path / "run")
    paths = write_report(run)
    md, page = paths["markdown"].read_text(), paths["html"].read_text()
    # the scripted double is named at the top, before any number
    assert md.index("did not come from Lean: the scripted REPL double") < md.index("## pass@k")
    assert 'class="banner warn"' in page
    section = md.split("## What did not work (2 unproved)")[1]
    for kind, attempts in (("unsolved goals", 1), ("type mismatch", 1), ("unknown identifier", 1),
                           ("no proof in model output", 1), ("timeout", 1), ("refused by policy", 1)):
        assert f"| {kind} | {attempts} | 1 |" in section, kind
    # best attempts: the one Lean judged with fewest errors, later rounds first on ties
    assert "| stuck | test | algebra | 3 | unknown identifier (round 1) | 2:2: unknown identifier 'foo' |" in section
    assert "| slow | test | algebra | 2 | timeout (round 0) |" in section
    assert "```lean4\ntheorem stuck : True := by\n  try1\n```" in section
    # MA-LoT: what each correction round added
    assert "| first samples (prover) | 0 | 0 |" in section and "| correction round 1 | 1 | 1 |" in section
    assert "| correction round 2 | 0 | 1 |" in section  # attempted, added nothing
    real = write_report(_failing_run(tmp_path / "real", backend="local"))["markdown"].read_text()
    assert "Verdicts from real Lean (verifier local, mathlib=True): lean leanprover/lean4:v4.24.0, " \
           "mathlib v4.24.0, repl v4.24.0." in real and "Warning" not in real


def test_comparison_names_runs_by_differing_overrides_with_split_and_category_tables(tmp_path, capsys):
    a = _run_folder(tmp_path / "a", lambda i, j: j == 0)
    b = _run_folder(tmp_path / "b", lambda i, j: i == 1)
    for folder, ov in ((a, ["prover=wholeproof", "prover.sampling.temperature=0.6", "hydra.run.dir=x"]),
                       (b, ["prover=wholeproof", "prover.sampling.temperature=1.0", "hydra.run.dir=y"])):
        (folder / ".hydra").mkdir()
        (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in ov))
    assert main([str(a), str(b)]) == 0  # no --out: into the first run folder, not the current directory
    out = a / "comparisons" / "vs_b"
    md = (out / "report.md").read_text()
    assert "| prover.sampling.temperature=0.6 | demo" in md and "| prover.sampling.temperature=1.0 | demo" in md
    split = md.split("## Per split")[1].split("##")[0]
    assert "| demo | prover.sampling.temperature=0.6 | 5 | 5 (100.0%) |" in split
    cats = md.split("## Per category")[1]
    assert "| logic | prover.sampling.temperature=1.0 | 2 | 1 (50.0%) |" in cats
    assert f"wrote {out / 'report.md'}" in capsys.readouterr().out
    assert (out / "pass_at_k.png").exists() and not (tmp_path / "report-compare").exists()


def test_run_names_show_a_default_where_another_run_overrides():
    from evals.compare import run_names

    names = run_names([["prover=wholeproof", "hydra.run.dir=a"], ["prover=wholeproof", "prover.budget.samples=4"]],
                      [{}, {}], ["A", "B"])
    assert names == ["prover.budget.samples=(default)", "prover.budget.samples=4"]
    same = run_names([["x=1"], ["x=1"]], [{"model": "m1"}, {"model": "m2"}], ["A", "B"])
    assert same == ["model=m1", "model=m2"]
