"""Reports render from a run folder: files exist, HTML is self-contained with images, a table and proof anchors."""

from __future__ import annotations

import json

import pytest

from evals.report import ReportError, load_run, main, write_comparison, write_report
from evals.summary import OUTCOMES, write_summary
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
    assert page.count("<img") == 2 and page.count("<tr>") == 3  # header + one row per run
    assert "0.0%" in page and "25.0%" in page
    assert main([str(a)]) == 0 and (a / "report.html").exists()
    assert main([str(a), str(b), "--out", str(tmp_path / "cli")]) == 0
    assert (tmp_path / "cli" / "report.md").exists()
    assert main([str(tmp_path / "nothing")]) == 2
    assert "not an eval run folder" in capsys.readouterr().err
    with pytest.raises(ReportError):
        load_run(tmp_path / "nothing")


def test_empty_run_still_renders(tmp_path):
    run = tmp_path / "empty"
    run.mkdir()
    (run / OUTCOMES).write_text("")
    paths = write_report(run)
    assert "No problem was proved" in paths["html"].read_text() and paths["curve"].exists()
