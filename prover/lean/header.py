"""Split a candidate into its header and its body as Lean's header grammar does; map positions back.

Why: importing Mathlib takes seconds to minutes, so each worker builds one environment
from a header and runs every body on it (project-numina/kimina-lean-server's scheme).
That is only sound if the header is the one Lean would read. At v4.24.0 (leanprover/lean4,
``src/Lean/Parser/Module.lean``)::

    header := ("module")? ("prelude")? import*
    import := ("public")? ("meta")? "import" ("all")? ident

with comments as whitespace (``/--`` and ``/-!`` are tokens: they end the header). So:

* the header is kept exactly as written, one command per line (no ``import Mathlib.X`` ->
  ``import Mathlib`` rewriting); equal headers share a warm worker;
* what Lean rejects is reported as Lean reports it, never repaired: an ``import`` after a
  module doc or any command ("invalid 'import' command, it must be used in the beginning of
  the file"), an ``import`` after a doc comment, ``import A B`` (``B`` starts a command:
  "unexpected identifier; expected command");
* the body starts on the line of its first token, and whatever precedes that token on its
  line (the end of a comment, an import) is blanked to spaces, so no ``-/`` is left at the
  start of the body and body positions map back by a line offset alone;
* the REPL reports body positions relative to the body, so both messages AND sorries are
  shifted back by the number of header lines, independently (kimina skips the sorries when
  there are no messages; we do not).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from prover.lean import text as lex
from prover.records import Message, Pos

#: Words that start a command (Lean core and Mathlib keywords), so ``import A theorem t`` is not ``import A B``.
COMMAND_WORDS = frozenset({
    "theorem", "lemma", "def", "abbrev", "example", "instance", "structure", "inductive", "class", "axiom",
    "opaque", "open", "set_option", "namespace", "section", "end", "noncomputable", "private", "protected",
    "universe", "variable", "attribute", "mutual", "macro", "macro_rules", "syntax", "notation", "infix",
    "infixl", "infixr", "prefix", "postfix", "elab", "elab_rules", "local", "scoped", "deriving", "export",
    "initialize", "unsafe", "partial", "nonrec", "include", "omit", "public", "meta", "import", "alias",
    "irreducible_def", "add_decl_doc", "library_note", "assert_not_exists", "suppress_compilation",
    "declare_syntax_cat", "builtin_initialize", "run_cmd", "unif_hint", "binder_predicate", "notation3",
    "register_option", "in", "where", "termination_by", "decreasing_by", "simproc", "dsimproc",
})

INVALID_IMPORT = "invalid 'import' command, it must be used in the beginning of the file"
UNEXPECTED_IDENT = "unexpected identifier; expected command"
IMPORT_AFTER_DOC = ("unexpected token 'import'; expected a declaration after the doc comment "
                    "(a doc comment ends the header; imports must come first)")


@dataclass(frozen=True)
class Split:
    """``header``: the header's commands as written, one per line (may be empty); ``body``: the
    rest; ``offset``: how many lines of the candidate precede the body; ``error``: what Lean
    reports about the header, positioned in the candidate (the candidate then fails as it would)."""

    header: str
    body: str
    offset: int
    error: Message | None = None


def _pos(code: str, offset: int) -> Pos:
    line = code.count("\n", 0, offset) + 1
    return Pos(line, offset - (code.rfind("\n", 0, offset) + 1))


def _error(code: str, tok: lex.Token, text: str) -> Message:
    return Message("error", text, _pos(code, tok.start), _pos(code, tok.end))


def split_header(code: str) -> Split:
    """The header Lean parses from ``code``, the body after it, and Lean's header error if any."""
    sc = lex.scan(code)
    toks = [t for t in sc.tokens if not (t.kind == lex.COMMENT and t.error is None)]  # comments = whitespace

    def word(k: int, *words: str) -> bool:
        return k < len(toks) and toks[k].kind == lex.IDENT and sc.value(toks[k]) in words

    cmds: list[str] = []
    k = 0
    error: Message | None = None
    for kw in ("module", "prelude"):
        if word(k, kw):
            cmds.append(kw)
            k += 1
    while True:
        j, parts = k, []
        for mod in ("public", "meta"):
            if word(j, mod):
                parts.append(mod)
                j += 1
        if not word(j, "import"):
            break  # `public section` and the like: the header ends before them
        parts.append("import")
        j += 1
        if word(j, "all") and j + 1 < len(toks) and toks[j + 1].kind == lex.IDENT:
            parts.append("all")
            j += 1
        if j < len(toks) and toks[j].kind == lex.IDENT and not toks[j].error and sc.value(toks[j]) not in COMMAND_WORDS:
            parts.append(sc.value(toks[j]))
            cmds.append(" ".join(parts))
            k = j + 1
            continue
        at = toks[j] if j < len(toks) else lex.Token(lex.SYMBOL, len(code), len(code))
        error = _error(code, at, "expected identifier" if j < len(toks) else "unexpected end of input; expected identifier")
        k = j
        break
    if not cmds:
        return Split("", code, 0, error or _body_error(code, sc, toks, 0, None))
    header = "\n".join(cmds)
    error = error or _body_error(code, sc, toks, k, toks[k - 1])
    if k >= len(toks):
        return Split(header, "", code.count("\n"), error)
    first = toks[k]
    line_start = code.rfind("\n", 0, first.start) + 1
    # only whitespace, comments or header tokens precede the first body token on its line: blank them
    prefix = "".join(ch if ch in " \t" else " " for ch in code[line_start : first.start])
    return Split(header, prefix + code[first.start :], code.count("\n", 0, line_start), error)


def _body_error(code: str, sc: lex.Scan, toks: list[lex.Token], k: int, last: lex.Token | None) -> Message | None:
    """What Lean says about the header when the body starts at ``toks[k]`` (None when all is well)."""
    if last is not None and k < len(toks):
        nxt = toks[k]
        same_line = "\n" not in code[last.end : nxt.start]
        if nxt.kind == lex.IDENT and same_line and sc.value(nxt) not in COMMAND_WORDS:
            return _error(code, nxt, UNEXPECTED_IDENT)  # `import A B`: one module per import
    for j in range(k, len(toks)):
        if toks[j].kind == lex.IDENT and sc.value(toks[j]) == "import":
            prev = toks[j - 1] if j > 0 else None
            if prev is not None and prev.kind == lex.DOC:
                return _error(code, toks[j], IMPORT_AFTER_DOC)
            return _error(code, toks[j], INVALID_IMPORT)
    return None


def imports(header: str) -> list[str]:
    """The modules a header (as :func:`split_header` returns it) imports, in order."""
    return [line.split()[-1] for line in header.splitlines() if "import" in line.split()]


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
