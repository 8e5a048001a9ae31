"""Launch ``vllm serve`` with LeanAttention as the attention backend.

LeanAttention reaches every vLLM process through the ``proofforge_lean_attention``
``vllm.general_plugins`` entry point (declared in pyproject.toml), which registers it
as vLLM's ``CUSTOM`` backend; ``--attention-backend CUSTOM`` selects it. The argv is
built by a pure function so it is tested without vLLM.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from prover.llm.errors import BackendUnavailable
from prover.llm.vllm_backend import VLLM_MISSING


def build_vllm_argv(
    model: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    served_model_name: str | None = None,
    attention_backend: str | None = "CUSTOM",
    dtype: str | None = "auto",
    max_num_seqs: int | None = None,
    max_model_len: int | None = None,
    tensor_parallel_size: int = 1,
    gpu_memory_utilization: float | None = None,
    seed: int | None = None,
    enable_prefix_caching: bool = True,
    extra_args: Sequence[str] = (),
    executable: str = "vllm",
) -> list[str]:
    """The ``vllm serve`` command line for a model (a hub id or a local folder)."""
    argv = [executable, "serve", str(model), "--host", str(host), "--port", str(int(port))]
    if served_model_name:
        argv += ["--served-model-name", str(served_model_name)]
    if attention_backend:
        argv += ["--attention-backend", str(attention_backend)]
    if dtype:
        argv += ["--dtype", str(dtype)]
    if max_num_seqs:
        argv += ["--max-num-seqs", str(int(max_num_seqs))]
    if max_model_len:
        argv += ["--max-model-len", str(int(max_model_len))]
    if tensor_parallel_size and int(tensor_parallel_size) > 1:
        argv += ["--tensor-parallel-size", str(int(tensor_parallel_size))]
    if gpu_memory_utilization:
        argv += ["--gpu-memory-utilization", str(float(gpu_memory_utilization))]
    if seed is not None:
        argv += ["--seed", str(int(seed))]
    argv.append("--enable-prefix-caching" if enable_prefix_caching else "--no-enable-prefix-caching")
    argv += [str(a) for a in extra_args]
    return argv


def argv_from_config(serve_cfg: Mapping[str, Any], model_cfg: Mapping[str, Any], model_path: str) -> list[str]:
    """``vllm serve`` argv from the ``serve`` config and its ``model`` node."""
    v = dict(model_cfg.get("vllm") or {})
    return build_vllm_argv(
        model_path,
        host=serve_cfg.get("host", "127.0.0.1"),
        port=int(serve_cfg.get("port", 8000)),
        served_model_name=serve_cfg.get("served_model_name") or model_cfg.get("name"),
        attention_backend=v.get("attention_backend", "CUSTOM"),
        dtype=model_cfg.get("dtype") or "auto",
        max_num_seqs=serve_cfg.get("max_batch_size"),
        max_model_len=v.get("max_model_len"),
        tensor_parallel_size=int(v.get("tensor_parallel_size", 1)),
        gpu_memory_utilization=v.get("gpu_memory_utilization"),
        seed=v.get("seed"),
        enable_prefix_caching=bool(v.get("enable_prefix_caching", True)),
        extra_args=list(serve_cfg.get("vllm_args") or []),
    )


def vllm_executable() -> str:
    """The ``vllm`` CLI, or a one-sentence error saying how to install it."""
    try:
        missing = sys.modules.get("vllm", False) is None or importlib.util.find_spec("vllm") is None
    except (ValueError, ImportError):
        missing = True
    if missing:
        raise BackendUnavailable(VLLM_MISSING)
    exe = shutil.which("vllm") or os.path.join(os.path.dirname(sys.executable), "vllm")
    if not os.path.exists(exe):
        raise BackendUnavailable(f"the vllm package is installed but its `vllm` command is not on PATH ({exe})")
    return exe


def launch(argv: Sequence[str]) -> int:
    """Run ``vllm serve`` in the foreground and return its exit code (Ctrl-C stops it)."""
    proc = subprocess.Popen(list(argv))
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return proc.wait()
