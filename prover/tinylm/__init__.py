"""The tiny offline prover: a simplified Lean 4 corpus and a small Llama trained on it (TinyHelen-style).

``ensure_tiny_model()`` is what the rest of ProofForge calls: it returns a Hugging Face checkpoint
dir (loadable with ``AutoModelForCausalLM`` / ``AutoTokenizer``) that speaks the prompt formats in
:mod:`prover.tinylm.formats`, training it first when it is missing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from prover.tinylm.formats import END, corrector_prompt, extract_proof, first_error_line, prover_prompt

#: Environment variable naming a checkpoint dir that replaces the default ``<cache_dir>/tinylm``.
ENV_VAR = "PROOFFORGE_TINY_MODEL"

__all__ = ["END", "ENV_VAR", "corrector_prompt", "ensure_tiny_model", "extract_proof", "first_error_line",
           "prover_prompt", "tiny_model_path"]


def tiny_model_path(path: str | Path | None = None) -> Path:
    """Where the tiny model lives: ``path``, else ``$PROOFFORGE_TINY_MODEL``, else ``<cache_dir>/tinylm``."""
    from prover.tinylm.train import default_out_dir

    chosen = path or os.environ.get(ENV_VAR) or default_out_dir()
    return Path(chosen).expanduser().resolve()


def ensure_tiny_model(path: str | Path | None = None, overrides: list[str] | None = None) -> Path:
    """The tiny model's checkpoint dir, trained with the default config first if it is missing.

    Training resumes from a checkpoint when a previous attempt was interrupted. ``overrides``
    (Hydra syntax, e.g. ``["train.steps=50"]``) change the training config; meant for tests.
    """
    from prover.config import compose
    from prover.tinylm.train import is_trained, train_tiny

    target = tiny_model_path(path)
    if is_trained(target):
        _warn_if_prover_only(target)
        return target
    print(f"tinylm: no trained tiny model at {target}; training it now (2-10 minutes on 2 CPU cores, once).")
    t0 = time.perf_counter()
    cfg = compose("train_tiny", [f"out_dir={target}", *(overrides or [])])
    train_tiny(cfg)
    print(f"tinylm: trained in {time.perf_counter() - t0:.0f}s")
    return target


def _warn_if_prover_only(target: Path) -> None:
    """One line when a cached model predates the role data (it was trained as a prover only), so a user
    whose formalize/synth runs abstain on everything knows why: retrain into a new folder or delete it."""
    cfg_file = target / "train_config.yaml"
    if not cfg_file.is_file():
        return
    from omegaconf import OmegaConf

    corpus = OmegaConf.load(cfg_file).get("corpus") or {}
    if not corpus.get("roles"):
        print(f"tinylm: {target} holds a prover-only tiny model from an earlier version (no translator, judge or "
              "grader data); delete that folder to retrain the current one, which plays every stage's role")
