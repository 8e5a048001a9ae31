"""``proofforge-formalize``: Herald-style autoformalization and its evaluations, over ``configs/formalize.yaml``.

Each ``mode`` is one function of :mod:`autoformalize.cli` (:func:`autoformalize.cli.run_formalize` picks it).
"""

from __future__ import annotations

from autoformalize.cli import INPUT_ERRORS, FormalizeConfigError, PromptError, run_formalize
from autoformalize.retrieval import RetrievalError
from prover.config import hydra_app


def main() -> None:
    """Hydra entry point over ``configs/formalize.yaml`` (config folder resolved at call time)."""
    from prover.exit_codes import INPUT, SETUP, USAGE
    from prover.lean.project import LeanMissingError
    from prover.llm.errors import GeneratorConfigError, GeneratorError

    errors = {(GeneratorConfigError,): USAGE, (LeanMissingError, GeneratorError): SETUP,
              (FormalizeConfigError, PromptError, RetrievalError): USAGE, INPUT_ERRORS: INPUT}
    hydra_app("formalize", run_formalize, prefix="proofforge-formalize: ", errors=errors)()


if __name__ == "__main__":
    main()
