"""What a report says about what did not work: the failure section and the verifier banner.

Why a section of its own: a pass@k table says how many problems were proved, not why the others
were not. A user reading a report needs the unproved problems with their best attempt (the code
and Lean's first error), the Lean errors grouped by kind with counts (unsolved goals, type
mismatch, unknown identifier, timeout, refused by policy...), and, for strategies with correction
rounds (MA-LoT), how many problems each round added. The banner says up front whether the
verdicts came from real Lean (and which pins) or from a test double, whose verdicts mean nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from prover.records import Candidate, Outcome, Verdict

#: (kind, pattern on the first error message), tried in order; the first match names the kind.
ERROR_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("unsolved goals", r"unsolved goals"),
        ("type mismatch", r"type mismatch|application type mismatch|failed to synthesize"),
        ("unknown identifier", r"unknown (identifier|constant|declaration|namespace)|unknown tactic"),
        ("syntax error", r"unexpected token|expected (term|command|':='|'by')|unterminated"),
        ("tactic failed", r"failed|made no progress|could not|did not|no goals|not applicable|omega"),
        ("sorry", r"declaration uses 'sorry'"),
        ("disallowed axiom", r"axiom"),
    )
)

#: The order kinds are listed in when counts tie (the most informative first).
KIND_ORDER = ("unsolved goals", "type mismatch", "unknown identifier", "syntax error", "tactic failed", "sorry",
              "disallowed axiom", "other Lean error", "timeout", "refused by policy", "crashed",
              "no proof in model output", "header error")


def error_kind(verdict: Verdict) -> str | None:
    """The kind of failure a verdict records (None for a proof)."""
    if verdict.proved:
        return None
    if verdict.status == "timeout":
        return "timeout"
    if verdict.status == "rejected":
        return "refused by policy"
    if verdict.status == "crashed":
        return "crashed"
    reason = verdict.reason or ""
    if reason.startswith("no proof in model output"):
        return "no proof in model output"
    if reason.startswith("header error"):
        return "header error"
    errors = verdict.errors
    text = errors[0].data if errors else reason
    for kind, pattern in ERROR_KINDS:
        if pattern.search(text):
            return kind
    return "other Lean error" if errors else "sorry" if verdict.sorries else "other Lean error"


def _first_error(verdict: Verdict) -> str:
    errors = verdict.errors
    if errors:
        m = errors[0]
        where = f"{m.pos.line}:{m.pos.column}: " if m.pos else ""
        return where + (m.data.strip().splitlines()[0] if m.data.strip() else "")
    return verdict.reason


def _attempt_rank(verdict: Verdict) -> tuple[int, int]:
    """Lower is better: Lean judged it with few errors > sorry > timeout > refused > no proof."""
    kind = error_kind(verdict) or ""
    tier = {"no proof in model output": 5, "refused by policy": 4, "crashed": 4, "header error": 4,
            "timeout": 3}.get(kind, 1 if verdict.errors else 2)
    return tier, len(verdict.errors)


@dataclass
class Unproved:
    """An unproved problem with its best attempt."""

    name: str
    split: str
    category: str
    attempts: int
    kind: str
    error: str
    code: str
    round: int


def best_attempt(outcome: Outcome) -> tuple[Candidate, Verdict] | None:
    """The attempt that came closest: judged by Lean with the fewest errors, later rounds first on ties."""
    pairs = list(zip(outcome.candidates, outcome.verdicts, strict=False))
    if not pairs:
        return None
    return min(pairs, key=lambda cv: (*_attempt_rank(cv[1]), -cv[0].origin.round))


def unproved(outcomes: list[Outcome]) -> list[Unproved]:
    """Every unproved problem with its best attempt, in split then name order."""
    out = []
    for o in sorted(outcomes, key=lambda o: (o.problem.split, o.problem.name)):
        if o.proved:
            continue
        best = best_attempt(o)
        if best is None:
            out.append(Unproved(o.problem.name, o.problem.split, o.problem.source, 0, "no attempt", "", "", 0))
            continue
        c, v = best
        out.append(Unproved(o.problem.name, o.problem.split, o.problem.source, len(o.candidates),
                            error_kind(v) or "", _first_error(v), c.code, c.origin.round))
    return out


def error_counts(outcomes: list[Outcome]) -> list[tuple[str, int, int]]:
    """``(kind, failed attempts, problems)`` over every failed attempt, most common first."""
    attempts: Counter[str] = Counter()
    problems: dict[str, set[str]] = {}
    for o in outcomes:
        for v in o.verdicts:
            kind = error_kind(v)
            if kind:
                attempts[kind] += 1
                problems.setdefault(kind, set()).add(o.problem.name)
    order = {k: i for i, k in enumerate(KIND_ORDER)}
    return sorted(((k, n, len(problems[k])) for k, n in attempts.items()),
                  key=lambda row: (-row[1], order.get(row[0], len(order))))


def proofs_per_round(outcomes: list[Outcome]) -> list[tuple[int, int, int]]:
    """``(round, problems first proved in it, cumulative)`` for every round attempted; round 0 is the
    first samples, 1.. the corrections (a round that added nothing is listed with 0)."""
    firsts = Counter(o.first_proof.origin.round for o in outcomes
                     if o.proved and o.first_proof is not None)
    last = max([*firsts, *(c.origin.round for o in outcomes for c in o.candidates)], default=-1)
    rows, total = [], 0
    for r in range(last + 1):
        total += firsts.get(r, 0)
        rows.append((r, firsts.get(r, 0), total))
    return rows


def has_rounds(summary: dict[str, Any], outcomes: list[Outcome]) -> bool:
    """Whether the strategy corrects in rounds (MA-LoT): then a per-round table says what each added."""
    budget = summary.get("budget") or {}
    return summary.get("strategy") == "malot" or int(budget.get("rounds", 0) or 0) > 0 or any(
        c.origin.round > 0 for o in outcomes for c in o.candidates)


# ------------------------------------------------------------------------------- banner


#: Backends whose verdicts do not come from Lean (prover/lean/double_pools.py).
DOUBLES = ("scripted", "replay")


def verifier_banner(summary: dict[str, Any]) -> tuple[str, bool]:
    """``(text, is_warning)``: a warning when a test double judged, else the Lean/Mathlib/REPL pins."""
    lean = summary.get("lean") or {}
    backend = str(lean.get("backend", "?"))
    if backend in DOUBLES:
        return (f"These verdicts did not come from Lean: the {backend} REPL double judged them "
                f"(lean={backend}, a test double). They say nothing about whether these proofs are correct; "
                "rerun with lean=local for real verdicts."), True
    pins = lean.get("pins") or {}
    shown = ", ".join(f"{k} {v}" for k, v in pins.items() if k not in ("project", "note")) or "pins unknown"
    return f"Verdicts from real Lean (verifier {backend}, mathlib={lean.get('mathlib', '?')}): {shown}.", False
