"""A seeded generator of a simplified Lean 4 corpus (TinyHelen's "leaner" environment, for proofs).

TinyHelen finds that tiny models learn far better from a small, regular language than from raw
text. Here the language is a few dozen statement templates about Nat/Int arithmetic, order,
parity, propositional logic and list membership, each with one fixed proof in core tactics
(``decide``, ``omega``, ``simp``, ``rfl``, ``exact``, ``intro``, ``constructor``, ``apply``), so that
everything checks in plain Lean 4 core (v4.24) without Mathlib. Each statement comes either with
an empty header and ``Nat``/``Int``, or with miniF2F's Mathlib header and ``ℕ``/``ℤ``, so the
model also sees the prompt shape it meets on miniF2F.

The held-out split is chosen by hashing the statement (template + header + binders + goal), so a
held-out statement never occurs in training and exact-match measures generalisation to unseen
instances; ``heldout_templates`` additionally holds out whole templates (unseen proof patterns).

Corrector examples pair a wrong proof with a *synthetic* Lean error line (written to resemble
Lean's first error line, not produced by Lean) and the right proof, in the MA-LoT corrector format.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from prover.records import Problem
from prover.tinylm.formats import completion, corrector_prompt, prover_prompt

#: miniF2F's header (DeepSeek-Prover-V1.5 `minif2f.jsonl`); used for a fraction of examples.
MATHLIB_HEADER = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n\n"
HEADERS: dict[str, str] = {"core": "", "mathlib": MATHLIB_HEADER}
#: The Mathlib headers the stages use by default (miniF2F's, ``proofforge-formalize``'s, ``proofforge-synth``'s):
#: a Mathlib-header example draws one of them, so the model meets each stage's own header.
MATHLIB_HEADERS: tuple[str, ...] = (
    MATHLIB_HEADER,
    "import Mathlib\n\nopen BigOperators Real Nat Topology Rat\n\n",
    "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat\n\n",
)


@dataclass(frozen=True)
class Types:
    """How the naturals and integers are spelled under a header (``ℕ`` needs Mathlib)."""

    nat: str
    int: str


TYPES: dict[str, Types] = {"core": Types("Nat", "Int"), "mathlib": Types("ℕ", "ℤ")}


@dataclass(frozen=True)
class Instance:
    """One generated statement: binders, goal, informal text, proof lines, and the mistakes that fit it."""

    binders: str
    goal: str
    informal: str
    proof: tuple[str, ...]
    mistakes: tuple[str, ...] = ("typo",)


@dataclass(frozen=True)
class Template:
    name: str
    group: str
    make: Callable[[random.Random, Types], Instance]


VARS = ("a", "b", "c", "n", "m", "k", "x", "y")
PROPS = ("p", "q", "r", "s")


def _var(r: random.Random, k: int = 1) -> list[str]:
    return r.sample(VARS, k)


def _props(r: random.Random, k: int) -> list[str]:
    return r.sample(PROPS, k)


# ---------------------------------------------------------------- closed Nat facts: `decide`
def _add_closed(r: random.Random, t: Types) -> Instance:
    a, b = r.randint(0, 40), r.randint(0, 40)
    return Instance("", f"{a} + {b} = {a + b}", f"Show that {a} plus {b} is {a + b}.", ("decide",), ("typo", "intro"))


def _mul_closed(r: random.Random, t: Types) -> Instance:
    a, b = r.randint(0, 12), r.randint(0, 12)
    return Instance("", f"{a} * {b} = {a * b}", f"Show that {a} times {b} is {a * b}.", ("decide",), ("typo", "intro"))


def _sub_closed(r: random.Random, t: Types) -> Instance:
    b = r.randint(0, 30)
    a = b + r.randint(0, 30)
    return Instance("", f"{a} - {b} = {a - b}", f"Show that {a} minus {b} is {a - b}.", ("decide",), ("typo", "intro"))


def _mod_closed(r: random.Random, t: Types) -> Instance:
    a, b = r.randint(0, 60), r.randint(2, 9)
    return Instance(
        "", f"{a} % {b} = {a % b}", f"Show that {a} leaves remainder {a % b} when divided by {b}.",
        ("decide",), ("typo", "intro"),
    )


def _lt_closed(r: random.Random, t: Types) -> Instance:
    a = r.randint(0, 50)
    b = a + r.randint(1, 20)
    return Instance("", f"{a} < {b}", f"Show that {a} is less than {b}.", ("decide",), ("typo", "intro"))


def _le_closed(r: random.Random, t: Types) -> Instance:
    a = r.randint(0, 50)
    b = a + r.randint(0, 20)
    return Instance("", f"{a} ≤ {b}", f"Show that {a} is at most {b}.", ("decide",), ("typo", "intro"))


def _ne_closed(r: random.Random, t: Types) -> Instance:
    a, b = r.sample(range(0, 40), 2)
    return Instance("", f"{a} ≠ {b}", f"Show that {a} is not equal to {b}.", ("decide",), ("typo",))


def _int_closed(r: random.Random, t: Types) -> Instance:
    a, b = r.randint(1, 30), r.randint(0, 30)
    return Instance(
        "", f"(-{a} : {t.int}) + {b} = {b - a}", f"Show that minus {a} plus {b} is {b - a} in the integers.",
        ("omega",), ("typo",),
    )


# ---------------------------------------------------------------- Nat identities: `simp`
def _add_zero(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    return Instance(f"({v} : {t.nat})", f"{v} + 0 = {v}", f"For every natural number {v}, {v} plus zero is {v}.",
                    ("simp",), ("typo", "decide"))


def _zero_add(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    return Instance(f"({v} : {t.nat})", f"0 + {v} = {v}", f"For every natural number {v}, zero plus {v} is {v}.",
                    ("simp",), ("typo", "decide"))


def _mul_one(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    return Instance(f"({v} : {t.nat})", f"{v} * 1 = {v}", f"For every natural number {v}, {v} times one is {v}.",
                    ("simp",), ("typo", "decide"))


# ---------------------------------------------------------------- linear arithmetic: `omega`
def _add_comm(r: random.Random, t: Types) -> Instance:
    u, v = _var(r, 2)
    return Instance(f"({u} {v} : {t.nat})", f"{u} + {v} = {v} + {u}", f"Adding {u} and {v} in either order gives the same.",
                    ("omega",), ("typo", "decide"))


def _linear_eq(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    a, b = r.randint(1, 20), r.randint(0, 20)
    h = r.choice(("h", "h₀"))
    return Instance(f"({v} : {t.nat}) ({h} : {v} + {a} = {a + b})", f"{v} = {b}",
                    f"If {v} plus {a} is {a + b}, then {v} is {b}.", ("omega",), ("typo", "decide"))


def _linear_imp(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    a, b = r.randint(1, 20), r.randint(0, 20)
    return Instance(f"({v} : {t.nat})", f"{v} + {a} = {a + b} → {v} = {b}",
                    f"For a natural number {v}, if {v} plus {a} is {a + b} then {v} is {b}.",
                    ("intro h", "omega"), ("typo", "truncate", "decide"))


def _le_add(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    k = r.randint(1, 20)
    return Instance(f"({v} : {t.nat})", f"{v} ≤ {v} + {k}", f"Every natural number {v} is at most {v} plus {k}.",
                    ("omega",), ("typo", "decide"))


def _lt_add_both(r: random.Random, t: Types) -> Instance:
    u, v = _var(r, 2)
    k = r.randint(1, 20)
    h = r.choice(("h", "h₁"))
    return Instance(f"({u} {v} : {t.nat}) ({h} : {u} < {v})", f"{u} + {k} < {v} + {k}",
                    f"If {u} is less than {v}, then {u} plus {k} is less than {v} plus {k}.", ("omega",), ("typo", "decide"))


def _int_linear(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    a, b = r.randint(1, 20), r.randint(-20, 20)
    h = r.choice(("h", "h₀"))
    return Instance(f"({v} : {t.int}) ({h} : {v} - {a} = {b})", f"{v} = {b + a}",
                    f"For an integer {v}, if {v} minus {a} is {b}, then {v} is {b + a}.", ("omega",), ("typo", "decide"))


def _int_lt(r: random.Random, t: Types) -> Instance:
    u, v = _var(r, 2)
    k = r.randint(1, 20)
    return Instance(f"({u} {v} : {t.int}) (h : {u} < {v})", f"{u} - {k} < {v}",
                    f"For integers {u} and {v} with {u} less than {v}, {u} minus {k} is less than {v}.",
                    ("omega",), ("typo", "decide"))


# ---------------------------------------------------------------- order lemmas: `exact`
def _le_refl(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    return Instance(f"({v} : {t.nat})", f"{v} ≤ {v}", f"Every natural number {v} is at most itself.",
                    ("exact Nat.le_refl _",), ("typo", "decide"))


def _zero_le(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    return Instance(f"({v} : {t.nat})", f"0 ≤ {v}", f"Zero is at most every natural number {v}.",
                    ("exact Nat.zero_le _",), ("typo", "decide"))


def _lt_succ(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    return Instance(f"({v} : {t.nat})", f"{v} < {v} + 1", f"Every natural number {v} is less than {v} plus one.",
                    ("exact Nat.lt_add_one _",), ("typo", "decide"))


def _succ_le_succ(r: random.Random, t: Types) -> Instance:
    u, v = _var(r, 2)
    h = r.choice(("h", "h₀", "hle"))
    return Instance(f"({u} {v} : {t.nat}) ({h} : {u} ≤ {v})", f"{u} + 1 ≤ {v} + 1",
                    f"If {u} is at most {v}, then {u} plus one is at most {v} plus one.",
                    (f"exact Nat.succ_le_succ {h}",), ("typo", "unknown_id", "decide"))


def _le_trans(r: random.Random, t: Types) -> Instance:
    u, v, w = _var(r, 3)
    return Instance(f"({u} {v} {w} : {t.nat}) (h₁ : {u} ≤ {v}) (h₂ : {v} ≤ {w})", f"{u} ≤ {w}",
                    f"If {u} is at most {v} and {v} is at most {w}, then {u} is at most {w}.",
                    ("exact Nat.le_trans h₁ h₂",), ("typo", "unknown_id", "decide"))


# ---------------------------------------------------------------- parity: `omega`
def _even_double(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    return Instance(f"({v} : {t.nat})", f"(2 * {v}) % 2 = 0", f"Twice any natural number {v} is even.",
                    ("omega",), ("typo", "decide"))


def _odd_double(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    return Instance(f"({v} : {t.nat})", f"(2 * {v} + 1) % 2 = 1", f"Twice {v} plus one is odd.",
                    ("omega",), ("typo", "decide"))


def _odd_succ(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    return Instance(f"({v} : {t.nat}) (h : {v} % 2 = 1)", f"({v} + 1) % 2 = 0",
                    f"If {v} is odd, then {v} plus one is even.", ("omega",), ("typo", "decide"))


# ---------------------------------------------------------------- propositional logic
def _and_intro(r: random.Random, t: Types) -> Instance:
    p, q = _props(r, 2)
    return Instance(f"({p} {q} : Prop) (h{p} : {p}) (h{q} : {q})", f"{p} ∧ {q}", f"If {p} holds and {q} holds, then {p} and {q} holds.",
                    ("constructor", f"· exact h{p}", f"· exact h{q}"), ("typo", "truncate", "omega"))


def _or_inl(r: random.Random, t: Types) -> Instance:
    p, q = _props(r, 2)
    return Instance(f"({p} {q} : Prop) (h{p} : {p})", f"{p} ∨ {q}", f"If {p} holds, then {p} or {q} holds.",
                    (f"exact Or.inl h{p}",), ("typo", "swap_or", "omega"))


def _or_inr(r: random.Random, t: Types) -> Instance:
    p, q = _props(r, 2)
    return Instance(f"({p} {q} : Prop) (h{q} : {q})", f"{p} ∨ {q}", f"If {q} holds, then {p} or {q} holds.",
                    (f"exact Or.inr h{q}",), ("typo", "swap_or", "omega"))


def _imp_self(r: random.Random, t: Types) -> Instance:
    (p,) = _props(r, 1)
    return Instance(f"({p} : Prop)", f"{p} → {p}", f"Every statement {p} implies itself.",
                    ("intro h", "exact h"), ("typo", "truncate", "omega"))


def _and_swap(r: random.Random, t: Types) -> Instance:
    p, q = _props(r, 2)
    return Instance(f"({p} {q} : Prop) (h : {p} ∧ {q})", f"{q} ∧ {p}", f"If {p} and {q} holds, then {q} and {p} holds.",
                    ("exact ⟨h.2, h.1⟩",), ("typo", "swap_and", "omega"))


def _and_proj(r: random.Random, t: Types) -> Instance:
    p, q = _props(r, 2)
    left = r.random() < 0.5
    goal, proj = (p, "h.1") if left else (q, "h.2")
    return Instance(f"({p} {q} : Prop) (h : {p} ∧ {q})", goal, f"If {p} and {q} holds, then {goal} holds.",
                    (f"exact {proj}",), ("typo", "omega"))


def _modus_ponens(r: random.Random, t: Types) -> Instance:
    p, q = _props(r, 2)
    return Instance(f"({p} {q} : Prop) (h{p} : {p}) (h{p}{q} : {p} → {q})", q, f"If {p} holds and {p} implies {q}, then {q} holds.",
                    (f"exact h{p}{q} h{p}",), ("typo", "unknown_id", "omega"))


def _iff_refl(r: random.Random, t: Types) -> Instance:
    (p,) = _props(r, 1)
    return Instance(f"({p} : Prop)", f"{p} ↔ {p}", f"Every statement {p} is equivalent to itself.",
                    ("exact Iff.rfl",), ("typo", "omega"))


def _iff_intro(r: random.Random, t: Types) -> Instance:
    p, q = _props(r, 2)
    return Instance(f"({p} {q} : Prop) (h1 : {p} → {q}) (h2 : {q} → {p})", f"{p} ↔ {q}",
                    f"If {p} implies {q} and {q} implies {p}, then {p} and {q} are equivalent.",
                    ("exact ⟨h1, h2⟩",), ("typo", "omega"))


# ---------------------------------------------------------------- logic over arithmetic
def _and_arith(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    c, a, e = r.randint(0, 20), r.randint(1, 10), r.randint(0, 10)
    return Instance(f"({v} : {t.nat}) (h : {v} = {c})", f"{v} + {a} = {c + a} ∧ {v} ≤ {c + e}",
                    f"If {v} is {c}, then {v} plus {a} is {c + a} and {v} is at most {c + e}.",
                    ("constructor <;> omega",), ("typo", "decide"))


def _or_arith(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    c = r.randint(1, 20)
    d, e = c + r.randint(0, 10), c + r.randint(0, 10)
    left = r.random() < 0.5
    true_part, false_part = f"{v} < {d}", f"{v} = {e}"
    goal = f"{true_part} ∨ {false_part}" if left else f"{false_part} ∨ {true_part}"
    side = "Or.inl" if left else "Or.inr"
    return Instance(f"({v} : {t.nat}) (h : {v} < {c})", goal, f"If {v} is less than {c}, then {goal.replace('∨', 'or')}.",
                    (f"apply {side}", "omega"), ("typo", "truncate", "decide"))


# ---------------------------------------------------------------- lists
def _list_mem(r: random.Random, t: Types) -> Instance:
    xs = r.sample(range(0, 20), r.randint(2, 5))
    x = r.choice(xs)
    lst = ", ".join(map(str, xs))
    return Instance("", f"({x} : {t.nat}) ∈ [{lst}]", f"Show that {x} is in the list [{lst}].", ("simp",), ("typo", "intro"))


def _list_not_mem(r: random.Random, t: Types) -> Instance:
    xs = r.sample(range(0, 20), r.randint(2, 5))
    x = r.choice([v for v in range(0, 25) if v not in xs])
    lst = ", ".join(map(str, xs))
    return Instance("", f"({x} : {t.nat}) ∉ [{lst}]", f"Show that {x} is not in the list [{lst}].", ("simp",), ("typo",))


def _list_length(r: random.Random, t: Types) -> Instance:
    xs = [r.randint(0, 20) for _ in range(r.randint(1, 6))]
    lst = ", ".join(map(str, xs))
    return Instance("", f"([{lst}] : List {t.nat}).length = {len(xs)}", f"Show that the list [{lst}] has length {len(xs)}.",
                    ("rfl",), ("typo", "intro"))


def _list_length_append(r: random.Random, t: Types) -> Instance:
    u, v = r.sample(("l", "l₁", "l₂", "xs", "ys"), 2)
    return Instance(f"({u} {v} : List {t.nat})", f"({u} ++ {v}).length = {u}.length + {v}.length",
                    "The length of two lists joined is the sum of their lengths.", ("simp",), ("typo", "decide"))


def _list_mem_cons(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    lst = r.choice(("l", "xs", "ys"))
    return Instance(f"({v} : {t.nat}) ({lst} : List {t.nat})", f"{v} ∈ {v} :: {lst}",
                    f"Every number {v} is in the list that starts with {v}.", ("simp",), ("typo", "decide", "omega"))


# ---------------------------------------------------------------- divisibility and remainders: `omega`
# omega decides `∣` and `%` by a numeral (Lean core, v4.24: `Lean/Elab/Tactic/Omega/Frontend.lean`).
def _dvd_closed(r: random.Random, t: Types) -> Instance:
    k, m = r.randint(2, 9), r.randint(0, 12)
    return Instance("", f"{k} ∣ {k * m}", f"Show that {k} divides {k * m}.", ("omega",), ("typo", "intro"))


def _dvd_mul(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    k = r.randint(2, 9)
    return Instance(f"({v} : {t.nat})", f"{k} ∣ {k} * {v}", f"For every natural number {v}, {k} divides {k} times {v}.",
                    ("omega",), ("typo", "decide"))


def _mod_add(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    m = r.randint(3, 9)
    rem, s = r.randint(0, m - 1), r.randint(1, 9)
    h = r.choice(("h", "h₀"))
    return Instance(f"({v} : {t.nat}) ({h} : {v} % {m} = {rem})", f"({v} + {s}) % {m} = {(rem + s) % m}",
                    f"If {v} leaves remainder {rem} when divided by {m}, then {v} plus {s} leaves remainder "
                    f"{(rem + s) % m} when divided by {m}.", ("omega",), ("typo", "decide"))


def _mod_mul(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    m = r.randint(2, 9)
    return Instance(f"({v} : {t.nat})", f"({v} * {m}) % {m} = 0",
                    f"For every natural number {v}, {v} times {m} leaves remainder 0 when divided by {m}.",
                    ("omega",), ("typo", "decide"))


# ---------------------------------------------------------------- min and max
# `Nat.min_le_left` / `Nat.le_max_left` are protected core theorems (leanprover/lean4, Init/Data/Nat/MinMax.lean);
# closed `min`/`max` facts reduce by `decide` through `Nat.decEq`.
def _min_closed(r: random.Random, t: Types) -> Instance:
    a, b = r.randint(0, 30), r.randint(0, 30)
    return Instance("", f"min {a} {b} = {min(a, b)}", f"Show that the minimum of {a} and {b} is {min(a, b)}.",
                    ("decide",), ("typo", "intro"))


def _max_closed(r: random.Random, t: Types) -> Instance:
    a, b = r.randint(0, 30), r.randint(0, 30)
    return Instance("", f"max {a} {b} = {max(a, b)}", f"Show that the maximum of {a} and {b} is {max(a, b)}.",
                    ("decide",), ("typo", "intro"))


def _min_le(r: random.Random, t: Types) -> Instance:
    u, v = _var(r, 2)
    return Instance(f"({u} {v} : {t.nat})", f"min {u} {v} ≤ {u}", f"The minimum of {u} and {v} is at most {u}.",
                    ("exact Nat.min_le_left _ _",), ("typo", "decide"))


def _le_max(r: random.Random, t: Types) -> Instance:
    u, v = _var(r, 2)
    return Instance(f"({u} {v} : {t.nat})", f"{u} ≤ max {u} {v}", f"Every natural number {u} is at most the maximum of {u} and {v}.",
                    ("exact Nat.le_max_left _ _",), ("typo", "decide"))


# ---------------------------------------------------------------- sums over List.range: `decide`
def _range_sum(r: random.Random, t: Types) -> Instance:
    n = r.randint(1, 12)
    total = n * (n - 1) // 2
    return Instance("", f"(List.range {n}).sum = {total}",
                    f"Show that the sum of the natural numbers below {n} is {total}.", ("decide",), ("typo", "intro"))


# ---------------------------------------------------------------- Bool logic
def _bool_closed(r: random.Random, t: Types) -> Instance:
    x, y = r.choice(("true", "false")), r.choice(("true", "false"))
    op, word = r.choice((("&&", "and"), ("||", "or")))
    value = (x == "true" and y == "true") if op == "&&" else (x == "true" or y == "true")
    res = "true" if value else "false"
    return Instance("", f"({x} {op} {y}) = {res}", f"Show that the boolean {x} {word} {y} is {res}.",
                    ("decide",), ("typo", "intro"))


def _bool_or_true(r: random.Random, t: Types) -> Instance:
    v = r.choice(("b", "c", "x"))
    return Instance(f"({v} : Bool)", f"({v} || true) = true", f"For every boolean {v}, {v} or true is true.",
                    ("simp",), ("typo", "omega"))


def _bool_and_false(r: random.Random, t: Types) -> Instance:
    v = r.choice(("b", "c", "x"))
    return Instance(f"({v} : Bool)", f"({v} && false) = false", f"For every boolean {v}, {v} and false is false.",
                    ("simp",), ("typo", "omega"))


def _bool_not_not(r: random.Random, t: Types) -> Instance:
    v = r.choice(("b", "c", "x"))
    return Instance(f"({v} : Bool)", f"(!(!{v})) = {v}", f"For every boolean {v}, not not {v} is {v}.",
                    ("simp",), ("typo", "omega"))


# ---------------------------------------------------------------- existentials with a witness
def _exists_add(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    a, b = r.randint(1, 20), r.randint(0, 20)
    return Instance("", f"∃ {v} : {t.nat}, {v} + {a} = {a + b}",
                    f"There is a natural number {v} such that {v} plus {a} is {a + b}.", (f"exact ⟨{b}, rfl⟩",),
                    ("typo", "intro"))


def _exists_mul(r: random.Random, t: Types) -> Instance:
    (v,) = _var(r)
    k, m = r.randint(2, 9), r.randint(1, 12)
    return Instance("", f"∃ {v} : {t.nat}, {k} * {v} = {k * m}",
                    f"There is a natural number {v} such that {k} times {v} is {k * m}.", (f"exact ⟨{m}, rfl⟩",),
                    ("typo", "intro"))


# ---------------------------------------------------------------- contradictory hypotheses (vacuous statements)
def _vacuous(r: random.Random, t: Types) -> Instance:
    """Hypotheses that prove ``False``: the synthetic pipeline's consistency probe must drop these."""
    (v,) = _var(r)
    a = r.randint(1, 20)
    b = a + r.randint(0, 10)
    c = r.randint(0, 30)
    return Instance(f"({v} : {t.nat}) (h₀ : {v} < {a}) (h₁ : {b} < {v})", f"{v} = {c}",
                    f"If {v} is less than {a} and {b} is less than {v}, then {v} is {c}.", ("omega",), ("typo", "decide"))


