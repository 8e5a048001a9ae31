"""The whole synthetic-data loop: stages, resume, dedup/export, fine-tuning, rounds and reports.

The scenario runs the real autoformaliser, the real whole-proof strategy and a real LeanPool over
the scripted REPL double on the packaged informal problems; the "model" is a scripted generator that
formalises five problems (one trivial, one vacuous, two false, one true) and the fine-tuning step
trains a random-init tiny Llama for a few steps.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from prover.config import compose
from prover.lean.double_pools import scripted_verifier
from prover.llm.scripted import ScriptedGenerator
from prover.records import RecordError, read_jsonl
from prover.synthetic import dataset as ds
from prover.synthetic.finetune import FinetuneSettings, finetune
from prover.synthetic.formalize import load_informal
from prover.synthetic.pipeline import run_synth
from prover.testing.random_model import build_random_llama

REPO = Path(__file__).resolve().parents[1]

FORMAL = {
    "n + 0 = n": "theorem t (n : ℕ) : n + 0 = n",  # graded poor -> dropped by the quality filter
    "2 + 2 and show": "theorem t : (2 : ℕ) + 2 = 4",  # proved
    "x > 2 and x < 1": "theorem t (x : ℝ) (h₀ : x > 2) (h₁ : x < 1) : x = 5",  # vacuous -> dropped
    "Show that 2 + 2 = 5": "theorem t : (2 : ℕ) + 2 = 5",  # disproved
    "n^2 is greater than n": "theorem t (n : ℕ) : n ^ 2 > n",  # disproved
}

RULES = [
    {"match": r"by sorry", "response": {}},  # every translated statement type-checks
    {"match": r"\(h₀ : x > 2\) \(h₁ : x < 1\) : False := by\s+linarith", "response": {}},
    {"match": r"¬ \(\(2 : ℕ\) \+ 2 = 5\) := by\s+decide", "response": {}},
    {"match": r"¬ \(∀ \(n : ℕ\), n \^ 2 > n\) := by\s+decide", "response": {}},
    {"match": r"\(2 : ℕ\) \+ 2 = 4 := by\s+norm_num", "response": {}},
]


def script(text: str, sample: int, call: int) -> str:
    """The scripted model: translator, back-translator, judge, grader and prover in one."""
    if "**Lean 4 statement**" in text:
        informal = text.rsplit("**Informal statement**", 1)[1]
        for key, stmt in FORMAL.items():
            if key in informal:
                return f"```lean4\n{stmt} := by sorry\n```"
        return "I cannot formalise this."
    if "Explain in plain mathematical English" in text:
        return "The same problem."
    if "Problem A:" in text:
        return "Label: faithful\nScore: 0.9\nReason: same"
    if "Grade the formal statement" in text:
        return " poor" if "n + 0 = n :=" in text.rsplit("Formal statement:", 1)[1] else " good"
    if "Complete the following Lean 4 code" in text:
        tail = text.rsplit("```lean4", 1)[1]
        if "_consistency" in tail:
            return "  linarith\n```"
        if "_neg" in tail:
            return "  decide\n```"
        return "  norm_num\n```"
    return ""


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_random_llama(tmp_path_factory.mktemp("tiny") / "model", hidden_size=32, num_layers=1)


def make_cfg(out: Path, model: Path, *extra: str):
    return compose(
        "synth",
        [
            f"out_dir={out}",
            f"model.path={model}",
            "lean=scripted",
            "formalize.n=1",
            "consistency.samples=2",
            "consistency.chunk=2",
            "prove.samples=4",
            "prove.chunk=2",
            "concurrency=2",
            "finetune.max_steps=2",
            "finetune.batch_size=2",
            "prompt_style=full",  # Herald's / DeepSeek-Prover's prompts and problems (tiny: test_tinylm_stages.py)
            *extra,
        ],
    )


def run(cfg, gen=None):
    ver = scripted_verifier(RULES)
    try:
        return run_synth(cfg, generator=gen or ScriptedGenerator(script), verifier=ver, progress=False)
    finally:
        import asyncio

        asyncio.run(ver.aclose())


def test_one_round_end_to_end_with_finetuning_and_report(tmp_path, tiny_model):
    out = run(make_cfg(tmp_path / "run", tiny_model))
    stats = json.loads((out / "round_1" / "report.json").read_text())
    assert stats["statements_in"] == 16
    assert stats["formalized"] == 5 and stats["abstained"] == 11
    assert stats["filtered_quality"] == 1 and stats["grades"] == {"good": 4, "poor": 1}
    assert stats["filtered_inconsistent"] == 1
    assert (stats["attempted"], stats["proved"], stats["disproved"], stats["open"]) == (3, 1, 2, 0)
    assert stats["pass_rate"] == pytest.approx(1 / 3)
    assert stats["new_rows"] == stats["dataset_total"] == 3

    rows = read_jsonl(out / "dataset.jsonl")
    assert [(r["id"], r["kind"]) for r in rows] == [
        ("syn002_two_plus_two", "proof"),
        ("syn009_false_claim", "disproof"),
        ("syn016_false_inequality", "disproof"),
    ]
    proof = rows[0]
    assert set(ds.SFT_FIELDS) <= set(proof)
    assert proof["formal_statement"] == "theorem syn002_two_plus_two : (2 : ℕ) + 2 = 4 := by\n"
    assert proof["formal_proof"] == "  norm_num\n"
    assert proof["informal_prefix"] == "/-- Compute 2 + 2 and show that it equals 4. -/\n"
    assert rows[2]["formal_statement"] == "theorem syn016_false_inequality_neg : ¬ (∀ (n : ℕ), n ^ 2 > n) := by\n"

    from datasets import load_from_disk

    hf = load_from_disk(str(out / "dataset"))
    assert hf.num_rows == 3 and hf["formal_proof"] == [r["formal_proof"] for r in rows]

    ft = stats["finetune"]
    assert ft["steps"] == 2 and ft["rows"] == 3 and ft["final_loss"] is not None
    ckpt = out / "round_1" / "checkpoint"
    assert (ckpt / "config.json").is_file() and (ckpt / "finetune.json").is_file()
    from transformers import AutoModelForCausalLM

    AutoModelForCausalLM.from_pretrained(ckpt)  # the next round's prover loads

    assert "| 1 | 16 | 5 | 1 | 1 | 3 | 1 | 2 | 0 | 0.333 | 3 | 3 |" in (out / "summary.md").read_text()
    assert "filtered_inconsistent | 1" in (out / "round_1" / "report.md").read_text()
    assert (out / "config.yaml").is_file()


def _ids(path: Path) -> list[str]:
    return [r["id"] for r in read_jsonl(path)]


def test_killed_run_resumes_without_loss_or_duplication(tmp_path, tiny_model):
    cfg = make_cfg(tmp_path / "run", tiny_model, "finetune.enabled=false")
    out = run(cfg)
    r1 = out / "round_1"
    stages = ["formalized", "quality", "consistency", "proofs", "sft"]
    before = {s: {r["id"]: r for r in read_jsonl(r1 / f"{s}.jsonl")} for s in stages}
    before_rows = read_jsonl(out / "dataset.jsonl")

    # Simulate a crash in the middle of stage 4: one proof record survives, the next is torn,
    # and nothing downstream was written.
    lines = (r1 / "proofs.jsonl").read_text().splitlines(keepends=True)
    (r1 / "proofs.jsonl").write_text(lines[0] + lines[1][: len(lines[1]) // 2])
    for f in ("sft.jsonl", "report.json"):
        (r1 / f).unlink()
    (out / "dataset.jsonl").unlink()
    # ...and the quality stage lost its last record too.
    q = (r1 / "quality.jsonl").read_text().splitlines(keepends=True)
    (r1 / "quality.jsonl").write_text("".join(q[:-1]))

    gen = ScriptedGenerator(script)
    run(cfg, gen)
    after = {s: {r["id"]: r for r in read_jsonl(r1 / f"{s}.jsonl")} for s in stages}
    for s in stages:
        ids = _ids(r1 / f"{s}.jsonl")
        assert len(ids) == len(set(ids)), f"{s}: duplicated ids after resume"
        assert set(after[s]) == set(before[s]), f"{s}: lost or extra records after resume"
    assert {k: v["result"] for k, v in after["proofs"].items()} == {
        k: v["result"] for k, v in before["proofs"].items()
    }
    assert read_jsonl(out / "dataset.jsonl") == before_rows
    assert json.loads((r1 / "report.json").read_text())["new_rows"] == 3
    # Only the lost work was redone: no translation prompt, one grading prompt.
    texts = [t for texts, _ in gen.calls for t in texts]
    assert not any("**Lean 4 statement**" in t for t in texts)
    assert sum("Grade the formal statement" in t for t in texts) == 1


def test_second_round_proves_with_the_first_rounds_checkpoint(tmp_path, tiny_model, monkeypatch):
    import prover.synthetic.pipeline as pipeline

    built: list[str | None] = []

    def fake_build(cfg, path):
        built.append(path)
        return ScriptedGenerator(script)

    monkeypatch.setattr(pipeline, "_build_generator", fake_build)
    cfg = make_cfg(tmp_path / "run", tiny_model, "rounds=2", "finetune.max_steps=1")
    ver = scripted_verifier(RULES)
    try:
        out = run_synth(cfg, verifier=ver, progress=False)
    finally:
        import asyncio

        asyncio.run(ver.aclose())
    assert built == [None, str(out / "round_1" / "checkpoint")]
    summary = json.loads((out / "summary.json").read_text())["rounds"]
    assert [r["prover_model"] for r in summary] == ["base", str(out / "round_1" / "checkpoint")]
    assert [r["new_rows"] for r in summary] == [3, 0]  # round 2 re-proves the same statements: deduplicated
    assert [r["dataset_total"] for r in summary] == [3, 3]
    assert len(read_jsonl(out / "dataset.jsonl")) == 3
    # nothing new to learn in round 2: no retraining, the round-1 prover stays current
    assert "no new data" in summary[1]["finetune"]["skipped"]
    assert not (out / "round_2" / "checkpoint").exists()


def test_loop_runs_on_the_tiny_model_and_the_scripted_lean_from_config(tmp_path, tiny_model):
    """No injected parts: the generator comes from model.*, the verifier from lean=scripted."""
    cfg = make_cfg(
        tmp_path / "run", tiny_model, "limit=2", "formalize.max_tokens=8", "quality.max_tokens=4",
        "model.attn_implementation=sdpa",
    )
    out = run_synth(cfg, progress=False)
    stats = json.loads((out / "round_1" / "report.json").read_text())
    assert stats["statements_in"] == 2
    assert stats["formalized"] + stats["abstained"] + stats["formalize_errors"] == 2
    assert len(read_jsonl(out / "round_1" / "formalized.jsonl")) == 2


def test_dedup_is_exact():
    items = {
        "a": {"name": "a", "header": "import Mathlib\n", "informal": "A"},
        "b": {"name": "b", "header": "import  Mathlib\n\n", "informal": "B"},
        "c": {"name": "c", "header": "import Mathlib\n", "informal": "C"},
        "d": {"name": "d", "header": "import Mathlib\nopen Real\n", "informal": "D"},
    }
    recs = [
        {"id": "a", "result": "proved", "statement": "theorem a (x : ℕ) : x + 0 = x := by\n", "proof": "  simp\n"},
        # same statement up to name and whitespace (and header whitespace): a duplicate
        {"id": "b", "result": "proved", "statement": "theorem b (x : ℕ) :\n    x + 0  = x := by\n",
         "proof": "  omega\n"},
        # one token different: kept
        {"id": "c", "result": "proved", "statement": "theorem c (x : ℕ) : x + 0 = x + 0 := by\n",
         "proof": "  rfl\n"},
        # same statement under another header: kept
        {"id": "d", "result": "proved", "statement": "theorem d (x : ℕ) : x + 0 = x := by\n", "proof": "  simp\n"},
    ]
    rows = ds.dedup(ds.sft_rows(recs, items, round_=1))
    assert [r["id"] for r in rows] == ["a", "c", "d"]
    assert rows[0]["formal_proof"] == "  simp\n"  # the first proof wins


def test_bad_input_names_the_file_and_row(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_text('{"id": "a", "informal_statement": "x"}\n{"id": "b"}\n')
    with pytest.raises(RecordError, match=r"in\.jsonl: row 2"):
        load_informal(p)
    p.write_text('{"id": "a", "informal_statement": "x"}\n{"id": "a", "informal_statement": "y"}\n')
    with pytest.raises(RecordError, match="repeats"):
        load_informal(p)
    assert len(load_informal(None)) == 16  # the packaged set
    # an input's bad last line is an error, not a torn write to drop silently
    p.write_text('{"id": "a", "informal_statement": "x"}\n{"id": "b", "informal_st\n')
    with pytest.raises(RecordError, match=r"in\.jsonl:2: not valid JSON"):
        load_informal(p)


def test_resume_refuses_a_different_config_but_allows_a_larger_limit(tmp_path):
    model = tmp_path / "no-model"  # never loaded: the scripted generator is injected, fine-tuning is off
    out = tmp_path / "run"
    run(make_cfg(out, model, "limit=2", "finetune.enabled=false"))
    assert len(read_jsonl(out / "round_1" / "formalized.jsonl")) == 2
    run(make_cfg(out, model, "limit=3", "finetune.enabled=false", "concurrency=1"))
    assert len(read_jsonl(out / "round_1" / "formalized.jsonl")) == 3
    with pytest.raises(ValueError, match=r"different config \(model, prove\)"):
        run(make_cfg(out, model, "limit=3", "finetune.enabled=false", "prove.samples=8", "model.name=other"))
    assert "samples: 4" in (out / "config.yaml").read_text()  # the folder's config was not overwritten
    # a first run that failed on its input leaves no manifest behind to block the corrected rerun
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    with pytest.raises(RecordError):
        run(make_cfg(tmp_path / "run2", model, f"input={bad}"))
    assert not (tmp_path / "run2" / "manifest.json").exists()


def test_unusable_settings_and_empty_input_fail_before_any_stage(tmp_path):
    tiny_model = tmp_path / "no-model"  # never loaded: the checks come first
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(RecordError, match=r"empty\.jsonl: no informal problems"):
        run(make_cfg(tmp_path / "a", tiny_model, f"input={empty}"))
    for override, key in [("concurrency=0", "concurrency"), ("prove.chunk=0", "prove.chunk"),
                          ("formalize.n=0", "formalize.n"), ("rounds=0", "rounds"), ("limit=0", "limit")]:
        out = tmp_path / key
        with pytest.raises(ValueError, match=rf"^{re.escape(key)} must be"):
            run(make_cfg(out, tiny_model, override))
        assert not (out / "round_1").exists()  # nothing was formalized first


def test_lora_finetune_merges_adapters_into_a_plain_checkpoint(tmp_path, tiny_model):
    rows = [
        {"name": "t", "formal_statement": "theorem t : (2 : ℕ) + 2 = 4 := by\n", "header": "import Mathlib\n",
         "informal_prefix": "/-- 2 + 2 = 4 -/\n", "formal_proof": "  norm_num\n"}
    ] * 2
    stats = finetune(tiny_model, rows, tmp_path, FinetuneSettings(max_steps=2, batch_size=2, lora=True),
                     progress=False)
    assert stats["steps"] == 2 and stats["lora"] is True
    ckpt = tmp_path / "checkpoint"
    assert (ckpt / "config.json").is_file() and not (ckpt / "adapter_config.json").exists()
    again = finetune(tiny_model, rows, tmp_path, FinetuneSettings(max_steps=2, batch_size=2, lora=True),
                     progress=False)
    assert again["skipped"]


def test_cli_writes_into_the_hydra_run_folder_and_reports_bad_input(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    proc = subprocess.run(
        [sys.executable, "-m", "prover.apps.synth", f"hydra.run.dir={tmp_path / 'run'}",
         f"input={bad}", "model.backend=scripted", "lean=scripted", "finetune.enabled=false"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 3  # an input error (prover/exit_codes.py)
    assert "bad.jsonl: row 1" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "run" / "config.yaml").is_file()


E2E_MODEL = """\
name: e2e-scripted
backend: scripted
prompt_style: tiny
chat: false
sampling: {temperature: 1.0, top_p: 0.95, max_tokens: 64}
script:
  - ["Grade the formal statement", " good"]
  - ["Problem B:", "Label: faithful\\nScore: 0.9"]
  - ["Explain in plain mathematical English", "Two plus two is four."]
  - ["[*][*]Lean 4 statement[*][*]", "theorem t : (2 : ℕ) + 2 = 4 := by sorry"]
  - ["Complete the following Lean 4 code", "  norm_num\\n```"]
