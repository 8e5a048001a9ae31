"""Generators that wrap another generator: one call at a time, or built on first use.

Both change *when* the wrapped backend runs, never what it returns, so strategies and stages use
them wherever a Generator goes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import Any

from prover.llm.generator import Completion, Generator, Prompt, SamplingParams


class SerializedGenerator(Generator):
    """One generate call at a time over a wrapped in-process backend.

    Why: with ``concurrency > 1`` several problems are in flight, so their strategies would
    call an in-process model (vLLM's ``LLM``, transformers) from several threads at once,
    which those engines do not support. Verification of the other problems still overlaps.
    """

    def __init__(self, inner: Generator) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", "generator")
        self._thread_lock = threading.Lock()
        self._lock: asyncio.Lock | None = None

    def generate(self, prompts: Sequence[Prompt], sampling: SamplingParams) -> list[list[Completion]]:
        with self._thread_lock:
            return self.inner.generate(prompts, sampling)

    async def agenerate(self, prompts: Sequence[Prompt], sampling: SamplingParams) -> list[list[Completion]]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            return await self.inner.agenerate(prompts, sampling)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, item: str) -> Any:
        if item == "inner":
            raise AttributeError(item)
        return getattr(self.inner, item)


class LazyGenerator(Generator):
    """Builds the real generator on first use, so a resumed round whose stages are all done
    never loads a model."""

    def __init__(self, build: Callable[[], Generator], name: str = "lazy") -> None:
        self._build = build
        self._gen: Generator | None = None
        self.name = name

    def get(self) -> Generator:
        if self._gen is None:
            self._gen = self._build()
            self.name = getattr(self._gen, "name", self.name)
        return self._gen

    def generate(self, prompts: Sequence[Prompt], sampling: SamplingParams) -> list[list[Completion]]:
        return self.get().generate(prompts, sampling)

    async def agenerate(self, prompts: Sequence[Prompt], sampling: SamplingParams) -> list[list[Completion]]:
        return await self.get().agenerate(prompts, sampling)

    def close(self) -> None:
        if self._gen is not None:
            self._gen.close()
            self._gen = None
