"""Scanning: a Lean file's declarations, names and in-file dependencies, without Lean.

The offline fallback of extraction (:mod:`autoformalize.library.extract` has the REPL and LeanDojo
ways). Text is read through the project's one Lean lexer (:mod:`prover.lean.text`), so comments,
strings and ``«»`` names are read as Lean reads them.
"""

from __future__ import annotations

import re
from pathlib import Path

from autoformalize.declarations import Declaration, DeclarationError
from autoformalize.library.errors import LibraryError
from prover.lean import text as lex
from prover.lean.header import split_header
from prover.records import json_lines

_KINDS = ("theorem", "lemma", "def", "abbrev", "structure", "class", "instance", "inductive", "axiom",
          "opaque", "example")
_ITEM = re.compile(
    r"^(?:/--(?P<doc>.*?)-/\s*)?"
    r"(?P<mods>(?:@\[[^\]]*\]\s*)*(?:(?:private|protected|noncomputable|partial|nonrec|unsafe)\s+)*)"
    rf"(?P<kind>{'|'.join(_KINDS)})\b"
    r"|^(?P<scope>namespace|section|end|noncomputable\s+section|mutual)\b[ \t]*(?P<scope_name>[^\s]*)",
    re.MULTILINE | re.DOTALL,
)


def _blank_comments(text: str) -> str:
    """``--``, ``/- -/`` and ``/-! -/`` comments blanked as Lean's scanner reads them (docstrings and
    strings kept; offsets and newlines unchanged)."""
    return lex.mask(text, (lex.COMMENT, lex.MODDOC))


def _split_signature(rest: str) -> tuple[str, str]:
    """``(signature, body)`` split at the first top-level ``:=``, ``where`` or ``|``."""
    depth = 0
    for i, ch in enumerate(rest):
        if ch in "([{⟨⦃":
            depth += 1
        elif ch in ")]}⟩⦄":
            depth = max(0, depth - 1)
        elif depth == 0:
            if rest.startswith(":=", i) or (rest.startswith("where", i) and (i == 0 or rest[i - 1].isspace())):
                return rest[:i], rest[i:]
            if ch == "|" and (i == 0 or rest[i - 1] == "\n" or rest[max(0, i - 2):i].strip() == ""):
                return rest[:i], rest[i:]
    return rest, ""


def _scan(text: str, source: str = "") -> list[tuple[Declaration, int, int]]:
    """Declarations with their 1-based start and end lines (end exclusive), names fully qualified."""
    clean = _blank_comments(text)
    items = list(_ITEM.finditer(clean))
    scopes: list[tuple[str, str]] = []  # (kind, name)
    found: list[tuple[Declaration, int, int, list[str], str]] = []
    for idx, m in enumerate(items):
        end = items[idx + 1].start() if idx + 1 < len(items) else len(clean)
        if m.group("scope"):
            kind, name = m.group("scope").split()[-1], m.group("scope_name")
            if kind == "end":
                if scopes:
                    if name:
                        while scopes and scopes[-1][1] != name:
                            scopes.pop()
                    if scopes:
                        scopes.pop()
            else:
                scopes.append((kind, name))
            continue
        kind = m.group("kind")
        if kind == "example":
            continue
        rest = clean[m.end():end]
        first = next(lex.iter_tokens(rest), None)  # the declared name, as Lean reads it («» names too)
        nm = first if first is not None and first.kind == lex.IDENT and not first.error else None
        if kind != "instance" and nm is None:
            continue
        local = rest[nm.start : nm.end] if nm is not None and rest[nm.start : nm.end] != "where" else ""
        if local:
            rest = rest[nm.end :]
        ns = [s[1] for s in scopes if s[0] == "namespace" and s[1]]
        if not local:
            local = f"instance_{clean.count(chr(10), 0, m.start()) + 1}"
        full = local[len("_root_."):] if local.startswith("_root_.") else ".".join([*ns, local])
        signature, body = _split_signature(rest)
        doc = " ".join((m.group("doc") or "").split())
        code = clean[m.start():end].strip()
        start_line = clean.count("\n", 0, m.start()) + 1
        end_line = clean.count("\n", 0, end) + 1
        decl = Declaration(name=full, kind="theorem" if kind == "lemma" else kind,
                           signature=" ".join(signature.split()), docstring=doc, code=code, source=source)
        found.append((decl, start_line, end_line, ns, signature + body))
    # dependencies: identifiers that resolve to another declaration of the file (namespace-relative too)
    names = {d.name for d, *_ in found}
    out = []
    for decl, start, stop, ns, sig_body in found:
        deps: list[str] = []
        for tok in (sig_body[t.start : t.end] for t in lex.iter_tokens(sig_body) if t.kind == lex.IDENT):
            for k in range(len(ns), -1, -1):
                cand = ".".join([*ns[:k], tok])
                if cand in names:
                    if cand != decl.name and cand not in deps:
                        deps.append(cand)
                    break
        decl.deps = deps
        out.append((decl, start, stop))
    return out


def scan_lean_source(text: str, *, source: str = "") -> list[Declaration]:
    """Declarations of a ``.lean`` file with their in-file dependencies, by a simple scanner.

    It knows namespaces, sections, docstrings, attributes and modifiers; dependencies are identifiers
    in the signature and body that resolve to another declaration of the same text. It does not
    elaborate: ``open`` scopes, notation and auto-bound names are not resolved (use
    :func:`extract_with_repl` for Lean's own ``usedConstants``).
    """
    return [d for d, _, _ in _scan(text, source)]


def split_library_header(text: str, source: str = "") -> tuple[str, str]:
    """(header, body) as Lean parses the header; a header Lean rejects is a :class:`LibraryError`."""
    split = split_header(text)
    if split.error is not None:
        pos = split.error.pos
        where = f"{pos.line}:{pos.column}: " if pos else ""
        raise LibraryError(f"{source or 'library'}: {where}{split.error.data}")
    return split.header, split.body


def load_declarations(path: str | Path) -> list[Declaration]:
    """Read declarations from JSONL (one ``Declaration`` per line) or a ``.lean`` source file (scanned)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DeclarationError(f"declarations file {p} does not exist")
    if p.suffix == ".lean":
        return scan_lean_source(p.read_text(encoding="utf-8"), source=str(p))
    out = []
    for i, obj in json_lines(p, DeclarationError):
        try:
            out.append(Declaration.from_dict(obj))
        except DeclarationError as e:
            raise DeclarationError(f"{p}:{i}: {e}") from None
    return out
