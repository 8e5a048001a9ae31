"""Steps to a target held-out loss with and without the role curriculum (TinyHelen's iterative training).

Both runs share everything (seed, corpus, tokenizer, model, schedule) except ``train.curriculum.enabled``,
run one after the other in the same process, and probe the held-out loss over *all* roles every
``--probe-every`` steps. The figure is ``steps_to_target(no curriculum) / steps_to_target(curriculum)``
(> 1: the curriculum reaches the target sooner). Wall times are printed too, but compare steps: the two
runs share a machine whose load changes.

    python benchmarks/tinylm_curriculum.py                      # small config, ~3-6 min on 2 busy cores
    python benchmarks/tinylm_curriculum.py --target 0.6 --steps 600 --out curriculum.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prover.config import compose  # noqa: E402
from prover.tinylm.train import train_tiny  # noqa: E402

#: A config small enough to train twice in minutes; every role is present, in proportion to the default.
SMALL = [
    "corpus.train=2000", "corpus.heldout=100", "corpus.corrector=200", "corpus.corrector_heldout=32",
    "corpus.roles.translate=600", "corpus.roles.backtranslate=400", "corpus.roles.judge=400",
    "corpus.roles.quality=150", "corpus.roles.consistency=60", "corpus.roles.negation=80", "corpus.roles.ill_posed=80",
    "corpus.roles.judge_contrast=500",
    "corpus.roles_heldout.translate=32", "corpus.roles_heldout.backtranslate=32", "corpus.roles_heldout.judge=32",
    "corpus.roles_heldout.quality=32", "corpus.roles_heldout.consistency=16", "corpus.roles_heldout.negation=16",
    "corpus.roles_heldout.ill_posed=16", "arch.hidden_size=96", "arch.intermediate_size=256",
    "arch.num_hidden_layers=2", "train.warmup_steps=20", "train.probe_examples=16",
    "eval.train_sample=0", "eval.max_new_tokens=4", "deterministic_algorithms=false",
    "train.curriculum.advance_loss=1.0", "train.curriculum.max_stage_steps=150",
]


def run(out: Path, steps: int, probe_every: int, target: float, curriculum: bool, extra: list[str]) -> dict:
    cfg = compose("train_tiny", [f"out_dir={out}", *SMALL, f"train.steps={steps}", f"train.probe_every={probe_every}",
                                 f"train.target_loss={target}", f"train.curriculum.enabled={str(curriculum).lower()}",
                                 f"train.curriculum.every={probe_every}", *extra])
    t0 = time.perf_counter()
    train_tiny(cfg)
    metrics = json.loads((out / "metrics.json").read_text())
    return {"curriculum": curriculum, "steps_to_target": metrics["curriculum"]["steps_to_target"],
            "stages": metrics["curriculum"]["history"], "wall_s": round(time.perf_counter() - t0, 1),
            "heldout_curve": [row[:2] for row in metrics["heldout_loss_curve"]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--probe-every", type=int, default=20)
    parser.add_argument("--target", type=float, default=0.8, help="held-out loss over all roles to reach")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the result JSON here")
    parser.add_argument("overrides", nargs="*", help="more train_tiny overrides for both runs")
    args = parser.parse_args()
    extra = [f"seed={args.seed}", *args.overrides]
    with tempfile.TemporaryDirectory() as tmp:
        base = run(Path(tmp) / "plain", args.steps, args.probe_every, args.target, False, extra)
        cur = run(Path(tmp) / "curriculum", args.steps, args.probe_every, args.target, True, extra)
    a, b = base["steps_to_target"], cur["steps_to_target"]
    ratio = (a / b) if a and b else None
    result = {"target_loss": args.target, "seed": args.seed, "steps": args.steps, "no_curriculum": base,
              "curriculum": cur, "ratio_no_curriculum_over_curriculum": ratio}
    print(json.dumps({k: v for k, v in result.items() if k not in ("no_curriculum", "curriculum")}))
    print(f"steps to held-out loss <= {args.target}: without curriculum {a}, with {b}; ratio "
          f"{'n/a (a run never reached it)' if ratio is None else f'{ratio:.2f}'}; wall {base['wall_s']}s vs {cur['wall_s']}s")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
