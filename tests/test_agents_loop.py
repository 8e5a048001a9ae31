"""The MA-LoT loop with a scripted model and the scripted REPL double behind a real LeanPool."""

from __future__ import annotations

from agents.loop import MALoT
from prover.lean.double_pools import scripted_verifier
from prover.llm.generator import SamplingParams
from prover.llm.scripted import ScriptedGenerator
from prover.records import Problem
from prover.search.strategy import MALoTBudget

P = Problem(
    name="t1",
    header="import Mathlib\n\n",
    formal_statement="theorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 := by",
    informal_statement="Show that a + 1 = 2.",
)
PROVED = {"match": r"subst h\n  rfl", "response": {}}


def error_rule(tactic: str, text: str) -> dict:
    """A REPL reply with one error on the first tactic line (line 2 of the body Lean sees)."""
    return {
        "match": tactic,
        "response": {"messages": [{"severity": "error", "pos": {"line": 2, "column": 2}, "endPos": None, "data": text}]},
    }


async def test_failed_proof_is_corrected_and_proved():
    gen = ScriptedGenerator([("Fix the following", "  subst h\n  rfl\n```"), ("Complete the following", "  linarith\n```")])
    rules = [PROVED, error_rule("linarith", "linarith failed to find a contradiction\na : ℕ\n⊢ False")]
    async with scripted_verifier(rules) as v:
        out = await MALoT(gen, v, SamplingParams(max_tokens=64)).aprove(P, MALoTBudget(samples=2, rounds=3, corrections=1))
    assert out.proved and out.meta["proved_round"] == 1 and out.meta["rounds_run"] == 1
    assert len(gen.calls) == 2  # stopped as soon as the correction was proved
    prover_turns = [t for t in out.turns if t["agent"] == "prover"]
    [fix] = [t for t in out.turns if t["agent"] == "corrector"]  # identical failures corrected once
    assert len(prover_turns) == 2 and all(t["status"] == "failed" for t in prover_turns)
    assert fix["status"] == "proved" and fix["parent"] == prover_turns[0]["candidate"]
    assert "  linarith\n```\n\nLean reported:\nlinarith failed to find a contradiction\n\n" in fix["prompt"]
    assert out.verdicts[0].messages[0].pos.line == 4  # body line 2, shifted past the 2 header lines
    assert [c.origin.agent for c in out.candidates] == ["prover", "prover", "corrector"]


async def test_never_succeeds_uses_the_whole_budget():
    outputs = iter(range(1000))
    gen = ScriptedGenerator(lambda text, i, call: f"  tac_{next(outputs)}\n```")
    async with scripted_verifier([]) as v:
        out = await MALoT(gen, v, SamplingParams()).aprove(P, MALoTBudget(samples=2, rounds=2, corrections=2))
    assert not out.proved and out.meta["rounds_run"] == 2
    rounds = [t["round"] for t in out.turns]
    assert rounds.count(0) == 2 and rounds.count(1) == 4 and rounds.count(2) == 8
    assert all(vd.status == "failed" for vd in out.verdicts) and len(out.verdicts) == len(out.candidates) == 14
    assert [len(prompts) for prompts, _ in gen.calls] == [1, 2, 4]
    assert all(s.n == 2 for _, s in gen.calls[1:]) and gen.calls[0][1].n == 2


async def test_rounds_chain_on_the_previous_rounds_attempt():
    gen = ScriptedGenerator(lambda text, i, call: f"  attempt_round_{call}\n```")
    async with scripted_verifier([]) as v:
        out = await MALoT(gen, v, SamplingParams()).aprove(P, MALoTBudget(samples=1, rounds=2, corrections=1))
    round2_prompt = gen.calls[2][0][0]
    assert "attempt_round_1" in round2_prompt and "attempt_round_0" not in round2_prompt
    by_round = {t["round"]: t for t in out.turns}
    assert by_round[2]["parent"] == by_round[1]["candidate"] and by_round[1]["parent"] == by_round[0]["candidate"]


async def test_sorry_warning_alone_is_not_proved():
    sorry_reply = {
        "match": r"exact\?",
        "response": {
            "messages": [{"severity": "warning", "pos": {"line": 1, "column": 8}, "endPos": None,
                          "data": "declaration uses 'sorry'"}]
        },
    }
    gen = ScriptedGenerator([("Fix the following", "  exact?\n```"), ("Complete the following", "  exact?\n```")])
    async with scripted_verifier([sorry_reply]) as v:
        out = await MALoT(gen, v, SamplingParams()).aprove(P, MALoTBudget(samples=1, rounds=1, corrections=1))
    assert not out.proved and [vd.status for vd in out.verdicts] == ["failed", "failed"]
    assert "Lean reported:\ndeclaration uses 'sorry'\n" in out.turns[1]["prompt"]


async def test_output_without_proof_is_not_sent_to_lean_or_corrected():
    gen = ScriptedGenerator([("Complete the following", "```\nI cannot do this.")])
    async with scripted_verifier([]) as v:
        out = await MALoT(gen, v, SamplingParams()).aprove(P, MALoTBudget(samples=2, rounds=2, corrections=1))
    assert out.meta["lean_calls"] == 0 and len(gen.calls) == 1
    assert {vd.reason for vd in out.verdicts} == {"no proof in model output"}
