"""Stages 3 and 4: the hypothesis-consistency probe, and the statement-versus-negation race.

Stage 3 (DeepSeek-Prover V1's hypothesis rejection): try to prove ``False`` from the statement's
hypotheses; if that succeeds the statement is vacuous and is dropped.

Stage 4: prove the statement and its negation at the same time and stop at whichever succeeds
first, so little compute goes to false statements and disproofs become training data too. Each
side spends its budget in *attempts* (one ``strategy.aprove`` call of ``chunk`` samples each);
between attempts a side checks a shared stop flag, and the attempt in flight on the losing side is
cancelled as soon as the other side wins. Every attempt started, finished or cancelled is counted
in the record, which is what the tests check.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from prover.records import Candidate, Outcome, Problem
from prover.search.strategy import Budget, Strategy
from prover.synthetic.statements import (
    StatementError,
    consistency_statement,
    negation_statement,
    parse_theorem,
)


def proof_text(candidate: Candidate, statement: str) -> str:
    """The proof part of a candidate: what follows the statement in the code sent to Lean.

    ``statement`` ends in ``:= by``; the returned text is what DeepSeek-Prover's datasets call
    ``formal_proof`` (``formal_statement + formal_proof`` is the whole theorem).
    """
    code = candidate.code
    stmt = statement.rstrip()
    i = code.find(stmt)
    if i >= 0:
        return code[i + len(stmt) :].lstrip(" ").lstrip("\n").rstrip() + "\n"
    # fall back to whitespace-insensitive search on the ":= by" boundary
    j = code.rfind(":= by")
    return (code[j + len(":= by") :].lstrip("\n").rstrip() + "\n") if j >= 0 else code.rstrip() + "\n"


def _attempt_summary(outcome: Outcome) -> dict[str, Any]:
    statuses = [v.status for v in outcome.verdicts]
    return {"samples": len(outcome.candidates), "statuses": statuses, "proved": outcome.proved}


@dataclass
class SideResult:
    """What one side (statement or negation) of the race did."""

    proved: bool = False
    attempts_started: int = 0
    attempts_finished: int = 0
    cancelled: bool = False
    proof: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)


async def _run_side(
    strategy: Strategy,
    problem: Problem,
    budget: Budget,
    max_attempts: int,
    stop: asyncio.Event,
    result: SideResult,
) -> SideResult:
    for _ in range(max_attempts):
        if stop.is_set():
            break
        result.attempts_started += 1
        outcome = await strategy.aprove(problem, budget)
        result.attempts_finished += 1
        result.attempts.append(_attempt_summary(outcome))
        first = outcome.first_proof
        if first is not None:
            result.proved = True
            result.proof = proof_text(first, problem.formal_statement)
            stop.set()
            break
    return result


def split_budget(samples: int, chunk: int) -> tuple[int, int]:
    """``(attempts, samples per attempt)`` so that attempts × chunk covers ``samples``."""
    if samples < 1 or chunk < 1:
        raise ValueError(f"prove budget: samples ({samples}) and chunk ({chunk}) must be >= 1")
    chunk = min(chunk, samples)
    return -(-samples // chunk), chunk


def chunk_budget(strategy: Strategy, base: Budget | None, chunk: int) -> Budget:
    """The budget of one attempt: the strategy's budget (its default when ``base`` is None) with ``chunk``
    samples, for strategies that sample (whole-proof, MA-LoT); a search strategy's budget (best-first:
    expansions) is one search per attempt, as configured."""
    budget = base if base is not None else strategy.budget_type()
    if "samples" in {f.name for f in dataclasses.fields(budget)}:
        return dataclasses.replace(budget, samples=chunk)
    return budget


async def race(
    strategy: Strategy,
    statement: Problem,
    negation: Problem,
    *,
    samples: int,
    chunk: int,
    base_budget: Budget | None = None,
) -> tuple[str, SideResult, SideResult]:
    """Prove ``statement`` and ``negation`` concurrently; the first proof wins and stops the other side.

    Returns ``(result, positive, negative)`` with result ``proved``, ``disproved`` or ``open``.
    """
    attempts, chunk = split_budget(samples, chunk)
    budget = chunk_budget(strategy, base_budget, chunk)
    stop = asyncio.Event()
    pos, neg = SideResult(), SideResult()
    tasks = {
        asyncio.create_task(_run_side(strategy, statement, budget, attempts, stop, pos)): pos,
        asyncio.create_task(_run_side(strategy, negation, budget, attempts, stop, neg)): neg,
    }
    pending = set(tasks)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                t.result()  # re-raise a strategy error
            if stop.is_set():
                for t in pending:
                    t.cancel()
                    tasks[t].cancelled = True
                await asyncio.gather(*pending, return_exceptions=True)
                pending = set()
    finally:  # an error on one side (or our own cancellation) must not leave the other running
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    if pos.proved:
        return "proved", pos, neg
    if neg.proved:
        return "disproved", pos, neg
    return "open", pos, neg


def _side_dict(side: SideResult) -> dict[str, Any]:
    return dataclasses.asdict(side)


class ConsistencyProbe:
    """Stage 3: tries to prove ``False`` from each statement's hypotheses."""

    def __init__(self, strategy: Strategy, *, samples: int, chunk: int, base_budget: Budget | None = None):
        self.strategy = strategy
        self.samples = samples
        self.chunk = chunk
        self.base_budget = base_budget

    async def acheck(self, item: dict[str, Any]) -> dict[str, Any]:
        try:
            stmt, name = consistency_statement(item["statement"], fallback_name=item["name"])
            has_binders = bool(parse_theorem(item["statement"]).binders)
        except StatementError as e:
            return {"id": item["id"], "consistent": False, "error": str(e), "statement": None}
        if not has_binders:  # nothing to be contradictory: no search spent
            return {"id": item["id"], "consistent": True, "statement": stmt, "proof_of_false": None,
                    "attempts": [], "skipped": "no hypotheses"}
        problem = Problem(name=name, formal_statement=stmt, header=item["header"], source="synth-consistency")
        attempts, chunk = split_budget(self.samples, self.chunk)
        budget = chunk_budget(self.strategy, self.base_budget, chunk)
        side = await _run_side(self.strategy, problem, budget, attempts, asyncio.Event(), SideResult())
        return {
            "id": item["id"],
            "consistent": not side.proved,
            "statement": stmt,
            "proof_of_false": side.proof,
            "attempts": side.attempts,
        }

    async def abatch(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(self.acheck(it) for it in items)))


