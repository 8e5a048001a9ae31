"""``proofforge-lean-server``: serve the verifier over kimina-compatible HTTP (a Hydra app).

    proofforge-lean-server                              # local REPL pool on http://127.0.0.1:8010
    proofforge-lean-server lean=ray port=8020           # Ray actors on a cluster
    proofforge-lean-server lean=scripted                # offline double (verdicts are NOT real)

The ``lean`` config group builds the pool through :func:`prover.lean.verifier_factory.build_verifier`,
the same call ``proofforge-check`` makes, so the policy and verdict are the same code path.
The bearer token comes from ``api_key`` or ``$PROOFFORGE_LEAN_SERVER_API_KEY``.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

from omegaconf import DictConfig, OmegaConf

from prover.config import hydra_app

if TYPE_CHECKING:
    from prover.serving.lean_server.app import ServerSettings

API_KEY_ENV = "PROOFFORGE_LEAN_SERVER_API_KEY"


class LeanServerConfigError(ValueError):
    """A ``lean_server`` config value is unusable; the message names the key."""


def settings_from_config(cfg: DictConfig | dict) -> ServerSettings:
    """:class:`ServerSettings` from the config (``api_key`` falls back to the environment variable)."""
    from prover.serving.lean_server.app import ServerSettings

    node = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
    key = node.get("api_key") or os.environ.get(API_KEY_ENV) or None
    try:
        return ServerSettings(
            api_key=str(key) if key else None,
            max_pending=node.get("max_pending", 256),
            max_body_bytes=node.get("max_body_bytes", 16 * 1024 * 1024),
            max_snippet_bytes=node.get("max_snippet_bytes", 256 * 1024),
            max_snippets=node.get("max_snippets", 256),
            max_timeout=node.get("max_timeout", 300),
            cache_size=node.get("cache_size", 100_000),
        )
    except ValueError as e:
        raise LeanServerConfigError(str(e)) from None


def serve(cfg: DictConfig) -> int:
    """Build the pool and run uvicorn until interrupted; returns an exit code."""
    from prover.apps.serve import ServeConfigError, check_numbers, check_port_free, run_dir

    try:
        check_numbers(OmegaConf.create({"port": cfg.get("port")}))
    except ServeConfigError as e:
        raise LeanServerConfigError(str(e)) from None
    settings = settings_from_config(cfg)
    host, port = str(cfg.get("host", "127.0.0.1")), int(cfg.get("port", 8010))
    out = run_dir()
    out.mkdir(parents=True, exist_ok=True)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    if isinstance(resolved, dict) and resolved.get("api_key"):
        resolved["api_key"] = "***"  # never write the token to the run folder
    (out / "config.yaml").write_text(OmegaConf.to_yaml(resolved))
    if cfg.get("dry_run"):
        print(f"would serve lean.backend={cfg.lean.backend} at http://{host}:{port}")
        return 0
    try:
        check_port_free(host, port)
    except ServeConfigError as e:
        raise LeanServerConfigError(str(e)) from None
    import uvicorn

    from prover.lean.verifier_factory import build_verifier
    from prover.serving.lean_server.app import create_app

    interval = cfg.get("switch_interval_ms")
    if interval:
        # the HTTP loop and the pool's loop thread share one interpreter: a thread woken by a REPL
        # reply waits up to the GIL switch interval (5 ms by default) while the other parses requests
        sys.setswitchinterval(float(interval) / 1000)
    logging.basicConfig(level=str(cfg.get("log_level", "info")).upper(), format="%(asctime)s %(name)s %(message)s")
    verifier = build_verifier(cfg.get("lean"))
    app = create_app(verifier, settings)
    auth = "bearer token required" if settings.api_key else "no auth"
    print(f"ProofForge Lean server (lean.backend={cfg.lean.backend}, {auth}) at http://{host}:{port} "
          f"- kimina: KiminaClient(api_url='http://{host}:{port}')", flush=True)
    uvicorn.run(app, host=host, port=port, log_level=str(cfg.get("log_level", "info")), access_log=False)
    return 0


def _task(cfg: DictConfig) -> None:
    code = serve(cfg)
    if code:
        sys.exit(code)


def main() -> None:
    """Console entry point (``proofforge-lean-server``)."""
    from prover.exit_codes import SETUP, USAGE
    from prover.lean.project import LeanMissingError
    from prover.lean.ray_pool import ClusterMissingError

    errors = {(LeanMissingError, ClusterMissingError): SETUP, (LeanServerConfigError, ValueError): USAGE}
    hydra_app("lean_server", _task, prefix="proofforge-lean-server: ", errors=errors)()


if __name__ == "__main__":
    main()
