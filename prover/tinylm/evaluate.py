"""Held-out evaluation of the tiny model: greedy exact-match and the rate of well-formed tactic proofs.

Exact-match compares the greedy proof with the corpus's reference proof, which is a lower bound on
correctness (another proof may also check) and needs no Lean. The parse rate asks the weaker
question a strategy cares about before spending a Lean call: is the output a tactic block at all?
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import torch
from tqdm.auto import tqdm

from prover.abstention import abstention_rates, empty_matrix
from prover.tinylm.formats import END, extract_proof

#: Tactic names a well-formed proof may start a line with (core Lean 4 and common Mathlib ones).
KNOWN_TACTICS: frozenset[str] = frozenset(
    """decide omega simp simp_all simpa rfl exact exacts intro intros constructor apply refine cases rcases obtain
    induction have show calc linarith nlinarith norm_num ring ring_nf field_simp positivity aesop tauto trivial
    contradiction exfalso left right use exists subst rw rewrite rwa unfold by_cases split assumption specialize
    gcongr push_cast norm_cast all_goals any_goals first try repeat skip let set generalize revert
    clear funext ext congr symm nofun nomatch native_decide by_contra push_neg interval_cases""".split()  # noqa: SIM905
)
_PAIRS = {")": "(", "]": "[", "}": "{", "⟩": "⟨"}


class Scored(Protocol):
    """What evaluation needs of an example (both prover and corrector examples fit)."""

    template: str
    proof: str

    def prompt(self) -> str: ...


def balanced(text: str) -> bool:
    stack: list[str] = []
    for ch in text:
        if ch in "([{⟨":
            stack.append(ch)
        elif ch in _PAIRS and (not stack or stack.pop() != _PAIRS[ch]):
            return False
    return not stack


def parses_as_proof(completion_text: str) -> bool:
    """A completion is a well-formed tactic proof when it is a non-empty block of two-space indented
    lines, each starting (after an optional ``·`` bullet) with a known tactic, with balanced
    brackets, terminated by the end marker (anything after the marker is cut by the stop string)."""
    cut = completion_text.find(END)
    if cut < 0:
        return False
    body = completion_text[:cut].rstrip("\n")
    lines = body.split("\n")
    if not body.strip():
        return False
    for line in lines:
        if not line.startswith("  ") or not line.strip():
            return False
        words = line.strip().removeprefix("· ").split()
        if not words or words[0] not in KNOWN_TACTICS:
            return False
    return balanced(body)


@torch.no_grad()
def generate_greedy(model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int = 48,
                    batch_size: int = 64, desc: str = "generate") -> list[str]:
    """Greedy completions (text after the prompt, special tokens dropped), batched with left padding."""
    tokenizer.padding_side = "left"
    model.eval()
    out: list[str] = []
    for i in tqdm(range(0, len(prompts), batch_size), desc=desc, leave=False):
        enc = tokenizer(list(prompts[i : i + batch_size]), return_tensors="pt", padding=True)
        gen = model.generate(
            **enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        new = gen[:, enc["input_ids"].shape[1] :]
        out += tokenizer.batch_decode(new, skip_special_tokens=True)
    return out


def score(examples: Sequence[Scored], outputs: Sequence[str]) -> dict[str, Any]:
    """Exact-match and parse rate, overall and per template."""
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    exact = parsed = 0
    for ex, text in zip(examples, outputs, strict=True):
        hit = extract_proof(text) == ex.proof.rstrip()
        exact += hit
        parsed += parses_as_proof(text)
        per[ex.template][0] += hit
        per[ex.template][1] += 1
    n = max(len(examples), 1)
    return {
        "n": len(examples),
        "exact_match": exact / n,
        "parse_rate": parsed / n,
        "per_template": {t: {"exact_match": h / c, "n": c} for t, (h, c) in sorted(per.items())},
    }


def evaluate_model(model: Any, tokenizer: Any, sets: dict[str, Sequence[Scored]], max_new_tokens: int = 48,
                   batch_size: int = 64) -> dict[str, Any]:
    """Score each named example set; returns ``{set_name: score(...)}``."""
    results: dict[str, Any] = {}
    for name, examples in sets.items():
        if not examples:
            continue
        outputs = generate_greedy(model, tokenizer, [ex.prompt() for ex in examples], max_new_tokens, batch_size,
                                  desc=f"eval {name}")
        results[name] = score(examples, outputs)
        results[name]["samples"] = [
            {"prompt_tail": ex.prompt()[-120:], "output": out, "reference": ex.proof}
            for ex, out in list(zip(examples, outputs, strict=True))[:5]
        ]
    return results


def summary_line(results: dict[str, Any]) -> str:
    parts = [f"{name}: exact-match {r['exact_match']:.1%}, parse {r['parse_rate']:.1%} (n={r['n']})"
             for name, r in results.items() if not name.startswith("roles")]
    roles = results.get("roles") or {}
    parts += [f"{role}: {r['metric']} {r['value']:.1%} (n={r['n']})" for role, r in roles.items()
              if isinstance(r, dict) and "metric" in r]
    return "; ".join(parts)


# ------------------------------------------------------------------------------------------ every role
_LEAN_BLOCK = re.compile(r"```lean4\n(.*?)(?:\n```|$)", re.DOTALL)


def translated_statement(text: str) -> str | None:
    """The statement a translation answer gives (``theorem ...`` before ``:= by sorry``), or None (abstained).

    A simplified reading of ``autoformalize.translate.extract_statement`` (which this layer cannot
    import): the first lean4 block's first ``theorem`` line, cut at ``:=``, whitespace normalised."""
    m = _LEAN_BLOCK.search(text)
    body = m.group(1) if m else text
    m = re.search(r"(?m)^(theorem \S+|example)\b", body)
    if not m:
        return None
    stmt = body[m.start():].split(":=", 1)[0]
    stmt = re.sub(r"^example\b", "theorem _", stmt)
    return " ".join(stmt.split()) or None


