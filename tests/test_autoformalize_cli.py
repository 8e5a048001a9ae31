"""proofforge-formalize end to end on the offline defaults, with a scripted generator and the scripted
REPL double injected: results, resume after a crash (no duplicates), bad input, Herald and Abstain evals."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autoformalize.abstain_eval import DEFAULT_LABELLED, abstain_report, load_labelled, statements_match
from autoformalize.cli import FormalizeConfigError, run_formalize
from autoformalize.formalizer import FormalizationResult
from autoformalize.herald_eval import HeraldEvalError, herald_summary, informal_from_prefix, pass_at_k
from prover.config import REPO_ROOT, compose
from prover.lean.double_pools import scripted_verifier
from prover.llm.scripted import ScriptedGenerator
from prover.records import read_jsonl

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MINIF2F = SHARED / "data" / "minif2f" / "minif2f.jsonl"
SORRY = {"messages": [{"severity": "warning", "pos": {"line": 1, "column": 8},
                       "endPos": {"line": 1, "column": 9}, "data": "declaration uses 'sorry'"}]}
LABELLED = {row["id"]: row for row in load_labelled()}


def _translate(prompt: str) -> str:
    """Write the reference statement for well-posed labelled items; a junk one for the rest."""
    name = re.findall(r"\*\*Name\*\*\n(\S+)", prompt)[-1]
    row = LABELLED.get(name)
    if row is None:  # a miniF2F item: a plausible statement that type-checks
        return f"theorem {name} (x : ℝ) (h : x = 1) : x + 0 = 1 := by sorry"
    if name == "ok_quadratic_roots":  # a realistic failure: type-checks, wrong conclusion, judge fooled
        return "theorem w (x : ℝ) (h : x ^ 2 - 5 * x + 6 = 0) : x = 2 := by sorry"
    if name == "bad_vague_large":  # another: an ill-posed claim turned into something Lean accepts
        return "theorem v : (1000 : ℕ) > 1 := by sorry"
    if row.get("reference"):
        return f"```lean4\n{row['reference']} := by sorry\n```"
    return "theorem g (n : ℕ) (h : glorpic n) : snarfed n := by sorry"


def script(prompt: str, sample: int, call: int) -> str:
    if prompt.rstrip().endswith("**Lean 4 statement**"):
        return _translate(prompt)
    if "Explain in plain mathematical English" in prompt:
        return "A faithful paraphrase."
    if "Problem B:" in prompt:
        return "Label: faithful\nScore: 0.8"
    raise AssertionError(prompt[:80])


def _verifier():
    # unknown identifiers fail; every other statement type-checks with the sorry warning
    return scripted_verifier([
        {"match": r"glorpic", "response": {"messages": [{"severity": "error", "pos": {"line": 1, "column": 20},
                                                         "data": "unknown identifier 'glorpic'"}]}},
        {"match": r":= by sorry", "response": SORRY},
    ])


@pytest.fixture(scope="module")
def pool():
    p = _verifier()
    yield p
    p.verify_sync([])


def _cfg(tmp_path: Path, *overrides: str):
    # prompt_style=full: Herald's templates and the packaged labelled set (the tiny model's short templates and
    # its controlled-English set, model=tiny's default, are covered by tests/test_tinylm_stages.py)
    return compose("formalize", [f"out_dir={tmp_path / 'run'}", "lean=scripted", "progress=false",
                                 "n=2", "prompt_style=full", *overrides])


def test_cli_end_to_end_on_defaults(tmp_path, pool) -> None:
    run = run_formalize(_cfg(tmp_path, "limit=5", "batch_size=2"), generator=ScriptedGenerator(script),
                        verifier=pool)
    assert (run / "config.yaml").exists() and (run / "manifest.json").exists()
    rows = read_jsonl(run / "results.jsonl", FormalizationResult)
    assert [r.id for r in rows] == [row["id"] for row in load_labelled()[:5]]
    assert all(r.status == "formalized" for r in rows)
    assert rows[0].statement == "theorem ok_sq_nonneg (x : ℝ) : 0 ≤ x ^ 2"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["formalized"] == 5 and summary["items"] == 5


def test_killed_run_resumes_without_duplicates(tmp_path, pool) -> None:
    class Crash(RuntimeError):
        pass

    translate_calls = []

    def crashing(prompt: str, sample: int, call: int) -> str:
        if prompt.rstrip().endswith("**Lean 4 statement**") and sample == 0:
            translate_calls.append(call)
            if len(set(translate_calls)) == 3:  # die in the third batch, after two were written
                raise Crash("killed")
        return script(prompt, sample, call)

    cfg = _cfg(tmp_path, "limit=7", "batch_size=2")
    with pytest.raises(Crash):
        run_formalize(cfg, generator=ScriptedGenerator(crashing), verifier=pool)
    out = tmp_path / "run" / "results.jsonl"
    first = [r["id"] for r in read_jsonl(out)]
    assert len(first) == 4
    with out.open("a", encoding="utf-8") as f:  # and a torn half-line, as a kill mid-write leaves
        f.write('{"id": "ok_am_gm2", "inform')

    gen = ScriptedGenerator(script)
    run_formalize(cfg, generator=gen, verifier=pool)
    ids = [r["id"] for r in read_jsonl(out)]
    assert ids[:4] == first
    assert sorted(ids) == sorted(row["id"] for row in load_labelled()[:7])
    assert len(ids) == len(set(ids)) == 7
    translated = [t for texts, _ in gen.calls for t in texts if t.rstrip().endswith("**Lean 4 statement**")]
    assert len(translated) == 3  # only the unfinished items were translated again

    # a rerun with a different config must not mix results into this folder
    with pytest.raises(FormalizeConfigError, match="different config"):
        run_formalize(_cfg(tmp_path, "limit=7", "n=3"), generator=gen, verifier=pool)


def test_bad_input_names_the_file_and_item(tmp_path, pool) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "informal_statement": "x"}\n{"id": "b", "text": "no field"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl: item 1 \(b\).*informal_statement"):
        run_formalize(_cfg(tmp_path, f"input={bad}"), generator=ScriptedGenerator(script), verifier=pool)
    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"id": "a", "informal_statement": "x"}\n{"id": "a", "informal_statement": "y"}\n')
    with pytest.raises(ValueError, match="duplicate item id 'a'"):
        run_formalize(_cfg(tmp_path, f"input={dup}", "out_dir=" + str(tmp_path / "r2")),
                      generator=ScriptedGenerator(script), verifier=pool)
    # an input's bad last line is an error, not a torn write to drop silently (results files are lenient)
    torn = tmp_path / "torn.jsonl"
    torn.write_text('{"id": "a", "informal_statement": "x"}\n{"id": "b", "informal_st\n')
    with pytest.raises(ValueError, match=r"torn.jsonl:2: not valid JSON"):
        run_formalize(_cfg(tmp_path, f"input={torn}", "out_dir=" + str(tmp_path / "r3")),
                      generator=ScriptedGenerator(script), verifier=pool)
    with pytest.raises(FormalizeConfigError, match=r"input .*missing.jsonl: no such file"):
        run_formalize(_cfg(tmp_path, f"input={tmp_path / 'missing.jsonl'}", "out_dir=" + str(tmp_path / "r4")),
                      generator=ScriptedGenerator(script), verifier=pool)


def test_library_source_is_checked_before_any_model_loads(tmp_path) -> None:
    """No generator injected and a model path that does not exist: the source's error must come first."""
    from autoformalize.declarations import DeclarationError

    def cfg(i: int, *extra: str):
        return _cfg(tmp_path, "mode=library", f"model.path={tmp_path / 'no-model'}", f"out_dir={tmp_path / str(i)}",
                    *extra)

    with pytest.raises(FormalizeConfigError, match="needs library.source"):
        run_formalize(cfg(1))
    with pytest.raises(DeclarationError, match=r"nope.lean does not exist"):
        run_formalize(cfg(2, f"library.source={tmp_path / 'nope.lean'}"))
    with pytest.raises(FormalizeConfigError, match=r"use_repl needs a \.lean source, got .*d\.jsonl"):
        run_formalize(cfg(3, f"library.source={tmp_path / 'd.jsonl'}", "library.use_repl=true"))


