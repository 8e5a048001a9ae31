"""What "the statement type-checks" means, given a verdict for ``header + statement := by sorry``.

The verifier's verdict for such a candidate is ``failed`` (it has a sorry), so success here is a
different rule from proof success: Lean reported no error-severity message, and the check actually
ran (not refused by the untrusted-code policy, not timed out, not crashed). Herald's step 1 uses the
same rule ("no error-severity message"). Never use this for proofs: proofs need ``status == "proved"``.
"""

from __future__ import annotations

import re

from autoformalize.translate import lean_code
from prover.records import Candidate, Verdict

_NOT_RUN = frozenset({"rejected", "timeout", "crashed"})


def typechecks(verdict: Verdict) -> bool:
    """True when Lean accepted the statement (only warnings, e.g. the sorry warning)."""
    return verdict.status not in _NOT_RUN and not verdict.errors


def first_error(verdict: Verdict) -> str:
    """One line saying why a statement did not type-check (for the result's evidence)."""
    if verdict.status in _NOT_RUN:
        return f"{verdict.status}: {verdict.reason}".strip(": ")
    for m in verdict.messages:
        if m.is_error:
            where = f"{m.pos.line}:{m.pos.column}: " if m.pos else ""
            return where + " ".join(m.data.split())[:300]
    return ""


def lean_identifier(text: str) -> str:
    """A safe Lean name for an item id (so the model's own theorem name can never clash with Mathlib)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text).strip("_") or "stmt"
    return name if name[0].isalpha() else f"s_{name}"


def rename_theorem(statement: str, name: str) -> str:
    """Replace the declared name in ``theorem <old> ...`` by ``name``."""
    return re.sub(r"^((?:@\[[^\]]*\]\s*)?theorem)\s+[^\s(:{\[⦃]+", rf"\1 {name}", statement, count=1)


def statement_candidate(problem: str, header: str, statement: str, **origin: object) -> Candidate:
    """The candidate the verifier checks for one statement."""
    return Candidate(
        problem=problem,
        code=lean_code(header, statement),
        origin={"stage": "autoformalize", **origin},
    )