_BINDER_NAMES = re.compile(r"[({]([^():{}]+?) :")
_QUANT_NAMES = re.compile(r"[∃∀] (\w+)")


def alpha_normal(statement: str | None) -> str | None:
    """The statement with its theorem name dropped and bound names (binders, hypotheses, ``∃``/``∀``)
    renamed in order of appearance, so statements equal up to renaming compare equal."""
    if not statement:
        return None
    s = " ".join(statement.split())
    s = re.sub(r"^theorem \S+", "theorem _", s)
    names: list[str] = []
    for group in _BINDER_NAMES.findall(s):
        names += [n for n in group.split() if n not in names]
    names += [n for n in _QUANT_NAMES.findall(s) if n not in names]
    for i, n in enumerate(names):
        s = re.sub(rf"(?<![\w.']){re.escape(n)}(?![\w'₀-₉])", f"⟪{i}⟫", s)
    return s


def _label(text: str) -> str | None:
    m = re.search(r"Label:\s*(faithful|unfaithful)", text)
    return m.group(1) if m else None


#: Tokens generated per role (the completions' lengths, with room).
ROLE_MAX_TOKENS = {"translate": 72, "backtranslate": 56, "judge": 96, "quality": 4, "consistency": 24, "negation": 24}


def evaluate_roles(model: Any, tokenizer: Any, examples: Sequence[Any], batch_size: int = 64) -> dict[str, Any]:
    """Greedy per-role scores on held-out role examples (:class:`prover.tinylm.roles.RoleExample`).

    translation: the statement equals the reference up to renaming of bound variables (ill-posed inputs
    count as correct when no statement is written); back-translation: the informal text is exact, and the
    round trip (back-translate the reference, translate that text) gives the reference statement again;
    judge and quality: label accuracy; consistency and negation: the proof equals the reference. The
    abstention confusion matrix runs the formaliser's decision on the held-out translation inputs: translate,
    back-translate the statement, judge it against the input; answered when the judge says faithful."""
    from prover.tinylm import formats

    by_role: dict[str, list[Any]] = defaultdict(list)
    for ex in examples:
        by_role[ex.role].append(ex)
    out: dict[str, Any] = {}
    gen: dict[str, list[str]] = {}
    for role, rows in sorted(by_role.items()):
        gen[role] = generate_greedy(model, tokenizer, [r.prompt() for r in rows], ROLE_MAX_TOKENS.get(role, 48),
                                    batch_size, desc=f"eval {role}")
    if "translate" in by_role:
        rows, outs = by_role["translate"], gen["translate"]
        hits = [alpha_normal(translated_statement(o)) == alpha_normal(r.reference or None) for r, o in zip(rows, outs, strict=True)]
        well = [h for r, h in zip(rows, hits, strict=True) if r.kind != "ill_posed"]
        ill = [h for r, h in zip(rows, hits, strict=True) if r.kind == "ill_posed"]
        out["translate"] = {"metric": "equal up to renaming", "value": sum(well) / max(len(well), 1), "n": len(well),
                            "ill_posed_abstained": sum(ill) / max(len(ill), 1) if ill else None, "n_ill_posed": len(ill),
                            "samples": [{"prompt_tail": r.prompt()[-100:], "output": o, "reference": r.reference}
                                        for r, o in list(zip(rows, outs, strict=True))[:3]]}
    if "backtranslate" in by_role:
        rows, outs = by_role["backtranslate"], gen["backtranslate"]
        exact = [extract_text(o) == r.reference for r, o in zip(rows, outs, strict=True)]
        again = generate_greedy(model, tokenizer, [
            formats.translate_prompt(r.meta.get("header", ""), r.meta["statement"].split()[1], extract_text(o))
            for r, o in zip(rows, outs, strict=True)], ROLE_MAX_TOKENS["translate"], batch_size, desc="eval round trip")
        trip = [alpha_normal(translated_statement(a)) == alpha_normal(r.meta["statement"]) for r, a in zip(rows, again, strict=True)]
        out["backtranslate"] = {"metric": "round trip to the same statement", "value": sum(trip) / max(len(rows), 1),
                                "n": len(rows), "informal_exact": sum(exact) / max(len(rows), 1)}
    for role in ("judge", "quality"):
        if role in by_role:
            rows, outs = by_role[role], gen[role]
            read = [_label(o) if role == "judge" else o.strip().split("\n")[0].strip() for o in outs]
            hits = [g == r.reference for r, g in zip(rows, read, strict=True)]
            out[role] = {"metric": "accuracy", "value": sum(hits) / max(len(rows), 1), "n": len(rows),
                         "per_kind": _per_kind(rows, hits)}
    for role in ("consistency", "negation"):
        if role in by_role:
            rows, outs = by_role[role], gen[role]
            hits = [extract_proof(o) == r.reference.rstrip() for r, o in zip(rows, outs, strict=True)]
            out[role] = {"metric": "exact-match", "value": sum(hits) / max(len(rows), 1), "n": len(rows)}
    if "translate" in by_role:
        out["abstention"] = abstention_matrix(model, tokenizer, by_role["translate"], gen["translate"], batch_size)
    return out


