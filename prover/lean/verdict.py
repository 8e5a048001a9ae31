"""The verdict rule: when does Lean's reply mean *proved*?

Judged on the full candidate in command mode (never on tactic mode, repl #44):
no error message, no sorry (neither a ``sorries`` entry nor a "declaration uses
sorry" warning in either quote style), and ``#print axioms`` on the target
theorem lists nothing outside the allowed set. So ``sorryAx``, ``Lean.ofReduceBool``
/ ``Lean.trustCompiler`` (``native_decide``) and any axiom a candidate declared
all fail. DeepSeek-Prover's "complete" omits the axiom check; MA-LoT judges on
"pass" (no errors) only: both accept proofs this rule rejects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from prover.records import STANDARD_AXIOMS, Message, errors_in

#: The axioms a proof may use by default: Lean's three standard ones.
ALLOWED_AXIOMS: frozenset[str] = STANDARD_AXIOMS

_SORRY_WARNINGS = ("declaration uses 'sorry'", "declaration uses `sorry`")
_DEPENDS = re.compile(r"depends on axioms:\s*\[(?P<list>[^\]]*)\]", re.DOTALL)
_NO_AXIOMS = "does not depend on any axioms"

#: Why a given axiom is not allowed, for the verdict's reason line.
_AXIOM_EXPLANATIONS = {
    "sorryAx": "the proof contains sorry",
    "Lean.ofReduceBool": "native_decide trusts the compiler",
    "Lean.trustCompiler": "native_decide trusts the compiler",
}


def axioms_command(name: str) -> str:
    """The command that lists the axioms ``name`` depends on.

    ``pp.fullNames``: Lean prints the list with ``MessageData.ofConstName``, which shortens
    names against the candidate's ``open`` lines (``open Classical`` would print ``choice``).
    """
    return f"set_option pp.fullNames true in\n#print axioms {name}"


def _strip_guillemets(name: str) -> str:
    return name.replace("«", "").replace("»", "")


def _names_match(printed: str, want: str) -> bool:
    """``printed`` (from a ``#print axioms`` line) is the constant ``want`` (or its private name)."""
    return printed == want or (printed.startswith("_private.") and printed.endswith("." + want))


def parse_axioms(messages: Iterable[Message], name: str) -> list[str] | None:
    """The axioms listed for ``name`` in a ``#print axioms`` reply, or None if no such line.

    Handles both forms ("depends on axioms: [a, b]" possibly wrapped across lines, and
    "does not depend on any axioms") and names quoted with «». Only lines for exactly
    ``name`` count (``open X`` makes Lean also print ``X.name``), and when several do,
    their axioms are all returned.
    """
    want = _strip_guillemets(name)
    found_any = False
    axioms: list[str] = []
    for m in messages:
        if m.severity != "info":
            continue
        text = " ".join(m.data.split())
        head = re.match(r"'(?P<n>.*?)' (?:depends on axioms|does not depend on any axioms)", text)
        if not head or not _names_match(_strip_guillemets(head.group("n")), want):
            continue
        if _NO_AXIOMS in text:
            found_any = True
            continue
        found = _DEPENDS.search(text)
        if found:
            found_any = True
            for a in found.group("list").split(","):
                a = _strip_guillemets(a.strip())
                if a and a not in axioms:
                    axioms.append(a)
    return axioms if found_any else None


def is_sorry_warning(message: Message) -> bool:
    return message.is_warning and any(w in message.data for w in _SORRY_WARNINGS)


def _where(m: Message) -> str:
    return f"{m.pos.line}:{m.pos.column}: " if m.pos else ""


def judge(
    messages: Sequence[Message],
    sorries: Sequence[dict[str, Any]],
    axioms: Sequence[str] | None,
    allowed: Iterable[str] = ALLOWED_AXIOMS,
) -> tuple[str, str]:
    """Return ``(status, reason)`` with status ``proved`` or ``failed``.

    ``axioms`` is None when the axioms could not be read: that is never proved.
    """
    errors = errors_in(messages)
    if errors:
        first = errors[0]
        line = first.data.strip().splitlines()[0] if first.data.strip() else "error"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return "failed", f"Lean error at {_where(first)}{line}{more}"
    if sorries:
        return "failed", f"proof contains sorry ({len(sorries)} goal(s) left)"
    warned = [m for m in messages if is_sorry_warning(m)]
    if warned:
        return "failed", f"{_where(warned[0])}{warned[0].data.strip()}"
    if axioms is None:
        return "failed", "could not read the theorem's axioms (#print axioms gave no axioms line)"
    allowed_set = frozenset(allowed)
    bad = [a for a in axioms if a not in allowed_set]
    if bad:
        why = "; ".join(sorted({_AXIOM_EXPLANATIONS.get(a, "not a standard axiom") for a in bad}))
        return "failed", f"uses axioms outside the allowed set: {', '.join(bad)} ({why})"
    return "proved", ""
