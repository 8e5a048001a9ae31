"""MA-LoT's corrector agent: reads a failed proof and Lean's feedback, writes a revised proof.

Its input (``agents/prompts/corrector_{style}.md``): the failed attempt's code as Lean
saw it (``$code``) and its proof body (``$proof``); every error with its position
relative to that code and the source line it points at (``$errors``); the first error
line alone (``$first_error``, the tiny model's format); and the goals at the failing
point (``$goals``). Goals are taken from the text of Lean's ``unsolved goals`` errors
and, when the verifier reports sorries, from their ``goal`` field
(:mod:`agents.feedback`); no tactic-mode proof states are replayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents.attempt import Attempt, problem_values, sample_attempts
from agents.feedback import first_error_line, format_errors, format_goals
from agents.templates import render
from prover.llm.generator import Generator, Prompt, SamplingParams
from prover.records import Problem
from prover.search.prompts import check_style


class CorrectorAgent:
    role = "corrector"

    def __init__(self, generator: Generator, sampling: SamplingParams, prompt_style: str = "tiny") -> None:
        self.generator = generator
        self.sampling = sampling
        self.style = check_style(prompt_style)

    def prompt(self, problem: Problem, failed: Attempt) -> Prompt:
        if failed.verdict is None or failed.extraction.proof is None:
            raise ValueError("the corrector needs a judged attempt that contains a proof")
        values = problem_values(problem)
        values.update(
            proof=failed.extraction.proof,
            code=failed.candidate.code,
            errors=format_errors(failed.verdict, failed.candidate.code),
            first_error=first_error_line(failed.verdict),
            goals=format_goals(failed.verdict),
        )
        return render("corrector", self.style, **values)

    async def correct(
        self,
        problem: Problem,
        failed: Sequence[Attempt],
        n: int,
        round: int,
        origin: dict[str, Any] | None = None,
    ) -> list[Attempt]:
        """``n`` corrections of each failed attempt, in one generator call; not yet judged."""
        prompts = [self.prompt(problem, a) for a in failed]
        return await sample_attempts(
            self.generator,
            self.sampling,
            self.style,
            problem,
            prompts,
            n,
            agent=self.role,
            round=round,
            origin=origin or {},
            parents=list(failed),
        )
