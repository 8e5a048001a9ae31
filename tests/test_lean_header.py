"""Header splitting (kimina's rule, with normalised imports) and shifting positions back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from prover.lean.header import shift_messages, shift_sorries, split_header
from prover.records import Message, Pos


def test_mathlib_imports_collapse_and_duplicates_drop() -> None:
    code = "import Mathlib.Tactic\nimport Mathlib.Data.Real.Basic\nimport Aesop\nimport Aesop\n\ntheorem t : True := trivial"
    s = split_header(code)
    assert s.header == "import Mathlib\nimport Aesop"
    assert s.body == "theorem t : True := trivial"
    assert s.offset == 5


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


def test_several_modules_on_one_import_line() -> None:
    assert split_header("import Mathlib.Tactic Aesop\nexample : True := trivial").header == "import Mathlib\nimport Aesop"


def test_an_import_after_the_body_starts_stays_in_the_body() -> None:
    s = split_header("theorem t : True := trivial\nimport Mathlib")
    assert s.header == "" and "import Mathlib" in s.body  # Lean itself reports this as an error


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
    lambda ls: ls[0].strip() != "" and not ls[0].strip().startswith(("import", "--"))))
def test_split_then_shift_maps_body_lines_back_to_the_candidate(headers: list[str], body: list[str]) -> None:
    code = "\n".join(headers + body)
    s = split_header(code)
    assert s.body == "\n".join(body)
    assert s.offset == len(headers)
    lines = code.split("\n")
    for i, text in enumerate(body, 1):  # a message at body line i points at the same text in the candidate
        (m,) = shift_messages([Message("error", "e", Pos(i, 0))], s.offset)
        assert lines[m.pos.line - 1] == text
    assert all(h.startswith("import ") for h in s.header.splitlines())
    assert len(set(s.header.splitlines())) == len(s.header.splitlines())
    assert all(h == "import Mathlib" or "Mathlib" not in h for h in s.header.splitlines())


def test_block_comments_before_and_between_imports_belong_to_the_header() -> None:
    # an `import` after a leading /- -/ comment used to land in the body, where Lean rejects it
    code = "/- Problem 1\n   from a contest -/\nimport Mathlib\n/-! notes -/\nimport Aesop\ntheorem t : True := trivial"
    s = split_header(code)
    assert s.header == "import Mathlib\nimport Aesop"
    assert s.body == "theorem t : True := trivial" and s.offset == 5
    # code after the comment's close on the same line is body, so the comment stays with it
    s = split_header("import Mathlib\n/- a\n-/ theorem t : True := trivial")
    assert s.header == "import Mathlib" and s.offset == 1 and s.body.startswith("/- a")
    # an unterminated comment is left to Lean, in the body
    s = split_header("import Mathlib\n/- open\ntheorem t : True := trivial")
    assert s.offset == 1


def test_comments_on_import_lines_do_not_become_modules() -> None:
    s = split_header("import Mathlib /- why -/ import Aesop\nimport Batteries -- note\ntheorem t : True := trivial")
    assert s.header == "import Mathlib\nimport Aesop\nimport Batteries"
    assert s.offset == 2