"""


def test_cli_process_runs_every_stage_and_writes_the_outputs(tmp_path):
    """The proofforge-synth Hydra app itself, success path: a scripted model config (a config group file on
    Hydra's search path) and lean=scripted with a rules file; no Python-side injection."""
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "e2e.yaml").write_text(E2E_MODEL, encoding="utf-8")
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"match": ":= by sorry", "response": {}},
                                 {"match": r"\(2 : ℕ\) \+ 2 = 4 := by\s+norm_num", "response": {}}]))
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "prover.apps.synth", f"hydra.run.dir={run_dir}",
         f"hydra.searchpath=[file://{tmp_path / 'conf'}]", "model=e2e", "lean=scripted",
         f"lean.rules_file={rules}", "limit=3", "formalize.n=1", "consistency.samples=1", "prove.samples=2",
         "prove.chunk=1", "prompt_style=full"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"results in {run_dir}" in proc.stdout
    r1 = run_dir / "round_1"
    for stage in ("formalized", "quality", "consistency", "proofs"):
        assert len(read_jsonl(r1 / f"{stage}.jsonl")) == 3, stage
    stats = json.loads((r1 / "report.json").read_text())
    assert (stats["formalized"], stats["proved"], stats["disproved"]) == (3, 3, 0)
    # three problems, one statement up to its name: exact dedup keeps one row
    [row] = read_jsonl(run_dir / "dataset.jsonl")
    assert row["formal_statement"].endswith(":= by\n") and row["formal_proof"] == "  norm_num\n"
    assert (run_dir / "dataset" / "dataset_info.json").is_file() and (run_dir / "summary.md").is_file()
    assert "no local base model" in stats["finetune"]["skipped"]  # a scripted model has no weights to tune


