"""Held-out evaluation of the tiny model: greedy exact-match and the rate of well-formed tactic proofs.

Exact-match compares the greedy proof with the corpus's reference proof, which is a lower bound on
correctness (another proof may also check) and needs no Lean. The parse rate asks the weaker
question a strategy cares about before spending a Lean call: is the output a tactic block at all?
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import torch
from tqdm.auto import tqdm

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
             for name, r in results.items()]
    return "; ".join(parts)


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
    return evaluate_model(model, tokenizer, sets, max_new_tokens, batch_size)


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


if __name__ == "__main__":
    main()
