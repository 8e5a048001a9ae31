"""Fit ``max_tokens`` to what the model can take, before the request goes out.

Why: an OpenAI-compatible server (vLLM, proofforge-serve) refuses a request whose prompt plus
``max_tokens`` exceeds the model's context with HTTP 400 (vLLM's ``serving_engine`` rule), so a
preset asking 2048 new tokens of a 512-token model fails every request. The strategies call
:func:`fit_sampling` on each batch: ``max_tokens`` is lowered to the room the longest prompt leaves,
and one log line per generator and requested value says so.

A prompt's length comes from the backend when it can count (transformers, vLLM in-process);
otherwise from its UTF-8 byte count plus a margin, an upper bound for byte-level BPE and
SentencePiece-with-byte-fallback tokenizers (every token covers at least one byte), so the capped
request is never refused for length.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence

from prover.llm.generator import Generator, Prompt, SamplingParams

log = logging.getLogger(__name__)

#: Tokens added for special tokens and a chat template's role markers when the length is estimated.
TEMPLATE_MARGIN = 16


def estimate_tokens(prompt: Prompt) -> int:
    """An upper bound on the prompt's token count without its tokenizer (bytes + a margin)."""
    text = prompt if isinstance(prompt, str) else json.dumps(list(prompt), ensure_ascii=False)
    return len(text.encode("utf-8")) + TEMPLATE_MARGIN


def prompt_tokens(generator: Generator, prompt: Prompt) -> int:
    """The prompt's token count: the backend's own count, else :func:`estimate_tokens`."""
    try:
        counted = generator.count_tokens(prompt)
    except Exception:  # a backend that cannot count this prompt: estimate instead
        counted = None
    return int(counted) if counted is not None else estimate_tokens(prompt)


async def fit_sampling(
    generator: Generator, prompts: Sequence[Prompt], sampling: SamplingParams, *, what: str = "max_tokens"
) -> SamplingParams:
    """``sampling`` with ``max_tokens`` capped so the longest prompt plus it fits the context.

    Unchanged when the context length is unknown or the request already fits. When a prompt
    alone fills the context, ``max_tokens`` becomes 1 (the smallest valid value): the backend
    then refuses or stops that prompt, which the callers record as a failed attempt.
    ``what`` names the setting in the log line (e.g. ``prover.sampling.max_tokens``).
    """
    ctx = await generator.acontext_length()
    if not ctx or not prompts:
        return sampling
    longest = max(prompt_tokens(generator, p) for p in prompts)
    room = ctx - longest
    if sampling.max_tokens <= room:
        return sampling
    capped = max(1, room)
    logged: set[tuple[str, int]] = generator.__dict__.setdefault("_capped_logged", set())
    if (what, sampling.max_tokens) not in logged:
        logged.add((what, sampling.max_tokens))
        model = getattr(generator, "model_name", None) or getattr(generator, "model", None) or generator.name
        if room < 1:
            log.warning("%s=%d: a prompt of ~%d tokens fills the %d-token context of model %s; asking for 1 token",
                        what, sampling.max_tokens, longest, ctx, model)
        else:
            log.warning("%s=%d capped to %d: model %s takes %d tokens and the prompt has up to ~%d "
                        "(further caps of this setting are not logged)", what, sampling.max_tokens, capped,
                        model, ctx, longest)
    return dataclasses.replace(sampling, max_tokens=capped)
