"""Split a candidate into its import header and its body; map positions back.

Why: importing Mathlib takes seconds to minutes, so each worker builds one
environment from a header and runs every body on it (kimina-lean-server's scheme,
lean-repl.md §7). Two details matter for correctness:

* the header key is normalised (every ``import Mathlib.*`` becomes ``import Mathlib``,
  duplicates dropped) so equivalent candidates share a warm worker;
* the REPL reports body positions relative to the body, so both messages AND
  sorries are shifted back by the number of header lines, independently (kimina
  skips the sorries when there are no messages; we do not).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from prover.lean.policy import strip_comments_and_strings
from prover.records import Message, Pos


@dataclass(frozen=True)
class Split:
    """``header``: normalised import lines (may be empty); ``body``: the rest, verbatim;
    ``offset``: how many lines of the candidate precede the body."""

    header: str
    body: str
    offset: int


def _is_header_line(line: str) -> bool:
    s = line.strip()
    return not s or s.startswith("import ") or s == "import" or s.startswith("--")


def normalize_imports(lines: list[str]) -> str:
    """One ``import M`` per distinct module, in first-seen order, Mathlib submodules collapsed."""
    seen: list[str] = []
    for line in strip_comments_and_strings("\n".join(lines)).split("\n"):
        s = line.strip()
        if not s.startswith("import"):
            continue
        for mod in s.split()[1:]:
            if mod == "import":  # several imports on one line
                continue
            if mod.startswith("Mathlib.") or mod == "Mathlib":
                mod = "Mathlib"
            if mod not in seen:
                seen.append(mod)
    return "\n".join(f"import {m}" for m in seen)


def _comment_end(lines: list[str], start: int) -> int | None:
    """The line on which the (nested) ``/-`` comment opening line ``start`` closes, if nothing
    but whitespace or a ``--`` comment follows it there; else None."""
    text = "\n".join(lines[start:])
    i = text.index("/-")
    depth = 0
    while i < len(text):
        if text.startswith("/-", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("-/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                rest = text[i:].split("\n", 1)[0].strip()
                return start + text.count("\n", 0, i) if not rest or rest.startswith("--") else None
        else:
            i += 1
    return None


def split_header(code: str) -> Split:
    """Leading blank, comment and ``import`` lines form the header; everything else is the body.

    A leading ``/- ... -/`` comment (also between imports) is header when its last line holds
    nothing else: an ``import`` after it must reach the header, Lean rejects it in a body.
    """
    lines = code.split("\n")
    n = 0
    while n < len(lines):
        if _is_header_line(lines[n]):
            n += 1
        elif lines[n].strip().startswith("/-") and (end := _comment_end(lines, n)) is not None:
            n = end + 1
        else:
            break
    if n == len(lines):  # nothing but header lines: keep the final (empty) line as the body
        n = max(0, len(lines) - 1) if lines and not lines[-1].strip() else n
    header = normalize_imports(lines[:n])
    body = "\n".join(lines[n:])
    return Split(header=header, body=body, offset=n)


def shift_pos(pos: Pos | None, offset: int) -> Pos | None:
    """Move a body position to the candidate's text. Line 0 (tactic-mode, no position) stays 0."""
    if pos is None or offset == 0 or pos.line <= 0:
        return pos
    return Pos(pos.line + offset, pos.column)


def shift_messages(messages: list[Message], offset: int) -> list[Message]:
    return [
        dataclasses.replace(m, pos=shift_pos(m.pos, offset), end_pos=shift_pos(m.end_pos, offset))
        for m in messages
    ]


def _shift_raw(pos: Any, offset: int) -> Any:
    if not isinstance(pos, dict) or offset == 0 or int(pos.get("line", 0)) <= 0:
        return pos
    return {**pos, "line": int(pos["line"]) + offset}


def shift_sorries(sorries: list[dict[str, Any]], offset: int) -> list[dict[str, Any]]:
    """Shift each sorry's ``pos``/``endPos`` (absent for tactic-mode sorries) by ``offset`` lines."""
    out = []
    for s in sorries:
        s = dict(s)
        for key in ("pos", "endPos"):
            if key in s:
                s[key] = _shift_raw(s[key], offset)
        out.append(s)
    return out