def test_cli_process_reports_bad_input_in_one_line(tmp_path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json}\n{\"informal_statement\": \"x\"}\n")
    proc = subprocess.run(
        [sys.executable, "-c", "from prover.apps.formalize import main; main()", f"input={bad}",
         f"hydra.run.dir={tmp_path / 'run'}", "lean=scripted"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 3, proc.stderr  # an input error (prover/exit_codes.py)
    assert "proofforge-formalize:" in proc.stderr and "bad.jsonl:1" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_abstain_eval_confusion_matrix(tmp_path, pool) -> None:
    run = run_formalize(_cfg(tmp_path, "mode=abstain_eval", "n=1", "batch_size=12"),
                        generator=ScriptedGenerator(script), verifier=pool)
    rep = json.loads((run / "abstain_eval.json").read_text())
    rows = load_labelled()
    n_ok = sum(r["formalizable"] for r in rows)
    n_bad = len(rows) - n_ok
    # every well-posed item but one is formalized to its reference; the quadratic is formalized wrongly;
    # every ill-posed item is abstained on (unknown identifiers) except the one Lean accepted
    assert rep["matrix"]["formalizable"] == {"faithful": n_ok - 1, "unfaithful": 1, "abstained": 0}
    assert rep["matrix"]["not_formalizable"] == {"faithful": 0, "unfaithful": 1, "abstained": n_bad - 1}
    assert rep["rates"]["abstain_rate_not_formalizable"] == pytest.approx((n_bad - 1) / n_bad)
    assert rep["rates"]["wrong_rate_formalizable"] == pytest.approx(1 / n_ok)
    cells = {i["id"]: i["column"] for i in rep["items"]}
    assert cells["ok_quadratic_roots"] == "unfaithful" and cells["bad_vague_large"] == "unfaithful"
    assert n_bad >= 8 and len(rows) >= 20  # the labelled set really has ill-posed rows


def test_abstain_report_needs_every_item_and_matches_statements() -> None:
    assert statements_match("theorem a (x : ℝ) : 0 ≤ x ^ 2 := by sorry", "theorem b (x : ℝ) :  0 ≤ x ^ 2")
    assert not statements_match("theorem a (x : ℤ) : 0 ≤ x ^ 2", "theorem b (x : ℝ) : 0 ≤ x ^ 2")
    with pytest.raises(ValueError, match="no result for labelled item"):
        abstain_report(load_labelled(DEFAULT_LABELLED)[:2], [])


def test_a_run_that_answers_nothing_has_no_precision_rather_than_zero() -> None:
    rows = load_labelled()
    results = [FormalizationResult(id=r["id"], informal=r["informal_statement"], status="abstained") for r in rows]
    rep = abstain_report(rows, results)
    assert rep.rates["precision_answered"] is None and rep.rates["abstain_rate_not_formalizable"] == 1.0
    assert "precision_answered: n/a" in rep.table() and "accuracy: " in rep.table()
    assert json.loads(json.dumps(rep.to_dict()))["rates"]["precision_answered"] is None


def test_herald_eval_on_minif2f(tmp_path, pool) -> None:
    run = run_formalize(
        _cfg(tmp_path, "mode=herald_eval", f"herald_eval.input={MINIF2F}", "limit=3", "n=2",
             "herald_eval.ks=[1,2]"),
        generator=ScriptedGenerator(script), verifier=pool)
    rep = json.loads((run / "herald_eval.json").read_text())
    assert rep["problems"] == 3 and rep["samples_per_problem"] == 2
    assert rep["typecheck_rate"] == 1.0 and rep["judged_faithful_rate"] == 1.0
    assert set(rep["pass_at_k_faithful"]) == {"1", "2"}
    assert "no proofs attempted" in rep["note"]
    rows = read_jsonl(run / "results.jsonl")
    test_rows = [json.loads(x) for x in MINIF2F.read_text().splitlines() if '"split": "test"' in x]
    assert [r["id"] for r in rows] == [t["name"] for t in test_rows[:3]]  # split=test by default
    assert rows[0]["informal"] == informal_from_prefix(test_rows[0]["informal_prefix"])
    assert rows[0]["header"] == test_rows[0]["header"]


def test_herald_eval_refuses_k_above_n_a_file_without_splits_and_names_the_input(tmp_path) -> None:
    with pytest.raises(HeraldEvalError, match=r"herald_eval.ks: k=8 needs 1 <= k <= n=2"):
        run_formalize(_cfg(tmp_path / "a", "mode=herald_eval", f"herald_eval.input={MINIF2F}", "n=2",
                           "herald_eval.ks=[1,8]"), generator=ScriptedGenerator(script))
    # a labelled set is not miniF2F: split=test must not silently keep all of it
    with pytest.raises(HeraldEvalError, match=r"labelled.jsonl:1: no `split` field.*herald_eval.split=null"):
        run_formalize(_cfg(tmp_path / "b", "mode=herald_eval", f"herald_eval.input={DEFAULT_LABELLED}", "n=2",
                           "herald_eval.ks=[1]"),
                      generator=ScriptedGenerator(script))
    with pytest.raises(FormalizeConfigError, match=r"herald_eval.input=<minif2f.jsonl>.*docs/autoformalize.md"):
        run_formalize(_cfg(tmp_path / "c", "mode=herald_eval", "herald_eval.ks=[1]"), generator=ScriptedGenerator(script))
    assert "herald_eval.input=minif2f.jsonl" in (REPO_ROOT / "README.md").read_text()  # the README shows it


def test_pass_at_k_and_summary_counts() -> None:
    assert pass_at_k(4, 0, 1) == 0.0 and pass_at_k(4, 4, 1) == 1.0
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25) and pass_at_k(4, 1, 2) == pytest.approx(0.5)
    from autoformalize.formalizer import CandidateStatement

    r = FormalizationResult(id="a", informal="x", status="abstained", n_samples=4, candidates=[
        CandidateStatement("theorem a : True", [0, 2], typechecks=True, judge_label="unfaithful"),
        CandidateStatement(None, [1, 3]),
    ])
    s = herald_summary([r], threshold=0.5, ks=[1, 4])
    assert s["typecheck_rate"] == 1.0 and s["judged_faithful_rate"] == 0.0
    assert s["pass_at_k_typecheck"]["1"] == pytest.approx(0.5) and s["pass_at_k_faithful"]["4"] == 0.0


def test_separate_judge_model_from_config(tmp_path, pool) -> None:
    # the injected generator translates; the judge is built from judge_model (a scripted backend that
    # never accepts), so every type-checking candidate is abstained on
    run = run_formalize(_cfg(tmp_path, "limit=2", "n=1", "+judge_model.backend=scripted",
                             "+judge_model.default='Label: unfaithful\nScore: 0.05'"),
                        generator=ScriptedGenerator(script), verifier=pool)
    rows = read_jsonl(run / "results.jsonl", FormalizationResult)
    assert [r.status for r in rows] == ["abstained", "abstained"]
    assert all(r.candidates[0].typechecks and r.candidates[0].judge_score == pytest.approx(0.05) for r in rows)


E2E_MODEL = """\
name: e2e-scripted
backend: scripted
script:
  - ["Problem B:", "Label: faithful\\nScore: 0.9"]
  - ["Explain in plain mathematical English", "Two plus two is four."]
  - ["Every glorpic", "I cannot formalise this."]
  - ["[*][*]Lean 4 statement[*][*]", "theorem t : (2 : ℕ) + 2 = 4 := by sorry"]
"""


def test_cli_process_formalizes_abstains_and_resumes(tmp_path) -> None:
    """The proofforge-formalize Hydra app itself, success path: a scripted model config on Hydra's search
    path and lean=scripted with a rules file; a rerun on the same folder writes nothing twice."""
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "e2e.yaml").write_text(E2E_MODEL, encoding="utf-8")
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"match": r"\(2 : ℕ\) \+ 2 = 4 := by sorry", "response": SORRY}]))
    items = tmp_path / "in.jsonl"
    items.write_text('{"id": "two", "informal_statement": "Two plus two is four."}\n'
                     '{"id": "glorp", "informal_statement": "Every glorpic number is snarfed."}\n')
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-c", "from prover.apps.formalize import main; main()", f"hydra.run.dir={run_dir}",
           f"hydra.searchpath=[file://{tmp_path / 'conf'}]", "model=e2e", "lean=scripted",
           f"lean.rules_file={rules}", f"input={items}", "n=2"]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "formalized 1/2 (abstained 1; 2 new)" in proc.stdout
    rows = {r.id: r for r in read_jsonl(run_dir / "results.jsonl", FormalizationResult)}
    assert rows["two"].status == "formalized" and rows["two"].statement == "theorem two : (2 : ℕ) + 2 = 4"
    assert rows["glorp"].status == "abstained" and "none of 2 samples type-checks" in rows["glorp"].reason
    assert {p.name for p in run_dir.iterdir()} >= {"config.yaml", "manifest.json", "results.jsonl", "summary.json"}

    again = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "formalized 1/2 (abstained 1; 0 new)" in again.stdout
    assert len(read_jsonl(run_dir / "results.jsonl")) == 2


