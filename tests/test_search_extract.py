"""Proof extraction on real model-output shapes, and the candidates built from it."""

from __future__ import annotations

from prover.records import Problem
from prover.search.extract import NO_PROOF, extract, make_candidate

P = Problem(
    name="t1",
    header="import Mathlib\nopen Real\n\n",
    formal_statement="theorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 := by",
)
BASE = "import Mathlib\nopen Real\n\ntheorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 := by\n"


def test_continuation_up_to_fence_and_truncated_continuation():
    e = extract("  subst h\n  rfl\n", P, continuation=True)
    assert e.source == "continuation" and e.code == BASE + "  subst h\n  rfl\n"
    cut = extract("  subst h\n  nlinarith [sq_nonneg (a - 1),\n    sq_nonn", P, continuation=True)
    assert cut.proof == "  subst h\n  nlinarith [sq_nonneg (a - 1),\n    sq_nonn"  # Lean will judge it


def test_continuation_drops_trailing_top_level_junk_and_unindented_lines_get_indented():
    e = extract("  omega\n\ntheorem junk : True := trivial\n", P, continuation=True)
    assert e.proof == "  omega"
    e2 = extract("subst h\nrfl", P, continuation=True)
    assert e2.proof == "  subst h\n  rfl"


def test_empty_or_comment_only_output_is_no_proof():
    for out in ["", "   \n", "  -- I cannot prove this\n", "  /- thinking -/\n"]:
        e = extract(out, P, continuation=True)
        assert not e.ok and e.reason == NO_PROOF and e.code == BASE


def test_prose_without_any_block_is_no_proof():
    e = extract("The answer follows from arithmetic, so we are done.", P)
    assert not e.ok and e.reason == NO_PROOF


def test_last_complete_block_wins_among_several():
    out = "First try:\n```lean\nsimp [h]\n```\nBetter:\n```lean4\n  subst h\n  rfl\n```\nDone."
    e = extract(out, P)
    assert e.source == "block" and e.proof == "  subst h\n  rfl"


def test_block_restating_header_and_statement_is_taken_whole_with_the_problems_statement():
    out = (
        "<think>easy</think>\n```lean4\nimport Mathlib\nimport Aesop\nopen Real\n\n"
        "lemma helper : (1 : ℕ) + 1 = 2 := rfl\n\n/-- restated docstring -/\n"
        "theorem t1 (a : ℕ)   (h : a = 1) :\n    a + 1 = 2 := by\n  subst h\n  exact helper\n```"
    )
    e = extract(out, P)
    assert e.ok and e.preamble == "lemma helper : (1 : ℕ) + 1 = 2 := rfl"
    # the model's (differently spaced) statement is replaced by the problem's exact one
    assert e.code == (
        "import Mathlib\nopen Real\n\nlemma helper : (1 : ℕ) + 1 = 2 := rfl\n\n"
        "theorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 := by\n  subst h\n  exact helper\n"
    )
    assert "Aesop" not in e.code and "restated docstring" not in e.code
    from prover.lean.policy import check_candidate

    assert check_candidate(e.code, P.formal_statement) is None


def test_restated_theorem_with_another_name_is_a_failed_candidate():
    e = extract("```lean4\ntheorem easier : True := by trivial\n```", P)
    assert not e.ok and "'easier'" in e.reason and "'t1'" in e.reason


def test_proof_on_the_by_line_and_term_mode():
    e = extract("```lean4\ntheorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 := by simp [h]\n```", P)
    assert e.proof == "  simp [h]"
    t = extract("```lean4\ntheorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 := by\n```\n", P)
    assert not t.ok
    term = extract("```lean4\ntheorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 :=\n  by_contra fun x => x (by omega)\n```", P)
    assert term.proof == "  exact by_contra fun x => x (by omega)"


def test_truncated_block_without_closing_fence():
    out = "Plan: substitute.\n```lean4\ntheorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 := by\n  subst h\n  rf"
    e = extract(out, P)
    assert e.source == "truncated-block" and e.proof == "  subst h\n  rf"


def test_candidate_carries_statement_for_the_integrity_check():
    e = extract("  subst h\n  rfl", P, continuation=True)
    c = make_candidate(P, e, {"strategy": "x", "sample": 0}, prompt_tokens=3, completion_tokens=4)
    assert c.statement == P.formal_statement and c.code == e.code and c.problem == "t1"
    assert c.id == make_candidate(P, e, {}).id  # same problem + code -> same id


def _minif2f_rows():
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "minif2f" / "minif2f.jsonl"
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_every_minif2f_statement_gives_candidates_the_verifier_policy_accepts():
    """Continuations and whole restated blocks, on all 488 DeepSeek-format miniF2F statements, give
    code that passes the verifier's integrity check (statement unchanged, declared once)."""
    from prover.lean.policy import check_candidate
    from prover.search.prompts import docstring, statement_by

    rows = _minif2f_rows()
    assert len(rows) == 488
    for row in rows:
        p = Problem(name=row["name"], header=row["header"], formal_statement=row["formal_statement"],
                    informal_statement=row["informal_prefix"])
        cont = extract("  nlinarith [sq_nonneg (x - 1)]\n", p, continuation=True)
        restated = "```lean4\n" + p.header + docstring(p) + statement_by(p) + "  norm_num\n  linarith\n```"
        block = extract("Proof:\n" + restated, p)
        for e in (cont, block):
            assert e.ok, (p.name, e.reason)
            assert check_candidate(e.code, p.formal_statement) is None, (p.name, check_candidate(e.code, p.formal_statement))
        assert block.proof == "  norm_num\n  linarith"


def test_names_and_comments_are_read_as_lean_reads_them():
    # «»-quoted names (extract's own regex used to cut them at the space) and a restatement in a comment
    q = Problem(name="q", header="import Mathlib\n\n", formal_statement="theorem «my thm» (n : ℕ) : n + 0 = n := by")
    e = extract("```lean4\n-- theorem «my thm» : False := by\ntheorem «my thm» (n : ℕ) : n + 0 = n := by\n  simp\n```", q)
    assert e.ok and e.proof == "  simp" and e.preamble == ""
    e = extract("```lean4\n/- theorem easier : True := by trivial -/\ntheorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 := by\n"
                "  omega\n```", P)
    assert e.ok and e.proof == "  omega"
    # a ":=" inside a string of the restated statement is not the proof's
    e = extract('```lean4\ntheorem t1 (a : ℕ) (h : a = 1) (s : String := ":= by bad") : a + 1 = 2 := by\n  omega\n```', P)
    assert e.ok and e.proof == "  omega"
