"""vLLM ``general_plugins`` entry point: register LeanAttention as ``AttentionBackendEnum.CUSTOM``.

vLLM runs every ``vllm.general_plugins`` entry point in each of its processes (engine core and workers)
*without* a try/except around it (vllm-project/vllm, ``vllm/plugins/__init__.py``,
``load_general_plugins``): an exception here would stop every ``vllm serve`` and ``LLM()`` in the
environment, whether or not it asked for LeanAttention. So :func:`register` never raises: when this vLLM
cannot take the backend it logs one warning and leaves vLLM unchanged.

What it targets (read in vllm-project/vllm): the attention-backend registry ``AttentionBackendEnum`` +
``register_backend(backend, class_path)`` and the ``--attention-backend`` / ``attention_backend=`` option
(``AttentionConfig``, vllm PR #26315, late 2025). The registry lives in
``vllm/v1/attention/backends/registry.py`` since the attention restructure (vllm PR #31916) and in
``vllm/attention/backends/registry.py`` just before it; both layouts are handled. vLLM 0.11.x has only
``_Backend``/``register_attn_backend`` there and is refused (with the warning). Before vllm PR #30869,
``CUSTOM`` had the same (empty) value as ``TORCH_SDPA``, so it was an alias and registering "CUSTOM"
replaced the ViT SDPA backend; such a vLLM is refused too. The floor in ``pyproject.toml`` (``vllm>=0.14``)
is the first release line cut after all three were merged.

vLLM's enum has fixed members (no version read offers a by-name ``register``), so the backend takes the
one third-party slot, ``CUSTOM``; if another plugin already holds it, it is left alone (warning), not
silently overwritten. Select LeanAttention with ``vllm serve MODEL --attention-backend CUSTOM`` (or
``LLM(..., attention_backend="CUSTOM")``). vllm is imported only inside :func:`register`.
"""

from __future__ import annotations

import importlib
import logging

__all__ = ["BACKEND_CLASS_PATH", "MIN_VLLM", "register"]

BACKEND_CLASS_PATH = "prover.attention.vllm_backend.LeanAttentionBackend"
MIN_VLLM = "0.14"
#: Where the registry lives, newest layout first (see the module docstring).
REGISTRY_MODULES = ("vllm.v1.attention.backends.registry", "vllm.attention.backends.registry")

logger = logging.getLogger(__name__)


class _Unsupported(Exception):
    """This vLLM cannot take the backend; the message says why."""


def _registry() -> tuple[object, object, str]:
    """(AttentionBackendEnum, register_backend, module name) of the installed vLLM."""
    try:
        vllm = importlib.import_module("vllm")
    except ImportError:
        raise _Unsupported("vLLM is not installed (pip install 'proofforge[vllm]')") from None
    version = getattr(vllm, "__version__", "?")
    for name in REGISTRY_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        enum, reg = getattr(module, "AttentionBackendEnum", None), getattr(module, "register_backend", None)
        if enum is not None and callable(reg):
            return enum, reg, name
    raise _Unsupported(f"vLLM {version} has no attention-backend registry (AttentionBackendEnum and "
                       f"register_backend); LeanAttention needs vLLM >= {MIN_VLLM}")


def _register() -> str:
    enum, register_backend, where = _registry()
    custom = getattr(enum, "__members__", {}).get("CUSTOM")
    if custom is None or custom.name != "CUSTOM":  # missing, or an alias of another member (before vllm #30869)
        raise _Unsupported(f"{where}.AttentionBackendEnum.CUSTOM is "
                           f"{'missing' if custom is None else 'an alias of ' + custom.name}; "
                           f"LeanAttention needs vLLM >= {MIN_VLLM}")
    try:
        current = custom.get_path() if hasattr(custom, "get_path") else None
    except ValueError:  # not registered yet: vLLM's get_path raises for an unregistered CUSTOM
        current = None
    if current and current != BACKEND_CLASS_PATH:
        raise _Unsupported(f"AttentionBackendEnum.CUSTOM is already registered to {current} by another "
                           "plugin; it is left as it is")
    register_backend(custom, BACKEND_CLASS_PATH)
    return BACKEND_CLASS_PATH


def register() -> str | None:
    """Register the LeanAttention backend under ``AttentionBackendEnum.CUSTOM``; returns its class path,
    or None (after one warning) when this vLLM cannot take it. Never raises: see the module docstring."""
    try:
        return _register()
    except _Unsupported as e:
        logger.warning("proofforge: LeanAttention backend not registered: %s; vLLM runs unchanged", e)
    except Exception as e:  # anything else from a vLLM we have not read: still never break vLLM's start
        logger.warning("proofforge: LeanAttention backend not registered (%s: %s); vLLM runs unchanged",
                       type(e).__name__, e)
    return None
