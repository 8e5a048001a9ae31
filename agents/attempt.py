"""One agent turn's product, and the sampling step both agents share.

An :class:`Attempt` ties together what a reader of a run needs: the prompt, the raw
model output, the extracted proof, the candidate sent to Lean, and (once judged) its
verdict, plus the attempt it corrected, so correction chains can be followed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prover.llm.context import fit_sampling
from prover.llm.generator import Completion, Generator, Prompt, SamplingParams, prompt_text
from prover.llm.sampling import with_stops
from prover.records import Candidate, Problem, Verdict
from prover.search.extract import Extraction, extract, make_candidate
from prover.search.prompts import (
    docstring,
    ends_inside_code,
    header_text,
    informal_text,
    statement_by,
    stop_strings,
)


@dataclass
class Attempt:
    agent: str
    round: int
    prompt: Prompt
    output: str
    extraction: Extraction
    candidate: Candidate
    parent: Attempt | None = None
    verdict: Verdict | None = None

    @property
    def proved(self) -> bool:
        return self.verdict is not None and self.verdict.status == "proved"

    def turn(self) -> dict[str, Any]:
        """The record of this turn for ``Outcome.turns``."""
        return {
            "agent": self.agent,
            "round": self.round,
            "prompt": prompt_text(self.prompt),
            "output": self.output,
            "candidate": self.candidate.id,
            "parent": self.parent.candidate.id if self.parent else None,
            "status": self.verdict.status if self.verdict else None,
            "reason": self.verdict.reason if self.verdict else "",
        }


def problem_values(problem: Problem) -> dict[str, str]:
    """Template placeholders every agent prompt may use."""
    return {
        "header": header_text(problem),
        "docstring": docstring(problem),
        "statement": statement_by(problem),
        "informal": informal_text(problem),
        "name": problem.name,
    }


async def sample_attempts(
    generator: Generator,
    sampling: SamplingParams,
    style: str,
    problem: Problem,
    prompts: Sequence[Prompt],
    n: int,
    *,
    agent: str,
    round: int,
    origin: dict[str, Any],
    parents: Sequence[Attempt | None] | None = None,
) -> list[Attempt]:
    """``n`` completions per prompt in one generator call, each turned into an unjudged Attempt."""
    if not prompts:
        return []
    parents = list(parents) if parents is not None else [None] * len(prompts)
    continuation = [ends_inside_code(p) for p in prompts]
    params = with_stops(sampling, stop_strings(style, any(continuation)), n=n)
    what = "prover.corrector_sampling.max_tokens" if agent == "corrector" else "prover.sampling.max_tokens"
    params = await fit_sampling(generator, list(prompts), params, what=what)
    t0 = time.perf_counter()
    rows: list[list[Completion]] = await generator.agenerate(list(prompts), params)
    per = (time.perf_counter() - t0) / max(1, sum(len(r) for r in rows))
    model = getattr(generator, "name", type(generator).__name__)
    out: list[Attempt] = []
    for p, cont, parent, row in zip(prompts, continuation, parents, rows, strict=True):
        for i, comp in enumerate(row):
            ex = extract(comp.text, problem, cont)
            o = dict(origin, agent=agent, model=model, sample=i, round=round)
            o["parent"] = parent.candidate.id if parent else None
            o["source"] = ex.source
            cand = make_candidate(
                problem,
                ex,
                o,
                prompt_tokens=comp.prompt_tokens,
                completion_tokens=comp.completion_tokens,
                seconds=per,
            )
            out.append(Attempt(agent, round, p, comp.text, ex, cand, parent))
    return out