TEMPLATES: tuple[Template, ...] = (
    Template("nat_add_closed", "arith", _add_closed),
    Template("nat_mul_closed", "arith", _mul_closed),
    Template("nat_sub_closed", "arith", _sub_closed),
    Template("nat_mod_closed", "parity", _mod_closed),
    Template("nat_lt_closed", "order", _lt_closed),
    Template("nat_le_closed", "order", _le_closed),
    Template("nat_ne_closed", "arith", _ne_closed),
    Template("int_closed", "int", _int_closed),
    Template("nat_add_zero", "arith", _add_zero),
    Template("nat_zero_add", "arith", _zero_add),
    Template("nat_mul_one", "arith", _mul_one),
    Template("nat_add_comm", "arith", _add_comm),
    Template("nat_linear_eq", "arith", _linear_eq),
    Template("nat_linear_imp", "logic", _linear_imp),
    Template("nat_le_add", "order", _le_add),
    Template("nat_lt_add_both", "order", _lt_add_both),
    Template("int_linear", "int", _int_linear),
    Template("int_lt", "int", _int_lt),
    Template("nat_le_refl", "order", _le_refl),
    Template("nat_zero_le", "order", _zero_le),
    Template("nat_lt_succ", "order", _lt_succ),
    Template("nat_succ_le_succ", "order", _succ_le_succ),
    Template("nat_le_trans", "order", _le_trans),
    Template("even_double", "parity", _even_double),
    Template("odd_double", "parity", _odd_double),
    Template("odd_succ", "parity", _odd_succ),
    Template("and_intro", "logic", _and_intro),
    Template("or_inl", "logic", _or_inl),
    Template("or_inr", "logic", _or_inr),
    Template("imp_self", "logic", _imp_self),
    Template("and_swap", "logic", _and_swap),
    Template("and_proj", "logic", _and_proj),
    Template("modus_ponens", "logic", _modus_ponens),
    Template("iff_refl", "logic", _iff_refl),
    Template("iff_intro", "logic", _iff_intro),
    Template("and_arith", "logic", _and_arith),
    Template("or_arith", "logic", _or_arith),
    Template("list_mem", "list", _list_mem),
    Template("list_not_mem", "list", _list_not_mem),
    Template("list_length", "list", _list_length),
    Template("list_length_append", "list", _list_length_append),
    Template("list_mem_cons", "list", _list_mem_cons),
    Template("nat_dvd_closed", "number", _dvd_closed),
    Template("nat_dvd_mul", "number", _dvd_mul),
    Template("nat_mod_add", "number", _mod_add),
    Template("nat_mod_mul", "number", _mod_mul),
    Template("nat_min_closed", "minmax", _min_closed),
    Template("nat_max_closed", "minmax", _max_closed),
    Template("nat_min_le", "minmax", _min_le),
    Template("nat_le_max", "minmax", _le_max),
    Template("range_sum", "sum", _range_sum),
    Template("bool_closed", "bool", _bool_closed),
    Template("bool_or_true", "bool", _bool_or_true),
    Template("bool_and_false", "bool", _bool_and_false),
    Template("bool_not_not", "bool", _bool_not_not),
    Template("exists_add", "exists", _exists_add),
    Template("exists_mul", "exists", _exists_mul),
    Template("vacuous_hyps", "vacuous", _vacuous),
)
TEMPLATE_NAMES: tuple[str, ...] = tuple(t.name for t in TEMPLATES)
_BY_NAME: dict[str, Template] = {t.name: t for t in TEMPLATES}


