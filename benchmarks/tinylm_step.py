"""Training-step time of the tiny model: the loss on label positions only against the full vocabulary projection.

Baseline: ``model(**batch).loss`` (transformers projects every position onto the vocabulary, then masks the
prompt). Candidate: :func:`prover.tinylm.batches.weighted_loss` (the decoder's hidden states, projected only
where a label is read). Both train the same default-sized model on the same batches of the default corpus
(forward, backward, AdamW step), interleaved round by round in one process, so the machine's load falls on
both alike. The figure is ``baseline seconds per step / candidate seconds per step`` (> 1: the candidate is
faster), from the median round; the two losses are checked equal on the first batch.

    python benchmarks/tinylm_step.py                   # ~1-2 min on 2 cores
    python benchmarks/tinylm_step.py --rounds 9 --steps 10 --out step.json
    python benchmarks/tinylm_step.py arch.intermediate_size=256      # any train_tiny override
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from prover.config import compose, to_container  # noqa: E402
from prover.tinylm.batches import BatchOrder, collate, encode, weighted_loss  # noqa: E402
from prover.tinylm.corpus import build_corpus  # noqa: E402
from prover.tinylm.roles import build_roles  # noqa: E402
from prover.tinylm.tokenizer import train_tokenizer  # noqa: E402
from prover.tinylm.train import _build_model, _optimizer, deterministic_torch  # noqa: E402


def batches(cfg: dict, n: int) -> tuple[list[dict[str, torch.Tensor]], object]:
    """``n`` training batches of the default corpus (smaller counts, same mix of roles), length-bucketed as in
    training."""
    cc = cfg["corpus"]
    corpus = build_corpus(n_train=1000, n_heldout=50, n_corrector=125, n_corrector_heldout=0, seed=0,
                          mathlib_frac=float(cc["mathlib_frac"]), holdout_mod=int(cc["holdout_mod"]))
    counts = {role: max(1, int(k) // 4) for role, k in cc["roles"].items()}
    roles, _ = build_roles(corpus.train, corpus.heldout, counts, {}, 0)
    rows = [*corpus.train, *corpus.corrector_train, *roles]
    tok = train_tokenizer([t for r in rows for t in (r.prompt(), r.completion())], int(cfg["tokenizer"]["vocab_size"]),
                          numbers=str(cfg["tokenizer"]["numbers"]))
    data = [encode(tok, r.prompt(), r.completion()) for r in rows]
    order = BatchOrder([len(d[0]) for d in data], int(cfg["train"]["batch_size"]), 0, int(cfg["train"]["bucket_batches"]))
    return [collate([data[i] for i in order(s)], tok.pad_token_id) for s in range(n)], tok


def time_steps(model, opt, loss_fn, bs: list[dict[str, torch.Tensor]]) -> float:
    t0 = time.perf_counter()
    for b in bs:
        loss = loss_fn(model, b)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return (time.perf_counter() - t0) / len(bs)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=8, help="training steps per loss per round")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="write the result JSON here")
    parser.add_argument("overrides", nargs="*", help="train_tiny config overrides, e.g. arch.hidden_size=64")
    args = parser.parse_args(argv)
    with deterministic_torch(args.threads):  # as training runs (threads, deterministic_algorithms)
        cfg = to_container(compose("train_tiny", args.overrides))
        bs, tok = batches(cfg, args.steps)
        full = lambda m, b: m(**b).loss  # noqa: E731 - the baseline, as transformers computes it
        runs = {}
        for name, fn in (("full_projection", full), ("label_positions", weighted_loss)):
            torch.manual_seed(0)
            model = _build_model(cfg, tok)
            runs[name] = [model, _optimizer(model, cfg["train"]), fn, []]
        m0 = runs["full_projection"][0]
        if not torch.allclose(full(m0, bs[0]), weighted_loss(m0, bs[0]), atol=1e-5):
            raise RuntimeError("the label-position loss differs from the model's own loss on the first batch")
        for run in runs.values():  # warm-up round, not timed
            time_steps(run[0], run[1], run[2], bs[:2])
        for _ in range(args.rounds):
            for run in runs.values():
                run[3].append(time_steps(run[0], run[1], run[2], bs))
    med = {name: statistics.median(run[3]) for name, run in runs.items()}
    tokens = statistics.mean(int(b["attention_mask"].sum()) for b in bs)
    result = {"baseline": "full_projection", "seconds_per_step": {k: round(v, 4) for k, v in med.items()},
              "speedup": round(med["full_projection"] / med["label_positions"], 3), "tokens_per_batch": round(tokens),
              "rounds": args.rounds, "steps_per_round": args.steps, "threads": args.threads}
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
