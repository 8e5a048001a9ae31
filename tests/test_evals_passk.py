"""pass@k against hand-computed values, and the per-group tables built on it."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evals.passk import (
    SampleCounts,
    budget_description,
    counts_from_outcome,
    group_stats,
    pass_at_k,
    summarize,
)
from prover.records import Candidate, Outcome, Problem, Verdict


def test_hand_computed_values():
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)  # 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(5, 4, 2) == 1.0  # n - c = 1 < k: every pair contains a proof
    assert pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(1, 1, 1) == 1.0
    assert pass_at_k(8, 1, 8) == 1.0


@given(n=st.integers(1, 60), data=st.data())
@settings(max_examples=60, deadline=None)
def test_matches_binomial_form(n, data):
    c = data.draw(st.integers(0, n))
    k = data.draw(st.integers(1, n))
    exact = 1 - math.comb(n - c, k) / math.comb(n, k)
    assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12)


def test_stable_for_large_n():
    # The binomials would overflow floats; the product form does not.
    v = pass_at_k(4096, 3, 128)
    assert 0 < v < 1
    assert pass_at_k(4096, 3, 128) == pytest.approx(1 - math.comb(4093, 128) / math.comb(4096, 128), rel=1e-9)


@pytest.mark.parametrize("args", [(3, 4, 1), (3, 1, 4), (3, 1, 0), (-1, 0, 1)])
def test_bad_arguments(args):
    with pytest.raises(ValueError):
        pass_at_k(*args)


def _sc(name, split, source, n, c, solved=None):
    return SampleCounts(name, split, source, n, c, bool(c) if solved is None else solved, n)


def test_group_stats_every_k_and_budget():
    counts = [_sc("a", "test", "amc", 5, 2), _sc("b", "test", "imo", 5, 0), _sc("c", "valid", "amc", 5, 5)]
    g = group_stats("all", counts, "wholeproof: 5 samples/problem")
    assert sorted(g.pass_at_k) == [1, 2, 3, 4, 5]
    assert g.pass_at_k[1] == pytest.approx((0.4 + 0 + 1) / 3)
    assert g.pass_at_k[2] == pytest.approx((0.7 + 0 + 1) / 3)
    assert g.solved == 2 and g.n == 5 and g.budget == "wholeproof: 5 samples/problem"
    table = summarize(counts, "B")
    assert list(table) == ["all", "split=test", "split=valid", "source=amc", "source=imo"]
    assert table["source=amc"].pass_at_k[1] == pytest.approx((0.4 + 1) / 2)
    assert table["split=valid"].solved == 1
    assert all(v.budget == "B" for v in table.values())


def test_unsampled_problem_counts_as_unsolved():
    g = group_stats("all", [_sc("a", "t", "x", 0, 0), _sc("b", "t", "x", 2, 1)])
    assert g.n == 2 and g.pass_at_k[1] == pytest.approx(0.25)


def _outcome(statuses, rounds, strategy="malot"):
    p = Problem("p", "theorem p : True := by\n", split="test", source="amc")
    cands = [Candidate("p", f"code{i}", origin={"strategy": strategy, "round": r, "sample": i})
             for i, r in enumerate(rounds)]
    return Outcome(p, cands, [Verdict(s) for s in statuses])


def test_counts_use_first_round_samples_only():
    o = _outcome(["failed", "failed", "proved"], [0, 0, 1])
    c = counts_from_outcome(o)
    assert (c.n, c.c, c.solved, c.attempts) == (2, 0, True, 3)
    # best-first: one search per problem
    b = counts_from_outcome(_outcome(["failed", "proved"], [0, 0], strategy="bestfirst"))
    assert (b.n, b.c, b.solved) == (1, 1, True)


def test_budget_description():
    text = budget_description("malot", {"samples": 4, "rounds": 2, "corrections": 2}, {"temperature": 0.8})
    assert text.startswith("malot: 4 samples/problem") and "then up to 2 rounds of 2 corrections per failed attempt" in text and "T=0.8" in text


def test_counts_from_record_matches_outcome():
    from evals.passk import counts_from_record

    for o in (_outcome(["failed", "proved", "proved"], [0, 0, 1]), _outcome(["proved"], [0], "bestfirst")):
        assert counts_from_record(o.to_dict()) == counts_from_outcome(o)
