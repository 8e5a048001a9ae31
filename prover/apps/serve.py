"""``proofforge-serve``: serve a model over an OpenAI-compatible HTTP API.

``backend=hf`` (default) runs the built-in FastAPI server over the transformers backend
(LeanAttention decode, request batching); ``backend=vllm`` launches ``vllm serve`` with
LeanAttention as vLLM's CUSTOM attention backend. Either way clients use
``model.backend=openai model.base_url=http://HOST:PORT/v1``.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from prover.config import hydra_app, to_container
from prover.llm.errors import GeneratorError


def run_dir() -> Path:
    """Hydra's run folder (``hydra.run.dir``), or the working directory outside a Hydra app."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return Path(HydraConfig.get().runtime.output_dir)
    except Exception:  # not inside @hydra.main (tests, notebooks)
        return Path.cwd()


class ServeConfigError(ValueError):
    """A ``serve`` config value is unusable; the message names the key."""


def check_numbers(cfg: DictConfig) -> None:
    """``port``, ``max_batch_size`` and ``batch_wait_ms`` are numbers in range (one line naming the key, not a traceback)."""
    for key, kind, low, high in (("port", int, 0, 65535), ("max_batch_size", int, 1, None), ("batch_wait_ms", float, 0, None)):
        value = cfg.get(key)
        if value is None:
            continue
        ok = not isinstance(value, bool) and (isinstance(value, int) if kind is int else isinstance(value, (int, float)))
        if not ok:
            raise ServeConfigError(f"{key} must be {'an integer' if kind is int else 'a number'}, got {value!r}")
        if value < low or (high is not None and value > high):
            bounds = f">= {low}" if high is None else f"in {low}..{high}"
            raise ServeConfigError(f"{key} must be {bounds}, got {value}")


def check_port_free(host: str, port: int) -> None:
    """Fail at once, naming host and port, when the address is taken or cannot be bound."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ServeConfigError(f"host {host!r} cannot be resolved ({e.strerror}): set host=127.0.0.1 or 0.0.0.0") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no obstacle
        try:
            sock.bind(addr)
        except OSError as e:
            raise ServeConfigError(f"cannot listen on {host}:{port} ({e.strerror}): choose another port=...") from None


def serve(cfg: DictConfig) -> int:
    """Start the server the config describes; return a process exit code.

    ``dry_run=true`` checks the config, prints one line saying what would run (the ``vllm serve``
    command, or the built-in server's model, address and settings) and starts, loads and writes nothing.
    """
    check_numbers(cfg)
    dry = bool(cfg.get("dry_run"))
    out = run_dir()
    if not dry:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    model = dict(to_container(cfg.model) or {})
    backend = str(cfg.get("backend", "hf"))
    host, port = str(cfg.get("host", "127.0.0.1")), int(cfg.get("port", 8000))
    name = cfg.get("served_model_name") or model.get("name") or "model"
    if model.get("backend") in ("openai", "scripted"):
        raise ServeConfigError(
            f"model.backend={model['backend']} is not a model this server can load: proofforge-serve serves a local "
            "checkpoint (model=tiny, a preset such as model=deepseek_prover_v15_rl, or model.path=FOLDER)"
        )
    if backend == "vllm":
        from prover.llm.generator_factory import resolve_model_path
        from prover.serving.vllm_launch import argv_from_config, launch, vllm_executable

        exe = None if dry else vllm_executable()  # fail before any slow model work
        argv = argv_from_config(dict(to_container(cfg)), model, resolve_model_path(model))
        if dry:
            print(f"dry run: would run {shlex.join(argv)}")
            return 0
        if exe:
            argv[0] = exe
        print(" ".join(argv))
        print(f"Serving {name} with vLLM at http://{host}:{port}/v1")
        return launch(argv)
    if backend != "hf":
        raise GeneratorError(f"unknown serve backend {backend!r}: use backend=hf (built-in) or backend=vllm")

    if dry:
        where = model.get("path") or ("the tiny model (trained on first use)" if model.get("name", "tiny") == "tiny"
                                      else model.get("name"))
        print(f"dry run: would serve {name} ({where}) with the built-in server at http://{host}:{port}/v1 "
              f"(attention: {model.get('attn_implementation') or 'default'}; batches of up to "
              f"{cfg.get('max_batch_size', 16)} sequences); nothing started")
        return 0
    check_port_free(host, port)  # before loading the model, which can take minutes
    import uvicorn

    from prover.llm.generator_factory import build_generator
    from prover.serving.app import create_app

    generator = build_generator({**model, "backend": "hf"})
    app = create_app(
        generator,  # type: ignore[arg-type]
        served_model_name=str(name),
        max_batch_size=int(cfg.get("max_batch_size", 16)),
        batch_wait_ms=float(cfg.get("batch_wait_ms", 10)),
        log_path=out / "requests.jsonl" if cfg.get("log_requests", True) else None,
    )
    print(
        f"Serving {name} at http://{host}:{port}/v1 (OpenAI-compatible; attention: "
        f"{generator.attn_implementation or 'default'}; batches of up to {cfg.get('max_batch_size', 16)} "
        f"sequences; request log: {out / 'requests.jsonl'})",
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level=str(cfg.get("log_level", "info")))
    return 0


def _task(cfg: DictConfig) -> None:
    code = serve(cfg)
    if code:
        sys.exit(code)


def main() -> None:
    """Console entry point (``proofforge-serve``)."""
    from prover.exit_codes import SETUP, USAGE
    from prover.llm.errors import GeneratorConfigError

    errors = {(GeneratorConfigError, ServeConfigError): USAGE, (GeneratorError,): SETUP}
    hydra_app("serve", _task, prefix="proofforge-serve: ", errors=errors)()


if __name__ == "__main__":
    main()
