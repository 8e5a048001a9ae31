"""The one Lean lexer (prover/lean/text.py): Lean's scanner rules at v4.24.0, and properties."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from prover.lean import text as lex

# characters that matter to Lean's scanner, plus ordinary ones
LEAN_CHARS = st.sampled_from(list("-/!\"'\\{}r#«»`.a_1 \n\tx∑⁻¹é") + ["--", "/-", "-/", "/--", "/-!", 'r#"', '"#'])
lean_text = st.lists(LEAN_CHARS, max_size=60).map("".join)
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


def kinds(text: str) -> list[tuple[str, str]]:
    sc = lex.scan(text)
    return [(t.kind, sc.value(t)) for t in sc.tokens]


def test_comments_nest_and_doc_comments_are_tokens() -> None:
    assert kinds("a /- x /- y -/ z -/ b") == [("ident", "a"), ("comment", "/- x /- y -/ z -/"), ("ident", "b")]
    assert kinds("/-- doc /- inner -/ -/ theorem") == [("doc", "/-- doc /- inner -/ -/"), ("ident", "theorem")]
    assert kinds("/-! # Module -/") == [("moddoc", "/-! # Module -/")]
    assert kinds("x -- c /- not a block\ny") == [("ident", "x"), ("comment", "-- c /- not a block"), ("ident", "y")]
    assert kinds("a/-b-/c") == [("ident", "a"), ("comment", "/-b-/"), ("ident", "c")]  # no space needed


def test_strings_escapes_raw_strings_and_chars() -> None:
    assert kinds('"a \\" -- b" c') == [("string", '"a \\" -- b"'), ("ident", "c")]
    assert kinds('r#"a " b"# c') == [("string", 'r#"a " b"#'), ("ident", "c")]
    assert kinds('r"x" r##"y"#"##') == [("string", 'r"x"'), ("string", 'r##"y"#"##')]
    assert kinds("'\"' '\\'' '\\x41' '\\u03b1'") == [("char", "'\"'"), ("char", "'\\''"), ("char", "'\\x41'"),
                                                      ("char", "'\\u03b1'")]
    # a string gap: backslash, newline, indentation
    assert kinds('"ab\\\n   cd" e') == [("string", '"ab\\\n   cd"'), ("ident", "e")]
    assert lex.scan('"ab\\\n\n cd"').errors[0].message == "unexpected additional newline in string gap"
    assert lex.scan('"\\q"').errors[0].message == "invalid escape sequence"


def test_identifiers_follow_leans_character_classes() -> None:
    assert kinds("h' x₁ hⱼ α.β ℝ foo.bar? x!") == [
        ("ident", "h'"), ("ident", "x₁"), ("ident", "hⱼ"), ("ident", "α.β"), ("ident", "ℝ"), ("ident", "foo.bar?"),
        ("ident", "x!")]
    assert kinds("théorème") == [("ident", "théorème")]  # Latin-1 letters (lean4 #9035, in v4.24.0)
    assert kinds("λ") == [("symbol", "λ")]  # lambda is not a letter for Lean
    assert kinds("«my thm».x «#eval»") == [("ident", "«my thm».x"), ("ident", "«#eval»")]
    assert kinds("foo.{u}") == [("ident", "foo"), ("symbol", "."), ("symbol", "{"), ("ident", "u"), ("symbol", "}")]
    assert kinds("`Nat.add") == [("name", "`Nat.add")]


def test_quote_tokens_are_not_char_literals() -> None:
    assert kinds("f '' s") == [("ident", "f"), ("symbol", "''"), ("ident", "s")]
    assert kinds("∑' n, f n")[0] == ("symbol", "∑'")
    assert kinds("f ⁻¹' s")[1] == ("symbol", "⁻¹'")
    assert lex.scan("(∑' n : ℕ, (0 : ℝ))").errors == []


def test_unterminated_things_are_reported_with_leans_wording() -> None:
    for code, message in (("a /- b", "unterminated comment"), ('x := "abc', "unterminated string literal"),
                          ('r#"abc"', "unterminated raw string literal"), ("x 'a", "missing end of character literal"),
                          ("«abc", "unterminated identifier escape"), ("/-- doc", "unterminated comment")):
        errors = lex.scan(code).errors
        assert [e.message for e in errors] == [message], code
    e = lex.scan("ok\n  /- open").errors[0]
    assert (e.line, e.column, str(e)) == (2, 2, "2:2: unterminated comment")
    assert lex.scan("a\tb").errors[0].message.startswith("tabs are not allowed")


def test_declarations_and_theorem_names() -> None:
    code = ("/-- theorem hidden -/ -- lemma gone\n@[simp] theorem «my thm» : True := trivial\n"
            "private lemma foo.bar' (x : ℕ) : x = x := rfl\nexample : True := trivial\ndef s := \"theorem no\"\n"
            "instance : Inhabited ℕ := ⟨0⟩")
    decls = lex.declarations(code)
    assert [(d.keyword, d.name) for d in decls] == [("theorem", "«my thm»"), ("lemma", "foo.bar'"), ("example", None),
                                                    ("def", "s"), ("instance", None)]
    assert decls[0].value == "my thm"
    assert lex.theorem_names(code) == ["«my thm»", "foo.bar'"]
    assert lex.theorem_name("theorem x.theorem : True := trivial") == "x.theorem"


def test_interpolation_reading_is_compared_not_guessed() -> None:
    assert lex.interpolation_differs('s!"a {x} b"') is None
    assert lex.interpolation_differs('def s := "{"\n#eval 1\ndef q := "}"') is not None
    assert lex.interpolation_differs('s!"{"x"}"') is not None


# ------------------------------------------------------------------ properties


@settings(max_examples=300, deadline=None)
@given(st.one_of(lean_text, any_text))
def test_masking_never_changes_offsets(text: str) -> None:
    for kinds_ in (lex.TRIVIA | lex.LITERALS, lex.TRIVIA, {lex.COMMENT}):
        out = lex.mask(text, kinds_)
        assert len(out) == len(text)
        for a, b in zip(text, out, strict=True):
            assert b == a or (b == " " and a != "\n")
        assert [i for i, c in enumerate(out) if c == "\n"] == [i for i, c in enumerate(text) if c == "\n"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(lean_text, any_text))
def test_any_text_round_trips_through_the_tokens(text: str) -> None:
    sc = lex.scan(text)
    rebuilt, last = [], 0
    for tok in sc.tokens:
        assert last <= tok.start < tok.end <= len(text)
        gap = text[last : tok.start]
        assert gap.strip(lex.WHITESPACE) == ""  # only whitespace lies between tokens
        rebuilt += [gap, text[tok.start : tok.end]]
        last = tok.end
    rebuilt.append(text[last:])
    assert "".join(rebuilt) == text and text[last:].strip(lex.WHITESPACE) == ""
    # masked text has no comment left: scanning it again finds none
    assert not any(t.kind in lex.TRIVIA for t in lex.scan(lex.mask(text, lex.TRIVIA | lex.LITERALS)).tokens
                   if t.error is None)


def nested_comment(depth: int) -> st.SearchStrategy[str]:
    inner = st.text(alphabet="ab -/\n", max_size=8).filter(lambda s: "/-" not in s and "-/" not in s
                                                            and not s.endswith(("-", "/")) and not s.startswith(("-", "!")))
    if depth == 0:
        return inner.map(lambda s: "/- " + s + " -/")
    return st.tuples(inner, nested_comment(depth - 1), inner).map(lambda t: "/- " + t[0] + " " + t[1] + " " + t[2] + " -/")


@given(st.integers(0, 4).flatmap(nested_comment))
def test_nested_comments_are_one_token(comment: str) -> None:
    assert kinds("x " + comment + " y") == [("ident", "x"), ("comment", comment), ("ident", "y")]
    assert lex.scan(comment[:-2]).errors[0].message == "unterminated comment"  # drop the last -/


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='"\\'), max_size=40))
def test_unterminated_strings_are_reported_not_swallowed(body: str) -> None:
    sc = lex.scan('x "' + body)
    assert [e.message for e in sc.errors if "tabs" not in e.message and "carriage" not in e.message] == [
        "unterminated string literal"]
    assert sc.tokens[-1].kind == lex.STRING and sc.tokens[-1].end == len(body) + 3
