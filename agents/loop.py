"""The MA-LoT loop: prover samples, then chained correction rounds until a proof is ``proved``.

Round 0: the prover writes ``budget.samples`` whole proofs, judged in one batch.
Rounds 1..``budget.rounds``: the corrector writes ``budget.corrections`` revisions of
every failed attempt *of the previous round* (so corrections chain: round 2 revises
round 1's revisions, not round 0's drafts, unlike the upstream code, which re-corrects
the first round's failures). The loop stops as soon as a verdict's status is
``proved`` (no error, no sorry, standard axioms), never on mere absence of errors.
Attempts with no extractable proof are not corrected (there is nothing to revise), and
identical failed proofs are corrected once (their prompts would be identical);
when a round leaves nothing to correct, the loop ends early.

Every turn (agent, round, prompt, output, candidate id, parent, verdict status and
reason) lands in ``Outcome.turns``, so a run can be read afterwards.
"""

from __future__ import annotations

import time

from agents.attempt import Attempt
from agents.corrector_agent import CorrectorAgent
from agents.prover_agent import ProverAgent
from prover.lean.verifier import Verifier
from prover.llm.generator import Generator, SamplingParams
from prover.records import Outcome, Problem
from prover.search.prompts import check_style
from prover.search.strategy import MALoTBudget, Strategy
from prover.search.verdict_cache import VerdictCache


class MALoT(Strategy):
    """Prover agent plus corrector agent over one generator (MA-LoT's "model collaboration")."""

    name = "malot"
    budget_type = MALoTBudget

    def __init__(
        self,
        generator: Generator,
        verifier: Verifier,
        sampling: SamplingParams | None = None,
        prompt_style: str = "tiny",
        corrector_sampling: SamplingParams | None = None,
        corrector_generator: Generator | None = None,
    ) -> None:
        self.verifier = verifier
        self.prompt_style = check_style(prompt_style)
        prover_sampling = sampling or SamplingParams()
        self.prover = ProverAgent(generator, prover_sampling, prompt_style)
        self.corrector = CorrectorAgent(
            corrector_generator or generator, corrector_sampling or prover_sampling, prompt_style
        )

    async def _judge(self, cache: VerdictCache, attempts: list[Attempt]) -> None:
        verdicts = await cache.judge(
            self.verifier, [a.candidate for a in attempts], [a.extraction for a in attempts]
        )
        for a, v in zip(attempts, verdicts, strict=True):
            a.verdict = v

    async def aprove(self, problem: Problem, budget: MALoTBudget) -> Outcome:
        self.check_budget(budget)
        cache = VerdictCache()
        origin = {"strategy": self.name}
        t0 = time.perf_counter()
        attempts = await self.prover.propose(problem, budget.samples, origin)
        await self._judge(cache, attempts)
        history = list(attempts)
        rounds_run = 0
        frontier = attempts
        for r in range(1, budget.rounds + 1):
            if any(a.proved for a in frontier):
                break
            failed, seen = [], set()
            for a in frontier:  # identical failed proofs would get identical prompts: correct once
                if a.extraction.ok and a.candidate.code not in seen:
                    seen.add(a.candidate.code)
                    failed.append(a)
            if not failed or budget.corrections < 1:
                break
            frontier = await self.corrector.correct(problem, failed, budget.corrections, r, origin)
            await self._judge(cache, frontier)
            history.extend(frontier)
            rounds_run = r
        proved = any(a.proved for a in history)
        return Outcome(
            problem=problem,
            candidates=[a.candidate for a in history],
            verdicts=[a.verdict for a in history if a.verdict is not None],
            turns=[a.turn() for a in history],
            meta={
                "strategy": self.name,
                "model": getattr(self.prover.generator, "name", ""),
                "prompt_style": self.prompt_style,
                "rounds_run": rounds_run,
                "attempts": len(history),
                "proved": proved,
                "proved_round": next((a.round for a in history if a.proved), None),
                "prompt_tokens": sum(a.candidate.prompt_tokens for a in history),
                "completion_tokens": sum(a.candidate.completion_tokens for a in history),
                "verify_seconds": cache.seconds,
                "lean_calls": cache.lean_calls,
                "seconds": time.perf_counter() - t0,
            },
        )
