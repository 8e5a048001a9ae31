"""The tiny corpus's data for every role: same strings as the stages render, sound perturbations, new families."""

from __future__ import annotations

import itertools
import json
import random
import re
from collections import Counter

import pytest

from autoformalize.backtranslate import backtranslation_prompt, clean_backtranslation
from autoformalize.judge import judge_prompt as stage_judge_prompt
from autoformalize.judge import parse_judgement
from autoformalize.prompts import TINY_EXEMPLARS, TINY_TEMPLATES, Exemplar, load_exemplars
from autoformalize.translate import extract_statement, translation_prompt
from prover.synthetic.formalize import TINY_INPUT
from prover.synthetic.quality import TINY_PROMPT, load_prompt, parse_grade, render_prompt
from prover.synthetic.statements import consistency_statement, negation_statement
from prover.tinylm import formats
from prover.tinylm.corpus import TEMPLATES, build_corpus, make_example
from prover.tinylm.evaluate import alpha_normal, parses_as_proof, translated_statement
from prover.tinylm.roles import (
    EXEMPLARS,
    ROLES,
    build_roles,
    closed_truth,
    demo_sets,
    ill_posed,
    ill_posed_kind,
    pair_of,
    perturb,
    vocabulary,
)

COUNTS = {"translate": 120, "backtranslate": 60, "judge": 80, "quality": 40, "consistency": 20, "negation": 20,
          "ill_posed": 20}


@pytest.fixture(scope="module")
def corpus():
    return build_corpus(n_train=1500, n_heldout=150, n_corrector=50, n_corrector_heldout=10, seed=5)