def extract_text(text: str) -> str:
    """A free-text answer (back-translation): its first paragraph, whitespace normalised."""
    return " ".join(text.strip().split("\n\n")[0].split())


def _per_kind(rows: Sequence[Any], hits: Sequence[bool]) -> dict[str, dict[str, Any]]:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r, h in zip(rows, hits, strict=True):
        per[r.kind][0] += h
        per[r.kind][1] += 1
    return {k: {"accuracy": a / n, "n": n} for k, (a, n) in sorted(per.items())}


def abstention_matrix(model: Any, tokenizer: Any, rows: Sequence[Any], translations: Sequence[str],
                      batch_size: int = 64) -> dict[str, Any]:
    """Abstain-QA's confusion matrix and rates, with the cells and rates ``autoformalize/abstain_eval.py``
    defines, for the formaliser's decision run greedily with one sample per input."""
    from prover.tinylm import formats

    stmts = [translated_statement(t) for t in translations]
    answered = [i for i, s in enumerate(stmts) if s]
    backs = generate_greedy(model, tokenizer, [formats.backtranslate_prompt(stmts[i] or "") for i in answered],
                            ROLE_MAX_TOKENS["backtranslate"], batch_size, desc="eval abstention")
    verdicts = generate_greedy(model, tokenizer, [
        formats.judge_prompt(rows[i].meta["informal"], extract_text(b)) for i, b in zip(answered, backs, strict=True)],
        ROLE_MAX_TOKENS["judge"], batch_size, desc="eval abstention judge")
    accepted = {i for i, v in zip(answered, verdicts, strict=True) if _label(v) == "faithful"}
    matrix = empty_matrix()
    for i, r in enumerate(rows):
        key = "not_formalizable" if r.kind == "ill_posed" else "formalizable"
        if i not in accepted:
            cell = "abstained"
        elif key == "not_formalizable":
            cell = "unfaithful"
        else:
            cell = "faithful" if alpha_normal(stmts[i]) == alpha_normal(r.reference) else "unfaithful"
        matrix[key][cell] += 1
    rates = abstention_rates(matrix)
    return {"matrix": matrix, "rates": rates}


