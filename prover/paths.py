"""Where ProofForge's files are: the checkout, the configs folder and the cache.

Why apart from :mod:`prover.config`: the Lean and data layers need these paths, and they must not
import Hydra or OmegaConf (only the apps' edge does).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["MANIFEST", "REPO_ROOT", "cache_dir", "config_dir"]

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The file in a run folder that records what made it (config fingerprint, pins, self-checks).
MANIFEST = "manifest.json"


def config_dir() -> Path:
    """The configs folder: ``$PROOFFORGE_CONFIGS``, the checkout's ``configs/``, or the packaged copy."""
    env = os.environ.get("PROOFFORGE_CONFIGS")
    if env:
        return Path(env).resolve()
    repo = REPO_ROOT / "configs"
    if repo.is_dir():
        return repo
    return Path(__file__).resolve().parent / "_configs"


def cache_dir() -> Path:
    """Where downloads, trained tiny models and built artefacts go (``$PROOFFORGE_CACHE``)."""
    return Path(os.environ.get("PROOFFORGE_CACHE", Path.home() / ".cache" / "proofforge")).expanduser()
