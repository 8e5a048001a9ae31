"""The simplified Lean corpus: well-formed, true, covering every template, split without leakage, seeded."""

import itertools
import random
import re

import pytest

from prover.tinylm.corpus import (
    TEMPLATE_NAMES,
    TEMPLATES,
    TYPES,
    build_corpus,
    generate_examples,
    make_example,
    make_mistake,
)
from prover.tinylm.evaluate import parses_as_proof
from prover.tinylm.formats import END


@pytest.fixture(scope="module")
def corpus():
    return build_corpus(n_train=1500, n_heldout=150, n_corrector=300, n_corrector_heldout=30, seed=3)


def test_every_template_is_covered(corpus):
    assert {ex.template for ex in corpus.train} == set(TEMPLATE_NAMES)
    assert len({ex.template for ex in corpus.heldout}) >= len(TEMPLATE_NAMES) // 2


STATEMENT = re.compile(r"^theorem [a-z][a-z0-9_]*( \(.+\))? : .+ := by\n$")


def test_examples_are_well_formed(corpus):
    names = [ex.name for ex in [*corpus.train, *corpus.heldout]]
    assert len(set(names)) == len(names)
    for ex in [*corpus.train, *corpus.heldout]:
        assert STATEMENT.match(ex.formal_statement), ex.formal_statement
        assert ex.header in ("", ex.header) and (ex.header == "" or ex.header.startswith("import Mathlib"))
        # Mathlib notation only under the Mathlib header: the core corpus must check without Mathlib.
        if ex.header == "":
            assert "ℕ" not in ex.formal_statement and "ℤ" not in ex.formal_statement
        assert "sorry" not in ex.proof and "native_decide" not in ex.proof
        assert all(line.startswith("  ") and not line.startswith("   ") for line in ex.proof.split("\n"))
        assert ex.completion().endswith("\n" + END)
        assert parses_as_proof(ex.completion()), ex.proof
        assert ex.prompt().endswith(ex.formal_statement)
        assert f"/-- {ex.informal} -/\n" in ex.prompt()
        problem = ex.to_problem()
        assert problem.formal_statement == ex.formal_statement and problem.split == ex.split


def _py(expr: str) -> str:
    """Lean arithmetic/logic over Nat/Int literals and variables -> a Python expression."""
    expr = re.sub(r"\(\s*(-?\d+)\s*:\s*(Nat|Int|ℕ|ℤ)\s*\)", r"(\1)", expr)
    expr = re.sub(r"\((\[[^\]]*\])\s*:\s*List (Nat|ℕ)\)\.length", r"len(\1)", expr)
    expr = expr.replace("≤", "<=").replace("≠", "!=").replace("∉", " not in ").replace("∈", " in ")
    expr = expr.replace("∧", " and ").replace("∨", " or ")
    return re.sub(r"(?<![<>!=])=(?!=)", "==", expr)


def _holds(binders: str, goal: str) -> bool:
    """Brute-force the statement over small values of its Nat/Int variables."""
    vars_: list[tuple[str, str]] = []
    hyps: list[str] = []
    for names, ty in re.findall(r"\(([^():]+) : ([^()]+)\)", binders):
        ty = ty.strip()
        if ty in ("Nat", "Int", "ℕ", "ℤ"):
            vars_ += [(v, ty) for v in names.split()]
        elif ty != "Prop" and not ty.startswith("List"):
            hyps.append(_py(ty).strip())
    if "→" in goal:
        pre, goal = goal.split("→")
        hyps.append(_py(pre).strip())
    code = [compile(h, "<hyp>", "eval") for h in hyps]
    goal_code = compile(_py(goal).strip(), "<goal>", "eval")
    span = 25 if len(vars_) < 3 else 12
    ranges = [range(0, span) if ty in ("Nat", "ℕ") else range(-span, span) for _, ty in vars_]
    for values in itertools.product(*ranges):
        env = dict(zip([v for v, _ in vars_], values, strict=True))
        if all(eval(h, {}, env) for h in code) and not eval(goal_code, {}, env):
            return False
    return True


ARITH_TEMPLATES = [t for t in TEMPLATES if t.group in ("arith", "order", "parity", "int")
                   or t.name in ("nat_linear_imp", "and_arith", "or_arith", "list_mem", "list_not_mem", "list_length")]
BINDERS_GOAL = re.compile(r"^theorem [a-z][a-z0-9_]*((?: \([^()]*\))*) : (.*) := by\n$")


