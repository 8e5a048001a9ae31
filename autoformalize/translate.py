"""NL -> Lean: the translation prompt and the extraction of a theorem statement from model output.

Following Herald's translator, the prompt gives the header, a name and the informal statement; we add
few-shot exemplars and (optionally) retrieved Mathlib declarations. The model's output is untrusted
text: :func:`extract_statement` pulls the first Lean declaration out of it and cuts it at its
top-level ``:=``, so what goes to Lean is always ``header + statement := by sorry``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from autoformalize.declarations import Declaration
from autoformalize.prompts import Exemplar, render

_FENCE = re.compile(r"```[ \t]*(?:lean4?|Lean4?)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
_DECL = re.compile(r"(?m)^[ \t]*(?:@\[[^\]]*\][ \t]*)?(theorem|lemma|example)\b")
_DOC = re.compile(r"/-.*?-/", re.DOTALL)
_LINE_COMMENT = re.compile(r"--[^\n]*")
_OPEN = "([{⟨⦃"
_CLOSE = ")]}⟩⦄"


def translation_prompt(
    informal: str,
    *,
    name: str,
    header: str,
    exemplars: Sequence[Exemplar] = (),
    related: Sequence[Declaration] = (),
    template: str = "translate",
) -> str:
    """The prompt asking for one Lean statement of ``informal``."""
    examples = "".join(
        render("translate_example", name=e.name, informal=e.informal, formal=e.formal) for e in exemplars
    )
    rel = ""
    if related:
        rel = render("related", declarations="\n".join(d.prompt_line() for d in related))
    return render(
        template,
        header=header.strip(),
        related=rel,
        examples=("\n" + examples) if examples else "\n",
        name=name,
        informal=informal.strip(),
    )


def _cut_at_assign(text: str) -> str | None:
    """Text up to the first ``:=`` outside brackets, or None when there is none (an incomplete statement).

    Depth matters because binders may carry default values (``(n : ℕ := 3)``).
    """
    depth = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        elif ch == ":" and text.startswith(":=", i) and depth == 0:
            return text[:i]
        i += 1
    return None


def extract_statement(output: str, *, name: str | None = None) -> str | None:
    """The first ``theorem``/``lemma``/``example`` in ``output`` up to (not including) its ``:=``.

    Looks inside the first Lean code fence when there is one; strips comments and docstrings (Herald's
    translator strips the leading ``/-- ... -/``); ``lemma`` becomes ``theorem`` (core Lean has no
    ``lemma`` without Mathlib); an ``example`` gets ``name``. Returns None when there is no statement.
    """
    blocks = _FENCE.findall(output)
    texts = [*blocks, output] if blocks else [output]
    for text in texts:
        text = _LINE_COMMENT.sub("", _DOC.sub("", text))
        m = _DECL.search(text)
        if not m:
            continue
        body = _cut_at_assign(text[m.start() :])
        if body is None:
            continue
        stmt = " ".join(body.split())
        stmt = re.sub(r"^(@\[[^\]]*\]\s*)?lemma\b", r"\1theorem", stmt)
        if stmt.startswith("example"):
            stmt = f"theorem {name or 'formalized'}" + stmt[len("example") :]
        rest = re.sub(r"^(@\[[^\]]*\]\s*)?theorem\b", "", stmt)
        if ":" not in rest or not rest.strip().split(":", 1)[0].strip():
            continue  # a bare keyword, or a name with no type, is not a statement
        return stmt
    return None


def lean_code(header: str, statement: str) -> str:
    """The text Lean checks for a candidate statement: the header, then ``statement := by sorry``."""
    head = header if header.endswith("\n") or not header else header + "\n"
    return f"{head}{statement} := by sorry"
