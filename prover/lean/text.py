"""Lean 4 source text read the way Lean's scanner reads it: the one lexer every module uses.

Why: what is code, what is a comment and what is a string decides what the policy
scans, where the header ends, which theorem a candidate proves and what a statement's
dedup key is. Several hand-written strippers had drifted apart (one knew ``«»`` names,
another not; none knew raw strings or char literals the same way), so a comment could
hide code from one reader and not from another. This module follows Lean's own
scanner at v4.24.0 (leanprover/lean4, ``src/Lean/Parser/Basic.lean``: ``whitespace``,
``finishCommentBlock``, ``strLitFnAux``, ``charLitFnAux``, ``rawStrLitFnAux``,
``quotedCharCoreFn``, ``identFnAux``, ``tokenFnAux``; ``src/Lean/Parser/StrInterpolation.lean``:
``interpolatedStrFn``; ``src/Init/Meta/Defs.lean``: ``isIdFirst``/``isIdRest``/``isLetterLike``,
with the Latin-1 and Latin Extended-A letters of lean4 #9035 and the ``ⱼ`` of #6679):

* ``--`` runs to the end of the line; ``/-`` opens a block comment that nests and ends at
  ``-/``, except ``/--`` (doc comment) and ``/-!`` (module doc), which are tokens that
  Lean parses (they end the header, and a doc comment must precede a declaration);
* ``"..."`` with the escapes ``\\\\ \\" \\' \\r \\n \\t \\xHH \\uHHHH`` and string gaps
  (``\\`` newline whitespace); ``r"..."`` / ``r#"..."#`` raw strings; a ``'`` that does not
  continue an identifier starts a char literal (``''`` does not);
* identifiers: ``isIdFirst`` then ``isIdRest`` characters, ``«...»`` escaped parts, joined by
  ``.`` when an identifier part follows it; `` `name `` literals;
* every other character is a symbol (runs of plain ASCII punctuation are one token). Lean's token table (which grows with every
  ``notation``) is not known here, except for the Mathlib tokens that end in ``'``
  (:data:`QUOTE_TOKENS`: ``∑'``, ``∏'``, ``⁻¹'``, and ``''``), read as symbols so that their ``'`` does
  not start a char literal; a ``'`` right after another symbol that does not form a whole
  char literal is taken as part of such a token, not reported (``s!`` reads as the
  identifier ``s!``, which is harmless for what is asked).

Nothing is swallowed: an unterminated comment, string, raw string, char literal or
``«`` is a token with its ``error`` set (Lean's wording) that runs to where Lean stops,
and :attr:`Scan.errors` lists them with the whitespace errors Lean raises (tabs,
isolated carriage returns).

Whether a string literal is interpolated (``s!"..{e}.."``, ``throwError "..{e}.."``)
depends on the parser, not the scanner; :func:`interpolation_differs` tells where the two
readings of a ``"`` end in different places (a ``"`` inside ``{...}``), which callers that
must not guess refuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# ------------------------------------------------------------------ character classes (Init/Meta/Defs.lean)


def is_letter_like(c: str) -> bool:
    v = ord(c)
    return (
        (0x3B1 <= v <= 0x3C9 and v != 0x3BB)  # lower Greek, but lambda
        or (0x391 <= v <= 0x3A9 and v != 0x3A0 and v != 0x3A3)  # upper Greek, but Pi and Sigma
        or 0x3CA <= v <= 0x3FB  # Coptic
        or 0x1F00 <= v <= 0x1FFE  # polytonic Greek
        or 0x2100 <= v <= 0x214F  # letter-like block (ℕ ℝ ℤ ...)
        or 0x1D49C <= v <= 0x1D59F  # script, double-struck, Fraktur
        or (0xC0 <= v <= 0xFF and v != 0xD7 and v != 0xF7)  # Latin-1 letters (lean4 #9035)
        or 0x100 <= v <= 0x17F  # Latin Extended-A (lean4 #9035)
    )


def is_subscript_alnum(c: str) -> bool:
    v = ord(c)
    return 0x2080 <= v <= 0x2089 or 0x2090 <= v <= 0x209C or 0x1D62 <= v <= 0x1D6A or v == 0x2C7C


def _ascii_alpha(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def is_id_first(c: str) -> bool:
    """``Lean.isIdFirst``: ``Char.isAlpha`` is ASCII-only in Lean; other letters come from the ranges."""
    return _ascii_alpha(c) or c == "_" or is_letter_like(c)


def is_id_rest(c: str) -> bool:
    return is_id_first(c) or ("0" <= c <= "9") or c in "'!?" or is_subscript_alnum(c)


ID_BEGIN_ESCAPE, ID_END_ESCAPE = "«", "»"

#: ``Char.isWhitespace`` in Lean.
WHITESPACE = " \t\r\n"

# ------------------------------------------------------------------ tokens

COMMENT = "comment"  # -- ... and /- ... -/
DOC = "doc"  # /-- ... -/
MODDOC = "moddoc"  # /-! ... -/
STRING = "string"  # "...", r"...", r#"..."#
CHAR = "char"  # 'a'
IDENT = "ident"
NAME = "name"  # `foo
NUMBER = "number"
SYMBOL = "symbol"

#: What :func:`mask` blanks by default: comments of every kind and literal contents.
TRIVIA = frozenset({COMMENT, DOC, MODDOC})
LITERALS = frozenset({STRING, CHAR})

#: Declaration keywords whose next identifier is the declared name (``example`` has none).
DECL_KEYWORDS = frozenset({
    "theorem", "lemma", "def", "abbrev", "instance", "example", "structure", "inductive", "class",
    "axiom", "opaque",
})


@dataclass(frozen=True)
class Token:
    kind: str
    start: int
    end: int
    error: str | None = None  # Lean's message when the token is malformed (unterminated ...)


@dataclass(frozen=True)
class LexError:
    """Where Lean's scanner stops with an error, in Lean's words."""

    offset: int
    message: str
    line: int  # 1-based
    column: int  # 0-based, in code points (as Lean reports positions)

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"


@dataclass
class Scan:
    text: str
    tokens: list[Token]
    errors: list[LexError] = field(default_factory=list)

    def code_tokens(self) -> list[Token]:
        """Tokens that are not comments (doc comments included)."""
        return [t for t in self.tokens if t.kind not in TRIVIA]

    def value(self, tok: Token) -> str:
        return self.text[tok.start : tok.end]

    @property
    def unterminated(self) -> list[LexError]:
        return [e for e in self.errors if "unterminated" in e.message or "missing end" in e.message]


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1)


def _error(text: str, offset: int, message: str) -> LexError:
    line, col = _position(text, offset)
    return LexError(offset, message, line, col)


def block_comment_end(text: str, i: int) -> int | None:
    """Index just past the ``-/`` closing the block comment whose body starts at ``i``; None at EOF.

    ``finishCommentBlock``: ``/-`` nests, ``-/`` closes, one character at a time otherwise.
    """
    depth, n = 1, len(text)
    while i < n:
        c = text[i]
        if c == "-" and i + 1 < n and text[i + 1] == "/":
            depth -= 1
            i += 2
            if depth == 0:
                return i
        elif c == "/" and i + 1 < n and text[i + 1] == "-":
            depth += 1
            i += 2
        else:
            i += 1
    return None


_HEX = frozenset("0123456789abcdefABCDEF")

#: Mathlib notation tokens that end in a quote (``tsum``, ``tprod``, ``Set.preimage``).
QUOTE_TOKENS = ("∑'", "∏'", "⁻¹'")


def _escape_end(text: str, i: int, *, in_string: bool, interpolant: bool = False) -> tuple[int, str | None]:
    """``quotedCharCoreFn`` at ``i`` (just after a backslash): (end, error)."""
    n = len(text)
    if i >= n:
        return i, "unexpected end of input"
    c = text[i]
    if c in "\\\"'rnt" or (interpolant and c == "{"):
        return i + 1, None
    if c in "xu":
        digits = 2 if c == "x" else 4
        ok = all(k < n and text[k] in _HEX for k in range(i + 1, i + 1 + digits))
        return (i + 1 + digits, None) if ok else (i + 1, "invalid hexadecimal numeral")
    if in_string and c == "\n":  # stringGapFn: the whitespace after it may hold no second newline
        j = i + 1
        while j < n and text[j] in WHITESPACE:
            if text[j] == "\n":
                return j, "unexpected additional newline in string gap"
            j += 1
        return j, None
    return i, "invalid escape sequence"


def string_end(text: str, i: int) -> tuple[int, str | None]:
    """``strLitFnAux`` from the opening ``"`` at ``i``: (index past the closing quote, error)."""
    j, n, err = i + 1, len(text), None
    while j < n:
        c = text[j]
        if c == '"':
            return j + 1, err
        if c == "\\":
            j, e = _escape_end(text, j + 1, in_string=True)
            err = err or e
            continue
        j += 1
    return n, "unterminated string literal"


