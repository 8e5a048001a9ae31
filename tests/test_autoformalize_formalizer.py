"""The formaliser over a real LeanPool running the scripted REPL double, with a scripted generator."""

from __future__ import annotations

import re

import pytest

from autoformalize.formalizer import ABSTAINED, FORMALIZED, FormalizationResult, Formalizer, ItemError
from prover.lean.double_pools import scripted_verifier
from prover.llm.scripted import ScriptedGenerator

SORRY_WARNING = {"messages": [{"severity": "warning", "pos": {"line": 1, "column": 8},
                               "endPos": {"line": 1, "column": 9}, "data": "declaration uses 'sorry'"}]}
# Lean accepts (with only the sorry warning) exactly these statement bodies; anything else gets the
# double's default "unsolved goals" error.
RULES = [
    {"match": r": 0 ≤ x \^ 2 := by sorry", "response": SORRY_WARNING},
    {"match": r"\(h : 2 \* x \+ 3 = 7\) : x = 2 := by sorry", "response": SORRY_WARNING},
    {"match": r": x = 2 ∨ x = 5 := by sorry", "response": SORRY_WARNING},
    {"match": r"\(x : ℝ\) : 0 < x := by sorry", "response": SORRY_WARNING},
    {"match": r"\(sorry : Prop\)", "response": SORRY_WARNING},  # what real Lean says about it, too
]

TRANSLATIONS = {
    # item -> outputs cycled over samples
    "sq": ["```lean4\ntheorem anything (x : ℝ) : 0 ≤ x ^ 2 := by sorry\n```",
           "theorem broken (x : ℝ) : 0 ≤ x ^ 2 + undefined_thing := by sorry",
           "I do not know.",
           "theorem again (x : ℝ) : 0 ≤ x ^ 2 := by\n  positivity"],
    "lin": ["theorem t (x : ℝ) (h : 2 * x + 3 = 7) : x = 2 := by sorry"],
    "wrong": ["theorem t (x : ℝ) : x = 2 ∨ x = 5 := by sorry"],  # type-checks but is the wrong problem
    "none": ["theorem t (x : ℝ) : glorp x := by sorry", "nonsense"],
    "weak": ["theorem t (x : ℝ) : 0 < x := by sorry"],
    "cheat": ["theorem t (x : ℝ) : (sorry : Prop) := by sorry"],
}
INFORMAL = {
    "sq": "For every real number x, x squared is non-negative.",
    "lin": "If 2x + 3 = 7 for a real x, then x = 2.",
    "wrong": "If x^2 - 5x + 6 = 0 then x = 2 or x = 3.",
    "none": "Every glorpic number is interesting.",
    "weak": "Every real number is positive.",
    "cheat": "For every real number x, x squared is non-negative.",
}
BACK = [
    (r"0 ≤ x \^ 2", "For every real number x, x squared is non-negative."),
    (r"2 \* x \+ 3 = 7", "If 2x + 3 = 7 for a real x, then x = 2."),
    (r"x = 2 ∨ x = 5", "For a real x, x = 2 or x = 5."),
    (r"0 < x", "Every real number x is positive."),
]


def script(prompt: str, sample: int, call: int) -> str:
    if "**Lean 4 statement**" in prompt and prompt.rstrip().endswith("**Lean 4 statement**"):
        name = re.findall(r"\*\*Name\*\*\n(\S+)", prompt)[-1]
        outs = TRANSLATIONS[name]
        return outs[sample % len(outs)]
    if "Explain in plain mathematical English" in prompt:
        for pat, text in BACK:
            if re.search(pat, prompt):
                return text
        return ""
    if "Problem B:" in prompt:
        a = prompt.split("Problem A:")[1].split("Problem B:")[0].strip()
        b = prompt.split("Problem B:")[1].split("Answer in exactly")[0].strip()
        if "positive" in b:
            return "Label: faithful\nScore: 0.4\nReason: probably the same"  # below the threshold
        return "Label: faithful\nScore: 0.9" if a == b else "Label: unfaithful\nScore: 0.1\nReason: differ"
    raise AssertionError(f"unexpected prompt: {prompt[:80]}")


class CountingVerifier:
    """Wraps a verifier to count verify calls (the formaliser must batch)."""

    def __init__(self, inner):
        self.inner = inner
        self.calls: list[int] = []

    async def verify(self, candidates):
        self.calls.append(len(candidates))
        return await self.inner.verify(candidates)


@pytest.fixture(scope="module")
def pool():
    p = scripted_verifier(RULES, workers=1)
    yield p
    p.verify_sync([])  # closes the pool's processes


def _items(*names):
    return [{"id": n, "name": n, "informal_statement": INFORMAL[n]} for n in names]