@pytest.mark.parametrize("template", ARITH_TEMPLATES, ids=lambda t: t.name)
def test_arithmetic_statements_are_true(template):
    """Wrong constants would make an unprovable statement; check each instance by brute force."""
    rng = random.Random(11)
    for i in range(15):
        _, ex = make_example(template, rng, "core" if i % 2 else "mathlib", i, "train")
        m = BINDERS_GOAL.match(ex.formal_statement)
        assert m, ex.formal_statement
        assert _holds(m.group(1), m.group(2)), ex.formal_statement


def test_a_false_statement_is_caught_by_the_checker():
    assert not _holds(" (x : Nat) (h : x + 3 = 5)", "x = 3")
    assert not _holds("", "(4 : Nat) ∈ [1, 2]")
    assert _holds(" (x : Int) (h : x - 4 = -7)", "x = -3")


def test_types_follow_header():
    tpl = next(t for t in TEMPLATES if t.name == "nat_linear_eq")
    for kind in ("core", "mathlib"):
        _, ex = make_example(tpl, random.Random(0), kind, 0, "")
        assert f": {TYPES[kind].nat})" in ex.formal_statement


def test_heldout_statements_never_in_train(corpus):
    def body(stmt):  # the statement without its theorem name
        return stmt.split(" ", 2)[2]

    train = {(ex.header, body(ex.formal_statement)) for ex in corpus.train}
    held = [(ex.header, body(ex.formal_statement)) for ex in corpus.heldout]
    assert len(held) == len(set(held)) == 150
    assert not train & set(held)


def test_heldout_templates_are_held_out_entirely():
    train, held = generate_examples(300, 60, seed=1, heldout_templates=["or_inr", "iff_refl"])
    assert not {ex.template for ex in train} & {"or_inr", "iff_refl"}
    assert {"or_inr", "iff_refl"} & {ex.template for ex in held}


def test_unknown_template_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown tinylm template.*no_such"):
        generate_examples(10, 2, heldout_templates=["no_such"])


def test_seeded():
    a = build_corpus(200, 20, 30, 5, seed=7)
    b = build_corpus(200, 20, 30, 5, seed=7)
    c = build_corpus(200, 20, 30, 5, seed=8)
    assert a.texts() == b.texts()
    assert a.texts() != c.texts()


def test_corrector_examples(corpus):
    assert len(corpus.corrector_train) == 300 and len(corpus.corrector_heldout) == 30
    assert {ex.split for ex in corpus.corrector_heldout} == {"heldout"}
    for ex in corpus.corrector_train:
        assert ex.failed_proof != ex.proof
        assert ex.error and "\n" not in ex.error and len(ex.error) <= 200
        assert ex.prompt().startswith("Fix the following Lean 4 proof.")
        assert ex.prompt().endswith(ex.header + ex.formal_statement)
        assert ex.completion() == ex.proof + "\n" + END
    assert len({ex.mistake for ex in corpus.corrector_train}) >= 5


def test_every_mistake_of_every_template_gives_a_different_proof():
    rng = random.Random(5)
    for tpl in TEMPLATES:
        _, ex = make_example(tpl, rng, "core", 0, "train")
        for kind in ex.mistakes:
            bad, err = make_mistake(ex, kind, rng)
            assert bad != ex.proof and err, (tpl.name, kind)
            assert all(line.startswith("  ") for line in bad.split("\n"))
    with pytest.raises(ValueError, match="unknown mistake"):
        make_mistake(ex, "nope", rng)


def test_lean_file_of_core_examples(tmp_path):
    from prover.tinylm.corpus import main

    out = tmp_path / "corpus.lean"
    main(["--out", str(out), "--per-template", "3"])
    text = out.read_text()
    assert text.count("theorem tiny_check_") == 3 * len(TEMPLATES)
    assert "import" not in text and "ℕ" not in text and "sorry" not in text
    names = re.findall(r"theorem (tiny_check_\d+)", text)
    assert len(set(names)) == len(names)


@pytest.mark.lean
def test_core_corpus_checks_in_lean(tmp_path):
    """Needs a Lean 4 toolchain on PATH: every core-header corpus proof must be accepted by plain Lean."""
    import shutil
    import subprocess

    from prover.tinylm.corpus import main

    lean = shutil.which("lean")
    if lean is None:
        pytest.skip("needs the `lean` executable (Lean 4 core, via elan) on PATH")
    out = tmp_path / "corpus.lean"
    main(["--out", str(out), "--per-template", "5"])
    proc = subprocess.run([lean, str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "error" not in proc.stdout, proc.stdout[-3000:]
