"""Assemble the FastAPI app: settings, the service, the routes, error handling, request metrics.

Why a pure ASGI middleware for metrics (not ``@app.middleware("http")``): Starlette's
``BaseHTTPMiddleware`` wraps ``receive``, which hides the client's disconnect from the
route that must cancel its work on it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from prover.lean.verifier import Verifier
from prover.serving.lean_server.routes import ROUTES as ENDPOINTS
from prover.serving.lean_server.routes import ApiError, ClientGone, error_response
from prover.serving.lean_server.service import LeanService

log = logging.getLogger("proofforge.lean_server")

ROUTES = frozenset(path for path, _, _ in ENDPOINTS)


@dataclass
class ServerSettings:
    """The server's limits (``configs/lean_server.yaml`` documents each)."""

    api_key: str | None = None
    max_pending: int = 256
    max_body_bytes: int = 16 * 1024 * 1024
    max_snippet_bytes: int = 256 * 1024
    max_snippets: int = 256
    max_timeout: float = 300.0
    cache_size: int = 100_000

    def __post_init__(self) -> None:
        for name in ("max_pending", "max_body_bytes", "max_snippet_bytes", "max_snippets"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if isinstance(self.cache_size, bool) or not isinstance(self.cache_size, int) or self.cache_size < 0:
            raise ValueError(f"cache_size must be an integer >= 0, got {self.cache_size!r}")
        if isinstance(self.max_timeout, bool) or not isinstance(self.max_timeout, (int, float)) or self.max_timeout <= 0:
            raise ValueError(f"max_timeout must be a number > 0, got {self.max_timeout!r}")
        if self.api_key is not None and not str(self.api_key).strip():
            self.api_key = None


class _RequestMetrics:
    """Counts every response by route and code, and times it."""

    def __init__(self, app: Any, service: LeanService) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        route = (path.rstrip("/") or "/") if path in ROUTES else "other"
        code = {"status": 500}
        t0 = time.monotonic()

        async def send_wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                code["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapped)
        finally:
            m = self.service.metrics
            m.requests.labels(route, str(code["status"])).inc()
            m.latency.labels(route).observe(time.monotonic() - t0)


def create_app(verifier: Verifier, settings: ServerSettings | None = None, *, close_verifier: bool = True) -> FastAPI:
    """The server over ``verifier`` (any :class:`~prover.lean.verifier.Verifier`, built by
    :func:`prover.lean.verifier_factory.build_verifier`). ``close_verifier``: close it at shutdown."""
    settings = settings or ServerSettings()
    service = LeanService(verifier, max_pending=settings.max_pending, cache_size=settings.cache_size,
                          max_timeout=settings.max_timeout)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if close_verifier:
            await verifier.aclose()

    app = FastAPI(title="ProofForge Lean server", description="kimina-compatible, cheat-hardened Lean verification",
                  lifespan=lifespan, openapi_url="/api/openapi.json")
    app.state.settings = settings
    app.state.service = service
    for path, endpoint, methods in ENDPOINTS:
        app.add_route(path, endpoint, methods=methods)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, e: ApiError) -> JSONResponse:
        return error_response(e)

    @app.exception_handler(ClientGone)
    async def _gone(request: Request, e: ClientGone) -> Response:
        log.info("%s: client disconnected; its work was cancelled", request.url.path)
        return JSONResponse({"detail": "client disconnected"}, status_code=499)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(e.detail)}, status_code=e.status_code, headers=getattr(e, "headers", None))

    app.add_middleware(_RequestMetrics, service=service)
    return app
