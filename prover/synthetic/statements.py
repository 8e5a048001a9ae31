"""Lean theorem headers taken apart, and the statements DeepSeek-Prover derives from them.

The pipeline needs three rewrites of a formal statement ``theorem n (binders) : concl := by``:

* the *consistency* probe ``theorem n_consistency (binders) : False := by`` (if Lean proves it, the
  hypotheses contradict each other and the statement is vacuous);
* the *negation* ``theorem n_neg : ¬ (∀ (binders), concl) := by`` (if Lean proves it, the statement is false);
* a *normal form* for deduplication (theorem name and whitespace erased).

A regex cannot do this: binders nest (``(f : ℕ → (ℕ × ℕ))``, ``{h : ∀ x ∈ s, (x : ℝ) ≤ 1}``), the type may
contain ``:`` inside brackets, and ``:=`` may appear inside a binder's default value. :func:`parse_theorem`
is a small scanner that tracks bracket depth, skips comments and literals as Lean's scanner reads them
(:mod:`prover.lean.text`), and splits the header at the first top-level ``:`` and the first top-level ``:=``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from prover.lean import text as lex

OPENERS = {"(": ")", "{": "}", "[": "]", "⦃": "⦄", "⟨": "⟩", "⟦": "⟧", "«": "»"}
CLOSERS = {v: k for k, v in OPENERS.items()}
#: Binder brackets and what kind of binder each one makes.
BINDER_KINDS = {"(": "explicit", "{": "implicit", "[": "instance", "⦃": "strict_implicit"}
DECL_KEYWORDS = ("theorem", "lemma", "example")


class StatementError(ValueError):
    """A formal statement could not be taken apart; the message quotes the statement."""


def _short(text: str, n: int = 80) -> str:
    t = " ".join(text.split())
    return t if len(t) <= n else t[: n - 1] + "…"


@dataclass
class Binder:
    """One binder group of a theorem header, e.g. ``(x y : ℕ)``, ``{α : Type*}``, ``[Group G]``."""

    kind: str  # explicit | implicit | instance | strict_implicit | bare
    text: str  # as written, brackets included
    names: list[str] = field(default_factory=list)
    type: str | None = None  # None for ``(x)``, a bare ident, or an anonymous instance
    default: str | None = None  # ``(x : T := v)``: the default value v

    def as_forall(self) -> str:
        """This binder as it must appear after ``∀`` (defaults dropped: a ∀ takes no default values)."""
        if self.kind == "bare":
            return self.text
        open_, close = {
            "explicit": ("(", ")"),
            "implicit": ("{", "}"),
            "instance": ("[", "]"),
            "strict_implicit": ("⦃", "⦄"),
        }[self.kind]
        if self.kind == "instance":
            inner = f"{self.names[0]} : {self.type}" if self.names else (self.type or "")
            return f"[{inner}]"
        if self.type is None:
            return f"{open_}{' '.join(self.names)}{close}"
        return f"{open_}{' '.join(self.names)} : {self.type}{close}"


@dataclass
class TheoremHeader:
    """A theorem split into its parts. ``prefix`` holds docstrings, attributes and modifiers."""

    prefix: str
    keyword: str
    name: str | None  # None for ``example``
    universes: str  # ``.{u, v}`` or ""
    binders: list[Binder]
    conclusion: str
    proof: str  # everything after the top-level ``:=`` (often ``by`` or ``by\n  tac``), "" if absent

    def binders_text(self) -> str:
        return " ".join(b.text for b in self.binders)

    def render(self, name: str | None, binders: str, conclusion: str, proof: str = "by") -> str:
        keyword = "theorem" if name and self.keyword == "example" else self.keyword
        head = f"{keyword} {name}{self.universes}" if name else keyword
        sig = f"{head} {binders} : {conclusion}" if binders else f"{head} : {conclusion}"
        return f"{sig} := {proof}".rstrip() + "\n"


# ---------------------------------------------------------------------------- scanning


@functools.lru_cache(maxsize=256)
def _literal_spans(text: str) -> dict[int, tuple[int, str | None]]:
    """Start -> (end, Lean's error) of every comment, string and char literal, as Lean's scanner reads them."""
    kinds = lex.TRIVIA | lex.LITERALS
    return {t.start: (t.end, t.error) for t in lex.iter_tokens(text) if t.kind in kinds}


def _skip_comment_or_string(text: str, i: int) -> int:
    """If a comment or a string/char literal starts at ``i``, return the index just after it; otherwise ``i``."""
    hit = _literal_spans(text).get(i)
    if hit is None:
        return i
    end, error = hit
    if error:
        raise StatementError(f"{error} in {_short(text)!r}")
    return end


def _matching(text: str, i: int) -> int:
    """Index just past the bracket that closes the one at ``i`` (all bracket kinds nest)."""
    stack = [OPENERS[text[i]]]
    j = i + 1
    while j < len(text):
        k = _skip_comment_or_string(text, j)
        if k != j:
            j = k
            continue
        c = text[j]
        if c in OPENERS:
            stack.append(OPENERS[c])
        elif c in CLOSERS:
            if c != stack[-1]:
                raise StatementError(f"mismatched {c!r} at offset {j} in {_short(text)!r}")
            stack.pop()
            if not stack:
                return j + 1
        j += 1
    raise StatementError(f"unclosed {text[i]!r} in {_short(text)!r}")


def _top_level(text: str, start: int, stop_at: tuple[str, ...]) -> int:
    """Index of the first of ``stop_at`` at bracket depth 0 from ``start`` (``len(text)`` if none).

    A lone ``:`` never matches the start of ``:=``.
    """
    j = start
    while j < len(text):
        k = _skip_comment_or_string(text, j)
        if k != j:
            j = k
            continue
        c = text[j]
        if c in OPENERS:
            j = _matching(text, j)
            continue
        if c in CLOSERS:
            raise StatementError(f"unexpected {c!r} at offset {j} in {_short(text)!r}")
        for s in stop_at:
            if text.startswith(s, j) and not (s == ":" and text.startswith(":=", j)):
                return j
        j += 1
    return len(text)


_IDENT = re.compile(r"[^\s()\[\]{}⦃⦄⟨⟩:,]+")


def _split_binder(text: str) -> Binder:
    """Parse one bracketed binder group (or a bare identifier)."""
    open_ = text[0]
    if open_ not in BINDER_KINDS:
        return Binder(kind="bare", text=text, names=[text])
    kind = BINDER_KINDS[open_]
    inner = text[1:-1].strip()
    colon = _top_level(inner, 0, (":",))
    default = None
    if colon < len(inner):
        names_part, type_part = inner[:colon].strip(), inner[colon + 1 :].strip()
        eq = _top_level(type_part, 0, (":=",))
        if eq < len(type_part):
            default = type_part[eq + 2 :].strip()
            type_part = type_part[:eq].strip()
        names = names_part.split()
        if kind == "instance" and len(names) > 1:
            raise StatementError(f"instance binder with several names: {text!r}")
        return Binder(kind=kind, text=text, names=names, type=type_part, default=default)
    if kind == "instance":  # anonymous instance: [Group G]
        return Binder(kind=kind, text=text, names=[], type=inner)
    return Binder(kind=kind, text=text, names=inner.split(), type=None)


def parse_theorem(statement: str) -> TheoremHeader:
    """Split ``theorem name (binders) : conclusion := proof`` into its parts.

    Accepts leading docstrings, comments, attributes (``@[simp]``) and modifiers (``private``),
    ``lemma`` and ``example``, universe parameters (``foo.{u}``), bare identifier binders, and
    any nesting inside binders and the conclusion. Raises :class:`StatementError` naming the
    statement when it is not a theorem header.
    """
    text = statement
    i = 0
    n = len(text)
    # prefix: whitespace, comments, attributes, modifiers
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        k = _skip_comment_or_string(text, i) if text[i] != '"' else i
        if k != i:
            i = k
            continue
        if text.startswith("@[", i):
            i = _matching(text, i + 1)
            continue
        m = re.match(r"(private|protected|noncomputable|nonrec|unsafe|partial)\b", text[i:])
        if m:
            i += m.end()
            continue
        break
    prefix = text[:i]
    m = re.match(r"(theorem|lemma|example)\b", text[i:])
    if not m:
        raise StatementError(f"not a theorem statement (expected theorem/lemma/example): {_short(statement)!r}")
    keyword = m.group(1)
    i += m.end()
    name: str | None = None
    universes = ""
    if keyword != "example":
        while i < n and text[i].isspace():
            i += 1
        m = re.match(r"[^\s()\[\]{}⦃⦄:]+", text[i:])
        if not m:
            raise StatementError(f"theorem without a name: {_short(statement)!r}")
        name = m.group(0)
        i += m.end()
        um = re.match(r"\.\{[^}]*\}", text[i:])
        if um:
            universes = um.group(0)
            i += um.end()
        elif name.endswith(".") and text.startswith("{", i):  # foo.{u} matched as "foo."
            j = _matching(text, i)
            name, universes = name[:-1], "." + text[i:j]
            i = j
    binders: list[Binder] = []
    while True:
        while i < n and text[i].isspace():
            i += 1
        k = _skip_comment_or_string(text, i) if i < n and text[i] != '"' else i
        if k != i:
            i = k
            continue
        if i >= n:
            raise StatementError(f"no ':' before the end of the theorem header: {_short(statement)!r}")
        c = text[i]
        if c == ":" and not text.startswith(":=", i):
            i += 1
            break
        if c in BINDER_KINDS:
            j = _matching(text, i)
            binders.append(_split_binder(text[i:j]))
            i = j
            continue
        if c in OPENERS or c in CLOSERS or text.startswith(":=", i):
            raise StatementError(f"unexpected {c!r} in the binders of {_short(statement)!r}")
        m = _IDENT.match(text, i)
        if not m:
            raise StatementError(f"cannot read the binders of {_short(statement)!r}")
        binders.append(Binder(kind="bare", text=m.group(0), names=[m.group(0)]))
        i = m.end()
    end = _top_level(text, i, (":=",))
    conclusion = text[i:end].strip()
    if not conclusion:
        raise StatementError(f"empty conclusion in {_short(statement)!r}")
    proof = text[end + 2 :].strip() if end < n else ""
    return TheoremHeader(
        prefix=prefix,
        keyword=keyword,
        name=name,
        universes=universes,
        binders=binders,
        conclusion=conclusion,
        proof=proof,
    )


# ---------------------------------------------------------------------------- derived statements


def _derived_name(header: TheoremHeader, suffix: str, fallback: str) -> str:
    base = header.name or fallback
    return f"{base}_{suffix}"


def consistency_statement(statement: str, *, fallback_name: str = "synth") -> tuple[str, str]:
    """``theorem n_consistency (binders) : False := by`` and its name.

    The binders are kept verbatim (defaults included): the probe asks whether the hypotheses,
    exactly as stated, are contradictory.
    """
    h = parse_theorem(statement)
    name = _derived_name(h, "consistency", fallback_name)
    return h.render(name, h.binders_text(), "False"), name


def negation_statement(statement: str, *, fallback_name: str = "synth") -> tuple[str, str]:
    """``theorem n_neg : ¬ (∀ binders, concl) := by`` and its name.

    Explicit, implicit, strict-implicit and instance binders keep their brackets after ``∀``
    (``∀ (x : ℕ) {α : Type*} [Group α], …``), which Lean 4 accepts and which binds exactly as the
    theorem header did; default values are dropped (a ``∀`` binder cannot carry one).
    With no binders the negation is just ``¬ (concl)``.
    """
    h = parse_theorem(statement)
    name = _derived_name(h, "neg", fallback_name)
    if h.binders:
        body = f"¬ (∀ {' '.join(b.as_forall() for b in h.binders)}, {h.conclusion})"
    else:
        body = f"¬ ({h.conclusion})"
    return h.render(name, "", body), name


def with_name(statement: str, name: str) -> str:
    """The statement with its theorem renamed (``example`` becomes ``theorem name``), ending ``:= by``."""
    h = parse_theorem(statement)
    return h.render(name, h.binders_text(), h.conclusion)


def normalize_statement(statement: str) -> str:
    """The dedup key of a statement: comments, docstrings, the theorem name and whitespace erased.

    Two statements share a key exactly when they differ only in those; any other change
    (a token, a binder name, a bracket kind) gives a different key.
    """
    h = parse_theorem(statement)
    binders = " ".join(" ".join(lex.strip_comments(b.text).split()) for b in h.binders)
    concl = " ".join(lex.strip_comments(h.conclusion).split())
    parts = [f"theorem _{h.universes}"] + ([binders] if binders else []) + [":", concl]
    return " ".join(parts)


def normalize_header(header: str) -> str:
    """Header lines with whitespace collapsed and blank lines dropped."""
    return "\n".join(" ".join(line.split()) for line in header.splitlines() if line.strip())
