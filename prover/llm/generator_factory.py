"""Build a :class:`~prover.llm.generator.Generator` from a ``model`` config node (``configs/model/*.yaml``).

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

from prover.llm.errors import GeneratorConfigError, GeneratorError
from prover.llm.generator import Generator
from prover.settings import ModelSettings, settings_from

__all__ = ["BACKENDS", "build_generator", "model_settings", "resolve_model_path"]

BACKENDS = ("hf", "vllm", "openai", "scripted")


def model_settings(cfg: ModelSettings | Mapping[str, Any] | None) -> ModelSettings:
    """``cfg`` as ModelSettings (a mapping is read key by key); a GeneratorConfigError names ``model.<key>``."""
    settings = settings_from(ModelSettings, cfg, "model", error=GeneratorConfigError)
    if settings.backend not in BACKENDS:
        raise GeneratorConfigError(f"unknown model.backend {settings.backend!r}; expected one of {', '.join(BACKENDS)}")
    return settings


def resolve_model_path(cfg: ModelSettings | Mapping[str, Any]) -> str:
    """``model.path``, else the tiny model (trained on first use), else ``model.name`` as a hub id."""
    m = model_settings(cfg)
    if m.path:
        return str(m.path)
    if m.name == "tiny":
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
    if m.name:
        return str(m.name)
    raise GeneratorConfigError("model config has neither path nor name: set model.path to a checkpoint folder")


def build_generator(cfg: ModelSettings | Mapping[str, Any] | None) -> Generator:
    """The generator the ``model`` settings describe (or a mapping of their fields; see the module docstring)."""
    m = model_settings(cfg)
    if m.backend == "scripted":
        from prover.llm.scripted import ScriptedGenerator

        script = []
        for i, entry in enumerate(m.script):
            if not isinstance(entry, (list, tuple)) or len(entry) != 2:
                raise GeneratorConfigError(f"model.script[{i}] must be a [regex, output] pair, got {entry!r}")
            try:
                re.compile(str(entry[0]))
            except re.error as e:
                raise GeneratorConfigError(f"model.script[{i}]: bad regex {str(entry[0])!r}: {e}") from None
            script.append((str(entry[0]), entry[1]))
        return ScriptedGenerator(script, default=m.default)
    if m.backend == "openai":
        from prover.llm.openai_backend import OpenAIGenerator

        extra = dict(m.extra_body)  # vLLM-style extras in the request body, e.g. think mode's chat_template_kwargs
        if m.chat_template_kwargs:
            extra.setdefault("chat_template_kwargs", dict(m.chat_template_kwargs))
        return OpenAIGenerator(
            base_url=m.base_url or "",
            model=m.served_name or m.name,
            api_key=m.api_key,
            max_concurrency=m.max_concurrency,
            max_retries=m.max_retries,
            chat=m.chat,
            timeout=m.timeout,
            system_prompt=m.system_prompt,
            extra_body=extra or None,
            context_length=m.context_length,
        )
    if m.backend == "vllm":
        from prover.llm.vllm_backend import VLLMGenerator

        v = m.vllm
        return VLLMGenerator(
            resolve_model_path(m),
            dtype=m.dtype,
            attention_backend=v.attention_backend,
            tensor_parallel_size=v.tensor_parallel_size,
            gpu_memory_utilization=v.gpu_memory_utilization,
            max_model_len=v.max_model_len or m.context_length,
            seed=v.seed,
            enable_prefix_caching=v.enable_prefix_caching,
            chat_template_kwargs=m.chat_template_kwargs or None,
            system_prompt=m.system_prompt,
            extra_engine_args=v.extra_args or None,
        )
    from prover.llm.hf_backend import HFGenerator

    return HFGenerator(
        resolve_model_path(m),
        attn_implementation=m.attn_implementation,
        dtype=m.dtype,
        device=m.device,
        max_batch_size=m.max_batch_size,
        chat_template_kwargs=m.chat_template_kwargs or None,
        system_prompt=m.system_prompt,
        model_name=m.name,
        threads=m.threads,
    )