@dataclass
class Example:
    """One prover example: a statement with its reference proof (tactic lines, two-space indent)."""

    name: str
    template: str
    group: str
    header: str
    informal: str
    formal_statement: str
    proof: str
    split: str
    mistakes: list[str] = field(default_factory=list)

    def prompt(self) -> str:
        return prover_prompt(self.header, self.informal, self.formal_statement)

    def completion(self) -> str:
        return completion(self.proof)

    def code(self) -> str:
        """The full Lean text to check: header, statement, proof."""
        return self.header + self.formal_statement + self.proof + "\n"

    def to_problem(self) -> Problem:
        return Problem(name=self.name, formal_statement=self.formal_statement, header=self.header,
                       split=self.split, informal_statement=self.informal, source="tinylm")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Example:
        return cls(**data)


@dataclass
class CorrectorExample:
    """A wrong proof, a synthetic first error line for it, and the right proof."""

    name: str
    template: str
    header: str
    formal_statement: str
    failed_proof: str
    error: str
    proof: str
    mistake: str
    split: str

    def prompt(self) -> str:
        return corrector_prompt(self.header, self.formal_statement, self.failed_proof, self.error)

    def completion(self) -> str:
        return completion(self.proof)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CorrectorExample:
        return cls(**data)


@dataclass
class Corpus:
    train: list[Example]
    heldout: list[Example]
    corrector_train: list[CorrectorExample]
    corrector_heldout: list[CorrectorExample]

    def texts(self) -> list[str]:
        """Every prompt and completion, for training the tokenizer."""
        out: list[str] = []
        for ex in [*self.train, *self.heldout, *self.corrector_train, *self.corrector_heldout]:
            out += [ex.prompt(), ex.completion()]
        return out


