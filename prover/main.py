"""The main job (``make run`` = ``python -m prover.main [hydra overrides]``).

Its embedded default is ``proofforge-eval``'s default config: the offline tiny model,
the MA-LoT prover+corrector loop, the demo set, the local Lean REPL pool. Lean comes
first: :func:`prover.lean.install.ensure_lean` installs elan and builds the REPL when they
are missing, and where that cannot work (no network) we print its one sentence and exit
2 before anything expensive (the tiny model is trained on first use, after this check).
Overrides pass straight through to the eval, e.g. ``python -m prover.main
experiment=minif2f_malot`` or ``python -m prover.main prover=wholeproof prover.budget.samples=8``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def needs_mathlib(overrides: Sequence[str]) -> bool:
    """Whether the composed eval config asks for Mathlib (a miniF2F dataset, or lean.mathlib=true)."""
    from prover.config import compose

    plain = [o for o in overrides if not o.startswith(("hydra.", "-"))]
    try:
        cfg = compose("eval", plain)
    except Exception:  # a bad override is reported by the eval itself, with Hydra's message
        return False
    if cfg.lean.get("backend", "local") not in ("local", "ray"):
        return False
    mathlib = cfg.lean.get("mathlib", "auto")
    if mathlib is True or str(mathlib).lower() == "true":
        return True
    return str(cfg.dataset.get("name", "demo")).startswith("minif2f")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from prover.lean.install import ensure_lean
    from prover.lean.project import LeanMissingError

    if not any(a in ("-h", "--help", "--hydra-help", "--cfg", "-c", "--info") for a in args):
        try:
            setup = ensure_lean(mathlib=needs_mathlib(args))
        except LeanMissingError as e:
            from prover.exit_codes import SETUP

            print(f"proofforge: {e}", file=sys.stderr)
            return SETUP
        print(f"[proofforge] Lean REPL ready: {' '.join(map(str, setup.argv))} (in {setup.cwd})", flush=True)
    from prover.apps.eval import main as eval_main

    sys.argv = [sys.argv[0] if sys.argv else "prover.main", *args]
    eval_main()
    if not any(a in ("-h", "--help", "--hydra-help", "--cfg", "-c", "--info") for a in args):
        print(NEXT_STEPS, flush=True)
    return 0


#: The main job's closing lines: the other two pipelines run on the same embedded default (the tiny model
#: plays every role there, with prompt_style=tiny and the packaged controlled-English sets).
NEXT_STEPS = (
    "[proofforge] next, on the same embedded model:\n"
    "  proofforge-formalize     # informal statements -> Lean statements, abstaining on ill-posed ones "
    "(Herald; results.jsonl)\n"
    "  proofforge-synth         # DeepSeek-Prover's loop: formalize, grade, consistency, prove/disprove, "
    "export SFT records, fine-tune\n"
    "  (docs/autoformalize.md, docs/synthetic.md, docs/tinylm.md)"
)


if __name__ == "__main__":
    sys.exit(main())
