"""MA-LoT's prover agent (arXiv 2503.03205): long natural-language reasoning, then a whole proof.

The prompt comes from ``agents/prompts/prover_{style}.md``. For chat-capable styles
(``goedel``, ``kimina``) and the LoT-style ``deepseek`` template the model reasons in
prose before writing a complete Lean 4 block; the ``tiny`` model cannot reason in
prose, so its template is the tiny model's whole-proof prompt. Which shape the output
has is read off the prompt (see :func:`prover.search.prompts.ends_inside_code`).
"""

from __future__ import annotations

from typing import Any

from agents.attempt import Attempt, problem_values, sample_attempts
from agents.templates import render
from prover.llm.generator import Generator, Prompt, SamplingParams
from prover.records import Problem
from prover.search.prompts import check_style


class ProverAgent:
    role = "prover"

    def __init__(self, generator: Generator, sampling: SamplingParams, prompt_style: str = "tiny") -> None:
        self.generator = generator
        self.sampling = sampling
        self.style = check_style(prompt_style)

    def prompt(self, problem: Problem) -> Prompt:
        return render("prover", self.style, **problem_values(problem))

    async def propose(self, problem: Problem, n: int, origin: dict[str, Any] | None = None) -> list[Attempt]:
        """``n`` whole-proof attempts (round 0), not yet judged."""
        return await sample_attempts(
            self.generator,
            self.sampling,
            self.style,
            problem,
            [self.prompt(problem)],
            n,
            agent=self.role,
            round=0,
            origin=origin or {},
        )
