"""The per-candidate check: policy -> body on the header's environment -> ``#print axioms`` -> judge.

The pool (:mod:`prover.lean.pool`) owns the workers (one REPL holding one header's environment) and
which worker a candidate runs on; this module owns what happens to one candidate: refused before Lean
(:func:`prepare`), then run on a worker and judged (:func:`check_on_worker`). Keeping the two apart is
what lets the trust rules be read in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prover.lean import policy, verdict
from prover.lean.header import Split, shift_messages, shift_sorries, split_header
from prover.lean.repl import CommandResponse, Repl, ReplCrashed, ReplError, ReplTimeout
from prover.records import Candidate, Message, Verdict, errors_in

#: Text of allocation failures that deserve one retry on a fresh process.
ALLOCATION_FAILURES = ("failed to create thread", "bad_alloc", "Cannot allocate memory")


def is_allocation_failure(text: str) -> bool:
    return any(s in text for s in ALLOCATION_FAILURES)


class Retry(Exception):
    """An allocation failure: run the candidate once more on a fresh process."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Worker:
    """One REPL with the environment of one header. ``uses`` counts bodies, not the header."""

    header: str
    repl: Repl
    env: int = 0
    header_messages: list[Message] = field(default_factory=list)
    uses: int = 0
    last_used: float = 0.0

    @property
    def header_errors(self) -> list[Message]:
        return errors_in(self.header_messages)


@dataclass(frozen=True)
class Prepared:
    """A candidate the policy let through: its header/body split and the theorem whose axioms are checked."""

    split: Split
    target: str | None


def prepare(c: Candidate) -> Verdict | Prepared:
    """What can be decided before any REPL runs: text that is not Unicode, a header Lean rejects (judged
    as Lean judges it, never repaired), and the policy's refusals (``rejected``)."""
    try:
        c.code.encode("utf-8")
    except UnicodeEncodeError as e:
        return Verdict("rejected", reason=f"refused: not valid Unicode text ({e.reason} at {e.start})")
    split = split_header(c.code)
    if split.error is not None:
        return Verdict("failed", messages=[split.error], reason=f"header error: {split.error.data}")
    # a Candidate that carries its problem's header lets the policy check it too (policy.check_candidate)
    refusal = policy.check_candidate(c.code, c.statement, getattr(c, "header", None))
    if refusal:
        return Verdict("rejected", reason=refusal)
    return Prepared(split, policy.target_theorem(c.code, c.statement))


async def check_on_worker(w: Worker, p: Prepared, *, timeout: float, allowed: frozenset[str],
                          stats: dict[str, Any]) -> tuple[Verdict, bool]:
    """Run ``p``'s body on ``w``'s header environment, ask for its theorem's axioms, and judge.

    Returns ``(verdict, broken)``: ``broken`` retires the worker (a timeout, a crash, a panic). Raises
    :class:`Retry` on an allocation failure (the worker is broken; the pool retries on a fresh process).
    """
    if w.header_errors:
        return Verdict("failed", messages=list(w.header_errors),
                       reason=f"header error: {w.header_errors[0].data.strip().splitlines()[0]}"), False
    try:
        resp = await w.repl.command(p.split.body, env=w.env, timeout=timeout)
        w.uses += 1
    except ReplTimeout as e:
        stats["timeouts"] += 1
        return Verdict("timeout", reason=str(e)), True
    except ReplCrashed as e:
        stats["crashes"] += 1
        if is_allocation_failure(e.stderr + e.reason):
            raise Retry(e.reason) from None
        return Verdict("crashed", reason=str(e)[:2000]), True
    if w.repl.last_panic:  # a reply from a REPL that panicked is not trusted (the worker retires)
        stats["crashes"] += 1
        return Verdict("crashed", reason=f"Lean panicked: {w.repl.last_panic[:500]}"), True
    if isinstance(resp, ReplError):
        if is_allocation_failure(resp.message):
            raise Retry(resp.message)
        return Verdict("failed", reason=f"REPL error: {resp.message.strip()}"), False
    assert isinstance(resp, CommandResponse)
    messages = shift_messages(resp.messages, p.split.offset)
    sorries = shift_sorries(resp.sorries, p.split.offset)
    axioms: list[str] | None = None
    if p.target is not None and not resp.errors:
        try:
            ax = await w.repl.command(verdict.axioms_command(p.target), env=resp.env, timeout=timeout)
        except ReplTimeout as e:
            return Verdict("timeout", messages=messages, sorries=sorries, reason=f"#print axioms: {e}"), True
        except ReplCrashed as e:
            return Verdict("crashed", messages=messages, sorries=sorries, reason=str(e)[:2000]), True
        if w.repl.last_panic:
            stats["crashes"] += 1
            return Verdict("crashed", messages=messages, sorries=sorries,
                           reason=f"Lean panicked: {w.repl.last_panic[:500]}"), True
        if isinstance(ax, CommandResponse):
            axioms = verdict.parse_axioms(ax.messages, p.target)
    status, reason = verdict.judge(messages, sorries, axioms, allowed)
    if p.target is None and status != "proved" and not reason:
        reason = "no theorem found to check"
    return Verdict(status, messages=messages, sorries=sorries, axioms=axioms or [], reason=reason), False  # type: ignore[arg-type]
