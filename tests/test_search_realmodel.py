"""Strategies over a real in-process transformers backend (tiny random-init model), so real
completion shapes (stop strings, token counts, log-probs, chat templates) flow through."""

from __future__ import annotations

import math

import pytest

from agents.loop import MALoT
from prover.lean.double_pools import scripted_verifier
from prover.llm.generator import SamplingParams
from prover.records import Problem
from prover.search.bestfirst import BestFirstSearch
from prover.search.strategy import BestFirstBudget, MALoTBudget, WholeProofBudget
from prover.search.wholeproof import WholeProofSampling

P = Problem(
    name="t1",
    header="import Mathlib\n\n",
    formal_statement="theorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 := by",
    informal_statement="Show that a + 1 = 2.",
)


@pytest.fixture(scope="module")
def hf(tmp_path_factory):
    from prover.llm.hf_backend import HFGenerator
    from prover.testing.random_model import build_random_llama

    path = build_random_llama(tmp_path_factory.mktemp("rand") / "m", max_positions=1024)
    return HFGenerator(path, attn_implementation=None, device="cpu", threads=1)


@pytest.mark.parametrize("style", ["tiny", "goedel"])
async def test_whole_proof_sampling_with_a_real_backend(hf, style):
    async with scripted_verifier([]) as v:
        out = await WholeProofSampling(hf, v, SamplingParams(max_tokens=16, seed=0), style).aprove(P, WholeProofBudget(samples=3))
    assert len(out.candidates) == len(out.verdicts) == 3
    for c, vd in zip(out.candidates, out.verdicts, strict=True):
        assert vd.status in ("failed", "rejected"), vd.reason  # random text proves nothing, crashes nothing
        assert c.code.startswith("import Mathlib\n\ntheorem t1 (a : ℕ) (h : a = 1) : a + 1 = 2 := by\n")
        assert "```" not in c.code and c.completion_tokens > 0 and c.prompt_tokens > 0


async def test_malot_and_bestfirst_with_a_real_backend(hf):
    rules = [{"match": r"sorry", "response": {"sorries": [{"goal": "a : ℕ\nh : a = 1\n⊢ a + 1 = 2"}]}}]
    async with scripted_verifier(rules, workers=2) as v:
        m = await MALoT(hf, v, SamplingParams(max_tokens=12, seed=0)).aprove(P, MALoTBudget(samples=2, rounds=1))
        b = await BestFirstSearch(hf, v, SamplingParams(n=3, max_tokens=8, seed=0)).aprove(P, BestFirstBudget(expansions=2))
    assert not m.proved and len(m.turns) == len(m.candidates) >= 2
    assert not b.proved and b.meta["expansions"] >= 1
    for node in b.meta["tree"][1:]:
        assert node["score"] < 0 and math.isfinite(node["score"])  # real log-probs drive the priority
