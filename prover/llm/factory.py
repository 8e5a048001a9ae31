"""Build a :class:`~prover.llm.base.Generator` from a ``model`` config node (``configs/model/*.yaml``).

``model.backend`` picks the backend: ``hf`` (in-process transformers, LeanAttention decode),
``vllm`` (in-process vLLM), ``openai`` (any OpenAI-compatible server) or ``scripted`` (a
test double answering from ``model.script``). Heavy imports happen only for the chosen one.
The offline default (``tiny`` with no ``path``) trains or loads the tiny prover model via
:func:`prover.tinylm.ensure_tiny_model`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from prover.config import to_container
from prover.llm.base import Generator
from prover.llm.errors import GeneratorConfigError, GeneratorError

BACKENDS = ("hf", "vllm", "openai", "scripted")


def _as_dict(cfg: Any) -> dict[str, Any]:
    data = to_container(cfg)
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise GeneratorConfigError(f"model config must be a mapping, got {type(data).__name__}")
    return dict(data)


def _num(m: Mapping[str, Any], key: str, default: Any, kind: type, prefix: str = "model.") -> Any:
    """``m[key]`` as ``kind`` (``default`` when unset), or a GeneratorError naming the key."""
    value = m.get(key)
    if value is None:
        return default
    try:
        if isinstance(value, bool) or (kind is int and isinstance(value, float) and not value.is_integer()):
            raise ValueError
        return kind(value)
    except (TypeError, ValueError):
        want = "an integer" if kind is int else "a number"
        raise GeneratorConfigError(f"{prefix}{key} must be {want}, got {value!r}") from None


def resolve_model_path(m: Mapping[str, Any]) -> str:
    """``model.path``, else the tiny model (trained on first use), else ``model.name`` as a hub id."""
    if m.get("path"):
        return str(m["path"])
    if m.get("name", "tiny") == "tiny":
        try:
            from prover.tinylm import ensure_tiny_model
        except ImportError:
            raise GeneratorError(
                "the tiny model needs prover.tinylm.ensure_tiny_model, which is missing; set model.path"
            ) from None
        from prover.tinylm.train import TrainConfigError

        try:
            return str(ensure_tiny_model())
        except TrainConfigError as e:  # e.g. $PROOFFORGE_TINY_MODEL names a folder trained with another config
            raise GeneratorError(f"the tiny model is not usable: {e}") from None
    if m.get("name"):
        return str(m["name"])
    raise GeneratorConfigError("model config has neither path nor name: set model.path to a checkpoint folder")


def build_generator(cfg: Any) -> Generator:
    """The generator a ``model`` node describes (see the module docstring for the keys)."""
    m = _as_dict(cfg)
    backend = str(m.get("backend", "hf"))
    if backend not in BACKENDS:
        raise GeneratorConfigError(f"unknown model.backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if backend == "scripted":
        from prover.llm.scripted import ScriptedGenerator

        script = []
        for i, entry in enumerate(m.get("script") or []):
            if not isinstance(entry, (list, tuple)) or len(entry) != 2:
                raise GeneratorConfigError(f"model.script[{i}] must be a [regex, output] pair, got {entry!r}")
            try:
                re.compile(str(entry[0]))
            except re.error as e:
                raise GeneratorConfigError(f"model.script[{i}]: bad regex {str(entry[0])!r}: {e}") from None
            script.append((str(entry[0]), entry[1]))
        return ScriptedGenerator(script, default=str(m.get("default", "")))
    if backend == "openai":
        from prover.llm.openai_backend import OpenAIGenerator

        return OpenAIGenerator(
            base_url=str(m.get("base_url") or ""),
            model=m.get("served_name") or m.get("name"),
            api_key=m.get("api_key"),
            max_concurrency=_num(m, "max_concurrency", 32, int),
            max_retries=_num(m, "max_retries", 4, int),
            chat=bool(m.get("chat", False)),
            timeout=_num(m, "timeout", 600.0, float),
            system_prompt=m.get("system_prompt"),
            extra_body=_openai_extra_body(m),
            context_length=_num(m, "context_length", None, int),
        )
    if backend == "vllm":
        from prover.llm.vllm_backend import VLLMGenerator

        v = dict(m.get("vllm") or {})
        return VLLMGenerator(
            resolve_model_path(m),
            dtype=str(m.get("dtype") or "auto"),
            attention_backend=v.get("attention_backend", "CUSTOM"),
            tensor_parallel_size=_num(v, "tensor_parallel_size", 1, int, "model.vllm."),
            gpu_memory_utilization=_num(v, "gpu_memory_utilization", 0.9, float, "model.vllm."),
            max_model_len=v.get("max_model_len"),
            seed=_num(v, "seed", 0, int, "model.vllm."),
            enable_prefix_caching=bool(v.get("enable_prefix_caching", True)),
            chat_template_kwargs=m.get("chat_template_kwargs"),
            system_prompt=m.get("system_prompt"),
            extra_engine_args=v.get("extra_args"),
        )
    from prover.llm.hf_backend import HFGenerator

    return HFGenerator(
        resolve_model_path(m),
        attn_implementation=m.get("attn_implementation", "lean_attention"),
        dtype=m.get("dtype", "auto"),
        device=m.get("device", "auto"),
        max_batch_size=_num(m, "max_batch_size", 32, int),
        chat_template_kwargs=m.get("chat_template_kwargs"),
        system_prompt=m.get("system_prompt"),
        model_name=m.get("name"),
        threads=m.get("threads"),
    )


def _openai_extra_body(m: Mapping[str, Any]) -> dict[str, Any] | None:
    """vLLM-style extras sent in the request body (e.g. ``chat_template_kwargs`` for think mode)."""
    extra = dict(m.get("extra_body") or {})
    if m.get("chat_template_kwargs"):
        extra.setdefault("chat_template_kwargs", dict(m["chat_template_kwargs"]))
    return extra or None