def interpolated_end(text: str, i: int) -> tuple[int, str | None]:
    """``interpolatedStrFn`` from the ``"`` at ``i``: ``{...}`` holds a term (scanned as code) up to its ``}``."""
    j, n = i + 1, len(text)
    while j < n:
        c = text[j]
        if c == '"':
            return j + 1, None
        if c == "\\":
            j, e = _escape_end(text, j + 1, in_string=True, interpolant=True)
            if e:
                return j, e
            continue
        if c == "{":
            depth, k = 1, j + 1
            while True:
                tok = _next_token(text, k)
                if tok is None:
                    return n, "unterminated string literal"
                if tok.error and tok.kind != SYMBOL:
                    return tok.end, tok.error
                k = tok.end
                if tok.kind == SYMBOL and text[tok.start] == "{":
                    depth += 1
                elif tok.kind == SYMBOL and text[tok.start] == "}":
                    depth -= 1
                    if depth == 0:
                        break
            j = k
            continue
        j += 1
    return n, "unterminated string literal"


_RAW_START = re.compile(r'r(#*)"')


def _raw_string_end(text: str, i: int, hashes: int) -> tuple[int, str | None]:
    close = '"' + "#" * hashes
    j = text.find(close, i)
    return (len(text), "unterminated raw string literal") if j < 0 else (j + len(close), None)


