"""The built-in OpenAI-compatible HTTP server (FastAPI) over the transformers backend.

Endpoints: ``GET /health``, ``GET /v1/models``, ``POST /v1/completions``,
``POST /v1/chat/completions`` with ``n``, ``temperature``, ``top_p``, ``max_tokens``,
``stop``, ``seed``, ``logprobs`` and ``stream`` (server-sent events in OpenAI's chunk
format, ending with ``data: [DONE]``). Requests are batched by
:class:`~prover.serving.scheduler.BatchScheduler`. It is meant for CPU and small models
(tests, notebooks, the tiny prover); serve large models with ``vllm serve``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from prover.llm.hf_backend import HFGenerator
from prover.llm.hf_engine import RowSpec, RowState, stop_holdback
from prover.records import JsonlWriter
from prover.serving.protocol import (
    APIError,
    ChatRequest,
    CompletionRequest,
    error_response,
    new_id,
    now,
    usage,
)
from prover.serving.scheduler import BatchScheduler, Job, StepSnapshot

log = logging.getLogger(__name__)


class _Submission:
    """Bridges one :class:`Job` (worker thread) to the request handler (event loop)."""

    def __init__(self, scheduler: BatchScheduler, rows: list[RowSpec], sample_indices: list[int], stream: bool):
        self.loop = asyncio.get_running_loop()
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.job = Job(
            rows=rows,
            sample_indices=sample_indices,
            stream=stream,
            on_step=lambda snaps: self._put(("step", snaps)),
            on_done=lambda states, info: self._put(("done", (states, info))),
            on_error=lambda e: self._put(("error", e)),
        )
        scheduler.submit(self.job)

    def _put(self, event: tuple[str, Any]) -> None:
        self.loop.call_soon_threadsafe(self.events.put_nowait, event)

    async def result(self) -> tuple[list[RowState], dict]:
        try:
            while True:
                kind, payload = await self.events.get()
                if kind == "done":
                    return payload
                if kind == "error":
                    raise APIError(f"generation failed: {payload}", status=500, type="server_error")
        except asyncio.CancelledError:
            self.job.cancel.set()
            raise


class ServerState:
    """Everything the handlers share: the generator, the scheduler, names and the request log."""

    def __init__(
        self,
        generator: HFGenerator,
        served_names: list[str],
        max_batch_size: int,
        batch_wait_ms: float,
        log_path: str | Path | None,
    ) -> None:
        self.generator = generator
        self.names = served_names
        self.scheduler = BatchScheduler(generator, max_batch_size=max_batch_size, batch_wait_ms=batch_wait_ms)
        self.log = JsonlWriter(log_path, key=lambda r: r["id"]) if log_path else None
        self.started = now()

    def check_model(self, name: str) -> str:
        if name not in self.names:
            raise APIError(
                f"The model `{name}` does not exist. This server serves: {', '.join(self.names)}.",
                status=404,
                param="model",
                code="model_not_found",
            )
        return self.names[0]

    def record(self, rec: dict[str, Any]) -> None:
        if self.log is not None:
            self.log.write(rec)


def create_app(
    generator: HFGenerator,
    *,
    served_model_name: str | list[str] | None = None,
    max_batch_size: int = 16,
    batch_wait_ms: float = 10.0,
    log_path: str | Path | None = None,
) -> FastAPI:
    """The FastAPI app; the batch scheduler starts and stops with the app's lifespan."""
    names = served_model_name if isinstance(served_model_name, list) else [served_model_name or generator.model_name]
    state = ServerState(generator, [str(n) for n in names], max_batch_size, batch_wait_ms, log_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state.scheduler.start()
        try:
            yield
        finally:
            state.scheduler.stop()

    app = FastAPI(title="ProofForge OpenAI-compatible server", lifespan=lifespan)
    app.state.proofforge = state

    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        if first.get("type") == "json_invalid":
            return error_response("the request body is not valid JSON", param=None)
        path, member = _split_union_loc(first.get("loc", ()))
        param = ".".join(path) or None
        msg = first.get("msg", "invalid request")
        if member is not None:  # a field of several accepted types: name them, not pydantic's internal tag
            members = []
            for e in errors:
                p, m = _split_union_loc(e.get("loc", ()))
                if p == path and m is not None and m not in members:
                    members.append(m)
            msg = f"expected {' or '.join(members)}"
            body = exc.body if isinstance(exc.body, dict) else {}
            if path == ["prompt"] and _is_token_ids(body.get("prompt")):
                msg = "token-id prompts are not supported by this server; send text (a string or a list of strings)"
        return error_response(f"{param}: {msg}" if param else msg, param=param)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(str(exc.detail), status=exc.status_code, type="invalid_request_error")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(f"internal error: {type(exc).__name__}: {exc}", status=500, type="server_error")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        from prover.attention import attention_report

        # which decode attention actually ran: the implementation, and the compiled kernels' self-checks
        attention = {"implementation": getattr(generator, "attn_implementation", None), "checks": attention_report()}
        return {"status": "ok", "model": state.names[0], **state.scheduler.stats(), "attention": attention}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        data = [
            {"id": n, "object": "model", "created": state.started, "owned_by": "proofforge",
             "max_model_len": generator.max_positions}
            for n in state.names
        ]
        return {"object": "list", "data": data}

    @app.post("/v1/completions")
    async def completions(req: CompletionRequest, raw: Request):
        req.check()
        name = state.check_model(req.model)
        encoded = [generator.encode(p) for p in req.prompts]
        for ids in encoded:
            _limit(generator, len(ids), req.max_tokens)
        rows, idx = _rows(req, encoded, req.max_tokens, top_logprobs=req.logprobs or 0)
        if req.stream:
            return _sse(_stream_completion(state, name, req, encoded, rows, idx, raw))
        sub = _Submission(state.scheduler, rows, idx, stream=False)
        t0 = time.monotonic()
        states, info = await sub.result()
        choices = []
        for i, st in enumerate(states):
            lp = _completion_logprobs(generator, st) if req.logprobs is not None else None
            choices.append({"index": i, "text": st.text, "logprobs": lp, "finish_reason": st.finish_reason})
        p_tok = sum(len(e) for e in encoded)
        c_tok = sum(len(st.token_ids) for st in states)
        rid = new_id("cmpl")
        state.record(_log_record(rid, "completions", req.n, p_tok, c_tok, info, t0))
        return {"id": rid, "object": "text_completion", "created": now(), "model": name,
                "choices": choices, "usage": usage(p_tok, c_tok)}

    @app.post("/v1/chat/completions")
    async def chat_completions(req: ChatRequest, raw: Request):
        req.check()
        name = state.check_model(req.model)
        try:
            ids = generator.encode(req.chat(), **(req.chat_template_kwargs or {}))
        except APIError:
            raise
        except Exception as e:  # a template that rejects the conversation (e.g. role order)
            raise APIError(f"cannot apply the chat template: {e}", param="messages") from None
        max_tokens = _limit(generator, len(ids), req.limit)
        top = (req.top_logprobs or 0) if req.logprobs else 0
        rows, idx = _rows(req, [ids], max_tokens, top_logprobs=top)
        if req.stream:
            return _sse(_stream_chat(state, name, req, len(ids), rows, idx, raw))
        sub = _Submission(state.scheduler, rows, idx, stream=False)
        t0 = time.monotonic()
        states, info = await sub.result()
        choices = []
        for i, st in enumerate(states):
            lp = {"content": _chat_logprobs(generator, st)} if req.logprobs else None
            choices.append({"index": i, "message": {"role": "assistant", "content": st.text},
                            "logprobs": lp, "finish_reason": st.finish_reason})
        c_tok = sum(len(st.token_ids) for st in states)
        rid = new_id("chatcmpl")
        state.record(_log_record(rid, "chat", req.n, len(ids), c_tok, info, t0))
        return {"id": rid, "object": "chat.completion", "created": now(), "model": name,
                "choices": choices, "usage": usage(len(ids), c_tok)}

    return app


# ---------------------------------------------------------------------------------- helpers


def _limit(generator: HFGenerator, prompt_len: int, max_tokens: int | None) -> int:
    """``max_tokens`` after checking the context length (vLLM's rule: prompt + max_tokens must fit)."""
    ctx = generator.max_positions
    if ctx is None:
        return max_tokens or 256
    if prompt_len >= ctx:
        raise APIError(
            f"This model's maximum context length is {ctx} tokens, but the prompt has {prompt_len} tokens.",
            param="prompt", code="context_length_exceeded",
        )
    if max_tokens is None:
        return ctx - prompt_len
    if prompt_len + max_tokens > ctx:
        raise APIError(
            f"This model's maximum context length is {ctx} tokens. However, you requested "
            f"{prompt_len + max_tokens} tokens ({prompt_len} in the prompt, {max_tokens} in the completion).",
            param="max_tokens", code="context_length_exceeded",
        )
    return max_tokens


def _rows(req, encoded: list[list[int]], max_tokens: int | None, top_logprobs: int) -> tuple[list[RowSpec], list[int]]:
    rows, idx = [], []
    for ids in encoded:
        for j in range(req.n):
            rows.append(RowSpec(
                prompt_ids=ids,
                max_tokens=int(max_tokens or 16),
                temperature=1.0 if req.temperature is None else float(req.temperature),
                top_p=1.0 if req.top_p is None else float(req.top_p),
                stop=tuple(req.stop_list),
                seed=req.seed,
                top_logprobs=int(top_logprobs),
                ignore_eos=req.ignore_eos,
            ))
            idx.append(j)
    return rows, idx


def _token_str(generator: HFGenerator, tid: int) -> str:
    return generator.tokenizer.decode([tid])


def _completion_logprobs(generator: HFGenerator, st: RowState) -> dict[str, Any]:
    tokens = [_token_str(generator, t) for t in st.token_ids]
    offsets, pos = [], 0
    for t in tokens:
        offsets.append(pos)
        pos += len(t)
    top = [
        {_token_str(generator, a): lp for a, lp in (st.top_logprobs[i] if i < len(st.top_logprobs) else [])}
        for i in range(len(tokens))
    ]
    return {"tokens": tokens, "token_logprobs": list(st.token_logprobs), "top_logprobs": top, "text_offset": offsets}


def _chat_entry(generator: HFGenerator, tid: int, lp: float, top: list[tuple[int, float]]) -> dict[str, Any]:
    s = _token_str(generator, tid)
    return {
        "token": s, "logprob": lp, "bytes": list(s.encode("utf-8")),
        "top_logprobs": [
            {"token": _token_str(generator, a), "logprob": v, "bytes": list(_token_str(generator, a).encode("utf-8"))}
            for a, v in top
        ],
    }


def _chat_logprobs(generator: HFGenerator, st: RowState) -> list[dict[str, Any]]:
    return [
        _chat_entry(generator, t, lp, st.top_logprobs[i] if i < len(st.top_logprobs) else [])
        for i, (t, lp) in enumerate(zip(st.token_ids, st.token_logprobs, strict=True))
    ]


def _log_record(rid: str, endpoint: str, n: int, p: int, c: int, info: dict, t0: float) -> dict[str, Any]:
    return {"id": rid, "endpoint": endpoint, "n": n, "prompt_tokens": p, "completion_tokens": c,
            "seconds": round(time.monotonic() - t0, 4), **info}


def _sse(gen: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(gen, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _data(obj: Any) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


class _Deltas:
    """Turns per-step text snapshots of one choice into safe-to-send deltas.

    Holds back a trailing partial UTF-8 character and any tail that could still grow into a
    stop string, so a streamed client never sees text the final answer would not contain.
    """

    def __init__(self, stops: list[str]) -> None:
        self.stops = stops
        self.sent = ""

    def update(self, text: str, finished: bool) -> str:
        if not finished:
            text = text.rstrip("\ufffd")
            hold = stop_holdback(text, self.stops) if self.stops else 0
            text = text[: len(text) - hold]
        if not text.startswith(self.sent):
            if not finished:
                return ""  # a re-tokenised prefix changed: wait for the final text
            text = self.sent + text[len(self.sent):]
        delta = text[len(self.sent):]
        self.sent = text
        return delta


async def _stream_events(state: ServerState, rows: list[RowSpec], idx: list[int], raw: Request):
    """Yield ("step", snapshots) events, then ("done", (states, info)); cancel the job if the client leaves."""
    sub = _Submission(state.scheduler, rows, idx, stream=True)
    finished = False
    try:
        while True:
            try:
                kind, payload = await asyncio.wait_for(sub.events.get(), timeout=1.0)
            except asyncio.TimeoutError:
                if await raw.is_disconnected():
                    sub.job.cancel.set()
                    return
                continue
            if kind == "error":
                raise APIError(f"generation failed: {payload}", status=500, type="server_error")
            if kind == "done":
                finished = True
            yield kind, payload
            if finished:
                return
    finally:
        if not finished:  # the client went away mid-stream: free the rows for others
            sub.job.cancel.set()


async def _stream_completion(state, name, req: CompletionRequest, encoded, rows, idx, raw) -> AsyncIterator[str]:
    rid, created, gen = new_id("cmpl"), now(), state.generator
    deltas = [_Deltas(req.stop_list) for _ in rows]
    pending: list[list] = [[] for _ in rows]
    t0 = time.monotonic()
    try:
        async for kind, payload in _stream_events(state, rows, idx, raw):
            if kind == "step":
                for snap in payload:
                    out = from_snapshot_completion(gen, rid, created, name, snap, deltas, pending, req)
                    if out:
                        yield out
            else:
                states, info = payload
                p_tok = sum(len(e) for e in encoded)
                c_tok = sum(len(st.token_ids) for st in states)
                if req.stream_options is not None and req.stream_options.include_usage:
                    yield _data({"id": rid, "object": "text_completion", "created": created, "model": name,
                                 "choices": [], "usage": usage(p_tok, c_tok)})
                state.record(_log_record(rid, "completions", req.n, p_tok, c_tok, info, t0))
    except APIError as e:
        yield _data({"error": {"message": e.message, "type": e.type, "param": e.param, "code": e.code}})
    yield "data: [DONE]\n\n"


def _split_union_loc(loc: Any) -> tuple[list[str], str | None]:
    """A pydantic error location as (field path, union member tag or None): ``("body", "prompt", "list[str]", 0)``
    gives ``(["prompt"], "list[str]")``. Members are tagged by their type, e.g. ``str`` or ``list[str]``."""
    path: list[str] = []
    for part in loc:
        if part == "body" and not path:
            continue
        if isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "bool", "dict", "list", "none"}):
            return path, part
        path.append(str(part))
    return path, None


def _is_token_ids(prompt: Any) -> bool:
    """An OpenAI token-id prompt: a list of ints, or a list of such lists."""
    if not isinstance(prompt, list) or not prompt:
        return False
    return all(isinstance(x, int) for x in prompt) or all(
        isinstance(x, list) and all(isinstance(y, int) for y in x) for x in prompt
    )


def from_snapshot_completion(gen, rid, created, name, snap: StepSnapshot, deltas, pending, req) -> str:
    """One SSE chunk for a completion choice (possibly empty text while a stop prefix is held back)."""
    pending[snap.index].extend(snap.new_tokens)
    delta = deltas[snap.index].update(snap.text, snap.finish_reason is not None)
    if not delta and snap.finish_reason is None:
        return ""
    lp = None
    if req.logprobs is not None:
        toks = pending[snap.index]
        lp = {
            "tokens": [_token_str(gen, t) for t, _, _ in toks],
            "token_logprobs": [v for _, v, _ in toks],
            "top_logprobs": [{_token_str(gen, a): x for a, x in top} for _, _, top in toks],
            "text_offset": [],
        }
    pending[snap.index] = []
    choice = {"index": snap.index, "text": delta, "logprobs": lp, "finish_reason": snap.finish_reason}
    return _data({"id": rid, "object": "text_completion", "created": created, "model": name, "choices": [choice]})


async def _stream_chat(state, name, req: ChatRequest, prompt_len: int, rows, idx, raw) -> AsyncIterator[str]:
    rid, created, gen = new_id("chatcmpl"), now(), state.generator
    deltas = [_Deltas(req.stop_list) for _ in rows]
    pending: list[list] = [[] for _ in rows]
    t0 = time.monotonic()

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
        return _data({"id": rid, "object": "chat.completion.chunk", "created": created, "model": name,
                      "choices": choices, **extra})

    for i in range(len(rows)):
        yield chunk([{"index": i, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                      "finish_reason": None}])
    try:
        async for kind, payload in _stream_events(state, rows, idx, raw):
            if kind == "step":
                for snap in payload:
                    pending[snap.index].extend(snap.new_tokens)
                    finished = snap.finish_reason is not None
                    delta = deltas[snap.index].update(snap.text, finished)
                    if delta:
                        lp = None
                        if req.logprobs:
                            lp = {"content": [_chat_entry(gen, t, v, top) for t, v, top in pending[snap.index]]}
                            pending[snap.index] = []
                        yield chunk([{"index": snap.index, "delta": {"content": delta}, "logprobs": lp,
                                      "finish_reason": None}])
                    if finished:
                        lp = None
                        if req.logprobs and pending[snap.index]:
                            lp = {"content": [_chat_entry(gen, t, v, top) for t, v, top in pending[snap.index]]}
                            pending[snap.index] = []
                        yield chunk([{"index": snap.index, "delta": {}, "logprobs": lp,
                                      "finish_reason": snap.finish_reason}])
            else:
                states, info = payload
                c_tok = sum(len(st.token_ids) for st in states)
                if req.stream_options is not None and req.stream_options.include_usage:
                    yield chunk([], usage=usage(prompt_len, c_tok))
                state.record(_log_record(rid, "chat", req.n, prompt_len, c_tok, info, t0))
    except APIError as e:
        yield _data({"error": {"message": e.message, "type": e.type, "param": e.param, "code": e.code}})
    yield "data: [DONE]\n\n"
