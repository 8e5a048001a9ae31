"""Backend for any OpenAI-compatible server: vLLM, SGLang, the built-in server, or a hosted API.

Uses the official ``openai`` AsyncClient. Concurrency is bounded by a semaphore (one
HTTP request per prompt, ``n`` samples each). Retries are the client's own (``max_retries``):
it retries connection errors, timeouts, 408, 409, 429 and 5xx, obeys the server's
``x-should-retry``, and waits what ``retry-after-ms`` / ``Retry-After`` ask (up to its cap) or
else backs off exponentially with jitter (openai-python, ``_base_client.py``:
``_should_retry``, ``_calculate_retry_timeout``). Attempts are counted with an httpx
``request`` event hook on the client's transport. When the server stays unreachable or keeps
failing, the error is one sentence naming the URL.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from prover.llm.errors import GeneratorError
from prover.llm.generator import Completion, Generator, Prompt, SamplingParams


def _reason(exc: BaseException) -> str:
    """Why a connection failed, in a few words: the OS error under the client's exception chain."""
    import socket

    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    for e in chain:
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, socket.gaierror):
            return f"unknown host: {e}"
        if isinstance(e, TimeoutError):
            return "connection timed out"
    for e in chain[1:]:
        if isinstance(e, OSError) or "connect" in type(e).__name__.lower():
            return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return str(exc) or type(exc).__name__


