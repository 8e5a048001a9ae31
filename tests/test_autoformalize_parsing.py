"""Pure parsing: the judge parser, statement extraction, prompts, typecheck rule. No processes."""

from __future__ import annotations

import pytest

from autoformalize.judge import FAITHFUL, UNFAITHFUL, parse_judgement
from autoformalize.prompts import PromptError, load_exemplars, render
from autoformalize.translate import extract_statement, lean_code, translation_prompt
from autoformalize.typecheck import lean_identifier, rename_theorem, typechecks
from prover.records import Message, Verdict


@pytest.mark.parametrize(
    ("raw", "label", "score"),
    [
        ("Label: faithful\nScore: 0.85\nReason: same problem", FAITHFUL, 0.85),
        ("Label: unfaithful\nScore: 0.10", UNFAITHFUL, 0.10),
        ("LABEL: Faithful\nSCORE: 80%", FAITHFUL, 0.80),
        ("Score: 7/10\nLabel: faithful", FAITHFUL, 0.70),
        ("Label: faithful\nScore: 9", FAITHFUL, 0.90),  # a 0-10 scale
        ('{"label": "faithful", "score": 0.6, "reason": "ok"}', FAITHFUL, 0.60),
        ('Here you go: {"label": "unfaithful", "score": 0.3}', UNFAITHFUL, 0.30),
        ("The two problems are ||same||.", FAITHFUL, 1.0),  # Herald's markers, no score
        ("||different||", UNFAITHFUL, 0.0),
        ("Label: not faithful\nScore: 0.9", UNFAITHFUL, 0.9),
        ("No, they differ: the domain changed.", UNFAITHFUL, 0.0),
        ("Yes. Confidence: 95%", FAITHFUL, 0.95),
    ],
)
def test_parse_judgement_forms(raw: str, label: str, score: float) -> None:
    j = parse_judgement(raw)
    assert j.parsed
    assert j.label == label
    assert j.score == pytest.approx(score)
    assert j.raw == raw


@pytest.mark.parametrize(
    "raw",
    ["", "I am not sure what you mean.", "Label: faithful or unfaithful\nScore: a number between 0 and 1",
     "The first problem mentions x; it is faithful but also unfaithful in places."],
)
def test_unparseable_judgement_is_unfaithful_with_zero_score_and_keeps_raw(raw: str) -> None:
    j = parse_judgement(raw)
    assert (j.label, j.score, j.parsed, j.raw) == (UNFAITHFUL, 0.0, False, raw)
    assert not j.accepts(0.0)


def test_out_of_range_score_is_ignored_not_trusted() -> None:
    j = parse_judgement("Label: faithful\nScore: 250")
    assert j.label == FAITHFUL and 0.0 <= j.score <= 1.0


def test_extract_statement_from_chatty_output() -> None:
    out = ("Sure! Here is the formalization:\n```lean4\n/-- The square is nonneg. -/\n"
           "lemma my_thm (x : ℝ) (h : 0 < x) :\n    0 < x ^ 2 := by\n  positivity\n```\nHope it helps.")
    assert extract_statement(out) == "theorem my_thm (x : ℝ) (h : 0 < x) : 0 < x ^ 2"


def test_extract_statement_edge_cases() -> None:
    assert extract_statement("theorem t (n : ℕ := 3) : n = n := rfl") == "theorem t (n : ℕ := 3) : n = n"
    assert extract_statement("example : (1 : ℕ) = 1 := rfl", name="ex1") == "theorem ex1 : (1 : ℕ) = 1"
    assert extract_statement("theorem incomplete (x : ℝ) : x = x") is None  # no := : cut off
    assert extract_statement("theorem no_type := by sorry") is None
    assert extract_statement("I cannot formalize this.") is None
    # a commented-out theorem is not a statement
    assert extract_statement("-- theorem fake : False := by sorry\ntheorem real : True := by trivial") \
        == "theorem real : True"


def test_rename_and_identifier() -> None:
    assert rename_theorem("theorem Nat.add_comm (a b : ℕ) : a + b = b + a", "x1") \
        == "theorem x1 (a b : ℕ) : a + b = b + a"
    assert lean_identifier("college math/12") == "college_math_12"
    assert lean_identifier("12abc") == "s_12abc"
    assert lean_code("import Mathlib", "theorem t : True") == "import Mathlib\ntheorem t : True := by sorry"


def test_typechecks_rule() -> None:
    sorry = Message("warning", "declaration uses 'sorry'")
    assert typechecks(Verdict("failed", messages=[sorry]))
    assert not typechecks(Verdict("failed", messages=[sorry, Message("error", "unknown identifier 'foo'")]))
    for status in ("rejected", "timeout", "crashed"):
        assert not typechecks(Verdict(status))


def test_translation_prompt_has_exemplars_and_related(tmp_path) -> None:
    from autoformalize.declarations import Declaration

    ex = load_exemplars()
    assert len(ex) >= 3
    p = translation_prompt("Every prime is at least 2.", name="p2", header="import Mathlib",
                           exemplars=ex[:2], related=[Declaration("Nat.Prime.two_le", signature=": 2 ≤ p")])
    assert ex[0].formal in p and ex[1].informal in p and ex[2].informal not in p
    assert "Nat.Prime.two_le" in p and p.rstrip().endswith("**Lean 4 statement**")
    bad = tmp_path / "ex.jsonl"
    bad.write_text('{"name": "a"}\n')
    with pytest.raises(PromptError, match="ex.jsonl:1"):
        load_exemplars(bad)
    tpl = tmp_path / "t.txt"
    tpl.write_text("hello $who")
    with pytest.raises(PromptError, match=r"\$who"):
        render(tpl)