def statement_key(template: str, header_kind: str, binders: str, goal: str) -> str:
    return f"{template}|{header_kind}|{binders}|{goal}"


def _is_heldout(key: str, holdout_mod: int) -> bool:
    digest = hashlib.sha1(key.encode()).digest()
    return int.from_bytes(digest[:4], "big") % holdout_mod == 0


def _indent(lines: Sequence[str]) -> str:
    return "\n".join("  " + line for line in lines)


#: Name parts for corpus theorems. Names are drawn at random, independently of the template, so the
#: model learns to ignore them: with one fixed naming scheme (``tiny_<N>``) it closed the proof at once
#: on any theorem named otherwise, such as the demo set's ``demo_nat_add_zero``.
_NAME_PREFIXES = ("demo", "mathd_algebra", "mathd_numbertheory", "amc12", "aime", "induction", "algebra",
                  "numbertheory", "imo", "lemma", "ex", "thm", "problem", "my", "test", "tiny")
_NAME_WORDS = ("nat", "int", "add", "mul", "sub", "le", "lt", "eq", "even", "odd", "and", "or", "iff",
               "list", "two", "three", "zero", "one", "sum", "bound", "step", "simple", "basic", "fact",
               "claim", "check", "comm", "assoc", "pos", "succ", "mem", "length", "mod", "div", "max", "min")


