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
Setting ``Elab.*`` or ``internal.*`` options is refused too (lean4 #7570, #8746). The text
is read by :mod:`prover.lean.text` (Lean's scanner) and the header by
:func:`prover.lean.header.split_header`; text Lean would reject lexically (an unterminated
comment or string) or that could be read two ways (a quote inside a string's ``{...}``) is
refused rather than guessed.
"""

from __future__ import annotations

import re

from prover.lean import text as lex
from prover.lean.header import split_header

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
    # repl v4.24.0 elaborates commands on one path only; these options leave it (lean4 #7570: Elab.async
    # reorders messages and info trees; #8746: internal.* options are for Lean's own test suite)
    (re.compile(r"set_option\s+(?:Elab|internal)\."),
     "sets an Elab.* or internal.* option (it leaves the REPL's tested elaboration path)"),
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

class _Ambiguous(ValueError):
    """Text that Lean might read differently from this scanner: refused, never guessed."""


def _fold_quoted(ident: str) -> str:
    """``«x y».z`` -> ``x_y.z``: an escaped part read as plain identifier characters (``«#eval»`` -> ``_eval``)."""
    return re.sub("«([^»]*)»", lambda m: re.sub(r"[^\w'!?.]", "_", m.group(1)) or "_", ident)


def _interpolated_parts(literal: str) -> list[str]:
    """The ``{...}`` parts of a string literal's contents, which Lean elaborates when it is interpolated."""
    kept, depth, seg, j = [], 0, 0, 1
    while j < len(literal) - 1:
        d = literal[j]
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
                kept.append(literal[seg:j])
        j += 1
    return kept


def _strip(code: str, *, keep_quoted: bool = False) -> str:
    """The code of ``code`` as :mod:`prover.lean.text` reads it (Lean's scanner), for pattern checks.

    Comments (doc comments included) become a space, string and char literals their empty
    delimiters, with the ``{...}`` parts of strings kept as code (in an interpolated string,
    ``s!"{...}"`` or ``throwError "{...}"``, they are elaborated); ``«...»`` parts of identifiers
    become plain identifier characters (``«debug».x`` reads ``debug.x``, ``«#eval»`` ``_eval``)
    unless ``keep_quoted``. Newlines are kept so line structure survives. Raises
    :class:`_Ambiguous` where Lean's reading is an error or could differ from ours: a lexical
    error (unterminated comment, string, raw string, char literal or ``«``), or a string that
    ends elsewhere when read as interpolated (a quote inside its ``{...}``).
    """
    sc = lex.scan(code)
    bad = [e for e in sc.errors if "tabs" not in e.message and "carriage" not in e.message]
    if bad:
        raise _Ambiguous(f"{bad[0].message} at {bad[0].line}:{bad[0].column}")
    if lex.interpolation_differs(code, sc.tokens) is not None:
        raise _Ambiguous("a quote inside {...} of a string (interpolation)")
    out: list[str] = []
    last = 0
    for tok in sc.tokens:
        piece = code[tok.start : tok.end]
        if tok.kind in lex.TRIVIA:
            rep = " " + "\n" * piece.count("\n")
        elif tok.kind == lex.STRING:
            parts = _interpolated_parts(piece) if piece.startswith('"') else []
            rep = '"' + " ".join(parts) + '"' + "\n" * piece.count("\n")
        elif tok.kind == lex.CHAR:
            before = code[tok.start - 1] if tok.start else " "
            if '"' in piece and not re.match(r"[\s(\[{,:=]", before):
                # after a symbol, Lean's token table may hold a token ending in ' (∑'): then " opens a string
                raise _Ambiguous(f"a quote character literal right after {before!r}")
            rep = "' '"
        elif tok.kind == lex.IDENT and "«" in piece and not keep_quoted:
            rep = _fold_quoted(piece)
        else:
            continue
        out.append(code[last : tok.start] + rep)
        last = tok.end
    out.append(code[last:])
    return "".join(out)


def strip_comments_and_strings(code: str) -> str:
    """:func:`_strip`, but text it cannot read safely is returned with strings left in (for display)."""
    try:
        return _strip(code)
    except _Ambiguous:
        return code


def normalize_ws(text: str) -> str:
    return " ".join(text.split())


def theorem_name(statement: str) -> str | None:
    """The name declared by a statement (``theorem foo ...`` -> ``foo``; ``«a b»`` kept quoted)."""
    return lex.theorem_name(statement)


def target_theorem(code: str, statement: str | None) -> str | None:
    """The theorem whose axioms decide the verdict: the statement's, else the code's last theorem."""
    if statement:
        name = theorem_name(statement)
        if name:
            return name
    names = lex.theorem_names(code)
    return names[-1] if names else None


def _declared(body: str) -> list[str]:
    """Names declared in comment-free ``body`` (``«»`` folded as in :func:`_strip`)."""
    return [d.name for d in lex.declarations(body) if d.name is not None]


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


def _body(code: str) -> str:
    """The comment-free body: what follows the header as Lean parses it (:func:`header.split_header`)."""
    return _strip(split_header(code).body)


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
        body = _body(code)
    except _Ambiguous as e:
        return f"refused: {e} (the text could be read two ways)"
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
    key = _fold_quoted(name)  # the name as it reads in ``body`` («» folded)
    declared = _declared(body)
    if declared.count(key) != 1:
        return f"refused: {name!r} is declared {declared.count(key)} times (expected once)"
    if header is None:
        return None
    try:
        header_body = _body(header)
    except _Ambiguous as e:
        return f"refused: the problem's header has {e}"
    clean_header = normalize_ws(header_body)
    if clean_header and clean_header not in clean_body[: clean_body.index(clean_stmt)]:
        return f"refused: the candidate does not contain the problem's header before {name!r} unchanged"
    own = _declared(header_body)
    free = _free_names(clean_stmt) - {key.split(".")[-1]}
    for other in declared:
        if other not in own and other != key and other.split(".")[-1] in free:
            return f"refused: declares {other!r}, a name the statement of {name!r} uses (it could change its meaning)"
    return None
