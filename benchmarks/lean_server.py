"""proofforge-lean-server against the same pool called in-process, as ratios measured in the same run.

    .venv/bin/python benchmarks/lean_server.py [--requests 512] [--concurrency 64] [--workers 4] [--work-ms 20]

Lean is the scripted REPL double (``--work-ms``: how long each body "takes", as a sleep in the
double; 0 = answer at once), so what is measured is everything around Lean: HTTP, JSON, the
route, the cache lookup and admission, against ``await pool.verify([candidate])`` in-process.
The server runs in a subprocess on a free 127.0.0.1 port (``--server thread``: in this process)
with its verdict cache off, so every request reaches the pool. The run is bounded: a fixed
number of requests, then it stops and prints

1. latency: p50/p99 seconds per candidate, one request at a time (``--latency-requests``);
   overhead = server p50 - in-process p50 (target <= 2 ms);
2. throughput: candidates/s with ``--concurrency`` concurrent clients, one candidate per request;
   ratio = in-process / server (target <= 1.2);
3. CPU per candidate in that run: the pool in this process, the HTTP client, the server process
   (what the server costs, independent of how loaded the machine is).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prover.lean.double_pools import scripted_verifier  # noqa: E402
from prover.records import Candidate  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def rules(work_ms: float) -> list[dict]:
    return [{"match": "by simp", "delay": work_ms / 1000, "response": {}}]


def candidates(n: int, tag: str) -> list[Candidate]:
    return [Candidate(problem=f"{tag}{i}", code=f"theorem {tag}{i} : {i} = {i} := by simp") for i in range(n)]


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def closed_loop(n: int, concurrency: int, call: Callable[[int], Awaitable[None]]) -> tuple[float, list[float]]:
    """``n`` calls by ``concurrency`` clients, each starting its next call when its last returns."""
    latencies: list[float] = []
    it = iter(range(n))

    async def client() -> None:
        for i in it:
            t0 = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return time.perf_counter() - t0, latencies


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ProcessServer:
    """``proofforge-lean-server lean=scripted`` in a subprocess; ``url`` once /health answers."""

    def __init__(self, workers: int, work_ms: float, max_pending: int, extra: tuple[str, ...] = ()) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="proofforge-bench-")
        rules_file = Path(self.tmp.name) / "rules.json"
        rules_file.write_text(json.dumps(rules(work_ms)))
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, PYTHONPATH=str(REPO))
        env.pop("PROOFFORGE_LEAN_SERVER_API_KEY", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "prover.apps.lean_server", "lean=scripted", f"lean.workers={workers}",
             f"lean.rules_file={rules_file}", f"port={port}", "cache_size=0", f"max_pending={max_pending}",
             "log_level=warning", f"hydra.run.dir={self.tmp.name}/run", *extra],
            cwd=str(REPO), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def __enter__(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {self.proc.stderr.read()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self.url
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start within 60 s")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.tmp.cleanup()


class ThreadServer:
    def __init__(self, workers: int, work_ms: float, max_pending: int, extra: tuple[str, ...] = ()) -> None:
        if extra:
            raise SystemExit("--server-arg needs --server process")
        from prover.serving.lean_server import ServerSettings, create_app
        from prover.serving.lean_server.background import BackgroundServer

        app = create_app(scripted_verifier(rules(work_ms), workers=workers),
                         ServerSettings(cache_size=0, max_pending=max_pending))
        self.bg = BackgroundServer(app)

    def __enter__(self) -> str:
        return self.bg.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.bg.__exit__(None, None, None)


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams, one connection per client.

    Why not httpx here: on a small machine the load generator competes with the server for the
    same cores, and httpx's client costs a few ms of CPU per request (printed with ``--client
    httpx``), more than the server; this costs little, so the ratio measures the server.
    """

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, payload: dict) -> dict:
        body = json.dumps(payload).encode()
        request = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = await asyncio.open_connection(self.host, self.port)
            reader, writer = self.conn
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                break
            except (asyncio.IncompleteReadError, ConnectionError):
                # the server closed an idle keep-alive connection (uvicorn: after 5 s): reconnect once
                writer.close()
                self.conn = None
                if attempt == 2:
                    raise
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        data = json.loads(await reader.readexactly(length))
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {data}")
        return data

    async def aclose(self) -> None:
        if self.conn is not None:
            self.conn[1].close()
            await self.conn[1].wait_closed()


def _cpu(proc: psutil.Process) -> float:
    """User + system CPU seconds of ``proc`` itself (its REPL children are the same on both sides)."""
    t = proc.cpu_times()
    return t.user + t.system


