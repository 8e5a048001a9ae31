"""``proofforge-eval``: the miniF2F (or any dataset) evaluation, over ``configs/eval.yaml``.

The run itself is :func:`evals.run.run_eval` (callable from a notebook with a composed config).
"""

from __future__ import annotations

from evals.data import DatasetError
from evals.errors import config_errors, fatal_errors
from evals.run import EvalInterrupted, EvalPartialFailure, eval_task
from prover.config import hydra_app


def main() -> None:
    """Hydra entry point over ``configs/eval.yaml`` (config folder resolved at call time).

    Exit codes (prover/exit_codes.py, the README's table): no Lean or an unusable model 4, a bad
    dataset file 3, a bad config/run folder 2, some problems raised 1 (after writing the rest),
    Ctrl-C 130 (one line saying how many problems were kept and how to resume).
    """
    from prover.exit_codes import INPUT, INTERRUPTED, PARTIAL, SETUP, USAGE
    from prover.llm.errors import GeneratorConfigError

    hydra_app("eval", eval_task, prefix="proofforge-eval: ",
              errors={(GeneratorConfigError,): USAGE, fatal_errors(): SETUP, (DatasetError,): INPUT,
                      config_errors(): USAGE,
                      (EvalInterrupted,): INTERRUPTED, (EvalPartialFailure,): PARTIAL})()


if __name__ == "__main__":
    main()
