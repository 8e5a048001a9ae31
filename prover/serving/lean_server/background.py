"""Run the server on a loopback port in a background thread (tests, benchmarks, notebooks).

Why a socket bound here: binding ``127.0.0.1:0`` before uvicorn starts gives a free port with
no race between choosing it and listening on it. It is created with ``IPPROTO_TCP`` explicitly:
asyncio only sets ``TCP_NODELAY`` on sockets whose ``proto`` says TCP (CPython
``Lib/asyncio/base_events.py``, ``_set_nodelay``), and without it every response whose headers
and body are written separately waits ~40 ms for the client's delayed ACK (Nagle).
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI


class BackgroundServer:
    """``with BackgroundServer(app) as url: ...`` serves ``app`` at ``url`` until the block ends."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", *, start_timeout: float = 30.0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.host, self.port = self.sock.getsockname()[:2]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="proofforge-lean-server", daemon=True)
        self.start_timeout = start_timeout

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the Lean server did not start on {self.url}")
            time.sleep(0.01)
        return self.url

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()
