"""In-process vLLM backend (``vllm.LLM``), imported lazily so the package works without vLLM.

The mapping from :class:`~prover.llm.generator.SamplingParams` to vLLM's and the conversion
of vLLM's ``RequestOutput`` are plain functions so they are tested without vLLM.
LeanAttention runs inside vLLM as a custom attention backend, registered in every vLLM
process by the ``proofforge_lean_attention`` ``vllm.general_plugins`` entry point and
selected with ``attention_backend="CUSTOM"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prover.llm.errors import BackendUnavailable, GeneratorError
from prover.llm.generator import Completion, Generator, Prompt, SamplingParams

VLLM_MISSING = "vLLM is not installed: pip install 'proofforge[vllm]'"


def import_vllm() -> Any:
    """The ``vllm`` module, or a one-sentence error saying how to install it."""
    try:
        import vllm
    except ImportError:
        raise BackendUnavailable(VLLM_MISSING) from None
    return vllm


def vllm_sampling_kwargs(s: SamplingParams) -> dict[str, Any]:
    """Keyword arguments for ``vllm.SamplingParams``.

    ``logprobs=0`` asks vLLM for the sampled token's log-prob only (raw model log-probs,
    vLLM's default ``logprobs_mode``); ``None`` asks for none.
    """
    kw: dict[str, Any] = {
        "n": s.n,
        "temperature": s.temperature,
        "top_p": s.top_p,
        "max_tokens": s.max_tokens,
        "stop": list(s.stop),
        "seed": s.seed,
        "logprobs": 0 if s.logprobs else None,
    }
    return kw


def completions_from_vllm(request_output: Any, want_logprobs: bool) -> list[Completion]:
    """One vLLM ``RequestOutput`` as :class:`Completion` objects (in sample order)."""
    prompt_tokens = len(getattr(request_output, "prompt_token_ids", None) or [])
    out: list[Completion] = []
    for o in sorted(request_output.outputs, key=lambda o: o.index):
        token_ids = list(o.token_ids or [])
        toks: list[float] | None = None
        if want_logprobs and o.logprobs is not None:
            # One dict per generated token: token id -> Logprob(logprob=...); the sampled id is always in it.
            toks = [float(step[tid].logprob) for tid, step in zip(token_ids, o.logprobs, strict=False)]
        logprob = None
        if want_logprobs:
            logprob = float(sum(toks)) if toks is not None else getattr(o, "cumulative_logprob", None)
        out.append(
            Completion(
                text=o.text,
                prompt_tokens=prompt_tokens,
                completion_tokens=len(token_ids),
                finish_reason=o.finish_reason or "length",
                logprob=logprob,
                token_logprobs=toks,
            )
        )
    return out


class VLLMGenerator(Generator):
    """``Generator`` over an in-process ``vllm.LLM`` (one per process; it owns the GPUs)."""

    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        dtype: str = "auto",
        attention_backend: str | None = "CUSTOM",
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        seed: int = 0,
        enable_prefix_caching: bool = True,
        chat_template_kwargs: dict[str, Any] | None = None,
        system_prompt: str | None = None,
        extra_engine_args: dict[str, Any] | None = None,
    ) -> None:
        vllm = import_vllm()
        self.vllm = vllm
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self.system_prompt = system_prompt
        args: dict[str, Any] = {
            "model": model,
            "dtype": dtype,
            "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "seed": seed,
            "enable_prefix_caching": enable_prefix_caching,
        }
        if max_model_len:
            args["max_model_len"] = max_model_len
        if attention_backend:
            args["attention_backend"] = attention_backend
        args.update(extra_engine_args or {})
        try:
            self.llm = vllm.LLM(**args)
        except Exception as e:  # vLLM raises many types; keep the first line for the user
            raise GeneratorError(f"vLLM could not load {model!r}: {str(e).splitlines()[0] if str(e) else e!r}") from None

    @property
    def context_length(self) -> int | None:  # type: ignore[override]
        """The engine's ``max_model_len`` (vLLM ``LLM.llm_engine.model_config``)."""
        engine = getattr(self.llm, "llm_engine", None)
        value = getattr(getattr(engine, "model_config", None), "max_model_len", None)
        return int(value) if isinstance(value, int) else None

    def count_tokens(self, prompt: Prompt) -> int | None:
        if not isinstance(prompt, str):
            return None
        try:
            return len(self.llm.get_tokenizer().encode(prompt))
        except Exception:  # a tokenizer vLLM cannot hand out: fall back to the estimate
            return None

    def _messages(self, prompt: list[dict[str, str]]) -> list[dict[str, str]]:
        if self.system_prompt and not any(m.get("role") == "system" for m in prompt):
            return [{"role": "system", "content": self.system_prompt}, *prompt]
        return list(prompt)

    def generate(self, prompts: Sequence[Prompt], sampling: SamplingParams) -> list[list[Completion]]:
        params = self.vllm.SamplingParams(**vllm_sampling_kwargs(sampling))
        out: list[list[Completion] | None] = [None] * len(prompts)
        texts = [(i, p) for i, p in enumerate(prompts) if isinstance(p, str)]
        chats = [(i, p) for i, p in enumerate(prompts) if not isinstance(p, str)]
        if texts:
            results = self.llm.generate([p for _, p in texts], params, use_tqdm=len(texts) > 8)
            for (i, _), r in zip(texts, results, strict=True):
                out[i] = completions_from_vllm(r, sampling.logprobs)
        if chats:
            results = self.llm.chat(
                [self._messages(p) for _, p in chats],
                params,
                use_tqdm=len(chats) > 8,
                chat_template_kwargs=self.chat_template_kwargs or None,
            )
            for (i, _), r in zip(chats, results, strict=True):
                out[i] = completions_from_vllm(r, sampling.logprobs)
        return [c if c is not None else [] for c in out]

    def close(self) -> None:
        self.llm = None
