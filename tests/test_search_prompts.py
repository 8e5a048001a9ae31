"""Prompt formats: the tiny model's exact contract, DeepSeek CoT, Goedel/Kimina chats, tactic prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.records import Problem
from prover.search.prompts import (
    PromptError,
    ends_inside_code,
    prover_prompt,
    statement_by,
    tactic_prompt,
    tactic_stop_strings,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def minif2f_problem() -> Problem:
    """The first DeepSeek-format miniF2F row, as the dataset loader would map it."""
    with (SHARED / "data" / "minif2f" / "minif2f.jsonl").open(encoding="utf-8") as f:
        row = json.loads(f.readline())
    return Problem(
        name=row["name"],
        split=row["split"],
        header=row["header"],
        formal_statement=row["formal_statement"],
        informal_statement=row["informal_prefix"],
    )


P = Problem(
    name="t1",
    header="import Mathlib\nopen Real\n",
    formal_statement="theorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 := by",
    informal_statement="Show that a + 1 = 2.",
)


def test_tiny_prompt_is_exactly_the_contract():
    expected = (
        "Complete the following Lean 4 code:\n\n```lean4\n"
        "import Mathlib\nopen Real\n"
        "/-- Show that a + 1 = 2. -/\n"
        "theorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 := by\n"
    )
    assert prover_prompt(P, "tiny") == expected
    assert prover_prompt(P, "deepseek") == expected  # DeepSeek non-CoT is the same text
    assert ends_inside_code(expected)


def test_no_informal_statement_omits_docstring():
    p = Problem(name="t1", header="import Mathlib\n", formal_statement="theorem t1 : 1 = 1 :=")
    assert prover_prompt(p, "tiny") == (
        "Complete the following Lean 4 code:\n\n```lean4\nimport Mathlib\ntheorem t1 : 1 = 1 := by\n"
    )


def test_cot_prompt_and_deepseek_informal_prefix_kept():
    p = minif2f_problem()
    text = prover_prompt(p, "deepseek", cot=True)
    assert text.startswith(
        "Complete the following Lean 4 code with explanatory comments preceding each line of code:\n\n```lean4\n"
    )
    # the dataset's informal_prefix is already a docstring: not wrapped twice
    assert "/-- /--" not in text and text.count("/--") == 1
    assert text.endswith(p.formal_statement)
    assert p.header in text


def test_goedel_and_kimina_are_chats_as_on_their_model_cards():
    g = prover_prompt(P, "goedel")
    assert isinstance(g, list) and [m["role"] for m in g] == ["user"]
    assert g[0]["content"].startswith("Complete the following Lean 4 code:\n\n```lean4\nimport Mathlib")
    assert ":= by\n  sorry```\n\nBefore producing the Lean 4 code" in g[0]["content"]
    k = prover_prompt(P, "kimina")
    assert [m["role"] for m in k] == ["system", "user"]
    assert k[0]["content"] == "You are an expert in mathematics and Lean 4."
    assert k[1]["content"].startswith(
        "Think about and solve the following problem step by step in Lean 4.\n# Problem:Show that a + 1 = 2.\n"
        "# Formal statement:\n```lean4\n"
    )
    assert not ends_inside_code(k)


@pytest.mark.parametrize(
    "stmt",
    ["theorem t : True :=", "theorem t : True := by", "theorem t : True := by\n", "theorem t : True := by sorry"],
)
def test_statement_endings_normalise_to_by_newline(stmt):
    assert statement_by(Problem(name="t", formal_statement=stmt)) == "theorem t : True := by\n"


def test_bad_statement_and_style_name_the_input():
    with pytest.raises(PromptError, match="'bad'.*must end with"):
        statement_by(Problem(name="bad", formal_statement="theorem bad : True"))
    with pytest.raises(PromptError, match="unknown prompt_style 'gpt'"):
        prover_prompt(P, "gpt")


def test_tactic_prompt_resumes_the_proof_so_far():
    text = tactic_prompt(P, ["subst h", "norm_num"], ["⊢ 1 + 1 = 2"], "tiny")
    assert text == prover_prompt(P, "tiny") + "  subst h\n  norm_num\n"
    ds = tactic_prompt(P, ["subst h"], ["⊢ 1 + 1 = 2"], "deepseek")
    assert ds.endswith("  subst h\n  /- tactic state:\n  ⊢ 1 + 1 = 2\n  -/\n")
    chat = tactic_prompt(P, [], ["a : ℕ\n⊢ a + 1 = 2"], "goedel")
    assert "a : ℕ\n⊢ a + 1 = 2" in chat[-1]["content"]
    assert tactic_stop_strings("tiny") == ["\n", "```"] and tactic_stop_strings("kimina") == []