def theorem_name(index: int) -> str:
    """A varied, template-independent theorem name for corpus example ``index`` (deterministic)."""
    rng = random.Random(f"tinylm-name-{index}")
    words = "_".join(rng.choice(_NAME_WORDS) for _ in range(rng.randint(0, 3)))
    tail = rng.choice(("", "_p", "_v", "_"))
    return rng.choice(_NAME_PREFIXES) + (f"_{words}" if words else "") + f"{tail}{index}".replace("__", "_")


def make_example(template: Template, rng: random.Random, header_kind: str, index: int, split: str) -> tuple[str, Example]:
    inst = template.make(rng, TYPES[header_kind])
    name = theorem_name(index)
    binders = f" {inst.binders}" if inst.binders else ""
    stmt = f"theorem {name}{binders} : {inst.goal} := by\n"
    header = HEADERS[header_kind] if header_kind == "core" else MATHLIB_HEADERS[rng.randrange(len(MATHLIB_HEADERS))]
    ex = Example(name=name, template=template.name, group=template.group, header=header,
                 informal=inst.informal, formal_statement=stmt, proof=_indent(inst.proof), split=split,
                 mistakes=list(inst.mistakes))
    return statement_key(template.name, header_kind, inst.binders, inst.goal), ex


def generate_examples(
    n_train: int,
    n_heldout: int,
    seed: int = 0,
    mathlib_frac: float = 0.3,
    holdout_mod: int = 8,
    heldout_templates: Sequence[str] = (),
    templates: Sequence[str] | None = None,
) -> tuple[list[Example], list[Example]]:
    """Seeded train/held-out prover examples; held-out statements are unique and never in train."""
    unknown = [t for t in [*heldout_templates, *(templates or ())] if t not in _BY_NAME]
    if unknown:
        raise ValueError(f"unknown tinylm template(s) {unknown}; known: {list(TEMPLATE_NAMES)}")
    pool = [_BY_NAME[t] for t in templates] if templates else list(TEMPLATES)
    held_t = set(heldout_templates)
    rng = random.Random(seed)
    train: list[Example] = []
    heldout: list[Example] = []
    seen_heldout: set[str] = set()
    attempts, max_attempts = 0, 200 * (n_train + n_heldout) + 1000
    while len(train) < n_train or len(heldout) < n_heldout:
        attempts += 1
        if attempts > max_attempts:
            raise RuntimeError(
                f"could not draw {n_heldout} unique held-out statements (got {len(heldout)}); "
                "lower corpus.heldout or holdout_mod"
            )
        tpl = pool[rng.randrange(len(pool))]
        kind = "mathlib" if rng.random() < mathlib_frac else "core"
        to_heldout = tpl.name in held_t
        # Draw first, then route by the statement's hash: a statement is in exactly one split.
        key, ex = make_example(tpl, rng, kind, attempts, "")
        if to_heldout or _is_heldout(key, holdout_mod):
            if len(heldout) < n_heldout and key not in seen_heldout:
                seen_heldout.add(key)
                ex.split = "heldout"
                heldout.append(ex)
        elif len(train) < n_train:
            ex.split = "train"
            train.append(ex)
    return train, heldout


