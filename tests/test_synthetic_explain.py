"""Synth's console says why a round produced nothing (prover/synthetic/explain.py)."""

from __future__ import annotations

from prover.records import write_jsonl
from prover.synthetic.explain import why_round_is_empty
from prover.synthetic.report import round_stats


def _stats(items, formalized=None, graded=None, consistency=None, proofs=None):
    return round_stats(round_=1, items=items, formalized=formalized or {}, graded=graded or {},
                       consistency=consistency or {}, proofs=proofs or {})


def test_every_item_abstained_names_stage_1_and_the_common_reason(tmp_path):
    items = [{"id": f"p{i}"} for i in range(6)]
    recs = {f"p{i}": {"id": f"p{i}", "status": "abstained",
                      "reason": f"cannot faithfully formalize: {i % 2 + 1} statement(s) type-check"} for i in range(6)}
    write_jsonl(tmp_path / "formalized.jsonl", list(recs.values()))
    line = why_round_is_empty(tmp_path, _stats(items, formalized=recs))
    assert line.startswith("stage 1 (formalize): 6/6 abstained: cannot faithfully formalize: 1 statement(s)")
    assert "of them" not in line  # one reason once numbers are folded


def test_later_stages_and_a_productive_round(tmp_path):
    items = [{"id": "a"}, {"id": "b"}]
    form = {k: {"status": "formalized"} for k in "ab"}
    quality = {k: {"grade": "C", "keep": False} for k in "ab"}
    assert why_round_is_empty(tmp_path, _stats(items, form, quality)).startswith(
        "stage 2 (quality): 2/2 formalized statements filtered (grades C: 2")
    quality = {k: {"grade": "A", "keep": True} for k in "ab"}
    cons = {k: {"consistent": False} for k in "ab"}
    assert why_round_is_empty(tmp_path, _stats(items, form, quality, cons)).startswith("stage 3 (consistency): 2/2")
    cons = {k: {"consistent": True} for k in "ab"}
    proofs = {k: {"result": "open"} for k in "ab"}
    assert why_round_is_empty(tmp_path, _stats(items, form, quality, cons, proofs)).startswith(
        "stage 4 (prove): 2/2 statements neither proved nor disproved")
    proofs["a"] = {"result": "proved"}
    assert why_round_is_empty(tmp_path, _stats(items, form, quality, cons, proofs)) is None