def _ident_end(text: str, i: int) -> tuple[int, str | None]:
    """``identFnAux``: parts of ``isIdRest`` characters or ``«...»``, joined by ``.`` before another part."""
    n = len(text)
    while True:
        if text[i] == ID_BEGIN_ESCAPE:
            j = text.find(ID_END_ESCAPE, i + 1)
            if j < 0:
                return n, "unterminated identifier escape"
            i = j + 1
        else:
            i += 1
            while i < n:
                m = _ASCII_REST.match(text, i)  # the common case, without a Python loop per character
                if m:
                    i = m.end()
                elif is_id_rest(text[i]):
                    i += 1
                else:
                    break
        if i + 1 < n and text[i] == "." and (is_id_first(text[i + 1]) or text[i + 1] == ID_BEGIN_ESCAPE):
            i += 1
            continue
        return i, None


_NUMBER = re.compile(r"0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[0-9][0-9_]*(?:\.[0-9_]+)?(?:[eE][+-]?[0-9_]+)?")


_ASCII_REST = re.compile(r"[A-Za-z0-9_'!?]+")
#: ASCII symbols that start no comment, literal or identifier (not ``- / " ' ` { }``), read as one run.
_PLAIN_SYMBOLS = re.compile(r"[()\[\]:=+*,;<>|&^%$@~.#!?\\]+")
_WS_RUN = re.compile(r"[ \t\r\n]+")


def _skip_whitespace(text: str, i: int, errors: list[LexError] | None) -> int:
    m = _WS_RUN.match(text, i)
    if m is None:
        return i
    if errors is None or ("\t" not in m.group(0) and "\r" not in m.group(0)):
        return m.end()
    n = len(text)
    while i < n:
        c = text[i]
        if c in WHITESPACE:
            if errors is not None and c == "\t":
                errors.append(_error(text, i, "tabs are not allowed; please configure your editor to expand them"))
            elif errors is not None and c == "\r" and not text.startswith("\r\n", i):
                errors.append(_error(text, i, "isolated carriage returns are not allowed"))
            i += 1
        else:
            return i
    return i


