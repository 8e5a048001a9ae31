"""Records round-trip through JSON, and JsonlWriter resumes without loss or duplication."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prover.records import (
    Candidate,
    JsonlWriter,
    Message,
    Outcome,
    Pos,
    Problem,
    RecordError,
    Verdict,
    read_jsonl,
    write_jsonl,
)

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


@given(name=text, stmt=text, code=text, data=text)
def test_outcome_roundtrip(name, stmt, code, data):
    p = Problem(name=name, formal_statement=stmt, header="import Mathlib\n", informal_statement=data)
    c = Candidate(problem=name, code=code, origin={"strategy": "x", "sample": 1}, statement=stmt)
    v = Verdict("failed", messages=[Message("error", data, Pos(1, 0), None)], axioms=["propext"], reason=data)
    o = Outcome(p, [c], [v], turns=[{"agent": "prover", "output": code}])
    back = Outcome.from_dict(json.loads(json.dumps(o.to_dict())))
    assert back == o
    assert back.candidates[0].id == c.id


def test_candidate_id_is_stable_and_content_based():
    a = Candidate("p", "theorem x : True := trivial")
    assert a.id == Candidate("p", "theorem x : True := trivial").id
    assert a.id != Candidate("p", "theorem x : True := by trivial").id


def test_verdict_status_is_checked():
    with pytest.raises(RecordError, match="unknown status"):
        Verdict("ok")
    assert Verdict("proved").proved and not Verdict("failed").proved


def test_bad_records_name_the_input(tmp_path):
    with pytest.raises(RecordError, match="missing field"):
        Problem.from_dict({"name": "x"})
    f = tmp_path / "c.jsonl"
    f.write_text('{"problem": "a", "code": "x"}\nnot json\n{"problem": "b", "code": "y"}\n')
    with pytest.raises(RecordError, match=r"c.jsonl:2"):
        read_jsonl(f, Candidate)


def test_writer_resumes_and_repairs_torn_tail(tmp_path):
    f = tmp_path / "out.jsonl"
    with JsonlWriter(f, key=lambda d: d["problem"]) as w:
        assert w.write(Candidate("a", "1"))
        assert w.write(Candidate("b", "2"))
        assert not w.write(Candidate("a", "again"))
    with f.open("a") as fh:
        fh.write('{"problem": "c", "co')  # a crash mid-write
    w = JsonlWriter(f, key=lambda d: d["problem"])
    assert w.done("a") and w.done("b") and not w.done("c") and len(w) == 2
    assert w.write(Candidate("c", "3"))
    w.close()
    rows = read_jsonl(f, Candidate)
    assert [r.problem for r in rows] == ["a", "b", "c"]


def test_writer_keeps_complete_unterminated_line(tmp_path):
    f = tmp_path / "out.jsonl"
    f.write_text('{"problem": "a", "code": "1"}')
    with JsonlWriter(f, key=lambda d: d["problem"]) as w:
        assert w.done("a")
        w.write({"problem": "b", "code": "2"})
    assert [r["problem"] for r in read_jsonl(f)] == ["a", "b"]


def test_write_jsonl_and_first_proof(tmp_path):
    p = Problem("p", "theorem p : True := by")
    o = Outcome(p, [Candidate("p", "a"), Candidate("p", "b")], [Verdict("failed"), Verdict("proved")])
    assert o.proved and o.first_proof.code == "b"
    write_jsonl(tmp_path / "o.jsonl", [o])
    assert read_jsonl(tmp_path / "o.jsonl", Outcome)[0] == o


def test_writer_cuts_a_bad_last_line_that_has_its_newline(tmp_path):
    """A torn last line that still got its newline is skipped by readers; the writer must cut it
    before appending, or the file would hold a bad line in the middle and become unreadable."""
    f = tmp_path / "out.jsonl"
    f.write_text('{"problem": "a", "code": "1"}\n{"problem": "b", "co\n')
    assert [r["problem"] for r in read_jsonl(f)] == ["a"]
    with JsonlWriter(f, key=lambda d: d["problem"]) as w:
        assert w.done("a") and not w.done("b")
        w.write({"problem": "b", "code": "2"})
    assert [r["problem"] for r in read_jsonl(f)] == ["a", "b"]


def test_candidate_origin_is_typed_and_serialises_as_the_flat_dict_it_replaced():
    from prover.records import Origin

    flat = {"strategy": "malot", "model": "tiny", "agent": "corrector", "sample": 2, "round": 1, "source": "fence"}
    c = Candidate(problem="p", code="x", origin=dict(flat))
    assert isinstance(c.origin, Origin) and c.origin.round == 1 and c.origin.agent == "corrector"
    assert c.origin.extra == {"source": "fence"} and not c.origin.iid
    assert c.to_dict()["origin"] == flat
    assert Candidate.from_dict(c.to_dict()) == c
    # older files: "role" for the agent, no round; other provenance kept as written
    old = Candidate.from_dict({"problem": "p", "code": "x", "origin": {"role": "prover", "file": "a.lean"}})
    assert old.origin.agent == "prover" and old.origin.round == 0 and old.origin.iid
    assert Candidate(problem="p", code="x", origin={"via": "verify"}).to_dict()["origin"] == {"via": "verify"}
    with pytest.raises(RecordError, match="round and sample must be integers"):
        Candidate(problem="p", code="x", origin={"round": "late"})
