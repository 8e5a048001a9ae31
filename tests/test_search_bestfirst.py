"""Best-first tactic search against scripted REPL tactic rules."""

from __future__ import annotations

import pytest

from prover.lean.double_pools import scripted_verifier
from prover.llm.generator import SamplingParams
from prover.llm.scripted import ScriptedGenerator
from prover.records import Problem
from prover.search.bestfirst import BestFirstSearch, clean_tactic
from prover.search.strategy import BestFirstBudget

P = Problem(
    name="t1",
    header="import Mathlib\nopen Real\n",
    formal_statement="theorem t1 (a b : ℕ) (h : a = b) : a + 0 = b := by",
)
ROOT = {"match": r"sorry", "response": {"sorries": [{"goal": "a b : ℕ\nh : a = b\n⊢ a + 0 = b"}]}}
GOAL1 = "a b : ℕ\nh : a = b\n⊢ a = b"


def model(text: str, i: int, call: int) -> str:
    """Tactics by where the proof is: scripted log-probs are -(number of words)."""
    if text.endswith(":= by\n"):
        return ["  simp\n", "  rw [Nat.add_zero] at h ⊢\n", "  intro x\n"][i % 3]
    if text.endswith("  simp\n"):
        return ["  exact h\n", "  omega\n", "  decide\n"][i % 3]
    return "  skip\n"


def tree_by_tactic(out):
    return {n["tactic"]: n for n in out.meta["tree"]}


async def test_finds_the_proof_and_rechecks_it_in_command_mode():
    rules = [
        ROOT,
        {"match": r"^simp$", "response": {"goals": [GOAL1]}},
        {"match": r"^rw \[Nat.add_zero\] at h ⊢$", "response": {"goals": [GOAL1]}},  # same goals: duplicate
        {"match": r"^exact h$", "response": {"goals": [], "proofStatus": "Completed"}},
        {"match": r"simp\n  exact h\n?$", "response": {}},
    ]
    gen = ScriptedGenerator(model)
    async with scripted_verifier(rules, workers=2) as v:
        out = await BestFirstSearch(gen, v, SamplingParams(n=3, max_tokens=16)).aprove(P, BestFirstBudget(expansions=10))
    assert out.proved and out.meta["stopped"] == "proved"
    [cand] = out.candidates
    assert cand.code == "import Mathlib\nopen Real\ntheorem t1 (a b : ℕ) (h : a = b) : a + 0 = b := by\n  simp\n  exact h\n"
    tree = tree_by_tactic(out)
    assert tree[None]["status"] == "expanded" and tree["simp"]["parent"] == 0
    assert tree["rw [Nat.add_zero] at h ⊢"]["status"] == "duplicate"
    assert tree["intro x"]["status"] == "error"  # unknown tactic reply
    assert tree["exact h"]["status"] == "proved" and tree["exact h"]["parent"] == tree["simp"]["id"]
    # priority is cumulative log-probability: simp (-1) was expanded before the 4-word rewrite
    assert tree["simp"]["score"] == -1.0 and tree["exact h"]["score"] == -3.0
    assert out.meta["expansions"] == 2


async def test_completed_in_tactic_mode_but_rejected_in_command_mode_is_not_proved():
    rules = [
        ROOT,
        {"match": r"^simp$", "response": {"goals": [GOAL1]}},
        {"match": r"^(exact h|omega)$", "response": {"goals": [], "proofStatus": "Completed"}},
        # command mode finds an error for every full text (repl #44): nothing may count
    ]
    async with scripted_verifier(rules, workers=2) as v:
        out = await BestFirstSearch(ScriptedGenerator(model), v, SamplingParams(n=3)).aprove(P, BestFirstBudget(expansions=3))
    assert not out.proved
    statuses = {n["tactic"]: n["status"] for n in out.meta["tree"]}
    assert statuses["exact h"] == "rejected" and statuses["omega"] == "rejected"
    assert all(vd.status == "failed" for vd in out.verdicts) and len(out.verdicts) == 2


