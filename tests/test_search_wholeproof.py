"""Whole-proof sampling end to end: scripted model, real LeanPool over the scripted REPL double."""

from __future__ import annotations

from prover.lean.double_pools import scripted_verifier
from prover.llm.generator import SamplingParams
from prover.llm.scripted import ScriptedGenerator
from prover.records import Outcome, Problem
from prover.search.extract import NO_PROOF
from prover.search.strategy import WholeProofBudget
from prover.search.wholeproof import WholeProofSampling

P = Problem(
    name="t1",
    header="import Mathlib\n\n",
    formal_statement="theorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 := by",
    informal_statement="Show that a + 1 = 2.",
)
OUTPUTS = [
    "  subst h\n  rfl\n```",  # correct
    "  linarith\n```",  # Lean error (unmatched -> unsolved goals)
    "```\nI give up.",  # no proof
    "  subst h\n  rfl\n```",  # duplicate of sample 0
]
RULES = [{"match": r"subst h\n  rfl", "response": {}}]


async def test_samples_are_verified_in_one_batch_with_every_candidate_recorded():
    gen = ScriptedGenerator([("Complete the following", OUTPUTS)])
    async with scripted_verifier(RULES) as v:
        strat = WholeProofSampling(gen, v, SamplingParams(temperature=1.0, max_tokens=64))
        out = await strat.aprove(P, WholeProofBudget(samples=4))
    assert [vd.status for vd in out.verdicts] == ["proved", "failed", "failed", "proved"]
    assert out.verdicts[2].reason == NO_PROOF
    assert "unsolved goals" in out.verdicts[1].messages[0].data
    assert out.proved and out.first_proof is out.candidates[0]
    # one generator call, n = budget.samples, stop at the closing fence
    [(prompts, sampling)] = gen.calls
    assert len(prompts) == 1 and sampling.n == 4 and "```" in sampling.stop
    assert [c.origin.sample for c in out.candidates] == [0, 1, 2, 3]
    assert all(c.origin.strategy == "wholeproof" and c.origin.round == 0 for c in out.candidates)
    assert all(c.statement == P.formal_statement for c in out.candidates)
    assert out.meta["lean_calls"] == 2  # duplicate and no-proof samples never reach Lean
    assert out.meta["completion_tokens"] == sum(c.completion_tokens for c in out.candidates) > 0
    again = Outcome.from_dict(out.to_dict())
    assert [vd.status for vd in again.verdicts] == [vd.status for vd in out.verdicts]


async def test_nothing_proved_and_sorry_is_not_proved():
    rules = [
        {
            "match": r"sorry",
            "response": {
                "messages": [
                    {"severity": "warning", "pos": {"line": 1, "column": 8}, "endPos": None,
                     "data": "declaration uses 'sorry'"}
                ],
                "sorries": [{"goal": "⊢ a + 1 = 2", "pos": {"line": 2, "column": 2}}],
            },
        }
    ]
    gen = ScriptedGenerator([("Complete", "  sorry\n```")])
    async with scripted_verifier(rules) as v:
        out = await WholeProofSampling(gen, v, SamplingParams()).aprove(P, WholeProofBudget(samples=2))
    assert not out.proved and {vd.status for vd in out.verdicts} == {"failed"}
