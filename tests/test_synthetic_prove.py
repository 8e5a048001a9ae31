"""Stages 3 and 4: contradictory hypotheses are caught; a proof of the negation stops the proof search."""

from __future__ import annotations

import asyncio

import pytest

from prover.lean.double_pools import scripted_verifier
from prover.llm.scripted import ScriptedGenerator
from prover.records import Candidate, Outcome, Problem, Verdict
from prover.search.strategy import Budget, Strategy
from prover.search.wholeproof import WholeProofSampling
from prover.synthetic.prove import ConsistencyProbe, NegationRace, proof_text, race, split_budget

HEADER = "import Mathlib\n\n"


class GatedStrategy(Strategy):
    """A fake strategy: problems named in ``winners`` are proved after ``delay``; the others block
    for a long time, so only cancellation can end their attempt quickly."""

    def __init__(self, winners: set[str], delay: float = 0.01, block: float = 30.0) -> None:
        self.winners = winners
        self.delay = delay
        self.block = block
        self.started: list[str] = []

    async def aprove(self, problem: Problem, budget: Budget) -> Outcome:
        self.started.append(problem.name)
        win = problem.name in self.winners
        await asyncio.sleep(self.delay if win else self.block)
        code = problem.header + problem.formal_statement + "  trivial"
        cands = [Candidate(problem=problem.name, code=code)]
        return Outcome(problem=problem, candidates=cands, verdicts=[Verdict("proved" if win else "failed")])


def _problems(stmt: str, neg: str) -> tuple[Problem, Problem]:
    return Problem("t", stmt, HEADER), Problem("t_neg", neg, HEADER)


def test_proved_negation_cancels_the_attempt_in_flight_on_the_statement():
    strat = GatedStrategy({"t_neg"})
    pos, neg = _problems("theorem t : 2 + 2 = 5 := by\n", "theorem t_neg : ¬ (2 + 2 = 5) := by\n")

    async def go():
        return await asyncio.wait_for(race(strat, pos, neg, samples=8, chunk=2), timeout=10)

    result, p, n = asyncio.run(go())
    assert result == "disproved"
    assert n.proved and n.proof == "  trivial\n" and not n.cancelled
    assert p.cancelled and not p.proved
    assert p.attempts_started == 1 and p.attempts_finished == 0  # 4 attempts allowed, 1 started, cut short
    assert strat.started.count("t") == 1


def test_proved_statement_cancels_the_negation():
    strat = GatedStrategy({"t"})
    pos, neg = _problems("theorem t : 2 + 2 = 4 := by\n", "theorem t_neg : ¬ (2 + 2 = 4) := by\n")
    result, p, n = asyncio.run(race(strat, pos, neg, samples=4, chunk=1))
    assert result == "proved" and p.proved and n.cancelled and n.attempts_finished == 0


def test_open_when_neither_side_proves_spends_the_whole_budget():
    strat = GatedStrategy(set(), block=0.0)
    pos, neg = _problems("theorem t : x := by\n", "theorem t_neg : ¬ (x) := by\n")
    result, p, n = asyncio.run(race(strat, pos, neg, samples=5, chunk=2))
    assert result == "open"
    assert p.attempts_finished == n.attempts_finished == 3  # ceil(5 / 2)
    assert not p.cancelled and not n.cancelled


def test_split_budget():
    assert split_budget(16, 4) == (4, 4)
    assert split_budget(5, 8) == (1, 5)
    with pytest.raises(ValueError):
        split_budget(0, 1)


def _prover_script(proofs: dict[str, str]):
    """Scripted prover: answers a whole-proof prompt by the theorem name it ends with."""

    def script(text: str, sample: int, call: int) -> str:
        tail = text.rsplit("```lean4", 1)[-1]
        for name, proof in proofs.items():
            if f"theorem {name} " in tail:
                return proof + "\n```"
        return "  sorry\n```"

    return script


