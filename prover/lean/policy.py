"""Untrusted-code policy: refuse candidates that would run or change more than a proof.

Model-written Lean runs inside our processes. Before Lean sees a candidate we scan
its code (comments and string literals removed, as Lean's parser would) for
constructs that execute code (``#eval``, ``run_cmd``...), weaken the kernel
(``debug.skipKernelTC``), add trust (``axiom``, ``@[implemented_by]``,
``@[extern]``, ``unsafe``), or change what the proof's syntax means (new
``macro``/``syntax``/``elab``/``notation``), and check that the theorem it proves
is the problem's statement, unchanged and under its own name.

What also changes a statement's meaning without changing its text is refused:
``variable``/``include`` (a section variable ``(h : False)`` becomes a hypothesis),
``instance`` (a new ``Add ℝ`` instance is picked first), ``open ... renaming``, and
declaring a name the statement uses. Attributes are allow-listed (:data:`SAFE_ATTRIBUTES`):
others such as ``@[tactic]``, ``@[simproc]`` or ``@[aesop]`` register code that Lean runs.
Text the scanner cannot read the way Lean would (a quote inside a string's ``{...}``,
an unterminated string) is refused rather than guessed.
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
    (re.compile(r"(?<![\w'!?])unsafe"), "uses unsafe code"),
    (re.compile(r"(?<![\w'!?.])eval%"), "evaluates a term in the interpreter (eval%)"),
    (re.compile(r"set_option\s+debug\."), "sets a debug option"),
    (re.compile(_kw("skipKernelTC")), "switches off the kernel type checker"),
    (re.compile(_kw("initialize") + "|" + _kw("builtin_initialize")), "runs code at initialisation"),
    (re.compile("|".join(_kw(w) for w in (
        "macro", "macro_rules", "syntax", "elab", "elab_rules", "notation", "infix", "infixl",
        "infixr", "prefix", "postfix", "declare_syntax_cat", "binder_predicate", "notation3", "unif_hint"))),
     "defines new syntax that could change what the proof means"),
    (re.compile(_kw("import")), "has a second import section"),
    (re.compile(_kw("namespace")), "opens a namespace (the target theorem must be declared at top level)"),
    # found in review: each of these let a false theorem pass or ran code while elaborating
    (re.compile(r"#(?:guard|html|widget|test|sample|loogle|leansearch|moogle|statesearch)\b"),
     "runs code or queries the network"),
    (re.compile(r"#(?:guard_msgs|check_failure)\b"), "swallows Lean's messages (an error must fail the candidate)"),
    (re.compile(r"(?<![\w'!?.])(?:variable|include)(?![\w'.])"),
     "declares section variables (they can add hypotheses such as False to the theorem)"),
    (re.compile(_kw("instance")), "declares an instance (it can change what the statement means)"),
    (re.compile("|".join(_kw(w) for w in (
        "simproc", "dsimproc", "simproc_decl", "dsimproc_decl", "by_elab", "run_conv", "tactic",
        "declare_simp_like_tactic", "declare_config_elab", "register_option"))),
     "runs a metaprogram written in the candidate"),
    (re.compile(r"(?<![\w'!?.])builtin_\w+"), "uses a builtin-only command"),
    (re.compile(_kw("renaming")), "renames constants with `open ... renaming`"),
    (re.compile(r"set_option\s+[\w.]*skipKernel"), "switches off the kernel type checker"),
]

#: Attributes a candidate may use: they only tag proved lemmas or change unfolding. Any other
#: attribute may register code to run (``tactic``, ``term_elab``, ``simproc``, ``norm_num``,
#: ``aesop``...) or change what the statement means (``instance``, ``default_instance``).
SAFE_ATTRIBUTES = frozenset({
    "simp", "norm_cast", "push_cast", "reducible", "irreducible", "semireducible", "inline", "noinline",
    "specialize", "nolint", "ext", "congr", "gcongr", "refl", "symm", "trans", "elab_as_elim",
    "elab_without_expected_type", "match_pattern", "simps", "mono", "continuity", "measurability",
    "fun_prop", "grind", "bound", "field_simps", "mfld_simps", "parity_simps", "zify_simps",
    "qify_simps", "rify_simps", "to_additive", "deprecated", "inherit_doc", "pp_nodot", "nontriviality",
    "induction_eliminator", "cases_eliminator", "rfl", "local", "scoped",
})
_ATTR_OPEN = re.compile(r"@\[|(?<![\w'!?.])attribute\s*\[")
#: ``attribute [local instance] Classical.propDecidable``: what ``open Classical`` does, so allowed.
_CLASSICAL_INSTANCE = re.compile(
    r"(?<![\w'!?.])attribute\s*\[\s*(?:local\s+|scoped\s+)?instance\s*\](?:[ \t]+Classical\.[\w']+)+")

_DECL = re.compile(
    r"(?<![\w'!?.])(?:theorem|lemma|def|abbrev|instance|example|structure|inductive|class)\s+"
    r"(?P<name>[^\s(:{\[⦃]+)"
)
_THEOREM_NAME = re.compile(r"(?<![\w'!?.])(?:theorem|lemma)\s+(?P<name>(?:«[^»]*»|[^\s(:{\[⦃«])+)")


class _Ambiguous(ValueError):
    """Text that Lean might read differently from this scanner: refused, never guessed."""


_CHAR_LIT = re.compile(r"'(?:\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[\\\"'nrt])|[^\\'\n])'")
_RAW_STRING = re.compile(r'r(#*)"')
_IDENT_CHAR = re.compile(r"[\w'!?]")


def _strip(code: str, *, keep_quoted: bool = False) -> str:
    """Lean's lexical layer, enough to find code: drop comments and string contents, keep the rest.

    Handles nested ``/- -/`` comments, ``--`` comments, strings with escapes, raw strings
    (``r"..."``, ``r#"..."#``), char literals (``'"'``, ``'\\"'``, ``'\\''``), and ``«...»``
    identifiers (their contents become plain identifier characters, so ``«debug».x`` reads
    ``debug.x`` and ``«#eval»`` reads ``_eval``). The ``{...}`` parts of a string are kept as
    code, since in an interpolated string (``s!"{...}"``, ``throwError "{...}"``) they are
    elaborated. Raises :class:`_Ambiguous` where Lean's reading could differ from ours (a quote
    inside ``{...}`` of a string, an unterminated string or ``«``), so nothing can hide there.
    Removed text becomes a space; newlines are kept so line structure survives.
    """
    out: list[str] = []
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        token_start = i == 0 or not _IDENT_CHAR.match(code[i - 1])
        if code.startswith("/-", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if code.startswith("/-", i):
                    depth, i = depth + 1, i + 2
                elif code.startswith("-/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if code[i] == "\n":
                        out.append("\n")
                    i += 1
            out.append(" ")
        elif code.startswith("--", i):
            j = code.find("\n", i)
            i = n if j < 0 else j
            out.append(" ")
        elif c == "«":
            j = code.find("»", i + 1)
            if j < 0:
                raise _Ambiguous("an unterminated «")
            out.append(code[i : j + 1] if keep_quoted else (re.sub(r"[^\w'!?.]", "_", code[i + 1 : j]) or "_"))
            i = j + 1
        elif c == "r" and token_start and _RAW_STRING.match(code, i):
            hashes = _RAW_STRING.match(code, i).group(1)  # type: ignore[union-attr]
            close = '"' + hashes
            j = code.find(close, i + 2 + len(hashes))
            if j < 0:
                raise _Ambiguous("an unterminated raw string")
            out.append('""' + "\n" * code.count("\n", i, j))
            i = j + len(close)
        elif c == '"':
            j, depth, kept, seg = i + 1, 0, [], 0
            while True:
                if j >= n:
                    raise _Ambiguous("an unterminated string literal")
                d = code[j]
                if d == "\\":
                    j += 2
                    continue
                if d == "{":
                    if depth == 0:
                        seg = j + 1
                    depth += 1
                elif d == "}" and depth:
                    depth -= 1
                    if depth == 0:
                        kept.append(code[seg:j])
                elif d == '"':
                    if depth:
                        raise _Ambiguous("a quote inside {...} of a string (interpolation)")
                    break
                j += 1
            out.append('"' + " ".join(kept) + '"' + "\n" * code.count("\n", i, j))
            i = j + 1
        elif c == "'" and token_start and _CHAR_LIT.match(code, i):
            lit = _CHAR_LIT.match(code, i).group(0)  # type: ignore[union-attr]
            if '"' in lit and i and not re.match(r"[\s(\[{,:=]", code[i - 1]):
                raise _Ambiguous(f"a quote character literal right after {code[i - 1]!r}")
            out.append("' '")
            i += len(lit)
        else:
            out.append(c)
            i += 1
    return "".join(out)


def strip_comments_and_strings(code: str) -> str:
    """:func:`_strip`, but text it cannot read safely is returned with strings left in (for display)."""
    try:
        return _strip(code)
    except _Ambiguous:
        return code


def normalize_ws(text: str) -> str:
    return " ".join(text.split())


def _names_text(code: str) -> str:
    """Comment-free text with ``«»`` names as written (for names sent back to Lean)."""
    try:
        return _strip(code, keep_quoted=True)
    except _Ambiguous:
        return code


def theorem_name(statement: str) -> str | None:
    """The name declared by a statement (``theorem foo ...`` -> ``foo``; ``«a b»`` kept quoted)."""
    m = _THEOREM_NAME.search(_names_text(statement))
    return m.group("name") if m else None


def target_theorem(code: str, statement: str | None) -> str | None:
    """The theorem whose axioms decide the verdict: the statement's, else the code's last theorem."""
    if statement:
        name = theorem_name(statement)
        if name:
            return name
    names = _THEOREM_NAME.findall(_names_text(code))
    return names[-1] if names else None


_MODULE = re.compile(r"[\w'!?.]+")
_NEXT_TOKEN = re.compile(r"\s*(?P<tok>[\w'!?.«]+|\S|$)")
_COMMAND_WORDS = frozenset({
    "theorem", "lemma", "def", "abbrev", "example", "open", "set_option", "attribute", "noncomputable",
    "private", "protected", "section", "end", "universe", "structure", "inductive", "class", "mutual",
    "namespace", "", "@",
})


def _drop_classical_instances(body: str) -> str:
    """Blank ``attribute [local instance] Classical.x`` when nothing but Classical names follow
    (``attribute`` takes any number of names, also on the next lines)."""
    out, last = [], 0
    for m in _CLASSICAL_INSTANCE.finditer(body):
        nxt = _NEXT_TOKEN.match(body, m.end())
        tok = nxt.group("tok") if nxt else ""
        if tok in _COMMAND_WORDS or not re.match(r"[\w«]", tok):
            out.append(body[last : m.start()] + " ")
            last = m.end()
    return "".join(out) + body[last:]


def _split_stripped(stripped: str) -> tuple[list[str], str]:
    """(import lines, body) of comment-free text: leading blank and ``import`` lines form the header."""
    lines = stripped.split("\n")
    k = 0
    while k < len(lines) and (not lines[k].strip() or lines[k].split()[0] == "import"):
        k += 1
    return [ln for ln in lines[:k] if ln.strip()], "\n".join(lines[k:])


def _bad_attribute(body: str) -> str | None:
    """The first attribute outside :data:`SAFE_ATTRIBUTES` in ``@[...]`` / ``attribute [...]``."""
    for m in _ATTR_OPEN.finditer(body):
        depth, j = 1, m.end()
        while j < len(body) and depth:
            depth += {"[": 1, "]": -1}.get(body[j], 0)
            j += 1
        inner = body[m.end() : j - 1]
        parts, level, cur = [], 0, ""
        for ch in inner:
            level += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(ch, 0)
            if ch == "," and level == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        parts.append(cur)
        for part in parts:
            words = part.replace("-", " ").split()
            while words and words[0] in ("local", "scoped"):
                words = words[1:]
            name = words[0] if words else ""
            if name not in SAFE_ATTRIBUTES:
                return name or "(empty)"
    return None


_BINDERS = re.compile(r"[(\[{⦃]\s*(?P<names>[^:()\[\]{}⦃⦄]+?)\s*:|(?:∀|∃!?|fun|λ|∑|∏|⋃|⋂)\s*(?P<q>[^,:=]+?)\s*[,:]")
_IDENT = re.compile(r"[^\W\d][\w'!?.]*")


def _free_names(statement: str) -> set[str]:
    """Last components of the identifiers a statement uses that are not its own binders."""
    bound: set[str] = set()
    for m in _BINDERS.finditer(statement):
        bound.update((m.group("names") or m.group("q") or "").split())
    return {t.rstrip(".").split(".")[-1] for t in _IDENT.findall(statement)} - bound


def check_candidate(code: str, statement: str | None, header: str | None = None) -> str | None:
    """None if the candidate may go to Lean, else the reason it is refused.

    ``statement`` is the problem's formal statement (with its theorem name); when given,
    the candidate must contain it unchanged after whitespace normalisation, declare that
    name exactly once, and prove nothing else under it.

    ``header`` is the problem's header (imports, ``open``/``set_option`` lines, definitions
    the statement uses). When given, its non-import part must precede the statement
    unchanged, and the candidate may not declare anything else under a name the statement
    uses. Without it that last check cannot tell a problem's own ``def f`` (ProofNet) from a
    candidate's ``def sqrt`` replacing ``Real.sqrt`` after dropping ``open Real``, so it is
    skipped: callers that know the header should pass it.
    """
    if "\x00" in code:
        return "refused: contains a NUL character"
    try:
        imports, body = _split_stripped(_strip(code))
    except _Ambiguous as e:
        return f"refused: {e} (the text could be read two ways)"
    for line in imports:
        mods = line.split()[1:]
        if not mods or not all(_MODULE.fullmatch(m) for m in mods):
            return f"refused: the import line {line.strip()!r} names something other than modules"
    body = _drop_classical_instances(body)
    for pattern, reason in _FORBIDDEN:
        m = pattern.search(body)
        if m:
            return f"refused: {reason} ({m.group(0).strip()!r})"
    bad = _bad_attribute(body)
    if bad is not None:
        return f"refused: uses the attribute {bad!r} (not in policy.SAFE_ATTRIBUTES: it may run code)"
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
    key_match = _THEOREM_NAME.search(_strip(statement))  # the name as it reads in ``body`` («» folded)
    key = key_match.group("name") if key_match else name
    declared = [m.group("name") for m in _DECL.finditer(body)]
    if declared.count(key) != 1:
        return f"refused: {name!r} is declared {declared.count(key)} times (expected once)"
    if header is None:
        return None
    try:
        _, header_body = _split_stripped(_strip(header))
    except _Ambiguous as e:
        return f"refused: the problem's header has {e}"
    clean_header = normalize_ws(header_body)
    if clean_header and clean_header not in clean_body[: clean_body.index(clean_stmt)]:
        return f"refused: the candidate does not contain the problem's header before {name!r} unchanged"
    own = [m.group("name") for m in _DECL.finditer(header_body)]
    free = _free_names(clean_stmt) - {key.split(".")[-1]}
    for other in declared:
        if other not in own and other != key and other.split(".")[-1] in free:
            return f"refused: declares {other!r}, a name the statement of {name!r} uses (it could change its meaning)"
    return None
