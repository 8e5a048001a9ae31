"""The verdict rule: errors, sorries (both quote styles), and axioms."""

from prover.lean.verdict import ALLOWED_AXIOMS, axioms_command, judge, parse_axioms
from prover.records import Message, Pos


def info(text: str) -> Message:
    return Message("info", text, Pos(1, 0), Pos(1, 13))


def test_parse_axioms_forms():
    assert parse_axioms([info("'t' depends on axioms: [propext, Classical.choice, Quot.sound]")], "t") == [
        "propext", "Classical.choice", "Quot.sound"]
    assert parse_axioms([info("'t' does not depend on any axioms")], "t") == []
    wrapped = "'mathd_algebra_10' depends on axioms: [propext,\n sorryAx,\n Classical.choice,\n Quot.sound]"
    assert parse_axioms([info(wrapped)], "mathd_algebra_10") == ["propext", "sorryAx", "Classical.choice",
                                                                   "Quot.sound"]
    assert parse_axioms([info("'«weird name»' depends on axioms: [propext]")], "weird name") == ["propext"]
    assert parse_axioms([info("'other' depends on axioms: [propext]")], "t") is None
    assert parse_axioms([Message("error", "unknown constant 't'")], "t") is None
    assert axioms_command("t").endswith("#print axioms t")


def test_axioms_command_prints_full_names():
    # Lean prints the axiom list with MessageData.ofConstName, which honours pp.fullNames: after a
    # candidate's `open Classical` it would read `choice` and a valid proof would fail
    assert axioms_command("t").startswith("set_option pp.fullNames true in\n")


def test_parse_axioms_matches_the_exact_name_and_reads_every_line():
    # `open X` in a candidate makes `#print axioms t` also print X.t: that line must not decide
    msgs = [info("'X.t' does not depend on any axioms"), info("'t' depends on axioms: [sorryAx]")]
    assert parse_axioms(msgs, "t") == ["sorryAx"]
    assert parse_axioms([info("'X.t' does not depend on any axioms")], "t") is None
    both = [info("'t' does not depend on any axioms"), info("'t' depends on axioms: [Lean.ofReduceBool]")]
    assert parse_axioms(both, "t") == ["Lean.ofReduceBool"]
    assert parse_axioms([info("'_private.0.t' depends on axioms: [propext]")], "t") == ["propext"]
    assert parse_axioms([info("'t'' does not depend on any axioms")], "t'") == []


def test_judge_proved_and_subsets():
    assert judge([], [], ["propext"]) == ("proved", "")
    assert judge([], [], []) == ("proved", "")
    assert judge([], [], sorted(ALLOWED_AXIOMS))[0] == "proved"


def test_judge_failures():
    err = Message("error", "unsolved goals\nx : ℕ\n⊢ x = x", Pos(3, 2), Pos(3, 9))
    status, reason = judge([err], [], ["propext"])
    assert status == "failed" and "3:2" in reason and "unsolved goals" in reason
    assert judge([], [{"goal": "⊢ True", "proofState": 0}], [])[0] == "failed"
    for quote in ("declaration uses 'sorry'", "declaration uses `sorry`"):
        status, reason = judge([Message("warning", quote, Pos(1, 8))], [], [])
        assert status == "failed" and "sorry" in reason
    assert judge([], [], None)[0] == "failed"
    status, reason = judge([], [], ["propext", "sorryAx"])
    assert status == "failed" and "sorryAx" in reason
    status, reason = judge([], [], ["Lean.ofReduceBool"])
    assert status == "failed" and "native_decide" in reason
    status, reason = judge([], [], ["cheat"])
    assert status == "failed" and "cheat" in reason


def test_allowed_set_is_configurable():
    assert judge([], [], ["Lean.ofReduceBool"], allowed=ALLOWED_AXIOMS | {"Lean.ofReduceBool"})[0] == "proved"
    assert judge([], [], ["propext"], allowed=set())[0] == "failed"


def test_other_warnings_do_not_fail():
    assert judge([Message("warning", "unused variable `h`")], [], [])[0] == "proved"
