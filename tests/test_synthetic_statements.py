"""Theorem-header splitting and the statements derived from it (consistency probe, negation, dedup key)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prover.synthetic.statements import (
    StatementError,
    consistency_statement,
    negation_statement,
    normalize_statement,
    parse_theorem,
    with_name,
)

TRICKY = (
    "/-- a docstring with a colon : and := inside -/\n"
    "@[simp] theorem foo.{u} {α : Type u} [inst : Group α] [Fintype α] ⦃a : α⦄\n"
    "    (f : ℕ → (ℕ × ℕ)) (x y : ℕ) (h : ∀ z ∈ ({1, 2} : Set ℕ), (z : ℝ) ≤ 3) (d : ℕ := 5) :\n"
    "    f x = (y, d) ∧ (let k := 2; k = 2) := by\n  simp"
)


def test_binders_and_conclusion_are_split_at_the_top_level_colon():
    h = parse_theorem(TRICKY)
    assert h.name == "foo" and h.universes == ".{u}" and h.keyword == "theorem"
    kinds = [b.kind for b in h.binders]
    assert kinds == ["implicit", "instance", "instance", "strict_implicit", "explicit", "explicit", "explicit",
                     "explicit"]
    assert h.binders[1].names == ["inst"] and h.binders[1].type == "Group α"
    assert h.binders[2].names == [] and h.binders[2].type == "Fintype α"
    assert h.binders[4].type == "ℕ → (ℕ × ℕ)"
    assert h.binders[5].names == ["x", "y"]
    assert h.binders[6].type == "∀ z ∈ ({1, 2} : Set ℕ), (z : ℝ) ≤ 3"
    assert h.binders[7].type == "ℕ" and h.binders[7].default == "5"
    assert h.conclusion == "f x = (y, d) ∧ (let k := 2; k = 2)"
    assert h.proof == "by\n  simp"


def test_negation_turns_each_binder_kind_into_the_matching_forall_binder():
    stmt, name = negation_statement(TRICKY)
    assert name == "foo_neg"
    assert stmt == (
        "theorem foo_neg.{u} : ¬ (∀ {α : Type u} [inst : Group α] [Fintype α] ⦃a : α⦄ (f : ℕ → (ℕ × ℕ)) "
        "(x y : ℕ) (h : ∀ z ∈ ({1, 2} : Set ℕ), (z : ℝ) ≤ 3) (d : ℕ), f x = (y, d) ∧ (let k := 2; k = 2)) := by\n"
    )


def test_negation_without_binders_is_plain_not():
    stmt, _ = negation_statement("theorem two : (2 : ℕ) + 2 = 5 := by\n")
    assert stmt == "theorem two_neg : ¬ ((2 : ℕ) + 2 = 5) := by\n"


def test_consistency_probe_keeps_hypotheses_verbatim_and_concludes_false():
    stmt, name = consistency_statement("theorem v (x : ℝ) (h₀ : x > 2) (h₁ : x < 1) : x = 5 := by\n")
    assert name == "v_consistency"
    assert stmt == "theorem v_consistency (x : ℝ) (h₀ : x > 2) (h₁ : x < 1) : False := by\n"
    stmt, _ = consistency_statement(TRICKY)
    assert "(d : ℕ := 5) : False := by" in stmt and "@[simp]" not in stmt and "docstring" not in stmt


def test_example_and_lemma_and_bare_binders():
    stmt, name = negation_statement("example (x : ℕ) (h : 0 < x) : 1 ≤ x := by", fallback_name="ex1")
    assert name == "ex1_neg" and stmt.startswith("theorem ex1_neg : ¬ (∀ (x : ℕ) (h : 0 < x), 1 ≤ x)")
    h = parse_theorem("lemma bar x (y : ℕ) : x + y = y + x := by omega")
    assert [b.kind for b in h.binders] == ["bare", "explicit"] and h.binders[0].names == ["x"]
    assert negation_statement("lemma bar x (y : ℕ) : x + y = y + x")[0].startswith(
        "lemma bar_neg : ¬ (∀ x (y : ℕ), x + y = y + x)"
    )


def test_colons_inside_comments_and_strings_do_not_split():
    h = parse_theorem('theorem s (h : "a:b" = "a:b") -- note: x\n : True := trivial')
    assert h.binders[0].type == '"a:b" = "a:b"' and h.conclusion == "True" and h.proof == "trivial"


def test_with_name_renames_and_ends_in_by():
    assert with_name("theorem old (n : ℕ) : n = n := by rfl", "new") == "theorem new (n : ℕ) : n = n := by\n"
    assert with_name("example : True", "ex") == "theorem ex : True := by\n"


@pytest.mark.parametrize(
    "bad",
    ["def f : ℕ := 1", "theorem t (x : ℕ : x = x", "theorem t (x : ℕ) := rfl", "theorem t (x : ℕ)] : True",
     "theorem t : := by"],
)
def test_bad_statements_raise_naming_the_statement(bad):
    with pytest.raises(StatementError) as e:
        negation_statement(bad)
    assert bad.split()[0] in str(e.value)


def test_normal_form_erases_only_name_whitespace_and_comments():
    a = "theorem a (x : ℕ)  (h : 0 < x) :\n  1 ≤ x := by\n"
    b = "/-- doc -/ theorem zzz (x : ℕ) (h : 0 < x) : 1 ≤ x -- same\n := by simp"
    assert normalize_statement(a) == normalize_statement(b)
    assert normalize_statement(a) != normalize_statement("theorem a (x : ℕ) (h : 0 < x) : 1 < x := by")
    assert normalize_statement(a) != normalize_statement("theorem a (y : ℕ) (h : 0 < y) : 1 ≤ y := by")
    assert normalize_statement(a) != normalize_statement("theorem a {x : ℕ} (h : 0 < x) : 1 ≤ x := by")


_NAMES = st.sampled_from(["x", "y", "h₀", "hab", "f", "α", "n'"])
_ATOMS = st.sampled_from(["ℕ", "ℝ", "x = 1", "0 < x ∧ x < 3", "f x ≠ y", "Type u", "∀ z ∈ s, z ≤ 2"])
_TYPES = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) → {b}", inner, inner),
        st.builds(lambda a: f"({a} : Prop)", inner),
        st.builds(lambda a, b: f"{{p : ℕ × ℕ | ({a}) ∧ {b}}}", inner, inner),
        st.builds(lambda a: f"[{a}, {a}].length = 2", inner),
    ),
    max_leaves=4,
)
_BINDERS = st.tuples(st.sampled_from(["()", "{}", "[]", "⦃⦄"]), st.lists(_NAMES, min_size=1, max_size=2), _TYPES)


@settings(max_examples=60, deadline=None)
@given(st.lists(_BINDERS, max_size=4), _TYPES)
def test_generated_headers_split_back_into_their_parts(binders, conclusion):
    texts = []
    for brackets, names, ty in binders:
        names = names[:1] if brackets == "[]" else names
        texts.append(f"{brackets[0]}{' '.join(names)} : {ty}{brackets[1]}")
    stmt = f"theorem gen {' '.join(texts)} : {conclusion} := by\n  simp"
    h = parse_theorem(stmt)
    assert [b.text for b in h.binders] == texts
    assert h.conclusion == conclusion and h.proof == "by\n  simp"
    neg, _ = negation_statement(stmt)
    assert neg.endswith(f", {conclusion}) := by\n") if texts else neg.endswith(f"¬ ({conclusion}) := by\n")
    # the derived statements parse again, with the same hypotheses
    assert [b.text for b in parse_theorem(consistency_statement(stmt)[0]).binders] == texts
    assert parse_theorem(neg).binders == []
