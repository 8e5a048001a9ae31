"""HTTP routes: kimina's ``/api/check`` and ``/verify``, native ``/v1/verify``, ``/health``, ``/metrics``.

Bodies are read and parsed here rather than by FastAPI's automatic validation, so that every
bad input gets one 4xx naming what was wrong (size limit, encoding, JSON syntax, field) and
never a 500: oversize bodies stop at ``max_body_bytes`` before being buffered whole.
Model-written code is never logged; an info line names the route, counts and statuses only.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from prover.records import Candidate, RecordError
from prover.serving.lean_server.admission import Busy, TooLarge
from prover.serving.lean_server.metrics import CONTENT_TYPE
from prover.serving.lean_server.models import (
    CheckRequest,
    NativeRequest,
    VerifyRequestBody,
    backward_result,
    kimina_result,
)
from prover.serving.lean_server.service import Checked, LeanService

log = logging.getLogger("proofforge.lean_server")
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class ApiError(Exception):
    """An HTTP error with a message naming the input or limit: ``{"detail": message}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class ClientGone(Exception):
    """The client disconnected before its answer was ready; its work was cancelled."""


def error_response(e: ApiError) -> JSONResponse:
    return JSONResponse({"detail": e.message}, status_code=e.status, headers=e.headers)


def check_auth(request: Request) -> None:
    key = request.app.state.settings.api_key
    if not key:
        return
    got = request.headers.get("authorization", "")
    token = got[7:].strip() if got[:7].lower() == "bearer " else ""
    if not token:
        raise ApiError(401, "missing API key: send 'Authorization: Bearer <api_key>'", {"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(token.encode(), str(key).encode()):
        raise ApiError(401, "invalid API key", {"WWW-Authenticate": "Bearer"})


async def read_json(request: Request, model: type[M]) -> M:
    """The body parsed into ``model``: 413 past ``max_body_bytes``, 400 for bad bytes/JSON, 422 for bad fields."""
    limit = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body is {declared} bytes; the limit is max_body_bytes={limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body exceeds max_body_bytes={limit}")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError(400, f"request body is not UTF-8 (invalid byte at offset {e.start})") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise ApiError(400, f"request body is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise ApiError(400, "request body is nested too deeply to parse") from None
    try:
        return model.model_validate(obj)
    except ValidationError as e:
        parts = []
        for err in e.errors()[:5]:
            loc = ".".join(str(x) for x in err.get("loc", ())) or "body"
            parts.append(f"{loc}: {err.get('msg', 'invalid')}")
        more = f" (+{e.error_count() - 5} more)" if e.error_count() > 5 else ""
        raise ApiError(422, "invalid request: " + "; ".join(parts) + more) from None


def _limit_snippets(request: Request, items: list[tuple[str, str]], extra: Sequence[tuple[str, str | None]] = ()) -> None:
    """Count and size limits (413) and text that cannot be UTF-8 (400), for ``(id, code)`` items
    and ``(label, text)`` extras such as a snippet's statement."""
    for label, text in extra:
        if text is not None:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as e:
                shown = label.encode("utf-8", "backslashreplace").decode()
                raise ApiError(400, f"{shown} is not valid Unicode ({e.reason} at {e.start})") from None
    s = request.app.state.settings
    if len(items) > s.max_snippets:
        raise ApiError(413, f"{len(items)} snippets in one request; the limit is max_snippets={s.max_snippets}")
    for ident, code in items:
        for what, text in (("id", ident), ("code", code)):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as e:
                shown = ident.encode("utf-8", "backslashreplace").decode()
                raise ApiError(400, f"snippet {shown!r}: {what} is not valid Unicode ({e.reason} at {e.start})") from None
        n = len(code.encode("utf-8"))
        if n > s.max_snippet_bytes:
            raise ApiError(413, f"snippet {ident!r} is {n} bytes; the limit is max_snippet_bytes={s.max_snippet_bytes}")


async def _wait_disconnect(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def until_disconnect(request: Request, work: Awaitable[T]) -> T:
    """Await ``work``; if the client disconnects first, cancel it (and only it) and raise :class:`ClientGone`."""
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_wait_disconnect(request))
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        watch.cancel()
    if not task.done() or task.cancelled():
        raise ClientGone()
    return task.result()


async def _verify(request: Request, candidates: list[Candidate], timeout: float, use_cache: bool) -> list[Checked]:
    service: LeanService = request.app.state.service
    try:
        return await until_disconnect(request, service.verify(candidates, timeout, use_cache=use_cache))
    except Busy as e:
        raise ApiError(429, str(e), {"Retry-After": str(e.retry_after)}) from None
    except TooLarge as e:
        raise ApiError(413, str(e)) from None
    except ClientGone:
        service.metrics.cancelled.inc(len(candidates))
        raise


def _log(route: str, results: list[Checked], t0: float) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    counts = Counter(r.verdict.status for r in results)
    hits = sum(r.cached for r in results)
    log.info("%s: %d candidates (%s; %d cached) in %.3f s", route, len(results),
             ", ".join(f"{k}={v}" for k, v in sorted(counts.items())), hits, time.monotonic() - t0)


async def api_check(request: Request) -> Response:
    """kimina-lean-server's ``POST /api/check``: ``{snippets, timeout, debug, reuse, infotree}`` -> ``{results}``."""
    t0 = time.monotonic()
    check_auth(request)
    body = await read_json(request, CheckRequest)
    _limit_snippets(request, [(s.id, s.code) for s in body.snippets],
                    [(f"snippets.{i}.{k}", getattr(s, k)) for i, s in enumerate(body.snippets) for k in ("statement", "header")])
    service: LeanService = request.app.state.service
    timeout = service.request_timeout(body.timeout)
    candidates = [Candidate(problem=s.id, code=s.code, statement=s.statement, header=s.header,
                            origin={"via": "api/check", "snippet": s.id}) for s in body.snippets]
    results = await _verify(request, candidates, timeout, body.reuse)
    _log("/api/check", results, t0)
    return JSONResponse({"results": [kimina_result(r.verdict, s.id, timeout, cached=r.cached)
                                     for s, r in zip(body.snippets, results, strict=True)]})


async def verify_backward(request: Request) -> Response:
    """kimina's older ``POST /verify``: ``{codes: [{custom_id, proof|code}], timeout, disable_cache}`` -> ``{results}``."""
    t0 = time.monotonic()
    check_auth(request)
    body = await read_json(request, VerifyRequestBody)
    ids = [str(c.custom_id) for c in body.codes]
    if len(set(ids)) != len(ids):
        raise ApiError(422, "invalid request: codes: custom_id values must be unique")
    _limit_snippets(request, [(i, c.content()) for i, c in zip(ids, body.codes, strict=True)])
    service: LeanService = request.app.state.service
    timeout = service.request_timeout(body.timeout)
    candidates = [Candidate(problem=i, code=c.content(), origin={"via": "verify", "custom_id": i})
                  for i, c in zip(ids, body.codes, strict=True)]
    results = await _verify(request, candidates, timeout, not body.disable_cache)
    _log("/verify", results, t0)
    return JSONResponse({"results": [backward_result(kimina_result(r.verdict, i, timeout, cached=r.cached))
                                     for i, r in zip(ids, results, strict=True)]})


_CANDIDATE_TYPES: dict[str, tuple[type, ...]] = {
    "problem": (str,), "code": (str,), "statement": (str, type(None)), "header": (str, type(None)),
    "origin": (dict,), "id": (str,),
}


def _candidate(i: int, obj: dict[str, Any]) -> Candidate:
    for name, types in _CANDIDATE_TYPES.items():
        if name in obj and not isinstance(obj[name], types):
            raise ApiError(422, f"invalid request: candidates.{i}.{name}: expected "
                           f"{' or '.join('null' if t is type(None) else t.__name__ for t in types)}")
    for name in ("problem", "code", "statement", "header", "id"):
        value = obj.get(name)
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as e:
                raise ApiError(400, f"candidates.{i}.{name} is not valid Unicode ({e.reason} at {e.start})") from None
    try:
        return Candidate.from_dict(obj)
    except (RecordError, TypeError) as e:
        raise ApiError(422, f"invalid request: candidates.{i}: {e}") from None


async def verify_native(request: Request) -> Response:
    """The project's records: ``{candidates: [Candidate], timeout, use_cache}`` -> ``{verdicts: [Verdict], cached}``."""
    t0 = time.monotonic()
    check_auth(request)
    body = await read_json(request, NativeRequest)
    candidates = [_candidate(i, obj) for i, obj in enumerate(body.candidates)]
    _limit_snippets(request, [(c.id, c.code) for c in candidates])
    service: LeanService = request.app.state.service
    results = await _verify(request, candidates, service.request_timeout(body.timeout), body.use_cache)
    _log("/v1/verify", results, t0)
    return JSONResponse({"verdicts": [r.verdict.to_dict() for r in results], "cached": [r.cached for r in results]})


async def health(request: Request) -> Response:
    """Unauthenticated liveness: workers alive, queue depth, verdict counts, uptime (kimina: ``{"status": "ok"}``)."""
    return JSONResponse(request.app.state.service.health())


async def metrics(request: Request) -> Response:
    """Prometheus text format (authenticated when an api_key is set)."""
    check_auth(request)
    return Response(request.app.state.service.metrics.render(), media_type=CONTENT_TYPE)


#: (path, endpoint, methods). Plain Starlette routes: every handler reads and validates its own
#: body, so FastAPI's per-request dependency solving would only add CPU time to each request.
ROUTES: list[tuple[str, Any, list[str]]] = [
    ("/api/check", api_check, ["POST"]),
    ("/api/check/", api_check, ["POST"]),
    ("/verify", verify_backward, ["POST"]),
    ("/one_pass_verify_batch", verify_backward, ["POST"]),
    ("/v1/verify", verify_native, ["POST"]),
    ("/health", health, ["GET"]),
    ("/health/", health, ["GET"]),
    ("/", health, ["GET"]),
    ("/metrics", metrics, ["GET"]),
]