# ---------------------------------------------------------------- corrector examples
_TYPOS = {"decide": "decid", "omega": "omgea", "simp": "smip", "exact": "exat", "intro": "intor",
          "constructor": "constuctor", "apply": "aply", "rfl": "rlf"}


def _typo(lines: list[str], rng: random.Random) -> tuple[list[str], str]:
    i = rng.randrange(len(lines))
    line = lines[i]
    bullet = "· " if line.startswith("· ") else ""
    body = line[len(bullet):]
    word, _, rest = body.partition(" ")
    bad = _TYPOS.get(word, word + "x")
    lines = list(lines)
    lines[i] = bullet + bad + (" " + rest if rest else "")
    return lines, "unknown tactic"


def make_mistake(ex: Example, mistake: str, rng: random.Random) -> tuple[str, str]:
    """A wrong proof for ``ex`` of the given kind and the (synthetic) first line of its Lean error."""
    lines = [line[2:] for line in ex.proof.split("\n")]
    if mistake == "typo":
        bad, err = _typo(lines, rng)
    elif mistake == "intro":
        bad, err = ["intro h"], "tactic 'introN' failed, insufficient number of binders"
    elif mistake == "decide":
        bad, err = ["decide"], "tactic 'decide' failed for proposition"
    elif mistake == "omega":
        bad, err = ["omega"], "omega could not prove the goal:"
    elif mistake == "truncate":
        bad, err = lines[:1], "unsolved goals"
    elif mistake == "unknown_id":
        ident = lines[-1].split()[-1]
        wrong = rng.choice([h for h in ("h₃", "h", "hx", "this", "h'") if h != ident])
        bad = [*lines[:-1], lines[-1][: -len(ident)] + wrong]
        err = f"Unknown identifier `{wrong}`"
    elif mistake == "swap_or":
        line = lines[0]
        bad = [line.replace("Or.inl", "Or.inr") if "Or.inl" in line else line.replace("Or.inr", "Or.inl")]
        err = "application type mismatch"
    elif mistake == "swap_and":
        bad, err = ["exact ⟨h.1, h.2⟩"], "type mismatch"
    else:
        raise ValueError(f"unknown mistake kind {mistake!r}")
    return _indent(bad), err


