"""Every stage produces records with the tiny model's prompt style, end to end, on the packaged sets.

The "model" here is an oracle built from the tiny corpus's own role builders (:mod:`prover.tinylm.roles`,
:mod:`prover.tinylm.formats`): it answers a prompt only when the prompt is *byte for byte* one the
corpus trains on, with the corpus's completion, and answers nothing otherwise. So these tests fail when
a stage's prompt drifts from the tiny model's training format, or when a stage cannot read the tiny
model's answers, which is what a perfectly trained tiny model would run into. Lean is the scripted REPL
double with rules that accept exactly the corpus's valid proofs (its verdicts are not real Lean).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from autoformalize.abstain_eval import DEFAULT_LABELLED_TINY, load_labelled
from autoformalize.cli import run_formalize
from autoformalize.formalizer import FormalizationResult
from prover.config import compose
from prover.lean.double_pools import scripted_verifier
from prover.llm.scripted import ScriptedGenerator
from prover.records import read_jsonl
from prover.synthetic.formalize import TINY_INPUT
from prover.synthetic.pipeline import run_synth
from prover.tinylm import formats

SORRY = {"messages": [{"severity": "warning", "pos": {"line": 1, "column": 8},
                       "endPos": {"line": 1, "column": 9}, "data": "declaration uses 'sorry'"}]}
FORMALIZE_HEADER = "import Mathlib\n\nopen BigOperators Real Nat Topology Rat\n\n"
SYNTH_HEADER = ("import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\n"
                "open BigOperators Real Nat Topology Rat\n\n")


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _split(reference: str) -> tuple[str, str]:
    """``theorem name binders : goal`` -> (binders with a leading space or "", goal)."""
    m = re.match(r"^theorem \S+((?: \([^()]*\))*) : (.*)$", reference)
    assert m, reference
    return m.group(1), m.group(2)


def oracle(items: list[dict], header: str) -> dict[str, str]:
    """prompt -> completion, for every role a stage asks about these items (the corpus's formats)."""
    answers: dict[str, str] = {}
    for row in items:
        name, informal = row["id"], row["informal_statement"]
        if not row.get("reference"):
            answers[formats.translate_prompt(header, name, informal)] = formats.translate_completion(None)
            continue
        binders, goal = _split(row["reference"])
        stmt = f"theorem {name}{binders} : {goal}"
        answers[formats.translate_prompt(header, name, informal)] = formats.translate_completion(stmt)
        answers[formats.backtranslate_prompt(stmt)] = informal
        answers[formats.judge_prompt(informal, informal)] = formats.judge_completion(True, "same hypotheses and conclusion", informal, informal)
        answers[formats.quality_prompt(informal, stmt + " := by")] = " good"
        expect = row.get("expect")
        if expect == "proved":
            answers[formats.prover_prompt(header, informal, stmt + " := by\n")] = formats.completion(row["proof"])
        elif expect == "disproved":
            neg = f"theorem {name}_neg : ¬ ({goal}) := by\n"
            answers[formats.prover_prompt(header, None, neg)] = formats.completion(row["proof"])
        elif expect == "inconsistent":
            cons = f"theorem {name}_consistency{binders} : False := by\n"
            answers[formats.prover_prompt(header, None, cons)] = formats.completion(row["proof"])
    return answers


def oracle_generator(items: list[dict], header: str) -> ScriptedGenerator:
    answers = oracle(items, header)
    return ScriptedGenerator(lambda text, sample, call: answers.get(text, ""))


def proof_rules(items: list[dict]) -> list[dict]:
    """Scripted-REPL rules: the statements type-check with ``sorry``; exactly the corpus proofs check."""
    rules = []
    for row in items:
        if not row.get("reference") or not row.get("proof"):
            continue
        binders, goal = _split(row["reference"])
        name = row["id"]
        stmt = {"proved": f"theorem {name}{binders} : {goal} := by\n",
                "disproved": f"theorem {name}_neg : ¬ ({goal}) := by\n",
                "inconsistent": f"theorem {name}_consistency{binders} : False := by\n"}[row["expect"]]
        rules.append({"match": re.escape(stmt + row["proof"]), "response": {}})
    return [*rules, {"match": r":= by sorry", "response": SORRY}]


def test_formalize_defaults_translate_the_packaged_set_and_abstain_on_the_ill_posed(tmp_path):
    rows = load_labelled(DEFAULT_LABELLED_TINY)
    assert sum(r["formalizable"] for r in rows) >= 10 and sum(not r["formalizable"] for r in rows) >= 5
    gen = oracle_generator(rows, FORMALIZE_HEADER)
    pool = scripted_verifier(proof_rules(rows))
    try:
        cfg = compose("formalize", [f"out_dir={tmp_path / 'run'}", "lean=scripted", "progress=false"])
        assert cfg.prompt_style == "tiny"  # model=tiny is the default, and picks the tiny templates
        run = run_formalize(cfg, generator=gen, verifier=pool)
        results = {r.id: r for r in read_jsonl(run / "results.jsonl", FormalizationResult)}
        assert set(results) == {r["id"] for r in rows}
        for r in rows:
            res = results[r["id"]]
            if r["formalizable"]:
                assert res.status == "formalized", (r["id"], res.reason)
                assert res.statement == r["reference"]
                assert res.back_translation == r["informal_statement"] and res.judge_label == "faithful"
            else:
                assert res.status == "abstained" and "cannot faithfully formalize" in res.reason
        # the tiny prompts are short: no Herald preamble or exemplar in any prompt the model saw
        prompts = [t for texts, _ in gen.calls for t in texts]
        assert prompts and not any("sum_first_n" in t or "You are an expert" in t for t in prompts)

        ab = run_formalize(compose("formalize", [f"out_dir={tmp_path / 'ab'}", "lean=scripted", "progress=false",
                                                 "mode=abstain_eval"]), generator=gen, verifier=pool)
        report = json.loads((ab / "abstain_eval.json").read_text())
        n_ok = sum(r["formalizable"] for r in rows)
        assert report["matrix"]["formalizable"]["faithful"] == n_ok
        assert report["matrix"]["not_formalizable"]["abstained"] == len(rows) - n_ok
    finally:
        pool.verify_sync([])


def test_synth_defaults_run_every_stage_and_export_sft_records(tmp_path):
    from prover.testing.random_model import build_random_llama

    items = _rows(TINY_INPUT)
    expect = {r["id"]: r["expect"] for r in items}
    base = build_random_llama(tmp_path / "base", hidden_size=32, num_layers=1)  # only fine-tuned, never asked
    pool = scripted_verifier(proof_rules(items))
    try:
        cfg = compose("synth", [f"out_dir={tmp_path / 'run'}", "lean=scripted", f"model.path={base}",
                                "finetune.max_steps=2", "finetune.batch_size=2"])
        assert cfg.prompt_style == "tiny" and cfg.input is None
        out = run_synth(cfg, generator=oracle_generator(items, SYNTH_HEADER), verifier=pool, progress=False)
    finally:
        pool.verify_sync([])
    stats = json.loads((out / "round_1" / "report.json").read_text())
    count = {k: sum(v == k for v in expect.values()) for k in ("proved", "disproved", "inconsistent", "abstained")}
    assert stats["statements_in"] == len(items)
    assert stats["abstained"] == count["abstained"] and stats["filtered_quality"] == 0
    assert stats["filtered_inconsistent"] == count["inconsistent"]
    assert (stats["proved"], stats["disproved"]) == (count["proved"], count["disproved"])
    rows = read_jsonl(out / "dataset.jsonl")
    assert sorted((r["id"], r["kind"]) for r in rows) == sorted(
        (i, "proof" if e == "proved" else "disproof") for i, e in expect.items() if e in ("proved", "disproved"))
    assert stats["new_rows"] == len(rows)
    assert (out / "round_1" / "checkpoint").is_dir()  # the SFT records fine-tuned the base model


def test_main_job_closes_by_pointing_to_formalize_and_synth(monkeypatch, capsys):
    import types

    import prover.apps.eval as eval_run
    import prover.main as main_job
    from prover.lean import install as setup

    ran = []
    monkeypatch.setattr(setup, "ensure_lean", lambda mathlib=False, project_dir=None: types.SimpleNamespace(
        argv=["repl"], cwd="lean_project"))
    monkeypatch.setattr(eval_run, "main", lambda: ran.append("eval"))
    assert main_job.main([]) == 0 and ran == ["eval"]
    out = capsys.readouterr().out
    assert out.rstrip().endswith(main_job.NEXT_STEPS.rstrip())
    assert "proofforge-formalize" in out and "proofforge-synth" in out
