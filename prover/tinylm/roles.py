"""Parallel data for every role the pipeline's stages ask a model to play (TinyHelen's leaner environment).

The prover corpus (:mod:`prover.tinylm.corpus`) gives statements with an informal line and a proof. From
each statement this module derives one example per role, written in the exact prompt format of the stage
that plays it (the tiny prompt styles of :mod:`prover.tinylm.formats`, which the stages render from their
own template files):

* ``translate``: informal statement -> ``theorem name binders : goal := by sorry`` (Herald's translator);
  an ill-posed informal statement -> a refusal with no Lean statement in it, so the formaliser abstains;
* ``backtranslate``: formal statement -> its informal statement;
* ``judge``: (original, back-translation) -> ``Label: faithful|unfaithful`` with a score and a one-line
  reason; unfaithful pairs come from perturbing the statement (changed constant, dropped hypothesis,
  flipped inequality, wrong quantifier) and from ill-posed originals;
* ``quality``: (informal, formal) -> a grade (``good`` when the statement says what the problem says,
  ``poor`` when it is a perturbation of it), DeepSeek-Prover's stage-2 filter;
* ``consistency``: ``theorem n_consistency hyps : False := by`` for statements whose hypotheses are
  contradictory -> the proof of ``False`` (stage 3 drops those statements);
* ``negation``: ``theorem n_neg : ¬ (goal) := by`` for false closed statements -> ``decide`` (stage 4).

Every perturbation is applied to the formal and the informal side together, so a perturbed pair is itself
a faithful pair of a different (usually false) statement: it trains the translator on false claims, which
the pipeline must formalise faithfully so that their negations get proved.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from prover.tinylm import formats
from prover.tinylm.corpus import Example

ROLES: tuple[str, ...] = ("translate", "backtranslate", "judge", "quality", "consistency", "negation")
PERTURBATIONS: tuple[str, ...] = ("constant", "drop_hypothesis", "flip_inequality", "quantifier")
#: The judge's one-line reasons, per way a pair can differ.
REASONS: dict[str, str] = {
    "same": "same hypotheses and conclusion",
    "constant": "a constant is different",
    "drop_hypothesis": "a hypothesis is missing",
    "flip_inequality": "the inequality is reversed",
    "quantifier": "the quantifier is different",
    "ill_posed": "problem A is ill-posed",
}

#: Few-shot exemplars for the tiny translation prompt, read from ``prover/tinylm/prompts/exemplars.jsonl``
#: (the file the stages' ``exemplars=`` option names for the tiny style). Type-free, so they fit the core
#: and the Mathlib header alike.
EXEMPLARS: tuple[tuple[str, str, str], ...] = tuple(
    (str(row["name"]), str(row["informal"]), str(row["formal"]))
    for row in map(json.loads, formats.EXEMPLARS_FILE.read_text(encoding="utf-8").splitlines()) if row
)


@dataclass
class Pair:
    """A formal statement (``theorem name binders : goal``, no ``:=``) with its informal statement."""

    name: str
    header: str
    binders: str
    goal: str
    informal: str

    @property
    def statement(self) -> str:
        return f"theorem {self.name}{' ' + self.binders if self.binders else ''} : {self.goal}"


_STMT = re.compile(r"^theorem (\S+)((?: \([^()]*\))*) : (.*) := by\n?$")


def pair_of(ex: Example) -> Pair:
    m = _STMT.match(ex.formal_statement)
    if not m:
        raise ValueError(f"tinylm: cannot split the corpus statement {ex.formal_statement!r}")
    return Pair(ex.name, ex.header, m.group(2).strip(), m.group(3), ex.informal)


# ------------------------------------------------------------------------------------------ perturbations
_NUM = re.compile(r"(?<![\w.₀-₉])\d+(?![\w₀-₉])")


def _shared_numerals(p: Pair) -> list[str]:
    """The numerals of the formal statement that the informal one spells in digits too, in string order."""
    formal_nums = set(_NUM.findall(p.binders + " " + p.goal))
    return sorted(n for n in formal_nums if re.search(rf"(?<![\w.]){n}(?![\w])", p.informal))


def _constant(p: Pair, rng: random.Random) -> Pair | None:
    both = _shared_numerals(p)
    if not both:
        return None
    n = rng.choice(both)
    new = str(int(n) + 1) if int(n) == 0 or rng.random() < 0.5 else str(int(n) - 1)
    pat = re.compile(rf"(?<![\w.₀-₉]){n}(?![\w₀-₉])")
    return Pair(p.name, p.header, pat.sub(new, p.binders), pat.sub(new, p.goal), pat.sub(new, p.informal))


def renumbered(p: Pair, rng: random.Random, high: int = 99) -> Pair | None:
    """``p`` with every numeral that both sides spell in digits replaced, consistently on both sides, by a fresh
    one in ``0..high`` (None when there is none, or when the draw changed nothing).

    Why: in the corpus a closed fact's result is always the true one (`11 times 8 is 88`), so a translator
    can half-compute it instead of copying it; with fresh numbers (the statement is then usually false, and
    must still be translated faithfully) only the copy predicts the answer."""
    both = _shared_numerals(p)
    if not both:
        return None
    fresh = dict(zip(both, (str(v) for v in rng.sample(range(high + 1), len(both))), strict=True))

    def sub(text: str) -> str:
        return _NUM.sub(lambda m: fresh.get(m.group(), m.group()), text)

    q = Pair(p.name, p.header, sub(p.binders), sub(p.goal), sub(p.informal))
    return None if q.statement == p.statement else q


_HYP = re.compile(r"\((h\S*) : ([^()]*)\)")
_IF_THEN = re.compile(r"^If (.+?), then (.+)$")


def _drop_hypothesis(p: Pair, rng: random.Random) -> Pair | None:
    hyps = _HYP.findall(p.binders)
    m = _IF_THEN.match(p.informal)
    if not hyps or not m or len(hyps) != 1 + m.group(1).count(" and "):
        return None
    binders = " ".join(_HYP.sub("", p.binders).split())
    # variables only the dropped hypotheses mentioned go too (`Show that k is at most c.` has no `y`)
    used = set(re.findall(r"[\w₀-₉']+", p.goal))

    def keep(g: re.Match[str]) -> str:
        names = [n for n in g.group(1).split() if n in used]
        return f"({' '.join(names)} : {g.group(2)})" if names else ""

    binders = " ".join(re.sub(r"\(([^():]+) : ([^()]*)\)", keep, binders).split())
    return Pair(p.name, p.header, binders, p.goal, "Show that " + m.group(2))


_FLIPS = (("<", ">", "less than", "greater than"), ("≤", "≥", "at most", "at least"))


def _flip_inequality(p: Pair, rng: random.Random) -> Pair | None:
    formal = p.binders + " : " + p.goal
    if "∣" in formal or "<;>" in formal:
        return None
    done = False
    binders, goal, informal = p.binders, p.goal, p.informal
    for op, new, word, new_word in _FLIPS:
        k = formal.count(op)
        if k == 0:
            continue
        if p.informal.count(word) != k:
            return None
        binders, goal = binders.replace(op, new), goal.replace(op, new)
        informal, done = informal.replace(word, new_word), True
    return Pair(p.name, p.header, binders, goal, informal) if done else None


def _quantifier(p: Pair, rng: random.Random) -> Pair | None:
    m = re.match(r"^∃ (\w+) : (\S+), (.*)$", p.goal)
    im = re.match(r"^There is a natural number (\w+) such that (.*)$", p.informal)
    if not m or not im:
        return None
    return Pair(p.name, p.header, p.binders, f"∀ {m.group(1)} : {m.group(2)}, {m.group(3)}",
                f"For every natural number {im.group(1)}, {im.group(2)}")


_PERTURB = {"constant": _constant, "drop_hypothesis": _drop_hypothesis, "flip_inequality": _flip_inequality,
            "quantifier": _quantifier}


def perturb(p: Pair, kind: str, rng: random.Random) -> Pair | None:
    """``p`` changed in one way (formal and informal alike), or None when that change does not apply to it."""
    out = _PERTURB[kind](p, rng)
    return None if out is None or out.statement == p.statement else out


def perturbations(p: Pair, rng: random.Random) -> list[tuple[str, Pair]]:
    return [(k, q) for k in PERTURBATIONS if (q := perturb(p, k, rng)) is not None]


# ------------------------------------------------------------------------------------------ truth of closed goals
def _py(goal: str) -> str | None:
    """A closed Lean goal over Nat/Bool literals as a Python expression, or None when it is not closed."""
    e = re.sub(r"\(\s*(-?\d+)\s*:\s*(Nat|Int|ℕ|ℤ)\s*\)", r"(\1)", goal)
    e = re.sub(r"\(List\.range (\d+)\)\.sum", r"sum(range(\1))", e)
    e = re.sub(r"\((\[[^\]]*\])\s*:\s*List (?:Nat|ℕ)\)\.length", r"len(\1)", e)
    e = re.sub(r"\b(min|max) (\d+) (\d+)", r"\1(\2, \3)", e)
    e = re.sub(r"(\d+) ∣ (\d+)", r"(\2 % \1 == 0)", e)
    e = e.replace("&&", " and ").replace("||", " or ").replace("true", "True").replace("false", "False")
    e = e.replace("≤", "<=").replace("≥", ">=").replace("≠", "!=").replace("∉", " not in ").replace("∈", " in ")
    e = re.sub(r"(?<![<>!=])=(?!=)", "==", e)
    if re.search(r"[^\d\s+\-*%()<>=!\[\],]", re.sub(r"\b(True|False|and|or|not|in|sum|range|len|min|max)\b", "", e)):
        return None
    return e


def closed_truth(goal: str) -> bool | None:
    """Whether a closed arithmetic/Bool goal holds (Python's evaluation), None when it has variables."""
    e = _py(goal)
    if e is None:
        return None
    try:
        return bool(eval(e, {"__builtins__": {}}, {"sum": sum, "range": range, "len": len, "min": min, "max": max}))
    except Exception:  # noqa: BLE001 - not a goal this reader understands
        return None


# ------------------------------------------------------------------------------------------ ill-posed statements
_ILL_POSED = (
    "Show that {a} is a nice number.",
    "Show that {v} is big.",
    "Show that {a} plus {b} is.",
    "If {v} is less than, then {v} is {a}.",
    "Show that the number from the last problem is even.",
    "Find the largest natural number.",
    "Show that {a} is the best number.",
    "Prove that f({a}) = {b}.",
    "Show that the list is long.",
    "Show that {v} is a glorp.",
    "If {v} is good, then {v} plus {a} is good.",
    "Show that every number is small.",
    "Show that {a} divides.",
    "Show that the sum of the numbers is {a}.",
)


def ill_posed(rng: random.Random) -> str:
    """An informal statement that cannot be faithfully formalised (undefined term, missing object, vague)."""
    tpl = rng.choice(_ILL_POSED)
    return tpl.format(a=rng.randint(0, 40), b=rng.randint(0, 40), v=rng.choice(("a", "b", "n", "m", "x", "y")))


def ill_posed_kind(text: str) -> bool:
    """Whether ``text`` is one of the ill-posed forms (used to keep them out of the well-posed data)."""
    pats = [re.escape(t).replace(r"\{a\}", r"\d+").replace(r"\{b\}", r"\d+").replace(r"\{v\}", r"\w") for t in _ILL_POSED]
    return any(re.fullmatch(p, text) for p in pats)


# ------------------------------------------------------------------------------------------ role examples
@dataclass
class RoleExample:
    """One prompt/completion pair for one role; ``reference`` is what evaluation compares against
    (the formal statement, the informal statement, the label or the proof)."""

    role: str
    template: str
    prompt_text: str
    target: str
    split: str
    reference: str = ""
    kind: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def prompt(self) -> str:
        return self.prompt_text

    def completion(self) -> str:
        return self.target

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoleExample:
        return cls(**data)


def _num_exemplars(rng: random.Random) -> int:
    """Mostly zero-shot (the tiny style's default: no exemplars); a few prompts carry one or two, so a
    run with ``num_exemplars`` set still looks familiar."""
    return 0 if rng.random() < 0.85 else rng.randint(1, len(EXEMPLARS))


def _translate(p: Pair, rng: random.Random, split: str, template: str, kind: str) -> RoleExample:
    k = _num_exemplars(rng)
    prompt = formats.translate_prompt(p.header, p.name, p.informal, EXEMPLARS[:k])
    return RoleExample("translate", template, prompt, formats.translate_completion(p.statement), split,
                       reference=p.statement, kind=kind, meta={"informal": p.informal, "header": p.header})


def _backtranslate(p: Pair, split: str, template: str, kind: str) -> RoleExample:
    return RoleExample("backtranslate", template, formats.backtranslate_prompt(p.statement), p.informal, split,
                       reference=p.informal, kind=kind, meta={"statement": p.statement, "header": p.header})


def scratchpad_of(judge_numbers: bool | str | None) -> str:
    """``corpus.judge_numbers`` as a scratchpad name (``true`` is the first one there was, ``lists``)."""
    if judge_numbers is True:
        return "lists"
    if judge_numbers in (False, None):
        return "none"
    if judge_numbers not in formats.JUDGE_SCRATCHPADS:
        raise ValueError(f"corpus.judge_numbers must be one of {', '.join(formats.JUDGE_SCRATCHPADS)} (or true/false), "
                         f"got {judge_numbers!r}")
    return str(judge_numbers)


def _judge(original: str, back: str, reason: str, split: str, template: str, numbers: bool | str = False) -> RoleExample:
    faithful = reason == "same"
    scratch = scratchpad_of(numbers)
    texts = (original, back) if scratch != "none" else (None, None)
    return RoleExample("judge", template, formats.judge_prompt(original, back),
                       formats.judge_completion(faithful, REASONS[reason], *texts, scratchpad=scratch), split,
                       reference="faithful" if faithful else "unfaithful", kind=reason)


def _quality(informal: str, p: Pair, good: bool, split: str, template: str, kind: str) -> RoleExample:
    grade = "good" if good else "poor"
    return RoleExample("quality", template, formats.quality_prompt(informal, p.statement + " := by"), f" {grade}",
                       split, reference=grade, kind=kind)


def _prove(role: str, p: Pair, statement: str, proof: str, split: str, template: str) -> RoleExample:
    return RoleExample(role, template, formats.prover_prompt(p.header, None, statement), formats.completion(proof),
                       split, reference=proof, kind=role, meta={"statement": statement, "header": p.header})


def _one_number_changed(text: str, rng: random.Random) -> str | None:
    """``text`` with one occurrence of one numeral changed by 1 to 3."""
    nums = list(_NUM.finditer(text))
    if not nums:
        return None
    m = nums[rng.randrange(len(nums))]
    n = int(m.group())
    new = max(0, n + rng.choice((-3, -2, -1, 1, 2, 3)))
    return None if new == n else text[: m.start()] + str(new) + text[m.end():]


def role_examples(examples: Sequence[Example], counts: dict[str, int], seed: int,
                  split: str, exclude_statements: frozenset[str] = frozenset(),
                  exclude_texts: frozenset[str] = frozenset(), judge_numbers: bool | str = False) -> list[RoleExample]:
    """Up to ``counts[role]`` examples of each role built from ``examples`` (seeded; all of one split).

    ``counts`` may also hold ``ill_posed`` (translations of ill-posed statements to a refusal, and
    their judge pairs) and ``judge_contrast`` (judge pairs in twos from one statement: the same text,
    and the text with a number changed, so only comparing the numbers tells them apart). Perturbed
    statements whose body is in ``exclude_statements`` and changed texts in ``exclude_texts`` are
    skipped, so a training perturbation can never equal a held-out statement.
    """
    rng = random.Random(f"tinylm-roles-{seed}-{split}")
    pairs = [(ex, pair_of(ex)) for ex in examples]
    out: list[RoleExample] = []
    if not pairs:
        return out

    def body(q: Pair) -> str:
        return q.statement.split(" ", 2)[2]

    def pick() -> tuple[Example, Pair, str, Pair]:
        """An example, its pair, and (kind, pair) where kind is 'same' or a perturbation that applies."""
        for _ in range(50):
            ex, p = pairs[rng.randrange(len(pairs))]
            options = [(k, q) for k, q in perturbations(p, rng) if body(q) not in exclude_statements]
            if options:
                k, q = options[rng.randrange(len(options))]
                return ex, p, k, q
        return ex, p, "same", p

    n = counts.get("translate", 0)
    for i in range(n):
        ex, p = pairs[rng.randrange(len(pairs))]
        if i % 4 == 3:  # a quarter are perturbed (mostly false) statements: translated faithfully too
            ex, _, kind, q = pick()
            out.append(_translate(q, rng, split, ex.template, kind))
        else:
            out.append(_translate(p, rng, split, ex.template, "same"))
    for i in range(counts.get("backtranslate", 0)):
        if i % 4 == 3:
            ex, _, kind, q = pick()
            out.append(_backtranslate(q, split, ex.template, kind))
        else:
            ex, p = pairs[rng.randrange(len(pairs))]
            out.append(_backtranslate(p, split, ex.template, "same"))
    for i in range(counts.get("judge", 0)):
        if i % 2 == 0:
            ex, p = pairs[rng.randrange(len(pairs))]
            out.append(_judge(p.informal, p.informal, "same", split, ex.template, judge_numbers))
        else:
            ex, p, kind, q = pick()
            if kind == "same":
                continue
            out.append(_judge(p.informal, q.informal, kind, split, ex.template, judge_numbers))
    for i in range(counts.get("quality", 0)):
        if i % 2 == 0:
            ex, p = pairs[rng.randrange(len(pairs))]
            out.append(_quality(p.informal, p, True, split, ex.template, "same"))
        else:
            ex, p, kind, q = pick()
            if kind != "same":
                out.append(_quality(p.informal, q, False, split, ex.template, kind))
    vacuous = [(ex, p) for ex, p in pairs if ex.template == "vacuous_hyps"]
    for _ in range(counts.get("consistency", 0) if vacuous else 0):
        ex, p = vacuous[rng.randrange(len(vacuous))]
        stmt = f"theorem {p.name}_consistency {p.binders} : False := by\n"
        out.append(_prove("consistency", p, stmt, "  omega", split, ex.template))
    closed = [(ex, p) for ex, p in pairs if not p.binders and closed_truth(p.goal) is not None]
    wanted, tries = counts.get("negation", 0) if closed else 0, 0
    while wanted > 0 and tries < 20 * wanted:
        tries += 1
        ex, p = closed[rng.randrange(len(closed))]
        q = perturb(p, "constant", rng) or perturb(p, "flip_inequality", rng)
        if q is None or closed_truth(q.goal) is not False or body(q) in exclude_statements:
            continue
        wanted -= 1
        stmt = f"theorem {q.name}_neg : ¬ ({q.goal}) := by\n"
        out.append(_prove("negation", q, stmt, "  decide", split, ex.template))
    for _ in range(counts.get("ill_posed", 0)):
        ex, p = pairs[rng.randrange(len(pairs))]
        text = ill_posed(rng)
        k = _num_exemplars(rng)
        prompt = formats.translate_prompt(p.header, p.name, text, EXEMPLARS[:k])
        out.append(RoleExample("translate", "ill_posed", prompt, formats.translate_completion(None), split,
                               reference="", kind="ill_posed", meta={"informal": text, "header": p.header}))
        out.append(_judge(text, p.informal, "ill_posed", split, "ill_posed", judge_numbers))
    # Contrastive judge pairs, last so that the examples above do not depend on their count. Half change a
    # number everywhere (formal side too: a changed-constant perturbation), half one occurrence in the text.
    numbered = [(ex, p) for ex, p in pairs if _NUM.search(p.informal)]
    for i in range(counts.get("judge_contrast", 0) // 2 if numbered else 0):
        ex, p = numbered[rng.randrange(len(numbered))]
        q = perturb(p, "constant", rng) if i % 2 == 0 else None
        changed = q.informal if q is not None and body(q) not in exclude_statements else _one_number_changed(p.informal, rng)
        if changed is None or changed == p.informal or changed in exclude_texts:
            continue
        out.append(_judge(p.informal, p.informal, "same", split, ex.template, judge_numbers))
        out.append(_judge(p.informal, changed, "constant", split, ex.template, judge_numbers))
    # Renumbered translations (last, like the contrast pairs): the number copy, with nothing to compute.
    numbered = [(ex, p) for ex, p in pairs if _NUM.search(p.informal)]
    for _ in range(counts.get("translate_renumbered", 0) if numbered else 0):
        ex, p = numbered[rng.randrange(len(numbered))]
        q = renumbered(p, rng)
        if q is not None and body(q) not in exclude_statements and q.informal not in exclude_texts:
            out.append(_translate(q, rng, split, ex.template, "renumbered"))
    return out


def vocabulary(texts: Sequence[str]) -> set[str]:
    """The English words of ``texts`` (lower-cased alphabetic runs of two letters or more; single-letter
    variable names and numerals are not words)."""
    return {w.lower() for t in texts for w in re.findall(r"[A-Za-z]{2,}", t)}


def build_roles(train: Sequence[Example], heldout: Sequence[Example], counts: dict[str, int],
                heldout_counts: dict[str, int], seed: int,
                judge_numbers: bool | str = False) -> tuple[list[RoleExample], list[RoleExample]]:
    """Role examples from the training statements and, separately, from the held-out ones; no training
    example (perturbed or not) has the body of a held-out statement. ``judge_numbers``: the judge's answers
    first work on the problems' numbers (``lists`` or ``pairs``, :func:`prover.tinylm.formats.judge_completion`)."""
    held_bodies = frozenset(pair_of(ex).statement.split(" ", 2)[2] for ex in heldout)
    held_texts = frozenset(ex.informal for ex in heldout)
    return (role_examples(train, counts, seed, "train", held_bodies, held_texts, judge_numbers),
            role_examples(heldout, heldout_counts, seed, "heldout", judge_numbers=judge_numbers))


# ------------------------------------------------------------------------------------------ packaged demo sets
#: Templates of the packaged demo sets (one statement each; their statements are held out of training).
DEMO_TEMPLATES: tuple[str, ...] = (
    "nat_add_closed", "nat_linear_eq", "nat_le_trans", "and_arith", "list_mem", "nat_dvd_mul", "nat_mod_add",
    "nat_min_closed", "nat_mod_mul", "int_linear", "exists_add", "nat_lt_add_both",
)
_FALSE_TEMPLATES = ("nat_mul_closed", "nat_lt_closed", "nat_max_closed")


def _wrong_result(p: Pair) -> Pair | None:
    """``p`` with its last numeral (the claimed result, in the goal and in the text) one larger."""
    goal_nums, text_nums = list(_NUM.finditer(p.goal)), list(_NUM.finditer(p.informal))
    if not goal_nums or not text_nums or goal_nums[-1].group() != text_nums[-1].group():
        return None
    g, t = goal_nums[-1], text_nums[-1]
    new = str(int(g.group()) + 1)
    return Pair(p.name, p.header, p.binders, p.goal[: g.start()] + new + p.goal[g.end():],
                p.informal[: t.start()] + new + p.informal[t.end():])


def _heldout_draw(template: str, rng: random.Random, index: int, holdout_mod: int) -> tuple[Pair, str]:
    from prover.tinylm.corpus import _BY_NAME, _is_heldout, make_example

    for _ in range(2000):
        key, ex = make_example(_BY_NAME[template], rng, "mathlib", index, "heldout")
        # held out under both headers: a closed statement reads the same in the core and the Mathlib corpus
        core_key = key.replace("|mathlib|", "|core|", 1).replace("ℕ", "Nat").replace("ℤ", "Int")
        if _is_heldout(key, holdout_mod) and _is_heldout(core_key, holdout_mod):
            return pair_of(ex), ex.proof
    raise RuntimeError(f"no held-out statement for template {template}")


def demo_sets(seed: int = 0, holdout_mod: int = 8) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The packaged controlled-English sets: ``(labelled, synth)``.

    ``labelled`` (``autoformalize/data/labelled_tiny.jsonl``, for ``proofforge-formalize``): well-posed
    statements with their reference Lean statement (under the formaliser's Mathlib header, so ``ℕ``) and
    ill-posed ones to abstain on. ``synth`` (``prover/synthetic/data/informal_tiny.jsonl``): true statements
    with their reference proof, false closed ones (the negation is provable), a vacuous one (the consistency
    probe drops it) and an ill-posed one. Statements are drawn from the held-out split of the default corpus
    (``holdout_mod``), so the default model never trained on them. Regenerate with
    ``python -m prover.tinylm.roles`` (a test checks the packaged files match)."""
    rng = random.Random(f"tinylm-demo-{seed}")
    labelled: list[dict[str, Any]] = []
    synth: list[dict[str, Any]] = []
    for i, t in enumerate(DEMO_TEMPLATES):
        p, proof = _heldout_draw(t, rng, i, holdout_mod)
        ident = f"tiny_{t}"
        ref = f"theorem {ident}{' ' + p.binders if p.binders else ''} : {p.goal}"
        labelled.append({"id": ident, "informal_statement": p.informal, "formalizable": True,
                         "category": "well-posed", "reference": ref})
        if i < 6:
            sid = f"tiny{len(synth) + 1:03d}_{t}"
            synth.append({"id": sid, "informal_statement": p.informal, "expect": "proved",
                          "reference": ref.replace(f"theorem {ident}", f"theorem {sid}", 1), "proof": proof})
    for j, text in enumerate(_ILL_POSED[:6]):
        filled = text.format(a=rng.randint(0, 40), b=rng.randint(0, 40), v=rng.choice(("a", "n", "x")))
        labelled.append({"id": f"tiny_bad_{j}", "informal_statement": filled, "formalizable": False,
                         "category": "ill-posed"})
    for t in _FALSE_TEMPLATES:
        for _ in range(100):
            p, _ = _heldout_draw(t, rng, 100, holdout_mod)
            options = [q for q in (_wrong_result(p), perturb(p, "flip_inequality", rng))
                       if q is not None and closed_truth(q.goal) is False]
            if options:
                q = options[0]
                break
        ident = f"tiny{len(synth) + 1:03d}_false_{t}"
        synth.append({"id": ident, "informal_statement": q.informal, "expect": "disproved",
                      "reference": f"theorem {ident} : {q.goal}", "proof": "  decide"})
    p, _ = _heldout_draw("vacuous_hyps", rng, 200, holdout_mod)
    ident = f"tiny{len(synth) + 1:03d}_vacuous"
    synth.append({"id": ident, "informal_statement": p.informal, "expect": "inconsistent",
                  "reference": f"theorem {ident} {p.binders} : {p.goal}", "proof": "  omega"})
    synth.append({"id": f"tiny{len(synth) + 1:03d}_ill_posed", "informal_statement": _ILL_POSED[0].format(a=7, b=0, v="n"),
                  "expect": "abstained"})
    return labelled, synth


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m prover.tinylm.roles --labelled FILE --synth FILE``: write the packaged demo sets."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m prover.tinylm.roles", description=main.__doc__)
    parser.add_argument("--labelled", required=True)
    parser.add_argument("--synth", required=True)
    args = parser.parse_args(argv)
    labelled, synth = demo_sets()
    for path, rows in ((args.labelled, labelled), (args.synth, synth)):
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        print(f"wrote {len(rows)} rows to {path}")


if __name__ == "__main__":
    main()
