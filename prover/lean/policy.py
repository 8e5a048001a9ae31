"""Untrusted-code policy: refuse candidates that would run or change more than a proof.

Model-written Lean runs inside our processes. Before Lean sees a candidate we scan
its code (comments and string literals removed, as Lean's parser would) for
constructs that execute code (``#eval``, ``run_cmd``...), weaken the kernel
(``debug.skipKernelTC``), add trust (``axiom``, ``@[implemented_by]``,
``@[extern]``, ``unsafe``), or change what the proof's syntax means (new
``macro``/``syntax``/``elab``/``notation``), and check that the theorem it proves
is the problem's statement, unchanged and under its own name.
"""

from __future__ import annotations

import re

#: (pattern on comment-free code, reason). Identifier boundaries follow Lean:
#: letters, digits, ``_``, ``'``, ``!``, ``?`` and ``.`` continue a name.
_ID_CHARS = r"\w'!?."


def _kw(word: str) -> str:
    return rf"(?<![{_ID_CHARS}]){re.escape(word)}(?![{_ID_CHARS}])"


_FORBIDDEN: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"#eval\b|#exit\b"), "runs or stops Lean commands"),
    (re.compile(_kw("run_cmd") + "|" + _kw("run_tac") + "|" + _kw("run_elab") + "|" + _kw("run_meta")),
     "runs metaprograms"),
    (re.compile(_kw("axiom")), "declares an axiom"),
    (re.compile(_kw("opaque")), "declares an opaque constant"),
    (re.compile(_kw("implemented_by")), "uses @[implemented_by]"),
    (re.compile(_kw("extern")), "uses @[extern]"),
    (re.compile(_kw("unsafe")), "uses unsafe code"),
    (re.compile(r"set_option\s+debug\."), "sets a debug option"),
    (re.compile(_kw("skipKernelTC")), "switches off the kernel type checker"),
    (re.compile(_kw("initialize") + "|" + _kw("builtin_initialize")), "runs code at initialisation"),
    (re.compile("|".join(_kw(w) for w in (
        "macro", "macro_rules", "syntax", "elab", "elab_rules", "notation", "infix", "infixl",
        "infixr", "prefix", "postfix", "declare_syntax_cat", "binder_predicate"))),
     "defines new syntax that could change what the proof means"),
    (re.compile(_kw("import")), "has a second import section"),
    (re.compile(_kw("namespace")), "opens a namespace (the target theorem must be declared at top level)"),
]

_DECL = re.compile(
    r"(?<![\w'!?.])(?:theorem|lemma|def|abbrev|instance|example|structure|inductive|class)\s+"
    r"(?P<name>[^\s(:{\[⦃]+)"
)
_THEOREM_NAME = re.compile(r"(?<![\w'!?.])(?:theorem|lemma)\s+(?P<name>[^\s(:{\[⦃]+)")


def strip_comments_and_strings(code: str) -> str:
    """Remove ``--`` line comments, nested ``/- -/`` block comments and string literals.

    Removed text becomes a space (newlines are kept) so positions stay roughly aligned.
    Char literals such as ``'"'`` are kept intact.
    """
    out: list[str] = []
    i, n, depth = 0, len(code), 0
    while i < n:
        c = code[i]
        if depth:
            if code.startswith("/-", i):
                depth += 1
                i += 2
            elif code.startswith("-/", i):
                depth -= 1
                i += 2
                out.append(" ")
            else:
                out.append("\n" if c == "\n" else "")
                i += 1
            continue
        if code.startswith("/-", i):
            depth = 1
            i += 2
        elif code.startswith("--", i):
            j = code.find("\n", i)
            i = n if j < 0 else j
            out.append(" ")
        elif c == '"':
            j = i + 1
            while j < n and code[j] != '"':
                j += 2 if code[j] == "\\" else 1
            out.append('""')
            i = j + 1
        elif c == "'" and i + 2 < n and code[i + 2] == "'" and not (i and re.match(r"[\w'!?]", code[i - 1])):
            out.append(code[i : i + 3])  # a char literal like 'a' or '"'
            i += 3
        else:
            out.append(c)
            i += 1
    return "".join(out)


def normalize_ws(text: str) -> str:
    return " ".join(text.split())


def theorem_name(statement: str) -> str | None:
    """The name declared by a statement (``theorem foo ...`` -> ``foo``)."""
    m = _THEOREM_NAME.search(strip_comments_and_strings(statement))
    return m.group("name") if m else None


def target_theorem(code: str, statement: str | None) -> str | None:
    """The theorem whose axioms decide the verdict: the statement's, else the code's last theorem."""
    if statement:
        name = theorem_name(statement)
        if name:
            return name
    names = _THEOREM_NAME.findall(strip_comments_and_strings(code))
    return names[-1] if names else None


def _body(code: str) -> str:
    """The code after its leading import section (blank, comment and ``import`` lines)."""
    lines = code.split("\n")
    k = 0
    in_block = False
    while k < len(lines):
        s = lines[k].strip()
        if in_block:
            in_block = "-/" not in s
            k += 1
            continue
        if not s or s.startswith("--") or s.startswith("import "):
            k += 1
            continue
        if s.startswith("/-") and "-/" not in s[2:]:
            in_block = True
            k += 1
            continue
        break
    return "\n".join(lines[k:])


def check_candidate(code: str, statement: str | None) -> str | None:
    """None if the candidate may go to Lean, else the reason it is refused.

    ``statement`` is the problem's formal statement (with its theorem name); when given,
    the candidate must contain it unchanged after whitespace normalisation, declare that
    name exactly once, and prove nothing else under it.
    """
    if "\x00" in code:
        return "refused: contains a NUL character"
    body = strip_comments_and_strings(_body(code))
    for pattern, reason in _FORBIDDEN:
        m = pattern.search(body)
        if m:
            return f"refused: {reason} ({m.group(0).strip()!r})"
    if statement is None:
        return None
    name = theorem_name(statement)
    if name is None:
        return "refused: the problem's statement declares no theorem name"
    clean_stmt = normalize_ws(strip_comments_and_strings(statement))
    for suffix in (":= by", ":="):
        if clean_stmt.endswith(suffix):
            clean_stmt = clean_stmt[: -len(suffix)].rstrip()
            break
    clean_body = normalize_ws(body)
    if clean_stmt not in clean_body:
        return f"refused: the candidate does not contain the problem's statement of {name!r} unchanged"
    after = clean_body[clean_body.index(clean_stmt) + len(clean_stmt):].lstrip()
    if not after.startswith(":="):
        return f"refused: the statement of {name!r} is followed by something other than ':='"
    declared = [m.group("name") for m in _DECL.finditer(body)]
    if declared.count(name) != 1:
        return f"refused: {name!r} is declared {declared.count(name)} times (expected once)"
    return None
