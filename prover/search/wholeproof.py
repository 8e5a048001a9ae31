"""Whole-proof sampling (pass@k): DeepSeek-Prover-V1.5's ``Sampling`` algorithm.

One prompt per problem, ``budget.samples`` completions in one generator call, every
candidate verified in one batch. The simplest strategy and the baseline every other
one is measured against.
"""

from __future__ import annotations

import time

from prover.lean.verifier import Verifier
from prover.llm.context import fit_sampling
from prover.llm.generator import Generator, SamplingParams, prompt_text
from prover.llm.sampling import with_stops
from prover.records import Outcome, Problem
from prover.search.extract import Extraction, extract, make_candidate
from prover.search.prompts import check_style, ends_inside_code, prover_prompt, stop_strings
from prover.search.strategy import Strategy, WholeProofBudget
from prover.search.verdict_cache import VerdictCache


class WholeProofSampling(Strategy):
    """Sample ``budget.samples`` whole proofs and verify them all."""

    name = "wholeproof"
    budget_type = WholeProofBudget

    def __init__(
        self,
        generator: Generator,
        verifier: Verifier,
        sampling: SamplingParams | None = None,
        prompt_style: str = "tiny",
        cot: bool = False,
    ) -> None:
        self.generator = generator
        self.verifier = verifier
        self.sampling = sampling or SamplingParams()
        self.prompt_style = check_style(prompt_style)
        self.cot = cot

    async def aprove(self, problem: Problem, budget: WholeProofBudget) -> Outcome:
        self.check_budget(budget)
        prompt = prover_prompt(problem, self.prompt_style, self.cot)
        continuation = ends_inside_code(prompt)
        sampling = with_stops(self.sampling, stop_strings(self.prompt_style, continuation), n=budget.samples)
        sampling = await fit_sampling(self.generator, [prompt], sampling, what="prover.sampling.max_tokens")
        t0 = time.perf_counter()
        [completions] = await self.generator.agenerate([prompt], sampling)
        gen_seconds = time.perf_counter() - t0
        per_sample = gen_seconds / max(1, len(completions))
        model = getattr(self.generator, "name", type(self.generator).__name__)
        candidates, extractions = [], []
        by_text: dict[str, Extraction] = {}  # low-temperature samples repeat: extract each distinct text once
        for i, comp in enumerate(completions):
            ex = by_text.get(comp.text)
            if ex is None:
                ex = by_text[comp.text] = extract(comp.text, problem, continuation)
            origin = {"strategy": self.name, "model": model, "sample": i, "round": 0}
            origin.update({"source": ex.source, "finish_reason": comp.finish_reason})
            if comp.logprob is not None:
                origin["logprob"] = comp.logprob
            candidates.append(
                make_candidate(
                    problem,
                    ex,
                    origin,
                    prompt_tokens=comp.prompt_tokens,
                    completion_tokens=comp.completion_tokens,
                    seconds=per_sample,
                )
            )
            extractions.append(ex)
        cache = VerdictCache()
        verdicts = await cache.judge(self.verifier, candidates, extractions)
        return Outcome(
            problem=problem,
            candidates=candidates,
            verdicts=verdicts,
            meta={
                "strategy": self.name,
                "model": model,
                "prompt_style": self.prompt_style,
                "cot": self.cot,
                "samples": len(candidates),
                "prompt": prompt_text(prompt),
                "outputs": [c.text for c in completions],
                "prompt_tokens": completions[0].prompt_tokens if completions else 0,
                "completion_tokens": sum(c.completion_tokens for c in candidates),
                "generate_seconds": gen_seconds,
                "verify_seconds": cache.seconds,
                "lean_calls": cache.lean_calls,
                "proved": any(v.proved for v in verdicts),
            },
        )
