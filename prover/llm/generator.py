"""The generator seam: prompts in, sampled completions out.

Backends (``model.backend`` in config): ``openai`` (any OpenAI-compatible server),
``vllm`` (in-process), ``hf`` (in-process transformers with LeanAttention decode).
Prompt formats live with the stage that owns them, not here.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from prover.settings import SamplingParams  # the seam's sampling record; also the schema of sampling nodes

#: A prompt is raw text, or a chat (a list of ``{"role", "content"}`` messages) that the
#: backend renders with the model's chat template.
Prompt = Union[str, list[dict[str, str]]]


def prompt_text(prompt: Prompt) -> str:
    """The text of a prompt: itself, or a chat's messages joined (for records and scripted matching)."""
    if isinstance(prompt, str):
        return prompt
    return "\n".join(f"{m.get('role', 'user')}: {m.get('content', '')}" for m in prompt)


@dataclass
class Completion:
    """One sampled continuation. ``logprob`` is the sum of ``token_logprobs`` when the backend gives them."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"  # "stop" (EOS or a stop string) or "length"
    logprob: float | None = None
    token_logprobs: list[float] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class Generator(ABC):
    """Batched text generation. ``generate`` returns, per prompt, ``sampling.n`` completions."""

    name: str = "generator"
    #: Tokens prompt plus completion may take (None: unknown). Strategies cap ``max_tokens`` to it
    #: (prover/llm/context.py) instead of sending a request the server must refuse.
    context_length: int | None = None

    def count_tokens(self, prompt: Prompt) -> int | None:
        """The prompt's length in the model's tokens, or None when this backend cannot tell cheaply."""
        return None

    async def acontext_length(self) -> int | None:
        """``context_length``; a served backend may ask its server once (``/v1/models``)."""
        return self.context_length

    @abstractmethod
    def generate(self, prompts: Sequence[Prompt], sampling: SamplingParams) -> list[list[Completion]]:
        """Sample ``sampling.n`` completions for each prompt."""

    async def agenerate(self, prompts: Sequence[Prompt], sampling: SamplingParams) -> list[list[Completion]]:
        """Async form; backends with native async override it, others run in a thread."""
        return await asyncio.to_thread(self.generate, list(prompts), sampling)

    def close(self) -> None:
        """Release the model or connections."""
