"""vLLM ``general_plugins`` entry point: register LeanAttention as ``AttentionBackendEnum.CUSTOM``.

vLLM runs every ``vllm.general_plugins`` entry point in each of its processes (engine core and workers), which is
where a custom backend must be registered. Select it with ``vllm serve MODEL --attention-backend CUSTOM`` (or
``LLM(..., attention_backend="CUSTOM")``). vllm is imported only inside :func:`register`.
"""

from __future__ import annotations

__all__ = ["BACKEND_CLASS_PATH", "register"]

BACKEND_CLASS_PATH = "prover.attention.vllm_backend.LeanAttentionBackend"


def register() -> str:
    """Register the LeanAttention backend under ``AttentionBackendEnum.CUSTOM``; returns its class path."""
    try:
        import vllm  # noqa: F401
    except ImportError:
        raise RuntimeError("vLLM is not installed: pip install 'proofforge[vllm]'") from None
    try:
        from vllm.v1.attention.backends.registry import AttentionBackendEnum, register_backend
    except ImportError:  # vLLM 0.11-0.13 kept the registry here
        from vllm.attention.backends.registry import AttentionBackendEnum, register_backend
    register_backend(AttentionBackendEnum.CUSTOM, BACKEND_CLASS_PATH)
    return BACKEND_CLASS_PATH
