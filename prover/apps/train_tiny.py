"""``proofforge-train-tiny``: train the tiny offline model (prover/tinylm, docs/tinylm.md), over
``configs/train_tiny.yaml``. Rerunning with the same ``out_dir`` resumes (or returns at once when done)."""

from __future__ import annotations

from prover.config import hydra_app
from prover.tinylm.train import TrainConfigError, train_tiny


def main() -> None:
    """Entry point of ``proofforge-train-tiny`` (Hydra overrides on the command line)."""
    from prover.exit_codes import USAGE

    hydra_app("train_tiny", train_tiny, prefix="proofforge-train-tiny: error: ", errors={(TrainConfigError,): USAGE})()


if __name__ == "__main__":
    main()
