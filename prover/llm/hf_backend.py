"""In-process transformers backend, with LeanAttention as the decode attention by default.

Loads ``AutoModelForCausalLM``/``AutoTokenizer`` from a local folder (or a hub id already
in the local cache), renders chat prompts with the tokenizer's chat template, and runs
the batched decode loop of :mod:`prover.llm.hf_engine` (left padding, per-row seeds,
stop strings, per-token log-probs). This is the backend of the built-in server and the
offline default model; large models belong on vLLM.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from prover.llm.errors import BackendUnavailable, GeneratorError
from prover.llm.generator import Completion, Generator, Prompt, SamplingParams
from prover.llm.hf_engine import AdmitCallback, DecodeEngine, RowSpec, RowState, StepCallback, row_generator

LEAN_ATTENTION = "lean_attention"


def resolve_attn_implementation(name: str | None) -> str | None:
    """Map a configured attention name to one transformers knows, registering LeanAttention if asked."""
    if name in (None, "", "auto"):
        return None
    if name == LEAN_ATTENTION:
        try:
            from prover.attention.hf_integration import register_lean_attention
        except ImportError as e:
            raise BackendUnavailable(
                f"LeanAttention is not available ({e}); set model.attn_implementation=sdpa to use PyTorch SDPA."
            ) from None
        return register_lean_attention()
    return name


def resolve_dtype(dtype: str | None, device: str) -> torch.dtype | str:
    """``auto``: bf16 on a GPU that supports it, else fp16 on GPU, fp32 on CPU."""
    if dtype in (None, "", "auto"):
        if device.startswith("cuda") and torch.cuda.is_available():
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    try:
        return {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16,
                "fp16": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}[dtype]
    except KeyError:
        raise GeneratorError(f"unknown model.dtype {dtype!r}: use auto, float32, float16 or bfloat16") from None


def resolve_device(device: str | None) -> str:
    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GeneratorError(f"model.device={device} but no CUDA GPU is visible; use model.device=cpu")
    return device


def looks_like_a_path(name: str) -> bool:
    """Whether ``name`` is meant as a folder rather than a hub id (``org/model``).

    Why: transformers reports a missing folder such as ``/data/ckpt`` as an invalid repo id,
    which hides the real problem (a typo in the path)."""
    return name.startswith(("/", "./", "../", "~", ".\\")) or Path(name).is_absolute() or name.count("/") > 1


def render_chat(tokenizer: Any, messages: list[dict[str, str]], **template_kwargs: Any) -> str:
    """The chat as text: the tokenizer's chat template, or ``role: content`` lines when it has none."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, **template_kwargs
        )
    lines = [f"{m.get('role', 'user')}: {m.get('content', '')}" for m in messages]
    return "\n".join(lines) + "\nassistant:"