async def test_one_worker_pool_defers_the_recheck_instead_of_deadlocking():
    rules = [
        ROOT,
        {"match": r"^simp$", "response": {"goals": [GOAL1]}},
        {"match": r"^exact h$", "response": {"goals": []}},
        {"match": r"simp\n  exact h\n?$", "response": {}},
    ]
    async with scripted_verifier(rules, workers=1) as v:
        out = await BestFirstSearch(ScriptedGenerator(model), v, SamplingParams(n=3)).aprove(P, BestFirstBudget(expansions=5))
    assert out.proved and tree_by_tactic(out)["exact h"]["status"] == "proved"


async def test_budget_exhaustion_and_statement_that_does_not_elaborate():
    rules = [ROOT, {"match": r"^simp$", "response": {"goals": [GOAL1]}}]
    async with scripted_verifier(rules, workers=2) as v:
        out = await BestFirstSearch(ScriptedGenerator(model), v, SamplingParams(n=3)).aprove(P, BestFirstBudget(expansions=1))
    assert not out.proved and out.meta["expansions"] == 1 and out.meta["stopped"] == "budget"
    assert tree_by_tactic(out)["simp"]["status"] == "open"
    async with scripted_verifier([], workers=2) as v:  # unmatched command -> unsolved goals error
        bad = await BestFirstSearch(ScriptedGenerator(model), v).aprove(P, BestFirstBudget(expansions=1))
    assert not bad.proved and bad.meta["stopped"].startswith("statement does not elaborate")


async def test_needs_a_session_capable_verifier_and_an_expansion_budget():
    class NoSessions:
        pass

    with pytest.raises(TypeError, match="tactic-mode sessions"):
        BestFirstSearch(ScriptedGenerator([]), NoSessions())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expansions must be >= 1"):
        BestFirstBudget(expansions=0)


def test_clean_tactic_per_style():
    assert clean_tactic("  nlinarith [sq_nonneg a]", "tiny") == "nlinarith [sq_nonneg a]"
    assert clean_tactic("```", "tiny") == ""
    assert clean_tactic("Use this:\n```lean4\n  simp at h\n```", "goedel") == "simp at h"


async def test_search_resumes_in_a_new_session_after_a_rejected_completion():
    def model2(text: str, i: int, call: int) -> str:
        if text.endswith(":= by\n"):
            return ["  simp\n", "  rw [h]\n"][i % 2]
        return "  omega\n" if text.endswith("  simp\n") else "  rfl\n"

    rules = [
        ROOT,
        {"match": r"^simp$", "response": {"goals": [GOAL1]}},
        {"match": r"^rw \[h\]$", "response": {"goals": ["a b : ℕ\nh : a = b\n⊢ b + 0 = b"]}},
        {"match": r"^(omega|rfl)$", "response": {"goals": [], "proofStatus": "Completed"}},
        {"match": r"rw \[h\]\n  rfl\n?$", "response": {}},  # only this full text passes command mode
    ]
    async with scripted_verifier(rules, workers=1) as v:
        out = await BestFirstSearch(ScriptedGenerator(model2), v, SamplingParams(n=2)).aprove(P, BestFirstBudget(expansions=5))
    tree = tree_by_tactic(out)
    assert tree["omega"]["status"] == "rejected"
    assert out.proved and tree["rfl"]["status"] == "proved" and tree["rfl"]["parent"] == tree["rw [h]"]["id"]
    assert out.meta["sessions"] == 2
    assert out.meta["tactic_calls"] == 5  # simp, rw, omega; then rw replayed in session 2, rfl
    assert [vd.status for vd in out.verdicts] == ["failed", "proved"]


async def test_a_header_that_kills_the_repl_ends_the_search_with_a_reason():
    crash = {"match": r"^import Mathlib$", "die": True}
    async with scripted_verifier([crash]) as v:
        out = await BestFirstSearch(ScriptedGenerator(model), v).aprove(P, BestFirstBudget(expansions=2))
    assert not out.proved and out.meta["tree"] == []
    assert out.meta["stopped"].startswith("no tactic session")
