"""The tiny model's prompt formats are a contract with the strategies and agents: check the exact strings."""

from prover.tinylm.evaluate import parses_as_proof
from prover.tinylm.formats import (
    END,
    completion,
    corrector_prompt,
    extract_proof,
    first_error_line,
    prover_prompt,
)

HEADER = "import Mathlib\n\n"
STMT = "theorem t (n : Nat) : n + 0 = n := by\n"


def test_end_marker():
    assert END == "```"


def test_prover_prompt_with_informal():
    assert prover_prompt(HEADER, "n plus zero is n.", STMT) == (
        "Complete the following Lean 4 code:\n\n```lean4\nimport Mathlib\n\n"
        "/-- n plus zero is n. -/\ntheorem t (n : Nat) : n + 0 = n := by\n"
    )


def test_prover_prompt_without_informal_omits_docstring():
    expected = "Complete the following Lean 4 code:\n\n```lean4\ntheorem t (n : Nat) : n + 0 = n := by\n"
    assert prover_prompt("", None, STMT) == expected
    assert prover_prompt("", "", STMT) == expected


def test_corrector_prompt_exact():
    got = corrector_prompt(HEADER, STMT, "  decide", "tactic 'decide' failed for proposition")
    assert got == (
        "Fix the following Lean 4 proof.\n\n```lean4\nimport Mathlib\n\n"
        "theorem t (n : Nat) : n + 0 = n := by\n  decide\n```\n\n"
        "Lean reported:\ntactic 'decide' failed for proposition\n\n"
        "Corrected Lean 4 code:\n\n```lean4\nimport Mathlib\n\ntheorem t (n : Nat) : n + 0 = n := by\n"
    )


def test_corrector_prompt_reduces_error_to_first_line_and_200_chars():
    long_first = "x" * 300
    got = corrector_prompt("", STMT, "  simp\n", long_first + "\nsecond line")
    assert "\n" + "x" * 200 + "\n\nCorrected" in got
    assert "x" * 201 not in got and "second line" not in got
    assert "  simp\n```" in got  # a trailing newline on the failed proof is not doubled
    assert first_error_line("unsolved goals\nn : Nat\n⊢ n = n") == "unsolved goals"
    assert first_error_line("") == ""


def test_completion_and_extract_round_trip():
    proof = "  intro h\n  omega"
    text = completion(proof)
    assert text == "  intro h\n  omega\n```"
    assert extract_proof(text) == proof
    assert extract_proof(text + "\nmore junk") == proof
    assert extract_proof("  omega") == "  omega"  # no marker: the whole text


def test_parses_as_proof():
    assert parses_as_proof("  constructor\n  · exact hp\n  · exact hq\n```")
    assert parses_as_proof("  exact ⟨h.2, h.1⟩\n```")
    assert not parses_as_proof("  omega")  # no end marker
    assert not parses_as_proof("\n```")  # empty
    assert not parses_as_proof("omega\n```")  # not indented
    assert not parses_as_proof("  frobnicate\n```")  # unknown tactic
    assert not parses_as_proof("  exact ⟨h.2, h.1\n```")  # unbalanced
    assert not parses_as_proof("  exact (h.2]\n```")  # mismatched
