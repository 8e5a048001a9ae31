"""Run the built-in server in a background thread of this process (tests, notebooks, benchmarks).

Why in-process: the model is loaded once and shared, startup is a fraction of a second,
and the caller can read the scheduler's statistics directly. ``proofforge-serve`` is the
standalone form.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class BackgroundServer:
    """``with BackgroundServer(app) as srv: OpenAI(base_url=srv.base_url)``: uvicorn on a free port."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int | None = None, log_level: str = "warning",
                 timeout_keep_alive: int = 5):  # fmt: skip
        """``timeout_keep_alive``: seconds uvicorn keeps an idle connection (its default, 5). A client pool idle
        for longer can race the server closing a connection ("Server disconnected without sending a response");
        benchmarks that leave pooled connections idle between measurements raise it."""
        import uvicorn

        self.app = app
        self.host = host
        self.port = port or free_port(host)
        config = uvicorn.Config(app, host=host, port=self.port, log_level=log_level, lifespan="on",
                                timeout_keep_alive=timeout_keep_alive)  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="proofforge-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"the server on {self.url} exited during startup")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server on {self.url} did not start within {timeout:g}s")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