def test_formalize_stage_takes_its_few_shot_exemplars_from_config(tmp_path):
    from autoformalize.prompts import DEFAULT_EXEMPLARS, PromptError, load_exemplars
    from prover.synthetic.pipeline import build_formalizer

    own = tmp_path / "ex.jsonl"
    own.write_text('{"name": "mine", "informal": "One is one.", "formal": "theorem mine : 1 = 1"}\n'
                   '{"name": "two", "informal": "Two is two.", "formal": "theorem two : 2 = 2"}\n')
    gen = ScriptedGenerator(script)
    cfg = make_cfg(tmp_path / "run", tmp_path / "no-model", f"formalize.exemplars={own}",
                   "formalize.num_exemplars=1")
    fz = build_formalizer(cfg, gen, verifier=None)
    assert [e.name for e in fz.exemplars] == ["mine"]
    packaged = load_exemplars(DEFAULT_EXEMPLARS)
    assert len(packaged) > 1 and build_formalizer(make_cfg(tmp_path / "r", tmp_path / "m"), gen, None).exemplars == packaged
    assert build_formalizer(make_cfg(tmp_path / "r", tmp_path / "m", "formalize.num_exemplars=0"), gen,
                            None).exemplars == []
    with pytest.raises(PromptError, match=r"missing\.jsonl does not exist"):
        build_formalizer(make_cfg(tmp_path / "r", tmp_path / "m", f"formalize.exemplars={tmp_path / 'missing.jsonl'}"),
                         gen, None)