async def measure(args: argparse.Namespace, url: str, server_proc: psutil.Process | None) -> dict[str, float]:
    pool = scripted_verifier(rules(args.work_ms), workers=args.workers)
    lat_c = candidates(args.latency_requests, "lat")
    thr_c = candidates(args.requests, "thr")
    warm = candidates(args.workers * 2, "warm")
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    raw = [RawClient(url) for _ in range(args.concurrency)]
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:

        async def local(c: Candidate) -> None:
            (v,) = await pool.verify([c])
            assert v.status == "proved", v.reason

        async def remote(c: Candidate) -> None:
            payload = {"candidates": [c.to_dict()]}
            if args.client == "httpx":
                r = await http.post("/v1/verify", json=payload)
                r.raise_for_status()
                data = r.json()
            else:
                client = raw.pop()  # each concurrent call holds one connection
                try:
                    data = await client.post("/v1/verify", payload)
                finally:
                    raw.append(client)
            v = data["verdicts"][0]
            assert v["status"] == "proved", v["reason"]

        # warm both: every worker started, connections open
        await asyncio.gather(*(local(c) for c in warm))
        await asyncio.gather(*(remote(c) for c in warm))
        _, lat_local = await closed_loop(len(lat_c), 1, lambda i: local(lat_c[i]))
        _, lat_remote = await closed_loop(len(lat_c), 1, lambda i: remote(lat_c[i]))
        me = psutil.Process()
        cpu0 = _cpu(me)
        wall_local, _ = await closed_loop(len(thr_c), args.concurrency, lambda i: local(thr_c[i]))
        cpu1, srv0 = _cpu(me), _cpu(server_proc) if server_proc else 0.0
        wall_remote, _ = await closed_loop(len(thr_c), args.concurrency, lambda i: remote(thr_c[i]))
        cpu2, srv1 = _cpu(me), _cpu(server_proc) if server_proc else 0.0
    await asyncio.gather(*(c.aclose() for c in raw))
    await pool.aclose()
    n = len(thr_c)
    cpu = {"cpu_ms_inprocess": 1000 * (cpu1 - cpu0) / n, "cpu_ms_client": 1000 * (cpu2 - cpu1) / n}
    if server_proc:
        cpu["cpu_ms_server"] = 1000 * (srv1 - srv0) / n
    return {**cpu,
        "p50_inprocess_ms": 1000 * statistics.median(lat_local), "p50_server_ms": 1000 * statistics.median(lat_remote),
        "p99_inprocess_ms": 1000 * pct(lat_local, 0.99), "p99_server_ms": 1000 * pct(lat_remote, 0.99),
        "rps_inprocess": len(thr_c) / wall_local, "rps_server": len(thr_c) / wall_remote,
    }


def report(r: dict[str, float], args: argparse.Namespace) -> dict[str, float]:
    overhead = r["p50_server_ms"] - r["p50_inprocess_ms"]
    ratio = r["rps_inprocess"] / r["rps_server"]
    print(f"lean server benchmark: scripted Lean ({args.work_ms:g} ms per body), {args.workers} workers, "
          f"server in a {args.server}, {args.client} HTTP client")
    print(f"  latency, 1 client, {args.latency_requests} requests: in-process p50 {r['p50_inprocess_ms']:.2f} ms "
          f"p99 {r['p99_inprocess_ms']:.2f} ms | server p50 {r['p50_server_ms']:.2f} ms p99 {r['p99_server_ms']:.2f} ms")
    print(f"  p50 overhead per candidate: {overhead:.2f} ms (target <= 2 ms)")
    print(f"  throughput, {args.concurrency} clients, {args.requests} requests: in-process {r['rps_inprocess']:.1f}/s "
          f"| server {r['rps_server']:.1f}/s")
    print(f"  throughput ratio in-process/server: {ratio:.3f}x (target <= 1.2x)")
    server_cpu = f", server process {r['cpu_ms_server']:.2f} ms" if "cpu_ms_server" in r else ""
    print(f"  CPU per candidate in the throughput run: in-process pool {r['cpu_ms_inprocess']:.2f} ms | "
          f"{args.client} client {r['cpu_ms_client']:.2f} ms{server_cpu} (REPL doubles not counted)")
    return {**r, "p50_overhead_ms": overhead, "throughput_ratio": ratio}


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=512, help="requests in the throughput run")
    ap.add_argument("--latency-requests", type=int, default=200, help="sequential requests in the latency run")
    ap.add_argument("--concurrency", type=int, default=64, help="concurrent clients in the throughput run")
    ap.add_argument("--workers", type=int, default=4, help="REPL workers of each pool")
    ap.add_argument("--work-ms", type=float, default=20.0, help="scripted Lean time per body (0 = instant)")
    ap.add_argument("--server", choices=("process", "thread"), default="process")
    ap.add_argument("--client", choices=("raw", "httpx"), default="raw", help="load generator's HTTP client")
    ap.add_argument("--server-arg", action="append", default=[], help="extra proofforge-lean-server override")
    ap.add_argument("--out", type=Path, help="append the figures as one JSON line")
    args = ap.parse_args(argv)
    for name in ("requests", "latency_requests", "concurrency", "workers"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    max_pending = max(256, args.concurrency * 2)
    server = (ProcessServer if args.server == "process" else ThreadServer)(args.workers, args.work_ms, max_pending,
                                                                         tuple(args.server_arg))
    with server as url:
        proc = psutil.Process(server.proc.pid) if isinstance(server, ProcessServer) else None
        figures = report(asyncio.run(measure(args, url, proc)), args)
    if args.out:
        with args.out.open("a", encoding="utf-8") as f:
            f.write(json.dumps({**figures, **{k: str(v) for k, v in vars(args).items() if k != "out"}}) + "\n")
    return figures


if __name__ == "__main__":
    main()