def _next_token(text: str, i: int, errors: list[LexError] | None = None) -> Token | None:
    """The token (comments included) at or after ``i``, skipping whitespace; None at the end."""
    n = len(text)
    i = _skip_whitespace(text, i, errors)
    if i >= n:
        return None
    c = text[i]
    nxt = text[i + 1] if i + 1 < n else ""
    if c == "-" and nxt == "-":
        j = text.find("\n", i)
        return Token(COMMENT, i, n if j < 0 else j)
    if c == "/" and nxt == "-":
        third = text[i + 2] if i + 2 < n else ""
        kind = DOC if third == "-" else MODDOC if third == "!" else COMMENT
        # /-- and /-! bodies are read by the same finishCommentBlock (Command.lean: commentBody)
        end = block_comment_end(text, i + (3 if kind != COMMENT else 2))
        return Token(kind, i, n, "unterminated comment") if end is None else Token(kind, i, end)
    if c == '"':
        end, err = string_end(text, i)
        return Token(STRING, i, end, err)
    for qt in QUOTE_TOKENS:
        if text.startswith(qt, i):
            return Token(SYMBOL, i, i + len(qt))
    if c == "'" and nxt == "'":  # tokenFnAux: no char literal; Mathlib's `f '' s` (Set.image) token
        return Token(SYMBOL, i, i + 2)
    if c == "'" and nxt != "'":
        after_symbol = i > 0 and text[i - 1] not in WHITESPACE and not is_id_rest(text[i - 1])
        j = i + 1
        err: str | None = None
        if j >= n:
            return Token(CHAR, i, n, "missing end of character literal")
        if text[j] == "\\":
            j, err = _escape_end(text, j + 1, in_string=False)
        else:
            j += 1
        if err is None and j < n and text[j] == "'":
            return Token(CHAR, i, j + 1)
        if after_symbol:  # part of a notation token Lean's table knows (``f ⁻¹' s``-like)
            return Token(SYMBOL, i, i + 1)
        return Token(CHAR, i, min(j, n), err or "missing end of character literal")
    if c == "r" and (m := _RAW_START.match(text, i)):
        end, err = _raw_string_end(text, m.end(), len(m.group(1)))
        return Token(STRING, i, end, err)
    if "0" <= c <= "9":
        m = _NUMBER.match(text, i)
        return Token(NUMBER, i, m.end() if m else i + 1)
    if c == "`" and nxt and (is_id_first(nxt) or nxt == ID_BEGIN_ESCAPE):
        end, err = _ident_end(text, i + 1)
        return Token(NAME, i, end, err)
    if is_id_first(c) or c == ID_BEGIN_ESCAPE:
        end, err = _ident_end(text, i)
        return Token(IDENT, i, end, err)
    m = _PLAIN_SYMBOLS.match(text, i)  # a run of ASCII punctuation that can start nothing else
    return Token(SYMBOL, i, m.end() if m else i + 1)


def iter_tokens(text: str, errors: list[LexError] | None = None) -> Iterator[Token]:
    i = 0
    while True:
        tok = _next_token(text, i, errors)
        if tok is None:
            return
        if tok.error and errors is not None:
            errors.append(_error(text, tok.start, tok.error))
        yield tok
        i = max(tok.end, tok.start + 1)


def scan(text: str) -> Scan:
    """Every token of ``text`` in order (comments included), with Lean's lexical errors."""
    errors: list[LexError] = []
    tokens = list(iter_tokens(text, errors))
    return Scan(text, tokens, errors)


# ------------------------------------------------------------------ views of the text


def _blank(piece: str) -> str:
    """The same number of characters, newlines kept, everything else a space."""
    return "".join("\n" if ch == "\n" else " " for ch in piece)