def test_help_names_the_app() -> None:
    proc = subprocess.run([sys.executable, "-m", "prover.apps.synth", "--help"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("proofforge-synth: ") and "lean=scripted" in proc.stdout


def test_sft_tokens_are_the_served_prompt_then_the_completion():
    """Fine-tuning sees the prompt tokenized as the transformers backend tokenizes a raw-text prompt (with
    the tokenizer's BOS, as the tiny model was trained), then the completion and EOS; loss on the latter."""
    from prover.synthetic.finetune import _SFTDataset, training_text
    from prover.tinylm.tokenizer import train_tokenizer

    tok = train_tokenizer(["theorem t : (2 : ℕ) + 2 = 4 := by\n  norm_num\n```", "Complete the following"] * 20,
                          vocab_size=300)
    assert tok.bos_token_id is not None
    row = {"name": "t", "header": "import Mathlib\n", "informal_prefix": "/-- 2 + 2 = 4 -/\n",
           "formal_statement": "theorem t : (2 : ℕ) + 2 = 4 := by\n", "formal_proof": "  norm_num\n"}
    [ex] = _SFTDataset([row], tok, FinetuneSettings()).examples
    prompt, target = training_text(row, "tiny")
    served = tok(prompt)["input_ids"]  # prover.llm.hf_backend.HFGenerator.encode of a raw-text prompt
    assert served[0] == tok.bos_token_id
    completion = tok(target, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    assert ex["input_ids"] == served + completion
    assert ex["labels"] == [-100] * len(served) + completion