def generate_corrector(examples: Sequence[Example], n: int, seed: int) -> list[CorrectorExample]:
    """``n`` corrector examples drawn from ``examples`` (seeded), one mistake each."""
    if not examples or n <= 0:
        return []
    rng = random.Random(seed)
    out: list[CorrectorExample] = []
    for i in range(n):
        ex = examples[rng.randrange(len(examples))]
        mistake = rng.choice(ex.mistakes)
        bad, err = make_mistake(ex, mistake, rng)
        out.append(CorrectorExample(name=f"{ex.name}_fix{i}", template=ex.template, header=ex.header,
                                    formal_statement=ex.formal_statement, failed_proof=bad, error=err,
                                    proof=ex.proof, mistake=mistake, split=ex.split))
    return out


def build_corpus(
    n_train: int,
    n_heldout: int,
    n_corrector: int,
    n_corrector_heldout: int = 0,
    seed: int = 0,
    mathlib_frac: float = 0.3,
    holdout_mod: int = 8,
    heldout_templates: Sequence[str] = (),
    templates: Sequence[str] | None = None,
) -> Corpus:
    """The whole corpus from one seed: prover train/held-out and corrector train/held-out."""
    train, heldout = generate_examples(n_train, n_heldout, seed, mathlib_frac, holdout_mod, heldout_templates, templates)
    return Corpus(
        train=train,
        heldout=heldout,
        corrector_train=generate_corrector(train, n_corrector, seed + 1),
        corrector_heldout=generate_corrector(heldout, n_corrector_heldout, seed + 2),
    )


def lean_file(examples: Sequence[Example]) -> str:
    """One Lean file with every core-header example (the Mathlib-header ones need Mathlib), so a
    machine with Lean can check the whole corpus at once: ``lean corpus.lean``."""
    parts = [ex.formal_statement + ex.proof + "\n" for ex in examples if ex.header == ""]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m prover.tinylm.corpus --out corpus.lean``: write the corpus as a checkable Lean file."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m prover.tinylm.corpus", description=main.__doc__)
    parser.add_argument("--out", required=True, help="Lean file to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-template", type=int, default=20, help="examples per template")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    examples = [make_example(t, rng, "core", i, "check")[1]
                for t in TEMPLATES for i in range(args.per_template)]
    for i, ex in enumerate(examples):  # names unique across templates
        ex.formal_statement = ex.formal_statement.replace(f"theorem {ex.name} ", f"theorem tiny_check_{i} ", 1)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(lean_file(examples))
    print(f"wrote {len(examples)} theorems to {args.out}")


if __name__ == "__main__":
    main()