class HFGenerator(Generator):
    """``Generator`` over an in-process transformers causal LM."""

    name = "hf"

    def __init__(
        self,
        path: str | Path,
        *,
        attn_implementation: str | None = LEAN_ATTENTION,
        dtype: str | None = "auto",
        device: str | None = "auto",
        max_batch_size: int = 32,
        chat_template_kwargs: dict[str, Any] | None = None,
        system_prompt: str | None = None,
        model_name: str | None = None,
        threads: int | None = None,
    ) -> None:
        self.path = str(path)
        self.device = resolve_device(device)
        if threads and self.device == "cpu":
            # Process-wide. Tiny models gain nothing from intra-op threads and lose a lot to
            # oversubscription on a busy machine; 1 is usually fastest for them.
            torch.set_num_threads(int(threads))
        self.attn_implementation = resolve_attn_implementation(attn_implementation)
        self.max_batch_size = max(1, int(max_batch_size))
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self.system_prompt = system_prompt
        self.model_name = model_name or Path(self.path).name
        local = Path(self.path).expanduser()
        if not local.exists() and looks_like_a_path(self.path):
            raise GeneratorError(f"model path {self.path} does not exist: set model.path to a checkpoint folder")
        if local.exists() and not (local / "config.json").exists():
            raise GeneratorError(f"model path {local} has no config.json: it is not a transformers checkpoint")
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.path)
            kwargs: dict[str, Any] = {"dtype": resolve_dtype(dtype, self.device)}
            if self.attn_implementation:
                kwargs["attn_implementation"] = self.attn_implementation
            self.model = AutoModelForCausalLM.from_pretrained(self.path, **kwargs)
        except (OSError, ValueError) as e:  # ValueError: e.g. an attn_implementation transformers does not know
            raise GeneratorError(f"cannot load model {self.path!r}: {str(e).splitlines()[0]}") from None
        self.model.to(self.device).eval()
        self.engine = DecodeEngine(self.model, self.tokenizer, self.device)
        self._lock = threading.Lock()

    # -- prompts ------------------------------------------------------------------------------
    def render(self, prompt: Prompt, **template_kwargs: Any) -> str:
        """Prompt text as the model sees it (chat rendered through the template)."""
        if isinstance(prompt, str):
            return prompt
        messages = list(prompt)
        if self.system_prompt and not any(m.get("role") == "system" for m in messages):
            messages = [{"role": "system", "content": self.system_prompt}, *messages]
        return render_chat(self.tokenizer, messages, **{**self.chat_template_kwargs, **template_kwargs})

    def encode(self, prompt: Prompt, **template_kwargs: Any) -> list[int]:
        """Token ids of a prompt; a rendered chat already holds its special tokens."""
        text = self.render(prompt, **template_kwargs)
        return list(self.tokenizer(text, add_special_tokens=isinstance(prompt, str))["input_ids"])

    @property
    def max_positions(self) -> int | None:
        return self.engine.max_positions

    @property
    def context_length(self) -> int | None:  # type: ignore[override]
        return self.engine.max_positions

    def count_tokens(self, prompt: Prompt) -> int | None:
        return len(self.encode(prompt))

    # -- generation -------------------------------------------------------------------------
    def rows_for(self, prompt_ids: list[int], sampling: SamplingParams, **extra: Any) -> list[RowSpec]:
        """The ``sampling.n`` rows of one prompt."""
        return [
            RowSpec(
                prompt_ids=prompt_ids,
                max_tokens=sampling.max_tokens,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                stop=tuple(sampling.stop),
                seed=sampling.seed,
                **extra,
            )
            for _ in range(sampling.n)
        ]

    def run_rows(
        self,
        rows: Sequence[RowSpec],
        sample_indices: Sequence[int] | None = None,
        on_step: StepCallback | None = None,
        incremental_text: bool = False,
        admit: AdmitCallback | None = None,
    ) -> list[RowState]:
        """Run rows through the engine (serialised: one batch on the model at a time).

        ``sample_indices[i]`` is row ``i``'s sample number within its request, so the ``n``
        samples of a seeded request draw from different (but repeatable) random streams.
        """
        idx = list(sample_indices) if sample_indices is not None else [0] * len(rows)
        gens = [row_generator(r.seed, j) for r, j in zip(rows, idx, strict=True)]
        with self._lock:
            return self.engine.run(rows, on_step=on_step, gens=gens, incremental_text=incremental_text, admit=admit)

    def to_completion(self, prompt_len: int, st: RowState, logprobs: bool) -> Completion:
        return Completion(
            text=st.text,
            prompt_tokens=prompt_len,
            completion_tokens=len(st.token_ids),
            finish_reason=st.finish_reason or "length",
            logprob=float(sum(st.token_logprobs)) if logprobs else None,
            token_logprobs=list(st.token_logprobs) if logprobs else None,
            meta={"token_ids": list(st.token_ids)} if logprobs else {},
        )

    def generate(self, prompts: Sequence[Prompt], sampling: SamplingParams) -> list[list[Completion]]:
        encoded = [self.encode(p) for p in prompts]
        rows: list[RowSpec] = []
        owner: list[tuple[int, int]] = []
        for pi, ids in enumerate(encoded):
            for j, row in enumerate(self.rows_for(ids, sampling)):
                rows.append(row)
                owner.append((pi, j))
        out: list[list[Completion]] = [[] for _ in prompts]
        starts = range(0, len(rows), self.max_batch_size)
        if len(starts) > 1:  # a long job: show progress on a terminal (tqdm stays silent otherwise)
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc=f"generate ({len(rows)} samples)", unit="batch", disable=None, leave=False)
        for start in starts:
            chunk = rows[start : start + self.max_batch_size]
            who = owner[start : start + self.max_batch_size]
            states = self.run_rows(chunk, [j for _, j in who])
            for (pi, _), st in zip(who, states, strict=True):
                out[pi].append(self.to_completion(len(encoded[pi]), st, sampling.logprobs))
        return out

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]
        self.engine = None  # type: ignore[assignment]