def evaluate_checkpoint(path: str | Path, split: str = "heldout", max_new_tokens: int = 48,
                        batch_size: int = 64) -> dict[str, Any]:
    """Load a trained checkpoint dir and score it on its own saved corpus split (``heldout`` or ``train``)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from prover.tinylm.corpus import CorrectorExample, Example

    path = Path(path)
    corpus_file = path / "corpus" / f"{split}.jsonl"
    if not corpus_file.is_file():
        raise FileNotFoundError(f"{corpus_file} not found: {path} is not a tinylm checkpoint with a saved corpus")
    examples = [Example.from_dict(json.loads(line)) for line in corpus_file.read_text().splitlines() if line]
    sets: dict[str, Sequence[Scored]] = {split: examples}
    corr_file = path / "corpus" / f"corrector_{split}.jsonl"
    if corr_file.is_file():
        sets[f"corrector_{split}"] = [
            CorrectorExample.from_dict(json.loads(line)) for line in corr_file.read_text().splitlines() if line
        ]
    model = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    results = evaluate_model(model, tokenizer, sets, max_new_tokens, batch_size)
    roles_file = path / "corpus" / f"roles_{split}.jsonl"
    if roles_file.is_file():
        from prover.tinylm.roles import RoleExample

        rows = [RoleExample.from_dict(json.loads(line)) for line in roles_file.read_text().splitlines() if line]
        held_t = set(_heldout_templates(path))
        unseen = [r for r in rows if r.template in held_t]
        results["roles"] = evaluate_roles(model, tokenizer, [r for r in rows if r.template not in held_t], batch_size)
        if unseen:
            results["roles_heldout_templates"] = evaluate_roles(model, tokenizer, unseen, batch_size)
    return results


def _heldout_templates(path: Path) -> list[str]:
    from omegaconf import OmegaConf

    cfg_file = path / "train_config.yaml"
    if not cfg_file.is_file():
        return []
    return list(OmegaConf.load(cfg_file).get("corpus", {}).get("heldout_templates") or [])


def role_table(results: dict[str, Any]) -> str:
    """The per-role figures as a Markdown table (what docs/tinylm.md quotes)."""
    lines = ["| set | role | metric | value | n |", "| --- | --- | --- | --- | --- |"]
    for name in ("heldout", "corrector_heldout"):
        if name in results:
            role = "prover" if name == "heldout" else "corrector"
            lines.append(f"| statements | {role} | exact-match | {results[name]['exact_match']:.1%} | {results[name]['n']} |")
    for set_name, key in (("statements", "roles"), ("templates", "roles_heldout_templates")):
        for role, r in (results.get(key) or {}).items():
            if isinstance(r, dict) and "metric" in r:
                lines.append(f"| {set_name} | {role} | {r['metric']} | {r['value']:.1%} | {r['n']} |")
        ab = (results.get(key) or {}).get("abstention")
        if ab:
            rates = ", ".join(f"{k} {'n/a' if v is None else f'{v:.2f}'}" for k, v in ab["rates"].items())
            lines.append(f"| {set_name} | abstention | {ab['matrix']} | {rates} | |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m prover.tinylm.evaluate [CHECKPOINT_DIR] [--split heldout|train]``: re-score a checkpoint."""
    import argparse

    from prover.tinylm import tiny_model_path

    parser = argparse.ArgumentParser(prog="python -m prover.tinylm.evaluate", description=main.__doc__)
    parser.add_argument("path", nargs="?", default=None, help="checkpoint dir (default: the tiny model's path)")
    parser.add_argument("--split", default="heldout", choices=["heldout", "train"])
    parser.add_argument("--max-new-tokens", type=int, default=32)
    args = parser.parse_args(argv)
    try:
        results = evaluate_checkpoint(tiny_model_path(args.path), args.split, args.max_new_tokens)
    except FileNotFoundError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(summary_line(results))
    print(role_table(results))


if __name__ == "__main__":
    main()
