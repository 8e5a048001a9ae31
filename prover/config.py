"""Where the Hydra configs live, and helpers to compose them outside a Hydra app.

Every entry point is a Hydra app over ``configs/<name>.yaml`` with groups
``model/ lean/ prover/ dataset/ experiment/``. In a source checkout the configs are
the repo's ``configs/``; in a wheel they ship as ``prover/_configs``.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

REPO_ROOT = Path(__file__).resolve().parent.parent


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


def compose(config_name: str, overrides: Sequence[str] = ()) -> DictConfig:
    """Compose ``configs/<config_name>.yaml`` with overrides, as the Hydra app would (for tests and notebooks)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


def run_dir_for(cfg: DictConfig, *, error: Callable[[str], Exception], prog: str) -> Path:
    """``cfg.out_dir`` if set, else Hydra's run folder (inside a Hydra app), resolved.

    Outside a Hydra app without ``out_dir``, raises ``error`` with a message naming ``out_dir`` and ``prog``.
    """
    out = cfg.get("out_dir")
    if out:
        return Path(str(out)).expanduser().resolve()
    try:
        from hydra.core.hydra_config import HydraConfig

        return Path(HydraConfig.get().runtime.output_dir).resolve()
    except (ImportError, ValueError):
        raise error(f"no run folder: set out_dir=<folder> (or run through {prog})") from None


#: The file in a run folder that records what its results depend on (see :func:`check_run_manifest`).
MANIFEST = "manifest.json"


def check_run_manifest(
    run_dir: Path,
    fingerprint: dict[str, Any],
    *,
    error: Callable[[str], Exception],
    describe: Callable[[list[str]], str],
    write: bool = True,
) -> dict[str, Any] | None:
    """Refuse to resume ``run_dir`` with a different config: its records would mix two configs.

    ``fingerprint`` maps the config parts results depend on to their values. A folder without a
    manifest gets one (unless ``write=False``, for callers that record it later) and the normalised
    fingerprint is returned; a folder whose manifest differs raises ``error(describe(changed_keys))``;
    an unreadable manifest raises ``error`` naming it. Returns None when the folder matches.
    """
    path = Path(run_dir) / MANIFEST
    new = json.loads(json.dumps(fingerprint, default=str))
    if not path.exists():
        if write:
            path.write_text(json.dumps(new, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return new
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise error(f"{path}: unreadable; delete it or use a new run folder") from None
    changed = sorted(k for k in new if old.get(k) != new[k])
    if changed:
        raise error(describe(changed))
    return None


def hydra_app(
    config_name: str,
    task: Callable[[DictConfig], object],
    *,
    prefix: str,
    errors: Mapping[tuple[type[BaseException], ...], int],
) -> Callable[[], None]:
    """A console entry point: the Hydra app over ``configs/<config_name>.yaml`` that runs ``task(cfg)``.

    The config folder is resolved when the entry point is called, not at import. An exception
    matching a key of ``errors`` (tried in order, like ``except`` clauses) becomes one line
    ``f"{prefix}{exc}"`` on stderr and exit with that key's code; any other exception propagates.
    Hydra's job name still comes from ``task``'s module (it unwraps ``__wrapped__``).
    """

    @functools.wraps(task)
    def run(cfg: DictConfig) -> None:
        try:
            task(cfg)
        except tuple(t for types in errors for t in types) as e:
            code = next(c for types, c in errors.items() if isinstance(e, types))
            print(f"{prefix}{e}", file=sys.stderr)
            sys.exit(code)

    def main() -> None:
        import hydra

        hydra.main(config_path=str(config_dir()), config_name=config_name, version_base="1.3")(run)()

    return main


def to_container(cfg: Any) -> Any:
    """Plain dicts/lists from a DictConfig (resolved), or the value unchanged."""
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)
    return cfg