def test_formalizer_drops_non_typechecking_and_abstains_on_unfaithful(pool) -> None:
    gen = ScriptedGenerator(script)
    ver = CountingVerifier(pool)
    fz = Formalizer(gen, ver, n=4, threshold=0.5)
    results = fz.formalize(_items("sq", "lin", "wrong", "none", "weak"))
    by = {r.id: r for r in results}

    # one verify call for every distinct statement of the batch: sq has 2, lin/wrong/weak 1, none 1
    assert ver.calls == [6]
    assert len(gen.calls) == 3  # translate, back-translate, judge: one batched call each

    sq = by["sq"]
    assert sq.status == FORMALIZED
    assert sq.statement == "theorem sq (x : ℝ) : 0 ≤ x ^ 2"
    assert sq.back_translation.startswith("For every real number x")
    assert sq.judge_label == "faithful" and sq.judge_score == pytest.approx(0.9)
    flags = {c.statement: c.typechecks for c in sq.candidates}
    assert flags == {"theorem sq (x : ℝ) : 0 ≤ x ^ 2": True,
                     "theorem sq (x : ℝ) : 0 ≤ x ^ 2 + undefined_thing": False, None: False}
    good = next(c for c in sq.candidates if c.typechecks)
    assert good.samples == [0, 3]  # the same statement sampled twice is checked once
    bad = next(c for c in sq.candidates if c.statement and not c.typechecks)
    assert "unsolved goals" in bad.error and bad.back_translation == "" and bad.judge_label == ""

    assert by["lin"].status == FORMALIZED

    wrong = by["wrong"]  # type-checks, but back-translates to a different problem
    assert wrong.status == ABSTAINED and wrong.statement is None
    assert wrong.candidates[0].typechecks and wrong.candidates[0].judge_label == "unfaithful"
    assert "none is judged faithful" in wrong.reason and "cannot faithfully formalize" in wrong.reason

    none = by["none"]
    assert none.status == ABSTAINED and "none of 4 samples type-checks" in none.reason
    assert not any(c.typechecks for c in none.candidates)

    weak = by["weak"]  # judged faithful, but with a score below the threshold
    assert weak.status == ABSTAINED and weak.candidates[0].judge_score == pytest.approx(0.4)

    # the record round-trips through JSON
    again = FormalizationResult.from_dict(sq.to_dict())
    assert again == sq


def test_lower_threshold_accepts_the_weak_candidate(pool) -> None:
    fz = Formalizer(ScriptedGenerator(script), pool, n=1, threshold=0.3)
    [r] = fz.formalize(_items("weak"))
    assert r.status == FORMALIZED and r.judge_score == pytest.approx(0.4)


def test_unparseable_judge_output_abstains(pool) -> None:
    def chatty_judge(prompt: str, sample: int, call: int) -> str:
        return "Hmm, hard to say." if "Problem B:" in prompt else script(prompt, sample, call)

    fz = Formalizer(ScriptedGenerator(script), pool, judge_generator=ScriptedGenerator(chatty_judge), n=1)
    [r] = fz.formalize(_items("lin"))
    assert r.status == ABSTAINED
    c = r.candidates[0]
    assert c.typechecks and not c.judge_parsed and c.judge_score == 0.0 and c.judge_raw == "Hmm, hard to say."


def test_retrieved_declarations_reach_the_prompt(pool) -> None:
    from autoformalize.declarations import Declaration

    class FixedRetriever:
        def search(self, query: str, k: int = 5):
            return [Declaration("sq_nonneg", signature="(a : α) : 0 ≤ a ^ 2")]

    gen = ScriptedGenerator(script)
    fz = Formalizer(gen, pool, n=1, retriever=FixedRetriever())
    [r] = fz.formalize(_items("sq"))
    assert r.retrieved == ["sq_nonneg"]
    assert "sq_nonneg (a : α) : 0 ≤ a ^ 2" in gen.calls[0][0][0]


def test_bad_items_raise_clear_errors(pool) -> None:
    fz = Formalizer(ScriptedGenerator(script), pool, n=1)
    with pytest.raises(ItemError, match="item 1 .*informal_statement"):
        fz.formalize([{"informal_statement": "ok"}, {"id": "x", "informal_statement": ""}])
    with pytest.raises(ItemError, match="item 0: expected a string or a JSON object"):
        fz.formalize([42])
    with pytest.raises(ValueError, match="threshold"):
        Formalizer(ScriptedGenerator(script), pool, threshold=2.0)


def test_statement_containing_sorry_never_counts_as_typechecked(pool) -> None:
    ver = CountingVerifier(pool)
    [r] = Formalizer(ScriptedGenerator(script), ver, n=1).formalize(_items("cheat"))
    assert r.status == ABSTAINED
    assert ver.calls == [] or ver.calls == [0]  # not even sent to Lean
    assert not r.candidates[0].typechecks and "contains sorry" in r.candidates[0].error


class ContextFullGenerator(ScriptedGenerator):
    """What a backend returns when the prompt fills the model's context (the transformers backend clips
    max_tokens to the context: tests/test_llm_hf.py): empty text stopped at the length limit."""

    def generate(self, prompts, sampling):
        out = super().generate(prompts, sampling)
        for row in out:
            for c in row:
                c.text, c.completion_tokens, c.finish_reason = "", 0, "length"
        return out


def test_prompt_overflowing_the_context_is_named_as_the_reason(pool) -> None:
    from autoformalize.formalizer import NO_STATEMENT, NO_TEXT_AT_LIMIT

    [r] = Formalizer(ContextFullGenerator(script), pool, n=2).formalize(_items("sq"))
    assert r.status == ABSTAINED
    [c] = r.candidates
    assert c.statement is None and c.samples == [0, 1] and c.raw == ""
    assert c.error == NO_TEXT_AT_LIMIT and "context" in r.reason

    # text without a statement, or an empty answer that stopped normally, keeps the plain message
    [r] = Formalizer(ScriptedGenerator([(".", ["", "I do not know."])]), pool, n=2).formalize(_items("sq"))
    assert r.candidates[0].error == NO_STATEMENT and "context" not in r.reason
