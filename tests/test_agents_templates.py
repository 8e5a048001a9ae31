"""Agent prompt templates: the tiny model's exact prover/corrector contract, and feedback formatting."""

from __future__ import annotations

import pytest

import agents.templates as templates
from agents.attempt import Attempt
from agents.corrector_agent import CorrectorAgent
from agents.feedback import failing_goals, first_error_line, format_errors
from agents.prover_agent import ProverAgent
from prover.llm.generator import SamplingParams
from prover.llm.scripted import ScriptedGenerator
from prover.records import Message, Pos, Problem, Verdict
from prover.search.extract import extract, make_candidate
from prover.search.prompts import PROMPT_STYLES, PromptError, prover_prompt

P = Problem(
    name="t1",
    header="import Mathlib\n\n",
    formal_statement="theorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 := by",
    informal_statement="Show that a + 1 = 2.",
)
LONG = "x" * 300
VERDICT = Verdict(
    "failed",
    messages=[
        Message("error", "linarith failed to find a contradiction\ncase a\n⊢ False", Pos(4, 2)),
        Message("error", "unsolved goals\na : ℕ\nh : a = 1\n⊢ a + 1 = 2", Pos(3, 51)),
    ],
    sorries=[{"goal": "a : ℕ\n⊢ 1 = 1", "proofState": 3}],
)


def failed_attempt(verdict: Verdict = VERDICT) -> Attempt:
    ex = extract("  linarith\n  simp", P, continuation=True)
    cand = make_candidate(P, ex, {})
    return Attempt("prover", 0, "p", "  linarith\n  simp", ex, cand, verdict=verdict)


def gen() -> ScriptedGenerator:
    return ScriptedGenerator([])


def test_prover_templates_match_the_search_prompts():
    for style in ("tiny", "goedel", "kimina"):
        assert ProverAgent(gen(), SamplingParams(), style).prompt(P) == prover_prompt(P, style)
    lot = ProverAgent(gen(), SamplingParams(), "deepseek").prompt(P)
    assert "<Thought>" in lot and "Informal statement: Show that a + 1 = 2." in lot


def test_tiny_corrector_prompt_is_exactly_the_contract():
    got = CorrectorAgent(gen(), SamplingParams(), "tiny").prompt(P, failed_attempt())
    assert got == (
        "Fix the following Lean 4 proof.\n\n```lean4\nimport Mathlib\n\n"
        "theorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 := by\n  linarith\n  simp\n```\n\n"
        "Lean reported:\nlinarith failed to find a contradiction\n\n"
        "Corrected Lean 4 code:\n\n```lean4\nimport Mathlib\n\ntheorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 := by\n"
    )


@pytest.mark.parametrize("style", ["deepseek", "goedel", "kimina"])
def test_corrector_prompts_show_located_errors_and_goals(style):
    prompt = CorrectorAgent(gen(), SamplingParams(), style).prompt(P, failed_attempt())
    text = prompt if isinstance(prompt, str) else "\n".join(m["content"] for m in prompt)
    assert "line 4, column 2 at `linarith`: error: linarith failed" in text
    assert "a : ℕ\nh : a = 1\n⊢ a + 1 = 2" in text  # goals from the unsolved-goals error
    assert "a : ℕ\n⊢ 1 = 1" in text  # and from the reported sorry
    assert "  linarith\n  simp" in text  # the failed proof itself
    assert "$" not in text.replace("$$", "")  # every placeholder filled


def test_feedback_helpers():
    assert failing_goals(VERDICT) == ["a : ℕ\nh : a = 1\n⊢ a + 1 = 2", "a : ℕ\n⊢ 1 = 1"]
    assert first_error_line(Verdict("failed", messages=[Message("error", LONG + "\nmore")])) == "x" * 200
    sorry_only = Verdict("failed", messages=[Message("warning", "declaration uses 'sorry'", Pos(3, 8))])
    assert first_error_line(sorry_only) == "declaration uses 'sorry'"
    assert format_errors(Verdict("timeout", reason="timed out after 60 s"), "") == "timed out after 60 s"


def test_every_style_has_both_templates():
    for style in PROMPT_STYLES:
        for role in ("prover", "corrector"):
            assert templates.template_path(role, style).is_file()


def test_template_errors_name_the_file(tmp_path, monkeypatch):
    (tmp_path / "prover_tiny.md").write_text("Prove ${nonsense}\n")
    monkeypatch.setattr(templates, "PROMPTS_DIR", tmp_path)
    with pytest.raises(templates.TemplateError, match=r"prover_tiny\.md needs a value for \$nonsense"):
        templates.render("prover", "tiny", header="")
    with pytest.raises(templates.TemplateError, match="corrector_tiny.md does not exist"):
        templates.render("corrector", "tiny")
    with pytest.raises(PromptError):
        templates.render("prover", "llama")


def test_agrees_with_the_tiny_models_own_format_module():
    from prover.search.prompts import statement_by
    from prover.tinylm import formats

    assert prover_prompt(P, "tiny") == formats.prover_prompt(P.header, P.informal_statement, statement_by(P))
    a = failed_attempt()
    assert CorrectorAgent(gen(), SamplingParams(), "tiny").prompt(P, a) == formats.corrector_prompt(
        P.header, statement_by(P), a.extraction.proof, VERDICT.messages[0].data
    )
