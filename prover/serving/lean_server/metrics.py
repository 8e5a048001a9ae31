"""Prometheus metrics of one server: requests, verdicts, cache, latency, queue depth, REPL restarts.

Why a registry per app: tests and benchmarks start several servers in one process, and the
default global registry refuses a second metric of the same name. The REPL counters are read
from the verifier's ``stats`` (LeanPool keeps ``started``/``retired``/``timeouts``/``crashes``)
at scrape time, so the pool needs no hook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class _PoolCollector(Collector):
    """``proofforge_lean_repl_<event>_total`` from the verifier's ``stats`` mapping."""

    def __init__(self, stats: Callable[[], Mapping[str, Any]]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[CounterMetricFamily]:
        stats = dict(self._stats() or {})
        for event, what in (("started", "REPL processes started (first starts and restarts)"),
                            ("retired", "REPL processes retired (max_uses, RSS limit)"),
                            ("timeouts", "REPL processes killed by a timeout"),
                            ("crashes", "REPL processes that crashed")):
            fam = CounterMetricFamily(f"proofforge_lean_repl_{event}", what)
            fam.add_metric([], float(stats.get(event, 0)))
            yield fam


class Metrics:
    def __init__(self, pool_stats: Callable[[], Mapping[str, Any]]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("proofforge_lean_server_requests", "HTTP requests by route and status code",
                                ["route", "code"], registry=r)
        self.verdicts = Counter("proofforge_lean_server_verdicts", "Verdicts returned, by status", ["status"],
                                registry=r)
        self.cache_hits = Counter("proofforge_lean_server_cache_hits", "Verdicts answered from the cache",
                                  registry=r)
        self.cache_misses = Counter("proofforge_lean_server_cache_misses", "Cache lookups that ran Lean",
                                    registry=r)
        self.cancelled = Counter("proofforge_lean_server_cancelled",
                                 "Candidates of requests whose client disconnected before the answer (their work is cancelled)", registry=r)
        self.latency = Histogram("proofforge_lean_server_request_seconds", "Request latency by route", ["route"],
                                 buckets=_LATENCY_BUCKETS, registry=r)
        self.queue_depth = Gauge("proofforge_lean_server_queue_depth",
                                 "Candidates admitted and not yet answered", registry=r)
        r.register(_PoolCollector(pool_stats))

    def render(self) -> bytes:
        return generate_latest(self.registry)
