"""``proofforge-synth``: DeepSeek-Prover's synthetic-data loop with expert iteration, over ``configs/synth.yaml``.

The loop itself is :mod:`prover.synthetic.pipeline` (:func:`~prover.synthetic.pipeline.synth_task`).
"""

from __future__ import annotations

from prover.config import hydra_app
from prover.records import RecordError
from prover.synthetic.pipeline import synth_task


def main() -> None:
    """The ``proofforge-synth`` Hydra app over ``configs/synth.yaml``."""
    from prover.exit_codes import INPUT, SETUP, USAGE
    from prover.lean.project import LeanMissingError
    from prover.llm.errors import GeneratorConfigError, GeneratorError

    errors = {(GeneratorConfigError,): USAGE, (RecordError, FileNotFoundError): INPUT,
              (LeanMissingError, GeneratorError, RuntimeError, ImportError): SETUP, (ValueError,): USAGE}
    hydra_app("synth", synth_task, prefix="proofforge-synth: ", errors=errors)()


if __name__ == "__main__":
    main()