def test_retrieval_from_config_puts_declarations_into_the_prompt(tmp_path, pool) -> None:
    """retrieval.enabled=true builds the LeanVec retriever over the packaged declarations (hashing encoder,
    query-aware projection, int8, exact re-rank) and its top k go into each translation prompt."""
    gen = ScriptedGenerator(script)
    run = run_formalize(_cfg(tmp_path, "limit=1", "n=1", "retrieval.enabled=true", "retrieval.k=3",
                             "retrieval.dim=256", "retrieval.reduced_dim=32"), generator=gen, verifier=pool)
    [row] = read_jsonl(run / "results.jsonl", FormalizationResult)
    assert row.id == "ok_sq_nonneg" and len(row.retrieved) == 3 and "sq_nonneg" in row.retrieved
    prompt = gen.calls[0][0][0]
    assert all(name in prompt for name in row.retrieved)
    with pytest.raises(ValueError, match=r"nope\.jsonl does not exist"):
        run_formalize(_cfg(tmp_path, "out_dir=" + str(tmp_path / "r2"), "retrieval.enabled=true",
                           f"retrieval.declarations={tmp_path / 'nope.jsonl'}"), generator=gen, verifier=pool)


def test_help_names_the_app_and_its_modes() -> None:
    proc = subprocess.run([sys.executable, "-c", "from prover.apps.formalize import main; main()", "--help"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("proofforge-formalize: ") and "herald_eval | abstain_eval | library" in proc.stdout


def test_offline_defaults_from_config_with_a_transformers_model(tmp_path) -> None:
    """No injected parts: model=tiny's transformers backend (a random-init model at model.path stands in for
    the trained tiny model, which CI does not train) and lean=scripted build from the config. A random model
    writes no statement, so the item is abstained on, with the reason and the samples recorded."""
    from prover.testing.random_model import build_random_llama

    model = build_random_llama(tmp_path / "m", hidden_size=32, num_layers=1, max_positions=1024)
    run = run_formalize(_cfg(tmp_path, f"model.path={model}", "model.attn_implementation=sdpa", "limit=1",
                             "num_exemplars=0", "sampling.max_tokens=8"))
    [row] = read_jsonl(run / "results.jsonl", FormalizationResult)
    assert row.id == "ok_sq_nonneg" and row.status == "abstained" and row.n_samples == 2
    assert "cannot faithfully formalize" in row.reason
    assert sorted(i for c in row.candidates for i in c.samples) == [0, 1]
    assert json.loads((run / "summary.json").read_text())["items"] == 1


def test_prompt_files_from_config_are_used_and_checked_before_any_model_loads(tmp_path, pool) -> None:
    judge = tmp_path / "judge.txt"
    judge.write_text("MY JUDGE\nProblem A: $original\nProblem B: $back_translation\n")
    gen = ScriptedGenerator(script)
    run_formalize(_cfg(tmp_path, "limit=1", "n=1", f"templates.judge={judge}"), generator=gen, verifier=pool)
    assert any(t.startswith("MY JUDGE") for texts, _ in gen.calls for t in texts)

    # no generator injected and a model path that does not exist: the prompt file's error comes first
    def cfg(i: int, *extra: str):
        return _cfg(tmp_path, f"model.path={tmp_path / 'no-model'}", f"out_dir={tmp_path / str(i)}", *extra)

    with pytest.raises(ValueError, match=r"templates\.translate: prompt template .*nope\.txt does not exist"):
        run_formalize(cfg(1, f"templates.translate={tmp_path / 'nope.txt'}"))
    with pytest.raises(FormalizeConfigError, match=r"templates\.jugde: unknown stage"):
        run_formalize(cfg(2, f"+templates.jugde={judge}"))
    with pytest.raises(ValueError, match=r"exemplar file .*nope\.jsonl does not exist"):
        run_formalize(cfg(3, f"exemplars={tmp_path / 'nope.jsonl'}"))


def test_the_verifier_is_built_before_the_model(tmp_path, monkeypatch) -> None:
    """A missing Lean must be reported before minutes of model loading, not after."""
    import prover.lean.verifier_factory

    class NoLean(RuntimeError):
        pass

    def no_lean(cfg):
        raise NoLean("Lean is not installed")

    monkeypatch.setattr(prover.lean.verifier_factory, "build_verifier", no_lean)
    with pytest.raises(NoLean):  # the model path does not exist either: its error would come first otherwise
        run_formalize(_cfg(tmp_path, f"model.path={tmp_path / 'no-model'}", "limit=1"))