def test_disproved_statement_stops_its_proof_search_with_real_strategy_and_pool():
    """Through WholeProofSampling and a LeanPool over the scripted REPL: the negation is proved at
    once, so the statement side gets at most the attempt already in flight, not its 8 attempts."""
    gen = ScriptedGenerator(_prover_script({"f_neg": "  decide", "f": "  norm_num"}))
    ver = scripted_verifier([{"match": r"¬ \(\(2 : ℕ\) \+ 2 = 5\) := by\s+decide", "response": {}}])
    strat = WholeProofSampling(gen, ver, prompt_style="tiny")
    item = {"id": "f", "name": "f", "header": HEADER, "statement": "theorem f : (2 : ℕ) + 2 = 5 := by\n"}

    async def go():
        try:
            return await NegationRace(strat, samples=16, chunk=2).aprove(item)
        finally:
            await ver.aclose()

    rec = asyncio.run(go())
    assert rec["result"] == "disproved"
    assert rec["negation"] == "theorem f_neg : ¬ ((2 : ℕ) + 2 = 5) := by\n"
    assert rec["negation_proof"] == "  decide\n" and rec["proof"] is None
    assert rec["positive"]["attempts_started"] <= 2 < 8
    positive_prompts = [t for texts, _ in gen.calls for t in texts if "theorem f " in t.rsplit("```lean4", 1)[-1]]
    assert len(positive_prompts) <= 2


def test_contradictory_hypotheses_are_caught_and_consistent_ones_kept():
    gen = ScriptedGenerator(_prover_script({"v_consistency": "  linarith", "c_consistency": "  linarith"}))
    ver = scripted_verifier([{"match": r"\(h₀ : x > 2\) \(h₁ : x < 1\) : False := by\s+linarith", "response": {}}])
    strat = WholeProofSampling(gen, ver, prompt_style="tiny")
    items = [
        {"id": "v", "name": "v", "header": HEADER,
         "statement": "theorem v (x : ℝ) (h₀ : x > 2) (h₁ : x < 1) : x = 5 := by\n"},
        {"id": "c", "name": "c", "header": HEADER,
         "statement": "theorem c (x : ℝ) (h₀ : x > 2) (h₁ : x < 3) : x ^ 2 > 4 := by\n"},
        {"id": "bad", "name": "bad", "header": HEADER, "statement": "def bad : ℕ := 1"},
        {"id": "n", "name": "n", "header": HEADER, "statement": "theorem n : (2 : ℕ) + 2 = 4 := by\n"},
    ]

    async def go():
        try:
            return await ConsistencyProbe(strat, samples=2, chunk=2).abatch(items)
        finally:
            await ver.aclose()

    recs = {r["id"]: r for r in asyncio.run(go())}
    assert recs["v"]["consistent"] is False and recs["v"]["proof_of_false"] == "  linarith\n"
    assert recs["c"]["consistent"] is True and recs["c"]["proof_of_false"] is None
    assert recs["bad"]["consistent"] is False and "not a theorem" in recs["bad"]["error"]
    # no hypotheses, nothing to contradict: no search is spent on it
    assert recs["n"]["consistent"] is True and recs["n"]["skipped"] and recs["n"]["attempts"] == []
    assert not any("n_consistency" in t for texts, _ in gen.calls for t in texts)


def test_proof_text_is_what_follows_the_statement():
    stmt = "theorem t (n : ℕ) : n + 0 = n := by\n"
    code = HEADER + "lemma helper : True := trivial\n\n" + stmt + "  simp\n  done\n"
    assert proof_text(Candidate(problem="t", code=code), stmt) == "  simp\n  done\n"


def test_a_strategy_error_on_one_side_stops_the_other_and_propagates():
    class Boom(GatedStrategy):
        async def aprove(self, problem, budget):
            if problem.name == "t_neg":
                raise RuntimeError("generator died")
            return await super().aprove(problem, budget)

    strat = Boom(set())
    pos, neg = _problems("theorem t : x := by\n", "theorem t_neg : ¬ (x) := by\n")

    async def go():
        with pytest.raises(RuntimeError, match="generator died"):
            await asyncio.wait_for(race(strat, pos, neg, samples=4, chunk=1), timeout=10)
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert others == []  # the blocked statement side was cancelled, not leaked

    asyncio.run(go())
