"""Turn a verdict into what the corrector reads: located errors and the goals where it failed.

Positions are the verifier's, relative to the candidate's own text (line from 1,
column from 0), so ``line 7, column 2`` points into the code the corrector is shown;
each error quotes that source line, as MA-LoT's "line N" feedback does.

Goals come from two places: the text of ``unsolved goals`` errors (Lean prints the
open goals after that first line) and, when the verifier reports sorries, their
``goal`` field. Tactic-mode proof states are not used here: the corrector works on
whole proofs judged in command mode.
"""

from __future__ import annotations

from prover.records import Message, Verdict
from prover.tinylm.formats import first_error_line as first_line_of

MAX_ERRORS = 8


def _where(m: Message) -> str:
    return f"line {m.pos.line}, column {m.pos.column}" if m.pos else "(no position)"


def _source_line(code: str, m: Message) -> str:
    if not m.pos:
        return ""
    lines = code.split("\n")
    if 1 <= m.pos.line <= len(lines):
        text = lines[m.pos.line - 1].strip()
        return f" at `{text}`" if text else ""
    return ""


def relevant_messages(verdict: Verdict) -> list[Message]:
    """Errors, plus warnings that explain a non-proof (``sorry``)."""
    errors = verdict.errors
    if errors:
        return errors
    return [m for m in verdict.messages if m.is_warning and "sorry" in m.data]


def format_errors(verdict: Verdict, code: str, limit: int = MAX_ERRORS) -> str:
    """One paragraph per error: ``line L, column C at `source`: message``; the reason when Lean gave none."""
    msgs = relevant_messages(verdict)
    out = [f"{_where(m)}{_source_line(code, m)}: {m.severity}: {m.data.strip()}" for m in msgs[:limit]]
    if len(msgs) > limit:
        out.append(f"... and {len(msgs) - limit} more")
    if not out:
        out.append(verdict.reason or f"Lean did not accept the proof ({verdict.status})")
    return "\n\n".join(out)


def first_error_line(verdict: Verdict) -> str:
    """The first line of the first relevant message (:func:`prover.tinylm.formats.first_error_line`)."""
    msgs = relevant_messages(verdict)
    return first_line_of(msgs[0].data if msgs else (verdict.reason or verdict.status))


def failing_goals(verdict: Verdict) -> list[str]:
    """Goals at the failing point: from ``unsolved goals`` errors, then from reported sorries."""
    goals: list[str] = []
    for m in verdict.messages:
        if m.is_error and m.data.lstrip().startswith("unsolved goals"):
            rest = m.data.lstrip().split("\n", 1)
            if len(rest) == 2 and rest[1].strip():
                goals.append(rest[1].strip())
    for s in verdict.sorries:
        g = s.get("goal") if isinstance(s, dict) else None
        if g and g.strip():
            goals.append(g.strip())
    seen: set[str] = set()
    return [g for g in goals if not (g in seen or seen.add(g))]


def format_goals(verdict: Verdict) -> str:
    goals = failing_goals(verdict)
    return "\n\n".join(goals) if goals else "(Lean reported no open goals)"
