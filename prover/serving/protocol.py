"""The OpenAI wire format the built-in server speaks: request models, errors, response pieces.

Request bodies are validated by pydantic; anything it rejects, and every check below
(n < 1, temperature < 0, unknown model, context too long), becomes an OpenAI-style
4xx ``{"error": {"message", "type", "param", "code"}}`` instead of a 500.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any, Literal, Union

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field


class APIError(Exception):
    """A request the server refuses, with the HTTP status and OpenAI error fields."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message, self.status, self.param, self.code, self.type = message, status, param, code, type

    def response(self) -> JSONResponse:
        return error_response(self.message, status=self.status, param=self.param, code=self.code, type=self.type)


def error_response(
    message: str, *, status: int = 400, param: str | None = None, code: str | None = None,
    type: str = "invalid_request_error",
) -> JSONResponse:
    body = {"error": {"message": message, "type": type, "param": param, "code": code}}
    return JSONResponse(body, status_code=status)


#: The seeds vLLM's server accepts (a signed 64-bit integer); the same bounds here.
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1


class StreamOptions(BaseModel):
    include_usage: bool = False


class _Sampling(BaseModel):
    """Fields shared by both endpoints. Unknown fields are ignored, as OpenAI-compatible servers do."""

    model_config = ConfigDict(extra="ignore")

    model: str
    n: int = 1
    temperature: float | None = None
    top_p: float | None = None
    stop: Union[str, list[str], None] = None
    seed: int | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    ignore_eos: bool = False  # vLLM extension: keep generating past EOS (benchmarks)
    user: str | None = None

    def check(self) -> None:
        if self.n < 1:
            raise APIError(f"n must be at least 1, got {self.n}", param="n")
        if self.n > 128:
            raise APIError(f"n must be at most 128, got {self.n}", param="n")
        if self.temperature is not None and not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise APIError(f"temperature must be a finite number >= 0, got {self.temperature}", param="temperature")
        if self.seed is not None and not SEED_MIN <= self.seed <= SEED_MAX:
            raise APIError(f"seed must fit in a signed 64-bit integer, got {self.seed}", param="seed")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise APIError(f"top_p must be in (0, 1], got {self.top_p}", param="top_p")
        if len(self.stop_list) > 16:
            raise APIError("at most 16 stop strings are supported", param="stop")

    @property
    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else [s for s in self.stop if s]


class CompletionRequest(_Sampling):
    prompt: Union[str, list[str]]
    max_tokens: int | None = 16  # the OpenAI default for /v1/completions
    logprobs: int | None = Field(default=None)
    echo: bool = False

    def check(self) -> None:
        super().check()
        if self.max_tokens is not None and self.max_tokens < 1:
            raise APIError(f"max_tokens must be at least 1, got {self.max_tokens}", param="max_tokens")
        if self.logprobs is not None and not 0 <= self.logprobs <= 20:
            raise APIError(f"logprobs must be between 0 and 20, got {self.logprobs}", param="logprobs")
        if self.echo:
            raise APIError("echo is not supported by this server", param="echo")
        if isinstance(self.prompt, list) and not self.prompt:
            raise APIError("prompt must not be empty", param="prompt")

    @property
    def prompts(self) -> list[str]:
        return [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: Union[str, list[dict[str, Any]], None] = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        parts = []
        for p in self.content:
            if p.get("type") != "text":
                raise APIError("only text content parts are supported", param="messages")
            parts.append(str(p.get("text", "")))
        return "".join(parts)


class ChatRequest(_Sampling):
    messages: list[ChatMessage]
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    logprobs: bool = False
    top_logprobs: int | None = None
    chat_template_kwargs: dict[str, Any] | None = None  # vLLM extension, e.g. {"enable_thinking": false}

    def check(self) -> None:
        super().check()
        if not self.messages:
            raise APIError("messages must not be empty", param="messages")
        for name in ("max_tokens", "max_completion_tokens"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise APIError(f"{name} must be at least 1, got {v}", param=name)
        if self.top_logprobs is not None:
            if not 0 <= self.top_logprobs <= 20:
                raise APIError(f"top_logprobs must be between 0 and 20, got {self.top_logprobs}", param="top_logprobs")
            if not self.logprobs:
                raise APIError("top_logprobs requires logprobs=true", param="top_logprobs")

    @property
    def limit(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    def chat(self) -> list[dict[str, str]]:
        return [{"role": m.role if m.role != "developer" else "system", "content": m.text()} for m in self.messages]


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