class NegationRace:
    """Stage 4: races each statement against its negation."""

    def __init__(self, strategy: Strategy, *, samples: int, chunk: int, base_budget: Budget | None = None):
        self.strategy = strategy
        self.samples = samples
        self.chunk = chunk
        self.base_budget = base_budget

    async def aprove(self, item: dict[str, Any]) -> dict[str, Any]:
        try:
            neg_stmt, neg_name = negation_statement(item["statement"], fallback_name=item["name"])
        except StatementError as e:
            return {"id": item["id"], "result": "error", "error": str(e)}
        header = item["header"]
        pos_problem = Problem(
            name=item["name"],
            formal_statement=item["statement"],
            header=header,
            informal_statement=item.get("informal"),
            source="synth",
        )
        neg_problem = Problem(name=neg_name, formal_statement=neg_stmt, header=header, source="synth-negation")
        result, pos, neg = await race(
            self.strategy,
            pos_problem,
            neg_problem,
            samples=self.samples,
            chunk=self.chunk,
            base_budget=self.base_budget,
        )
        return {
            "id": item["id"],
            "result": result,
            "statement": item["statement"],
            "negation": neg_stmt,
            "proof": pos.proof,
            "negation_proof": neg.proof,
            "positive": _side_dict(pos),
            "negative": _side_dict(neg),
        }

    async def abatch(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(self.aprove(it) for it in items)))