def mask(text: str, kinds: Iterable[str] = TRIVIA | LITERALS, *, tokens: list[Token] | None = None) -> str:
    """``text`` with the tokens of ``kinds`` blanked, offsets unchanged.

    Comments become spaces (newlines kept); for strings and char literals the delimiters stay
    (``"  "``, ``' '``) and the contents are blanked, so the code around them reads the same and
    every position in the result is the position in ``text``.
    """
    kinds = frozenset(kinds)
    out: list[str] = []
    last = 0
    for tok in tokens if tokens is not None else iter_tokens(text):
        if tok.kind not in kinds:
            continue
        out.append(text[last : tok.start])
        piece = text[tok.start : tok.end]
        if tok.kind in LITERALS and not tok.error:
            q = 1 if tok.kind == CHAR or piece.startswith('"') else piece.index('"') + 1
            tail = 1 if tok.kind == CHAR or piece.startswith('"') else q - 1
            out.append(piece[:q] + _blank(piece[q : len(piece) - tail]) + piece[len(piece) - tail :])
        else:
            out.append(_blank(piece))
        last = tok.end
    out.append(text[last:])
    return "".join(out)


def strip_comments(text: str) -> str:
    """``text`` with every comment (doc comments included) blanked; strings kept; offsets unchanged."""
    if "--" not in text and "/-" not in text:  # no comment can start anywhere (this runs on every sample)
        return text
    return mask(text, TRIVIA)


def name_value(ident: str) -> str:
    """The name an identifier denotes: ``«my thm»`` -> ``my thm``, ``«a.b».c`` -> ``a.b.c``.

    (Lean's ``Name`` keeps ``«a.b»`` as one component; for comparing names as written, which is
    all callers need, the dotted string is enough.)
    """
    return ident.replace(ID_BEGIN_ESCAPE, "").replace(ID_END_ESCAPE, "")


@dataclass(frozen=True)
class Declaration:
    keyword: str  # theorem, lemma, def, ...
    name: str | None  # as written (``«»`` kept); None for ``example`` or an anonymous instance
    start: int  # offset of the keyword
    name_end: int  # offset just past the name (or the keyword)

    @property
    def value(self) -> str | None:
        return None if self.name is None else name_value(self.name)


def declarations(text: str, keywords: Iterable[str] = DECL_KEYWORDS, *, tokens: list[Token] | None = None
                 ) -> list[Declaration]:
    """Declaration keywords outside comments and strings, each with the identifier after it."""
    words = frozenset(keywords)
    code = [t for t in (tokens if tokens is not None else iter_tokens(text)) if t.kind not in TRIVIA]
    out = []
    for k, tok in enumerate(code):
        if tok.kind != IDENT or text[tok.start : tok.end] not in words:
            continue
        word = text[tok.start : tok.end]
        nxt = code[k + 1] if k + 1 < len(code) else None
        if word != "example" and nxt is not None and nxt.kind == IDENT and not nxt.error:
            out.append(Declaration(word, text[nxt.start : nxt.end], tok.start, nxt.end))
        else:
            out.append(Declaration(word, None, tok.start, tok.end))
    return out


def theorem_names(text: str) -> list[str]:
    """The names ``theorem``/``lemma`` declare in ``text``, in order, as written (``«»`` kept)."""
    return [d.name for d in declarations(text, ("theorem", "lemma")) if d.name is not None]


def theorem_name(statement: str) -> str | None:
    """The name a statement declares (``theorem foo ...`` -> ``foo``; ``«a b»`` kept quoted)."""
    names = theorem_names(statement)
    return names[0] if names else None


def interpolation_differs(text: str, tokens: list[Token] | None = None) -> Token | None:
    """The first string literal that ends elsewhere when read as an interpolated string, if any.

    ``"a {"}" b"``: as a plain literal it is ``"a {"``; after ``s!`` or ``throwError`` the ``{...}``
    holds a term and the literal runs to the last quote. Callers that must not guess refuse it.
    """
    for tok in tokens if tokens is not None else iter_tokens(text):
        if tok.kind == STRING and text[tok.start] == '"' and "{" in text[tok.start : tok.end]:
            end, _ = interpolated_end(text, tok.start)
            if end != tok.end:
                return tok
    return None