@pytest.fixture(scope="module")
def roles(corpus):
    return build_roles(corpus.train, corpus.heldout, COUNTS, {k: v // 4 for k, v in COUNTS.items()}, seed=5)


def test_every_role_is_built_and_its_answer_is_read_by_its_stage(roles):
    train, held = roles
    assert set(ROLES) <= {r.role for r in train} and {r.split for r in held} == {"heldout"}
    for r in train:
        if r.role == "translate":
            name = r.reference.split()[1] if r.reference else "x"
            stmt = extract_statement(r.completion(), name=name)  # an `example`: the stage names it
            assert (stmt is None) == (r.kind == "ill_posed")
            assert stmt == (r.reference or None)
            assert alpha_normal(translated_statement(r.completion())) == alpha_normal(stmt)
        elif r.role == "backtranslate":
            assert clean_backtranslation(r.completion()) == r.reference
        elif r.role == "judge":
            j = parse_judgement(r.completion())
            assert j.parsed and j.label == r.reference and j.accepts(0.5) == (r.reference == "faithful")
        elif r.role == "quality":
            assert parse_grade(r.completion()) == r.reference
        else:
            assert parses_as_proof(r.completion()), r.completion()


def test_tiny_prompts_are_the_strings_the_stages_render(roles):
    header = "import Mathlib\n\nopen BigOperators Real Nat Topology Rat\n\n"
    for k in range(len(EXEMPLARS) + 1):
        stage = translation_prompt("Show that 2 plus 2 is 4.", name="t", header=header,
                                   exemplars=[Exemplar(*e) for e in EXEMPLARS[:k]], template=TINY_TEMPLATES["translate"])
        assert stage == formats.translate_prompt(header, "t", "Show that 2 plus 2 is 4.", EXEMPLARS[:k])
    assert [(e.name, e.informal, e.formal) for e in load_exemplars(TINY_EXEMPLARS)] == list(EXEMPLARS)
    stmt = "theorem t (n : ℕ) : n + 0 = n"
    assert backtranslation_prompt(stmt, template=TINY_TEMPLATES["backtranslate"]) == formats.backtranslate_prompt(stmt)
    assert stage_judge_prompt("A.", "B.", template=TINY_TEMPLATES["judge"]) == formats.judge_prompt("A.", "B.")
    assert render_prompt(load_prompt(TINY_PROMPT), "A.", stmt + " := by\n") == formats.quality_prompt("A.", stmt + " := by\n")
    # the synthetic filters' statements have the shape the corpus trains the prover on
    train, _ = roles
    for r in train:
        if r.role in ("consistency", "negation"):
            base = r.meta["statement"].replace("_consistency ", " ", 1).replace("_neg : ", " : ", 1)
            if r.role == "consistency":
                m = re.match(r"^(theorem \S+)((?: \([^()]*\))*) : False := by\n$", r.meta["statement"])
                original = f"{m.group(1).removesuffix('_consistency')}{m.group(2)} : x = 0 := by\n"
                assert consistency_statement(original)[0] == r.meta["statement"], base
            else:
                m = re.match(r"^theorem (\S+)_neg : ¬ \((.*)\) := by\n$", r.meta["statement"])
                assert negation_statement(f"theorem {m.group(1)} : {m.group(2)} := by\n")[0] == r.meta["statement"]


def test_no_training_role_example_is_about_a_heldout_statement(corpus, roles):
    train, _ = roles
    """Same header and statement body (a statement is held out with its header, as the prover split is)."""
    held = {(ex.header, pair_of(ex).statement.split(" ", 2)[2]) for ex in corpus.heldout}
    for r in train:
        if r.role in ("translate", "backtranslate") and r.reference and r.kind != "ill_posed":
            stmt = r.reference if r.role == "translate" else r.meta["statement"]
            assert (r.meta["header"], stmt.split(" ", 2)[2]) not in held


def test_perturbations_change_both_sides_and_only_once(corpus):
    rng = random.Random(0)
    seen = Counter()
    for ex in corpus.train[:600]:
        p = pair_of(ex)
        for kind in ("constant", "drop_hypothesis", "flip_inequality", "quantifier"):
            q = perturb(p, kind, rng)
            if q is None:
                continue
            seen[kind] += 1
            assert q.statement != p.statement and q.informal != p.informal, (kind, p, q)
            if kind == "drop_hypothesis":
                assert not re.search(r"\(h\S* :", q.binders) and q.goal == p.goal
            if kind == "flip_inequality":
                assert ("≥" in q.statement or ">" in q.statement) and ("at least" in q.informal or "greater" in q.informal)
            if kind == "quantifier":
                assert q.goal.startswith("∀") and q.informal.startswith("For every")
    assert all(seen[k] > 0 for k in ("constant", "drop_hypothesis", "flip_inequality", "quantifier")), seen


def test_closed_truth_and_the_negation_examples_are_false_statements(roles):
    assert closed_truth("3 + 4 = 7") is True and closed_truth("3 + 4 = 8") is False
    assert closed_truth("min 3 7 = 3") and closed_truth("3 ∣ 12") and not closed_truth("(true && false) = true")
    assert closed_truth("(List.range 4).sum = 6") and closed_truth("x + 0 = x") is None
    train, _ = roles
    negs = [r for r in train if r.role == "negation"]
    assert negs
    for r in negs:
        goal = re.match(r"^theorem \S+ : ¬ \((.*)\) := by\n$", r.meta["statement"]).group(1)
        assert closed_truth(goal) is False, goal


NEW_GROUPS = ("number", "minmax", "sum", "bool", "exists", "vacuous")


def _py(expr: str) -> str:
    expr = re.sub(r"\b(min|max) (\w+) (\w+)", r"\1(\2, \3)", expr)
    expr = re.sub(r"\(List\.range (\d+)\)\.sum", r"sum(range(\1))", expr)
    expr = re.sub(r"(\w+) ∣ (.+)$", r"((\2) % \1 == 0)", expr)
    expr = expr.replace("&&", " and ").replace("||", " or ").replace("!", " not ").replace("true", "True")
    expr = expr.replace("false", "False").replace("≤", "<=").replace("≠", "!=")
    return re.sub(r"(?<![<>!=])=(?!=)", "==", expr)


@pytest.mark.parametrize("template", [t for t in TEMPLATES if t.group in NEW_GROUPS], ids=lambda t: t.name)
def test_new_families_state_true_things(template):
    """Brute force over small values (an ∃ by its witness; vacuous hypotheses: no value satisfies them)."""
    rng = random.Random(3)
    for i in range(12):
        _, ex = make_example(template, rng, "core" if i % 2 else "mathlib", i, "train")
        p = pair_of(ex)
        goal, binders = p.goal, p.binders
        if goal.startswith("∃"):
            witness = re.search(r"⟨(\d+),", ex.proof).group(1)
            m = re.match(r"^∃ (\w+) : \S+, (.*)$", goal)
            assert eval(_py(m.group(2)), {}, {m.group(1): int(witness)}), ex.formal_statement
            continue
        vars_ = [(n, ty) for names, ty in re.findall(r"\(([^():]+) : (\w+)\)", binders) for n in names.split()
                 if ty in ("Nat", "ℕ", "Bool")]
        hyps = [_py(h) for _, h in re.findall(r"\((h\S*) : ([^()]*)\)", binders)]
        domains = [(False, True) if ty == "Bool" else range(0, 30) for _, ty in vars_]
        for values in itertools.product(*domains):
            env = dict(zip([n for n, _ in vars_], values, strict=True))
            if all(eval(h, {}, env) for h in hyps):
                assert template.group != "vacuous", ex.formal_statement
                assert eval(_py(goal), {"sum": sum, "range": range, "min": min, "max": max}, env), ex.formal_statement


def test_vocabulary_is_small_and_ill_posed_statements_are_recognised(corpus, roles):
    train, _ = roles
    words = vocabulary([ex.informal for ex in corpus.train] + [r.meta.get("informal", "") for r in train])
    assert 40 < len(words) < 2000
    rng = random.Random(1)
    assert all(ill_posed_kind(ill_posed(rng)) for _ in range(50))
    assert not any(ill_posed_kind(ex.informal) for ex in corpus.train[:300])


def test_alpha_normal_ignores_names_of_bound_variables_only():
    a = "theorem x (a b : ℕ) (h : a ≤ b) : a + 1 ≤ b + 1"
    assert alpha_normal(a) == alpha_normal("theorem y (m n : ℕ) (h₀ : m ≤ n) : m + 1 ≤ n + 1")
    assert alpha_normal(a) != alpha_normal("theorem y (m n : ℕ) (h₀ : m ≤ n) : m + 2 ≤ n + 1")
    assert alpha_normal("theorem t : ∃ n : ℕ, n + 1 = 3") == alpha_normal("theorem s : ∃ k : ℕ, k + 1 = 3")


def test_packaged_demo_sets_are_regenerated_exactly():
    from autoformalize.abstain_eval import DEFAULT_LABELLED_TINY

    labelled, synth = demo_sets()
    assert [json.loads(x) for x in DEFAULT_LABELLED_TINY.read_text().splitlines()] == labelled
    assert [json.loads(x) for x in TINY_INPUT.read_text().splitlines()] == synth
    assert {r["expect"] for r in synth} == {"proved", "disproved", "inconsistent", "abstained"}


def test_judge_contrast_pairs_differ_in_one_number_and_dropped_hypotheses_drop_their_variables(corpus):
    held = frozenset(ex.informal for ex in corpus.heldout)
    train, _ = build_roles(corpus.train, corpus.heldout, {"judge_contrast": 40}, {}, seed=5)
    assert len(train) >= 30 and Counter(r.reference for r in train) == {"faithful": len(train) // 2,
                                                                        "unfaithful": len(train) // 2}
    for same, changed in zip(train[::2], train[1::2], strict=True):
        a, b = (re.search(r"Problem A:\n(.*)\n\nProblem B:\n(.*)\n\nAnswer:", r.prompt(), re.S).groups()
                for r in (same, changed))
        assert a[0] == a[1] == b[0] and b[1] != b[0] and b[1] not in held
        assert re.sub(r"\d+", "#", b[1]) == re.sub(r"\d+", "#", b[0])  # only numbers differ
    p = pair_of(next(ex for ex in corpus.train if ex.template == "nat_le_trans"))
    q = perturb(p, "drop_hypothesis", random.Random(0))
    assert q.binders.count(" ") == 3 and all(v in q.goal for v in q.binders[1:].split(" :")[0].split())


def test_a_prompt_loss_keeps_the_token_ids():
    from prover.tinylm.batches import encode
    from prover.tinylm.tokenizer import train_tokenizer

    prompt = formats.judge_prompt("Show that 2 plus 3 is 5.", "Show that 2 plus 3 is 6.")
    tok = train_tokenizer([prompt] * 4, 300)
    plain, _ = encode(tok, prompt, " x")
    ids, labels = encode(tok, prompt, " x", formats.judge_second_problem_start(prompt))
    assert ids == plain and tok.decode([t for t in labels if t != -100]).startswith("Show that 2 plus 3 is 6.")


def test_judge_numbers_option_lists_each_problems_numbers_and_the_stage_still_reads_the_label(corpus):
    train, _ = build_roles(corpus.train, corpus.heldout, {"judge_contrast": 8}, {}, seed=5, judge_numbers=True)
    for r in train:
        a, b = re.search(r"Problem A:\n(.*)\n\nProblem B:\n(.*)\n\nAnswer:", r.prompt(), re.S).groups()
        lines = r.completion().split("\n")
        assert lines[0] == "Numbers A: " + (" ".join(re.findall(r"\d+", a)) or "none")
        assert lines[1] == "Numbers B: " + (" ".join(re.findall(r"\d+", b)) or "none")
        assert parse_judgement(r.completion()).label == r.reference  # the stage's parser skips the scratchpad
    plain, _ = build_roles(corpus.train, corpus.heldout, {"judge_contrast": 8}, {}, seed=5)
    assert all(r.completion().startswith("Label: ") for r in plain)  # the default answers with the label first


def test_judge_pairs_scratchpad_puts_each_pair_of_numbers_side_by_side_with_its_verdict(corpus):
    train, _ = build_roles(corpus.train, corpus.heldout, {"judge_contrast": 8, "judge": 8}, {}, seed=5,
                           judge_numbers="pairs")
    for r in train:
        a, b = re.search(r"Problem A:\n(.*)\n\nProblem B:\n(.*)\n\nAnswer:", r.prompt(), re.S).groups()
        first = r.completion().split("\n")[0]
        assert first.startswith("Numbers: ")
        if first != "Numbers: none":
            pairs = [p.split() for p in first.removeprefix("Numbers: ").split(", ")]
            assert [x for x, _, _ in pairs if x != "none"] == re.findall(r"\d+", a)
            assert [y for _, y, _ in pairs if y != "none"] == re.findall(r"\d+", b)
            assert all((v == "same") == (x == y) for x, y, v in pairs)
        assert parse_judgement(r.completion()).label == r.reference
    assert formats.pairs_line("2 plus 3 is 5.", "2 plus 3.") == "2 2 same, 3 3 same, 5 none differ"
    with pytest.raises(ValueError, match="corpus.judge_numbers must be one of none, lists, pairs, found"):
        build_roles(corpus.train, corpus.heldout, {"judge": 2}, {}, seed=5, judge_numbers="diff")


def test_judge_found_scratchpad_says_of_each_of_bs_numbers_whether_a_has_it(corpus):
    train, _ = build_roles(corpus.train, corpus.heldout, {"judge_contrast": 12, "judge": 8}, {}, seed=5,
                           judge_numbers="found")
    changed = 0
    for r in train:
        a, b = re.search(r"Problem A:\n(.*)\n\nProblem B:\n(.*)\n\nAnswer:", r.prompt(), re.S).groups()
        first = r.completion().split("\n")[0]
        if first != "Numbers: none":
            found = [f.split() for f in first.removeprefix("Numbers: ").split(", ")]
            assert [n for n, _ in found] == re.findall(r"\d+", b)
            assert all((v == "seen") == (n in re.findall(r"\d+", a)) for n, v in found)
            changed += any(v == "new" for _, v in found)
        assert parse_judgement(r.completion()).label == r.reference
    assert changed and formats.found_line("2 plus 3 is 5.", "2 plus 3 is 6.") == "2 seen, 3 seen, 6 new"


def test_decision_weights_weigh_the_label_word_only_and_weight_one_is_the_models_loss():
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from prover.tinylm.batches import collate, decision_weights, encode, weighted_loss
    from prover.tinylm.tokenizer import train_tokenizer

    prompt = formats.judge_prompt("Show that 2 plus 3 is 5.", "Show that 2 plus 3 is 6.")
    answer = formats.judge_completion(False, "a constant changed")
    tok = train_tokenizer([prompt, answer] * 4, 300)
    ids, labels = encode(tok, prompt, answer)
    w = decision_weights(tok, answer, formats.decision_span("judge", answer), 4.0, len(ids))
    assert len(w) == len(ids) and tok.decode([i for i, x in zip(ids, w, strict=True) if x == 4.0]).strip() == "unfaithful"
    assert decision_weights(tok, answer, formats.decision_span("translate", answer), 4.0, len(ids)) is None
    assert formats.decision_span("quality", " good") == (0, 5)
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128))
    plain = weighted_loss(model, collate([(ids, labels)], tok.pad_token_id))
    padded = collate([(ids, labels), (ids[:9], labels[:9])], tok.pad_token_id)  # a short second row: padding
    assert torch.allclose(weighted_loss(model, padded), model(**padded).loss, atol=1e-5)  # the model's own loss
    ones = weighted_loss(model, collate([(ids, labels, [1.0] * len(ids))], tok.pad_token_id))
    heavy = weighted_loss(model, collate([(ids, labels, w)], tok.pad_token_id))
    assert torch.allclose(plain, ones, atol=1e-5) and not torch.allclose(plain, heavy, atol=1e-4)


def test_renumbered_translations_change_every_shared_numeral_on_both_sides(corpus):
    train, _ = build_roles(corpus.train, corpus.heldout, {"translate_renumbered": 40}, {}, seed=3)
    assert len(train) >= 30 and {r.kind for r in train} == {"renumbered"}
    held = {ex.formal_statement.split(" ", 2)[2] for ex in corpus.heldout}
    for r in train:
        informal_numbers = re.findall(r"(?<![\w.₀-₉])\d+(?![\w₀-₉])", r.meta["informal"])
        assert all(re.search(rf"(?<![\w.₀-₉]){n}(?![\w₀-₉])", r.reference) for n in informal_numbers), r
        assert r.reference.split(" ", 2)[2] + " := by\n" not in held
