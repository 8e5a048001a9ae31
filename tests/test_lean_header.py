"""Header splitting by Lean's header grammar (imports exactly as written) and shifting positions back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from prover.lean.header import (
    INVALID_IMPORT,
    UNEXPECTED_IDENT,
    imports,
    shift_messages,
    shift_sorries,
    split_header,
)
from prover.records import Message, Pos


def test_imports_are_kept_exactly_as_written() -> None:
    # (this used to collapse every Mathlib.X into `import Mathlib` and drop duplicates; Lean does neither)
    code = "import Mathlib.Tactic\nimport Mathlib.Data.Real.Basic\nimport Aesop\nimport Aesop\n\ntheorem t : True := trivial"
    s = split_header(code)
    assert s.header == "import Mathlib.Tactic\nimport Mathlib.Data.Real.Basic\nimport Aesop\nimport Aesop"
    assert imports(s.header) == ["Mathlib.Tactic", "Mathlib.Data.Real.Basic", "Aesop", "Aesop"]
    assert s.body == "theorem t : True := trivial" and s.error is None
    assert s.offset == 5
    # equal headers (comments and spacing aside) share a key, so a warm worker is reused
    assert split_header("import  Mathlib -- all of it\ntheorem u : True := trivial").header == "import Mathlib"


def test_set_option_and_open_stay_in_the_body() -> None:
    s = split_header("import Mathlib\nset_option maxHeartbeats 400000\nopen Real\ntheorem t : True := trivial")
    assert s.header == "import Mathlib" and s.offset == 1
    assert s.body.startswith("set_option maxHeartbeats")


def test_empty_header_and_header_only() -> None:
    assert split_header("theorem t : True := trivial") == split_header("theorem t : True := trivial")
    s = split_header("theorem t : True := trivial")
    assert (s.header, s.offset) == ("", 0)
    s = split_header("import Mathlib\n")
    assert (s.header, s.body, s.offset) == ("import Mathlib", "", 1)


def test_import_takes_one_module_so_a_second_name_is_an_error() -> None:
    s = split_header("import Mathlib.Tactic Aesop\nexample : True := trivial")
    assert s.header == "import Mathlib.Tactic"
    assert s.error is not None and s.error.data == UNEXPECTED_IDENT
    assert (s.error.pos, s.error.end_pos) == (Pos(1, 22), Pos(1, 27))
    # a command on the import's line is fine: `theorem` is a keyword, not a module
    s = split_header("import Mathlib theorem t : True := trivial")
    assert s.error is None and s.header == "import Mathlib" and s.body.strip() == "theorem t : True := trivial"
    assert s.body.index("theorem") == len("import Mathlib ")  # columns are kept


def test_an_import_after_the_body_starts_is_an_error_with_leans_wording() -> None:
    s = split_header("theorem t : True := trivial\nimport Mathlib")
    assert s.header == "" and "import Mathlib" in s.body
    assert s.error is not None and s.error.data == INVALID_IMPORT and s.error.pos == Pos(2, 0)
    for code in ("/-! # Notes -/\nimport Mathlib\ntheorem t : True := trivial",  # a module doc is a command
                 "open Real\nimport Mathlib\ntheorem t : True := trivial",
                 "import Mathlib\n/-! notes -/\nimport Aesop\ntheorem t : True := trivial"):
        s = split_header(code)
        assert s.error is not None and s.error.data == INVALID_IMPORT, code
    s = split_header("/-- The problem. -/\nimport Mathlib\ntheorem t : True := trivial")
    assert s.error is not None and "unexpected token 'import'" in s.error.data and "doc comment" in s.error.data
    # `«import»` is an identifier, and `import` in a comment or a string is no command
    ok = split_header('import Mathlib\ndef «import» := "import X" -- import Y\n/- import Z -/')
    assert ok.error is None and ok.header == "import Mathlib"


def test_header_grammar_at_v4_24_0() -> None:
    s = split_header("module\n\nprelude\npublic import A.B\nmeta import C\nimport all D\npublic section\ndef x := 1")
    assert s.header == "module\nprelude\npublic import A.B\nmeta import C\nimport all D"
    assert s.body.startswith("public section") and s.offset == 6 and s.error is None
    s = split_header("import\n")
    assert s.error is not None and "expected identifier" in s.error.data


def test_shift_keeps_tactic_mode_positions() -> None:
    msgs = [Message("error", "x", Pos(1, 2), Pos(2, 0)), Message("info", "y", Pos(0, 0), None)]
    out = shift_messages(msgs, 3)
    assert out[0].pos == Pos(4, 2) and out[0].end_pos == Pos(5, 0)
    assert out[1].pos == Pos(0, 0) and out[1].end_pos is None
    sorries = [{"goal": "g", "pos": {"line": 2, "column": 1}, "endPos": {"line": 2, "column": 6}, "proofState": 0},
               {"goal": "h", "proofState": 1}]
    shifted = shift_sorries(sorries, 3)
    assert shifted[0]["pos"] == {"line": 5, "column": 1} and shifted[0]["endPos"]["line"] == 5
    assert shifted[1] == sorries[1]
    assert sorries[0]["pos"]["line"] == 2  # inputs are not mutated


header_line = st.one_of(
    st.just(""),
    st.sampled_from(["Mathlib", "Mathlib.Tactic", "Aesop", "Mathlib.Data.Nat.Basic", "Batteries"]).map(
        lambda m: f"import {m}"
    ),
)
body_line = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=40)


@given(st.lists(header_line, max_size=6), st.lists(body_line, min_size=1, max_size=6).filter(
    lambda ls: ls[0].strip() != "" and not ls[0].strip().startswith(("import", "--", "module", "prelude", "public",
                                                                      "meta"))))
def test_split_then_shift_maps_body_lines_back_to_the_candidate(headers: list[str], body: list[str]) -> None:
    code = "\n".join(headers + body)
    s = split_header(code)
    lines, blines = code.split("\n"), s.body.split("\n")
    assert s.offset + len(blines) == len(lines)
    for i, text in enumerate(blines, 1):  # a message at body line i points at the same text in the candidate
        (m,) = shift_messages([Message("error", "e", Pos(i, 0))], s.offset)
        orig = lines[m.pos.line - 1]
        # the first body line may have its header part blanked; columns never move
        assert text == orig or (i == 1 and len(text) == len(orig) and orig.endswith(text.lstrip()))
    assert s.header.splitlines() == [h for h in headers if h]  # as written, in order


def test_block_comments_before_and_between_imports_are_whitespace() -> None:
    # an `import` after a leading /- -/ comment must reach the header: Lean rejects it in a body
    code = "/- Problem 1\n   from a contest -/\nimport Mathlib\n/- notes -/\nimport Aesop\ntheorem t : True := trivial"
    s = split_header(code)
    assert s.header == "import Mathlib\nimport Aesop" and s.error is None
    assert s.body == "theorem t : True := trivial" and s.offset == 5
    # code after the comment's close: the body starts on that line, the comment's end blanked
    s = split_header("import Mathlib\n/- a\n-/ theorem t : True := trivial")
    assert s.header == "import Mathlib" and s.offset == 2 and s.body == "   theorem t : True := trivial"
    # an unterminated comment is left to Lean, in the body
    s = split_header("import Mathlib\n/- open\ntheorem t : True := trivial")
    assert s.offset == 1 and s.body.startswith("/- open")


def test_a_trailing_comment_on_an_import_line_leaves_no_comment_end_in_the_body() -> None:
    s = split_header("import Mathlib /- c -/\ntheorem t : True := trivial")
    assert (s.header, s.body, s.offset) == ("import Mathlib", "theorem t : True := trivial", 1)
    s = split_header("import Mathlib /- a\n   b -/ theorem t : True := trivial")
    assert s.header == "import Mathlib" and s.offset == 1
    assert not s.body.lstrip().startswith("-/") and s.body == "        theorem t : True := trivial"


def test_comments_on_import_lines_do_not_become_modules() -> None:
    s = split_header("import Mathlib /- why -/ import Aesop\nimport Batteries -- note\ntheorem t : True := trivial")
    assert s.header == "import Mathlib\nimport Aesop\nimport Batteries"
    assert s.offset == 2 and s.error is None


async def test_the_pool_judges_a_bad_header_as_lean_does_without_running_it() -> None:
    from prover.lean.double_pools import scripted_verifier
    from prover.records import Candidate

    pool = scripted_verifier([{"match": "trivial", "response": {}}])  # any of these bodies would come back proved
    try:
        bad = ["/-! # Problem 7 -/\nimport Mathlib\ntheorem t : True := trivial",
               "/-- doc -/\nimport Mathlib\ntheorem t : True := trivial",
               "import Mathlib Aesop\ntheorem t : True := trivial"]
        good = "import Mathlib.Tactic /- why -/\ntheorem t : True := trivial"
        vs = await pool.verify([Candidate(problem="p", code=c) for c in [*bad, good]])
    finally:
        await pool.aclose()
    assert [v.status for v in vs] == ["failed", "failed", "failed", "proved"]
    assert vs[0].messages[0].data == INVALID_IMPORT and vs[0].messages[0].pos == Pos(2, 0)
    assert vs[2].messages[0].data == UNEXPECTED_IDENT and vs[0].reason.startswith("header error: invalid 'import'")
    assert pool.stats["started"] == 1  # only the good candidate reached a REPL