class OpenAIGenerator(Generator):
    """``Generator`` over ``/v1/completions`` (text prompts) and ``/v1/chat/completions`` (chats).

    ``chat=True`` sends text prompts as a single user message; chat prompts always use the chat
    endpoint. ``model=None`` asks the server for its first model (``/v1/models``).
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        api_key: str | None = None,
        *,
        max_concurrency: int = 32,
        max_retries: int = 4,
        chat: bool = False,
        timeout: float = 600.0,
        system_prompt: str | None = None,
        extra_body: dict[str, Any] | None = None,
        context_length: int | None = None,
    ) -> None:
        if not base_url:
            raise GeneratorError("model.base_url is empty: set it to the server's /v1 URL, e.g. http://localhost:8000/v1")
        self.base_url = str(base_url).rstrip("/")
        self.model = model
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.max_concurrency = max(1, int(max_concurrency))
        self.max_retries = max(0, int(max_retries))
        self.chat = bool(chat)
        self.timeout = float(timeout)
        self.system_prompt = system_prompt
        self.extra_body = dict(extra_body or {})
        # None: ask the server once (vLLM's and proofforge-serve's /v1/models list max_model_len)
        self.context_length = int(context_length) if context_length else None
        self._asked_context = self.context_length is not None
        self.attempts = 0  # HTTP requests sent (the client's retries included), counted by an httpx event hook
        # One client and semaphore per event loop: httpx connections belong to the loop that opened them.
        self._per_loop: weakref.WeakKeyDictionary[Any, tuple[Any, asyncio.Semaphore]] = weakref.WeakKeyDictionary()

    # -- clients ------------------------------------------------------------------------------
    def _new_client(self):
        from openai import AsyncOpenAI, DefaultAsyncHttpxClient

        async def count(request: Any) -> None:  # runs for every request the client sends, retries included
            self.attempts += 1

        http = DefaultAsyncHttpxClient(timeout=self.timeout, event_hooks={"request": [count]})
        return AsyncOpenAI(base_url=self.base_url, api_key=self.api_key, max_retries=self.max_retries,
                           timeout=self.timeout, http_client=http)

    def _session(self) -> tuple[Any, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        if loop not in self._per_loop:
            self._per_loop[loop] = (self._new_client(), asyncio.Semaphore(self.max_concurrency))
        return self._per_loop[loop]

    # -- errors -------------------------------------------------------------------------------
    async def _with_retries(self, call):
        """``call()`` (the client retries it itself); its final error as one sentence naming the URL."""
        import openai

        try:
            return await call()
        except (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError) as e:
            raise self._final_error(e) from None
        except openai.APIStatusError as e:
            if e.status_code in (408, 409):  # retried by the client like 429/5xx
                raise self._final_error(e) from None
            raise GeneratorError(
                f"the server at {self.base_url} rejected the request (HTTP {e.status_code}): {_status_message(e)}"
            ) from None

    def _final_error(self, e: BaseException) -> GeneratorError:
        import openai

        tries = self.max_retries + 1
        if isinstance(e, openai.APITimeoutError):
            return GeneratorError(f"the server at {self.base_url} timed out after {self.timeout:g}s ({tries} attempts)")
        if isinstance(e, openai.APIConnectionError):
            return GeneratorError(
                f"cannot reach the OpenAI-compatible server at {self.base_url} ({_reason(e)}): start it "
                f"(e.g. `proofforge-serve`) or fix model.base_url"
            )
        status = getattr(e, "status_code", "?")
        return GeneratorError(
            f"the server at {self.base_url} kept failing (HTTP {status}, {tries} attempts): {_status_message(e)}"
        )

    # -- requests -----------------------------------------------------------------------------
    async def _model_name(self, client) -> str:
        if self.model:
            return self.model
        models = await self._with_retries(lambda: client.models.list())
        if not models.data:
            raise GeneratorError(f"the server at {self.base_url} serves no model: set model.name")
        self.model = models.data[0].id
        return self.model

    async def acontext_length(self) -> int | None:
        """The configured ``context_length``, else the served model's ``max_model_len`` from ``/v1/models``.

        vLLM's ``ModelCard`` and proofforge-serve both list ``max_model_len``; a server that does not
        leaves it unknown (None) and requests go out uncapped.
        """
        if self._asked_context:
            return self.context_length
        self._asked_context = True
        client, _ = self._session()
        models = await self._with_retries(lambda: client.models.list())
        data = list(getattr(models, "data", None) or [])
        if not self.model and data:
            self.model = data[0].id
        card = next((m for m in data if m.id == self.model), data[0] if data else None)
        extra = dict(getattr(card, "model_extra", None) or {}) if card is not None else {}
        value = extra.get("max_model_len", getattr(card, "max_model_len", None))
        self.context_length = int(value) if isinstance(value, (int, float)) and value > 0 else None
        return self.context_length

    def _common(self, model: str, s: SamplingParams) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "model": model,
            "n": s.n,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
        }
        if s.stop:
            kw["stop"] = list(s.stop)
        if s.seed is not None:
            kw["seed"] = s.seed
        if self.extra_body:
            kw["extra_body"] = self.extra_body
        return kw

    async def _one(self, client, sem: asyncio.Semaphore, prompt: Prompt, s: SamplingParams) -> list[Completion]:
        model = await self._model_name(client)
        kw = self._common(model, s)
        use_chat = self.chat or not isinstance(prompt, str)
        async with sem:
            if use_chat:
                messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
                if self.system_prompt and not any(m.get("role") == "system" for m in messages):
                    messages = [{"role": "system", "content": self.system_prompt}, *messages]
                if s.logprobs:
                    kw["logprobs"] = True
                resp = await self._with_retries(lambda: client.chat.completions.create(messages=messages, **kw))
            else:
                if s.logprobs:
                    kw["logprobs"] = 1
                resp = await self._with_retries(lambda: client.completions.create(prompt=prompt, **kw))
        return _to_completions(resp, chat=use_chat, n=s.n, want_logprobs=s.logprobs)

    async def agenerate(self, prompts: Sequence[Prompt], sampling: SamplingParams) -> list[list[Completion]]:
        client, sem = self._session()
        return list(await asyncio.gather(*(self._one(client, sem, p, sampling) for p in prompts)))

    def generate(self, prompts: Sequence[Prompt], sampling: SamplingParams) -> list[list[Completion]]:
        async def run() -> list[list[Completion]]:
            async with self._new_client() as client:
                sem = asyncio.Semaphore(self.max_concurrency)
                return list(await asyncio.gather(*(self._one(client, sem, p, sampling) for p in prompts)))

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(run())
        # Called from inside an event loop (a notebook): run on a private loop in a thread.
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["out"] = asyncio.run(run())
            except BaseException as e:  # re-raised in the caller's thread
                box["err"] = e

        t = threading.Thread(target=target, daemon=True)
        t.start()
        t.join()
        if "err" in box:
            raise box["err"]
        return box["out"]

    def close(self) -> None:
        self._per_loop.clear()


def _status_message(e: Any) -> str:
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(body.get("message"), str):
            return body["message"]
    return str(getattr(e, "message", e))


def _to_completions(resp: Any, *, chat: bool, n: int, want_logprobs: bool) -> list[Completion]:
    """Choices in index order as :class:`Completion`; per-choice token counts from logprobs when sent."""
    usage = getattr(resp, "usage", None)
    prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
    total_completion = int(getattr(usage, "completion_tokens", 0) or 0)
    out: list[Completion] = []
    for c in sorted(resp.choices, key=lambda c: c.index):
        if chat:
            text = (c.message.content or "") if c.message is not None else ""
            lp = getattr(c, "logprobs", None)
            toks = [t.logprob for t in lp.content] if lp is not None and lp.content else None
        else:
            text = c.text or ""
            lp = getattr(c, "logprobs", None)
            toks = [float(x) for x in lp.token_logprobs if x is not None] if lp is not None and lp.token_logprobs else None
        meta: dict[str, Any] = {}
        if toks is not None:
            count = len(toks)
        else:
            count = total_completion // max(1, len(resp.choices))
            if len(resp.choices) > 1:
                meta["completion_tokens_estimated"] = True
        out.append(
            Completion(
                text=text,
                prompt_tokens=prompt_tokens,
                completion_tokens=count,
                finish_reason=c.finish_reason or "stop",
                logprob=float(sum(toks)) if (want_logprobs and toks is not None) else None,
                token_logprobs=toks if want_logprobs else None,
                meta=meta,
            )
        )
    if len(out) != n:
        raise GeneratorError(f"the server returned {len(out)} choices for n={n}")
    return out
